/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The outbound address guard (src/fed/addr_guard.c): each refused range at
 * its edges and just outside them, the IPv6 forms that embed an IPv4
 * address, allow_private, and host names that resolve to refused addresses.
 */
#include "fed/fed.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* Is the literal address allowed? -1 if it does not parse. */
static int
allowed(const char *addr, bool allow_private)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;

    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons(8448);
        return fed_addr_allowed((const struct sockaddr *)&sin, allow_private);
    }
    if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(8448);
        return fed_addr_allowed((const struct sockaddr *)&sin6, allow_private);
    }
    return -1;
}

static void
refused(const char *addr)
{
    is_int(allowed(addr, false), 0, "refused: %s", addr);
}

static void
accepted(const char *addr)
{
    is_int(allowed(addr, false), 1, "allowed: %s", addr);
}

/* A refused IPv4 range: first and last address refused, the neighbours
 * outside allowed (unless they belong to another refused range). */
static void
v4_range(const char *first,
         const char *last,
         const char *before,
         const char *after)
{
    refused(first);
    refused(last);
    if (before != NULL)
        accepted(before);
    if (after != NULL)
        accepted(after);
}

static void
test_v4(void)
{
    v4_range("0.0.0.0", "0.255.255.255", NULL, "1.0.0.0");
    v4_range("10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0");
    v4_range("100.64.0.0", "100.127.255.255", "100.63.255.255", "100.128.0.0");
    v4_range("127.0.0.0", "127.255.255.255", "126.255.255.255", "128.0.0.0");
    refused("127.0.0.1");
    v4_range("169.254.0.0", "169.254.255.255", "169.253.255.255",
             "169.255.0.0");
    refused("169.254.169.254"); /* cloud metadata */
    v4_range("172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0");
    v4_range("192.0.0.0", "192.0.0.255", "191.255.255.255", "192.0.1.0");
    v4_range("192.0.2.0", "192.0.2.255", "192.0.1.255", "192.0.3.0");
    v4_range("192.88.99.0", "192.88.99.255", "192.88.98.255", "192.88.100.0");
    v4_range("192.168.0.0", "192.168.255.255", "192.167.255.255",
             "192.169.0.0");
    v4_range("198.18.0.0", "198.19.255.255", "198.17.255.255", "198.20.0.0");
    v4_range("198.51.100.0", "198.51.100.255", "198.51.99.255", "198.51.101.0");
    v4_range("203.0.113.0", "203.0.113.255", "203.0.112.255", "203.0.114.0");
    v4_range("224.0.0.0", "239.255.255.255", "223.255.255.255", NULL);
    v4_range("240.0.0.0", "255.255.255.254", NULL, NULL);
    refused("255.255.255.255");
    accepted("8.8.8.8");
    accepted("1.1.1.1");
    accepted("93.184.216.34");
    accepted("223.255.255.255");
}

static void
test_v6(void)
{
    refused("::");
    refused("::1");
    refused("fe80::");
    refused("fe80::1");
    refused("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    refused("fec0::1");
    refused("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    refused("fc00::");
    refused("fd12:3456:789a::1");
    refused("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    refused("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"); /* outside 2000::/3 */
    refused("ff00::");
    refused("ff02::1");
    refused("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    refused("2001:db8::");
    refused("2001:db8::1");
    refused("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
    accepted("2001:db9::1");
    accepted("2001:db7:ffff::1");
    refused("2001::1");                              /* Teredo */
    refused("2001:0:4136:e378:8000:63bf:3fff:fdd2"); /* Teredo example */
    refused("2001:0:ffff:ffff:ffff:ffff:ffff:ffff");
    refused("2001:2::1");                              /* benchmarking */
    refused("2001:10::1");                             /* ORCHID */
    refused("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff"); /* end of 2001::/23 */
    accepted("2001:200::1");                           /* after it */
    refused("3fff::1");                                /* documentation */
    refused("3fff:fff:ffff::1");
    accepted("3fff:1000::1");
    refused("100::1"); /* discard-only */
    refused("64:ff9b:1::1");
    refused("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    refused("4000::1");
    accepted("2000::1");
    accepted("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    accepted("2a00:1450:4001:82b::200e");
    accepted("2606:4700:4700::1111");
    accepted("2620:fe::fe");
}

static void
test_embedded_v4(void)
{
    /* IPv4-mapped */
    refused("::ffff:127.0.0.1");
    refused("::ffff:10.0.0.1");
    refused("::ffff:0.0.0.0");
    refused("::ffff:169.254.169.254");
    refused("::ffff:192.168.1.1");
    refused("::ffff:255.255.255.255");
    accepted("::ffff:8.8.8.8");
    /* IPv4-compatible (deprecated, ::/96) */
    refused("::127.0.0.1");
    refused("::10.0.0.1");
    refused("::0.0.0.2");
    refused("::172.16.0.1");
    accepted("::8.8.8.8");
    /* NAT64 64:ff9b::/96 */
    refused("64:ff9b::127.0.0.1");
    refused("64:ff9b::10.1.2.3");
    refused("64:ff9b::a9fe:a9fe"); /* 169.254.169.254 */
    accepted("64:ff9b::8.8.8.8");
    refused("64:ff9b::1:0:0:808:808"); /* 64:ff9b:0:1::, outside the /96 */
    /* 6to4 2002::/16, the IPv4 address in bits 16-47 */
    refused("2002:7f00:1::1");   /* 127.0.0.1 */
    refused("2002:a00:1::");     /* 10.0.0.1 */
    refused("2002:c0a8:101::1"); /* 192.168.1.1 */
    refused("2002::");           /* 0.0.0.0 */
    refused("2002:e000::1");     /* 224.0.0.0 */
    accepted("2002:808:808::1"); /* 8.8.8.8 */
    /* SIIT ::ffff:0:0:0/96 is outside 2000::/3 */
    refused("::ffff:0:8.8.8.8");
}

static void
test_allow_private(void)
{
    const char *all[] = {
        "127.0.0.1", "10.0.0.1",         "0.0.0.0", "::",      "::1",
        "fe80::1",   "::ffff:127.0.0.1", "2001::1", "8.8.8.8", "2a00:1450::1"};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        is_int(allowed(all[i], true), 1, "allow_private allows %s", all[i]);
}

static void
test_families(void)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    ok(!fed_addr_allowed((const struct sockaddr *)&ss, false),
       "AF_UNIX refused");
    ss.ss_family = AF_UNSPEC;
    ok(!fed_addr_allowed((const struct sockaddr *)&ss, false),
       "AF_UNSPEC refused");
    ok(!fed_addr_allowed(NULL, false), "NULL refused");
}

static void
test_hosts(void)
{
    ok(!fed_host_allowed("localhost", false), "localhost refused");
    ok(fed_host_allowed("localhost", true), "localhost with allow_private");
    ok(!fed_host_allowed("127.1", false), "127.1 refused");
    ok(!fed_host_allowed("0x7f000001", false), "0x7f000001 refused");
    ok(!fed_host_allowed("2130706433", false), "2130706433 refused");
    ok(!fed_host_allowed("0", false), "0 (0.0.0.0) refused");
    ok(!fed_host_allowed("::ffff:10.0.0.1", false), "::ffff:10.0.0.1 refused");
    ok(!fed_host_allowed("::", false), ":: refused");
    ok(!fed_host_allowed("169.254.169.254", false), "metadata refused");
    ok(fed_host_allowed("8.8.8.8", false), "8.8.8.8 (no DNS) allowed");
    ok(fed_host_allowed("2606:4700:4700::1111", false),
       "public IPv6 literal allowed");
    ok(!fed_host_allowed(NULL, true), "NULL");
}

int
main(void)
{
    plan_no_plan();
    test_v4();
    test_v6();
    test_embedded_v4();
    test_allow_private();
    test_families();
    test_hosts();
    return done_testing();
}
