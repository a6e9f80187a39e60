/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Matrix canonical JSON encoder; see cjson.h. One recursive pass writes into
 * a doubling buffer (amortised linear), and each object's members are sorted
 * once with qsort, so the whole encoding is O(n log n) in the input size.
 * Anything that has no canonical form is rejected rather than approximated:
 * a signature over an approximation would not verify anywhere else.
 */
#include "json/cjson.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* Growable output buffer; private so it cannot clash with util/buf.h. */
struct outbuf {
    char *p;
    size_t len;
    size_t cap;
};

/* One object member, collected so the members can be sorted by key. */
struct member {
    const char *key;
    size_t klen;
    const json_t *val;
};

/* Make room for n more bytes; doubling keeps appends amortised O(1). */
static void
ob_reserve(struct outbuf *b, size_t n)
{
    size_t need = b->len + n;
    size_t cap = b->cap != 0 ? b->cap : 256;

    if (need < b->len)
        abort(); /* size_t overflow: no JSON value is that large */
    if (need <= b->cap)
        return;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            cap = need;
        else
            cap *= 2;
    }
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

/* Append n bytes (n may be 0). */
static void
ob_append(struct outbuf *b, const char *s, size_t n)
{
    if (n == 0)
        return;
    ob_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Append one byte. */
static void
ob_putc(struct outbuf *b, char c)
{
    ob_reserve(b, 1);
    b->p[b->len] = c;
    b->len++;
}

/* Append a NUL-terminated literal. */
static void
ob_puts(struct outbuf *b, const char *s)
{
    ob_append(b, s, strlen(s));
}

/*
 * Length of the well-formed UTF-8 sequence starting at s (a lead byte >=
 * 0x80), or 0 if it is malformed. Strict RFC 3629: no overlongs, no UTF-16
 * surrogates, nothing above U+10FFFF. Jansson checks strings it parses, but
 * json_stringn_nocheck() and *_nocheck keys let anything through.
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    size_t n;

    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F; /* U+D800..U+DFFF are surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    }
    return n;
}

/*
 * Write a JSON string. Raw runs are copied in one memcpy; only the bytes the
 * spec says to escape break a run.
 */
static bool
encode_string(struct outbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;
    size_t i = 0;

    ob_putc(b, '"');
    while (i < len) {
        unsigned char c = u[i];
        char esc[7];

        if (c >= 0x80) {
            size_t n = utf8_seq_len(u + i, len - i);

            if (n == 0)
                return false;
            i += n;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        ob_append(b, s + run, i - run);
        switch (c) {
        case '"':
            ob_puts(b, "\\\"");
            break;
        case '\\':
            ob_puts(b, "\\\\");
            break;
        case '\b':
            ob_puts(b, "\\b");
            break;
        case '\t':
            ob_puts(b, "\\t");
            break;
        case '\n':
            ob_puts(b, "\\n");
            break;
        case '\f':
            ob_puts(b, "\\f");
            break;
        case '\r':
            ob_puts(b, "\\r");
            break;
        default:
            /* Lowercase hex, as Python's encoder writes it. */
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0x0F];
            ob_append(b, esc, 6);
            break;
        }
        i++;
        run = i;
    }
    ob_append(b, s + run, len - run);
    ob_putc(b, '"');
    return true;
}

/* Write an integer, or fail if it is outside the interoperable range. */
static bool
encode_int(struct outbuf *b, long long n)
{
    char num[24];
    int w;

    if (n < CJSON_INT_MIN || n > CJSON_INT_MAX)
        return false;
    w = snprintf(num, sizeof(num), "%lld", n);
    if (w < 0 || (size_t)w >= sizeof(num))
        return false;
    ob_append(b, num, (size_t)w);
    return true;
}

/*
 * A real is acceptable only if it is an integer in range; the range test
 * comes first (and is written so that NaN fails it) so that the conversion
 * to long long is defined. -0.0 converts to 0, as the spec wants.
 */
static bool
encode_real(struct outbuf *b, double d)
{
    long long n;

    if (!(d >= (double)CJSON_INT_MIN && d <= (double)CJSON_INT_MAX))
        return false;
    n = (long long)d;
    if ((double)n != d)
        return false;
    return encode_int(b, n);
}

/* qsort comparator: bytewise, a proper prefix sorts first. */
static int
member_cmp(const void *pa, const void *pb)
{
    const struct member *a = pa;
    const struct member *b = pb;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int r = memcmp(a->key, b->key, n);

    if (r != 0)
        return r;
    if (a->klen < b->klen)
        return -1;
    if (a->klen > b->klen)
        return 1;
    return 0;
}

/*
 * Jansson's iteration API takes a non-const json_t * although iterating does
 * not modify the object; launder the qualifier through uintptr_t in this one
 * place instead of casting it away at every call.
 */
static json_t *
unconst(const json_t *v)
{
    return (json_t *)(uintptr_t)v;
}

/* Exact key match; keys may contain NUL, so strcmp alone is not enough. */
static bool
key_is(const char *key, size_t klen, const char *name)
{
    return klen == strlen(name) && memcmp(key, name, klen) == 0;
}

static bool encode_value(struct outbuf *b, const json_t *v, int depth);

/*
 * Write an object with sorted keys. With @p signable, skip the members a
 * Matrix signature does not cover.
 */
static bool
encode_object(struct outbuf *b, const json_t *v, int depth, bool signable)
{
    json_t *obj = unconst(v);
    size_t cap = json_object_size(v);
    struct member *m;
    size_t n = 0;
    bool good = true;

    if (cap == 0) {
        ob_puts(b, "{}");
        return true;
    }
    m = xmalloc(cap * sizeof(*m));
    for (void *it = json_object_iter(obj); it != NULL;
         it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);

        if (signable &&
            (key_is(key, klen, "signatures") || key_is(key, klen, "unsigned")))
            continue;
        if (n == cap)
            break; /* cannot happen; guards the array bound */
        m[n].key = key;
        m[n].klen = klen;
        m[n].val = json_object_iter_value(it);
        n++;
    }
    qsort(m, n, sizeof(*m), member_cmp);
    ob_putc(b, '{');
    for (size_t i = 0; i < n && good; i++) {
        if (i > 0)
            ob_putc(b, ',');
        good = encode_string(b, m[i].key, m[i].klen);
        if (good) {
            ob_putc(b, ':');
            good = encode_value(b, m[i].val, depth + 1);
        }
    }
    ob_putc(b, '}');
    free(m);
    return good;
}

/* Write any value; @p depth counts the containers around it. */
static bool
encode_value(struct outbuf *b, const json_t *v, int depth)
{
    size_t n;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (depth >= CJSON_MAX_DEPTH)
            return false;
        return encode_object(b, v, depth, false);
    case JSON_ARRAY:
        if (depth >= CJSON_MAX_DEPTH)
            return false;
        n = json_array_size(v);
        ob_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                ob_putc(b, ',');
            if (!encode_value(b, json_array_get(v, i), depth + 1))
                return false;
        }
        ob_putc(b, ']');
        return true;
    case JSON_STRING:
        return encode_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return encode_int(b, (long long)json_integer_value(v));
    case JSON_REAL:
        return encode_real(b, json_real_value(v));
    case JSON_TRUE:
        ob_puts(b, "true");
        return true;
    case JSON_FALSE:
        ob_puts(b, "false");
        return true;
    case JSON_NULL:
        ob_puts(b, "null");
        return true;
    }
    return false;
}

/* Shared tail of the public encoders: NUL-terminate or discard. */
static char *
finish(struct outbuf *b, bool good, size_t *len_out)
{
    if (!good) {
        free(b->p);
        return NULL;
    }
    ob_putc(b, '\0');
    if (len_out != NULL)
        *len_out = b->len - 1;
    return b->p;
}

char *
cjson_encode(const json_t *v, size_t *len_out)
{
    struct outbuf b = {NULL, 0, 0};

    if (v == NULL)
        return NULL;
    return finish(&b, encode_value(&b, v, 0), len_out);
}

char *
cjson_encode_signable(const json_t *obj, size_t *len_out)
{
    struct outbuf b = {NULL, 0, 0};

    if (obj == NULL || !json_is_object(obj))
        return NULL;
    return finish(&b, encode_object(&b, obj, 0, true), len_out);
}
