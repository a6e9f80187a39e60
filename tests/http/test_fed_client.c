/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The federation client against fake homeservers (tests/helpers/fake_hs)
 * over real TLS on loopback: OpenID userinfo in each role fake_hs plays,
 * TLS verification, the size cap, timeouts, redirects, the address guard
 * (checked in fake_hs's log: nothing may reach it), server discovery with
 * well-known delegation, redirects and caching, SRV targets, and
 * fed_http_url(). Discovery needs port 443 and DNS SRV records, which a test
 * cannot have, so it runs with the client's test hooks: the well-known port,
 * the 8448 fallback port, the SRV lookup, the clock and (for one case) the
 * guard are replaced; everything else is the production path.
 *
 * Environment: FAKE_HS_BIN (default tests/helpers/fake_hs), top_srcdir
 * (for tests/helpers/make-certs.sh; default "."), FED_TEST_DEBUG=1 to see
 * the client's debug log.
 */
#include "fed/fed.h"
#include "fed/fed_internal.h"
#include "httptest.h"
#include "tap.h"
#include "util/config.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

/* One fake_hs process. */
struct fhs {
    pid_t pid;
    unsigned int port;
    char log[600];
    char name[64]; /* "127.0.0.1:PORT" */
};

static char dir[256];
static char ca_file[400];
static const char *fake_bin;

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
run_wait(char *const argv[])
{
    pid_t pid = fork();
    int st;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* Start fake_hs with extra arguments (NULL-terminated). Bails out if it
 * does not come up within 10 s. */
static void
fhs_start(struct fhs *f, const char *tag, const char *const *extra)
{
    static int seq;
    char pf[600];
    char cert[400];
    char key[400];
    const char *argv[32];
    size_t n = 0;
    bool plain = false;

    memset(f, 0, sizeof(*f));
    seq++;
    snprintf(pf, sizeof(pf), "%s/%s-%d.port", dir, tag, seq);
    snprintf(f->log, sizeof(f->log), "%s/%s-%d.log", dir, tag, seq);
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        if (strcmp(extra[i], "--plain") == 0)
            plain = true;
    }
    snprintf(cert, sizeof(cert), "%s/%s", dir,
             strcmp(tag, "self") == 0 ? "self.pem" : "server.pem");
    snprintf(key, sizeof(key), "%s/%s", dir,
             strcmp(tag, "self") == 0 ? "self.key" : "server.key");
    argv[n++] = fake_bin;
    argv[n++] = "--port-file";
    argv[n++] = pf;
    if (!plain) {
        argv[n++] = "--cert";
        argv[n++] = cert;
        argv[n++] = "--key";
        argv[n++] = key;
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    f->port = httptest_spawn(argv, pf, f->log, &f->pid);
    snprintf(f->name, sizeof(f->name), "127.0.0.1:%u", f->port);
}

static void
fhs_stop(struct fhs *f)
{
    int st;

    if (f->pid <= 0)
        return;
    kill(f->pid, SIGTERM);
    if (waitpid(f->pid, &st, 0) != f->pid)
        st = -1;
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
       "fake_hs on port %u exited cleanly", f->port);
    f->pid = 0;
}

/* Lines of f's log containing needle. */
static int
fhs_count(const struct fhs *f, const char *needle)
{
    FILE *in = fopen(f->log, "r");
    char line[1024];
    int n = 0;

    if (in == NULL)
        return -1;
    while (fgets(line, sizeof(line), in) != NULL) {
        if (strstr(line, needle) != NULL)
            n++;
    }
    fclose(in);
    return n;
}

static struct fed_client *
client(bool verify, bool allow_private, const char *ca)
{
    struct config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.federation_verify_tls = verify;
    cfg.federation_allow_private_addresses = allow_private;
    cfg.federation_ca_file = (char *)(uintptr_t)ca;
    return fed_client_new(&cfg);
}

/* openid in one line: the result, and the user id compared when OK. */
static enum fed_error
openid(struct fed_client *c,
       const char *server,
       const char *token,
       const char *want_uid)
{
    char *uid = NULL;
    char *why = NULL;
    enum fed_error e = fed_openid_userinfo(c, server, token, &uid, &why);

    if (e != FED_OK && why != NULL)
        diag("%s %s: %s (%s)", server, token, fed_error_str(e), why);
    if (e == FED_OK && want_uid != NULL && strcmp(uid, want_uid) != 0) {
        diag("user id %s, wanted %s", uid, want_uid);
        e = FED_INTERNAL;
    }
    ok(e != FED_OK || (why == NULL && uid != NULL), "no why on success");
    free(uid);
    free(why);
    return e;
}

/* ---- hooks --------------------------------------------------------------- */

static time_t fake_now;
static time_t
now_hook(void)
{
    return fake_now;
}

/* The SRV "zone": qname -> one record. */
static char srv_qname[2][300];
static struct fed_srv srv_rec[2][3];
static int srv_count[2];
static int srv_queries;

static int
srv_hook(const char *qname, struct fed_srv *out, size_t max)
{
    srv_queries++;
    for (int i = 0; i < 2; i++) {
        if (strcmp(qname, srv_qname[i]) == 0) {
            int n = srv_count[i] < (int)max ? srv_count[i] : (int)max;

            memcpy(out, srv_rec[i], (size_t)n * sizeof(*out));
            return n;
        }
    }
    return 0;
}

static void
srv_zone_reset(void)
{
    memset(srv_qname, 0, sizeof(srv_qname));
    memset(srv_count, 0, sizeof(srv_count));
    srv_queries = 0;
}

static void
srv_add(int slot,
        const char *qname,
        uint16_t prio,
        uint16_t port,
        const char *target)
{
    struct fed_srv *r = &srv_rec[slot][srv_count[slot]++];

    snprintf(srv_qname[slot], sizeof(srv_qname[slot]), "%s", qname);
    memset(r, 0, sizeof(*r));
    r->priority = prio;
    r->weight = 0;
    r->port = port;
    snprintf(r->target, sizeof(r->target), "%s", target);
}

/* A guard that lets 127.0.0.1 through and judges everything else as
 * production does: lets a test on loopback see the guard stop a redirect to
 * a private address. Counts refusals of 10.255.255.1, the redirect's. */
static int guard_refusals;

static bool
loopback_guard(const struct sockaddr *sa, bool allow_private)
{
    struct sockaddr_in sin;
    sa_family_t family;

    memcpy(&family, sa, sizeof(family));
    if (family == AF_INET) {
        memcpy(&sin, sa, sizeof(sin));
        if (ntohl(sin.sin_addr.s_addr) == INADDR_LOOPBACK)
            return true;
        if (ntohl(sin.sin_addr.s_addr) == 0x0affff01)
            __atomic_add_fetch(&guard_refusals, 1, __ATOMIC_SEQ_CST);
    }
    return fed_addr_allowed(sa, allow_private);
}

/* A TCP port nobody listens on (bound, then closed). */
static unsigned int
closed_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned int port = 0;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
        port = ntohs(sin.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* ---- tests -----------------------------------------------------------------
 */

static struct fhs hs;    /* TLS, CA-signed, server name 127.0.0.1:PORT */
static struct fhs self;  /* TLS, self-signed */
static struct fhs tgt;   /* TLS, server name "localhost", no well-known */
static struct fhs plain; /* plain HTTP */

static void
test_openid_roles(void)
{
    struct fed_client *c = client(false, true, NULL);
    char uid[100];
    double t0;
    int before;

    snprintf(uid, sizeof(uid), "@alice:%s", hs.name);
    is_int(openid(c, hs.name, "alice", uid), FED_OK, "alice: OK");
    is_int(openid(c, hs.name, "foreign", NULL), FED_FOREIGN_USER,
           "foreign sub: FED_FOREIGN_USER");
    t0 = now_s();
    is_int(openid(c, hs.name, "huge", NULL), FED_TOO_LARGE,
           "5 MiB with Content-Length: FED_TOO_LARGE");
    ok(now_s() - t0 < 5, "  ... quickly (%.1f s)", now_s() - t0);
    t0 = now_s();
    is_int(openid(c, hs.name, "huge-chunked", NULL), FED_TOO_LARGE,
           "5 MiB chunked: FED_TOO_LARGE");
    ok(now_s() - t0 < 5, "  ... quickly (%.1f s)", now_s() - t0);
    before = fhs_count(&hs, "fake_hs: request");
    is_int(openid(c, hs.name, "redirect-private", NULL), FED_BAD_RESPONSE,
           "302 to a private address: not followed, FED_BAD_RESPONSE");
    is_int(fhs_count(&hs, "fake_hs: request"), before + 1,
           "  ... one request only");
    is_int(openid(c, hs.name, "who-knows", NULL), FED_REJECTED,
           "unknown token: FED_REJECTED");
    is_int(openid(c, hs.name, "we ird/&=+%?#", NULL), FED_REJECTED,
           "token with URL metacharacters: FED_REJECTED");
    is_int(openid(c, hs.name, "", NULL), FED_REJECTED,
           "empty token: FED_REJECTED");
    is_int(openid(c, hs.name, "notjson", NULL), FED_BAD_RESPONSE,
           "not JSON: FED_BAD_RESPONSE");
    is_int(openid(c, hs.name, "nosub", NULL), FED_BAD_RESPONSE,
           "no sub: FED_BAD_RESPONSE");
    is_int(openid(c, "not a name", "alice", NULL), FED_BAD_NAME,
           "malformed server name: FED_BAD_NAME");
    is_int(openid(c, "127.0.0.1:0", "alice", NULL), FED_BAD_NAME,
           "port 0: FED_BAD_NAME");
    is_int(openid(c, "127.0.0.1:1", "alice", NULL), FED_UNREACHABLE,
           "nothing listening: FED_UNREACHABLE");
    is_int(fhs_count(&hs, "token=we ird/&=+%?#\n"), 1,
           "fake_hs got that token intact (percent-encoded)");
    is_int(fhs_count(&hs, "host=127.0.0.1:"),
           fhs_count(&hs, "fake_hs: request"),
           "Host header is the server name with its port");

    fed_client_free(c);
}

static void
test_tls(void)
{
    struct fed_client *strict = client(true, true, NULL);
    struct fed_client *ca = client(true, true, ca_file);
    char uid[100];

    snprintf(uid, sizeof(uid), "@alice:%s", hs.name);
    is_int(openid(strict, hs.name, "alice", NULL), FED_TLS,
           "verify_tls, unknown CA: FED_TLS");
    is_int(openid(ca, hs.name, "alice", uid), FED_OK,
           "verify_tls with ca_file: OK (IP SAN)");
    is_int(openid(ca, self.name, "alice", NULL), FED_TLS,
           "verify_tls with ca_file, self-signed server: FED_TLS");
    fed_client_free(strict);
    fed_client_free(ca);
}

static void
test_guard(void)
{
    struct fed_client *c = client(false, false, NULL);
    char name[64];
    int conns = fhs_count(&hs, "fake_hs: connection");

    is_int(openid(c, hs.name, "alice", NULL), FED_FORBIDDEN_ADDRESS,
           "127.0.0.1:PORT without allow_private: FED_FORBIDDEN_ADDRESS");
    snprintf(name, sizeof(name), "localhost:%u", hs.port);
    is_int(openid(c, name, "alice", NULL), FED_FORBIDDEN_ADDRESS,
           "localhost:PORT (refused after DNS): FED_FORBIDDEN_ADDRESS");
    snprintf(name, sizeof(name), "[::1]:%u", hs.port);
    is_int(openid(c, name, "alice", NULL), FED_FORBIDDEN_ADDRESS,
           "[::1]:PORT: FED_FORBIDDEN_ADDRESS");
    snprintf(name, sizeof(name), "[::ffff:127.0.0.1]:%u", hs.port);
    is_int(openid(c, name, "alice", NULL), FED_FORBIDDEN_ADDRESS,
           "[::ffff:127.0.0.1]:PORT: FED_FORBIDDEN_ADDRESS");
    snprintf(name, sizeof(name), "0.0.0.0:%u", hs.port);
    is_int(openid(c, name, "alice", NULL), FED_FORBIDDEN_ADDRESS,
           "0.0.0.0:PORT: FED_FORBIDDEN_ADDRESS");
    is_int(fhs_count(&hs, "fake_hs: connection"), conns,
           "fake_hs saw no connection at all");
    fed_client_free(c);
}

struct thread_arg {
    struct fed_client *c;
    const char *token;
    int rounds;
    int ok;
    enum fed_error last;
    double secs;
};

static void *
worker(void *p)
{
    struct thread_arg *a = p;
    double t0 = now_s();

    for (int i = 0; i < a->rounds; i++) {
        char *uid = NULL;

        a->last = fed_openid_userinfo(a->c, hs.name, a->token, &uid, NULL);
        if (a->last == FED_OK)
            a->ok++;
        free(uid);
    }
    a->secs = now_s() - t0;
    return NULL;
}

/* A slow homeserver times out at FED_TOTAL_TIMEOUT_MS, and holds up no
 * other call: 8 threads run alice calls meanwhile on the same client. */
static void
test_slow_and_threads(void)
{
    struct fed_client *c = client(false, true, NULL);
    struct thread_arg slow = {c, "slow", 1, 0, FED_OK, 0};
    struct thread_arg fast[8];
    pthread_t ts;
    pthread_t tf[8];
    int all = 0;
    double t0 = now_s();

    pthread_create(&ts, NULL, worker, &slow);
    for (int i = 0; i < 8; i++) {
        fast[i] = (struct thread_arg){c, "alice", 5, 0, FED_OK, 0};
        pthread_create(&tf[i], NULL, worker, &fast[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(tf[i], NULL);
        all += fast[i].ok;
    }
    is_int(all, 40, "8 threads x 5 concurrent calls all OK");
    ok(now_s() - t0 < 8, "  ... while the slow call was pending (%.1f s)",
       now_s() - t0);
    pthread_join(ts, NULL);
    is_int(slow.last, FED_TIMEOUT, "slow homeserver: FED_TIMEOUT");
    ok(slow.secs >= 9 && slow.secs < 11.5, "  ... after %.1f s", slow.secs);
    fed_client_free(c);
}

static void
test_resolve_static(void)
{
    struct fed_client *c = client(true, false, NULL);
    struct fed_target t;
    char *why = NULL;

    is_int(fed_resolve(c, "Example.ORG:1234", &t, &why), FED_OK,
           "resolve hostname:port");
    is_str(t.tls_name, "example.org", "  TLS name: the host");
    is_str(t.host_header, "example.org:1234", "  Host: name with port");
    ok(t.n_ep == 1 && strcmp(t.ep[0].host, "example.org") == 0 &&
           t.ep[0].port == 1234 && !t.delegated,
       "  endpoint example.org:1234, no delegation");
    is_int(fed_resolve(c, "8.8.8.8", &t, &why), FED_OK, "resolve IPv4");
    ok(t.ep[0].port == 8448 && strcmp(t.host_header, "8.8.8.8") == 0,
       "  port 8448, Host without port");
    is_int(fed_resolve(c, "[2606:4700:4700::1111]:443", &t, &why), FED_OK,
           "resolve IPv6");
    ok(strcmp(t.tls_name, "[2606:4700:4700::1111]") == 0 &&
           strcmp(t.host_header, "[2606:4700:4700::1111]:443") == 0 &&
           t.ep[0].port == 443,
       "  bracketed TLS name and Host");
    is_int(fed_resolve(c, "10.0.0.1:8448", &t, &why), FED_FORBIDDEN_ADDRESS,
           "private IP literal refused before connecting");
    ok(why != NULL && strstr(why, "10.0.0.1") != NULL, "  why: %s",
       why != NULL ? why : "(null)");
    is_int(fed_resolve(c, "[fe80::1]", &t, &why), FED_FORBIDDEN_ADDRESS,
           "link-local IPv6 literal refused");
    is_int(fed_resolve(c, "bad..name", &t, &why), FED_BAD_NAME, "bad name");
    free(why);
    fed_client_free(c);
}

/* Resolve localhost once against a well-known server and count fetches
 * at two later times. */
static void
ttl_case(const char *m_server,
         const char *cache_control,
         long cached_until,
         const char *what)
{
    const char *a[] = {"--wellknown", m_server, "--cache-control",
                       cache_control, NULL};
    struct fed_test_hooks h;
    struct fed_client *c;
    struct fed_target t;
    struct fhs f;
    time_t t0 = fake_now;

    fhs_start(&f, "ttl", a);
    memset(&h, 0, sizeof(h));
    h.wellknown_port = (uint16_t)f.port;
    h.now = now_hook;
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    fed_resolve(c, "localhost", &t, NULL);
    fake_now = t0 + cached_until - 1;
    fed_resolve(c, "localhost", &t, NULL);
    is_int(fhs_count(&f, "request GET /.well-known"), 1,
           "%s: still cached after %ld s", what, cached_until - 1);
    fake_now = t0 + cached_until + 1;
    fed_resolve(c, "localhost", &t, NULL);
    is_int(fhs_count(&f, "request GET /.well-known"), 2,
           "%s: refetched after %ld s", what, cached_until + 1);
    fed_client_free(c);
    fhs_stop(&f);
}

static void
test_ttl_clamps(const char *m_server)
{
    ttl_case(m_server, "max-age=99999999", FED_WELLKNOWN_TTL_MAX,
             "max-age beyond 48 h");
    ttl_case(m_server, "no-store", FED_WELLKNOWN_TTL_MIN, "no-store");
    ttl_case(m_server, "max-age=1", FED_WELLKNOWN_TTL_MIN, "max-age=1");
}

static int refuse_all_calls;

static bool
refuse_all(const struct sockaddr *sa, bool allow_private)
{
    (void)sa;
    (void)allow_private;
    refuse_all_calls++;
    return false;
}

/* The well-known cache stays within FED_WELLKNOWN_CACHE_MAX entries. Each
 * name's fetch is refused by the guard before any connection (libcurl
 * resolves *.localhost itself, without DNS), so this is quick. */
static void
test_cache_bound(void)
{
    struct fed_test_hooks h;
    struct fed_client *c;
    struct fed_target t;
    char name[64];
    int fails = 0;
    double t0 = now_s();

    memset(&h, 0, sizeof(h));
    h.addr_allowed = refuse_all;
    h.srv_lookup = srv_hook;
    h.now = now_hook;
    srv_zone_reset();
    c = client(true, false, NULL);
    fed_client_set_test_hooks(c, &h);
    for (int i = 0; i < FED_WELLKNOWN_CACHE_MAX + 100; i++) {
        snprintf(name, sizeof(name), "n%d.localhost", i);
        if (fed_resolve(c, name, &t, NULL) != FED_OK)
            fails++;
        fake_now++;
    }
    is_int(fails, 0, "%d names resolved (well-known refused, no SRV)",
           FED_WELLKNOWN_CACHE_MAX + 100);
    ok(refuse_all_calls >= FED_WELLKNOWN_CACHE_MAX + 100,
       "  each fetch was stopped by the guard (%d)", refuse_all_calls);
    is_int((long long)c->wk_len, FED_WELLKNOWN_CACHE_MAX,
           "cache holds at most %d entries", FED_WELLKNOWN_CACHE_MAX);
    diag("%d well-known failures in %.3f s", FED_WELLKNOWN_CACHE_MAX + 100,
         now_s() - t0);
    fed_client_free(c);
}

static void
test_discovery(void)
{
    struct fhs wk, wk_default, redir, redir_priv, redir_http, plain_wk;
    struct fed_test_hooks h;
    struct fed_client *c;
    struct fed_target t;
    char m_server[100];
    char url[200];
    char name[64];
    char *why = NULL;
    int n;

    snprintf(m_server, sizeof(m_server), "{\"m.server\":\"127.0.0.1:%u\"}",
             tgt.port);
    {
        const char *a[] = {"--wellknown", m_server, "--cache-control",
                           "public, max-age=600", NULL};
        fhs_start(&wk, "wk", a);
    }
    {
        const char *a[] = {"--wellknown", m_server, NULL};
        fhs_start(&wk_default, "wkdef", a);
    }
    {
        const char *a[] = {"--plain", "--wellknown", m_server, NULL};
        fhs_start(&plain_wk, "plainwk", a);
    }
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/.well-known/matrix/server",
             wk.port);
    {
        const char *a[] = {"--wellknown-redirect", url, NULL};
        fhs_start(&redir, "redir", a);
    }
    {
        const char *a[] = {"--wellknown-redirect", "https://10.255.255.1/x",
                           NULL};
        fhs_start(&redir_priv, "redirpriv", a);
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/.well-known/matrix/server",
             plain_wk.port);
    {
        const char *a[] = {"--wellknown-redirect", url, NULL};
        fhs_start(&redir_http, "redirhttp", a);
    }

    /* Well-known delegation to an IP literal with port, and its cache. */
    memset(&h, 0, sizeof(h));
    h.wellknown_port = (uint16_t)wk.port;
    h.srv_lookup = srv_hook;
    h.now = now_hook;
    fake_now = 1700000000;
    srv_zone_reset();
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    is_int(fed_resolve(c, "localhost", &t, &why), FED_OK,
           "well-known: resolve localhost");
    ok(t.delegated && strcmp(t.tls_name, "127.0.0.1") == 0 && t.n_ep == 1 &&
           t.ep[0].port == tgt.port,
       "  delegated to 127.0.0.1:%u", tgt.port);
    snprintf(name, sizeof(name), "127.0.0.1:%u", tgt.port);
    is_str(t.host_header, name, "  Host: the delegated name with port");
    is_int(srv_queries, 0, "  no SRV lookup for a delegated name with port");
    is_int(openid(c, "localhost", "alice", "@alice:localhost"), FED_OK,
           "openid through the delegation, TLS verified on 127.0.0.1");
    snprintf(url, sizeof(url), "host=%s token=alice", name);
    ok(fhs_count(&tgt, url) >= 1, "  target saw Host: %s", name);
    is_int(fhs_count(&wk, "request GET /.well-known"), 1,
           "  one well-known fetch");
    fake_now += 599;
    is_int(openid(c, "localhost", "alice", "@alice:localhost"), FED_OK,
           "again at max-age - 1");
    is_int(fhs_count(&wk, "request GET /.well-known"), 1,
           "  served from the cache");
    fake_now += 2;
    fed_resolve(c, "localhost", &t, &why);
    is_int(fhs_count(&wk, "request GET /.well-known"), 2,
           "  refetched after max-age");
    fed_client_free(c);

    /* Default lifetime (24 h) when the response has no cache headers. */
    h.wellknown_port = (uint16_t)wk_default.port;
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    fed_resolve(c, "localhost", &t, &why);
    fake_now += 24 * 3600 - 1;
    fed_resolve(c, "localhost", &t, &why);
    is_int(fhs_count(&wk_default, "request GET /.well-known"), 1,
           "no Cache-Control: cached for 24 h");
    fake_now += 2;
    fed_resolve(c, "localhost", &t, &why);
    is_int(fhs_count(&wk_default, "request GET /.well-known"), 2,
           "  refetched after 24 h");
    fed_client_free(c);

    /* Redirects on the well-known: followed to https. */
    h.wellknown_port = (uint16_t)redir.port;
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    is_int(fed_resolve(c, "localhost", &t, &why), FED_OK,
           "well-known behind a redirect");
    ok(t.delegated && t.ep[0].port == tgt.port, "  redirect followed");
    fed_client_free(c);

    /* ... but not to http: the well-known fails, discovery goes on. */
    h.wellknown_port = (uint16_t)redir_http.port;
    h.default_port = (uint16_t)tgt.port;
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    is_int(fed_resolve(c, "localhost", &t, &why), FED_OK,
           "well-known redirecting to http://");
    ok(!t.delegated, "  ignored (https only)");
    is_int(fhs_count(&plain_wk, "fake_hs: request"), 0,
           "  http server never asked");
    ok(t.n_ep == 1 && strcmp(t.ep[0].host, "localhost") == 0 &&
           t.ep[0].port == tgt.port && strcmp(t.tls_name, "localhost") == 0 &&
           strcmp(t.host_header, "localhost") == 0,
       "  no SRV: localhost:<8448 stand-in>, TLS name and Host localhost");
    is_int(srv_queries, 2, "  both SRV names asked");
    is_int(openid(c, "localhost", "alice", "@alice:localhost"), FED_OK,
           "openid via the 8448 fallback (TLS name localhost)");
    ok(fhs_count(&tgt, "host=localhost token=alice") >= 1, "  Host: localhost");
    fed_client_free(c);

    /* A redirect to a private address: the guard stops the connection.
     * allow_private is off; a test guard lets only 127.0.0.1 through. */
    h.wellknown_port = (uint16_t)redir_priv.port;
    h.addr_allowed = loopback_guard;
    guard_refusals = 0;
    c = client(true, false, ca_file);
    fed_client_set_test_hooks(c, &h);
    is_int(fed_resolve(c, "localhost", &t, &why), FED_OK,
           "well-known redirecting to 10.255.255.1");
    ok(!t.delegated, "  redirect refused, no delegation");
    ok(guard_refusals > 0, "  the guard refused the redirect's address (%d)",
       guard_refusals);
    h.addr_allowed = NULL;
    fed_client_free(c);

    /* SRV: _matrix-fed._tcp first, then _matrix._tcp; TLS name and Host
     * stay the server name, whatever the target. */
    h.wellknown_port = (uint16_t)tgt.port; /* 404: no well-known */
    h.default_port = 1;                    /* must not be used */
    srv_zone_reset();
    srv_add(0, "_matrix-fed._tcp.localhost", 10, (uint16_t)tgt.port,
            "localhost");
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    is_int(fed_resolve(c, "localhost", &t, &why), FED_OK, "SRV resolve");
    ok(!t.delegated && t.n_ep == 1 && t.ep[0].port == tgt.port &&
           strcmp(t.host_header, "localhost") == 0,
       "  _matrix-fed._tcp target used");
    is_int(srv_queries, 1, "  deprecated _matrix._tcp not asked");
    is_int(openid(c, "localhost", "alice", "@alice:localhost"), FED_OK,
           "openid via SRV");
    fed_client_free(c);

    srv_zone_reset();
    srv_add(1, "_matrix._tcp.localhost", 10, (uint16_t)tgt.port, "localhost");
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    is_int(openid(c, "localhost", "alice", "@alice:localhost"), FED_OK,
           "openid via the deprecated _matrix._tcp");
    is_int(srv_queries, 2, "  after _matrix-fed._tcp found nothing");
    fed_client_free(c);

    /* Two targets, the preferred one down: the next is tried. */
    srv_zone_reset();
    srv_add(0, "_matrix-fed._tcp.localhost", 1, (uint16_t)closed_port(),
            "localhost");
    srv_add(0, "_matrix-fed._tcp.localhost", 2, (uint16_t)tgt.port,
            "localhost");
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    is_int(openid(c, "localhost", "alice", "@alice:localhost"), FED_OK,
           "first SRV target down: the second answers");
    fed_client_free(c);

    /* "." : the service is not offered. */
    srv_zone_reset();
    srv_add(0, "_matrix-fed._tcp.localhost", 0, 0, "");
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    is_int(fed_resolve(c, "localhost", &t, &why), FED_UNREACHABLE,
           "SRV \".\": FED_UNREACHABLE");
    fed_client_free(c);

    /* The certificate is checked against the server name, not against the
     * SRV target: a target with a valid certificate for itself proves
     * nothing for another name. */
    srv_zone_reset();
    srv_add(0, "_matrix-fed._tcp.other.invalid", 0, (uint16_t)tgt.port,
            "localhost");
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    is_int(openid(c, "other.invalid", "alice", NULL), FED_TLS,
           "SRV target certificate not valid for the server name: FED_TLS");
    fed_client_free(c);
    c = client(false, true, NULL);
    fed_client_set_test_hooks(c, &h);
    is_int(openid(c, "other.invalid", "alice", NULL), FED_FOREIGN_USER,
           "without verification it connects, and sub is foreign");
    fed_client_free(c);

    /* A failed well-known is remembered for an hour. */
    srv_zone_reset();
    h.default_port = (uint16_t)tgt.port;
    c = client(true, true, ca_file);
    fed_client_set_test_hooks(c, &h);
    n = fhs_count(&tgt, "request GET /.well-known");
    fed_resolve(c, "localhost", &t, &why);
    fake_now += 3599;
    fed_resolve(c, "localhost", &t, &why);
    is_int(fhs_count(&tgt, "request GET /.well-known"), n + 1,
           "failed well-known cached for an hour");
    fake_now += 2;
    fed_resolve(c, "localhost", &t, &why);
    is_int(fhs_count(&tgt, "request GET /.well-known"), n + 2,
           "  then asked again");
    fed_client_free(c);

    /* Lifetimes are clamped: at most 48 h, at least 5 minutes. */
    test_ttl_clamps(m_server);

    free(why);
    fhs_stop(&wk);
    fhs_stop(&wk_default);
    fhs_stop(&redir);
    fhs_stop(&redir_priv);
    fhs_stop(&redir_http);
    fhs_stop(&plain_wk);
}

static void
test_request_and_url(void)
{
    struct fed_client *c = client(false, true, NULL);
    struct fed_client *guarded = client(false, false, NULL);
    const char *hdrs[] = {"Content-Type: text/x-test", NULL};
    json_t *body = json_pack("{s:s, s:i}", "hello", "world", "n", 42);
    json_t *out = NULL;
    char url[200];
    char *resp = NULL;
    char *why = NULL;
    size_t len = 0;
    long status = 0;

    is_int(fed_request(c, "POST", hs.name, "/echo", body, &status, &out, &why),
           FED_OK, "fed_request POST JSON");
    is_int(status, 200, "  200");
    ok(out != NULL && json_equal(out, body), "  body echoed back as JSON");
    json_decref(out);
    is_int(fed_request(c, "PUT", hs.name, "/echo", body, &status, NULL, &why),
           FED_OK, "fed_request PUT");
    is_int(
        fed_request(c, "GET", hs.name, "/nowhere", NULL, &status, &out, &why),
        FED_OK, "404 with a JSON body is FED_OK");
    ok(status == 404 && json_is_object(out), "  status 404, errcode body");
    json_decref(out);
    is_int(
        fed_request(c, "GET", hs.name, "no-slash", NULL, &status, NULL, &why),
        FED_INTERNAL, "path must start with /");
    is_int(
        fed_request(c, "GET", hs.name, "/a\r\nX: y", NULL, &status, NULL, &why),
        FED_INTERNAL, "CR/LF in the path refused");

    snprintf(url, sizeof(url),
             "http://127.0.0.1:%u/_matrix/federation/v1/openid/userinfo"
             "?access_token=alice",
             plain.port);
    is_int(
        fed_http_url(c, "GET", url, NULL, NULL, 0, &status, &resp, &len, &why),
        FED_OK, "fed_http_url GET over http");
    ok(status == 200 && resp != NULL && strstr(resp, "@alice:") != NULL &&
           len == strlen(resp),
       "  200 with the body");
    free(resp);
    resp = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", plain.port);
    is_int(fed_http_url(c, "POST", url, hdrs, "a\0b", 3, &status, &resp, &len,
                        &why),
           FED_OK, "fed_http_url POST with headers and a binary body");
    ok(status == 200 && len == 3 && resp != NULL &&
           memcmp(resp, "a\0b", 3) == 0,
       "  echoed");
    free(resp);
    resp = NULL;
    snprintf(url, sizeof(url),
             "https://127.0.0.1:%u/_matrix/federation/v1/openid/userinfo"
             "?access_token=huge-chunked",
             hs.port);
    is_int(
        fed_http_url(c, "GET", url, NULL, NULL, 0, &status, &resp, &len, &why),
        FED_TOO_LARGE, "fed_http_url: size cap");
    ok(resp == NULL && why != NULL && strstr(why, "huge") == NULL,
       "  no body, and why has no query: %s", why != NULL ? why : "(null)");
    snprintf(url, sizeof(url),
             "https://127.0.0.1:%u/_matrix/federation/v1/openid/userinfo"
             "?access_token=redirect-private",
             hs.port);
    is_int(
        fed_http_url(c, "GET", url, NULL, NULL, 0, &status, NULL, NULL, &why),
        FED_OK, "fed_http_url does not follow redirects");
    is_int(status, 302, "  the 302 is the answer");
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", plain.port);
    is_int(fed_http_url(guarded, "POST", url, NULL, "x", 1, &status, NULL, NULL,
                        &why),
           FED_FORBIDDEN_ADDRESS, "fed_http_url under the guard");
    snprintf(url, sizeof(url), "http://localhost:%u/echo", plain.port);
    is_int(fed_http_url(guarded, "POST", url, NULL, "x", 1, &status, NULL, NULL,
                        &why),
           FED_FORBIDDEN_ADDRESS, "  also by name");
    is_int(fhs_count(&plain, "fake_hs: connection"), 2,
           "  fake saw only the 2 allowed connections");
    is_int(fed_http_url(c, "GET", "ftp://127.0.0.1/x", NULL, NULL, 0, &status,
                        NULL, NULL, &why),
           FED_BAD_NAME, "ftp:// refused");
    is_int(fed_http_url(c, "GET", "file:///etc/passwd", NULL, NULL, 0, &status,
                        NULL, NULL, &why),
           FED_BAD_NAME, "file:// refused");
    free(why);
    json_decref(body);
    fed_client_free(c);
    fed_client_free(guarded);
}

/* The access token must not appear in glia's log, even at debug level. */
static void
test_token_not_logged(void)
{
    struct fed_client *c = client(false, true, NULL);
    char path[600];
    char line[2048];
    int saved = dup(2);
    int fd;
    bool leaked = false;
    bool logged = false;
    FILE *in;

    snprintf(path, sizeof(path), "%s/self.log", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    log_set_level(LOG_LVL_DEBUG);
    fflush(stderr);
    dup2(fd, 2);
    close(fd);
    is_int(openid(c, hs.name, "sekrit-Token-93", NULL), FED_REJECTED,
           "unknown token at debug log level");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    log_set_level(getenv("FED_TEST_DEBUG") != NULL ? LOG_LVL_DEBUG
                                                   : LOG_LVL_ERROR);
    in = fopen(path, "r");
    while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
        if (strstr(line, "sekrit") != NULL)
            leaked = true;
        if (strstr(line, hs.name) != NULL)
            logged = true;
    }
    if (in != NULL)
        fclose(in);
    ok(logged, "the call was logged with the server name");
    ok(!leaked, "the token was not");
    fed_client_free(c);
}

int
main(void)
{
    const char *top = getenv("top_srcdir");
    char script[600];
    char *const *argv;
    int rc;

    plan_no_plan();
    fake_bin = getenv("FAKE_HS_BIN");
    if (fake_bin == NULL || fake_bin[0] == '\0')
        fake_bin = "tests/helpers/fake_hs";
    if (access(fake_bin, X_OK) != 0)
        skip_all("fake_hs not built (FAKE_HS_BIN)");
    snprintf(script, sizeof(script), "%s/tests/helpers/make-certs.sh",
             top != NULL && top[0] != '\0' ? top : ".");
    snprintf(dir, sizeof(dir), "/tmp/glia-fed.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 99;
    }
    {
        const char *a[] = {"sh", script, dir, NULL};

        argv = (char *const *)(uintptr_t)a;
        rc = run_wait(argv);
    }
    if (rc == 77)
        skip_all("no openssl to make test certificates");
    if (rc != 0) {
        printf("Bail out! %s failed (%d)\n", script, rc);
        return 99;
    }
    snprintf(ca_file, sizeof(ca_file), "%s/ca.pem", dir);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        printf("Bail out! curl_global_init\n");
        return 99;
    }
    log_set_level(getenv("FED_TEST_DEBUG") != NULL ? LOG_LVL_DEBUG
                                                   : LOG_LVL_ERROR);

    fhs_start(&hs, "hs", NULL);
    fhs_start(&self, "self", NULL);
    {
        const char *a[] = {"--server-name", "localhost", NULL};
        fhs_start(&tgt, "target", a);
    }
    {
        const char *a[] = {"--plain", NULL};
        fhs_start(&plain, "plain", a);
    }

    test_openid_roles();
    test_tls();
    test_guard();
    test_resolve_static();
    test_discovery();
    test_cache_bound();
    test_request_and_url();
    test_token_not_logged();
    test_slow_and_threads();

    fhs_stop(&hs);
    fhs_stop(&self);
    fhs_stop(&tgt);
    fhs_stop(&plain);
    curl_global_cleanup();
    {
        const char *a[] = {"rm", "-rf", dir, NULL};

        argv = (char *const *)(uintptr_t)a;
        run_wait(argv);
    }
    return done_testing();
}
