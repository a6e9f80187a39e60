/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tokens and terms against the real daemon: the auth gate (header, query
 * string, missing, unknown), GET /account, logout, and the terms flows
 * (none accepted, some, all across calls in mixed languages, a new policy
 * version, no terms configured). Accounts are seeded straight into the
 * database; registration through a homeserver is test_http_register.
 */
#include "db/db.h"
#include "httpd/httpd.h"
#include "httptest.h"
#include "pgtest.h"
#include "tap.h"
#include "util/mem.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct glia_proc g;
static char terms_path[300];

static void
write_terms(const char *tos_version)
{
    FILE *f = fopen(terms_path, "w");

    fprintf(f,
            "{\"privacy\": {\"version\": \"1.0\","
            " \"en\": {\"name\": \"Privacy\", \"url\": "
            "\"https://id.test/privacy-1.0-en\"},"
            " \"fr\": {\"name\": \"Vie privee\", \"url\": "
            "\"https://id.test/privacy-1.0-fr\"}},"
            " \"tos\": {\"version\": \"%s\", \"en\": {\"name\": \"Terms\", "
            "\"url\": \"https://id.test/tos-%s-en\"}}}",
            tos_version, tos_version);
    fclose(f);
}

/* A request with a bearer token (NULL: none). @return status; errcode out. */
static long
call(const char *method,
     const char *path,
     const char *token,
     const char *body,
     const char **errcode,
     struct http_resp *keep)
{
    static char code[64];
    struct http_resp r;
    long st = http_call(&g, method, path, token, body, &r);

    snprintf(code, sizeof(code), "%s", http_resp_errcode(&r));
    if (errcode != NULL)
        *errcode = code;
    if (keep != NULL)
        *keep = r;
    else
        http_resp_free(&r);
    return st;
}

static void
start(const char *extra)
{
    char *conf = xasprintf("[general]\nterms = %s\n%s", terms_path,
                           extra != NULL ? extra : "");

    httptest_start(&g, conf);
    free(conf);
}

int
main(void)
{
    const char *code;
    struct http_resp r;
    char dir[] = "/tmp/glia-terms-http.XXXXXX";
    const char *acc = "/_matrix/identity/v2/account";
    const char *terms = "/_matrix/identity/v2/terms";

    plan_no_plan();
    pgtest_reset();
    if (mkdtemp(dir) == NULL)
        skip_all("mkdtemp failed");
    snprintf(terms_path, sizeof(terms_path), "%s/terms.json", dir);
    write_terms("2");
    httptest_seed_account("@alice:hs.test", "alicetoken");
    httptest_seed_account("@bob:hs.test", "bobtoken");
    start(NULL);

    /* GET /terms needs no token. */
    is_int(call("GET", terms, NULL, NULL, NULL, &r), 200, "GET /terms");
    ok(json_is_object(json_object_get(
           json_object_get(json_object_get(r.json, "policies"), "privacy"),
           "fr")),
       "policies as configured");
    http_resp_free(&r);

    /* The auth gate. */
    is_int(call("GET", acc, NULL, NULL, &code, NULL), 401, "no token: 401");
    is_str(code, "M_UNAUTHORIZED", "M_UNAUTHORIZED");
    is_int(call("GET", acc, "wrongtoken", NULL, &code, NULL), 401,
           "unknown token: 401");
    is_str(code, "M_UNAUTHORIZED", "M_UNAUTHORIZED");
    {
        const char *hdrs[] = {"Authorization: Basic YWxpY2U6cHc=", NULL};

        http_request(g.base, "GET", acc, NULL, 0, hdrs, &r);
        is_int(r.status, 401, "Basic auth is not a token");
        http_resp_free(&r);
    }

    /* Terms: none accepted, some, all (across calls, mixed languages). */
    is_int(call("GET", acc, "alicetoken", NULL, &code, NULL), 403,
           "no terms accepted: 403");
    is_str(code, "M_TERMS_NOT_SIGNED", "M_TERMS_NOT_SIGNED");
    is_int(call("POST", terms, NULL, "{\"user_accepts\":[]}", &code, NULL), 401,
           "POST /terms needs a token");
    is_int(call("POST", terms, "alicetoken",
                "{\"user_accepts\":[\"https://id.test/privacy-1.0-fr\"]}", NULL,
                NULL),
           200, "accept privacy in French");
    is_int(call("GET", acc, "alicetoken", NULL, &code, NULL), 403,
           "one of two policies: still 403");
    is_int(call("POST", terms, "alicetoken",
                "{\"user_accepts\":[\"https://id.test/tos-2-en\","
                "\"https://other.example/unknown\"]}",
                NULL, NULL),
           200, "accept tos in English (an unknown URL is ignored)");
    is_int(call("GET", acc, "alicetoken", NULL, NULL, &r), 200,
           "all policies accepted: GET /account works");
    is_str(json_string_value(json_object_get(r.json, "user_id")),
           "@alice:hs.test", "user_id");
    http_resp_free(&r);
    is_int(call("POST", terms, "alicetoken", "{\"user_accepts\":\"x\"}", &code,
                NULL),
           400, "user_accepts must be a list");
    is_str(code, "M_INVALID_PARAM", "M_INVALID_PARAM");
    is_int(call("POST", terms, "alicetoken", "{}", &code, NULL), 400,
           "user_accepts is required");
    is_str(code, "M_MISSING_PARAMS", "M_MISSING_PARAMS");

    /* The query-string token (Synapse's /hash_details), on GET only. */
    {
        char *path = xasprintf("%s?access_token=alicetoken", acc);

        is_int(call("GET", path, NULL, NULL, NULL, NULL), 200,
               "?access_token= accepted on GET");
        ok(httptest_log_contains(&g, "access token in the query string"),
           "and its use is logged");
        ok(!httptest_log_contains(&g, "alicetoken"), "without the token");
        free(path);
        path = xasprintf("%s/logout?access_token=bobtoken", acc);
        is_int(call("POST", path, NULL, NULL, &code, NULL), 401,
               "but not on POST");
        free(path);
    }

    /* Logout: not terms-gated, body optional, spec's M_UNKNOWN_TOKEN. */
    is_int(call("POST", "/_matrix/identity/v2/account/logout", "bobtoken", NULL,
                NULL, NULL),
           200, "bob logs out without a body (terms not accepted)");
    is_int(call("GET", acc, "bobtoken", NULL, &code, NULL), 401,
           "bob's token is revoked");
    is_int(call("POST", "/_matrix/identity/v2/account/logout", "bobtoken", "{}",
                &code, NULL),
           401, "logging out again: 401");
    is_str(code, "M_UNKNOWN_TOKEN", "M_UNKNOWN_TOKEN");
    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit");

    /* A new version of a policy re-gates everyone until accepted. */
    write_terms("3");
    httptest_restart(&g);
    is_int(call("GET", acc, "alicetoken", NULL, &code, NULL), 403,
           "new tos version: 403 again");
    is_str(code, "M_TERMS_NOT_SIGNED", "M_TERMS_NOT_SIGNED");
    is_int(call("POST", terms, "alicetoken",
                "{\"user_accepts\":[\"https://id.test/tos-2-en\"]}", NULL,
                NULL),
           200, "accepting the old version's URL");
    is_int(call("GET", acc, "alicetoken", NULL, NULL, NULL), 403,
           "does not count");
    is_int(call("POST", terms, "alicetoken",
                "{\"user_accepts\":[\"https://id.test/tos-3-en\"]}", NULL,
                NULL),
           200, "accept the new version");
    is_int(call("GET", acc, "alicetoken", NULL, NULL, NULL), 200,
           "privacy 1.0 still counts: 200");
    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit");
    httptest_cleanup(&g);

    /* No terms configured: nothing to accept; query tokens switched off. */
    httptest_seed_account("@carol:hs.test", "caroltoken");
    httptest_start(&g, "[http]\nallow_query_access_token = false\n");
    is_int(call("GET", terms, NULL, NULL, NULL, &r), 200, "GET /terms");
    is_str(r.body, "{\"policies\":{}}", "no policies");
    http_resp_free(&r);
    is_int(call("GET", acc, "caroltoken", NULL, NULL, NULL), 200,
           "no terms: never gated");
    {
        char *path = xasprintf("%s?access_token=caroltoken", acc);

        is_int(call("GET", path, NULL, NULL, NULL, NULL), 401,
               "query token refused when switched off");
        free(path);
    }
    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit");
    httptest_cleanup(&g);
    unlink(terms_path);
    rmdir(dir);
    return done_testing();
}
