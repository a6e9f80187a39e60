/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Email syntax and case-folding; see email.h. The accepted syntax is the
 * dot-atom form of RFC 5322 with UTF-8 allowed (RFC 6531): no quoted local
 * parts, comments, address literals or whitespace. Case folding is Unicode
 * full folding (libunistring's u8_casefold, the same as Python's
 * str.casefold()), so "Strauß" and "STRAUSS" are one address.
 */
#include "util/email.h"
#include "util/mem.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unistr.h>

#define EMAIL_MAX       254 /* RFC 5321 path limit, minus the brackets */
#define EMAIL_LOCAL_MAX 64

/* atext of RFC 5322, plus any UTF-8 byte (already checked for validity). */
static bool
local_char(unsigned char c)
{
    if (c >= 0x80)
        return true;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

static bool
domain_char(unsigned char c)
{
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-';
}

/* Dot-separated non-empty runs of allowed characters. */
static bool
dotted(const char *s,
       size_t n,
       bool (*allowed)(unsigned char),
       size_t max_label)
{
    size_t label = 0;

    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!allowed(c))
            return false;
        if (++label > max_label)
            return false;
    }
    return true;
}

int
email_casefold(const char *in, char **out)
{
    size_t len = strlen(in);
    uint8_t *folded;
    size_t folded_len = 0;

    *out = NULL;
    if (len == 0 || len > EMAIL_MAX ||
        u8_check((const uint8_t *)in, len) != NULL)
        return -1;
    folded =
        u8_casefold((const uint8_t *)in, len, NULL, NULL, NULL, &folded_len);
    if (folded == NULL || folded_len == 0) {
        free(folded);
        return -1;
    }
    *out = xstrndup((const char *)folded, folded_len);
    free(folded);
    return 0;
}

int
email_canonicalise(const char *in, char **out)
{
    size_t len = strlen(in);
    const char *at = strchr(in, '@');
    size_t local_len;
    const char *domain;
    size_t domain_len;

    *out = NULL;
    if (len == 0 || len > EMAIL_MAX || at == NULL || strchr(at + 1, '@'))
        return -1;
    if (u8_check((const uint8_t *)in, len) != NULL)
        return -1;
    local_len = (size_t)(at - in);
    domain = at + 1;
    domain_len = strlen(domain);
    if (local_len == 0 || local_len > EMAIL_LOCAL_MAX)
        return -1;
    if (!dotted(in, local_len, local_char, EMAIL_LOCAL_MAX))
        return -1;
    /* Labels may not start or end with a hyphen. */
    if (!dotted(domain, domain_len, domain_char, 63) || domain[0] == '-' ||
        domain[domain_len - 1] == '-' || strstr(domain, ".-") != NULL ||
        strstr(domain, "-.") != NULL)
        return -1;
    if (email_casefold(in, out) != 0)
        return -1;
    if (strlen(*out) > EMAIL_MAX) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}
