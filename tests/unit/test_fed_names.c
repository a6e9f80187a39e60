/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Server names and user ids (src/fed/server_name.c), plus the pure parts of
 * discovery: the well-known body, its cache lifetime, SRV answers and their
 * RFC 2782 order.
 */
#include "fed/fed.h"
#include "fed/fed_internal.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

static void
good(const char *in, const char *host, int port, bool ip)
{
    struct fed_server_name n;
    bool r = fed_server_name_parse(in, &n);

    ok(r, "valid: \"%s\"", in);
    if (!r)
        return;
    is_str(n.host, host, "  host of \"%s\"", in);
    is_int(n.has_port ? n.port : -1, port, "  port of \"%s\"", in);
    is_int(n.is_ip_literal, ip, "  ip literal flag of \"%s\"", in);
}

static void
bad(const char *in)
{
    struct fed_server_name n;

    ok(!fed_server_name_parse(in, &n), "invalid: \"%s\"", in);
}

static void
canon(const char *in, const char *want)
{
    struct fed_server_name n;
    char out[FED_NAME_MAX + 8];

    ok(fed_server_name_parse(in, &n) &&
           fed_server_name_format(&n, out, sizeof(out)) &&
           strcmp(out, want) == 0,
       "canonical form of \"%s\" is \"%s\"", in, want);
}

static void
test_server_names(void)
{
    char longname[300];

    good("example.org", "example.org", -1, false);
    good("Example.ORG", "example.org", -1, false);
    good("example.org:8448", "example.org", 8448, false);
    good("matrix-federation.matrix.org:443", "matrix-federation.matrix.org",
         443, false);
    good("localhost", "localhost", -1, false);
    good("localhost:1", "localhost", 1, false);
    good("a", "a", -1, false);
    good("x1.y2", "x1.y2", -1, false);
    good("1.2.3.4", "1.2.3.4", -1, true);
    good("1.2.3.4:65535", "1.2.3.4", 65535, true);
    good("0.0.0.0", "0.0.0.0", -1, true);
    good("255.255.255.255:8448", "255.255.255.255", 8448, true);
    good("[::1]", "[::1]", -1, true);
    good("[::1]:8448", "[::1]", 8448, true);
    good("[2001:DB8::1]:80", "[2001:db8::1]", 80, true);
    good("[::ffff:1.2.3.4]", "[::ffff:1.2.3.4]", -1, true);
    good("123.example", "123.example", -1, false);

    bad(NULL);
    bad("");
    bad(":8448");
    bad("example.org:");
    bad("example.org:0");
    bad("example.org:65536");
    bad("example.org:99999");
    bad("example.org:123456");
    bad("example.org:08448");
    bad("example.org:-1");
    bad("example.org:+80");
    bad("example.org:80:80");
    bad("example.org:8a");
    bad("example.org.");
    bad("example.org.:8448");
    bad(".example.org");
    bad("example..org");
    bad("-example.org");
    bad("example-.org");
    bad("exa_mple.org");
    bad("exa mple.org");
    bad("example.org/");
    bad("example.org?x");
    bad("user@example.org");
    bad("ex\xc3\xa4mple.org");
    bad("::1");
    bad("2001:db8::1");
    bad("[::1");
    bad("::1]");
    bad("[::1]x");
    bad("[::1]:");
    bad("[::1]:0");
    bad("[fe80::1%eth0]");
    bad("[1.2.3.4]");
    bad("[]");
    bad("[gg::1]");
    bad("1.2.3.256");
    bad("1.2.3");
    bad("1.2.3.4.5");
    bad("127.1");
    bad("0x7f000001");
    bad("0x7f.1");
    bad("2130706433");
    bad("010.0.0.1");
    bad("example.123");

    memset(longname, 'a', sizeof(longname));
    for (size_t i = 60; i < 255; i += 61)
        longname[i] = '.';
    longname[255] = '\0';
    good(longname, longname, -1, false);
    longname[255] = 'a';
    longname[256] = '\0';
    bad(longname);
    memset(longname, 'a', 64);
    longname[64] = '\0';
    bad(longname); /* one 64-char label */

    canon("EXAMPLE.org:8448", "example.org:8448");
    canon("[::A]", "[::a]");
}

static void
test_user_ids(void)
{
    struct fed_server_name d;
    size_t lp = 0;

    ok(fed_user_id_parse("@alice:example.org", &lp, &d) && lp == 5 &&
           strcmp(d.host, "example.org") == 0 && !d.has_port,
       "@alice:example.org");
    ok(fed_user_id_parse("@a:[::1]:8448", &lp, &d) && lp == 1 &&
           strcmp(d.host, "[::1]") == 0 && d.port == 8448,
       "@a:[::1]:8448");
    ok(fed_user_id_parse("@Weird=+/._-!~x:1.2.3.4:99", NULL, NULL),
       "historical localpart characters");
    ok(fed_user_id_parse("@bob:Example.ORG", NULL, &d) &&
           strcmp(d.host, "example.org") == 0,
       "server part lower-cased");
    ok(!fed_user_id_parse("alice:example.org", NULL, NULL), "no sigil");
    ok(!fed_user_id_parse("!room:example.org", NULL, NULL), "room sigil");
    ok(!fed_user_id_parse("@:example.org", NULL, NULL), "empty localpart");
    ok(!fed_user_id_parse("@alice", NULL, NULL), "no server part");
    ok(!fed_user_id_parse("@alice:", NULL, NULL), "empty server part");
    ok(!fed_user_id_parse("@al ice:example.org", NULL, NULL), "space");
    ok(!fed_user_id_parse("@al\x01ice:example.org", NULL, NULL), "control");
    ok(!fed_user_id_parse("@alice:example.org:0", NULL, NULL), "port 0");
    ok(!fed_user_id_parse("@alice:127.1", NULL, NULL), "numeric name");
    ok(!fed_user_id_parse(NULL, NULL, NULL), "NULL");
    {
        char uid[300];

        memset(uid, 'a', sizeof(uid));
        uid[0] = '@';
        memcpy(uid + 256 - 12, ":example.org", 12);
        uid[256] = '\0';
        ok(!fed_user_id_parse(uid, NULL, NULL), "256-byte user id refused");
        memcpy(uid + 255 - 12, ":example.org", 13);
        ok(fed_user_id_parse(uid, NULL, NULL), "255-byte user id accepted");
    }
}

static void
test_wellknown(void)
{
    struct fed_server_name n;
    const char *b;

    b = "{\"m.server\": \"Matrix.Example.org:443\"}";
    ok(fed_wellknown_parse(b, strlen(b), &n) &&
           strcmp(n.host, "matrix.example.org") == 0 && n.port == 443,
       "well-known with port");
    b = "{\"m.server\": \"[::1]\"}";
    ok(fed_wellknown_parse(b, strlen(b), &n) && n.is_ip_literal,
       "well-known IPv6 literal");
    b = "{\"m.server\": \"delegated.example\", \"other\": 1}";
    ok(fed_wellknown_parse(b, strlen(b), &n) && !n.has_port,
       "well-known without port, extra keys");
    b = "{\"m.server\": \"bad name\"}";
    ok(!fed_wellknown_parse(b, strlen(b), &n), "invalid server name");
    b = "{\"m.server\": 42}";
    ok(!fed_wellknown_parse(b, strlen(b), &n), "m.server not a string");
    b = "{}";
    ok(!fed_wellknown_parse(b, strlen(b), &n), "no m.server");
    b = "[\"m.server\"]";
    ok(!fed_wellknown_parse(b, strlen(b), &n), "not an object");
    b = "<html>";
    ok(!fed_wellknown_parse(b, strlen(b), &n), "not JSON");
    b = "{\"m.server\": \"a.example\", \"m.server\": \"b.example\"}";
    ok(!fed_wellknown_parse(b, strlen(b), &n), "duplicate keys refused");
    ok(!fed_wellknown_parse("", 0, &n), "empty body");
}

static void
test_ttl(void)
{
    time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */

    is_int(fed_wellknown_ttl(NULL, NULL, now), -1, "no headers: -1");
    is_int(fed_wellknown_ttl("", "", now), -1, "empty headers: -1");
    is_int(fed_wellknown_ttl("max-age=3600", NULL, now), 3600, "max-age");
    is_int(fed_wellknown_ttl("public, Max-Age=60", NULL, now), 60,
           "max-age after another directive, any case");
    is_int(fed_wellknown_ttl("max-age=\"120\"", NULL, now), 120,
           "quoted max-age");
    is_int(fed_wellknown_ttl("max-age=0", NULL, now), 0, "max-age=0");
    is_int(fed_wellknown_ttl("no-store", NULL, now), 0, "no-store");
    is_int(fed_wellknown_ttl("max-age=60, no-store", NULL, now), 0,
           "no-store wins");
    is_int(fed_wellknown_ttl("max-age=99999999999999999999", NULL, now) >
               48 * 3600,
           1, "huge max-age saturates (then capped by the caller)");
    is_int(fed_wellknown_ttl("max-age=abc", NULL, now), -1,
           "bad max-age ignored");
    is_int(fed_wellknown_ttl("max-stale=5", NULL, now), -1,
           "other directive ignored");
    is_int(fed_wellknown_ttl(NULL, "Tue, 14 Nov 2023 23:13:20 GMT", now), 3600,
           "Expires in an hour");
    is_int(
        fed_wellknown_ttl("max-age=10", "Tue, 14 Nov 2023 23:13:20 GMT", now),
        10, "max-age beats Expires");
    is_int(fed_wellknown_ttl(NULL, "Tue, 14 Nov 2023 21:13:20 GMT", now), 0,
           "Expires in the past");
    is_int(fed_wellknown_ttl(NULL, "0", now), 0, "Expires: 0 is expired");
    is_int(fed_wellknown_ttl(NULL, "garbage", now), 0,
           "invalid Expires is expired");
}

/* A DNS answer: header, question for qname, then SRV records. */
struct rec {
    uint16_t prio;
    uint16_t weight;
    uint16_t port;
    const char *target;
};

static size_t
put_name(unsigned char *p, const char *name)
{
    size_t o = 0;

    while (*name != '\0') {
        size_t l = strcspn(name, ".");

        p[o++] = (unsigned char)l;
        memcpy(p + o, name, l);
        o += l;
        name += l;
        if (*name == '.')
            name++;
    }
    p[o++] = 0;
    return o;
}

static size_t
put16(unsigned char *p, unsigned int v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)(v & 0xff);
    return 2;
}

static size_t
make_answer(unsigned char *m, const char *qname, const struct rec *r, int n)
{
    size_t o = 0;

    o += put16(m + o, 0x1234); /* id */
    o += put16(m + o, 0x8180); /* response, RD, RA, NOERROR */
    o += put16(m + o, 1);      /* QDCOUNT */
    o += put16(m + o, (unsigned int)n);
    o += put16(m + o, 0);
    o += put16(m + o, 0);
    o += put_name(m + o, qname);
    o += put16(m + o, 33); /* SRV */
    o += put16(m + o, 1);  /* IN */
    for (int i = 0; i < n; i++) {
        size_t rdlen_at;
        size_t start;

        m[o++] = 0xc0; /* pointer to the question name */
        m[o++] = 12;
        o += put16(m + o, r[i].port == 0 && r[i].weight == 999 ? 5 : 33);
        o += put16(m + o, 1);
        o += put16(m + o, 0);
        o += put16(m + o, 300); /* TTL */
        rdlen_at = o;
        o += 2;
        start = o;
        o += put16(m + o, r[i].prio);
        o += put16(m + o, r[i].weight);
        o += put16(m + o, r[i].port);
        o += put_name(m + o, r[i].target);
        put16(m + rdlen_at, (unsigned int)(o - start));
    }
    return o;
}

static uint32_t
rnd_zero(uint32_t bound)
{
    (void)bound;
    return 0;
}

static uint32_t
rnd_max(uint32_t bound)
{
    return bound - 1;
}

static void
test_srv(void)
{
    unsigned char m[2048];
    struct fed_srv out[FED_SRV_MAX];
    size_t len;
    int n;
    const struct rec recs[] = {
        {10, 0, 8448, "B.example.org"},
        {5, 60, 443, "a.example.org"},
        {5, 40, 8443, "c.example.org"},
        {0, 999, 0, "cname.example.org"}, /* a CNAME record: skipped */
        {20, 0, 8448, "bad:name.example.org"},
    };
    const struct rec dot[] = {{0, 0, 0, ""}};

    len = make_answer(m, "_matrix-fed._tcp.example.org", recs, 5);
    n = fed_srv_parse(m, len, out, FED_SRV_MAX);
    is_int(n, 3, "SRV: 3 records kept (CNAME and bad target skipped)");
    if (n == 3) {
        is_str(out[0].target, "b.example.org", "SRV target lower-cased");
        is_int(out[0].port, 8448, "SRV port");
        is_int(out[1].priority, 5, "SRV priority");
        is_int(out[1].weight, 60, "SRV weight");
    }
    ok(fed_srv_parse(m, len - 3, out, FED_SRV_MAX) < 0, "truncated message");
    ok(fed_srv_parse(m, 5, out, FED_SRV_MAX) < 0, "too short for a header");
    is_int(fed_srv_parse(m, len, out, 1), 1, "max honoured");

    len = make_answer(m, "_matrix._tcp.example.org", dot, 1);
    n = fed_srv_parse(m, len, out, FED_SRV_MAX);
    ok(n == 1 && out[0].target[0] == '\0', "\".\" target parses as \"\"");

    len = make_answer(m, "_matrix-fed._tcp.example.org", recs, 3);
    n = fed_srv_parse(m, len, out, FED_SRV_MAX);
    fed_srv_order(out, (size_t)n, rnd_zero);
    ok(out[0].priority == 5 && out[1].priority == 5 && out[2].priority == 10,
       "ordered by priority");
    is_str(out[0].target, "a.example.org",
           "weighted pick with the lowest draw takes the first weight");
    n = fed_srv_parse(m, len, out, FED_SRV_MAX);
    fed_srv_order(out, (size_t)n, rnd_max);
    is_str(out[0].target, "c.example.org",
           "weighted pick with the highest draw takes the last weight");
    is_str(out[2].target, "b.example.org", "lowest priority stays last");
    fed_srv_order(out, 0, NULL);
    ok(true, "ordering zero records is fine");
}

int
main(void)
{
    plan_no_plan();
    test_server_names();
    test_user_ids();
    test_wellknown();
    test_ttl();
    test_srv();
    return done_testing();
}
