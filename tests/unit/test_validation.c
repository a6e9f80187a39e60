/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Validation argument checks, without a server. */
#include "httpd/handlers.h"
#include "httpd/validation.h"
#include "tap.h"

#include <string.h>

static enum mxerr
req(const char *text, const char **bad)
{
    json_t *body = json_loads(text, 0, NULL);
    struct email_request_args a;
    enum mxerr e = email_request_args_parse(body, &a, bad);

    json_decref(body);
    return e;
}

int
main(void)
{
    const char *bad;
    int64_t n;
    json_t *v;

    plan_no_plan();
    ok(validation_id_valid("abc.DEF=ghi_jkl-0"), "full charset");
    ok(!validation_id_valid(""), "empty");
    ok(!validation_id_valid("a b"), "space");
    ok(!validation_id_valid("a/b"), "slash");
    {
        char long_id[300];

        memset(long_id, 'a', 256);
        long_id[256] = '\0';
        ok(!validation_id_valid(long_id), "256 characters");
        long_id[255] = '\0';
        ok(validation_id_valid(long_id), "255 characters");
    }

    ok(validation_next_link_ok("https://app.element.io/#/home", NULL),
       "https link");
    ok(validation_next_link_ok("http://localhost:8080/done?x=1", NULL),
       "http with port");
    ok(!validation_next_link_ok("file:///etc/passwd", NULL), "file:");
    ok(!validation_next_link_ok("javascript:alert(1)", NULL), "javascript:");
    ok(!validation_next_link_ok("https://user:pw@evil.example/", NULL),
       "credentials");
    ok(!validation_next_link_ok("https:\\\\evil.example", NULL), "backslashes");
    ok(!validation_next_link_ok("https://a.org/\nSet-Cookie: x", NULL),
       "control characters");
    ok(!validation_next_link_ok("https:///path", NULL), "no host");
    ok(validation_next_link_ok("https://app.element.io/x",
                               "app.element.io, .example.org"),
       "allow-list: exact host");
    ok(validation_next_link_ok("https://chat.example.org/x",
                               "app.element.io, .example.org"),
       "allow-list: sub-domain");
    ok(validation_next_link_ok("https://example.org/x", ".example.org"),
       "allow-list: the domain itself");
    ok(!validation_next_link_ok("https://evilexample.org/x", ".example.org"),
       "allow-list: a look-alike");
    ok(!validation_next_link_ok("https://evil.example/x", "app.element.io"),
       "allow-list: anything else");
    ok(!validation_next_link_ok("https://app.element.io.evil.example/",
                                "app.element.io"),
       "allow-list: suffix trick");

    v = json_integer(3);
    ok(validation_send_attempt(v, &n) && n == 3, "integer send_attempt");
    json_decref(v);
    v = json_string("7");
    ok(validation_send_attempt(v, &n) && n == 7, "digit string (sydent did)");
    json_decref(v);
    v = json_string("7x");
    ok(!validation_send_attempt(v, &n), "other strings refused");
    json_decref(v);
    v = json_real(1.5);
    ok(!validation_send_attempt(v, &n), "floats refused");
    json_decref(v);
    v = json_true();
    ok(!validation_send_attempt(v, &n), "booleans refused");
    json_decref(v);

    is_int(req("{\"client_secret\":\"s3cr3t\",\"email\":\"a@b.c\","
               "\"send_attempt\":1}",
               &bad),
           MXERR_NONE, "requestToken body");
    is_int(req("{\"email\":\"a@b.c\",\"send_attempt\":1}", &bad),
           MXERR_MISSING_PARAMS, "no client_secret");
    is_str(bad, "client_secret", "named");
    is_int(req("{\"client_secret\":\"s\",\"send_attempt\":1}", &bad),
           MXERR_MISSING_PARAMS, "no email");
    is_int(req("{\"client_secret\":\"s\",\"email\":\"a@b.c\"}", &bad),
           MXERR_MISSING_PARAMS, "no send_attempt");
    is_int(req("{\"client_secret\":\"bad secret\",\"email\":\"a@b.c\","
               "\"send_attempt\":1}",
               &bad),
           MXERR_INVALID_PARAM, "client_secret charset");
    is_int(
        req("{\"client_secret\":\"s\",\"email\":5,\"send_attempt\":1}", &bad),
        MXERR_INVALID_EMAIL, "email not a string");
    is_int(req("{\"client_secret\":\"s\",\"email\":\"a@b.c\","
               "\"send_attempt\":\"x\"}",
               &bad),
           MXERR_INVALID_PARAM, "send_attempt not a number");
    is_int(req("{\"client_secret\":\"s\",\"email\":\"a@b.c\","
               "\"send_attempt\":1,\"next_link\":5}",
               &bad),
           MXERR_INVALID_PARAM, "next_link not a string");
    is_int(req("{\"client_secret\":\"s\",\"email\":\"a@b.c\","
               "\"send_attempt\":1,\"next_link\":null}",
               &bad),
           MXERR_NONE, "next_link null is absent");
    return done_testing();
}
