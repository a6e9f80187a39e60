/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Replication: three glia instances, each with its own database, push to
 * each other over mutual TLS with certificates made by openssl
 * (tests/helpers/make-peer-certs.sh). A bind or unbind on one is seen by
 * lookups on the others within seconds; a peer killed mid-push loses and
 * duplicates nothing; forged signatures and unknown, foreign or missing
 * client certificates are refused; a hand-made push in sydent's exact
 * format (tombstone included) is applied; a peer refusing one change
 * (tests/helpers/fake_peer.py, which answers as sydent) does not block
 * the others, and one refusing everything (a wrong key) is retried, not
 * skipped; and two processes sharing one database elect exactly one
 * pusher, the other taking over when it dies.
 */
#include "crypto/crypto.h"
#include "httptest.h"
#include "pgtest.h"
#include "tap.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

#include <curl/curl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 3

static const char *const names[N] = {"glia-a.test", "glia-b.test",
                                     "glia-c.test"};
static const char *const dbs[N] = {"glia_a", "glia_b", "glia_c"};
static struct glia_proc g[N];
static struct glia_proc a2; /* a second process on A's database */
static char dir[] = "/tmp/glia-repl.XXXXXX";
static char *dsn[N];
static char keyfile[N][300];
static struct signing_key *keys[N];
static unsigned int repl_port[N];
static unsigned int internal_port[N];
static char *conf[N];
/* The fake peer D that only A pushes to. */
static unsigned int d_port;
static pid_t d_pid;
static char d_log[300];
static char d_control[300];

static long
post_internal(int node, const char *path, const char *body, unsigned int port)
{
    const char *const headers[] = {"Content-Type: application/json", NULL};
    char base[64];
    struct http_resp r;
    long st = 0;

    snprintf(base, sizeof(base), "http://127.0.0.1:%u",
             port != 0 ? port : internal_port[node]);
    if (http_request(base, "POST", path, body, strlen(body), headers, &r) == 0)
        st = r.status;
    http_resp_free(&r);
    return st;
}

static long
bind_on(int node, const char *address, const char *mxid, unsigned int port)
{
    char *body = xasprintf("{\"medium\":\"email\",\"address\":\"%s\","
                           "\"mxid\":\"%s\"}",
                           address, mxid);
    long st =
        post_internal(node, "/_matrix/identity/internal/bind", body, port);

    free(body);
    return st;
}

static long
unbind_on(int node, const char *address, const char *mxid)
{
    char *body = xasprintf("{\"medium\":\"email\",\"address\":\"%s\","
                           "\"mxid\":\"%s\"}",
                           address, mxid);
    long st = post_internal(node, "/_matrix/identity/internal/unbind", body, 0);

    free(body);
    return st;
}

/* The mxid node's v1 lookup answers for address ("" if none; static). */
static const char *
bound_to(int node, const char *address)
{
    static char mxid[256];
    char *path = xasprintf("/_matrix/identity/api/v1/lookup?medium=email&"
                           "address=%s",
                           address);
    struct http_resp r;

    mxid[0] = '\0';
    http_call(&g[node], "GET", path, NULL, NULL, &r);
    if (json_is_string(json_object_get(r.json, "mxid")))
        snprintf(mxid, sizeof(mxid), "%s",
                 json_string_value(json_object_get(r.json, "mxid")));
    http_resp_free(&r);
    free(path);
    return mxid;
}

/* Wait up to ms for node to answer want ("" = not bound) for address. */
static bool
converges(int node, const char *address, const char *want, int ms)
{
    for (int waited = 0; waited <= ms; waited += 100) {
        if (strcmp(bound_to(node, address), want) == 0)
            return true;
        httptest_sleep_ms(100);
    }
    diag("%s answers \"%s\" for %s, not \"%s\"", names[node],
         bound_to(node, address), address, want);
    return false;
}

/* ---- hand-made pushes ---------------------------------------------------- */

static size_t
sink(char *data, size_t size, size_t nmemb, void *cls)
{
    struct buf *b = cls;

    buf_append(b, data, size * nmemb);
    return size * nmemb;
}

/* POST body to node's replication listener with client cert cert (a file
 * stem in dir, or NULL for none). @return status (0: no answer: the TLS
 * handshake refused us); *errcode the answer's errcode (static). */
static long
push(int node, const char *cert, const char *body, const char **errcode)
{
    static char code[64];
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: "
                                                   "application/json");
    char *url = xasprintf("https://127.0.0.1:%u/_matrix/identity/replicate/"
                          "v1/push",
                          repl_port[node]);
    char *ca = xasprintf("%s/ca.pem", dir);
    char *pem = cert != NULL ? xasprintf("%s/%s.pem", dir, cert) : NULL;
    char *key = cert != NULL ? xasprintf("%s/%s.key", dir, cert) : NULL;
    struct buf out;
    long status = 0;
    json_t *j;

    buf_init(&out, 1 << 20);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    if (pem != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, pem);
        curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    }
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    code[0] = '\0';
    j = out.data != NULL ? json_loads(out.data, 0, NULL) : NULL;
    if (json_is_string(json_object_get(j, "errcode")))
        snprintf(code, sizeof(code), "%s",
                 json_string_value(json_object_get(j, "errcode")));
    if (errcode != NULL)
        *errcode = code;
    json_decref(j);
    buf_free(&out);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(url);
    free(ca);
    free(pem);
    free(key);
    return status;
}

/* A sydent-shaped entry signed as names[signer] with keys[with]. */
static json_t *
entry(const char *address, const char *mxid, long long ts, int signer, int with)
{
    json_t *e = mxid != NULL
                    ? json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "medium",
                                "email", "address", address, "mxid", mxid, "ts",
                                (json_int_t)ts, "not_before", (json_int_t)ts,
                                "not_after", (json_int_t)(ts + 3153600000000LL))
                    : json_pack("{s:s, s:s, s:n, s:I, s:n, s:n}", "medium",
                                "email", "address", address, "mxid", "ts",
                                (json_int_t)ts, "not_before", "not_after");

    signjson_sign(e, names[signer], "ed25519:0", keys[with]->sk);
    return e;
}

static char *
push_body(const char *id1, json_t *e1, const char *id2, json_t *e2)
{
    json_t *sg = json_object();
    json_t *body;
    char *text;

    json_object_set_new(sg, id1, e1);
    if (id2 != NULL)
        json_object_set_new(sg, id2, e2);
    body = json_pack("{s:o}", "sgAssocs", sg);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

static void
forged_and_foreign(void)
{
    const char *code;
    char *body;
    long long ts = time_now_ms();

    /* A's entry signed by C's key: a forgery. */
    body = push_body(
        "900001", entry("forged@example.org", "@mallory:evil.test", ts, 0, 2),
        NULL, NULL);
    is_int(push(1, "glia-a.test", body, &code), 400,
           "a tampered signature: 400");
    is_str(code, "M_VERIFICATION_FAILED", "M_VERIFICATION_FAILED");
    is_str(bound_to(1, "forged%40example.org"), "", "and nothing stored");
    free(body);
    /* C's entry pushed by A: only the pusher's own signature counts. */
    body = push_body("900002",
                     entry("relayed@example.org", "@x:hs.test", ts, 2, 2), NULL,
                     NULL);
    is_int(push(1, "glia-a.test", body, &code), 400,
           "another peer's entry relayed by A: 400");
    free(body);

    body = push_body("900003",
                     entry("stranger@example.org", "@s:hs.test", ts, 0, 0),
                     NULL, NULL);
    is_int(push(1, "stranger.test", body, &code), 403,
           "a certificate from the CA for no configured peer: 403");
    is_str(code, "M_UNKNOWN_PEER", "M_UNKNOWN_PEER");
    ok(push(1, "rogue", body, &code) != 200,
       "a certificate from another CA, even with a peer's CN: refused");
    ok(push(1, NULL, body, &code) != 200, "no client certificate: refused");
    is_str(bound_to(1, "stranger%40example.org"), "",
           "nothing stored from any of them");
    free(body);

    /* sydent's exact shape, from "A": a bind and a tombstone in one push,
     * ids not contiguous; applied, and applied again harmlessly. */
    is_int(bind_on(1, "gone@example.org", "@gone:hs.test", 0), 200,
           "(gone@ is bound on B)");
    httptest_sleep_ms(5);
    ts = time_now_ms(); /* the unbind is newer than that binding */
    body = push_body("900010",
                     entry("sydent@example.org", "@sy:hs.test", ts, 0, 0),
                     "900012", entry("gone@example.org", NULL, ts, 0, 0));
    is_int(push(1, "glia-a.test", body, &code), 200,
           "a sydent-format push with a tombstone: 200");
    is_str(bound_to(1, "sydent%40example.org"), "@sy:hs.test",
           "its binding is found at once");
    is_str(bound_to(1, "gone%40example.org"), "", "its tombstone applied");
    is_int(push(1, "glia-a.test", body, &code), 200, "the same push again");
    is_str(pgtest_value(dsn[1],
                        "SELECT count(*) FROM glia.associations WHERE "
                        "origin_server = 'glia-a.test' AND origin_id = 900010"),
           "1", "stored once");
    free(body);
    /* A re-sent older binding does not undo the unbind. */
    body = push_body(
        "900011", entry("gone@example.org", "@gone:hs.test", ts - 1000, 0, 0),
        NULL, NULL);
    is_int(push(1, "glia-a.test", body, &code), 200, "an older binding, late");
    is_str(bound_to(1, "gone%40example.org"), "",
           "does not resurrect the unbound address");
    free(body);
}

/* Node i's config: its listeners, certificate and the other two peers. */
static char *
node_conf(int i, unsigned int iport, unsigned int rport)
{
    struct buf c;
    char *r;

    buf_init(&c, 1 << 16);
    buf_printf(&c,
               "[internal]\nport = %u\n[replication]\nport = %u\n"
               "bind_address = 127.0.0.1\ntls_cert = %s/%s.pem\n"
               "tls_key = %s/%s.key\nca_cert = %s/ca.pem\n",
               iport, rport, dir, names[i], dir, names[i], dir);
    for (int j = 0; j < N; j++) {
        if (j == i)
            continue;
        buf_printf(&c,
                   "[peer.%s]\nurl = https://127.0.0.1:%u\n"
                   "public_key = %s\n",
                   names[j], repl_port[j], keys[j]->pk_b64);
    }
    if (i == 0) /* D never pushes: any key will do */
        buf_printf(&c,
                   "[peer.glia-d.test]\nurl = https://127.0.0.1:%u\n"
                   "public_key = %s\n",
                   d_port, keys[1]->pk_b64);
    r = xstrndup(c.data, c.len);
    buf_free(&c);
    return r;
}

/* Replace the first occurrence of from in file by to. */
static void
file_replace(const char *path, const char *from, const char *to)
{
    FILE *f = fopen(path, "r");
    char buf[65536];
    size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    char *at;

    if (f != NULL)
        fclose(f);
    buf[n] = '\0';
    at = strstr(buf, from);
    f = fopen(path, "w");
    if (f == NULL || at == NULL) {
        diag("cannot edit %s", path);
        if (f != NULL)
            fclose(f);
        return;
    }
    fwrite(buf, 1, (size_t)(at - buf), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fclose(f);
}

/* Does D's log mention text? */
static bool
d_got(const char *text)
{
    FILE *f = fopen(d_log, "r");
    char line[65536];
    bool found = false;

    while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, text) != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

/* A peer refusing everything (here: B with a wrong key for A) is the
 * peer's trouble: A keeps the changes and retries, and once B is fixed it
 * gets them all. */
static void
refused_by_peer(void)
{
    char *path = xasprintf("%s/glia.conf", g[1].dir);

    is_int(httptest_stop(&g[1], SIGTERM), 0, "B stops");
    file_replace(path, keys[0]->pk_b64, keys[2]->pk_b64);
    httptest_restart(&g[1]);
    is_int(bind_on(0, "refused@example.org", "@r:hs.test", 0), 200,
           "A binds while B has a wrong key for A");
    ok(converges(2, "refused%40example.org", "@r:hs.test", 10000),
       "C takes it");
    httptest_sleep_ms(1500);
    is_str(bound_to(1, "refused%40example.org"), "", "B refuses it");
    is_str(pgtest_value(dsn[0],
                        "SELECT count(*) FROM glia.replication_refused WHERE "
                        "peer = 'glia-b.test'"),
           "0", "A gives up on nothing: a whole batch refused is B's trouble");
    is_int(httptest_stop(&g[1], SIGTERM), 0, "B stops");
    file_replace(path, keys[2]->pk_b64, keys[0]->pk_b64);
    httptest_restart(&g[1]);
    is_int(bind_on(0, "after@example.org", "@after:hs.test", 0), 200,
           "A binds another");
    ok(converges(1, "refused%40example.org", "@r:hs.test", 15000),
       "fixed, B gets the change it refused");
    ok(converges(1, "after%40example.org", "@after:hs.test", 10000),
       "and the next");
    free(path);
}

/* A peer that refuses one change does not block the ones after it. */
static void
refused_entry(void)
{
    char *hold = xasprintf("%s/hold", d_control);
    char *cmd;
    char out[256];
    FILE *f = fopen(hold, "w");

    if (f != NULL)
        fclose(f);
    /* D is down while these three are made, so they go in one batch. */
    is_int(bind_on(0, "ok-before@example.org", "@ob:hs.test", 0), 200,
           "A binds ok-before");
    is_int(bind_on(0, "refuse-me@example.org", "@rm:hs.test", 0), 200,
           "and refuse-me, which D refuses");
    is_int(bind_on(0, "ok-after@example.org", "@oa:hs.test", 0), 200,
           "and ok-after");
    httptest_sleep_ms(1500);
    unlink(hold);
    for (int i = 0; i < 150 && !d_got("ok-after@example.org"); i++)
        httptest_sleep_ms(100);
    ok(d_got("ok-before@example.org") && d_got("ok-after@example.org"),
       "D gets the changes around the one it refuses");
    ok(!d_got("refuse-me@example.org"), "not that one");
    is_str(pgtest_value(dsn[0],
                        "SELECT count(*) FROM glia.replication_refused WHERE "
                        "peer = 'glia-d.test'"),
           "1", "A records the refusal");
    cmd = xasprintf("%s peer retry glia-d.test -c %s/glia.conf",
                    getenv("GLIA_ADMIN_BIN") != NULL ? getenv("GLIA_ADMIN_BIN")
                                                     : "src/glia-admin",
                    g[0].dir);
    httptest_run(cmd, out, sizeof(out));
    is_str(out, "1 refused change(s) will be sent to glia-d.test again",
           "glia-admin peer retry");
    free(cmd);
    free(hold);
}


/* Binds committed concurrently (4 glia-admin loops, each bind its own
 * database connection) must all reach B: change ids commit in order, so
 * the pusher's cursor never passes one still in flight. */
static void
concurrent_binds(void)
{
    const char *admin = getenv("GLIA_ADMIN_BIN") != NULL
                            ? getenv("GLIA_ADMIN_BIN")
                            : "src/glia-admin";
    char *cmd = xasprintf(
        "for w in 0 1 2 3; do (for i in $(seq 0 24); do %s bind -c "
        "%s/glia.conf email c$w-$i@example.org @c$w-$i:hs.test >/dev/null "
        "|| exit 1; done) & done; wait",
        admin, g[0].dir);
    char out[64];

    is_int(httptest_run(cmd, NULL, 0), 0, "100 binds on A from 4 processes");
    free(cmd);
    for (int i = 0; i < 150; i++) {
        if (strcmp(pgtest_value(dsn[1],
                                "SELECT count(*) FROM glia.associations WHERE "
                                "address LIKE 'c_-%@example.org'"),
                   "100") == 0)
            break;
        httptest_sleep_ms(100);
    }
    snprintf(out, sizeof(out), "%s",
             pgtest_value(dsn[1],
                          "SELECT count(*) FROM glia.associations WHERE "
                          "address LIKE 'c_-%@example.org'"));
    is_str(out, "100", "B has all 100");
}

static void
start_node(int i)
{
    struct httptest_opts o = {names[i], dsn[i], keyfile[i], conf[i]};

    httptest_start_as(&g[i], &o);
}

int
main(void)
{
    char *cmd;

    plan_no_plan();
    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    if (getenv("GLIA_TEST_DSN") == NULL)
        skip_all("GLIA_TEST_DSN unset: run under tests/with-postgres.sh");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (mkdtemp(dir) == NULL)
        skip_all("mkdtemp failed");
    httptest_make_certs(dir, "glia-a.test glia-b.test glia-c.test "
                             "glia-d.test stranger.test");
    {
        const char *top = getenv("top_srcdir");
        char *script =
            xasprintf("%s/tests/helpers/fake_peer.py", top != NULL ? top : ".");
        char *portfile = xasprintf("%s/d.port", dir);
        char *cert = xasprintf("%s/glia-d.test.pem", dir);
        char *key = xasprintf("%s/glia-d.test.key", dir);
        char *ca = xasprintf("%s/ca.pem", dir);
        char *err = xasprintf("%s/d.stderr", dir);
        const char *argv[] = {
            "/usr/bin/python3", script, portfile, d_log, cert, key, ca,
            d_control,          NULL};

        snprintf(d_log, sizeof(d_log), "%s/d.log", dir);
        snprintf(d_control, sizeof(d_control), "%s", dir);
        d_port = httptest_spawn(argv, portfile, err, &d_pid);
        free(script);
        free(portfile);
        free(cert);
        free(key);
        free(ca);
        free(err);
    }

    for (int i = 0; i < N; i++) {
        const char *base = getenv("GLIA_TEST_DSN");
        const char *p = strstr(base, "dbname=postgres");

        keys[i] = signing_key_generate("0");
        snprintf(keyfile[i], sizeof(keyfile[i]), "%s/%s.signing", dir,
                 names[i]);
        signing_key_write_file(keyfile[i], keys[i]);
        dsn[i] = xasprintf(
            "%.*sdbname=%s%s", (int)(p != NULL ? p - base : (long)strlen(base)),
            base, dbs[i], p != NULL ? p + strlen("dbname=postgres") : "");
        cmd = xasprintf("psql -q -c 'DROP DATABASE IF EXISTS %s' -c 'CREATE "
                        "DATABASE %s' '%s' >/dev/null 2>&1",
                        dbs[i], dbs[i], base);
        if (system(cmd) != 0)
            skip_all("cannot create the test databases");
        free(cmd);
        repl_port[i] = httptest_free_port();
        internal_port[i] = httptest_free_port();
    }
    for (int i = 0; i < N; i++) {
        conf[i] = node_conf(i, internal_port[i], repl_port[i]);
        start_node(i);
    }

    /* Binds and unbinds converge on every node. */
    is_int(bind_on(0, "alice@example.org", "@alice:hs.test", 0), 200,
           "A binds alice");
    ok(converges(1, "alice%40example.org", "@alice:hs.test", 10000),
       "B finds alice");
    ok(converges(2, "alice%40example.org", "@alice:hs.test", 10000),
       "C finds alice");
    is_int(bind_on(1, "bob@example.org", "@bob:hs.test", 0), 200,
           "B binds bob");
    ok(converges(0, "bob%40example.org", "@bob:hs.test", 10000), "A finds bob");
    ok(converges(2, "bob%40example.org", "@bob:hs.test", 10000), "C finds bob");
    is_int(unbind_on(0, "alice@example.org", "@alice:hs.test"), 200,
           "A unbinds alice");
    ok(converges(1, "alice%40example.org", "", 10000), "gone on B");
    ok(converges(2, "alice%40example.org", "", 10000), "gone on C");
    is_int(bind_on(2, "carol@example.org", "@carol:hs.test", 0), 200,
           "C binds carol");
    is_int(bind_on(2, "carol@example.org", "@carol2:hs.test", 0), 200,
           "and rebinds her address to carol2");
    ok(converges(0, "carol%40example.org", "@carol2:hs.test", 10000),
       "A finds the rebinding");
    ok(converges(1, "carol%40example.org", "@carol2:hs.test", 10000),
       "so does B");

    /* B is killed in the middle of pushes, and restarted. */
    for (int i = 0; i < 20; i++) {
        char addr[64];
        char mxid[64];

        snprintf(addr, sizeof(addr), "k%02d@example.org", i);
        snprintf(mxid, sizeof(mxid), "@k%02d:hs.test", i);
        bind_on(0, addr, mxid, 0);
        if (i == 9) {
            is_int(httptest_stop(&g[1], SIGKILL), -1, "B killed mid-push");
            is_int(unbind_on(0, "k03@example.org", "@k03:hs.test"), 200,
                   "A unbinds k03 while B is down");
        }
    }
    httptest_sleep_ms(1500);
    httptest_restart(&g[1]);
    for (int i = 0; i < 20; i++) {
        char addr[64];
        char mxid[64];

        snprintf(addr, sizeof(addr), "k%02d%%40example.org", i);
        snprintf(mxid, sizeof(mxid), "@k%02d:hs.test", i);
        if (!converges(1, addr, i == 3 ? "" : mxid, 15000))
            ok(0, "B converges on k%02d", i);
    }
    ok(1, "B has every binding made while it was down or dying");
    is_str(pgtest_value(dsn[1],
                        "SELECT count(*) FROM glia.associations WHERE "
                        "origin_server = 'glia-a.test' AND address LIKE 'k%'"),
           "19", "exactly 19 from A: nothing lost, nothing twice");
    is_str(pgtest_value(dsn[1],
                        "SELECT count(*) FROM (SELECT address FROM "
                        "glia.associations GROUP BY medium, address HAVING "
                        "count(*) > 1) d"),
           "0", "no address twice");

    forged_and_foreign();
    refused_by_peer();
    refused_entry();
    concurrent_binds();

    /* glia-admin peer list on A. */
    cmd = xasprintf("%s peer list -c %s/glia.conf",
                    getenv("GLIA_ADMIN_BIN") != NULL ? getenv("GLIA_ADMIN_BIN")
                                                     : "src/glia-admin",
                    g[0].dir);
    {
        FILE *p = popen(cmd, "r");
        char line[1024];
        bool b_ok = false;

        while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
            char name[64];
            long long sent;
            long long pending;
            long long refused;

            if (sscanf(line, "%63s %lld %lld %lld", name, &sent, &pending,
                       &refused) == 4 &&
                strcmp(name, "glia-b.test") == 0 && sent > 0 && pending == 0 &&
                refused == 0 && strstr(line, "ago") != NULL)
                b_ok = true;
        }
        if (p != NULL)
            ok(pclose(p) == 0 && b_ok,
               "peer list: B took everything, recently");
    }
    free(cmd);

    /* Two processes on A's database: one pusher, and a take-over. */
    {
        unsigned int iport2 = httptest_free_port();
        char *c2 = node_conf(0, iport2, 0);
        struct httptest_opts o = {names[0], dsn[0], keyfile[0], c2};
        bool took = false;

        httptest_start_as(&a2, &o);
        httptest_sleep_ms(2500);
        ok(httptest_log_contains(&g[0], "this process pushes") &&
               !httptest_log_contains(&a2, "this process pushes"),
           "with two processes on one database, only the first pushes");
        is_int(httptest_stop(&g[0], SIGKILL), -1, "the pusher is killed");
        for (int i = 0; i < 100 && !took; i++) {
            took = httptest_log_contains(&a2, "this process pushes");
            httptest_sleep_ms(100);
        }
        ok(took, "the other process takes over within seconds");
        is_int(bind_on(0, "late@example.org", "@late:hs.test", iport2), 200,
               "the second process binds");
        ok(converges(1, "late%40example.org", "@late:hs.test", 10000),
           "and B finds it");
        ok(converges(2, "late%40example.org", "@late:hs.test", 10000), "and C");
        is_int(httptest_stop(&a2, SIGTERM), 0, "clean exit (second process)");
        httptest_cleanup(&a2);
        free(c2);
    }

    for (int i = 1; i < N; i++)
        is_int(httptest_stop(&g[i], SIGTERM), 0, "clean exit (%s)", names[i]);
    if (d_pid > 0) {
        kill(d_pid, SIGTERM);
        waitpid(d_pid, NULL, 0);
    }
    for (int i = 0; i < N; i++) {
        httptest_cleanup(&g[i]);
        signing_key_free(keys[i]);
        free(conf[i]);
        free(dsn[i]);
    }
    cmd = xasprintf("rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    free(cmd);
    curl_global_cleanup();
    return done_testing();
}
