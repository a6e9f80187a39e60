/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /3pid/bind end to end from a real validated email session (mail via
 * the outbox backend): the signed association, its signature checked by
 * glia's verifier and by python3-signedjson against the key glia publishes,
 * discovery by lookup, rebinding to another user, and the refusals.
 */
#include "crypto/crypto.h"
#include "db/db.h"
#include "httpd/httpd.h"
#include "httptest.h"
#include "pgtest.h"
#include "tap.h"
#include "util/buf.h"
#include "util/mem.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct glia_proc g;
static char outbox[300];

static long
call(const char *method,
     const char *path,
     const char *token,
     const char *body,
     struct http_resp *r)
{
    return http_call(&g, method, path, token, body, r);
}

/* The token in the newest outbox mail that holds sid. */
static char *
token_for(const char *sid)
{
    DIR *d = opendir(outbox);
    struct dirent *e;
    char *token = NULL;

    while (d != NULL && (e = readdir(d)) != NULL && token == NULL) {
        char *path = xasprintf("%s/%s", outbox, e->d_name);
        FILE *f = fopen(path, "r");
        char line[4096];

        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            char *t = strstr(line, "token=");

            if (t != NULL && strstr(line, sid) != NULL) {
                t += 6;
                token = xstrndup(t, strcspn(t, "&\r\n"));
                break;
            }
        }
        if (f != NULL)
            fclose(f);
        free(path);
    }
    if (d != NULL)
        closedir(d);
    return token;
}

/* Validate address for a token holder; @return the sid (caller frees). */
static char *
validate(const char *address, const char *secret, const char *token)
{
    struct http_resp r;
    char *body = xasprintf("{\"email\":\"%s\",\"client_secret\":\"%s\","
                           "\"send_attempt\":1}",
                           address, secret);
    char *sid = NULL;
    char *tok;

    call("POST", "/_matrix/identity/v2/validate/email/requestToken", token,
         body, &r);
    if (json_is_string(json_object_get(r.json, "sid")))
        sid = xstrdup(json_string_value(json_object_get(r.json, "sid")));
    http_resp_free(&r);
    free(body);
    if (sid == NULL)
        return NULL;
    tok = token_for(sid);
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"%s\","
                     "\"token\":\"%s\"}",
                     sid, secret, tok != NULL ? tok : "");
    call("POST", "/_matrix/identity/v2/validate/email/submitToken", token, body,
         &r);
    if (r.status != 200)
        diag("submitToken: %ld %s", r.status, r.body);
    http_resp_free(&r);
    free(body);
    free(tok);
    return sid;
}

static char *
lookup_one(const char *address, const char *token)
{
    struct http_resp r;
    char *body;
    char *mxid = NULL;

    call("GET", "/_matrix/identity/v2/hash_details", token, NULL, &r);
    body = xasprintf(
        "{\"algorithm\":\"none\",\"pepper\":\"%s\","
        "\"addresses\":[\"%s email\"]}",
        json_string_value(json_object_get(r.json, "lookup_pepper")), address);
    http_resp_free(&r);
    call("POST", "/_matrix/identity/v2/lookup", token, body, &r);
    {
        char *key = xasprintf("%s email", address);
        json_t *m = json_object_get(json_object_get(r.json, "mappings"), key);

        if (json_is_string(m))
            mxid = xstrdup(json_string_value(m));
        free(key);
    }
    http_resp_free(&r);
    free(body);
    return mxid;
}

int
main(void)
{
    struct http_resp r;
    char *conf;
    char *sid;
    char *body;
    char *mxid;
    char *cmd;
    unsigned char pk[32];
    char pk_b64[64] = "";

    plan_no_plan();
    pgtest_reset();
    snprintf(outbox, sizeof(outbox), "/tmp/glia-bind.XXXXXX");
    if (mkdtemp(outbox) == NULL)
        skip_all("mkdtemp failed");
    conf = xasprintf("[email]\noutbox_dir = %s\n", outbox);
    httptest_start(&g, conf);
    free(conf);
    httptest_seed_account("@alice:hs.test", "atok");
    httptest_seed_account("@bob:hs.test", "btok");

    call("GET", "/_matrix/identity/v2/pubkey/ed25519:0", NULL, NULL, &r);
    if (json_is_string(json_object_get(r.json, "public_key")))
        snprintf(pk_b64, sizeof(pk_b64), "%s",
                 json_string_value(json_object_get(r.json, "public_key")));
    http_resp_free(&r);
    ok(b64_decode(pk_b64, strlen(pk_b64), pk, sizeof(pk)) == 32,
       "glia's public key");

    sid = validate("Shared@Example.org", "al1ce", "atok");
    ok(sid != NULL, "alice validated shared@example.org");
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"al1ce\","
                     "\"mxid\":\"@alice:hs.test\"}",
                     sid);
    is_int(call("POST", "/_matrix/identity/v2/3pid/bind", "atok", body, &r),
           200, "bind");
    is_str(json_string_value(json_object_get(r.json, "address")),
           "shared@example.org", "address (canonical)");
    is_str(json_string_value(json_object_get(r.json, "medium")), "email",
           "medium");
    is_str(json_string_value(json_object_get(r.json, "mxid")), "@alice:hs.test",
           "mxid");
    ok(json_is_integer(json_object_get(r.json, "ts")) &&
           json_is_integer(json_object_get(r.json, "not_before")) &&
           json_integer_value(json_object_get(r.json, "not_after")) >
               json_integer_value(json_object_get(r.json, "ts")),
       "ts, not_before, not_after");
    is_int(signjson_verify(r.json, "glia.test", "ed25519:0", pk), SIGNJSON_OK,
           "signed by glia.test with the published key");
    {
        char *path = xasprintf("%s/assoc.json", outbox);
        FILE *f = fopen(path, "w");

        fputs(r.body, f);
        fclose(f);
        cmd = xasprintf(
            "/usr/bin/python3 -c 'import json,sys,signedjson.key as k,"
            "signedjson.sign as s; vk=k.decode_verify_key_base64(\"ed25519\","
            "\"0\",sys.argv[2]); s.verify_signed_json(json.load(open("
            "sys.argv[1])),\"glia.test\",vk)' %s %s",
            path, pk_b64);
        ok(system(cmd) == 0, "python3-signedjson verifies the binding");
        free(cmd);
        free(path);
    }
    http_resp_free(&r);
    mxid = lookup_one("shared@example.org", "atok");
    is_str(mxid, "@alice:hs.test", "lookup finds the binding at once");
    free(mxid);

    /* The legacy v1 lookups (no token). */
    call("GET",
         "/_matrix/identity/api/v1/lookup?medium=email&address=SHARED%40"
         "example.org",
         NULL, NULL, &r);
    is_int(r.status, 200, "v1 lookup");
    is_str(json_string_value(json_object_get(r.json, "mxid")), "@alice:hs.test",
           "answers the signed association");
    is_int(signjson_verify(r.json, "glia.test", "ed25519:0", pk), SIGNJSON_OK,
           "whose signature verifies");
    http_resp_free(&r);
    call("GET",
         "/_matrix/identity/api/v1/lookup?medium=email&address=nobody%40"
         "example.org",
         NULL, NULL, &r);
    ok(r.status == 200 && json_object_size(r.json) == 0,
       "v1 lookup of an unbound address: {}");
    http_resp_free(&r);
    call("GET", "/_matrix/identity/api/v1/lookup?medium=email", NULL, NULL, &r);
    is_int(r.status, 400, "v1 lookup without an address: 400");
    http_resp_free(&r);
    call("POST", "/_matrix/identity/api/v1/bulk_lookup", NULL,
         "{\"threepids\":[[\"email\",\"Shared@example.org\"],"
         "[\"email\",\"nobody@example.org\"],[\"msisdn\",\"441234\"],"
         "[\"email\",\"we\\\\ird\\\"quote@example.org\"]]}",
         &r);
    is_int(r.status, 200, "v1 bulk_lookup");
    {
        json_t *t = json_object_get(r.json, "threepids");

        ok(json_array_size(t) == 1 &&
               strcmp(
                   json_string_value(json_array_get(json_array_get(t, 0), 2)),
                   "@alice:hs.test") == 0 &&
               strcmp(
                   json_string_value(json_array_get(json_array_get(t, 0), 1)),
                   "shared@example.org") == 0,
           "only the bound one, as [medium, address, mxid]");
    }
    http_resp_free(&r);
    call("POST", "/_matrix/identity/api/v1/bulk_lookup", NULL,
         "{\"threepids\":[[\"email\"]]}", &r);
    is_int(r.status, 400, "bulk_lookup with a bad pair: 400");
    http_resp_free(&r);
    call("POST", "/_matrix/identity/api/v1/bulk_lookup", NULL,
         "{\"threepids\":\"x\"}", &r);
    is_int(r.status, 400, "bulk_lookup with no list: 400");
    http_resp_free(&r);

    /* Refusals. */
    is_int(call("POST", "/_matrix/identity/v2/3pid/bind", "btok", body, &r),
           403, "bob cannot bind alice's session to alice...");
    http_resp_free(&r);
    free(body);
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"al1ce\","
                     "\"mxid\":\"@bob:hs.test\"}",
                     sid);
    is_int(call("POST", "/_matrix/identity/v2/3pid/bind", "atok", body, &r),
           403, "...and alice cannot bind it to bob");
    is_str(http_resp_errcode(&r), "M_FORBIDDEN", "M_FORBIDDEN");
    http_resp_free(&r);
    free(body);
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"wrong\","
                     "\"mxid\":\"@alice:hs.test\"}",
                     sid);
    is_int(call("POST", "/_matrix/identity/v2/3pid/bind", "atok", body, &r),
           404, "wrong client_secret: 404");
    is_str(http_resp_errcode(&r), "M_NO_VALID_SESSION", "M_NO_VALID_SESSION");
    http_resp_free(&r);
    free(body);
    free(sid);
    {
        struct http_resp rr;

        call("POST", "/_matrix/identity/v2/validate/email/requestToken", "atok",
             "{\"email\":\"other@example.org\",\"client_secret\":\"x\","
             "\"send_attempt\":1}",
             &rr);
        body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"x\","
                         "\"mxid\":\"@alice:hs.test\"}",
                         json_string_value(json_object_get(rr.json, "sid")));
        http_resp_free(&rr);
        is_int(call("POST", "/_matrix/identity/v2/3pid/bind", "atok", body, &r),
               400, "unvalidated session: 400");
        is_str(http_resp_errcode(&r), "M_SESSION_NOT_VALIDATED",
               "M_SESSION_NOT_VALIDATED");
        http_resp_free(&r);
        free(body);
    }
    is_int(call("POST", "/_matrix/identity/v2/3pid/bind", "atok",
                "{\"sid\":\"x\",\"client_secret\":\"y\",\"mxid\":\"alice\"}",
                &r),
           400, "malformed mxid: 400");
    http_resp_free(&r);
    is_int(call("POST", "/_matrix/identity/v2/3pid/bind", "atok", "{}", &r),
           400, "missing fields: 400");
    is_str(http_resp_errcode(&r), "M_MISSING_PARAMS", "M_MISSING_PARAMS");
    http_resp_free(&r);
    is_int(call("POST", "/_matrix/identity/v2/3pid/bind", NULL, "{}", &r), 401,
           "no token: 401");
    http_resp_free(&r);

    /* The address moves to bob: the new binding replaces the old one. */
    sid = validate("shared@example.org", "b0b", "btok");
    ok(sid != NULL, "bob validated the same address");
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"b0b\","
                     "\"mxid\":\"@bob:hs.test\"}",
                     sid);
    is_int(call("POST", "/_matrix/identity/v2/3pid/bind", "btok", body, &r),
           200, "bob binds it");
    http_resp_free(&r);
    mxid = lookup_one("shared@example.org", "atok");
    is_str(mxid, "@bob:hs.test", "lookup now answers bob");
    free(mxid);
    call("GET",
         "/_matrix/identity/api/v1/lookup?medium=email&address=shared%40"
         "example.org",
         NULL, NULL, &r);
    is_str(json_string_value(json_object_get(r.json, "mxid")), "@bob:hs.test",
           "and so does v1 lookup");
    http_resp_free(&r);

    /* Unbind by session proof: the owner of the address removes it. */
    free(body);
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"b0b\","
                     "\"mxid\":\"@bob:hs.test\",\"threepid\":{\"medium\":"
                     "\"email\",\"address\":\"other@example.org\"}}",
                     sid);
    is_int(call("POST", "/_matrix/identity/v2/3pid/unbind", NULL, body, &r),
           403, "unbind: the session is for another address: 403");
    is_str(http_resp_errcode(&r), "M_FORBIDDEN", "M_FORBIDDEN");
    http_resp_free(&r);
    free(body);
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"nope\","
                     "\"mxid\":\"@bob:hs.test\",\"threepid\":{\"medium\":"
                     "\"email\",\"address\":\"shared@example.org\"}}",
                     sid);
    is_int(call("POST", "/_matrix/identity/v2/3pid/unbind", NULL, body, &r),
           404, "unbind: wrong client_secret: 404");
    is_str(http_resp_errcode(&r), "M_NO_VALID_SESSION", "M_NO_VALID_SESSION");
    http_resp_free(&r);
    mxid = lookup_one("shared@example.org", "atok");
    is_str(mxid, "@bob:hs.test", "refused unbinds changed nothing");
    free(mxid);
    free(body);
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"b0b\","
                     "\"mxid\":\"@bob:hs.test\",\"threepid\":{\"medium\":"
                     "\"email\",\"address\":\"SHARED@example.ORG\"}}",
                     sid);
    is_int(call("POST", "/_matrix/identity/v2/3pid/unbind", NULL, body, &r),
           200, "unbind by session (no token needed)");
    ok(r.json != NULL && json_object_size(r.json) == 0, "answers {}");
    http_resp_free(&r);
    mxid = lookup_one("shared@example.org", "atok");
    ok(mxid == NULL, "the unbound address is no longer found");
    free(mxid);
    call("GET",
         "/_matrix/identity/api/v1/lookup?medium=email&address=shared%40"
         "example.org",
         NULL, NULL, &r);
    ok(r.status == 200 && json_object_size(r.json) == 0, "nor by v1 lookup");
    http_resp_free(&r);
    {
        /* The signed tombstone that replication will carry. */
        json_t *t = json_loads(
            pgtest_value(NULL, "SELECT signed_json FROM glia.unbinds"), 0,
            NULL);
        ok(t != NULL && json_is_null(json_object_get(t, "mxid")) &&
               json_is_null(json_object_get(t, "not_before")) &&
               json_is_null(json_object_get(t, "not_after")) &&
               json_is_integer(json_object_get(t, "ts")) &&
               strcmp(json_string_value(json_object_get(t, "address")),
                      "shared@example.org") == 0,
           "one tombstone: mxid, not_before, not_after null");
        is_int(signjson_verify(t, "glia.test", "ed25519:0", pk), SIGNJSON_OK,
               "signed by glia");
        json_decref(t);
    }
    is_int(call("POST", "/_matrix/identity/v2/3pid/unbind", NULL, body, &r),
           200, "unbinding again is fine (nothing to do)");
    http_resp_free(&r);
    is_int(call("POST", "/_matrix/identity/api/v1/3pid/unbind", NULL, body, &r),
           200, "and so is the v1 route");
    http_resp_free(&r);
    is_int(call("POST", "/_matrix/identity/v2/3pid/unbind", NULL,
                "{\"mxid\":\"@bob:hs.test\",\"threepid\":{\"medium\":"
                "\"email\",\"address\":\"shared@example.org\"}}",
                &r),
           403, "unbind with no proof at all: 403");
    is_str(http_resp_errcode(&r), "M_FORBIDDEN", "M_FORBIDDEN");
    http_resp_free(&r);
    is_int(call("POST", "/_matrix/identity/v2/3pid/unbind", NULL,
                "{\"mxid\":\"@bob:hs.test\"}", &r),
           400, "unbind without threepid: 400");
    is_str(http_resp_errcode(&r), "M_MISSING_PARAMS", "M_MISSING_PARAMS");
    http_resp_free(&r);
    is_int(call("POST", "/_matrix/identity/v2/3pid/unbind", NULL,
                "{\"mxid\":\"@bob:hs.test\",\"threepid\":{\"medium\":"
                "\"fax\",\"address\":\"1\"}}",
                &r),
           400, "unbind of an unknown medium: 400");
    is_str(http_resp_errcode(&r), "M_INVALID_PARAM", "M_INVALID_PARAM");
    http_resp_free(&r);
    free(body);
    free(sid);

    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit");
    httptest_cleanup(&g);
    cmd = xasprintf("rm -rf %s", outbox);
    if (system(cmd) != 0)
        diag("could not remove %s", outbox);
    free(cmd);
    return done_testing();
}
