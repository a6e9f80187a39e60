/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Server names and user ids (S-S appendix "Server name", C-S "User
 * identifiers"). A server name from a client decides where glia connects,
 * so the parser is strict: the grammar's dns-name admits strings that
 * getaddrinfo() reads as addresses ("127.1", "0x7f000001"), and those are
 * refused here even though the address guard would catch them later.
 */
#include "fed/fed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define LABEL_MAX  63
#define USERID_MAX 255

static bool
is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool
is_hex(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool
is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static char
lower(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return (char)(ch - 'A' + 'a');
    return ch;
}

/* A strict dotted quad: four decimal parts 0-255, no leading zeros (which
 * some parsers, curl's among them, read as octal). */
static bool
is_ipv4_literal(const char *h, size_t len)
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        size_t start = i;
        unsigned int v = 0;

        if (part > 0) {
            if (i >= len || h[i] != '.')
                return false;
            i++;
            start = i;
        }
        while (i < len && is_digit(h[i]) && i - start < 3) {
            v = v * 10 + (unsigned int)(h[i] - '0');
            i++;
        }
        if (i == start || v > 255)
            return false;
        if (h[start] == '0' && i - start > 1)
            return false;
    }
    return i == len;
}

/* The inside of "[...]": IPv6 characters only (no zone id), then
 * inet_pton() decides. */
static bool
is_ipv6_literal(const char *h, size_t len)
{
    char tmp[64];
    struct in6_addr a;

    if (len < 2 || len > 45)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_hex(h[i]) && h[i] != ':' && h[i] != '.')
            return false;
    }
    memcpy(tmp, h, len);
    tmp[len] = '\0';
    return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* A label that inet_aton() would take as a number: decimal (or octal with a
 * leading 0) digits, or 0x and hex digits. */
static bool
is_numeric_label(const char *l, size_t len)
{
    size_t i = 0;

    if (len >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X')) {
        for (i = 2; i < len; i++) {
            if (!is_hex(l[i]))
                return false;
        }
        return true;
    }
    for (i = 0; i < len; i++) {
        if (!is_digit(l[i]))
            return false;
    }
    return true;
}

/* LDH labels of 1-63 characters separated by single dots, no trailing dot,
 * and a last label that is not a number (no top-level domain is, and a
 * numeric last label is how "127.1" and "0x7f000001" become addresses). */
static bool
is_dns_name(const char *h, size_t len)
{
    size_t start = 0;

    if (len == 0)
        return false;
    for (size_t i = 0; i <= len; i++) {
        size_t n;

        if (i < len && h[i] != '.') {
            if (!is_alpha(h[i]) && !is_digit(h[i]) && h[i] != '-')
                return false;
            continue;
        }
        n = i - start;
        if (n == 0 || n > LABEL_MAX)
            return false;
        if (h[start] == '-' || h[i - 1] == '-')
            return false;
        if (i == len && is_numeric_label(h + start, n))
            return false;
        start = i + 1;
    }
    return true;
}

/* ":port": 1-65535 in decimal, no sign, no leading zero. */
static bool
parse_port(const char *p, uint16_t *out)
{
    unsigned long v = 0;
    size_t n = 0;

    if (p[0] == '0')
        return false;
    while (is_digit(p[n])) {
        if (n == 5)
            return false;
        v = v * 10 + (unsigned long)(p[n] - '0');
        n++;
    }
    if (n == 0 || p[n] != '\0' || v == 0 || v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

bool
fed_server_name_parse(const char *s, struct fed_server_name *out)
{
    size_t len;
    size_t hostlen;
    const char *rest;
    bool ip = false;

    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return false;
    len = strlen(s);
    if (len == 0 || len > FED_NAME_MAX)
        return false;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || !is_ipv6_literal(s + 1, (size_t)(close - s) - 1))
            return false;
        hostlen = (size_t)(close - s) + 1;
        ip = true;
    } else {
        const char *colon = strchr(s, ':');

        hostlen = colon == NULL ? len : (size_t)(colon - s);
        if (is_ipv4_literal(s, hostlen))
            ip = true;
        else if (!is_dns_name(s, hostlen))
            return false;
    }

    rest = s + hostlen;
    if (*rest == ':') {
        if (!parse_port(rest + 1, &out->port))
            return false;
        out->has_port = true;
    } else if (*rest != '\0') {
        return false;
    }
    for (size_t i = 0; i < hostlen; i++)
        out->host[i] = lower(s[i]);
    out->host[hostlen] = '\0';
    out->is_ip_literal = ip;
    return true;
}

bool
fed_server_name_format(const struct fed_server_name *n,
                       char *out,
                       size_t outlen)
{
    int w;

    if (n->has_port)
        w = snprintf(out, outlen, "%s:%u", n->host, (unsigned int)n->port);
    else
        w = snprintf(out, outlen, "%s", n->host);
    return w >= 0 && (size_t)w < outlen;
}

bool
fed_user_id_parse(const char *user_id,
                  size_t *localpart_len,
                  struct fed_server_name *domain)
{
    struct fed_server_name tmp;
    const char *colon;
    size_t n;

    if (user_id == NULL || user_id[0] != '@')
        return false;
    if (strlen(user_id) > USERID_MAX)
        return false;
    colon = strchr(user_id, ':');
    if (colon == NULL)
        return false;
    n = (size_t)(colon - user_id) - 1;
    if (n == 0)
        return false;
    for (size_t i = 1; i <= n; i++) {
        /* printable ASCII; ':' cannot occur before the first colon */
        if (user_id[i] < 0x21 || user_id[i] > 0x7e)
            return false;
    }
    if (!fed_server_name_parse(colon + 1, domain != NULL ? domain : &tmp))
        return false;
    if (localpart_len != NULL)
        *localpart_len = n;
    return true;
}
