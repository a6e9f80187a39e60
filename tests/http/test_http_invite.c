/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Third-party invites end to end: store-invite and the invitation email
 * (decoded by Python's email package), ephemeral key validity,
 * sign-ed25519 through the email's signurl as Element calls it, then the
 * bind of the invited address and the onbind notification a fake
 * homeserver (tests/helpers/fake_hs) receives, with every signature checked
 * by us and by python3-signedjson. Delivery survives the homeserver being
 * down and glia being restarted; expired invites are not delivered.
 */
#include "crypto/crypto.h"
#include "httptest.h"
#include "pgtest.h"
#include "tap.h"
#include "util/mem.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STORE "/_matrix/identity/v2/store-invite"

static struct glia_proc g;
static char dir[] = "/tmp/glia-invite.XXXXXX";
static char outbox[300];
static char onbind_log[300];
static char internal_base[64];
static char hs_name[64];
static unsigned int hs_port;
static pid_t hs_pid;
static unsigned char glia_pk[32];
static char glia_pk_b64[64];

static void
start_hs(void)
{
    const char *bin = getenv("FAKE_HS_BIN");
    char *portfile = xasprintf("%s/hs.port", dir);
    char *cert = xasprintf("%s/server.pem", dir);
    char *key = xasprintf("%s/server.key", dir);
    char *log = xasprintf("%s/hs.log", dir);
    char port[16];
    const char *argv[] = {bin != NULL ? bin : "tests/helpers/fake_hs",
                          "--cert",
                          cert,
                          "--key",
                          key,
                          "--port-file",
                          portfile,
                          "--onbind-log",
                          onbind_log,
                          "--port",
                          port,
                          NULL};

    snprintf(port, sizeof(port), "%u", hs_port);
    httptest_spawn(argv, portfile, log, &hs_pid);
    free(portfile);
    free(cert);
    free(key);
    free(log);
}

static void
stop_hs(void)
{
    if (hs_pid > 0) {
        kill(hs_pid, SIGTERM);
        waitpid(hs_pid, NULL, 0);
        hs_pid = 0;
    }
}

/* The newest invitation mail to address, decoded (caller json_decref()s). */
static json_t *
mail_to(const char *address)
{
    char *cmd =
        xasprintf("/usr/bin/python3 %s/tests/helpers/read_mail.py "
                  "%s %s",
                  getenv("top_srcdir") != NULL ? getenv("top_srcdir") : ".",
                  outbox, address);
    static char out[262144];
    json_t *j;

    httptest_run(cmd, out, sizeof(out));
    free(cmd);
    j = json_loads(out, 0, NULL);
    return j != NULL ? j : json_object();
}

/* The onbind body the homeserver received for mxid, or NULL. */
static json_t *
onbind_for(const char *mxid)
{
    FILE *f = fopen(onbind_log, "r");
    static char line[65536];
    json_t *found = NULL;

    if (f == NULL)
        return NULL;
    while (fgets(line, sizeof(line), f) != NULL) {
        json_t *j = json_loads(line, 0, NULL);

        if (j != NULL && json_is_string(json_object_get(j, "mxid")) &&
            strcmp(json_string_value(json_object_get(j, "mxid")), mxid) == 0) {
            json_decref(found);
            found = j;
        } else {
            json_decref(j);
        }
    }
    fclose(f);
    return found;
}

/* How many onbind bodies the homeserver received for mxid. */
static int
onbinds_for(const char *mxid)
{
    FILE *f = fopen(onbind_log, "r");
    static char line[65536];
    char *needle = xasprintf("\"mxid\":\"%s\"", mxid);
    int n = 0;

    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            if (strstr(line, needle) != NULL)
                n++;
        fclose(f);
    }
    free(needle);
    return n;
}

/* Wait up to ms for an onbind for mxid. */
static json_t *
wait_onbind(const char *mxid, int ms)
{
    for (int waited = 0; waited <= ms; waited += 100) {
        json_t *j = onbind_for(mxid);

        if (j != NULL)
            return j;
        httptest_sleep_ms(100);
    }
    return NULL;
}

static long
internal_bind(const char *address, const char *mxid)
{
    const char *const headers[] = {"Content-Type: application/json", NULL};
    char *body = xasprintf("{\"medium\":\"email\",\"address\":\"%s\","
                           "\"mxid\":\"%s\"}",
                           address, mxid);
    struct http_resp r;
    long st = 0;

    if (http_request(internal_base, "POST", "/_matrix/identity/internal/bind",
                     body, strlen(body), headers, &r) == 0)
        st = r.status;
    http_resp_free(&r);
    free(body);
    return st;
}

/* store-invite as alice for address. @return status; *out the response */
static long
store(const char *address, struct http_resp *out)
{
    char *body = xasprintf("{\"medium\":\"email\",\"address\":\"%s\","
                           "\"room_id\":\"!room:hs.test\","
                           "\"sender\":\"@alice:hs.test\"}",
                           address);
    long st = http_call(&g, "POST", STORE, "atok", body, out);

    free(body);
    return st;
}

/* Verify obj's signature by entity/key_id with a base64 public key, with
 * python3-signedjson. */
static bool
python_verifies(const json_t *obj,
                const char *entity,
                const char *key_version,
                const char *pk_b64)
{
    char *path = xasprintf("%s/verify.json", dir);
    char *cmd;
    char out[256];
    int st;

    json_dump_file(obj, path, 0);
    cmd = xasprintf(
        "/usr/bin/python3 -c 'import json,sys,signedjson.key as k,"
        "signedjson.sign as s; vk=k.decode_verify_key_base64(\"ed25519\","
        "sys.argv[3],sys.argv[2]); s.verify_signed_json(json.load(open("
        "sys.argv[1])),sys.argv[4],vk)' %s %s %s %s 2>&1",
        path, pk_b64, key_version, entity);
    st = httptest_run(cmd, out, sizeof(out));
    if (st != 0)
        diag("signedjson: %s", out);
    free(cmd);
    free(path);
    return st == 0;
}

/* Percent-decode (in place). */
static void
urldecode(char *s)
{
    char *w = s;

    for (char *r = s; *r != '\0'; r++) {
        if (*r == '%' && r[1] != '\0' && r[2] != '\0') {
            char hex[3] = {r[1], r[2], '\0'};

            *w++ = (char)strtol(hex, NULL, 16);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* The decoded value of query parameter name in url (static). */
static const char *
url_param(const char *url, const char *name)
{
    static char val[4096];
    char *needle = xasprintf("%s=", name);
    const char *p = strstr(url, needle);
    size_t n;

    val[0] = '\0';
    if (p != NULL) {
        p += strlen(needle);
        n = strcspn(p, "&\r\n \"");
        if (n >= sizeof(val))
            n = sizeof(val) - 1;
        memcpy(val, p, n);
        val[n] = '\0';
        urldecode(val);
    }
    free(needle);
    return val;
}

static void
store_and_mail(char *token, size_t tlen, char *signurl, size_t slen)
{
    struct http_resp r;
    const json_t *keys;
    const char *eph;
    json_t *m;
    const char *text;
    const char *html;
    unsigned char epk[32];
    char *path;

    is_int(
        http_call(&g, "POST", STORE, "atok",
                  "{\"medium\":\"email\",\"address\":\"Bob.Smith@Example.org\","
                  "\"room_id\":\"!room:hs.test\",\"sender\":\"@alice:hs.test\","
                  "\"room_name\":\"<b>Tea</b> & cakes\","
                  "\"sender_display_name\":\"Alice Wonderland-Liddell\","
                  "\"room_type\":\"m.space\","
                  "\"room_avatar_url\":\"mxc://hs.test/abc\","
                  "\"room_join_rules\":\"invite\","
                  "\"org.matrix.web_client_location\":"
                  "\"https://element.example\"}",
                  &r),
        200, "store-invite");
    ok(json_is_string(json_object_get(r.json, "token")) &&
           strlen(json_string_value(json_object_get(r.json, "token"))) == 64,
       "a 64-character token");
    snprintf(token, tlen, "%s",
             json_is_string(json_object_get(r.json, "token"))
                 ? json_string_value(json_object_get(r.json, "token"))
                 : "");
    is_str(json_string_value(json_object_get(r.json, "public_key")),
           glia_pk_b64, "public_key: the long-term key");
    keys = json_object_get(r.json, "public_keys");
    ok(json_array_size(keys) == 2, "two public_keys");
    is_str(json_string_value(
               json_object_get(json_array_get(keys, 0), "public_key")),
           glia_pk_b64, "the long-term key first");
    is_str(json_string_value(
               json_object_get(json_array_get(keys, 0), "key_validity_url")),
           "http://127.0.0.1/_matrix/identity/v2/pubkey/isvalid",
           "its validity URL, from public_baseurl");
    is_str(json_string_value(
               json_object_get(json_array_get(keys, 1), "key_validity_url")),
           "http://127.0.0.1/_matrix/identity/v2/pubkey/ephemeral/isvalid",
           "the ephemeral key's validity URL");
    eph = json_string_value(
        json_object_get(json_array_get(keys, 1), "public_key"));
    ok(eph != NULL && b64_decode(eph, strlen(eph), epk, 32) == 32,
       "an ephemeral ed25519 key");
    is_str(json_string_value(json_object_get(r.json, "display_name")),
           "Bob...@Exa...", "display_name is redacted as sydent does");
    ok(strstr(r.body, "Smith") == NULL && strstr(r.body, "Example.org") == NULL,
       "the answer never shows the address");

    /* The ephemeral key is valid now, in either base64 alphabet. */
    {
        char *q = xasprintf("/_matrix/identity/v2/pubkey/ephemeral/isvalid?"
                            "public_key=%s",
                            eph);
        struct http_resp v;

        http_call(&g, "GET", q, NULL, NULL, &v);
        ok(json_is_true(json_object_get(v.json, "valid")),
           "ephemeral/isvalid: valid");
        http_resp_free(&v);
        free(q);
        q = xasprintf("/_matrix/identity/api/v1/pubkey/ephemeral/isvalid?"
                      "public_key=%s",
                      eph);
        http_call(&g, "GET", q, NULL, NULL, &v);
        ok(json_is_true(json_object_get(v.json, "valid")), "v1 too");
        http_resp_free(&v);
        free(q);
        http_call(&g, "GET",
                  "/_matrix/identity/v2/pubkey/ephemeral/isvalid?public_key="
                  "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI",
                  NULL, NULL, &v);
        ok(json_is_false(json_object_get(v.json, "valid")),
           "another key: not valid");
        http_resp_free(&v);
        is_int(http_call(&g, "GET",
                         "/_matrix/identity/v2/pubkey/ephemeral/"
                         "isvalid",
                         NULL, NULL, &v),
               400, "no public_key: 400");
        http_resp_free(&v);
    }
    http_resp_free(&r);

    /* The email, as a mail client shows it. */
    m = mail_to("bob.smith@example.org");
    text = json_string_value(json_object_get(m, "text"));
    html = json_string_value(json_object_get(m, "html"));
    ok(text != NULL && html != NULL, "an invitation email, text and HTML");
    text = text != NULL ? text : "";
    html = html != NULL ? html : "";
    ok(strstr(json_string_value(json_object_get(m, "subject")),
              "Alice Wonderland-Li\xe2\x80\xa6 has invited you to a space") !=
           NULL,
       "subject: the truncated sender name, and a space");
    ok(strstr(text, "invited you to join a space") != NULL,
       "a space reads as a space");
    ok(strstr(text, "(@alice:hs.test)") != NULL, "the verified sender");
    ok(strstr(text, "(<b>Tea</b> & cakes)") != NULL,
       "the room name in the text part");
    ok(strstr(html, "&lt;b&gt;Tea&lt;/b&gt; &amp; cakes") != NULL &&
           strstr(html, "<b>Tea</b>") == NULL,
       "and escaped in the HTML part");
    ok(strstr(text, "https://element.example/#/room/%21room%3Ahs.test?email="
                    "bob.smith%40example.org&signurl=") != NULL,
       "the join link Element web understands");
    ok(strstr(text, "room_avatar_url=mxc%3A//hs.test/abc") != NULL,
       "with the room avatar");
    ok(json_integer_value(json_object_get(m, "longest_line")) <= 998,
       "no line over 998 octets");
    snprintf(signurl, slen, "%s", url_param(text, "signurl"));
    is_str(url_param(signurl, "token"), token, "signurl holds the token");
    ok(strncmp(signurl,
               "http://127.0.0.1/_matrix/identity/api/v1/"
               "sign-ed25519?",
               54) == 0,
       "signurl is the unauthenticated v1 sign-ed25519");
    path = xasprintf("%s", url_param(signurl, "private_key"));
    {
        unsigned char seed[32];
        unsigned char pk[32];
        unsigned char sk[64];

        ok(b64_decode(path, strlen(path), seed, 32) == 32,
           "and the ephemeral private key");
        crypto_sign_seed_keypair(pk, sk, seed);
        ok(memcmp(pk, epk, 32) == 0,
           "whose public half is the ephemeral public key");
    }
    free(path);
    json_decref(m);
}

static void
signing(const char *token, const char *signurl)
{
    const char *rest = strstr(signurl, "/_matrix/");
    char *path = xasprintf("%s&mxid=%%40bob%%3A%s", rest, hs_name);
    struct http_resp r;
    char *eph_key;
    unsigned char epk[32];
    char *body;

    /* The ephemeral key from the invite row, to check signatures with. */
    eph_key = xstrdup(
        pgtest_value(NULL, "SELECT ephemeral_public_key FROM glia.invites "
                           "WHERE address = 'bob.smith@example.org'"));
    ok(b64_decode(eph_key, strlen(eph_key), epk, 32) == 32,
       "the stored ephemeral key");

    /* As Element calls it: POST to signurl with mxid added, no body, no
     * identity server token. */
    is_int(http_call(&g, "POST", path, NULL, NULL, &r), 200,
           "sign-ed25519 through signurl");
    {
        char *want = xasprintf("@bob:%s", hs_name);

        is_str(json_string_value(json_object_get(r.json, "mxid")), want,
               "mxid");
        free(want);
    }
    is_str(json_string_value(json_object_get(r.json, "sender")),
           "@alice:hs.test", "sender");
    is_str(json_string_value(json_object_get(r.json, "token")), token, "token");
    is_int(signjson_verify(r.json, "glia.test", "ed25519:0", epk), SIGNJSON_OK,
           "signed with the ephemeral key");
    ok(python_verifies(r.json, "glia.test", "0", eph_key),
       "python3-signedjson verifies it");
    http_resp_free(&r);

    /* v2: authenticated, arguments in the body. */
    body = xasprintf("{\"mxid\":\"@bob:%s\",\"token\":\"%s\","
                     "\"private_key\":\"%s\"}",
                     hs_name, token, url_param(signurl, "private_key"));
    is_int(http_call(&g, "POST", "/_matrix/identity/v2/sign-ed25519", "atok",
                     body, &r),
           200, "v2 sign-ed25519");
    is_int(signjson_verify(r.json, "glia.test", "ed25519:0", epk), SIGNJSON_OK,
           "signed");
    http_resp_free(&r);
    is_int(http_call(&g, "POST", "/_matrix/identity/v2/sign-ed25519", NULL,
                     body, &r),
           401, "v2 without a token: 401");
    http_resp_free(&r);
    free(body);
    body = xasprintf("{\"mxid\":\"@bob:%s\",\"token\":\"nosuchtoken\","
                     "\"private_key\":\"%s\"}",
                     hs_name, url_param(signurl, "private_key"));
    is_int(http_call(&g, "POST", "/_matrix/identity/api/v1/sign-ed25519", NULL,
                     body, &r),
           404, "unknown token: 404");
    is_str(http_resp_errcode(&r), "M_UNRECOGNIZED", "M_UNRECOGNIZED");
    http_resp_free(&r);
    free(body);
    body = xasprintf("{\"mxid\":\"@bob:%s\",\"token\":\"%s\","
                     "\"private_key\":\"nRT2gR1B1YcnV5I-_1c-6iKKR0bG5HWUc6b"
                     "KeH1WnQ0\"}",
                     hs_name, token);
    is_int(http_call(&g, "POST", "/_matrix/identity/api/v1/sign-ed25519", NULL,
                     body, &r),
           403, "another key than the invite's: 403");
    http_resp_free(&r);
    free(body);
    is_int(http_call(&g, "POST", "/_matrix/identity/api/v1/sign-ed25519", NULL,
                     "{\"mxid\":\"@bob:hs.test\",\"token\":\"x\"}", &r),
           400, "no private key: 400");
    http_resp_free(&r);
    free(eph_key);
    free(path);
}

static void
delivery(const char *token)
{
    char mxid[128];
    json_t *ob;
    const json_t *inv;
    const json_t *signed_block;
    struct http_resp r;

    snprintf(mxid, sizeof(mxid), "@bob:%s", hs_name);
    is_int(internal_bind("bob.smith@example.org", mxid), 200,
           "bob binds the invited address");
    ob = wait_onbind(mxid, 10000);
    ok(ob != NULL, "the homeserver received onbind");
    is_str(json_string_value(json_object_get(ob, "address")),
           "bob.smith@example.org", "for the address");
    is_int(signjson_verify(ob, "glia.test", "ed25519:0", glia_pk), SIGNJSON_OK,
           "the whole body is signed (invites included)");
    ok(python_verifies(ob, "glia.test", "0", glia_pk_b64),
       "python3-signedjson verifies the body");
    inv = json_array_get(json_object_get(ob, "invites"), 0);
    ok(json_array_size(json_object_get(ob, "invites")) == 1, "one invite");
    is_str(json_string_value(json_object_get(inv, "token")), token,
           "the invite's token");
    is_str(json_string_value(json_object_get(inv, "room_id")), "!room:hs.test",
           "room_id");
    is_str(json_string_value(json_object_get(inv, "sender")), "@alice:hs.test",
           "sender");
    is_str(json_string_value(json_object_get(inv, "mxid")), mxid, "mxid");
    signed_block = json_object_get(inv, "signed");
    is_str(json_string_value(json_object_get(signed_block, "mxid")), mxid,
           "signed.mxid");
    is_int(signjson_verify(signed_block, "glia.test", "ed25519:0", glia_pk),
           SIGNJSON_OK, "signed with the long-term key");
    ok(python_verifies(signed_block, "glia.test", "0", glia_pk_b64),
       "python3-signedjson verifies the signed block");
    json_decref(ob);
    httptest_sleep_ms(1500);
    is_int(onbinds_for(mxid), 1, "delivered once");
    is_str(pgtest_value(NULL, "SELECT count(*) FROM glia.onbind_outbox"), "0",
           "the outbox is empty");

    is_int(store("BOB.smith@example.org", &r), 400,
           "store-invite for a bound address: 400");
    is_str(http_resp_errcode(&r), "M_THREEPID_IN_USE", "M_THREEPID_IN_USE");
    is_str(json_string_value(json_object_get(r.json, "mxid")), mxid,
           "with the mxid");
    http_resp_free(&r);
}

static void
homeserver_down(void)
{
    char mxid[128];
    struct http_resp r;
    json_t *ob;

    snprintf(mxid, sizeof(mxid), "@carol:%s", hs_name);
    stop_hs();
    is_int(store("carol@example.org", &r), 200, "invite carol");
    http_resp_free(&r);
    is_int(internal_bind("carol@example.org", mxid), 200,
           "carol binds while her homeserver is down");
    httptest_sleep_ms(2500);
    ok(atoi(pgtest_value(NULL, "SELECT attempts FROM glia.onbind_outbox")) >= 2,
       "attempts fail and are retried");
    ok(strlen(pgtest_value(NULL, "SELECT last_error FROM glia.onbind_outbox")) >
           0,
       "with the reason kept");
    start_hs();
    ob = wait_onbind(mxid, 10000);
    ok(ob != NULL, "delivered once the homeserver is back");
    json_decref(ob);

    /* Down again, and glia restarts before it comes back. */
    snprintf(mxid, sizeof(mxid), "@dan:%s", hs_name);
    stop_hs();
    is_int(store("dan@example.org", &r), 200, "invite dan");
    http_resp_free(&r);
    is_int(internal_bind("dan@example.org", mxid), 200, "dan binds");
    httptest_sleep_ms(1200);
    is_int(httptest_stop(&g, SIGTERM), 0, "glia stops cleanly meanwhile");
    start_hs();
    httptest_restart(&g);
    ob = wait_onbind(mxid, 10000);
    ok(ob != NULL, "delivered after glia's restart");
    json_decref(ob);
}

static void
expiry_and_refusals(void)
{
    char mxid[128];
    struct http_resp r;
    char *q;
    char *eph;

    snprintf(mxid, sizeof(mxid), "@erin:%s", hs_name);
    is_int(store("erin@example.org", &r), 200, "invite erin");
    eph = xstrdup(json_string_value(json_object_get(
        json_array_get(json_object_get(r.json, "public_keys"), 1),
        "public_key")));
    http_resp_free(&r);
    pgtest_value(NULL, "UPDATE glia.invites SET expires_ts = 1 "
                       "WHERE address = 'erin@example.org'");
    q = xasprintf("/_matrix/identity/v2/pubkey/ephemeral/isvalid?public_key=%s",
                  eph);
    http_call(&g, "GET", q, NULL, NULL, &r);
    ok(json_is_false(json_object_get(r.json, "valid")),
       "an expired invite's key is no longer valid");
    http_resp_free(&r);
    is_int(internal_bind("erin@example.org", mxid), 200, "erin binds");
    httptest_sleep_ms(2000);
    is_int(onbinds_for(mxid), 0, "an expired invite is not delivered");
    free(q);
    free(eph);

    is_int(http_call(&g, "POST", STORE, "atok",
                     "{\"medium\":\"email\",\"address\":\"x@example.org\","
                     "\"room_id\":\"!room:hs.test\","
                     "\"sender\":\"@mallory:hs.test\"}",
                     &r),
           403, "inviting as someone else: 403");
    http_resp_free(&r);
    is_int(http_call(&g, "POST", STORE, "atok",
                     "{\"medium\":\"msisdn\",\"address\":\"4477\","
                     "\"room_id\":\"!room:hs.test\","
                     "\"sender\":\"@alice:hs.test\"}",
                     &r),
           400, "msisdn: 400");
    is_str(http_resp_errcode(&r), "M_UNRECOGNIZED", "M_UNRECOGNIZED");
    http_resp_free(&r);
    is_int(store("not-an-address", &r), 400, "a bad address: 400");
    is_str(http_resp_errcode(&r), "M_INVALID_EMAIL", "M_INVALID_EMAIL");
    http_resp_free(&r);
    is_int(http_call(&g, "POST", STORE, "atok",
                     "{\"medium\":\"email\",\"address\":\"x@example.org\","
                     "\"room_id\":\"!room:hs.test\",\"room_name\":"
                     "\"Free Casino\",\"sender\":\"@alice:hs.test\"}",
                     &r),
           403, "a blocked keyword in the room name: 403");
    http_resp_free(&r);
    is_int(http_call(&g, "POST", STORE, "etok",
                     "{\"medium\":\"email\",\"address\":\"x@example.org\","
                     "\"room_id\":\"!room:hs.test\","
                     "\"sender\":\"@eve:evil.test\"}",
                     &r),
           403, "a sender on a blocked homeserver: 403");
    http_resp_free(&r);
    is_int(http_call(&g, "POST", STORE, NULL,
                     "{\"medium\":\"email\",\"address\":\"x@example.org\","
                     "\"room_id\":\"!room:hs.test\","
                     "\"sender\":\"@alice:hs.test\"}",
                     &r),
           401, "no token: 401");
    http_resp_free(&r);
}

int
main(void)
{
    char *cmd;
    char *conf;
    char token[128];
    char signurl[4096];
    unsigned int iport;
    unsigned int mport = httptest_free_port();
    struct http_resp r;

    plan_no_plan();
    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    pgtest_reset();
    if (mkdtemp(dir) == NULL)
        skip_all("mkdtemp failed");
    httptest_make_certs(dir, NULL);
    snprintf(outbox, sizeof(outbox), "%s/outbox", dir);
    mkdir(outbox, 0755);
    snprintf(onbind_log, sizeof(onbind_log), "%s/onbind.log", dir);
    hs_port = httptest_free_port();
    snprintf(hs_name, sizeof(hs_name), "127.0.0.1:%u", hs_port);
    start_hs();
    iport = httptest_free_port();
    snprintf(internal_base, sizeof(internal_base), "http://127.0.0.1:%u",
             iport);
    conf = xasprintf("[email]\noutbox_dir = %s\n"
                     "[federation]\nverify_tls = true\nca_file = %s/ca.pem\n"
                     "allow_private_addresses = true\n"
                     "[internal]\nport = %u\n"
                     "[invites]\nretry_max_interval = 1\n"
                     "blocked_homeservers = evil.test\n"
                     "blocked_keywords = casino\n"
                     "[ratelimit]\ninvite_burst = 100\n"
                     "[metrics]\nport = %u\n",
                     outbox, dir, iport, mport);
    httptest_start(&g, conf);
    free(conf);
    httptest_seed_account("@alice:hs.test", "atok");
    httptest_seed_account("@eve:evil.test", "etok");
    http_call(&g, "GET", "/_matrix/identity/v2/pubkey/ed25519:0", NULL, NULL,
              &r);
    snprintf(glia_pk_b64, sizeof(glia_pk_b64), "%s",
             json_is_string(json_object_get(r.json, "public_key"))
                 ? json_string_value(json_object_get(r.json, "public_key"))
                 : "");
    http_resp_free(&r);
    ok(b64_decode(glia_pk_b64, strlen(glia_pk_b64), glia_pk, 32) == 32,
       "glia's public key");

    store_and_mail(token, sizeof(token), signurl, sizeof(signurl));
    signing(token, signurl);
    delivery(token);
    homeserver_down();
    expiry_and_refusals();
    {
        char base[64];
        char *p;

        snprintf(base, sizeof(base), "http://127.0.0.1:%u", mport);
        http_request(base, "GET", "/metrics", NULL, 0, NULL, &r);
        p = r.body != NULL ? strstr(r.body, "\nglia_onbind_delivered_total ")
                           : NULL;
        /* Counted since glia's restart in homeserver_down(): dan. */
        ok(p != NULL && atoi(p + 29) >= 1,
           "metrics: glia_onbind_delivered_total counts the deliveries");
        p = r.body != NULL ? strstr(r.body, "\nglia_onbind_failed_total ")
                           : NULL;
        ok(p != NULL, "and glia_onbind_failed_total is there");
        http_resp_free(&r);
    }

    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit");
    httptest_cleanup(&g);
    stop_hs();
    cmd = xasprintf("rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    free(cmd);
    return done_testing();
}
