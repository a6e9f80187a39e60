/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SRV lookups for server discovery (_matrix-fed._tcp, _matrix._tcp) with
 * glibc's libresolv: res_nquery() on a per-call resolver state (thread-safe,
 * with shorter timeouts than the system's), ns_initparse()/ns_parserr() to
 * walk the answer, and RFC 2782's priority/weight ordering. The targets are
 * only names: libcurl resolves them on connect, under the address guard.
 */
/* libresolv's types (u_char...) and res_n* need the BSD/GNU extensions. */
#define _DEFAULT_SOURCE 1

#include "fed/fed_internal.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

#include <sodium.h>

/* Resolver timeouts: seconds per try, and tries per name server. */
#define SRV_RETRANS 2
#define SRV_RETRY   2

/* A target must be a plain host name: it ends up in a libcurl CONNECT_TO
 * string, where ':' or other characters would change its meaning. */
static bool
clean_target(char *t)
{
    size_t n = strlen(t);

    if (n > 0 && t[n - 1] == '.')
        t[--n] = '\0';
    for (size_t i = 0; i < n; i++) {
        char ch = t[i];

        if (ch >= 'A' && ch <= 'Z')
            t[i] = (char)(ch - 'A' + 'a');
        else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                   ch == '-' || ch == '.' || ch == '_'))
            return false;
    }
    return true;
}

int
fed_srv_parse(const unsigned char *msg,
              size_t len,
              struct fed_srv *out,
              size_t max)
{
    ns_msg h;
    int count;
    size_t kept = 0;

    if (len > 65535 || ns_initparse(msg, (int)len, &h) != 0)
        return -1;
    count = ns_msg_count(h, ns_s_an);
    for (int i = 0; i < count && kept < max; i++) {
        ns_rr rr;
        const unsigned char *rd;
        char name[NS_MAXDNAME];
        struct fed_srv *s = &out[kept];

        if (ns_parserr(&h, ns_s_an, i, &rr) != 0)
            return -1;
        if (ns_rr_type(rr) != ns_t_srv || ns_rr_class(rr) != ns_c_in)
            continue; /* e.g. the CNAME chain leading to the SRV set */
        if (ns_rr_rdlen(rr) < 7)
            return -1;
        rd = ns_rr_rdata(rr);
        if (dn_expand(ns_msg_base(h), ns_msg_end(h), rd + 6, name,
                      sizeof(name)) < 0)
            return -1;
        if (strlen(name) > FED_NAME_MAX || !clean_target(name))
            continue;
        s->priority = (uint16_t)ns_get16(rd);
        s->weight = (uint16_t)ns_get16(rd + 2);
        s->port = (uint16_t)ns_get16(rd + 4);
        memcpy(s->target, name, strlen(name) + 1);
        kept++;
    }
    return (int)kept;
}

int
fed_srv_lookup(const char *qname, struct fed_srv *out, size_t max)
{
    struct __res_state st;
    unsigned char answer[8192];
    int n;

    memset(&st, 0, sizeof(st));
    if (res_ninit(&st) != 0)
        return 0;
    st.retrans = SRV_RETRANS;
    st.retry = SRV_RETRY;
    n = res_nquery(&st, qname, ns_c_in, ns_t_srv, answer, sizeof(answer));
    res_nclose(&st);
    /* NXDOMAIN, no data and failures all mean "no SRV record": discovery
     * then falls back to port 8448, as the spec's steps do. */
    if (n <= 0)
        return 0;
    if ((size_t)n > sizeof(answer))
        n = (int)sizeof(answer); /* truncated: parse what fits */
    n = fed_srv_parse(answer, (size_t)n, out, max);
    return n < 0 ? 0 : n;
}

static uint32_t
sodium_rnd(uint32_t bound)
{
    return randombytes_uniform(bound);
}

void
fed_srv_order(struct fed_srv *r, size_t n, uint32_t (*rnd)(uint32_t bound))
{
    if (rnd == NULL)
        rnd = sodium_rnd;
    /* Insertion sort by priority: n is at most FED_SRV_MAX. */
    for (size_t i = 1; i < n; i++) {
        struct fed_srv tmp = r[i];
        size_t j = i;

        while (j > 0 && r[j - 1].priority > tmp.priority) {
            r[j] = r[j - 1];
            j--;
        }
        r[j] = tmp;
    }
    /* Within each priority, RFC 2782's weighted selection: draw a number in
     * [0, sum of weights], take the first record whose running sum reaches
     * it, repeat with the rest. Zero weights are placed first so that they
     * have a small chance to be picked, as the RFC says. */
    for (size_t start = 0; start < n;) {
        size_t end = start;

        while (end < n && r[end].priority == r[start].priority)
            end++;
        for (size_t i = start; i < end; i++) {
            for (size_t j = i;
                 j > start && r[j].weight == 0 && r[j - 1].weight != 0; j--) {
                struct fed_srv tmp = r[j];

                r[j] = r[j - 1];
                r[j - 1] = tmp;
            }
        }
        for (size_t i = start; i + 1 < end; i++) {
            uint32_t sum = 0;
            uint32_t pick;
            uint32_t run = 0;
            size_t k = i;

            for (size_t j = i; j < end; j++)
                sum += r[j].weight;
            pick = rnd(sum + 1);
            for (size_t j = i; j < end; j++) {
                run += r[j].weight;
                if (run >= pick) {
                    k = j;
                    break;
                }
            }
            if (k != i) {
                struct fed_srv tmp = r[i];

                r[i] = r[k];
                r[k] = tmp;
            }
        }
        start = end;
    }
}
