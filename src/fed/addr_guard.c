/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The outbound address guard: which addresses glia may connect to when a
 * client (through a server name, a well-known delegation, an SRV record or a
 * redirect) chooses the destination. Sydent's blocklist missed 0.0.0.0 and
 * :: (both reach the local host on Linux); this one refuses them, and for
 * IPv6 it allows only the global unicast block 2000::/3, so that anything
 * new or exotic outside it is refused by default.
 */
#include "fed/fed.h"

#include <netdb.h>
#include <stddef.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

/* One IPv4 range: address and prefix length, host byte order. */
struct v4_range {
    uint32_t net;
    unsigned int bits;
};

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

/* IANA special-purpose registry, plus the classic special ranges; none of
 * these is a destination a homeserver or an SMS gateway lives at. */
static const struct v4_range v4_refused[] = {
    {V4(0, 0, 0, 0), 8},       /* "this network", 0.0.0.0 = local host */
    {V4(10, 0, 0, 0), 8},      /* RFC 1918 */
    {V4(100, 64, 0, 0), 10},   /* CGNAT shared space */
    {V4(127, 0, 0, 0), 8},     /* loopback */
    {V4(169, 254, 0, 0), 16},  /* link-local, cloud metadata */
    {V4(172, 16, 0, 0), 12},   /* RFC 1918 */
    {V4(192, 0, 0, 0), 24},    /* IETF protocol assignments */
    {V4(192, 0, 2, 0), 24},    /* TEST-NET-1 */
    {V4(192, 88, 99, 0), 24},  /* 6to4 relay anycast */
    {V4(192, 168, 0, 0), 16},  /* RFC 1918 */
    {V4(198, 18, 0, 0), 15},   /* benchmarking */
    {V4(198, 51, 100, 0), 24}, /* TEST-NET-2 */
    {V4(203, 0, 113, 0), 24},  /* TEST-NET-3 */
    {V4(224, 0, 0, 0), 4},     /* multicast */
    {V4(240, 0, 0, 0), 4},     /* reserved, and 255.255.255.255 broadcast */
};

static bool
v4_allowed(uint32_t a)
{
    for (size_t i = 0; i < sizeof(v4_refused) / sizeof(v4_refused[0]); i++) {
        uint32_t mask = ~(uint32_t)0 << (32 - v4_refused[i].bits);

        if ((a & mask) == v4_refused[i].net)
            return false;
    }
    return true;
}

static uint32_t
v4_at(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static bool
all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

static bool
v6_allowed(const uint8_t a[16])
{
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};

    /* ::/96 (IPv4-compatible, and :: and ::1 with it) and ::ffff:0:0/96
     * (IPv4-mapped): the kernel may reach the embedded IPv4 address. */
    if (all_zero(a, 10) &&
        ((a[10] == 0 && a[11] == 0) || (a[10] == 0xff && a[11] == 0xff)))
        return v4_allowed(v4_at(a + 12));
    /* 64:ff9b::/96: a NAT64 gateway connects to the embedded address. */
    if (memcmp(a, nat64, sizeof(nat64)) == 0)
        return v4_allowed(v4_at(a + 12));
    /* Everything else outside global unicast 2000::/3: ULA fc00::/7,
     * link-local fe80::/10, site-local fec0::/10, multicast ff00::/8,
     * 64:ff9b:1::/48, discard 100::/64, and whatever gets assigned later. */
    if ((a[0] & 0xe0) != 0x20)
        return false;
    /* 2001::/23: IETF protocol assignments, among them Teredo 2001::/32
     * (tunnels to any IPv4 address), benchmarking and ORCHID. */
    if (a[0] == 0x20 && a[1] == 0x01 && (a[2] & 0xfe) == 0x00)
        return false;
    /* 2001:db8::/32 documentation. */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        return false;
    /* 3fff::/20 documentation (RFC 9637). */
    if (a[0] == 0x3f && a[1] == 0xff && (a[2] & 0xf0) == 0x00)
        return false;
    /* 2002::/16 6to4: the relay forwards to the embedded IPv4 address. */
    if (a[0] == 0x20 && a[1] == 0x02)
        return v4_allowed(v4_at(a + 2));
    return true;
}

bool
fed_addr_allowed(const struct sockaddr *sa, bool allow_private)
{
    sa_family_t family;

    if (allow_private)
        return true;
    if (sa == NULL)
        return false;
    /* Copy out rather than cast: a struct sockaddr * need not be aligned
     * for the larger structs. */
    memcpy(&family, (const char *)sa + offsetof(struct sockaddr, sa_family),
           sizeof(family));
    if (family == AF_INET) {
        struct sockaddr_in sin;

        memcpy(&sin, sa, sizeof(sin));
        return v4_allowed(ntohl(sin.sin_addr.s_addr));
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 sin6;

        memcpy(&sin6, sa, sizeof(sin6));
        return v6_allowed(sin6.sin6_addr.s6_addr);
    }
    return false;
}

bool
fed_host_allowed(const char *host, bool allow_private)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    bool allowed = true;

    if (host == NULL)
        return false;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
        return false;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (!fed_addr_allowed(ai->ai_addr, allow_private)) {
            allowed = false;
            break;
        }
    }
    freeaddrinfo(res);
    return allowed;
}
