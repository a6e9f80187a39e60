/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Address lists, X-Forwarded-For behind trusted proxies, limit keys. */
#include "tap.h"
#include "util/netaddr.h"

#include <stdlib.h>
#include <string.h>

static const char *
client(const char *peer, const char *xff, const struct netlist *l)
{
    static char out[64];

    netaddr_client(peer, xff, l, out, sizeof(out));
    return out;
}

int
main(void)
{
    char *why = NULL;
    struct netlist *l =
        netlist_parse("127.0.0.1, ::1,10.0.0.0/8 fd00::/8", &why);
    struct netlist *empty = netlist_parse(NULL, &why);
    char key[64];

    plan_no_plan();
    ok(l != NULL, "list parses");
    ok(netlist_contains(l, "127.0.0.1"), "exact IPv4");
    ok(netlist_contains(l, "::1"), "exact IPv6");
    ok(netlist_contains(l, "10.200.3.4"), "inside an IPv4 prefix");
    ok(!netlist_contains(l, "11.0.0.1"), "outside it");
    ok(netlist_contains(l, "fd12::5"), "inside an IPv6 prefix");
    ok(!netlist_contains(l, "fe80::1"), "outside it");
    ok(!netlist_contains(l, "not an ip"), "garbage is not in any list");
    ok(!netlist_contains(empty, "127.0.0.1"), "empty list");
    ok(netlist_parse("1.2.3.4/33", &why) == NULL && why != NULL,
       "bad prefix refused");
    free(why);
    why = NULL;
    ok(netlist_parse("example.org", &why) == NULL && why != NULL,
       "names refused");
    free(why);

    is_str(client("203.0.113.9", NULL, l), "203.0.113.9", "no proxy: peer");
    is_str(client("203.0.113.9", "1.1.1.1", l), "203.0.113.9",
           "X-Forwarded-For from an untrusted peer is ignored");
    is_str(client("127.0.0.1", "198.51.100.7", l), "198.51.100.7",
           "trusted proxy: the forwarded client");
    is_str(client("127.0.0.1", "6.6.6.6, 198.51.100.7", l), "198.51.100.7",
           "only the hop our proxy saw counts (the client forged the rest)");
    is_str(client("127.0.0.1", "198.51.100.7, 10.1.1.1", l), "198.51.100.7",
           "chains of trusted proxies are walked");
    is_str(client("127.0.0.1", "garbage", l), "127.0.0.1",
           "garbage stops the walk");
    is_str(client("127.0.0.1", " 2001:db8::1 ", l), "2001:db8::1",
           "spaces trimmed, IPv6");

    netaddr_limit_key("192.0.2.1", key, sizeof(key));
    is_str(key, "192.0.2.1", "IPv4 key is the address");
    netaddr_limit_key("2001:db8:1:2:3:4:5:6", key, sizeof(key));
    is_str(key, "2001:db8:1:2::/64", "IPv6 key is the /64");
    netaddr_limit_key("::ffff:192.0.2.7", key, sizeof(key));
    is_str(key, "192.0.2.7", "IPv4-mapped: keyed as the IPv4 address");
    netaddr_limit_key("::ffff:198.51.100.1", key, sizeof(key));
    is_str(key, "198.51.100.1", "so two such clients do not share a key");
    netlist_free(l);
    netlist_free(empty);
    return done_testing();
}
