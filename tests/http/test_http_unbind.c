/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /3pid/unbind signed by a homeserver (X-Matrix), against fake
 * homeservers (tests/helpers/fake_hs) that publish keys made here: a valid
 * signature, a wrong key, an unknown key id, expired keys, a wrong
 * destination, a signature over another URI, an unreachable homeserver.
 * And the internal provisioning listener that sets the bindings up:
 * POST /_matrix/identity/internal/bind and /unbind.
 */
#include "crypto/crypto.h"
#include "httptest.h"
#include "pgtest.h"
#include "tap.h"
#include "util/mem.h"
#include "util/time.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define V2_UNBIND "/_matrix/identity/v2/3pid/unbind"
#define V1_UNBIND "/_matrix/identity/api/v1/3pid/unbind"

static struct glia_proc g;
static char dir[] = "/tmp/glia-unbind.XXXXXX";
static char internal_base[64];
static unsigned char glia_pk[32];

struct fake {
    pid_t pid;
    char name[64]; /* "127.0.0.1:PORT" */
    char keys[300];
    char log[300];
};

static struct fake hs1; /* valid keys */
static struct fake hs2; /* expired keys */

static void
start_fake(struct fake *f, const char *tag)
{
    const char *bin = getenv("FAKE_HS_BIN");
    char *portfile = xasprintf("%s/%s.port", dir, tag);
    char *cert = xasprintf("%s/server.pem", dir);
    char *key = xasprintf("%s/server.key", dir);
    unsigned int port;

    snprintf(f->keys, sizeof(f->keys), "%s/%s-keys.json", dir, tag);
    snprintf(f->log, sizeof(f->log), "%s/%s.log", dir, tag);
    {
        const char *argv[] = {bin != NULL ? bin : "tests/helpers/fake_hs",
                              "--cert",
                              cert,
                              "--key",
                              key,
                              "--port-file",
                              portfile,
                              "--keys",
                              f->keys,
                              NULL};

        port = httptest_spawn(argv, portfile, f->log, &f->pid);
    }
    snprintf(f->name, sizeof(f->name), "127.0.0.1:%u", port);
    free(portfile);
    free(cert);
    free(key);
}

static void
stop_fake(struct fake *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
    }
}

/* Publish k as f's key, valid until until_ms, self-signed. */
static void
publish_keys(const struct fake *f, const struct signing_key *k, long long until)
{
    char *pk = b64_encode(k->pk, 32, false);
    json_t *r =
        json_pack("{s:s, s:I, s:{s:{s:s}}, s:{}}", "server_name", f->name,
                  "valid_until_ts", (json_int_t)until, "verify_keys", k->key_id,
                  "key", pk, "old_verify_keys");

    signjson_sign(r, f->name, k->key_id, k->sk);
    json_dump_file(r, f->keys, JSON_COMPACT);
    json_decref(r);
    free(pk);
}

/* How many times f was asked for its keys. */
static int
key_fetches(const struct fake *f)
{
    FILE *fp = fopen(f->log, "r");
    char line[1024];
    int n = 0;

    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof(line), fp) != NULL)
        if (strstr(line, "GET /_matrix/key/v2/server") != NULL)
            n++;
    fclose(fp);
    return n;
}

static long
internal(const char *path, const char *body, struct http_resp *out)
{
    const char *const headers[] = {"Content-Type: application/json", NULL};
    struct http_resp r;
    long st;

    if (http_request(internal_base, "POST", path, body, strlen(body), headers,
                     &r) != 0)
        return 0;
    st = r.status;
    if (out != NULL)
        *out = r;
    else
        http_resp_free(&r);
    return st;
}

static long
internal_bind(const char *address, const char *mxid)
{
    char *body = xasprintf("{\"medium\":\"email\",\"address\":\"%s\","
                           "\"mxid\":\"%s\"}",
                           address, mxid);
    long st = internal("/_matrix/identity/internal/bind", body, NULL);

    free(body);
    return st;
}

/* The mxid a v1 lookup answers for address, or "" (static). */
static const char *
bound_to(const char *address)
{
    static char mxid[256];
    char *path = xasprintf("/_matrix/identity/api/v1/lookup?medium=email&"
                           "address=%s",
                           address);
    struct http_resp r;

    mxid[0] = '\0';
    http_call(&g, "GET", path, NULL, NULL, &r);
    if (json_is_string(json_object_get(r.json, "mxid")))
        snprintf(mxid, sizeof(mxid), "%s",
                 json_string_value(json_object_get(r.json, "mxid")));
    http_resp_free(&r);
    free(path);
    return mxid;
}

/* What to sign and send. */
struct signed_req {
    const char *path;            /* where it is sent */
    const char *signed_uri;      /* what is signed (NULL: path) */
    const char *origin;          /* X-Matrix origin */
    const struct signing_key *k; /* signs */
    const char *destination_is;  /* NULL: glia.test */
    const char *dest_param;      /* destination= in the header, or NULL */
    const char *mxid;
    const char *address;
};

/* Send an unbind signed as Synapse signs it. @return the status; *errcode
 * the errcode ("" if none). */
static long
signed_unbind(const struct signed_req *s, const char **errcode)
{
    static char code[64];
    char *body = xasprintf("{\"mxid\":\"%s\",\"threepid\":{\"medium\":"
                           "\"email\",\"address\":\"%s\"}}",
                           s->mxid, s->address);
    json_t *content = json_loads(body, 0, NULL);
    json_t *obj =
        json_pack("{s:s, s:s, s:s, s:s, s:o}", "method", "POST", "uri",
                  s->signed_uri != NULL ? s->signed_uri : s->path, "origin",
                  s->origin, "destination_is",
                  s->destination_is != NULL ? s->destination_is : "glia.test",
                  "content", content);
    const char *sig;
    char *auth;
    const char *headers[3];
    struct http_resp r;
    long st;

    signjson_sign(obj, s->origin, s->k->key_id, s->k->sk);
    sig = json_string_value(json_object_get(
        json_object_get(json_object_get(obj, "signatures"), s->origin),
        s->k->key_id));
    if (s->dest_param != NULL)
        auth = xasprintf("Authorization: X-Matrix origin=%s,"
                         "destination=\"%s\",key=\"%s\",sig=\"%s\"",
                         s->origin, s->dest_param, s->k->key_id, sig);
    else
        auth = xasprintf("Authorization: X-Matrix origin=%s,key=\"%s\","
                         "sig=\"%s\"",
                         s->origin, s->k->key_id, sig);
    headers[0] = "Content-Type: application/json";
    headers[1] = auth;
    headers[2] = NULL;
    st = http_request(g.base, "POST", s->path, body, strlen(body), headers,
                      &r) == 0
             ? r.status
             : 0;
    snprintf(code, sizeof(code), "%s", http_resp_errcode(&r));
    if (errcode != NULL)
        *errcode = code;
    http_resp_free(&r);
    json_decref(obj);
    free(auth);
    free(body);
    return st;
}

/* Synapse signs with python's signedjson: so does this, with k's seed in a
 * key file. @return the status of the unbind it sends. */
static long
python_signed_unbind(const struct signing_key *k,
                     const char *origin,
                     const char *mxid,
                     const char *address)
{
    char *keyfile = xasprintf("%s/py.key", dir);
    char *body = xasprintf("{\"mxid\":\"%s\",\"threepid\":{\"medium\":"
                           "\"email\",\"address\":\"%s\"}}",
                           mxid, address);
    char *cmd;
    FILE *p;
    char auth[512] = "Authorization: ";
    size_t used = strlen(auth);
    const char *headers[3];
    struct http_resp r;
    long st = 0;

    unlink(keyfile);
    if (signing_key_write_file(keyfile, k) != 0) {
        diag("cannot write %s", keyfile);
        free(keyfile);
        free(body);
        return 0;
    }
    cmd = xasprintf(
        "/usr/bin/python3 -c 'import json,sys,signedjson.key as K,"
        "signedjson.sign as S\n"
        "key=K.read_signing_keys(open(sys.argv[1]))[0]\n"
        "o={\"method\":\"POST\",\"uri\":\"%s\",\"origin\":sys.argv[2],"
        "\"destination_is\":\"glia.test\",\"content\":json.loads(sys.argv[3])}"
        "\n"
        "s=S.sign_json(o,sys.argv[2],key)\n"
        "print(\"X-Matrix origin=%%s,key=\\\"%%s\\\",sig=\\\"%%s\\\"\" %% "
        "(sys.argv[2],"
        "key.alg+\":\"+key.version,"
        "s[\"signatures\"][sys.argv[2]][key.alg+\":\"+key.version]))' "
        "%s %s '%s'",
        V2_UNBIND, keyfile, origin, body);
    p = popen(cmd, "r");
    if (p != NULL) {
        if (fgets(auth + used, (int)(sizeof(auth) - used), p) == NULL)
            auth[used] = '\0';
        pclose(p);
    }
    auth[strcspn(auth, "\n")] = '\0';
    if (strlen(auth) > used) {
        headers[0] = "Content-Type: application/json";
        headers[1] = auth;
        headers[2] = NULL;
        if (http_request(g.base, "POST", V2_UNBIND, body, strlen(body), headers,
                         &r) == 0)
            st = r.status;
        http_resp_free(&r);
    } else {
        diag("python3-signedjson did not sign");
    }
    free(cmd);
    free(keyfile);
    free(body);
    return st;
}

static void
internal_api(void)
{
    struct http_resp r;

    is_int(internal("/_matrix/identity/internal/bind",
                    "{\"medium\":\"email\",\"address\":\"Zoe@Example.org\","
                    "\"mxid\":\"@zoe:hs.test\"}",
                    &r),
           200, "internal bind");
    is_str(json_string_value(json_object_get(r.json, "address")),
           "zoe@example.org", "the address is canonical");
    is_int(signjson_verify(r.json, "glia.test", "ed25519:0", glia_pk),
           SIGNJSON_OK, "the binding is signed like any other");
    http_resp_free(&r);
    is_str(bound_to("zoe%40example.org"), "@zoe:hs.test", "and looked up");
    is_int(internal_bind("zoe@example.org", "@zed:hs.test"), 200,
           "internal rebind to another user");
    is_str(bound_to("zoe%40example.org"), "@zed:hs.test",
           "the rebinding replaces the binding");
    is_int(internal("/_matrix/identity/internal/unbind",
                    "{\"medium\":\"email\",\"address\":\"zoe@example.org\","
                    "\"mxid\":\"@zoe:hs.test\"}",
                    NULL),
           200, "internal unbind of a user it is not bound to: 200");
    is_str(bound_to("zoe%40example.org"), "@zed:hs.test", "changes nothing");
    is_int(internal("/_matrix/identity/internal/unbind",
                    "{\"medium\":\"email\",\"address\":\"ZOE@example.org\","
                    "\"mxid\":\"@zed:hs.test\"}",
                    &r),
           200, "internal unbind");
    ok(json_object_size(r.json) == 0, "answers {}");
    http_resp_free(&r);
    is_str(bound_to("zoe%40example.org"), "", "no longer found");

    is_int(internal("/_matrix/identity/internal/bind",
                    "{\"medium\":\"email\",\"address\":\"a@b.org\"}", &r),
           400, "internal bind without mxid: 400");
    is_str(http_resp_errcode(&r), "M_MISSING_PARAMS", "M_MISSING_PARAMS");
    http_resp_free(&r);
    is_int(internal("/_matrix/identity/internal/bind",
                    "{\"medium\":\"fax\",\"address\":\"1\","
                    "\"mxid\":\"@a:hs.test\"}",
                    &r),
           400, "unknown medium: 400");
    is_str(http_resp_errcode(&r), "M_INVALID_PARAM", "M_INVALID_PARAM");
    http_resp_free(&r);
    is_int(internal("/_matrix/identity/internal/bind",
                    "{\"medium\":\"email\",\"address\":\"no-at-sign\","
                    "\"mxid\":\"@a:hs.test\"}",
                    NULL),
           400, "bad email: 400");
    is_int(internal("/_matrix/identity/internal/bind",
                    "{\"medium\":\"msisdn\",\"address\":\"447700900123\","
                    "\"mxid\":\"@a:hs.test\"}",
                    NULL),
           200, "an msisdn");
    is_int(internal("/_matrix/identity/internal/bind", "[1]", &r), 400,
           "not an object: 400");
    http_resp_free(&r);
    is_int(internal("/_matrix/identity/v2/3pid/bind", "{}", &r), 404,
           "public routes are not served on the internal listener");
    http_resp_free(&r);
    is_int(http_call(&g, "POST", "/_matrix/identity/internal/bind", NULL,
                     "{\"medium\":\"email\",\"address\":\"x@b.org\","
                     "\"mxid\":\"@x:hs.test\"}",
                     &r),
           404, "the internal API is not served on the public listener");
    http_resp_free(&r);
}

/* Run glia-admin with args against g's config; @return its exit status,
 * *out its first output line. */
static int
admin(const char *args, char *out, size_t outlen)
{
    const char *bin = getenv("GLIA_ADMIN_BIN");
    char *cmd = xasprintf("%s %s -c %s/glia.conf 2>&1",
                          bin != NULL ? bin : "src/glia-admin", args, g.dir);
    FILE *p = popen(cmd, "r");
    int st;

    out[0] = '\0';
    if (p == NULL)
        return -1;
    if (fgets(out, (int)outlen, p) == NULL)
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    while (fgetc(p) != EOF)
        ;
    st = pclose(p);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
admin_bind(void)
{
    char out[2048];
    json_t *j;

    is_int(admin("bind email Admin@Example.org @adm:hs.test", out, sizeof(out)),
           0, "glia-admin bind");
    j = json_loads(out, 0, NULL);
    is_int(signjson_verify(j, "glia.test", "ed25519:0", glia_pk), SIGNJSON_OK,
           "prints the signed association");
    json_decref(j);
    is_str(bound_to("admin%40example.org"), "@adm:hs.test",
           "the running glia finds it");
    is_int(
        admin("unbind email admin@example.org @adm:hs.test", out, sizeof(out)),
        0, "glia-admin unbind");
    is_str(out, "unbound", "says so");
    is_str(bound_to("admin%40example.org"), "", "gone");
    is_int(
        admin("unbind email admin@example.org @adm:hs.test", out, sizeof(out)),
        0, "unbind again");
    is_str(out, "was not bound", "nothing to do");
    is_int(admin("bind email not-an-address @adm:hs.test", out, sizeof(out)), 2,
           "a bad address: exit 2");
    is_int(admin("bind email a@b.org adm", out, sizeof(out)), 2,
           "a bad user id: exit 2");
    is_int(admin("bind email a@b.org", out, sizeof(out)), 2,
           "missing argument: exit 2");
}

int
main(void)
{
    struct signing_key *k1;
    struct signing_key *wrong;
    struct signing_key *unknown;
    struct signing_key *k2;
    struct fake dead;
    char *cmd;
    char *conf;
    char mx1[128];
    char mx2[128];
    char mxdead[128];
    const char *code;
    unsigned int iport;
    struct http_resp r;

    plan_no_plan();
    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    pgtest_reset();
    if (mkdtemp(dir) == NULL)
        skip_all("mkdtemp failed");
    httptest_make_certs(dir, NULL);
    k1 = signing_key_generate("k1");
    wrong = signing_key_generate("k1"); /* same id, another key */
    unknown = signing_key_generate("nope");
    k2 = signing_key_generate("k2");
    start_fake(&hs1, "hs1");
    start_fake(&hs2, "hs2");
    publish_keys(&hs1, k1, time_now_ms() + 3600 * 1000);
    publish_keys(&hs2, k2, time_now_ms() - 1000);
    snprintf(mx1, sizeof(mx1), "@alice:%s", hs1.name);
    snprintf(mx2, sizeof(mx2), "@carol:%s", hs2.name);
    memset(&dead, 0, sizeof(dead));
    snprintf(dead.name, sizeof(dead.name), "127.0.0.1:%u",
             httptest_free_port());
    snprintf(mxdead, sizeof(mxdead), "@dave:%s", dead.name);

    iport = httptest_free_port();
    snprintf(internal_base, sizeof(internal_base), "http://127.0.0.1:%u",
             iport);
    conf = xasprintf("[federation]\nverify_tls = true\nca_file = %s/ca.pem\n"
                     "allow_private_addresses = true\n"
                     "[internal]\nport = %u\n",
                     dir, iport);
    httptest_start(&g, conf);
    free(conf);
    ok(httptest_log_contains(&g, "internal provisioning API"),
       "the internal listener is announced (with a warning)");
    http_call(&g, "GET", "/_matrix/identity/v2/pubkey/ed25519:0", NULL, NULL,
              &r);
    {
        const char *pk =
            json_string_value(json_object_get(r.json, "public_key"));

        ok(pk != NULL && b64_decode(pk, strlen(pk), glia_pk, 32) == 32,
           "glia's public key");
    }
    http_resp_free(&r);

    internal_api();
    admin_bind();

    /* Set up bindings through the internal API. */
    is_int(internal_bind("alice@example.org", mx1), 200, "bind alice");
    is_int(internal_bind("carol@example.org", mx2), 200, "bind carol");
    is_int(internal_bind("dave@example.org", mxdead), 200, "bind dave");
    is_str(bound_to("alice%40example.org"), mx1, "alice is bound");

    {
        struct signed_req s = {
            .path = V2_UNBIND,
            .origin = hs1.name,
            .k = k1,
            .mxid = mx1,
            .address = "alice@example.org",
        };
        struct signed_req bad;

        is_int(http_call(&g, "POST", V2_UNBIND, NULL,
                         "{\"mxid\":\"@alice:hs.test\",\"threepid\":"
                         "{\"medium\":\"email\",\"address\":"
                         "\"alice@example.org\"}}",
                         &r),
               403, "no signature, no session: 403");
        is_str(http_resp_errcode(&r), "M_FORBIDDEN", "M_FORBIDDEN");
        http_resp_free(&r);

        bad = s;
        bad.k = wrong;
        is_int(signed_unbind(&bad, &code), 403, "signed with a wrong key: 403");
        is_str(code, "M_FORBIDDEN", "M_FORBIDDEN");
        bad = s;
        bad.k = unknown;
        is_int(signed_unbind(&bad, &code), 403,
               "signed with a key the server does not publish: 403");
        bad = s;
        bad.destination_is = "elsewhere.test";
        is_int(signed_unbind(&bad, &code), 403,
               "signed for another identity server: 403");
        bad = s;
        bad.dest_param = "elsewhere.test";
        is_int(signed_unbind(&bad, &code), 403,
               "a destination parameter naming another server: 403");
        bad = s;
        bad.signed_uri = V1_UNBIND;
        is_int(signed_unbind(&bad, &code), 403,
               "the signature covers another URI: 403");
        bad = s;
        bad.path = V2_UNBIND "?x=1"; /* sent */
        bad.signed_uri = V2_UNBIND;  /* signed */
        is_int(signed_unbind(&bad, &code), 403,
               "the query string is covered too: 403");
        bad = s;
        bad.mxid = mx2;
        is_int(signed_unbind(&bad, &code), 403,
               "a homeserver cannot unbind another server's user: 403");
        is_str(bound_to("alice%40example.org"), mx1,
               "refused unbinds changed nothing");

        is_int(signed_unbind(&s, &code), 200,
               "a valid homeserver signature: 200");
        is_str(bound_to("alice%40example.org"), "", "alice is unbound");
        is_int(signed_unbind(&s, &code), 200,
               "again: 200 (nothing left to unbind)");
        bad = s;
        bad.dest_param = "glia.test";
        is_int(signed_unbind(&bad, &code), 200,
               "a destination parameter naming us is fine");
        is_int(key_fetches(&hs1), 1, "the keys were fetched once, then cached");

        /* Signed by signedjson, the library Synapse signs with. */
        is_int(internal_bind("alice@example.org", mx1), 200, "bind again");
        is_int(python_signed_unbind(k1, hs1.name, mx1, "alice@example.org"),
               200,
               "a request signed by python3-signedjson, as Synapse "
               "signs it: 200");
        is_str(bound_to("alice%40example.org"), "", "unbound");

        /* The signature covers the target exactly as sent, query too. */
        is_int(internal_bind("alice@example.org", mx1), 200, "bind again");
        s.path = V2_UNBIND "?via=x";
        is_int(signed_unbind(&s, &code), 200, "a signed query string verifies");
        is_str(bound_to("alice%40example.org"), "", "unbound");

        /* Older homeservers call the v1 route; the signature covers it. */
        is_int(internal_bind("alice@example.org", mx1), 200, "bind again");
        s.path = V1_UNBIND;
        is_int(signed_unbind(&s, &code), 200, "unbind on the v1 route");
        is_str(bound_to("alice%40example.org"), "", "unbound");

        s.origin = hs2.name;
        s.k = k2;
        s.mxid = mx2;
        s.address = "carol@example.org";
        s.path = V2_UNBIND;
        is_int(signed_unbind(&s, &code), 403,
               "the homeserver's keys have expired: 403");
        is_str(code, "M_FORBIDDEN", "M_FORBIDDEN");
        is_str(bound_to("carol%40example.org"), mx2, "carol is still bound");

        s.origin = dead.name;
        s.mxid = mxdead;
        s.address = "dave@example.org";
        is_int(signed_unbind(&s, &code), 502,
               "the homeserver cannot be reached: 502");
        is_str(code, "M_UNKNOWN", "M_UNKNOWN");
        is_str(bound_to("dave%40example.org"), mxdead, "dave is still bound");
    }

    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit");
    httptest_cleanup(&g);
    stop_fake(&hs1);
    stop_fake(&hs2);
    signing_key_free(k1);
    signing_key_free(wrong);
    signing_key_free(unknown);
    signing_key_free(k2);
    cmd = xasprintf("rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    free(cmd);
    return done_testing();
}
