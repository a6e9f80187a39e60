/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Header fields on the way out: RFC 2047 encoded-words for non-ASCII text,
 * folding, Content-Type parsing, and the template-variable helpers
 * (Message-ID, Date, boundary, addresses).
 *
 * Encoding follows the field's class. Unstructured fields (Subject, X-...,
 * anything unknown) are split into words at whitespace; each run of words
 * holding non-ASCII becomes encoded-words, the whitespace inside the run
 * encoded with it, so decoding gives back exactly the original text.
 * Address fields encode display names only: an address is never touched,
 * and a non-ASCII address is refused (that would need SMTPUTF8). Structured
 * fields (Content-*, Message-ID, Date, ...) must already be ASCII.
 * Encoded-words are UTF-8, Q or B (whichever is shorter), at most 75
 * octets, never split inside a character, and use only the characters RFC
 * 2047 5(3) allows in a phrase, so one encoder serves every context.
 */
#include "mail/mail.h"
#include "mail/mail_internal.h"
#include "mail/template.h"
#include "util/config.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

/* Longest encoded-word (RFC 2047 2). */
#define EW_MAX        75
/* "=?UTF-8?Q?" and "?=". */
#define EW_PREFIX_LEN 10
#define EW_SUFFIX_LEN 2
/* Shortest encoded-word made: room for one 4-octet character in Q. */
#define EW_MIN        24

enum fclass { FC_UNSTRUCTURED, FC_ADDRESS, FC_STRUCTURED };

static const char *const address_fields[] = {
    "From",      "Sender",    "Reply-To",    "To",
    "Cc",        "Bcc",       "Resent-From", "Resent-Sender",
    "Resent-To", "Resent-Cc", "Resent-Bcc",  "Disposition-Notification-To",
};

static const char *const structured_fields[] = {
    "Date",        "Message-ID",        "In-Reply-To",  "References",
    "Resent-Date", "Resent-Message-ID", "MIME-Version", "Received",
    "Return-Path", "DKIM-Signature",
};

static bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

static char
lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool
is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

bool
mh_name_is(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        if (lower(*a) != lower(*b))
            return false;
        a++;
        b++;
    }
    return *a == *b;
}

/* Case-insensitive "does name start with prefix". */
static bool
name_has_prefix(const char *name, const char *prefix)
{
    while (*prefix != '\0') {
        if (lower(*name) != lower(*prefix))
            return false;
        name++;
        prefix++;
    }
    return true;
}

bool
mh_is_ascii(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

bool
mh_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned char c = p[i];
        size_t need;
        uint32_t cp;
        size_t k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (n - i <= need)
            return false;
        for (k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0u) != 0x80u)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3fu);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += need + 1;
    }
    return true;
}

/* Length of the (valid) UTF-8 character starting with c. */
static size_t
utf8_char_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c < 0xe0)
        return 2;
    if (c < 0xf0)
        return 3;
    return 4;
}

bool
mh_addr_valid(const char *s, size_t n)
{
    size_t at = n;
    size_t i;

    if (n < 3 || n > 254)
        return false;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 32 || c >= 127 || strchr("()<>,;:\\\"[]", c) != NULL)
            return false;
        if (c == '@') {
            if (at != n)
                return false;
            at = i;
        }
    }
    if (at == n || at == 0 || at > 64 || at == n - 1)
        return false;
    return s[at + 1] != '.' && s[n - 1] != '.';
}

static enum fclass
field_class(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(address_fields) / sizeof(address_fields[0]); i++)
        if (mh_name_is(name, address_fields[i]))
            return FC_ADDRESS;
    for (i = 0; i < sizeof(structured_fields) / sizeof(structured_fields[0]);
         i++)
        if (mh_name_is(name, structured_fields[i]))
            return FC_STRUCTURED;
    if (name_has_prefix(name, "Content-") || name_has_prefix(name, "List-"))
        return FC_STRUCTURED;
    return FC_UNSTRUCTURED;
}

/* ---- folding ----------------------------------------------------------- */

/* Lays tokens out on lines. A token carries the whitespace before it; a
 * line is broken only there (RFC 5322 folding: CRLF inserted before
 * whitespace), so unfolding restores the value exactly. */
struct folder {
    struct buf *out;
    size_t col;     /* octets on the current line */
    bool started;   /* a token follows the field name on this field */
    bool too_long;  /* a line went past MAIL_LINE_MAX */
    bool too_large; /* the output buffer's cap was hit */
    size_t reserve; /* octets that will follow the token without a break */
};

static void
fold_raw(struct folder *f, const char *s, size_t n)
{
    if (buf_append(f->out, s, n) != 0)
        f->too_large = true;
}

static void
fold_put(struct folder *f,
         const char *sep,
         size_t seplen,
         const char *text,
         size_t textlen)
{
    if (f->started && seplen > 0 &&
        f->col + seplen + textlen + f->reserve > MAIL_LINE_SOFT) {
        fold_raw(f, "\r\n", 2);
        f->col = 0;
    }
    fold_raw(f, sep, seplen);
    fold_raw(f, text, textlen);
    f->col += seplen + textlen;
    f->started = true;
    if (f->col > MAIL_LINE_MAX)
        f->too_long = true;
}

/* Emit n octets of ASCII text as words, keeping its whitespace; the first
 * word gets first_sep instead of the whitespace before it. */
static void
put_ascii_words(struct folder *f,
                const char *s,
                size_t n,
                const char *first_sep)
{
    size_t i = 0;
    bool first = true;

    while (i < n) {
        size_t sep_start = i;
        size_t word_start;

        while (i < n && is_wsp(s[i]))
            i++;
        word_start = i;
        while (i < n && !is_wsp(s[i]))
            i++;
        if (word_start == i)
            break; /* trailing whitespace */
        if (first)
            fold_put(f, first_sep, strlen(first_sep), s + word_start,
                     i - word_start);
        else
            fold_put(f, s + sep_start, word_start - sep_start, s + word_start,
                     i - word_start);
        first = false;
    }
}

/* ---- encoded-words ------------------------------------------------------ */

/* Octets RFC 2047 5(3) lets a Q encoded-word carry as themselves. */
static bool
q_literal(unsigned char c)
{
    return is_alnum(c) || c == '!' || c == '*' || c == '+' || c == '-' ||
           c == '/';
}

static size_t
q_cost(unsigned char c)
{
    return (c == ' ' || q_literal(c)) ? 1 : 3;
}

/* Emit the n octets of UTF-8 text at s as encoded-words; the first gets
 * sep before it, later ones a single space (ignored between encoded-words
 * when decoding). */
static void
put_encoded(
    struct folder *f, const char *sep, size_t seplen, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    size_t qtotal = 0;
    bool use_b;
    size_t i;
    bool first = true;

    for (i = 0; i < n; i++)
        qtotal += q_cost(p[i]);
    use_b = 4 * ((n + 2) / 3) < qtotal;

    i = 0;
    while (i < n) {
        char word[EW_MAX + 8];
        size_t wl = EW_PREFIX_LEN;
        size_t start = i;
        size_t payload = 0;
        size_t max_len = EW_MAX;
        size_t max_payload;

        /* The field name's line cannot be folded before its first word:
         * make that word fit the line. */
        if (first && !f->started) {
            size_t used = f->col + seplen;
            size_t room = MAIL_LINE_SOFT > used ? MAIL_LINE_SOFT - used : 0;

            if (room < max_len)
                max_len = room < EW_MIN ? EW_MIN : room;
        }
        max_payload = max_len - EW_PREFIX_LEN - EW_SUFFIX_LEN;
        memcpy(word, use_b ? "=?UTF-8?B?" : "=?UTF-8?Q?", EW_PREFIX_LEN);
        /* Whole characters only (RFC 2047 5: an encoded-word must not
         * split a character); a single one always fits. */
        while (i < n) {
            size_t cl = utf8_char_len(p[i]);
            size_t cost = 0;
            size_t k;

            if (cl > n - i)
                cl = n - i;
            if (use_b) {
                if (i - start + cl > max_payload / 4 * 3 && i > start)
                    break;
            } else {
                for (k = 0; k < cl; k++)
                    cost += q_cost(p[i + k]);
                if (payload + cost > max_payload && i > start)
                    break;
                payload += cost;
            }
            i += cl;
        }
        if (use_b) {
            sodium_bin2base64(word + wl, sizeof(word) - wl, p + start,
                              i - start, sodium_base64_VARIANT_ORIGINAL);
            wl += strlen(word + wl);
        } else {
            size_t k;

            for (k = start; k < i; k++) {
                if (p[k] == ' ') {
                    word[wl++] = '_';
                } else if (q_literal(p[k])) {
                    word[wl++] = (char)p[k];
                } else {
                    word[wl++] = '=';
                    word[wl++] = hex[p[k] >> 4];
                    word[wl++] = hex[p[k] & 0x0f];
                }
            }
        }
        memcpy(word + wl, "?=", EW_SUFFIX_LEN);
        wl += EW_SUFFIX_LEN;
        if (first)
            fold_put(f, sep, seplen, word, wl);
        else
            fold_put(f, " ", 1, word, wl);
        first = false;
    }
}

/* ---- unstructured fields ---------------------------------------------- */

struct word {
    size_t sep_start; /* whitespace before the word starts here */
    size_t start;
    size_t end;
    bool non_ascii;
};

/* Is this ASCII word an encoded-word (RFC 2047 2: "=?" charset "?"
 * encoding "?" encoded-text "?=")? Then the whitespace between it and one
 * of ours must be encoded too, or decoding would drop it (RFC 2047 6.2). */
static bool
looks_encoded(const char *v, const struct word *w)
{
    const char *s = v + w->start;
    size_t n = w->end - w->start;
    size_t i = 2;
    size_t k;

    if (n < 8 || s[0] != '=' || s[1] != '?' || s[n - 2] != '?' ||
        s[n - 1] != '=')
        return false;
    while (i < n && s[i] != '?')
        i++;
    if (i == 2 || i + 5 > n || s[i + 2] != '?' ||
        strchr("BbQq", s[i + 1]) == NULL)
        return false;
    for (k = i + 3; k < n - 2; k++)
        if (s[k] == '?')
            return false;
    return true;
}

static void
put_unstructured(struct folder *f, const char *v)
{
    size_t n = strlen(v);
    struct word *w = xcalloc(n / 2 + 2, sizeof(*w));
    size_t nw = 0;
    size_t i = 0;
    size_t k;
    bool space_before_next = false;

    while (i < n) {
        w[nw].sep_start = i;
        while (i < n && is_wsp(v[i]))
            i++;
        w[nw].start = i;
        while (i < n && !is_wsp(v[i]))
            i++;
        w[nw].end = i;
        if (w[nw].start == w[nw].end)
            break;
        w[nw].non_ascii = !mh_is_ascii(v + w[nw].start, i - w[nw].start);
        nw++;
    }

    k = 0;
    while (k < nw) {
        const char *sep = " ";
        size_t seplen = 1;
        size_t j;
        size_t run_start;
        size_t run_end;

        if (k > 0 && !space_before_next) {
            sep = v + w[k].sep_start;
            seplen = w[k].start - w[k].sep_start;
        }
        space_before_next = false;
        if (!w[k].non_ascii) {
            fold_put(f, sep, seplen, v + w[k].start, w[k].end - w[k].start);
            k++;
            continue;
        }
        j = k;
        while (j + 1 < nw && w[j + 1].non_ascii)
            j++;
        run_start = w[k].start;
        run_end = w[j].end;
        if (k > 0 && looks_encoded(v, &w[k - 1])) {
            run_start = w[k].sep_start;
            sep = " ";
            seplen = 1;
        }
        if (j + 1 < nw && looks_encoded(v, &w[j + 1])) {
            run_end = w[j + 1].start;
            space_before_next = true;
        }
        put_encoded(f, sep, seplen, v + run_start, run_end - run_start);
        k = j + 1;
    }
    free(w);
}

/* ---- address fields ---------------------------------------------------- */

/* Index of the first top-level octet of v[from..to) in stops (outside
 * quoted strings and comments, and outside <...> if skip_angle), or `to`.
 * Sets *bad on an unterminated quote or comment. */
static size_t
scan_top(const char *v,
         size_t from,
         size_t to,
         const char *stops,
         bool skip_angle,
         bool *bad)
{
    size_t i = from;
    int depth = 0;
    bool quoted = false;
    bool angle = false;

    for (; i < to; i++) {
        char c = v[i];

        if (c == '\\' && (quoted || depth > 0)) {
            i++;
            continue;
        }
        if (quoted) {
            if (c == '"')
                quoted = false;
            continue;
        }
        if (depth > 0) {
            if (c == '(')
                depth++;
            else if (c == ')')
                depth--;
            continue;
        }
        if (angle) {
            if (c == '>')
                angle = false;
            continue;
        }
        if (strchr(stops, c) != NULL)
            return i;
        if (c == '"')
            quoted = true;
        else if (c == '(')
            depth++;
        else if (c == '<' && skip_angle)
            angle = true;
    }
    if (quoted || depth > 0)
        *bad = true;
    return to;
}

static void
trim(const char *v, size_t *a, size_t *b)
{
    while (*a < *b && is_wsp(v[*a]))
        (*a)++;
    while (*b > *a && is_wsp(v[*b - 1]))
        (*b)--;
}

/* The text of a display name: quoted strings unquoted, escapes resolved.
 * Caller frees. */
static char *
phrase_text(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;
    size_t i;
    bool quoted = false;

    for (i = 0; i < n; i++) {
        if (s[i] == '"') {
            quoted = !quoted;
            continue;
        }
        if (quoted && s[i] == '\\' && i + 1 < n)
            i++;
        out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

static int
put_addresses(struct folder *f, const char *name, const char *v, char *err)
{
    size_t n = strlen(v);
    size_t pos = 0;
    bool bad = false;
    bool first = true;

    if (scan_top(v, 0, n, ":;", true, &bad) != n || bad) {
        snprintf(err, MH_ERR_SIZE,
                 "non-ASCII text in the %s field outside a display name", name);
        return -1;
    }
    while (pos <= n) {
        size_t end = scan_top(v, pos, n, ",", true, &bad);
        size_t a = pos;
        size_t b = end;
        size_t lt;

        size_t k;

        trim(v, &a, &b);
        pos = end + 1;
        if (a == b)
            continue; /* empty list element (obsolete syntax) */
        if (!first) {
            f->reserve = 0;
            fold_put(f, "", 0, ",", 1);
        }
        /* Keep room for the "," that follows if another address does. */
        for (k = end; k < n && (v[k] == ',' || is_wsp(v[k])); k++)
            ;
        f->reserve = k < n ? 1 : 0;
        lt = scan_top(v, a, b, "<", false, &bad);
        if (lt < b) {
            const char *gt = memchr(v + lt, '>', b - lt);
            size_t da = a;
            size_t db = lt;
            size_t ra;
            size_t rb = b;

            if (gt == NULL) {
                snprintf(err, MH_ERR_SIZE, "unterminated <address> in %s",
                         name);
                return -1;
            }
            ra = (size_t)(gt - v) + 1;
            trim(v, &da, &db);
            trim(v, &ra, &rb);
            if (!mh_is_ascii(v + lt, ra - lt) ||
                !mh_is_ascii(v + ra, rb - ra)) {
                snprintf(err, MH_ERR_SIZE,
                         "non-ASCII address in the %s field (SMTPUTF8 is "
                         "not supported)",
                         name);
                return -1;
            }
            if (da < db && mh_is_ascii(v + da, db - da)) {
                put_ascii_words(f, v + da, db - da, " ");
            } else if (da < db) {
                char *text = phrase_text(v + da, db - da);

                put_encoded(f, " ", 1, text, strlen(text));
                free(text);
            }
            fold_put(f, " ", 1, v + lt, ra - lt);
            if (ra < rb)
                put_ascii_words(f, v + ra, rb - ra, " ");
        } else {
            if (!mh_is_ascii(v + a, b - a)) {
                snprintf(err, MH_ERR_SIZE,
                         "non-ASCII address in the %s field (SMTPUTF8 is "
                         "not supported)",
                         name);
                return -1;
            }
            put_ascii_words(f, v + a, b - a, " ");
        }
        first = false;
    }
    f->reserve = 0;
    if (bad) {
        snprintf(err, MH_ERR_SIZE, "unterminated quote or comment in %s", name);
        return -1;
    }
    return 0;
}

int
mh_write_field(struct buf *out, const char *name, const char *value, char *err)
{
    struct folder f;
    size_t n = strlen(value);
    size_t i;
    int rc = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            snprintf(err, MH_ERR_SIZE, "control character in the %s field",
                     name);
            return -1;
        }
    }
    f.out = out;
    f.col = strlen(name) + 1;
    f.started = false;
    f.too_long = false;
    f.too_large = false;
    f.reserve = 0;
    fold_raw(&f, name, strlen(name));
    fold_raw(&f, ":", 1);
    if (mh_is_ascii(value, n)) {
        put_ascii_words(&f, value, n, " ");
    } else if (!mh_utf8_valid(value, n)) {
        snprintf(err, MH_ERR_SIZE, "the %s field is not valid UTF-8", name);
        return -1;
    } else {
        switch (field_class(name)) {
        case FC_STRUCTURED:
            snprintf(err, MH_ERR_SIZE, "non-ASCII text in the %s field", name);
            return -1;
        case FC_ADDRESS:
            rc = put_addresses(&f, name, value, err);
            break;
        case FC_UNSTRUCTURED:
            put_unstructured(&f, value);
            break;
        }
        if (rc != 0)
            return -1;
    }
    fold_raw(&f, "\r\n", 2);
    if (f.too_long) {
        snprintf(err, MH_ERR_SIZE,
                 "the %s field has a word too long to fold under %d octets",
                 name, MAIL_LINE_MAX);
        return -1;
    }
    if (f.too_large) {
        snprintf(err, MH_ERR_SIZE, "message too large");
        return -1;
    }
    return 0;
}

/* ---- Content-Type -------------------------------------------------------- */

static bool
is_token_char(char c)
{
    unsigned char u = (unsigned char)c;

    return u > 32 && u < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Skip whitespace and (nested) comments. */
static const char *
skip_cfws(const char *p)
{
    for (;;) {
        while (is_wsp(*p))
            p++;
        if (*p != '(')
            return p;
        {
            int depth = 0;

            do {
                if (*p == '\\' && p[1] != '\0')
                    p++;
                else if (*p == '(')
                    depth++;
                else if (*p == ')')
                    depth--;
                p++;
            } while (*p != '\0' && depth > 0);
            if (depth > 0)
                return p;
        }
    }
}

/* Copy a lower-cased token into out (size outlen). @return the end of the
 * token, or NULL if there is none or it does not fit. */
static const char *
read_token(const char *p, char *out, size_t outlen)
{
    size_t n = 0;

    while (is_token_char(*p)) {
        if (n + 1 >= outlen)
            return NULL;
        out[n++] = lower(*p);
        p++;
    }
    out[n] = '\0';
    return n == 0 ? NULL : p;
}

int
mh_parse_ctype(const char *value, struct mh_ctype *ct)
{
    const char *p;

    strcpy(ct->type, "text");
    strcpy(ct->subtype, "plain");
    ct->boundary = NULL;
    ct->has_charset = false;
    if (value == NULL)
        return 0;
    p = skip_cfws(value);
    p = read_token(p, ct->type, sizeof(ct->type));
    if (p == NULL || *p != '/')
        return -1;
    p = read_token(p + 1, ct->subtype, sizeof(ct->subtype));
    if (p == NULL)
        return -1;
    for (;;) {
        char pname[64];
        char *pval;
        size_t n = 0;

        p = skip_cfws(p);
        if (*p == '\0')
            return 0;
        if (*p != ';')
            goto bad;
        p = skip_cfws(p + 1);
        if (*p == '\0')
            return 0; /* a trailing ';' is common and harmless */
        p = read_token(p, pname, sizeof(pname));
        if (p == NULL)
            goto bad;
        p = skip_cfws(p);
        if (*p != '=')
            goto bad;
        p = skip_cfws(p + 1);
        pval = xmalloc(strlen(p) + 1);
        if (*p == '"') {
            p++;
            while (*p != '"') {
                if (*p == '\0') {
                    free(pval);
                    goto bad;
                }
                if (*p == '\\' && p[1] != '\0')
                    p++;
                pval[n++] = *p++;
            }
            p++;
        } else {
            while (is_token_char(*p))
                pval[n++] = *p++;
        }
        pval[n] = '\0';
        if (strcmp(pname, "boundary") == 0 && ct->boundary == NULL)
            ct->boundary = pval;
        else
            free(pval);
        if (strcmp(pname, "charset") == 0)
            ct->has_charset = true;
    }
bad:
    XFREE(ct->boundary);
    return -1;
}

/* ---- template-variable helpers ---------------------------------------- */

static const char alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static void
random_alnum(char *out, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        out[i] = alnum[randombytes_uniform((uint32_t)(sizeof(alnum) - 1))];
    out[n] = '\0';
}

/* A domain we are willing to put in a Message-ID. */
static bool
plausible_domain(const char *d)
{
    size_t n;
    size_t i;

    if (d == NULL)
        return false;
    n = strlen(d);
    if (n == 0 || n > 255 || d[0] == '.' || d[n - 1] == '.')
        return false;
    for (i = 0; i < n; i++)
        if (!is_alnum((unsigned char)d[i]) && d[i] != '-' && d[i] != '.' &&
            d[i] != '_')
            return false;
    return true;
}

void
mail_make_message_id(char *out, size_t outlen, const char *domain)
{
    struct timespec ts;
    long long ms;
    char rnd[17];

    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    random_alnum(rnd, 16);
    if (!plausible_domain(domain))
        domain = "localhost";
    snprintf(out, outlen, "<%lld.%s@%s>", ms, rnd, domain);
}

void
mail_make_date(char *out, size_t outlen)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
mail_make_boundary(char out[MAIL_BOUNDARY_LEN + 1])
{
    random_alnum(out, MAIL_BOUNDARY_LEN);
}

char *
mail_address_of(const char *s)
{
    size_t n = strlen(s);
    size_t a = 0;
    size_t b = n;
    bool bad = false;
    size_t lt = scan_top(s, 0, n, "<", false, &bad);

    if (bad)
        return NULL;
    if (lt < n) {
        const char *gt = memchr(s + lt, '>', n - lt);

        if (gt == NULL)
            return NULL;
        a = lt + 1;
        b = (size_t)(gt - s);
    }
    trim(s, &a, &b);
    if (!mh_addr_valid(s + a, b - a))
        return NULL;
    return xstrndup(s + a, b - a);
}

char *
mail_domain_of(const char *s)
{
    char *addr = mail_address_of(s);
    char *dom;

    if (addr == NULL)
        return NULL;
    dom = xstrdup(strrchr(addr, '@') + 1);
    free(addr);
    return dom;
}

void
mail_vars_envelope(struct tmpl_vars *v,
                   const struct config *cfg,
                   const char *to)
{
    char msgid[MAIL_MSGID_SIZE];
    char date[MAIL_DATE_SIZE];
    char boundary[MAIL_BOUNDARY_LEN + 1];
    char *domain = cfg->email_hostname != NULL
                       ? xstrdup(cfg->email_hostname)
                       : mail_domain_of(cfg->email_from);

    mail_make_message_id(msgid, sizeof(msgid), domain);
    free(domain);
    mail_make_date(date, sizeof(date));
    mail_make_boundary(boundary);
    tmpl_vars_set(v, "to", to);
    tmpl_vars_set(v, "from", cfg->email_from);
    tmpl_vars_set(v, "messageid", msgid);
    tmpl_vars_set(v, "date", date);
    tmpl_vars_set(v, "multipart_boundary", boundary);
}
