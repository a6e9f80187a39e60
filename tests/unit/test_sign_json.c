/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests for Matrix signed JSON (src/crypto/sign_json.c): the spec appendix
 * vectors, merging with existing signatures, `unsigned`, every verification
 * outcome, and tests/vectors/signed.json from python3-signedjson. Ed25519 is
 * deterministic, so glia's signatures must be byte-identical to Python's.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "json/cjson.h"
#include "tap.h"
#include "util/mem.h"

#define APPENDIX_SEED "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
#define APPENDIX_PK   "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI"
#define SIG_EMPTY                                                              \
    "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLw"  \
    "YGYZzuHGZKM5ZAQ"
#define SIG_ONE_TWO                                                            \
    "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD"  \
    "13EIMJpvhJI+6Bw"

/* A key pair made straight from a base64 seed, without keys.c. */
struct pair {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
};

static bool
pair_from_seed(struct pair *p, const char *seed_b64)
{
    unsigned char seed[crypto_sign_SEEDBYTES];

    if (b64_decode(seed_b64, strlen(seed_b64), seed, sizeof(seed)) !=
        (long)sizeof(seed))
        return false;
    crypto_sign_seed_keypair(p->pk, p->sk, seed);
    sodium_memzero(seed, sizeof(seed));
    return true;
}

/* signatures[entity][key_id] as a string, or NULL. */
static const char *
sig_of(const json_t *obj, const char *entity, const char *key_id)
{
    const json_t *s = json_object_get(obj, "signatures");

    s = json_object_get(s, entity);
    return json_string_value(json_object_get(s, key_id));
}

static json_t *
parse(const char *text)
{
    return json_loads(text, JSON_ALLOW_NUL, NULL);
}

static void
test_appendix(const struct pair *k)
{
    json_t *o;
    json_t *want;
    char *pk = b64_encode(k->pk, sizeof(k->pk), false);

    is_str(pk, APPENDIX_PK, "appendix public key");
    free(pk);

    o = json_object();
    is_int(signjson_sign(o, "domain", "ed25519:1", k->sk), 0, "sign {}");
    is_str(sig_of(o, "domain", "ed25519:1"), SIG_EMPTY, "appendix {}");
    want = json_pack("{s:{s:{s:s}}}", "signatures", "domain", "ed25519:1",
                     SIG_EMPTY);
    ok(json_equal(o, want), "signed {} has exactly the signatures member");
    is_int(signjson_verify(o, "domain", "ed25519:1", k->pk), SIGNJSON_OK,
           "verify signed {}");
    json_decref(want);
    json_decref(o);

    o = parse("{\"one\":1,\"two\":\"Two\"}");
    is_int(signjson_sign(o, "domain", "ed25519:1", k->sk), 0, "sign one/two");
    is_str(sig_of(o, "domain", "ed25519:1"), SIG_ONE_TWO, "appendix one/two");
    is_int(json_integer_value(json_object_get(o, "one")), 1,
           "content kept after signing");
    json_decref(o);
}

static void
test_merge(const struct pair *k)
{
    json_t *o;
    json_t *unsig;

    o = parse("{\"one\":1,\"two\":\"Two\",\"unsigned\":{\"age\":5}}");
    unsig = json_deep_copy(json_object_get(o, "unsigned"));
    signjson_sign(o, "domain", "ed25519:1", k->sk);
    is_str(sig_of(o, "domain", "ed25519:1"), SIG_ONE_TWO,
           "unsigned is not covered by the signature");
    ok(json_equal(json_object_get(o, "unsigned"), unsig),
       "unsigned kept as it was");
    json_decref(unsig);
    json_decref(o);

    o = parse("{\"one\":1,\"two\":\"Two\",\"signatures\":{\"other.org\":{"
              "\"ed25519:a\":\"c2ln\"},\"domain\":{\"ed25519:0\":\"AAAA\"}}}");
    signjson_sign(o, "domain", "ed25519:1", k->sk);
    is_str(sig_of(o, "domain", "ed25519:1"), SIG_ONE_TWO,
           "existing signatures are not covered");
    is_str(sig_of(o, "other.org", "ed25519:a"), "c2ln",
           "other entity's signature kept");
    is_str(sig_of(o, "domain", "ed25519:0"), "AAAA",
           "same entity's other key kept");
    signjson_sign(o, "domain", "ed25519:1", k->sk);
    is_int((long long)json_object_size(
               json_object_get(json_object_get(o, "signatures"), "domain")),
           2, "signing twice replaces, not duplicates");
    json_decref(o);
}

static void
test_sign_errors(const struct pair *k)
{
    json_t *o;
    json_t *copy;

    o = json_array();
    is_int(signjson_sign(o, "domain", "ed25519:1", k->sk), -1,
           "sign refuses an array");
    json_decref(o);
    is_int(signjson_sign(NULL, "domain", "ed25519:1", k->sk), -1,
           "sign refuses NULL");

    o = parse("{\"a\":1.5}");
    copy = json_deep_copy(o);
    is_int(signjson_sign(o, "domain", "ed25519:1", k->sk), -1,
           "sign refuses a non-canonical object");
    ok(json_equal(o, copy), "refused object unchanged");
    json_decref(copy);
    json_decref(o);

    o = parse("{\"a\":1,\"signatures\":[]}");
    is_int(signjson_sign(o, "domain", "ed25519:1", k->sk), -1,
           "sign refuses non-object signatures");
    json_decref(o);
    o = parse("{\"a\":1,\"signatures\":{\"domain\":\"x\"}}");
    is_int(signjson_sign(o, "domain", "ed25519:1", k->sk), -1,
           "sign refuses non-object signatures[entity]");
    json_decref(o);

    o = parse("{\"a\":1}");
    is_int(signjson_sign(o, "\xff", "ed25519:1", k->sk), -1,
           "sign refuses an invalid UTF-8 entity");
    ok(json_object_get(o, "signatures") == NULL,
       "no signatures member left behind");
    is_int(signjson_sign(o, "domain", "\xff", k->sk), -1,
           "sign refuses an invalid UTF-8 key id");
    ok(json_object_get(o, "signatures") == NULL,
       "no signatures member left behind (key id)");
    json_decref(o);
}

static void
test_verify(const struct pair *k)
{
    struct pair other;
    json_t *o;
    json_t *t;
    json_t *sigs;

    pair_from_seed(&other, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    o = parse("{\"mxid\":\"@a:b\",\"token\":\"t\",\"unsigned\":{}}");
    signjson_sign(o, "domain", "ed25519:1", k->sk);
    is_int(signjson_verify(o, "domain", "ed25519:1", k->pk), SIGNJSON_OK,
           "verify ok");
    is_int(signjson_verify(o, "domain", "ed25519:1", other.pk),
           SIGNJSON_BAD_SIGNATURE, "wrong key");
    is_int(signjson_verify(o, "other", "ed25519:1", k->pk),
           SIGNJSON_NO_SIGNATURE, "missing entity");
    is_int(signjson_verify(o, "domain", "ed25519:2", k->pk),
           SIGNJSON_NO_SIGNATURE, "missing key id");

    t = json_deep_copy(o);
    json_object_set_new(t, "token", json_string("u"));
    is_int(signjson_verify(t, "domain", "ed25519:1", k->pk),
           SIGNJSON_BAD_SIGNATURE, "tampered content");
    json_decref(t);

    t = json_deep_copy(o);
    json_object_set_new(t, "extra", json_null());
    is_int(signjson_verify(t, "domain", "ed25519:1", k->pk),
           SIGNJSON_BAD_SIGNATURE, "added member");
    json_decref(t);

    t = json_deep_copy(o);
    json_object_set_new(t, "unsigned", json_pack("{s:i}", "age", 9));
    sigs = json_object_get(t, "signatures");
    json_object_set_new(sigs, "x.org", json_pack("{s:s}", "ed25519:k", "A"));
    is_int(signjson_verify(t, "domain", "ed25519:1", k->pk), SIGNJSON_OK,
           "changed unsigned and extra signatures still verify");
    json_decref(t);

    t = json_deep_copy(o);
    json_object_set_new(t, "n", json_real(0.5));
    is_int(signjson_verify(t, "domain", "ed25519:1", k->pk),
           SIGNJSON_NOT_CANONICAL, "non-canonical content");
    json_decref(t);

    t = json_deep_copy(o);
    sigs = json_object_get(json_object_get(t, "signatures"), "domain");
    json_object_set_new(sigs, "ed25519:1", json_string("!!notbase64!!"));
    is_int(signjson_verify(t, "domain", "ed25519:1", k->pk),
           SIGNJSON_BAD_ENCODING, "bad base64");
    json_object_set_new(sigs, "ed25519:1", json_string("AAAA"));
    is_int(signjson_verify(t, "domain", "ed25519:1", k->pk),
           SIGNJSON_BAD_ENCODING, "signature too short");
    json_object_set_new(sigs, "ed25519:1", json_integer(1));
    is_int(signjson_verify(t, "domain", "ed25519:1", k->pk),
           SIGNJSON_NO_SIGNATURE, "signature not a string");
    json_object_set_new(json_object_get(t, "signatures"), "domain",
                        json_string("x"));
    is_int(signjson_verify(t, "domain", "ed25519:1", k->pk),
           SIGNJSON_NO_SIGNATURE, "signatures[entity] not an object");
    json_decref(t);

    t = json_array();
    is_int(signjson_verify(t, "domain", "ed25519:1", k->pk),
           SIGNJSON_NOT_OBJECT, "verify an array");
    json_decref(t);
    is_int(signjson_verify(NULL, "domain", "ed25519:1", k->pk),
           SIGNJSON_NOT_OBJECT, "verify NULL");
    json_decref(o);

    ok(strcmp(signjson_result_str(SIGNJSON_OK), "signature valid") == 0 &&
           signjson_result_str(SIGNJSON_BAD_SIGNATURE) != NULL &&
           signjson_result_str((enum signjson_result)99) != NULL,
       "result strings");
}

/* tests/vectors/<name> under $srcdir (Automake) or the current directory. */
static char *
vector_path(const char *name)
{
    const char *srcdir = getenv("srcdir");

    if (srcdir == NULL || srcdir[0] == '\0')
        srcdir = ".";
    return xasprintf("%s/tests/vectors/%s", srcdir, name);
}

/* One case of signed.json: see gen_vectors.py for the fields. */
static void
check_case(const json_t *c)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *entity = json_string_value(json_object_get(c, "entity"));
    const char *key_id = json_string_value(json_object_get(c, "key_id"));
    const char *seed = json_string_value(json_object_get(c, "seed"));
    const char *want_pk = json_string_value(json_object_get(c, "public_key"));
    const char *want_sig = json_string_value(json_object_get(c, "signature"));
    const char *signable = json_string_value(json_object_get(c, "signable"));
    json_t *in = parse(json_string_value(json_object_get(c, "input")));
    json_t *py = parse(json_string_value(json_object_get(c, "signed")));
    struct pair k;
    char *s;

    if (!ok(in != NULL && py != NULL && pair_from_seed(&k, seed), "%s: load",
            name)) {
        json_decref(in);
        json_decref(py);
        return;
    }
    s = b64_encode(k.pk, sizeof(k.pk), false);
    is_str(s, want_pk, "%s: public key", name);
    free(s);
    s = cjson_encode_signable(in, NULL);
    is_str(s, signable, "%s: signed bytes", name);
    free(s);
    is_int(signjson_sign(in, entity, key_id, k.sk), 0, "%s: sign", name);
    is_str(sig_of(in, entity, key_id), want_sig, "%s: signature", name);
    ok(json_equal(in, py), "%s: whole object equals python's", name);
    is_int(signjson_verify(py, entity, key_id, k.pk), SIGNJSON_OK,
           "%s: python's signature verifies", name);
    json_decref(in);
    json_decref(py);
}

static void
test_vectors(void)
{
    char *path = vector_path("signed.json");
    json_error_t err;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &err);
    json_t *cases = json_object_get(root, "cases");
    size_t i;
    json_t *c;

    if (ok(json_array_size(cases) >= 10, "load %s", path)) {
        json_array_foreach(cases, i, c)
        {
            check_case(c);
        }
    } else {
        diag("  %s:%d: %s", path, err.line, err.text);
    }
    json_decref(root);
    free(path);
}

int
main(void)
{
    struct pair k;

    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    plan_no_plan();
    if (!ok(pair_from_seed(&k, APPENDIX_SEED), "appendix seed decodes"))
        return done_testing();
    test_appendix(&k);
    test_merge(&k);
    test_sign_errors(&k);
    test_verify(&k);
    test_vectors();
    sodium_memzero(&k, sizeof(k));
    return done_testing();
}
