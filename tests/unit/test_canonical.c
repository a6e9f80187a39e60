/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests for the canonical JSON encoder (src/json/canonical.c): the spec
 * appendix examples, escaping, key order, number rules, UTF-8 validation and
 * the depth cap, then every vector in tests/vectors/canonical.json, which
 * was produced by the Python reference implementation that Synapse and
 * Sydent sign with.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json/cjson.h"
#include "tap.h"
#include "util/mem.h"

/* Render bytes printably for diagnostics (NUL and controls as \xNN). */
static char *
printable(const char *s, size_t len)
{
    char *out = xmalloc(len * 4 + 1);
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7F) {
            snprintf(out + o, 5, "\\x%02x", c);
            o += 4;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

/* ok() on a byte-exact comparison; both may contain NUL. */
static void
is_bytes(const char *got,
         size_t glen,
         const char *want,
         size_t wlen,
         const char *name)
{
    bool same = got != NULL && glen == wlen && memcmp(got, want, wlen) == 0;

    ok(same, "%s", name);
    if (!same) {
        char *w = printable(want, wlen);

        if (got == NULL) {
            diag("  got:      NULL");
        } else {
            char *g = printable(got, glen);

            diag("  got:      %s", g);
            free(g);
        }
        diag("  expected: %s", w);
        free(w);
    }
}

/* Encode a value (stealing it) and compare with the expected text. */
static void
check_value(json_t *v, const char *want, size_t wlen, const char *name)
{
    size_t len = 0;
    char *got = cjson_encode(v, &len);

    is_bytes(got, len, want, wlen, name);
    free(got);
    json_decref(v);
}

/* Parse JSON text, encode it, compare with the expected text. */
static void
check_text(const char *in, const char *want, const char *name)
{
    json_error_t err;
    json_t *v = json_loads(in, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

    if (v == NULL) {
        ok(false, "%s (parse: %s)", name, err.text);
        return;
    }
    check_value(v, want, strlen(want), name);
}

/* Expect cjson_encode() to refuse a value (stolen). */
static void
check_reject(json_t *v, const char *name)
{
    size_t len = 12345;
    char *got = cjson_encode(v, &len);

    ok(got == NULL && len == 12345, "rejects %s", name);
    free(got);
    json_decref(v);
}

static void
test_appendix(void)
{
    check_text("{}", "{}", "appendix: {}");
    check_text("{\"one\": 1, \"two\": \"Two\"}", "{\"one\":1,\"two\":\"Two\"}",
               "appendix: one/two unchanged");
    check_text("{\"b\": \"2\", \"a\": \"1\"}", "{\"a\":\"1\",\"b\":\"2\"}",
               "appendix: b,a sorted");
    check_text("{\"\xe6\x9c\xac\": 2, \"\xe6\x97\xa5\": 1}",
               "{\"\xe6\x97\xa5\":1,\"\xe6\x9c\xac\":2}",
               "appendix: CJK keys by code point");
    check_text("{\"a\": \"\\u65E5\"}", "{\"a\":\"\xe6\x97\xa5\"}",
               "appendix: \\u65E5 decodes to raw UTF-8");
    check_text("{\"a\": null}", "{\"a\":null}", "appendix: null");
    check_text("{\"a\": -0, \"b\": 1e10}", "{\"a\":0,\"b\":10000000000}",
               "appendix: -0 and 1e10");
    check_text("{\"auth\": {\"success\": true, \"mxid\": "
               "\"@john.doe:example.com\", \"profile\": {\"display_name\": "
               "\"John Doe\", \"three_pids\": [{\"medium\": \"email\", "
               "\"address\": \"john.doe@example.org\"}, {\"medium\": "
               "\"msisdn\", \"address\": \"123456789\"}]}}}",
               "{\"auth\":{\"mxid\":\"@john.doe:example.com\",\"profile\":{"
               "\"display_name\":\"John Doe\",\"three_pids\":[{\"address\":"
               "\"john.doe@example.org\",\"medium\":\"email\"},{\"address\":"
               "\"123456789\",\"medium\":\"msisdn\"}]},\"success\":true}}",
               "appendix: nested auth, arrays keep order");
}

static void
test_strings(void)
{
    char all[32];
    const char *want_all =
        "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n"
        "\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014"
        "\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
        "\\u001e\\u001f\"";

    for (int i = 0; i < 32; i++)
        all[i] = (char)i;
    check_value(json_stringn(all, sizeof(all)), want_all, strlen(want_all),
                "every control character, lowercase \\u00xx");
    check_value(json_stringn("a\0b", 3), "\"a\\u0000b\"", 10,
                "NUL inside a string");
    check_value(json_stringn("\0", 1), "\"\\u0000\"", 8, "string of one NUL");
    check_text("[\"\\\"\", \"\\\\\", \"/\", \"\\/\"]",
               "[\"\\\"\",\"\\\\\",\"/\",\"/\"]",
               "quote and backslash escaped, slash raw");
    check_text("\"\\u007f\\u0080\\u00e9\\u2028\"",
               "\"\x7f\xc2\x80\xc3\xa9\xe2\x80\xa8\"",
               "DEL, C1, e-acute, U+2028 raw");
    check_text("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"",
               "surrogate pair escape decodes to raw emoji");
    check_text("\"\xf4\x8f\xbf\xbf\xef\xbf\xbf\"",
               "\"\xf4\x8f\xbf\xbf\xef\xbf\xbf\"", "U+10FFFF and U+FFFF raw");
    check_text("\"\"", "\"\"", "empty string");
}

static void
test_keys(void)
{
    const char *nul_keys = "{\"a\":1,\"a\\u0000\":2,\"a\\u0000b\":3}";
    json_t *o;

    check_text("{\"aa\":1,\"a\":2,\"\":3,\"ab\":4,\"a0\":5,\"B\":6}",
               "{\"\":3,\"B\":6,\"a\":2,\"a0\":5,\"aa\":1,\"ab\":4}",
               "prefix keys: shorter first, bytewise");
    /* z (7A) < e-acute (C3 A9) < U+65E5 (E6) < U+1F600 (F0). */
    check_text("{\"\xf0\x9f\x98\x80\":4,\"\xe6\x97\xa5\":3,\"\xc3\xa9\":2,"
               "\"z\":1}",
               "{\"z\":1,\"\xc3\xa9\":2,\"\xe6\x97\xa5\":3,"
               "\"\xf0\x9f\x98\x80\":4}",
               "non-ASCII keys in code point order");
    check_text("{\"\\u0001\":1,\"\\n\":2,\"\\\"\":3}",
               "{\"\\u0001\":1,\"\\n\":2,\"\\\"\":3}",
               "keys are escaped like strings");

    /* Keys with NUL, which only the *n API can make. */
    o = json_object();
    json_object_setn_new(o, "a\0b", 3, json_integer(3));
    json_object_setn_new(o, "a", 1, json_integer(1));
    json_object_setn_new(o, "a\0", 2, json_integer(2));
    check_value(o, nul_keys, strlen(nul_keys),
                "keys containing NUL sort by length after the prefix");

    check_text("{\"b\":[{\"d\":1,\"c\":[3,2,{\"f\":0,\"e\":0}]}],\"a\":{}}",
               "{\"a\":{},\"b\":[{\"c\":[3,2,{\"e\":0,\"f\":0}],\"d\":1}]}",
               "nested objects sorted, arrays not");
}

static void
test_numbers(void)
{
    check_value(json_integer(CJSON_INT_MAX), "9007199254740991", 16,
                "2^53-1 accepted");
    check_value(json_integer(CJSON_INT_MIN), "-9007199254740991", 17,
                "-(2^53)+1 accepted");
    check_reject(json_integer(CJSON_INT_MAX + 1), "2^53");
    check_reject(json_integer(CJSON_INT_MIN - 1), "-(2^53)");
    check_reject(json_integer(LLONG_MAX), "INT64_MAX");
    check_reject(json_integer(LLONG_MIN), "INT64_MIN");
    check_value(json_real(1e10), "10000000000", 11, "real 1e10 as integer");
    check_value(json_real(-0.0), "0", 1, "real -0.0 as 0");
    check_value(json_real(-42.0), "-42", 3, "real -42.0 as -42");
    check_value(json_real(9007199254740991.0), "9007199254740991", 16,
                "real 2^53-1 accepted");
    check_reject(json_real(9007199254740992.0), "real 2^53");
    check_reject(json_real(-9007199254740992.0), "real -(2^53)");
    check_reject(json_real(1.5), "real 1.5");
    check_reject(json_real(0.1), "real 0.1");
    check_reject(json_real(-1e-300), "real -1e-300");
    check_reject(json_real(1e300), "real 1e300");
    check_text("[0,-1,10,true,false,null]", "[0,-1,10,true,false,null]",
               "literals and small integers");
    check_reject(json_pack("{s:[i,{s:f}]}", "a", 1, "b", 0.5),
                 "non-integral real nested deep");
}

static void
test_utf8(void)
{
    static const struct {
        const char *s;
        size_t len;
        const char *name;
    } bad[] = {
        {"\xff", 1, "byte FF"},
        {"\x80", 1, "lone continuation byte"},
        {"\xc0\x80", 2, "overlong NUL"},
        {"\xc1\xbf", 2, "overlong 2-byte"},
        {"\xe0\x9f\xbf", 3, "overlong 3-byte"},
        {"\xf0\x8f\xbf\xbf", 4, "overlong 4-byte"},
        {"\xed\xa0\x80", 3, "UTF-16 surrogate D800"},
        {"\xed\xbf\xbf", 3, "UTF-16 surrogate DFFF"},
        {"\xf4\x90\x80\x80", 4, "above U+10FFFF"},
        {"\xf5\x80\x80\x80", 4, "lead byte F5"},
        {"\xe6\x97", 2, "truncated 3-byte at end"},
        {"\xe6\x97x", 3, "truncated 3-byte before ASCII"},
        {"a\xc3", 2, "truncated 2-byte at end"},
        {"\xc3\xc3", 2, "lead byte where continuation expected"},
    };
    json_t *o;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_reject(json_stringn_nocheck(bad[i].s, bad[i].len), bad[i].name);
    o = json_object();
    json_object_set_new_nocheck(o, "\xff", json_true());
    check_reject(o, "invalid UTF-8 in a key");
    check_value(json_stringn_nocheck("\xed\x9f\xbf\xee\x80\x80", 6),
                "\"\xed\x9f\xbf\xee\x80\x80\"", 8,
                "U+D7FF and U+E000 around the surrogates");
}

/* n nested arrays around 1, or objects {"a": ...}. */
static json_t *
nest(int n, bool objects)
{
    json_t *v = json_integer(1);

    for (int i = 0; i < n; i++) {
        json_t *c;

        if (objects) {
            c = json_object();
            json_object_set_new(c, "a", v);
        } else {
            c = json_array();
            json_array_append_new(c, v);
        }
        v = c;
    }
    return v;
}

static void
test_depth(void)
{
    char *s;
    size_t len = 0;
    json_t *v;

    v = nest(CJSON_MAX_DEPTH, false);
    s = cjson_encode(v, &len);
    ok(s != NULL && len == 2 * CJSON_MAX_DEPTH + 1, "%d nested arrays ok",
       CJSON_MAX_DEPTH);
    free(s);
    json_decref(v);
    check_reject(nest(CJSON_MAX_DEPTH + 1, false), "arrays one too deep");
    v = nest(CJSON_MAX_DEPTH, true);
    s = cjson_encode(v, NULL);
    ok(s != NULL, "%d nested objects ok", CJSON_MAX_DEPTH);
    free(s);
    json_decref(v);
    check_reject(nest(CJSON_MAX_DEPTH + 1, true), "objects one too deep");
    check_reject(nest(5000, false), "5000 nested arrays");
}

static void
test_signable(void)
{
    json_t *v = json_pack("{s:i,s:{s:{s:s}},s:{s:i},s:{s:o,s:{}}}", "b", 1,
                          "signatures", "x", "k", "sig", "unsigned", "age", 5,
                          "a", "signatures", json_true(), "unsigned");
    char *s;
    size_t len = 0;

    s = cjson_encode_signable(v, &len);
    is_str(s, "{\"a\":{\"signatures\":true,\"unsigned\":{}},\"b\":1}",
           "signable drops top-level signatures/unsigned only");
    ok(s != NULL && len == strlen(s), "signable sets length");
    free(s);
    json_decref(v);
    v = json_array();
    ok(cjson_encode_signable(v, NULL) == NULL, "signable rejects an array");
    json_decref(v);
    ok(cjson_encode_signable(NULL, NULL) == NULL, "signable rejects NULL");
    ok(cjson_encode(NULL, NULL) == NULL, "encode rejects NULL");
}

/* Big inputs: mostly to show the encoder is not quadratic under ASan. */
static void
test_big(void)
{
    json_t *arr = json_array();
    json_t *obj = json_object();
    char key[32];
    char *s;
    size_t len = 0;
    char *big = xmalloc(1 << 20);

    for (int i = 0; i < 100000; i++)
        json_array_append_new(arr, json_integer(i));
    for (int i = 99999; i >= 0; i--) {
        snprintf(key, sizeof(key), "k%06d", i);
        json_object_set_new(obj, key, json_true());
    }
    s = cjson_encode(arr, &len);
    ok(s != NULL && strncmp(s, "[0,1,2,", 7) == 0 && s[len - 1] == ']',
       "100000-element array");
    free(s);
    s = cjson_encode(obj, &len);
    ok(s != NULL && strncmp(s, "{\"k000000\":true,\"k000001\":", 26) == 0,
       "100000-key object sorted");
    free(s);
    memset(big, '\n', 1 << 20);
    json_decref(arr);
    arr = json_stringn(big, 1 << 20);
    s = cjson_encode(arr, &len);
    ok(s != NULL && len == 2 * (1 << 20) + 2, "1 MiB string of escapes");
    free(s);
    free(big);
    json_decref(arr);
    json_decref(obj);
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

static void
test_vectors(void)
{
    char *path = vector_path("canonical.json");
    json_error_t err;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &err);
    json_t *valid = json_object_get(root, "valid");
    json_t *reject = json_object_get(root, "reject");
    size_t i;
    json_t *c;

    if (!ok(json_array_size(valid) > 200 && json_array_size(reject) > 10,
            "load %s", path)) {
        diag("  %s:%d: %s", path, err.line, err.text);
        free(path);
        json_decref(root);
        return;
    }
    json_array_foreach(valid, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *in = json_object_get(c, "input");
        json_t *want = json_object_get(c, "canonical");
        json_t *v = json_loadb(json_string_value(in), json_string_length(in),
                               JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        char *got;
        size_t len = 0;
        char *label;

        if (v == NULL) {
            ok(false, "vector %s: parse: %s", name, err.text);
            continue;
        }
        got = cjson_encode(v, &len);
        label = xasprintf("vector: %s", name);
        is_bytes(got, len, json_string_value(want), json_string_length(want),
                 label);
        free(label);
        json_decref(v);
        /* Canonical output is a fixed point of parse + encode. */
        v = json_loadb(got != NULL ? got : "", len,
                       JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        free(got);
        got = cjson_encode(v, &len);
        label = xasprintf("vector: %s (idempotent)", name);
        is_bytes(got, len, json_string_value(want), json_string_length(want),
                 label);
        free(label);
        free(got);
        json_decref(v);
    }
    json_array_foreach(reject, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *in = json_object_get(c, "input");
        json_t *v = json_loadb(json_string_value(in), json_string_length(in),
                               JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

        if (v == NULL) {
            ok(false, "reject vector %s: parse: %s", name, err.text);
            continue;
        }
        check_reject(v, name);
    }
    json_decref(root);
    free(path);
}

int
main(void)
{
    plan_no_plan();
    test_appendix();
    test_strings();
    test_keys();
    test_numbers();
    test_utf8();
    test_depth();
    test_signable();
    test_big();
    test_vectors();
    return done_testing();
}
