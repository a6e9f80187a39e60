/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mail_normalise(): turn a rendered template into a message every SMTP
 * server takes (see mail.h for the rules). The message is split into lines
 * once (LF or CRLF), then each entity -- the message, and recursively each
 * MIME part -- is handled as a header block plus body lines: the body first
 * (which may change the Content-Transfer-Encoding), then the header fields
 * (mime_header.c encodes and folds them). Output is written line by line
 * with CRLF, so no line ending survives from the input.
 *
 * Line model: the CRLF before a boundary delimiter belongs to the
 * delimiter (RFC 2046 5.1.1), which is exactly what writing every body
 * line followed by CRLF and then the delimiter reproduces.
 */
#include "mail/mail.h"
#include "mail/mail_internal.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Longest line of a quoted-printable or base64 body (RFC 2045). */
#define ENC_LINE_MAX 76
/* Longest boundary RFC 2046 allows. */
#define BOUNDARY_MAX 70
/* The output may grow (quoted-printable triples 8-bit text). */
#define OUTPUT_MAX   ((size_t)MAIL_MESSAGE_MAX * 4)

struct line {
    const char *p;
    size_t n; /* without the line ending */
};

struct field {
    char *name;
    char *value; /* unfolded, trimmed */
    bool drop;
};

struct norm {
    char why[MH_ERR_SIZE];
    const char *msgid_domain;
    bool failed;
};

/* Fields RFC 5322 3.6 (and RFC 2045) allow at most once. */
static const char *const singletons[] = {
    "Date",         "From",
    "Sender",       "Reply-To",
    "To",           "Cc",
    "Bcc",          "Message-ID",
    "In-Reply-To",  "References",
    "Subject",      "MIME-Version",
    "Content-Type", "Content-Transfer-Encoding",
};

static int refuse(struct norm *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
refuse(struct norm *n, const char *fmt, ...)
{
    va_list ap;

    if (!n->failed) {
        va_start(ap, fmt);
        vsnprintf(n->why, sizeof(n->why), fmt, ap);
        va_end(ap);
        n->failed = true;
    }
    return -1;
}

static bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

static void
put(struct norm *n, struct buf *out, const void *p, size_t len)
{
    if (buf_append(out, p, len) != 0)
        refuse(n, "message too large once encoded");
}

static void
put_line(struct norm *n, struct buf *out, const char *p, size_t len)
{
    put(n, out, p, len);
    put(n, out, "\r\n", 2);
}

static void
put_lines(struct norm *n, struct buf *out, const struct line *l, size_t nl)
{
    size_t i;

    for (i = 0; i < nl; i++)
        put_line(n, out, l[i].p, l[i].n);
}

static void
free_fields(struct field *f, size_t nf)
{
    size_t i;

    for (i = 0; i < nf; i++) {
        free(f[i].name);
        free(f[i].value);
    }
    free(f);
}

/* Octets RFC 5322 allows in a field name (ftext). */
static bool
is_ftext(char c)
{
    unsigned char u = (unsigned char)c;

    return u >= 33 && u <= 126 && u != ':';
}

/* Parse the header block at the start of l[0..nl): fields with unfolded,
 * trimmed values, and the index of the first body line. */
static int
parse_headers(struct norm *n,
              const struct line *l,
              size_t nl,
              struct field **out,
              size_t *out_n,
              size_t *body_start)
{
    struct field *f = xcalloc(MAIL_FIELDS_MAX, sizeof(*f));
    size_t nf = 0;
    size_t total = 0;
    size_t i;

    for (i = 0; i < nl && l[i].n != 0; i++) {
        const char *p = l[i].p;
        const char *colon;
        size_t k;

        total += l[i].n + 2;
        if (total > MAIL_HEADER_MAX) {
            refuse(n, "header block larger than %d octets", MAIL_HEADER_MAX);
            goto fail;
        }
        if (is_wsp(p[0])) {
            size_t old;

            if (nf == 0) {
                refuse(n, "header block starts with a continuation line");
                goto fail;
            }
            old = strlen(f[nf - 1].value);
            f[nf - 1].value = xrealloc(f[nf - 1].value, old + l[i].n + 1);
            memcpy(f[nf - 1].value + old, p, l[i].n);
            f[nf - 1].value[old + l[i].n] = '\0';
            continue;
        }
        colon = memchr(p, ':', l[i].n);
        if (colon == NULL) {
            refuse(n, "header line \"%.*s\" has no colon (header injection?)",
                   (int)(l[i].n > 40 ? 40 : l[i].n), p);
            goto fail;
        }
        for (k = 0; p + k < colon; k++) {
            if (!is_ftext(p[k])) {
                refuse(n, "invalid header field name \"%.*s\"",
                       (int)(colon - p > 40 ? 40 : colon - p), p);
                goto fail;
            }
        }
        if (colon == p) {
            refuse(n, "header line with an empty field name");
            goto fail;
        }
        if (nf == MAIL_FIELDS_MAX) {
            refuse(n, "more than %d header fields", MAIL_FIELDS_MAX);
            goto fail;
        }
        f[nf].name = xstrndup(p, (size_t)(colon - p));
        f[nf].value = xstrndup(colon + 1, l[i].n - (size_t)(colon - p) - 1);
        nf++;
    }
    *body_start = i < nl ? i + 1 : nl;
    for (i = 0; i < nf; i++) {
        char *v = f[i].value;
        size_t a = 0;
        size_t b = strlen(v);

        while (a < b && is_wsp(v[a]))
            a++;
        while (b > a && is_wsp(v[b - 1]))
            b--;
        memmove(v, v + a, b - a);
        v[b - a] = '\0';
    }
    *out = f;
    *out_n = nf;
    return 0;
fail:
    free_fields(f, nf);
    return -1;
}

/* Index of the field called name, or -1. */
static long
find_field(const struct field *f, size_t nf, const char *name)
{
    size_t i;

    for (i = 0; i < nf; i++)
        if (!f[i].drop && mh_name_is(f[i].name, name))
            return (long)i;
    return -1;
}

static void
add_field(struct field **f,
          size_t *nf,
          size_t *cap,
          const char *name,
          const char *value)
{
    if (*nf == *cap) {
        *cap += 4;
        *f = xrealloc(*f, *cap * sizeof(**f));
    }
    (*f)[*nf].name = xstrdup(name);
    (*f)[*nf].value = xstrdup(value);
    (*f)[*nf].drop = false;
    (*nf)++;
}

static void
scan_lines(const struct line *l, size_t nl, bool *has8bit, size_t *maxlen)
{
    size_t i;

    *has8bit = false;
    *maxlen = 0;
    for (i = 0; i < nl; i++) {
        if (l[i].n > *maxlen)
            *maxlen = l[i].n;
        if (!*has8bit && !mh_is_ascii(l[i].p, l[i].n))
            *has8bit = true;
    }
}

/* ---- transfer encodings --------------------------------------------- */

/* One line of text as quoted-printable (RFC 2045 6.7), with soft breaks
 * keeping every output line within 76 octets. "-" (a boundary delimiter
 * could start so), "." (SMTP transparency) and "From " (mbox) never start
 * an output line. */
static void
qp_line(struct norm *n, struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    size_t col = 0;
    size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];
        bool last = i + 1 == len;
        bool lit = (c >= 33 && c <= 126 && c != '=') ||
                   ((c == ' ' || c == '\t') && !last);
        size_t need;

        if (col == 0 &&
            (c == '-' || c == '.' ||
             (c == 'F' && len - i >= 5 && memcmp(p + i, "From ", 5) == 0)))
            lit = false;
        need = lit ? 1 : 3;
        /* Leave room for the "=" of a soft break unless nothing follows. */
        if (col + need > (last ? ENC_LINE_MAX : ENC_LINE_MAX - 1)) {
            put(n, out, "=\r\n", 3);
            col = 0;
            continue;
        }
        if (lit) {
            put(n, out, &p[i], 1);
        } else {
            char t[3] = {'=', hex[c >> 4], hex[c & 0x0f]};

            put(n, out, t, 3);
        }
        col += need;
        i++;
    }
    put(n, out, "\r\n", 2);
}

static void
qp_lines(struct norm *n, struct buf *out, const struct line *l, size_t nl)
{
    size_t i;

    for (i = 0; i < nl; i++)
        qp_line(n, out, l[i].p, l[i].n);
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode a quoted-printable body (leniently: a stray "=" stays as it is)
 * and encode it again properly. */
static void
qp_recode(struct norm *n, struct buf *out, const struct line *l, size_t nl)
{
    struct buf dec;
    struct line *dl;
    size_t ndl = 0;
    size_t i;
    size_t start;

    buf_init(&dec, OUTPUT_MAX);
    for (i = 0; i < nl; i++) {
        const char *p = l[i].p;
        size_t len = l[i].n;
        bool soft = false;
        size_t k;

        while (len > 0 && is_wsp(p[len - 1]))
            len--;
        if (len > 0 && p[len - 1] == '=') {
            soft = true;
            len--;
        }
        for (k = 0; k < len; k++) {
            char c = p[k];

            if (c == '=' && k + 2 < len && hexval(p[k + 1]) >= 0 &&
                hexval(p[k + 2]) >= 0) {
                c = (char)(hexval(p[k + 1]) * 16 + hexval(p[k + 2]));
                k += 2;
            }
            if (buf_append(&dec, &c, 1) != 0)
                refuse(n, "message too large once encoded");
        }
        if (!soft && i + 1 < nl && buf_append(&dec, "\n", 1) != 0)
            refuse(n, "message too large once encoded");
    }
    if (n->failed) {
        buf_free(&dec);
        return;
    }
    dl = xcalloc(dec.len + 1, sizeof(*dl));
    start = 0;
    for (i = 0; i <= dec.len; i++) {
        if (i == dec.len || dec.data[i] == '\n') {
            dl[ndl].p = dec.len == 0 ? "" : dec.data + start;
            dl[ndl].n = i - start;
            ndl++;
            start = i + 1;
        }
    }
    qp_lines(n, out, dl, ndl);
    free(dl);
    buf_free(&dec);
}

/* Write base64 text (whitespace already removed) in lines of 76. */
static void
b64_wrap(struct norm *n, struct buf *out, const char *b64, size_t len)
{
    size_t i;

    for (i = 0; i < len; i += ENC_LINE_MAX)
        put_line(n, out, b64 + i,
                 len - i < ENC_LINE_MAX ? len - i : ENC_LINE_MAX);
}

/* Re-wrap a base64 body whose lines are too long. */
static void
b64_rewrap(struct norm *n, struct buf *out, const struct line *l, size_t nl)
{
    struct buf all;
    size_t i;
    size_t k;

    buf_init(&all, OUTPUT_MAX);
    for (i = 0; i < nl; i++)
        for (k = 0; k < l[i].n; k++)
            if (!is_wsp(l[i].p[k]) && buf_append(&all, l[i].p + k, 1) != 0)
                refuse(n, "message too large once encoded");
    if (!n->failed && all.len > 0)
        b64_wrap(n, out, all.data, all.len);
    buf_free(&all);
}

/* Encode the body (lines joined with CRLF) as base64. */
static void
b64_encode(struct norm *n, struct buf *out, const struct line *l, size_t nl)
{
    struct buf raw;
    size_t i;
    size_t enc_len;
    char *enc;

    buf_init(&raw, MAIL_MESSAGE_MAX + 2 * (size_t)nl);
    for (i = 0; i < nl; i++) {
        if (buf_append(&raw, l[i].p, l[i].n) != 0 ||
            (i + 1 < nl && buf_append(&raw, "\r\n", 2) != 0))
            refuse(n, "message too large once encoded");
    }
    if (n->failed || raw.len == 0) {
        buf_free(&raw);
        return;
    }
    enc_len =
        sodium_base64_ENCODED_LEN(raw.len, sodium_base64_VARIANT_ORIGINAL);
    enc = xmalloc(enc_len);
    sodium_bin2base64(enc, enc_len, (const unsigned char *)raw.data, raw.len,
                      sodium_base64_VARIANT_ORIGINAL);
    b64_wrap(n, out, enc, strlen(enc));
    free(enc);
    buf_free(&raw);
}

/* ---- entities --------------------------------------------------------- */

static int entity(struct norm *n,
                  const struct line *l,
                  size_t nl,
                  int depth,
                  bool top,
                  struct buf *out);

/* A preamble or epilogue is kept only if it is 7-bit with short lines:
 * readers ignore it, so dropping beats encoding. */
static void
put_aside_text(struct norm *n, struct buf *out, const struct line *l, size_t nl)
{
    bool has8bit;
    size_t maxlen;

    scan_lines(l, nl, &has8bit, &maxlen);
    if (has8bit || maxlen > MAIL_LINE_MAX)
        return;
    put_lines(n, out, l, nl);
}

/* Is l a line starting with "--boundary"? Then *close tells whether it is
 * the close delimiter. @return 1 delimiter, 0 not one, -1 a line that
 * starts with the boundary but is no delimiter (ambiguous: refused). */
static int
delimiter(const struct line *l, const char *b, size_t blen, bool *close)
{
    size_t k;

    *close = false;
    if (l->n < blen + 2 || l->p[0] != '-' || l->p[1] != '-' ||
        memcmp(l->p + 2, b, blen) != 0)
        return 0;
    k = blen + 2;
    if (l->n - k >= 2 && l->p[k] == '-' && l->p[k + 1] == '-') {
        *close = true;
        k += 2;
    }
    for (; k < l->n; k++)
        if (!is_wsp(l->p[k]))
            return -1;
    return 1;
}

static int
multipart(struct norm *n,
          const char *boundary,
          const struct line *l,
          size_t nl,
          int depth,
          struct buf *out)
{
    size_t blen = strlen(boundary);
    size_t i;
    size_t part_start = 0;
    bool in_part = false;
    bool closed = false;

    if (blen == 0 || blen > BOUNDARY_MAX)
        return refuse(n, "multipart boundary must be 1 to %d characters",
                      BOUNDARY_MAX);
    for (i = 0; i < nl; i++) {
        bool close;
        int d = delimiter(&l[i], boundary, blen, &close);

        if (d < 0)
            return refuse(n, "a line starts with the multipart boundary but is "
                             "not a delimiter");
        if (d == 0)
            continue;
        if (!in_part)
            put_aside_text(n, out, l, i); /* preamble */
        else if (entity(n, l + part_start, i - part_start, depth + 1, false,
                        out) != 0)
            return -1;
        if (close) {
            closed = true;
            break;
        }
        put(n, out, "--", 2);
        put_line(n, out, boundary, blen);
        in_part = true;
        part_start = i + 1;
    }
    if (!in_part)
        return refuse(n, "multipart body without a boundary delimiter");
    if (!closed &&
        entity(n, l + part_start, nl - part_start, depth + 1, false, out) != 0)
        return -1;
    put(n, out, "--", 2);
    put(n, out, boundary, blen);
    put_line(n, out, "--", 2);
    if (closed)
        put_aside_text(n, out, l + i + 1, nl - i - 1); /* epilogue */
    return n->failed ? -1 : 0;
}

/* What a leaf body needs changed in its header. */
struct leaf_change {
    const char *cte;  /* new Content-Transfer-Encoding, or NULL */
    bool add_charset; /* add charset=UTF-8 to the Content-Type */
};

static int
leaf(struct norm *n,
     const struct mh_ctype *ct,
     const char *cte,
     const struct line *l,
     size_t nl,
     struct buf *out,
     struct leaf_change *ch)
{
    bool has8bit;
    size_t maxlen;
    bool clean;

    scan_lines(l, nl, &has8bit, &maxlen);
    clean = !has8bit && maxlen <= MAIL_LINE_MAX;
    if (mh_name_is(cte, "base64")) {
        if (has8bit)
            return refuse(n, "8-bit octets in a base64 part");
        if (maxlen > ENC_LINE_MAX)
            b64_rewrap(n, out, l, nl);
        else
            put_lines(n, out, l, nl);
    } else if (mh_name_is(cte, "quoted-printable")) {
        if (clean)
            put_lines(n, out, l, nl);
        else
            qp_recode(n, out, l, nl);
    } else if (cte[0] != '\0' && !mh_name_is(cte, "7bit") &&
               !mh_name_is(cte, "8bit") && !mh_name_is(cte, "binary")) {
        if (!clean)
            return refuse(n,
                          "Content-Transfer-Encoding \"%.30s\" with 8-bit "
                          "data or long lines",
                          cte);
        put_lines(n, out, l, nl);
    } else if (clean) {
        put_lines(n, out, l, nl);
    } else if (strcmp(ct->type, "text") == 0) {
        qp_lines(n, out, l, nl);
        ch->cte = "quoted-printable";
        ch->add_charset = has8bit && !ct->has_charset;
    } else if (strcmp(ct->type, "message") == 0 ||
               strcmp(ct->type, "multipart") == 0) {
        return refuse(n, "%s/%s part with 8-bit data or long lines", ct->type,
                      ct->subtype);
    } else {
        b64_encode(n, out, l, nl);
        ch->cte = "base64";
    }
    return n->failed ? -1 : 0;
}

/* Refuse repeated singleton fields and drop what must not be sent. */
static int
check_fields(struct norm *n, struct field *f, size_t nf, bool top)
{
    size_t i;
    size_t k;

    for (k = 0; k < sizeof(singletons) / sizeof(singletons[0]); k++) {
        size_t count = 0;

        for (i = 0; i < nf; i++)
            if (mh_name_is(f[i].name, singletons[k]))
                count++;
        if (count > 1)
            return refuse(n, "more than one %s field", singletons[k]);
        if (top && count == 0 &&
            (strcmp(singletons[k], "From") == 0 ||
             strcmp(singletons[k], "To") == 0))
            return refuse(n, "no %s field", singletons[k]);
    }
    /* Return-Path is added at delivery, not by senders; Bcc would show
     * the recipient list (recipients come from the envelope alone). */
    for (i = 0; i < nf; i++)
        if (top && (mh_name_is(f[i].name, "Return-Path") ||
                    mh_name_is(f[i].name, "Bcc")))
            f[i].drop = true;
    return 0;
}

static int
entity(struct norm *n,
       const struct line *l,
       size_t nl,
       int depth,
       bool top,
       struct buf *out)
{
    struct field *f = NULL;
    size_t nf = 0;
    size_t cap = MAIL_FIELDS_MAX;
    size_t body_start;
    struct mh_ctype ct;
    long ct_i;
    long cte_i;
    struct buf body;
    struct leaf_change ch = {NULL, false};
    size_t i;
    int rc = -1;

    if (depth > MAIL_DEPTH_MAX)
        return refuse(n, "MIME parts nested deeper than %d", MAIL_DEPTH_MAX);
    if (parse_headers(n, l, nl, &f, &nf, &body_start) != 0)
        return -1;
    buf_init(&body, OUTPUT_MAX);
    if (check_fields(n, f, nf, top) != 0)
        goto done;
    ct_i = find_field(f, nf, "Content-Type");
    cte_i = find_field(f, nf, "Content-Transfer-Encoding");
    if (mh_parse_ctype(ct_i >= 0 ? f[ct_i].value : NULL, &ct) != 0) {
        refuse(n, "malformed Content-Type \"%.60s\"", f[ct_i].value);
        goto done;
    }
    if (strcmp(ct.type, "multipart") == 0) {
        if (ct.boundary == NULL) {
            refuse(n, "multipart Content-Type without a boundary");
            goto done_ct;
        }
        if (multipart(n, ct.boundary, l + body_start, nl - body_start, depth,
                      &body) != 0)
            goto done_ct;
    } else if (leaf(n, &ct, cte_i >= 0 ? f[cte_i].value : "", l + body_start,
                    nl - body_start, &body, &ch) != 0) {
        goto done_ct;
    }

    if (ch.cte != NULL) {
        if (cte_i >= 0) {
            free(f[cte_i].value);
            f[cte_i].value = xstrdup(ch.cte);
        } else {
            add_field(&f, &nf, &cap, "Content-Transfer-Encoding", ch.cte);
        }
    }
    if (ch.add_charset) {
        if (ct_i >= 0) {
            char *v = xasprintf("%s; charset=UTF-8", f[ct_i].value);

            free(f[ct_i].value);
            f[ct_i].value = v;
        } else {
            add_field(&f, &nf, &cap, "Content-Type",
                      "text/plain; charset=UTF-8");
        }
    }
    if (top) {
        if (find_field(f, nf, "Date") < 0) {
            char date[MAIL_DATE_SIZE];

            mail_make_date(date, sizeof(date));
            add_field(&f, &nf, &cap, "Date", date);
        }
        if (find_field(f, nf, "Message-ID") < 0) {
            char id[MAIL_MSGID_SIZE];
            char *dom = NULL;

            if (n->msgid_domain == NULL)
                dom = mail_domain_of(f[find_field(f, nf, "From")].value);
            mail_make_message_id(id, sizeof(id),
                                 dom != NULL ? dom : n->msgid_domain);
            free(dom);
            add_field(&f, &nf, &cap, "Message-ID", id);
        }
        if (find_field(f, nf, "Content-Type") >= 0 &&
            find_field(f, nf, "MIME-Version") < 0)
            add_field(&f, &nf, &cap, "MIME-Version", "1.0");
    }

    for (i = 0; i < nf; i++) {
        char err[MH_ERR_SIZE];

        if (f[i].drop)
            continue;
        if (mh_write_field(out, f[i].name, f[i].value, err) != 0) {
            refuse(n, "%s", err);
            goto done_ct;
        }
    }
    put(n, out, "\r\n", 2);
    if (body.len > 0)
        put(n, out, body.data, body.len);
    rc = n->failed ? -1 : 0;
done_ct:
    free(ct.boundary);
done:
    buf_free(&body);
    free_fields(f, nf);
    return rc;
}

char *
mail_normalise(const char *msg,
               size_t len,
               const char *msgid_domain,
               size_t *out_len,
               char **why)
{
    struct norm n;
    struct line *l;
    size_t nl = 0;
    size_t i;
    size_t start = 0;
    struct buf out;
    char *res;

    memset(&n, 0, sizeof(n));
    n.msgid_domain = msgid_domain;
    if (len > MAIL_MESSAGE_MAX) {
        *why = xasprintf("message larger than %d octets", MAIL_MESSAGE_MAX);
        return NULL;
    }
    for (i = 0; i < len; i++) {
        if (msg[i] == '\0') {
            *why = xasprintf("NUL octet at offset %zu", i);
            return NULL;
        }
        if (msg[i] == '\r' && (i + 1 == len || msg[i + 1] != '\n')) {
            *why = xasprintf("bare CR at offset %zu", i);
            return NULL;
        }
        if (msg[i] == '\n')
            nl++;
    }
    l = xcalloc(nl + 1, sizeof(*l));
    nl = 0;
    for (i = 0; i <= len; i++) {
        if (i == len && start == len)
            break; /* the text ends with a line ending */
        if (i == len || msg[i] == '\n') {
            size_t n_ = i - start;

            if (n_ > 0 && msg[start + n_ - 1] == '\r')
                n_--;
            l[nl].p = msg + start;
            l[nl].n = n_;
            nl++;
            start = i + 1;
        }
    }
    buf_init(&out, OUTPUT_MAX);
    if (entity(&n, l, nl, 0, true, &out) != 0) {
        free(l);
        buf_free(&out);
        *why = xstrdup(n.why);
        return NULL;
    }
    free(l);
    res = buf_steal(&out, out_len);
    if (res == NULL)
        res = xstrdup("");
    return res;
}
