/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /account/register against a fake homeserver (tests/helpers/fake_hs:
 * HTTPS with a certificate from a test CA) that also plays bad actors: a
 * foreign user, a huge body, a slow answer, a redirect to a private address,
 * garbage. And the address guard: without allow_private_addresses, loopback
 * homeservers are refused before any connection is made.
 */
#include "httptest.h"
#include "pgtest.h"
#include "tap.h"
#include "util/mem.h"
#include "util/time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct glia_proc g;
static char certdir[] = "/tmp/glia-certs.XXXXXX";
static pid_t hs_pid;
static unsigned int hs_port;

static void
start_fake_hs(void)
{
    const char *bin = getenv("FAKE_HS_BIN");
    char *portfile = xasprintf("%s/hs.port", certdir);
    char *cert = xasprintf("%s/server.pem", certdir);
    char *key = xasprintf("%s/server.key", certdir);
    char *log = xasprintf("%s/hs.log", certdir);
    const char *argv[] = {bin != NULL ? bin : "tests/helpers/fake_hs",
                          "--cert",
                          cert,
                          "--key",
                          key,
                          "--port-file",
                          portfile,
                          NULL};

    hs_port = httptest_spawn(argv, portfile, log, &hs_pid);
    free(portfile);
    free(cert);
    free(key);
    free(log);
}

/* Register with an OpenID token at a server name. @return status. */
static long
reg(const char *server_name,
    const char *token,
    const char **errcode,
    char **glia_token)
{
    static char code[64];
    char *body = xasprintf("{\"access_token\":\"%s\",\"token_type\":"
                           "\"Bearer\",\"matrix_server_name\":\"%s\","
                           "\"expires_in\":3600}",
                           token, server_name);
    struct http_resp r;
    long st;

    http_post(&g, "/_matrix/identity/v2/account/register", body, &r);
    st = r.status;
    snprintf(code, sizeof(code), "%s", http_resp_errcode(&r));
    if (errcode != NULL)
        *errcode = code;
    if (glia_token != NULL)
        *glia_token =
            xstrdup(json_string_value(json_object_get(r.json, "token")));
    if (st == 200 && glia_token == NULL && errcode == NULL)
        diag("%s", r.body);
    http_resp_free(&r);
    free(body);
    return st;
}

static bool
hs_log_contains(const char *needle)
{
    char *cmd = xasprintf("grep -q -- '%s' %s/hs.log", needle, certdir);
    int rc = system(cmd);

    free(cmd);
    return rc == 0;
}

static void
start_glia(const char *federation)
{
    char *extra = xasprintf("[federation]\n%s", federation);

    httptest_start(&g, extra);
    free(extra);
}

static void
stop_glia(void)
{
    is_int(httptest_stop(&g, SIGTERM), 0, "glia exits cleanly");
    httptest_cleanup(&g);
}

int
main(void)
{
    char hs[64];
    char *tok = NULL;
    const char *code;
    char *cmd;
    char *ca_conf;
    struct http_resp r;

    plan_no_plan();
    pgtest_reset();
    if (mkdtemp(certdir) == NULL)
        skip_all("mkdtemp failed");
    httptest_make_certs(certdir, NULL);
    start_fake_hs();
    snprintf(hs, sizeof(hs), "127.0.0.1:%u", hs_port);
    ca_conf = xasprintf("verify_tls = true\nca_file = %s/ca.pem\n"
                        "allow_private_addresses = true\n",
                        certdir);

    /* The happy path: TLS verified against the test CA. */
    start_glia(ca_conf);
    is_int(reg(hs, "alice", NULL, &tok), 200, "register with a valid token");
    ok(tok != NULL && strlen(tok) == 64, "a 64-character token");
    {
        char *want = xasprintf("@alice:%s", hs);

        is_int(
            http_call(&g, "GET", "/_matrix/identity/v2/account", tok, NULL, &r),
            200, "the token works");
        is_str(json_string_value(json_object_get(r.json, "user_id")), want,
               "for the user the homeserver vouched for");
        http_resp_free(&r);
        free(want);
    }
    {
        char *body = xasprintf("{\"access_token\":\"alice\","
                               "\"matrix_server_name\":\"%s\"}",
                               hs);

        http_post(&g, "/_matrix/identity/v2/account/register", body, &r);
        ok(r.status == 200 &&
               json_equal(json_object_get(r.json, "token"),
                          json_object_get(r.json, "access_token")),
           "also answers access_token, for old clients");
        http_resp_free(&r);
        free(body);
    }
    ok(!httptest_log_contains(&g, tok), "the token is not logged");
    free(tok);

    /* Bad actors. */
    is_int(reg(hs, "foreign", &code, NULL), 403,
           "a user of another server: 403");
    is_str(code, "M_FORBIDDEN", "M_FORBIDDEN");
    is_int(reg(hs, "expired", &code, NULL), 401, "token the HS rejects: 401");
    is_str(code, "M_UNKNOWN_TOKEN", "M_UNKNOWN_TOKEN");
    {
        int64_t t0 = time_mono_us();

        is_int(reg(hs, "huge", &code, NULL), 502, "5 MiB answer: 502");
        ok(time_mono_us() - t0 < 5000000, "refused without reading it all");
    }
    is_int(reg(hs, "notjson", &code, NULL), 502, "garbage answer: 502");
    is_int(reg(hs, "nosub", &code, NULL), 502, "no sub: 502");
    is_int(reg(hs, "redirect-private", &code, NULL), 502,
           "redirect to a private address: not followed");
    {
        int64_t t0 = time_mono_us();
        pid_t child = fork();
        int st;

        if (child == 0) {
            /* The slow registration runs meanwhile in a child. */
            _exit(reg(hs, "slow", NULL, NULL) == 502 ? 0 : 1);
        }
        {
            struct timespec ts = {1, 0};

            nanosleep(&ts, NULL);
        }
        http_get(&g, "/_matrix/identity/versions", &r);
        ok(r.status == 200 && time_mono_us() - t0 < 3000000,
           "other requests are served while a homeserver is slow");
        http_resp_free(&r);
        waitpid(child, &st, 0);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "the slow homeserver times out: 502");
        ok(time_mono_us() - t0 < 15000000, "within the timeout (%.1f s)",
           (double)(time_mono_us() - t0) / 1e6);
    }
    is_int(reg("bad name", "alice", &code, NULL), 400, "bad server name: 400");
    is_str(code, "M_INVALID_PARAM", "M_INVALID_PARAM");
    is_int(reg("hs.test:99999", "alice", &code, NULL), 400,
           "port out of range: 400");
    stop_glia();

    /* The whole client flow: register, meet the terms, accept, proceed. */
    {
        char *terms = xasprintf("%s/terms.json", certdir);
        char *conf = xasprintf("%s[general]\nterms = %s\n", ca_conf, terms);
        FILE *f = fopen(terms, "w");

        fputs("{\"tos\": {\"version\": \"1\", \"en\": {\"name\": "
              "\"Terms\", \"url\": \"https://id.test/tos-1\"}}}",
              f);
        fclose(f);
        start_glia(conf);
        is_int(reg(hs, "alice", NULL, &tok), 200, "flow: register");
        http_call(&g, "GET", "/_matrix/identity/v2/account", tok, NULL, &r);
        ok(r.status == 403 &&
               strcmp(http_resp_errcode(&r), "M_TERMS_NOT_SIGNED") == 0,
           "flow: gated until the terms are accepted");
        http_resp_free(&r);
        http_request(g.base, "GET", "/_matrix/identity/v2/terms", NULL, 0, NULL,
                     &r);
        ok(r.status == 200 && strstr(r.body, "https://id.test/tos-1") != NULL,
           "flow: GET /terms lists the policy");
        http_resp_free(&r);
        is_int(http_call(&g, "POST", "/_matrix/identity/v2/terms", tok,
                         "{\"user_accepts\":[\"https://id.test/tos-1\"]}",
                         NULL),
               200, "flow: accept it");
        is_int(http_call(&g, "GET", "/_matrix/identity/v2/account", tok, NULL,
                         NULL),
               200, "flow: the gated endpoint answers");
        stop_glia();
        free(tok);
        free(conf);
        unlink(terms);
        free(terms);
    }

    /* Certificates are verified by default. */
    start_glia("allow_private_addresses = true\n");
    is_int(reg(hs, "alice", &code, NULL), 502,
           "self-signed homeserver without ca_file: refused");
    stop_glia();
    start_glia("verify_tls = false\nallow_private_addresses = true\n");
    is_int(reg(hs, "alice", NULL, NULL), 200, "verify_tls = false: accepted");
    stop_glia();

    /* The address guard (allow_private_addresses defaults to false). */
    cmd = xasprintf("verify_tls = true\nca_file = %s/ca.pem\n", certdir);
    start_glia(cmd);
    free(cmd);
    {
        char name[64];

        is_int(reg(hs, "guard-probe-1", &code, NULL), 403,
               "loopback homeserver: 403");
        is_str(code, "M_FORBIDDEN", "M_FORBIDDEN");
        snprintf(name, sizeof(name), "localhost:%u", hs_port);
        is_int(reg(name, "guard-probe-2", &code, NULL), 403,
               "a name resolving to loopback: 403");
        snprintf(name, sizeof(name), "[::1]:%u", hs_port);
        is_int(reg(name, "guard-probe-3", &code, NULL), 403,
               "IPv6 loopback: 403");
        is_int(reg("10.1.2.3:8448", "guard-probe-4", &code, NULL), 403,
               "private IPv4: 403");
        is_int(reg("[::ffff:192.168.0.1]:8448", "guard-probe-5", &code, NULL),
               403, "IPv4-mapped private address: 403");
        ok(!hs_log_contains("guard-probe"),
           "no request reached the homeserver");
    }
    stop_glia();

    kill(hs_pid, SIGTERM);
    waitpid(hs_pid, NULL, 0);
    free(ca_conf);
    cmd = xasprintf("rm -rf %s", certdir);
    if (system(cmd) != 0)
        diag("could not remove %s", certdir);
    free(cmd);
    return done_testing();
}
