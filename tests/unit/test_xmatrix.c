/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* X-Matrix header parsing and /_matrix/key/v2/server response checks. */
#include "crypto/crypto.h"
#include "fed/fed_internal.h"
#include "tap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static bool
parse(const char *h, struct fed_xmatrix *x)
{
    return fed_xmatrix_parse(h, x);
}

static void
header_tests(void)
{
    struct fed_xmatrix x;

    ok(parse("X-Matrix origin=hs.example.org,key=\"ed25519:a_1\","
             "sig=\"ABCdef+/12\"",
             &x),
       "Synapse's form");
    is_str(x.origin, "hs.example.org", "origin");
    is_str(x.key, "ed25519:a_1", "key");
    is_str(x.sig, "ABCdef+/12", "sig");
    is_str(x.destination, "", "no destination");
    ok(parse("x-matrix  Sig=\"s\" , KEY = ed25519:1 ,origin=\"hs.org:8448\"",
             &x),
       "any case, any order, spaces around commas and '='");
    is_str(x.origin, "hs.org:8448", "origin with a port (quoted)");
    is_str(x.key, "ed25519:1", "unquoted key id with a colon");
    ok(parse("X-Matrix origin=hs.org:8448,key=ed25519:1,sig=abc==", &x),
       "unquoted origin with a port, padded base64");
    is_str(x.sig, "abc==", "sig keeps its padding");
    ok(parse("X-Matrix origin=hs.org,destination=id.org,key=ed25519:1,sig=s",
             &x),
       "destination (newer homeservers)");
    is_str(x.destination, "id.org", "destination");
    ok(parse("X-Matrix origin=\"h\\s.org\",key=ed25519:1,sig=s", &x),
       "backslash escapes in quoted values");
    is_str(x.origin, "hs.org", "escape removed");
    ok(parse("X-Matrix origin=hs.org,key=ed25519:1,sig=s,future=\"x, y\"", &x),
       "unknown parameters are ignored");
    ok(!parse("Bearer abc", &x), "another scheme");
    ok(!parse("X-Matrix", &x), "no parameters");
    ok(!parse("X-Matrixorigin=a", &x), "no space after the scheme");
    ok(!parse("X-Matrix key=ed25519:1,sig=s", &x), "no origin");
    ok(!parse("X-Matrix origin=hs.org,sig=s", &x), "no key");
    ok(!parse("X-Matrix origin=hs.org,key=ed25519:1", &x), "no sig");
    ok(!parse("X-Matrix origin=a.org,origin=b.org,key=ed25519:1,sig=s", &x),
       "a repeated origin is refused (which one was signed?)");
    ok(!parse("X-Matrix origin=hs.org,key=rsa:1,sig=s", &x),
       "a non-ed25519 key id");
    ok(!parse("X-Matrix origin=hs.org,key=ed25519:,sig=s", &x),
       "an empty key version");
    ok(!parse("X-Matrix origin=\"not a name\",key=ed25519:1,sig=s", &x),
       "origin must be a server name");
    ok(!parse("X-Matrix origin=\"hs.org,key=ed25519:1,sig=s", &x),
       "unterminated quote");
    ok(!parse("X-Matrix origin=hs.org key=ed25519:1,sig=s", &x),
       "a missing comma");
    ok(!parse("X-Matrix origin=hs.org,,key=ed25519:1,sig=s", &x),
       "an empty parameter");
    ok(!parse("X-Matrix origin=\"hs\x01.org\",key=ed25519:1,sig=s", &x),
       "control characters");
    ok(!parse(NULL, &x), "NULL");
}

/* A key response for name signed by k (or by signer when not NULL). */
static json_t *
key_response(const char *name,
             const struct signing_key *k,
             const struct signing_key *signer,
             long long until)
{
    char *pk = b64_encode(k->pk, 32, false);
    json_t *r = json_pack("{s:s, s:I, s:{s:{s:s}}, s:{}}", "server_name", name,
                          "valid_until_ts", (json_int_t)until, "verify_keys",
                          k->key_id, "key", pk, "old_verify_keys");

    free(pk);
    signjson_sign(r, name, k->key_id, (signer != NULL ? signer : k)->sk);
    return r;
}

static void
keys_tests(void)
{
    struct signing_key *k = signing_key_generate("abc");
    struct signing_key *other = signing_key_generate("abc");
    struct fed_key *keys;
    size_t n;
    int64_t until;
    const char *why;
    json_t *r;

    r = key_response("hs.org", k, NULL, 1234);
    ok(fed_keys_parse(r, "hs.org", &keys, &n, &until, &why),
       "a self-signed key response");
    ok(n == 1 && strcmp(keys[0].id, "ed25519:abc") == 0 &&
           memcmp(keys[0].pk, k->pk, 32) == 0,
       "its key");
    is_int(until, 1234, "valid_until_ts");
    free(keys);
    ok(fed_keys_parse(r, "HS.org", &keys, &n, &until, &why),
       "server names compare case-insensitively");
    free(keys);
    ok(!fed_keys_parse(r, "other.org", &keys, &n, &until, &why),
       "another server's keys are refused");
    json_decref(r);

    r = key_response("hs.org", k, other, 1234);
    ok(!fed_keys_parse(r, "hs.org", &keys, &n, &until, &why),
       "not signed by the key it lists");
    json_decref(r);

    r = key_response("hs.org", k, NULL, 1234);
    json_object_del(r, "valid_until_ts");
    ok(!fed_keys_parse(r, "hs.org", &keys, &n, &until, &why),
       "no valid_until_ts");
    json_decref(r);

    r = key_response("hs.org", k, NULL, 1234);
    json_object_set_new(
        json_object_get(json_object_get(r, "verify_keys"), "ed25519:abc"),
        "key", json_string("short"));
    ok(!fed_keys_parse(r, "hs.org", &keys, &n, &until, &why),
       "a key that is not 32 bytes");
    json_decref(r);

    r = json_pack("{s:s, s:I, s:{}}", "server_name", "hs.org", "valid_until_ts",
                  (json_int_t)1, "verify_keys");
    ok(!fed_keys_parse(r, "hs.org", &keys, &n, &until, &why), "no verify_keys");
    json_decref(r);
    r = json_string("x");
    ok(!fed_keys_parse(r, "hs.org", &keys, &n, &until, &why), "not an object");
    json_decref(r);
    signing_key_free(k);
    signing_key_free(other);
}

int
main(void)
{
    plan_no_plan();
    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    header_tests();
    keys_tests();
    return done_testing();
}
