/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The foundation endpoints against the real daemon: versions, status,
 * pubkey (v2 and legacy v1), CORS, 404/405, HEAD and OPTIONS.
 */
#include "crypto/crypto.h"
#include "httptest.h"
#include "tap.h"
#include "util/mem.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static struct glia_proc g;

static void
expect_error(const char *method,
             const char *path,
             long status,
             const char *errcode)
{
    struct http_resp r;

    http_request(g.base, method, path, NULL, 0, NULL, &r);
    ok(r.status == status && strcmp(http_resp_errcode(&r), errcode) == 0 &&
           json_is_string(json_object_get(r.json, "error")),
       "%s %s: %ld %s", method, path, status, errcode);
    if (r.status != status)
        diag("got %ld %s", r.status, r.body);
    http_resp_free(&r);
}

/* Ask isvalid about text (already URL-encoded as needed). */
static int
isvalid(const char *prefix, const char *encoded_key)
{
    struct http_resp r;
    char *path =
        xasprintf("%s/pubkey/isvalid?public_key=%s", prefix, encoded_key);
    int v = -1;

    http_get(&g, path, &r);
    if (r.status == 200 && json_is_boolean(json_object_get(r.json, "valid")))
        v = json_is_true(json_object_get(r.json, "valid")) ? 1 : 0;
    http_resp_free(&r);
    free(path);
    return v;
}

/* Percent-encode the characters of base64 that are special in a query. */
static char *
urlencode(const char *s)
{
    char *out = xmalloc(strlen(s) * 3 + 1);
    char *o = out;

    for (; *s != '\0'; s++) {
        if (*s == '+' || *s == '/' || *s == '=')
            o += sprintf(o, "%%%02X", (unsigned char)*s);
        else
            *o++ = *s;
    }
    *o = '\0';
    return out;
}

int
main(void)
{
    struct http_resp r;
    const char *prefixes[] = {"/_matrix/identity/v2",
                              "/_matrix/identity/api/v1"};
    char pk[64] = "";

    plan_no_plan();
    httptest_start(&g, NULL);

    http_get(&g, "/_matrix/identity/versions", &r);
    is_int(r.status, 200, "versions: 200");
    ok(json_is_array(json_object_get(r.json, "versions")), "versions list");
    ok(strstr(r.body, "\"v1.1\"") != NULL &&
           strstr(r.body, "\"r0.3.0\"") != NULL,
       "advertises v1.1 and r0.3.0");
    is_str(http_resp_header(&r, "Content-Type"), "application/json",
           "JSON content type");
    is_str(http_resp_header(&r, "Access-Control-Allow-Origin"), "*",
           "CORS on every response");
    http_resp_free(&r);

    http_request(g.base, "HEAD", "/_matrix/identity/versions", NULL, 0, NULL,
                 &r);
    ok(r.status == 200 && r.len == 0, "HEAD: 200, no body");
    http_resp_free(&r);

    for (int i = 0; i < 2; i++) {
        const char *p = prefixes[i];
        char *path;

        path = xasprintf("%s", p);
        http_get(&g, path, &r);
        ok(r.status == 200 && json_is_object(r.json) &&
               json_object_size(r.json) == 0,
           "GET %s: {}", p);
        http_resp_free(&r);
        free(path);

        path = xasprintf("%s/pubkey/ed25519:0", p);
        http_get(&g, path, &r);
        is_int(r.status, 200, "%s/pubkey/ed25519:0", p);
        ok(json_is_string(json_object_get(r.json, "public_key")),
           "public_key is a string");
        if (json_is_string(json_object_get(r.json, "public_key")))
            snprintf(pk, sizeof(pk), "%s",
                     json_string_value(json_object_get(r.json, "public_key")));
        http_resp_free(&r);
        free(path);

        path = xasprintf("%s/pubkey/ed25519%%3A0", p);
        http_get(&g, path, &r);
        ok(r.status == 200 && strstr(r.body, pk) != NULL,
           "%s: percent-encoded key id works", p);
        http_resp_free(&r);
        free(path);

        path = xasprintf("%s/pubkey/ed25519:1", p);
        expect_error("GET", path, 404, "M_NOT_FOUND");
        free(path);
    }
    is_int((long long)strlen(pk), 43, "public key is 43 characters of base64");
    {
        unsigned char raw[32];
        char *enc = urlencode(pk);
        char *urlsafe = b64_encode(raw, 0, true);
        char *padded = xasprintf("%s%%3D", enc);
        char *spaced = xstrdup(pk);
        long n = b64_decode(pk, strlen(pk), raw, sizeof(raw));

        free(urlsafe);
        urlsafe = b64_encode(raw, (size_t)n, true);
        for (char *s = spaced; *s != '\0'; s++)
            if (*s == '+')
                *s = ' ';
        for (int i = 0; i < 2; i++) {
            is_int(isvalid(prefixes[i], enc), 1, "%s isvalid: our key",
                   prefixes[i]);
            is_int(isvalid(prefixes[i], urlsafe), 1,
                   "%s isvalid: URL-safe alphabet", prefixes[i]);
            is_int(isvalid(prefixes[i], padded), 1, "%s isvalid: padded",
                   prefixes[i]);
        }
        /* An unencoded '+' arrives as a space. */
        {
            char *raw_plus = xstrdup(pk);

            is_int(isvalid(prefixes[0], raw_plus), 1,
                   "isvalid: unencoded '+' still recognised");
            free(raw_plus);
        }
        is_int(
            isvalid(prefixes[0], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            0, "isvalid: another key is not valid");
        is_int(isvalid(prefixes[0], "not-base64!"), 0,
               "isvalid: garbage is not valid");
        is_int(isvalid(prefixes[0], ""), 0, "isvalid: empty is not valid");
        free(enc);
        free(urlsafe);
        free(padded);
        free(spaced);
    }
    expect_error("GET", "/_matrix/identity/v2/pubkey/isvalid", 400,
                 "M_MISSING_PARAMS");

    expect_error("GET", "/_matrix/identity/v3", 404, "M_UNRECOGNIZED");
    expect_error("GET", "/", 404, "M_UNRECOGNIZED");
    expect_error("POST", "/_matrix/identity/versions", 405, "M_UNRECOGNIZED");
    expect_error("DELETE", "/_matrix/identity/v2/pubkey/ed25519:0", 405,
                 "M_UNRECOGNIZED");
    http_request(g.base, "PUT", "/_matrix/identity/v2", "{}", 2, NULL, &r);
    is_str(http_resp_header(&r, "Allow"), "GET, HEAD, OPTIONS",
           "405 carries an Allow header");
    http_resp_free(&r);

    {
        const char *hdrs[] = {"Origin: https://app.element.io",
                              "Access-Control-Request-Method: GET", NULL};

        http_request(g.base, "OPTIONS", "/_matrix/identity/v2/pubkey/isvalid",
                     NULL, 0, hdrs, &r);
        ok(r.status == 200 || r.status == 204, "OPTIONS preflight: 2xx");
        is_str(http_resp_header(&r, "Access-Control-Allow-Origin"), "*",
               "preflight allows any origin");
        ok(http_resp_header(&r, "Access-Control-Allow-Headers") != NULL &&
               strstr(http_resp_header(&r, "Access-Control-Allow-Headers"),
                      "Authorization") != NULL,
           "preflight allows the Authorization header");
        http_resp_free(&r);
        http_request(g.base, "OPTIONS", "/nope", NULL, 0, hdrs, &r);
        is_int(r.status, 404, "OPTIONS on an unknown path: 404");
        http_resp_free(&r);
    }

    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit on SIGTERM");
    httptest_cleanup(&g);
    return done_testing();
}
