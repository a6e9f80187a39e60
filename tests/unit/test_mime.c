/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mail_normalise() and the template-variable helpers: line endings, the
 * 998-octet limit (quoted-printable re-encoding, checked by decoding with a
 * decoder written here), base64 parts, RFC 2047 header encoding (decoded
 * here too), added Date/Message-ID/MIME-Version, refusals, nested
 * multiparts and boundaries that appear in text.
 */
#include "mail/mail.h"
#include "tap.h"
#include "util/mem.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

/* ---- helpers ------------------------------------------------------------ */

static char *
norm(const char *msg, char **why)
{
    *why = NULL;
    return mail_normalise(msg, strlen(msg), "example.org", NULL, why);
}

/* Every line ends with CRLF, no bare CR or LF, no line over max octets,
 * nothing 8-bit. */
static bool
wire_clean(const char *s, size_t max)
{
    size_t col = 0;
    size_t len = strlen(s);
    size_t i;

    if (len < 2 || s[len - 2] != '\r' || s[len - 1] != '\n')
        return false;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x80)
            return false;
        if (c == '\r') {
            if (s[i + 1] != '\n')
                return false;
            if (col > max)
                return false;
            col = 0;
            i++;
            continue;
        }
        if (c == '\n')
            return false;
        col++;
    }
    return true;
}

/* Length of the longest line of s (CRLF-separated). */
static size_t
max_line(const char *s)
{
    size_t best = 0;

    while (*s != '\0') {
        const char *e = strstr(s, "\r\n");
        size_t n = e == NULL ? strlen(s) : (size_t)(e - s);

        if (n > best)
            best = n;
        if (e == NULL)
            break;
        s = e + 2;
    }
    return best;
}

/* Length of the longest line inside the header block (up to the first
 * empty line). */
static size_t
max_header_line(const char *s)
{
    const char *end = strstr(s, "\r\n\r\n");
    char *h = xstrndup(s, end == NULL ? strlen(s) : (size_t)(end - s));
    size_t m = max_line(h);

    free(h);
    return m;
}

/* The unfolded value of the first header field called name in the header
 * block of s, or NULL. Caller frees. */
static char *
header(const char *s, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = s;

    while (*p != '\0' && !(p[0] == '\r' && p[1] == '\n')) {
        const char *e = strstr(p, "\r\n");

        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            char *v = xmalloc(strlen(p) + 1);
            size_t o = 0;
            const char *q = p + nlen + 1;

            for (;;) {
                while (q < e)
                    v[o++] = *q++;
                q = e + 2;
                if (*q != ' ' && *q != '\t')
                    break;
                e = strstr(q, "\r\n");
            }
            v[o] = '\0';
            {
                size_t a = 0;

                while (v[a] == ' ' || v[a] == '\t')
                    a++;
                memmove(v, v + a, o - a + 1);
            }
            return v;
        }
        p = e + 2;
    }
    return NULL;
}

static int
hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode a quoted-printable body; hard line breaks become "\n". */
static char *
qp_decode(const char *s, size_t len)
{
    char *out = xmalloc(len + 1);
    size_t o = 0;
    size_t i = 0;

    while (i < len) {
        if (s[i] == '=' && i + 2 < len && s[i + 1] == '\r' &&
            s[i + 2] == '\n') {
            i += 3;
        } else if (s[i] == '=' && i + 2 < len && hexv(s[i + 1]) >= 0 &&
                   hexv(s[i + 2]) >= 0) {
            out[o++] = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
            i += 3;
        } else if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
            out[o++] = '\n';
            i += 2;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return out;
}

/* Decode RFC 2047 encoded-words in an unfolded header value; whitespace
 * between two adjacent encoded-words is dropped (RFC 2047 6.2). */
static char *
ew_decode(const char *v)
{
    size_t len = strlen(v);
    char *out = xmalloc(len * 2 + 1);
    size_t o = 0;
    size_t i = 0;
    bool prev_ew = false;
    size_t ws_start = 0;

    while (i < len) {
        if (v[i] == '=' && v[i + 1] == '?') {
            const char *cs = v + i + 2;
            const char *q1 = strchr(cs, '?');
            const char *q2 = q1 != NULL ? strchr(q1 + 1, '?') : NULL;
            const char *end = q2 != NULL ? strstr(q2 + 1, "?=") : NULL;

            if (end != NULL && q2 == q1 + 2) {
                char enc = q1[1];
                const char *t = q2 + 1;
                size_t tl = (size_t)(end - t);

                if (prev_ew)
                    o = ws_start; /* drop whitespace between encoded-words */
                if (enc == 'B' || enc == 'b') {
                    size_t bl = 0;

                    sodium_base642bin((unsigned char *)out + o, len, t, tl,
                                      NULL, &bl, NULL,
                                      sodium_base64_VARIANT_ORIGINAL);
                    o += bl;
                } else {
                    size_t k;

                    for (k = 0; k < tl; k++) {
                        if (t[k] == '_') {
                            out[o++] = ' ';
                        } else if (t[k] == '=' && k + 2 < tl + 1 &&
                                   hexv(t[k + 1]) >= 0 && hexv(t[k + 2]) >= 0) {
                            out[o++] =
                                (char)(hexv(t[k + 1]) * 16 + hexv(t[k + 2]));
                            k += 2;
                        } else {
                            out[o++] = t[k];
                        }
                    }
                }
                i = (size_t)(end - v) + 2;
                prev_ew = true;
                ws_start = o;
                while (i < len && (v[i] == ' ' || v[i] == '\t'))
                    out[o++] = v[i++];
                continue;
            }
        }
        if (v[i] != ' ' && v[i] != '\t')
            prev_ew = false;
        out[o++] = v[i++];
    }
    out[o] = '\0';
    return out;
}

/* Body of MIME part k (0-based) delimited by boundary b in s: the text
 * between the delimiter line and the CRLF before the next delimiter,
 * after the part's header block. Caller frees. */
static char *
part_body(const char *s, const char *b, int k)
{
    char delim[128];
    const char *p = s;
    const char *start;
    const char *end;
    int i;

    snprintf(delim, sizeof(delim), "\r\n--%s", b);
    for (i = 0; i <= k; i++) {
        p = strstr(p, delim);
        if (p == NULL)
            return NULL;
        p += strlen(delim);
    }
    start = strstr(p, "\r\n\r\n");
    if (start == NULL)
        return NULL;
    start += 4;
    end = strstr(start - 2, delim);
    if (end == NULL)
        return NULL;
    if (end < start)
        return xstrdup("");
    return xstrndup(start, (size_t)(end - start));
}

/* The header block of MIME part k, as part_body(). */
static char *
part_head(const char *s, const char *b, int k)
{
    char delim[128];
    const char *p = s;
    const char *end;
    int i;

    snprintf(delim, sizeof(delim), "\r\n--%s\r\n", b);
    for (i = 0; i <= k; i++) {
        p = strstr(p, delim);
        if (p == NULL)
            return NULL;
        p += strlen(delim);
    }
    end = strstr(p, "\r\n\r\n");
    if (end == NULL)
        return NULL;
    return xstrndup(p, (size_t)(end - p) + 4);
}

static char *
long_line(size_t n)
{
    /* 8-bit text: "Grüße, 日本語! " repeated, cut at a character boundary. */
    static const char unit[] = "Gr\xc3\xbc\xc3\x9f"
                               "e, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e! ";
    char *s = xmalloc(n + sizeof(unit));
    size_t o = 0;

    while (o < n) {
        memcpy(s + o, unit, sizeof(unit) - 1);
        o += sizeof(unit) - 1;
    }
    s[n] = '\0';
    /* back off to a character boundary */
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        s[--n] = '\0';
    return s;
}

static bool
lines_at_most(const char *s, size_t max)
{
    return max_line(s) <= max;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_line_endings(void)
{
    char *why;
    char *out = norm("From: a@example.org\nTo: b@example.org\r\n"
                     "Subject: hi\n\nline one\r\nline two\nlast",
                     &why);

    ok(out != NULL, "LF/mixed endings accepted: %s", why != NULL ? why : "");
    if (out == NULL)
        return;
    ok(wire_clean(out, 998), "every line CRLF, 7-bit, short");
    ok(strstr(out, "\r\n\r\nline one\r\nline two\r\nlast\r\n") != NULL,
       "body lines kept, CRLF, final CRLF added");
    free(out);
}

static void
test_long_single(void)
{
    char *line = long_line(5000);
    char *msg = xasprintf("From: a@example.org\nTo: b@example.org\n"
                          "Subject: long\nMIME-Version: 1.0\n"
                          "Content-Type: text/plain; charset=UTF-8\n\n"
                          "%s\nshort line\n",
                          line);
    char *why;
    char *out = norm(msg, &why);
    char *cte;
    char *body;
    char *dec;
    char *want;

    ok(out != NULL, "5000-octet 8-bit line: accepted %s",
       why != NULL ? why : "");
    if (out == NULL)
        goto done;
    ok(wire_clean(out, 76), "all lines at most 76 octets, 7-bit, CRLF");
    cte = header(out, "Content-Transfer-Encoding");
    is_str(cte, "quoted-printable", "CTE set to quoted-printable");
    free(cte);
    body = xstrdup(strstr(out, "\r\n\r\n") + 4);
    dec = qp_decode(body, strlen(body));
    want = xasprintf("%s\nshort line\n", line);
    is_str(dec, want, "QP decodes back to the original");
    free(want);
    free(dec);
    free(body);
    free(out);
done:
    free(msg);
    free(line);
}

static void
test_long_multipart(void)
{
    char *line = long_line(5000);
    char *html = xasprintf("<p style=\"x\">%s</p>", line);
    char *msg =
        xasprintf("From: a@example.org\nTo: b@example.org\nSubject: alt\n"
                  "MIME-Version: 1.0\nContent-Type: multipart/alternative;\n"
                  "\tboundary=\"BOUNDARY1234\"\n\n"
                  "--BOUNDARY1234\nContent-Type: text/plain; charset=UTF-8\n\n"
                  "%s\n"
                  "--BOUNDARY1234\nContent-Type: text/html; charset=UTF-8\n"
                  "Content-Transfer-Encoding: 8bit\n\n%s\n"
                  "--BOUNDARY1234--\n",
                  line, html);
    char *why;
    char *out = norm(msg, &why);
    int k;

    ok(out != NULL, "multipart with long 8-bit lines: accepted %s",
       why != NULL ? why : "");
    if (out == NULL)
        goto done;
    ok(wire_clean(out, 78), "multipart: all lines short, 7-bit, CRLF");
    for (k = 0; k < 2; k++) {
        char *head = part_head(out, "BOUNDARY1234", k);
        char *body = part_body(out, "BOUNDARY1234", k);
        char *dec = body != NULL ? qp_decode(body, strlen(body)) : NULL;

        ok(head != NULL &&
               strstr(head, "Content-Transfer-Encoding: quoted-printable") !=
                   NULL,
           "part %d: CTE quoted-printable", k);
        is_str(dec, k == 0 ? line : html, "part %d decodes to the original", k);
        ok(head != NULL &&
               strstr(head, "\r\nContent-Transfer-Encoding: "
                            "8bit") == NULL &&
               strncmp(head, "Content-Transfer-Encoding: 8bit", 30) != 0,
           "part %d: old CTE replaced, not repeated", k);
        free(head);
        free(body);
        free(dec);
    }
    ok(strstr(out, "\r\n--BOUNDARY1234--\r\n") != NULL, "close delimiter kept");
    free(out);
done:
    free(msg);
    free(html);
    free(line);
}

static void
test_base64(void)
{
    const char *b64 = "SGVsbG8sIHdvcmxkISBIZWxsbywgd29ybGQhIEhlbGxvLCB3b3JsZCEg"
                      "SGVsbG8sIHdv\ncmxkIQ==\n";
    char *msg = xasprintf("From: a@example.org\nTo: b@example.org\n"
                          "Content-Type: multipart/mixed; boundary=zz\n\n"
                          "--zz\nContent-Type: application/octet-stream\n"
                          "Content-Transfer-Encoding: base64\n\n%s"
                          "--zz--\n",
                          b64);
    char *why;
    char *out = norm(msg, &why);
    char *body;
    char *longb64;
    char *msg2;
    char *out2;

    ok(out != NULL, "base64 part accepted %s", why != NULL ? why : "");
    body = out != NULL ? part_body(out, "zz", 0) : NULL;
    is_str(body,
           "SGVsbG8sIHdvcmxkISBIZWxsbywgd29ybGQhIEhlbGxvLCB3b3JsZCEgSGVsbG8"
           "sIHdv\r\ncmxkIQ==",
           "base64 part untouched");
    free(body);
    free(out);
    free(msg);

    /* One 1200-character base64 line: re-wrapped at 76. */
    longb64 = xmalloc(1201);
    memset(longb64, 'A', 1200);
    longb64[1200] = '\0';
    msg2 = xasprintf("From: a@example.org\nTo: b@example.org\n"
                     "Content-Type: image/png\n"
                     "Content-Transfer-Encoding: base64\n\n%s\n",
                     longb64);
    out2 = norm(msg2, &why);
    ok(out2 != NULL && lines_at_most(out2, 76),
       "over-long base64 line re-wrapped at 76");
    if (out2 != NULL) {
        const char *p = strstr(out2, "\r\n\r\n") + 4;
        size_t count = 0;

        for (; *p != '\0'; p++)
            if (*p == 'A')
                count++;
        is_int((long long)count, 1200, "re-wrapped base64 keeps every char");
    }
    free(out2);
    free(msg2);
    free(longb64);
}

static void
subject_roundtrip(const char *subject, const char *label)
{
    char *msg = xasprintf("From: a@example.org\nTo: b@example.org\n"
                          "Subject: %s\n\nbody\n",
                          subject);
    char *why;
    char *out = norm(msg, &why);
    char *raw;
    char *dec;
    char *want;

    ok(out != NULL, "%s: accepted %s", label, why != NULL ? why : "");
    if (out == NULL) {
        free(msg);
        return;
    }
    ok(wire_clean(out, 998), "%s: 7-bit and CRLF", label);
    ok(max_header_line(out) <= 78, "%s: header lines folded to <= 78 (%zu)",
       label, max_header_line(out));
    raw = header(out, "Subject");
    dec = ew_decode(raw);
    want = ew_decode(subject); /* the input may hold encoded-words too */
    is_str(dec, want, "%s: decodes back", label);
    free(want);
    free(dec);
    free(raw);
    free(out);
    free(msg);
}

static void
test_rfc2047(void)
{
    char *why;
    char *out;
    char *v;
    char *dec;

    subject_roundtrip("Stra\xc3\x9f"
                      "e",
                      "Straße");
    subject_roundtrip("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae"
                      "\xe4\xbb\xb6\xe5\x90\x8d",
                      "Japanese");
    subject_roundtrip("Party \xf0\x9f\x8e\x89 time \xf0\x9f\x8e\x88!", "emoji");
    subject_roundtrip(
        "Gr\xc3\xbc\xc3\x9f"
        "e aus M\xc3\xbcnchen und  Z\xc3\xbcrich, "
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa"
        "\x9e\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac\xe8"
        "\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac"
        "\xe8\xaa\x9e and a long ASCII tail that forces folding over the line",
        "long mixed subject");
    subject_roundtrip("=?UTF-8?B?YWJj?= Stra\xc3\x9f"
                      "e =?UTF-8?Q?x?=",
                      "next to ASCII that looks encoded");

    /* Display names are encoded, addresses never. */
    out = norm("From: J\xc3\xbcrgen M\xc3\xbcller <j@example.org>\n"
               "To: \"D\xc3\xb6"
               "e, Jane\" <jane@example.org>, b@example.org\n"
               "\nbody\n",
               &why);
    ok(out != NULL, "non-ASCII display names accepted %s",
       why != NULL ? why : "");
    if (out != NULL) {
        v = header(out, "From");
        ok(v != NULL && strstr(v, "<j@example.org>") != NULL &&
               strstr(v, "=?UTF-8?") == v,
           "From: encoded display name, address kept: %s", v);
        dec = ew_decode(v);
        is_str(dec, "J\xc3\xbcrgen M\xc3\xbcller <j@example.org>",
               "From decodes back");
        free(dec);
        free(v);
        v = header(out, "To");
        dec = ew_decode(v);
        is_str(dec,
               "D\xc3\xb6"
               "e, Jane <jane@example.org>, b@example.org",
               "To: quoted display name encoded, list kept");
        ok(strchr(v, '"') == NULL, "To: no raw quotes left around the word");
        free(dec);
        free(v);
        free(out);
    }
    out =
        norm("From: a@example.org\nTo: m\xc3\xbcller@example.org\n\nx\n", &why);
    ok(out == NULL && why != NULL && strstr(why, "address") != NULL,
       "non-ASCII address refused: %s", why != NULL ? why : "(accepted)");
    free(why);
    free(out);
    out = norm("From: a@example.org\nTo: b@example.org\n"
               "Content-Type: text/plain; name=\"\xc3\xa4.txt\"\n\nx\n",
               &why);
    ok(out == NULL, "non-ASCII in a structured field refused: %s",
       why != NULL ? why : "(accepted)");
    free(why);
    free(out);
    out = norm("From: a@example.org\nTo: b@example.org\nSubject: \xc3\x28\n"
               "\nx\n",
               &why);
    ok(out == NULL, "invalid UTF-8 in a header refused: %s",
       why != NULL ? why : "(accepted)");
    free(why);
    free(out);
}

static void
test_added_headers(void)
{
    char *why;
    char *out = norm("From: a@example.org\nTo: b@example.org\n\nx\n", &why);
    char *v;

    ok(out != NULL, "minimal message accepted");
    if (out == NULL)
        return;
    v = header(out, "Date");
    ok(v != NULL, "Date added: %s", v != NULL ? v : "(none)");
    free(v);
    v = header(out, "Message-ID");
    ok(v != NULL && v[0] == '<' && strstr(v, "@example.org>") != NULL,
       "Message-ID added with the given domain: %s", v != NULL ? v : "(none)");
    free(v);
    v = header(out, "MIME-Version");
    ok(v == NULL, "no MIME-Version without a Content-Type");
    free(v);
    free(out);

    out = norm("Date: Mon, 01 Jan 2024 00:00:00 +0000\n"
               "Message-ID: <kept@x.org>\nFrom: a@example.org\n"
               "To: b@example.org\nContent-Type: text/plain\n\nx\n",
               &why);
    ok(out != NULL, "message with Date and Message-ID accepted");
    if (out == NULL)
        return;
    v = header(out, "Date");
    is_str(v, "Mon, 01 Jan 2024 00:00:00 +0000", "Date kept");
    free(v);
    v = header(out, "Message-ID");
    is_str(v, "<kept@x.org>", "Message-ID kept");
    free(v);
    v = header(out, "MIME-Version");
    is_str(v, "1.0", "MIME-Version added next to a Content-Type");
    free(v);
    ok(strstr(out, "Date:") == strstr(out, "Date:") &&
           strstr(strstr(out, "Date:") + 1, "\nDate:") == NULL,
       "Date not duplicated");
    free(out);

    /* Without msgid_domain, the From domain is used. */
    out = mail_normalise("From: Me <me@from.example>\nTo: b@example.org\n\nx",
                         strlen("From: Me <me@from.example>\nTo: "
                                "b@example.org\n\nx"),
                         NULL, NULL, &why);
    v = out != NULL ? header(out, "Message-ID") : NULL;
    ok(v != NULL && strstr(v, "@from.example>") != NULL,
       "Message-ID domain defaults to the From domain: %s", v != NULL ? v : "");
    free(v);
    free(out);

    /* A non-MIME 8-bit body becomes MIME. */
    out = norm("From: a@example.org\nTo: b@example.org\n\nGr\xc3\xbc\xc3\x9f"
               "e\n",
               &why);
    ok(out != NULL && wire_clean(out, 76), "non-MIME 8-bit body encoded");
    if (out != NULL) {
        v = header(out, "Content-Type");
        is_str(v, "text/plain; charset=UTF-8", "Content-Type added");
        free(v);
        v = header(out, "MIME-Version");
        is_str(v, "1.0", "MIME-Version added");
        free(v);
        v = header(out, "Content-Transfer-Encoding");
        is_str(v, "quoted-printable", "CTE added");
        free(v);
    }
    free(out);
}

static void
refused(const char *msg, size_t len, const char *want, const char *label)
{
    char *why = NULL;
    char *out = mail_normalise(msg, len, "example.org", NULL, &why);

    ok(out == NULL && why != NULL && strstr(why, want) != NULL,
       "%s refused: %s", label, why != NULL ? why : "(accepted)");
    free(out);
    free(why);
}

static void
test_refusals(void)
{
    static const char nul[] = "From: a@example.org\nTo: b@example.org\n\nx\0y";

    refused("To: b@example.org\n\nx\n", strlen("To: b@example.org\n\nx\n"),
            "From", "no From");
    refused("From: a@example.org\n\nx\n", strlen("From: a@example.org\n\nx\n"),
            "To", "no To");
    refused("From: a@example.org\nTo: b@example.org\nSubject: hi\n"
            "Bcc evil@example.net\n\nx\n",
            strlen("From: a@example.org\nTo: b@example.org\nSubject: hi\n"
                   "Bcc evil@example.net\n\nx\n"),
            "no colon", "header line without a colon");
    refused("From: a@example.org\nTo: b@example.org\nSubject: a\rb\n\nx\n",
            strlen("From: a@example.org\nTo: b@example.org\nSubject: "
                   "a\rb\n\nx\n"),
            "bare CR", "bare CR");
    refused(nul, sizeof(nul) - 1, "NUL", "NUL octet");
    {
        char *why = NULL;
        char *out = norm("From: a@example.org\nTo: b@example.org\n"
                         "Bcc: hidden@example.org\nReturn-Path: <x@y.org>\n"
                         "\nx\n",
                         &why);

        ok(out != NULL && strstr(out, "hidden") == NULL &&
               strstr(out, "Return-Path") == NULL,
           "Bcc and Return-Path dropped");
        free(out);
    }
    refused("From: a@example.org\nTo: b@example.org\nTo: c@example.org\n\nx",
            strlen("From: a@example.org\nTo: b@example.org\nTo: "
                   "c@example.org\n\nx"),
            "more than one To", "two To fields");
    refused(" folded: x\nFrom: a@example.org\nTo: b@example.org\n\nx",
            strlen(" folded: x\nFrom: a@example.org\nTo: b@example.org\n\nx"),
            "continuation", "leading continuation line");
    {
        size_t n = MAIL_HEADER_MAX + 100;
        char *big = xmalloc(n + 512);
        size_t o = 0;

        o += (size_t)sprintf(big, "From: a@example.org\nTo: b@x.org\n");
        while (o < n) {
            memcpy(big + o, "X-Pad: ", 7);
            memset(big + o + 7, 'p', 392);
            big[o + 399] = '\n';
            o += 400;
        }
        big[o++] = '\n';
        big[o] = '\0';
        refused(big, o, "header block larger", "huge header block");
        free(big);
    }
    refused("From: a@example.org\nTo: b@example.org\n"
            "Content-Type: multipart/mixed\n\nx\n",
            strlen("From: a@example.org\nTo: b@example.org\n"
                   "Content-Type: multipart/mixed\n\nx\n"),
            "boundary", "multipart without a boundary");
}

static void
test_nested(void)
{
    char *line = long_line(3000);
    char *msg = xasprintf(
        "From: a@example.org\nTo: b@example.org\nSubject: nested\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=OUTER\n\n"
        "This is a preamble.\n"
        "--OUTER\nContent-Type: multipart/alternative; boundary=\"INNER\"\n\n"
        "--INNER\nContent-Type: text/plain; charset=UTF-8\n\n%s\n"
        "--INNER\nContent-Type: text/html; charset=UTF-8\n\n<b>hi</b>\n"
        "--INNER--\n"
        "--OUTER\nContent-Type: text/plain\nContent-Disposition: attachment\n"
        "\nattached\n"
        "--OUTER--\nepilogue\n",
        line);
    char *why;
    char *out = norm(msg, &why);
    char *inner;
    char *dec;
    char *att;

    ok(out != NULL, "nested multipart accepted %s", why != NULL ? why : "");
    if (out == NULL)
        goto done;
    ok(wire_clean(out, 78), "nested: all lines short, 7-bit, CRLF");
    inner = part_body(out, "INNER", 0);
    dec = inner != NULL ? qp_decode(inner, strlen(inner)) : NULL;
    is_str(dec, line, "inner text part decodes to the original");
    free(dec);
    free(inner);
    inner = part_body(out, "INNER", 1);
    is_str(inner, "<b>hi</b>", "inner html part untouched");
    free(inner);
    att = part_body(out, "OUTER", 1);
    is_str(att, "attached", "second outer part untouched");
    free(att);
    ok(strstr(out, "\r\nThis is a preamble.\r\n--OUTER\r\n") != NULL,
       "preamble kept");
    ok(strstr(out, "\r\n--INNER--\r\n--OUTER\r\n") != NULL,
       "inner close then outer delimiter");
    ok(strstr(out, "\r\n--OUTER--\r\nepilogue\r\n") != NULL, "epilogue kept");
    free(out);
done:
    free(msg);
    free(line);
}

/* Count lines of s that start with "--" followed by b. */
static int
count_delims(const char *s, const char *b)
{
    char pat[128];
    int n = 0;
    const char *p = s;

    snprintf(pat, sizeof(pat), "\r\n--%s", b);
    for (p = strstr(p, pat); p != NULL; p = strstr(p + 2, pat))
        n++;
    return n;
}

/* Count lines of s that start with prefix. */
static int
count_lines_starting(const char *s, const char *prefix)
{
    char pat[64];
    int n = 0;
    const char *p = s;

    snprintf(pat, sizeof(pat), "\r\n%s", prefix);
    for (p = strstr(p, pat); p != NULL; p = strstr(p + 2, pat))
        n++;
    return n;
}

static void
test_boundary_in_text(void)
{
    /* The boundary appears inside a long 8-bit line, at offsets that put
     * it at the start of a quoted-printable continuation line if nothing
     * prevented it. */
    char *base = long_line(2000);
    char *text = xmalloc(12000);
    size_t o = 0;
    int i;
    char *msg;
    char *why;
    char *out;
    char *body;
    char *dec;

    for (i = 0; i < 40; i++) {
        int k;

        for (k = 0; k < 70 + i; k++)
            text[o++] = 'x';
        memcpy(text + o, "--SEP42", 7);
        o += 7;
        memcpy(text + o, "\xc3\xa9", 2);
        o += 2;
    }
    text[o] = '\0';
    msg = xasprintf("From: a@example.org\nTo: b@example.org\n"
                    "Content-Type: multipart/alternative; boundary=SEP42\n\n"
                    "--SEP42\nContent-Type: text/plain; charset=UTF-8\n\n%s\n"
                    "the boundary is --SEP42 in the middle\n"
                    "--SEP42\nContent-Type: text/plain; charset=UTF-8\n\n%s\n"
                    "--SEP42--\n",
                    text, base);
    out = norm(msg, &why);
    ok(out != NULL, "boundary inside text accepted %s", why != NULL ? why : "");
    if (out != NULL) {
        is_int(count_delims(out, "SEP42"), 3,
               "only the 3 real delimiter lines start with --SEP42");
        body = part_body(out, "SEP42", 0);
        dec = body != NULL ? qp_decode(body, strlen(body)) : NULL;
        {
            char *want =
                xasprintf("%s\nthe boundary is --SEP42 in the middle", text);

            is_str(dec, want, "text with the boundary decodes back");
            free(want);
        }
        free(dec);
        free(body);
        is_int(count_lines_starting(out, "-"), 3,
               "no line but the delimiters starts with '-'");
        free(out);
    }
    free(msg);

    msg = xasprintf("From: a@example.org\nTo: b@example.org\n"
                    "Content-Type: multipart/mixed; boundary=SEP42\n\n"
                    "--SEP42\n\nx\n--SEP42andmore\ny\n--SEP42--\n");
    out = norm(msg, &why);
    ok(out == NULL && why != NULL && strstr(why, "not a delimiter") != NULL,
       "line starting with the boundary but no delimiter refused: %s",
       why != NULL ? why : "(accepted)");
    free(why);
    free(out);
    free(msg);
    free(text);
    free(base);
}

static void
test_qp_parts(void)
{
    char *why;
    char *out;
    char *body;
    char *dec;

    /* A QP part that is fine stays as it is. */
    out = norm("From: a@example.org\nTo: b@example.org\n"
               "Content-Type: text/plain; charset=UTF-8\n"
               "Content-Transfer-Encoding: quoted-printable\n\n"
               "Stra=C3=9Fe=\n ok\n",
               &why);
    ok(out != NULL && strstr(out, "\r\n\r\nStra=C3=9Fe=\r\n ok\r\n") != NULL,
       "clean QP part untouched");
    free(out);
    /* A QP part with raw 8-bit is decoded and re-encoded. */
    out = norm("From: a@example.org\nTo: b@example.org\n"
               "Content-Type: text/plain; charset=UTF-8\n"
               "Content-Transfer-Encoding: quoted-printable\n\n"
               "Stra\xc3\x9f"
               "e and Stra=C3=9Fe\n",
               &why);
    ok(out != NULL && wire_clean(out, 76), "8-bit QP part re-encoded");
    if (out != NULL) {
        body = xstrdup(strstr(out, "\r\n\r\n") + 4);
        dec = qp_decode(body, strlen(body));
        is_str(dec,
               "Stra\xc3\x9f"
               "e and Stra\xc3\x9f"
               "e\n",
               "re-encoded QP decodes to the intended text");
        free(dec);
        free(body);
    }
    free(out);
    /* Leading '.', '-' and "From " never start a QP line. */
    out = norm("From: a@example.org\nTo: b@example.org\n\n"
               ".dot \xc3\xa9\n-dash\nFrom here\n",
               &why);
    ok(out != NULL && strstr(out, "\r\n.") == NULL &&
           strstr(out, "\r\nFrom here") == NULL &&
           strstr(out, "\r\n=2Edot =C3=A9\r\n=2Ddash\r\n=46rom here") != NULL,
       "QP protects '.', '-' and 'From ' at line starts");
    free(out);
}

static void
test_sydent_like(void)
{
    /* The shape of sydent's stock verification template: LF endings, a
     * folded Content-Type, a very long 7-bit HTML line (inline CSS). */
    char *css = xmalloc(2100);
    char *msg;
    char *why;
    char *out;
    char *head;

    memset(css, 'a', 2099);
    css[2099] = '\0';
    memcpy(css, "<style>", 7);
    msg = xasprintf(
        "Date: Tue, 24 Nov 2026 22:21:00 +0000\n"
        "From: Matrix.org <noreply@matrix.org>\nTo: user@example.org\n"
        "Message-ID: <1.abc@matrix.org>\n"
        "Subject: Confirm your email address for Matrix\n"
        "MIME-Version: 1.0\nContent-Type: multipart/alternative;\n"
        "\tboundary=\"AbCdEfGhIjKlMnOpQrStUvWxYz012345\"\n\n"
        "--AbCdEfGhIjKlMnOpQrStUvWxYz012345\n"
        "Content-Type: text/plain; charset=UTF-8\n"
        "Content-Disposition: inline\n\nHello,\n\nYour token is 123.\n\n"
        "--AbCdEfGhIjKlMnOpQrStUvWxYz012345\n"
        "Content-Type: text/html; charset=UTF-8\n"
        "Content-Disposition: inline\n\n<!doctype html>\n%s\n"
        "--AbCdEfGhIjKlMnOpQrStUvWxYz012345--\n",
        css);
    out = norm(msg, &why);
    ok(out != NULL && wire_clean(out, 998),
       "sydent-shaped template: accepted, every line <= 998");
    if (out != NULL) {
        head = part_head(out, "AbCdEfGhIjKlMnOpQrStUvWxYz012345", 1);
        ok(head != NULL && strstr(head, "quoted-printable") != NULL,
           "long 7-bit HTML line re-encoded QP");
        free(head);
        head = part_head(out, "AbCdEfGhIjKlMnOpQrStUvWxYz012345", 0);
        ok(head != NULL && strstr(head, "Transfer-Encoding") == NULL,
           "short plain part left alone");
        free(head);
        head = header(out, "Content-Type");
        is_str(head,
               "multipart/alternative;\tboundary=\""
               "AbCdEfGhIjKlMnOpQrStUvWxYz012345\"",
               "folded Content-Type unfolds to the same value");
        free(head);
    }
    free(out);
    free(msg);
    free(css);
}

static bool
all_alnum(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

static void
test_helpers(void)
{
    char id[MAIL_MSGID_SIZE];
    char id2[MAIL_MSGID_SIZE];
    char date[MAIL_DATE_SIZE];
    char b[MAIL_BOUNDARY_LEN + 1];
    char b2[MAIL_BOUNDARY_LEN + 1];
    const char *dot;
    const char *at;
    char *s;
    int day;
    int year;
    int hh;
    int mm;
    int ss;
    char wd[4];
    char mon[4];

    mail_make_message_id(id, sizeof(id), "example.org");
    mail_make_message_id(id2, sizeof(id2), "example.org");
    dot = strchr(id, '.');
    at = strchr(id, '@');
    ok(id[0] == '<' && dot != NULL && at != NULL && dot < at &&
           at - dot - 1 == 16 && all_alnum(dot + 1, 16) &&
           strcmp(at, "@example.org>") == 0,
       "Message-ID format <ms.16alnum@domain>: %s", id);
    ok(strcmp(id, id2) != 0, "Message-IDs differ");
    mail_make_message_id(id, sizeof(id), "bad domain>");
    ok(strstr(id, "@localhost>") != NULL, "implausible domain replaced: %s",
       id);
    mail_make_date(date, sizeof(date));
    ok(sscanf(date, "%3s, %2d %3s %4d %2d:%2d:%2d +0000", wd, &day, mon, &year,
              &hh, &mm, &ss) == 7 &&
           strlen(date) == 31 && date[3] == ',',
       "Date format: %s", date);
    mail_make_boundary(b);
    mail_make_boundary(b2);
    ok(strlen(b) == MAIL_BOUNDARY_LEN && all_alnum(b, MAIL_BOUNDARY_LEN),
       "boundary is 32 alphanumerics: %s", b);
    ok(strcmp(b, b2) != 0, "boundaries differ");

    s = mail_domain_of("Glia <noreply@id.example.org>");
    is_str(s, "id.example.org", "domain of a name-addr");
    free(s);
    s = mail_domain_of("a@b.org");
    is_str(s, "b.org", "domain of an addr-spec");
    free(s);
    s = mail_address_of("\"Doe, <J>\" <j@x.org>");
    is_str(s, "j@x.org", "address behind a quoted name with brackets");
    free(s);
    s = mail_address_of("no address here");
    ok(s == NULL, "no address: NULL");
    free(s);
}

int
main(void)
{
    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    plan_no_plan();
    test_line_endings();
    test_long_single();
    test_long_multipart();
    test_base64();
    test_rfc2047();
    test_added_headers();
    test_refusals();
    test_nested();
    test_boundary_in_text();
    test_qp_parts();
    test_sydent_like();
    test_helpers();
    return done_testing();
}
