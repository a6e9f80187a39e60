/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The daemon as an operator sees it: graceful shutdown with a request in
 * flight, surviving a PostgreSQL restart and outage, metrics, the access log
 * (with secrets redacted), and refusing bad configs and foreign databases.
 */
#include "httptest.h"
#include "pgtest.h"
#include "tap.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct glia_proc g;

static int
connect_port(unsigned int port)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static long
status_of(const char *base, const char *path, const char **errcode)
{
    static char code[64];
    struct http_resp r;
    long st;

    http_request(base, "GET", path, NULL, 0, NULL, &r);
    st = r.status;
    snprintf(code, sizeof(code), "%s", http_resp_errcode(&r));
    if (errcode != NULL)
        *errcode = code;
    http_resp_free(&r);
    return st;
}

static void
graceful_shutdown(void)
{
    const char *head = "GET /_matrix/identity/versions HTTP/1.1\r\nHost: x\r\n";
    char reply[4096];
    size_t got = 0;
    int fd = connect_port(g.port);
    pid_t pid = g.pid;
    int status = -1;
    struct timespec pause = {0, 300 * 1000 * 1000};

    ok(fd >= 0, "connected");
    /* Half a request: the daemon has seen the request line, not the end. */
    send(fd, head, strlen(head), MSG_NOSIGNAL);
    nanosleep(&pause, NULL);
    kill(pid, SIGTERM);
    nanosleep(&pause, NULL);
    ok(waitpid(pid, &status, WNOHANG) == 0,
       "still running while a request is in flight");
    ok(connect_port(g.port) < 0, "no new connections after SIGTERM");
    send(fd, "\r\n", 2, MSG_NOSIGNAL);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;

        if (poll(&p, 1, 10000) <= 0 || got >= sizeof(reply) - 1)
            break;
        n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        reply[got] = '\0';
        if (strstr(reply, "\"versions\"") != NULL)
            break;
    }
    reply[got] = '\0';
    ok(strncmp(reply, "HTTP/1.1 200", 12) == 0 &&
           strstr(reply, "\"versions\"") != NULL,
       "the in-flight request got its full answer");
    close(fd);
    is_int(httptest_stop(&g, SIGTERM), 0, "then glia exited cleanly");
}

static void
database_outage(void)
{
    const char *code;

    is_int(status_of(g.base, "/_matrix/identity/v2", NULL), 200,
           "status ok with the database up");
    is_int(pgtest_ctl("restart -w -m fast"), 0, "PostgreSQL restarted");
    for (int i = 0; i < 8; i++)
        if (status_of(g.base, "/_matrix/identity/v2", NULL) != 200)
            ok(0, "request %d after a restart failed", i);
    ok(1, "every request after the restart succeeds (all 4 pool threads)");
    is_int(pgtest_ctl("stop -w -m fast"), 0, "PostgreSQL stopped");
    is_int(status_of(g.base, "/_matrix/identity/v2", &code), 500,
           "during the outage: 500");
    is_str(code, "M_UNKNOWN", "as M_UNKNOWN");
    is_int(status_of(g.base, "/_matrix/identity/versions", NULL), 200,
           "endpoints without the database still answer");
    is_int(pgtest_ctl("start -w"), 0, "PostgreSQL started again");
    for (int i = 0; i < 8; i++)
        if (status_of(g.base, "/_matrix/identity/v2", NULL) != 200)
            ok(0, "request %d after recovery failed", i);
    ok(1, "requests succeed again without restarting glia");
}

static void
metrics_and_log(unsigned int mport)
{
    char base[64];
    struct http_resp r;

    snprintf(base, sizeof(base), "http://127.0.0.1:%u", mport);
    status_of(g.base,
              "/_matrix/identity/v2/pubkey/isvalid?public_key=abc"
              "&access_token=SECRETTOKEN&client_secret=SECRETCS",
              NULL);
    status_of(g.base, "/nope", NULL);
    http_request(base, "GET", "/metrics", NULL, 0, NULL, &r);
    is_int(r.status, 200, "metrics listener answers");
    ok(strstr(r.body,
              "glia_http_requests_total{route=\"/_matrix/identity/v2/"
              "pubkey/isvalid\",method=\"GET\",status=\"200\"} ") != NULL,
       "requests counted by route and status");
    ok(strstr(r.body, "route=\"unmatched\",status=\"404\"") != NULL,
       "unknown paths counted");
    ok(strstr(r.body, "glia_http_request_duration_seconds_bucket{") != NULL &&
           strstr(r.body, "le=\"+Inf\"") != NULL,
       "latency histogram");
    ok(strstr(r.body, "glia_db_errors_total ") != NULL &&
           strstr(r.body, "glia_db_errors_total 0\n") == NULL,
       "the outage shows in glia_db_errors_total");
    ok(strstr(r.body, "# TYPE glia_onbind_delivered_total counter\n") != NULL &&
           strstr(r.body, "glia_replication_push_failures_total 0\n") != NULL &&
           strstr(r.body, "glia_messages_sent_total 0\n") != NULL,
       "counters of background work");
    http_resp_free(&r);
    http_request(base, "GET", "/other", NULL, 0, NULL, &r);
    is_int(r.status, 404, "metrics listener: other paths 404");
    http_resp_free(&r);
    ok(httptest_log_contains(&g, "GET /_matrix/identity/v2/pubkey/isvalid?"
                                 "public_key=abc&access_token=_&client_secret"
                                 "=_ 200"),
       "access log line with secrets redacted");
    ok(!httptest_log_contains(&g, "SECRETTOKEN") &&
           !httptest_log_contains(&g, "SECRETCS"),
       "no secret reaches the log");
    ok(httptest_log_contains(&g, "GET /nope 404"), "404s are logged");
}

/* Run glia with a config; @return its exit status and the output. */
static int
run_glia(const char *conf_text, char **output)
{
    char *dir = xasprintf("%s/alt", g.dir);
    char *cmd;
    FILE *f;
    int rc;

    cmd = xasprintf("mkdir -p %s && cp %s/signing.key %s/", dir, g.dir, dir);
    rc = system(cmd);
    free(cmd);
    cmd = xasprintf("%s/glia.conf", dir);
    f = fopen(cmd, "w");
    fputs(conf_text, f);
    fclose(f);
    free(cmd);
    cmd = xasprintf("cd %s && timeout 20 %s -c glia.conf > out.txt 2>&1", dir,
                    getenv("GLIA_BIN"));
    rc = system(cmd);
    free(cmd);
    cmd = xasprintf("cat %s/out.txt", dir);
    {
        FILE *p = popen(cmd, "r");
        char buf[8192];
        size_t n = fread(buf, 1, sizeof(buf) - 1, p);

        buf[n] = '\0';
        pclose(p);
        *output = xstrdup(buf);
    }
    free(cmd);
    free(dir);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
refusals(void)
{
    char *out;
    char *conf;
    int rc;

    rc = run_glia("[general]\nserver_name = glia.test\n[http]\nthreads = "
                  "none\n",
                  &out);
    is_int(rc, 2, "bad config: exit status 2");
    ok(strstr(out, "glia.conf:4: [http] threads: \"none\" is not an integer") !=
           NULL,
       "with file:line, key and reason");
    free(out);
    conf = xasprintf("[general]\nserver_name = other.test\ntemplates = %s\n"
                     "[http]\nport = 0\n"
                     "[db]\ndsn = %s\n[crypto]\nsigning_key_file = "
                     "signing.key\n",
                     httptest_templates_dir(), getenv("GLIA_TEST_DSN"));
    rc = run_glia(conf, &out);
    is_int(rc, 1, "another server_name on this database: refused");
    ok(strstr(out, "belongs to identity server \"glia.test\"") != NULL,
       "saying whose database it is");
    free(out);
    free(conf);
    conf = xasprintf("[general]\nserver_name = glia.test\ntemplates = %s\n"
                     "[http]\nport = 0\n"
                     "[db]\ndsn = %s\n[crypto]\nsigning_key_file = "
                     "missing.key\n",
                     httptest_templates_dir(), getenv("GLIA_TEST_DSN"));
    rc = run_glia(conf, &out);
    is_int(rc, 1, "missing signing key: refused");
    ok(strstr(out, "glia-admin keygen") != NULL,
       "pointing at glia-admin keygen");
    free(out);
    free(conf);
}

int
main(void)
{
    char extra[128];
    unsigned int mport = httptest_free_port();

    plan_no_plan();
    pgtest_reset();
    snprintf(extra, sizeof(extra), "[metrics]\nport = %u\n", mport);
    httptest_start(&g, extra);
    database_outage();
    metrics_and_log(mport);
    graceful_shutdown();
    refusals();
    httptest_cleanup(&g);
    return done_testing();
}
