/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Hostile and broken requests against the real daemon. Each must get a clear
 * answer (or a closed connection) and none may crash it or leak: the daemon
 * must still answer afterwards and exit cleanly, also under ASan/UBSan.
 */
#include "httptest.h"
#include "tap.h"
#include "util/buf.h"
#include "util/mem.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static struct glia_proc g;

/* Send raw bytes; @return the status code of the reply, 0 if none. */
static int
raw_status(const char *data, size_t len)
{
    char *reply = http_raw(&g, data, len, 5000);
    int status = 0;

    if (strncmp(reply, "HTTP/1.", 7) == 0 && strlen(reply) > 12)
        status = atoi(reply + 9);
    free(reply);
    return status;
}

static int
raw_text(const char *text)
{
    return raw_status(text, strlen(text));
}

static void
still_alive(const char *after)
{
    struct http_resp r;

    http_get(&g, "/_matrix/identity/versions", &r);
    ok(r.status == 200, "still serving after %s", after);
    http_resp_free(&r);
}

/* POST body to path; @return status, with the errcode in code. */
static long
post_raw(
    const char *path, const char *body, size_t len, char *code, size_t codelen)
{
    struct http_resp r;
    long st;

    http_request(g.base, "POST", path, body, len, NULL, &r);
    st = r.status;
    snprintf(code, codelen, "%s", http_resp_errcode(&r));
    http_resp_free(&r);
    return st;
}

static void
expect_body(const char *path,
            const char *body,
            size_t len,
            long status,
            const char *errcode,
            const char *name)
{
    char code[64];
    long st = post_raw(path, body, len, code, sizeof(code));

    ok(st == status && strcmp(code, errcode) == 0, "%s: %ld %s", name, status,
       errcode);
    if (st != status || strcmp(code, errcode) != 0)
        diag("got %ld %s", st, code);
}

/* Broken, hostile and oversized JSON bodies on real POST routes. */
static void
json_bodies(void)
{
    const char *reg = "/_matrix/identity/v2/account/register";
    const char *terms = "/_matrix/identity/v2/terms";
    size_t n;
    char *big;

    expect_body(reg, "", 0, 400, "M_NOT_JSON", "empty body");
    expect_body(reg, "{", 1, 400, "M_NOT_JSON", "truncated JSON");
    expect_body(reg, "{\"a\":}", 6, 400, "M_NOT_JSON", "broken JSON");
    expect_body(reg, "hello", 5, 400, "M_NOT_JSON", "plain text");
    expect_body(reg, "[]", 2, 400, "M_BAD_JSON", "an array");
    expect_body(reg, "42", 2, 400, "M_BAD_JSON", "a number");
    expect_body(reg, "null", 4, 400, "M_BAD_JSON", "null");
    expect_body(reg, "{\"a\":\"\\u0000\"}", 13, 400, "M_NOT_JSON",
                "NUL escape in a string");
    expect_body(reg, "{\"a\":\"\xc3\x28\"}", 9, 400, "M_NOT_JSON",
                "invalid UTF-8");
    expect_body(reg, "{\"a\":1,\"a\":2}", 13, 400, "M_NOT_JSON",
                "duplicate keys");
    expect_body(reg, "{\"a\":1}\x00", 8, 400, "M_NOT_JSON",
                "trailing NUL byte");
    expect_body(reg, "{}", 2, 400, "M_MISSING_PARAMS",
                "valid JSON, missing fields");
    expect_body(reg, "{\"access_token\":{},\"matrix_server_name\":1}", 42, 400,
                "M_INVALID_PARAM", "wrong types");
    expect_body(terms, "{", 1, 400, "M_NOT_JSON",
                "body errors come before auth errors");

    /* 100 000 levels of nesting: refused, no stack overflow. */
    n = 100000;
    big = xmalloc(2 * n + 1);
    memset(big, '[', n);
    memset(big + n, ']', n);
    expect_body(reg, big, 2 * n, 400, "M_NOT_JSON", "100000-deep arrays");
    free(big);
    n = 3000;
    {
        struct buf b;

        buf_init(&b, 1u << 20);
        for (size_t i = 0; i < n; i++)
            buf_puts(&b, "{\"a\":");
        buf_puts(&b, "1");
        for (size_t i = 0; i < n; i++)
            buf_puts(&b, "}");
        expect_body(reg, b.data, b.len, 400, "M_NOT_JSON",
                    "3000-deep objects (over jansson's 2048 limit)");
        buf_free(&b);
    }

    /* Over [http] max_body_size (1 MiB by default). */
    n = 2u << 20;
    big = xmalloc(n);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    expect_body(reg, big, n, 413, "M_TOO_LARGE", "2 MiB body");
    {
        /* Chunked, so no Content-Length warns us: caught while reading. */
        const char *hdrs[] = {"Transfer-Encoding: chunked", NULL};
        struct http_resp r;

        http_request(g.base, "POST", reg, big, n, hdrs, &r);
        ok(r.status == 413 && strcmp(http_resp_errcode(&r), "M_TOO_LARGE") == 0,
           "2 MiB chunked body: 413 M_TOO_LARGE (%ld)", r.status);
        http_resp_free(&r);
    }
    free(big);
    /* Just under the cap, many keys: parsed, then rejected for content. */
    {
        struct buf b;

        buf_init(&b, 1u << 20);
        buf_puts(&b, "{");
        for (int i = 0; b.len < 1000000; i++)
            buf_printf(&b, "\"k%d\":%d,", i, i);
        buf_puts(&b, "\"z\":0}");
        expect_body(reg, b.data, b.len, 400, "M_MISSING_PARAMS",
                    "1 MB object with 80 000 keys");
        buf_free(&b);
    }
    {
        char *junk = xmalloc(65536);

        for (size_t i = 0; i < 65536; i++)
            junk[i] = (char)(i * 7919 % 256);
        expect_body(reg, junk, 65536, 400, "M_NOT_JSON", "64 KiB of noise");
        free(junk);
    }
    still_alive("malformed JSON bodies");
}

int
main(void)
{
    struct http_resp r;
    char *big;
    int st;

    plan_no_plan();
    httptest_start(&g, NULL);

    /* Request lines curl would never send. */
    st = raw_text("GARBAGE\r\n\r\n");
    ok(st == 400 || st == 0, "garbage request line: 400 or closed (%d)", st);
    st = raw_status("\x00\x01\x02\xff\r\n\r\n", 8);
    ok(st == 400 || st == 0, "binary junk: 400 or closed (%d)", st);
    st = raw_text("GET / HTTP/9.9\r\n\r\n");
    ok(st >= 400 || st == 0, "unknown HTTP version refused (%d)", st);
    st = raw_text("GET /_matrix/identity/versions HTTP/1.1\r\nHost: x\r\n"
                  "Bad header line\r\n\r\n");
    ok(st == 400 || st == 200 || st == 0, "header without colon (%d)", st);
    st =
        raw_text("BREW /_matrix/identity/versions HTTP/1.1\r\nHost: x\r\n\r\n");
    is_int(st, 405, "unknown method on a known path: 405");
    st = raw_text("GET /_matrix/identity/versions HTTP/1.1\r\nHost: x\r\n"
                  "Content-Length: -5\r\n\r\n");
    ok(st == 400 || st == 0 || st == 200, "negative Content-Length (%d)", st);
    still_alive("malformed request lines");

    /* Enormous URI and headers: refused by the connection memory cap. */
    big = xmalloc(200 * 1024);
    memset(big, 'a', 200 * 1024 - 1);
    big[200 * 1024 - 1] = '\0';
    {
        char *req = xasprintf("GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", big);

        st = raw_status(req, strlen(req));
        ok(st == 414 || st == 431 || st == 400 || st == 0,
           "200 KiB URI refused (%d)", st);
        free(req);
        req = xasprintf("GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", big);
        st = raw_status(req, strlen(req));
        ok(st == 431 || st == 400 || st == 413 || st == 0,
           "200 KiB header refused (%d)", st);
        free(req);
    }
    free(big);
    still_alive("huge URI and headers");

    /* Odd paths. */
    http_get(&g, "/_matrix/identity/v2/pubkey/%00", &r);
    ok(r.status == 404, "NUL in a path parameter: 404 (%ld)", r.status);
    http_resp_free(&r);
    http_get(&g, "/_matrix/identity/v2/pubkey/..%2F..%2Fetc%2Fpasswd", &r);
    ok(r.status == 404, "path traversal attempt: 404 (%ld)", r.status);
    http_resp_free(&r);
    http_get(&g, "/_matrix//identity/versions", &r);
    is_int(r.status, 404, "double slash is another path");
    http_resp_free(&r);
    http_get(&g, "/_matrix/identity/v2/pubkey/isvalid?public_key=%ZZ&x", &r);
    ok(r.status == 200 || r.status == 400, "bad percent-escape (%ld)",
       r.status);
    http_resp_free(&r);
    still_alive("odd paths");

    /* Bodies sent to routes without one. */
    big = xmalloc(4u << 20);
    memset(big, '{', 4u << 20);
    http_request(g.base, "POST", "/_matrix/identity/versions", big, 4u << 20,
                 NULL, &r);
    is_int(r.status, 405, "4 MiB body to a GET route: 405");
    http_resp_free(&r);
    http_request(g.base, "GET", "/_matrix/identity/versions", big, 4u << 20,
                 NULL, &r);
    ok(r.status == 200 || r.status == 413 || r.status == 0,
       "GET with a 4 MiB body answered (%ld)", r.status);
    http_resp_free(&r);
    free(big);
    /* A client that declares a body and sends only part of it, then leaves. */
    st = raw_text("GET /_matrix/identity/versions HTTP/1.1\r\nHost: x\r\n"
                  "Content-Length: 100000\r\n\r\n{\"a\":");
    ok(st == 0 || st == 200 || st == 400, "truncated body (%d)", st);
    still_alive("bodies on GET routes");

    json_bodies();

    /* Many requests on one keep-alive connection, pipelined. */
    {
        struct buf b;
        char *reply;
        int count = 0;

        buf_init(&b, 1u << 20);
        for (int i = 0; i < 50; i++)
            buf_puts(&b, "GET /_matrix/identity/versions HTTP/1.1\r\n"
                         "Host: x\r\n\r\n");
        reply = http_raw(&g, b.data, b.len, 5000);
        for (char *p = strstr(reply, "HTTP/1.1 200"); p != NULL;
             p = strstr(p + 1, "HTTP/1.1 200"))
            count++;
        is_int(count, 50, "50 pipelined requests, 50 answers");
        free(reply);
        buf_free(&b);
    }

    is_int(httptest_stop(&g, SIGTERM), 0,
           "clean exit (no crash, no leak under ASan)");
    httptest_cleanup(&g);
    return done_testing();
}
