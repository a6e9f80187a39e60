/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Address lists, client addresses, rate-limit keys; see netaddr.h. */
#include "util/netaddr.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct net {
    unsigned char addr[16]; /* IPv4 as IPv4-mapped IPv6 */
    int prefix;             /* bits, of the 128 */
};

struct netlist {
    struct net *nets;
    size_t n;
};

/* Parse text into 16 bytes (IPv4 mapped). @return 0, or -1. */
static int
parse_ip(const char *s, unsigned char out[16], bool *v4)
{
    struct in_addr a4;

    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = 0xff;
        out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        *v4 = true;
        return 0;
    }
    *v4 = false;
    return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

struct netlist *
netlist_parse(const char *spec, char **why)
{
    struct netlist *l = xcalloc(1, sizeof(*l));
    char *copy;
    char *save = NULL;

    *why = NULL;
    if (spec == NULL)
        return l;
    copy = xstrdup(spec);
    for (char *tok = strtok_r(copy, ", \t", &save); tok != NULL;
         tok = strtok_r(NULL, ", \t", &save)) {
        char *slash = strchr(tok, '/');
        struct net n;
        bool v4;

        if (slash != NULL)
            *slash = '\0';
        if (parse_ip(tok, n.addr, &v4) != 0) {
            *why = xasprintf("\"%s\" is not an IP address", tok);
            break;
        }
        n.prefix = 128;
        if (slash != NULL) {
            char *end = NULL;
            long p = strtol(slash + 1, &end, 10);

            if (*end != '\0' || p < 0 || p > (v4 ? 32 : 128)) {
                *why = xasprintf("\"%s\" is not a prefix length", slash + 1);
                break;
            }
            n.prefix = (int)p + (v4 ? 96 : 0);
        }
        l->nets = xrealloc(l->nets, (l->n + 1) * sizeof(*l->nets));
        l->nets[l->n++] = n;
    }
    free(copy);
    if (*why != NULL) {
        netlist_free(l);
        return NULL;
    }
    return l;
}

void
netlist_free(struct netlist *l)
{
    if (l == NULL)
        return;
    free(l->nets);
    free(l);
}

static bool
in_net(const struct net *n, const unsigned char a[16])
{
    int full = n->prefix / 8;
    int rest = n->prefix % 8;

    if (memcmp(n->addr, a, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((n->addr[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool
netlist_contains(const struct netlist *l, const char *ip)
{
    unsigned char a[16];
    bool v4;

    if (l == NULL || parse_ip(ip, a, &v4) != 0)
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (in_net(&l->nets[i], a))
            return true;
    return false;
}

int
netaddr_format(const struct sockaddr *sa, char *out, size_t outlen)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)sa;

        return inet_ntop(AF_INET, &s4->sin_addr, out, (socklen_t)outlen) != NULL
                   ? 0
                   : -1;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const void *)sa;

        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
            return inet_ntop(AF_INET, s6->sin6_addr.s6_addr + 12, out,
                             (socklen_t)outlen) != NULL
                       ? 0
                       : -1;
        return inet_ntop(AF_INET6, &s6->sin6_addr, out, (socklen_t)outlen) !=
                       NULL
                   ? 0
                   : -1;
    }
    return -1;
}

/* Trim spaces and tabs around s in place. */
static char *
trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

void
netaddr_client(const char *peer,
               const char *xff,
               const struct netlist *trusted,
               char *out,
               size_t outlen)
{
    char *copy;
    char **hops = NULL;
    size_t n = 0;
    char *save = NULL;

    snprintf(out, outlen, "%s", peer);
    if (xff == NULL || !netlist_contains(trusted, peer))
        return;
    copy = xstrdup(xff);
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        hops = xrealloc(hops, (n + 1) * sizeof(*hops));
        hops[n++] = trim(tok);
    }
    /* Right to left: each proxy appended the address it saw. The first one
     * that is not a trusted proxy is the client; garbage stops the walk. */
    for (size_t i = n; i > 0; i--) {
        unsigned char a[16];
        bool v4;

        if (parse_ip(hops[i - 1], a, &v4) != 0)
            break;
        snprintf(out, outlen, "%s", hops[i - 1]);
        if (!netlist_contains(trusted, hops[i - 1]))
            break;
    }
    free(hops);
    free(copy);
}

void
netaddr_limit_key(const char *ip, char *out, size_t outlen)
{
    unsigned char a[16];
    bool v4;
    char text[INET6_ADDRSTRLEN];

    if (parse_ip(ip, a, &v4) != 0 || v4) {
        snprintf(out, outlen, "%s", ip);
        return;
    }
    if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)a)) {
        /* ::ffff:a.b.c.d is an IPv4 client (dual-stack proxies write
         * these): key it as one, not as the /64 every such address shares. */
        inet_ntop(AF_INET, a + 12, text, sizeof(text));
        snprintf(out, outlen, "%s", text);
        return;
    }
    memset(a + 8, 0, 8);
    inet_ntop(AF_INET6, a, text, sizeof(text));
    snprintf(out, outlen, "%s/64", text);
}
