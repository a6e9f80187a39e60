/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Body parsing into Matrix errors, and access-log redaction. */
#include "httpd/httpd.h"
#include "tap.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

static enum mxerr
parse(const char *s, bool empty_ok)
{
    json_t *v = NULL;
    enum mxerr e = http_parse_json_body(s, strlen(s), empty_ok, &v);

    if (e == MXERR_NONE && !json_is_object(v))
        e = MXERR_UNKNOWN; /* must never happen */
    json_decref(v);
    return e;
}

static const char *
redact(const char *target)
{
    static char out[256];

    http_redact_target(target, out, sizeof(out));
    return out;
}

int
main(void)
{
    char *deep;
    size_t depth = 100000;

    plan_no_plan();
    is_int(parse("{}", false), MXERR_NONE, "{} is fine");
    is_int(parse(" {\"a\": [1, {\"b\": null}]}\n", false), MXERR_NONE,
           "nested object is fine");
    is_int(parse("", false), MXERR_NOT_JSON, "empty body: M_NOT_JSON");
    is_int(parse("  \n", true), MXERR_NONE, "empty body where optional: {}");
    is_int(parse("{", false), MXERR_NOT_JSON, "truncated: M_NOT_JSON");
    is_int(parse("{\"a\":1}x", false), MXERR_NOT_JSON,
           "trailing garbage: M_NOT_JSON");
    is_int(parse("not json", false), MXERR_NOT_JSON, "text: M_NOT_JSON");
    is_int(parse("[]", false), MXERR_BAD_JSON, "array: M_BAD_JSON");
    is_int(parse("\"s\"", false), MXERR_BAD_JSON, "string: M_BAD_JSON");
    is_int(parse("null", false), MXERR_BAD_JSON, "null: M_BAD_JSON");
    is_int(parse("{\"a\":1,\"a\":2}", false), MXERR_NOT_JSON,
           "duplicate keys refused");
    is_int(parse("{\"a\":\"\\u0000\"}", false), MXERR_NOT_JSON,
           "NUL in a string refused");
    is_int(parse("{\"a\":\"\xff\"}", false), MXERR_NOT_JSON,
           "invalid UTF-8 refused");
    is_int(parse("{\"a\":NaN}", false), MXERR_NOT_JSON, "NaN refused");
    deep = xmalloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    is_int(parse(deep, false), MXERR_NOT_JSON,
           "100000-deep nesting refused without a crash");
    free(deep);

    {
        static const char *const names[] = {"a", "b", NULL};
        const char *a = NULL;
        const char *b = NULL;
        const char **const outs[] = {&a, &b};
        const char *bad = NULL;
        json_t *j = json_loads("{\"a\":\"x\",\"b\":\"y\"}", 0, NULL);

        is_int(http_body_strings(j, names, outs, &bad), MXERR_NONE,
               "body strings: both present");
        ok(a != NULL && b != NULL && strcmp(a, "x") == 0 &&
               strcmp(b, "y") == 0 && bad == NULL,
           "values read");
        json_decref(j);
        j = json_loads("{\"a\":\"x\"}", 0, NULL);
        is_int(http_body_strings(j, names, outs, &bad), MXERR_MISSING_PARAMS,
               "body strings: one missing");
        is_str(bad, "b", "names it");
        json_decref(j);
        j = json_loads("{\"a\":1,\"b\":\"y\"}", 0, NULL);
        is_int(http_body_strings(j, names, outs, &bad), MXERR_INVALID_PARAM,
               "body strings: not a string");
        is_str(bad, "a", "names it");
        json_decref(j);
    }
    is_str(redact("/_matrix/identity/v2"), "/_matrix/identity/v2",
           "no query: unchanged");
    is_str(redact("/x?access_token=secret"), "/x?access_token=_",
           "access_token redacted");
    is_str(redact("/x?sid=1&client_secret=s3cr3t&token=abc"),
           "/x?sid=1&client_secret=_&token=_", "secrets redacted, sid kept");
    is_str(redact("/x?public_key=abc&address=a%40b.c"),
           "/x?public_key=abc&address=_", "addresses redacted");
    is_str(redact("/x?flag&private_key=k"), "/x?flag&private_key=_",
           "valueless parameter kept");
    {
        char small[8];

        http_redact_target("/a/very/long/path?token=x", small, sizeof(small));
        is_str(small, "/a/very", "truncated to the buffer");
    }
    return done_testing();
}
