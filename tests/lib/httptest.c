/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* See httptest.h. */
/* realpath() is XSI, beyond the POSIX level the build asks for. */
#define _DEFAULT_SOURCE
#include "httptest.h"
#include "db/db.h"
#include "httpd/httpd.h"
#include "pgtest.h"
#include "tap.h"
#include "util/buf.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void
bail(const char *what, const struct glia_proc *g)
{
    printf("Bail out! %s\n", what);
    if (g != NULL && g->dir[0] != '\0') {
        char *cmd = xasprintf("sed 's/^/# /' %s/glia.log", g->dir);

        fflush(stdout);
        if (system(cmd) != 0) {
            /* nothing more to show */
        }
        free(cmd);
    }
    exit(1);
}

void
httptest_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    struct buf b;
    char chunk[4096];
    size_t n;

    buf_init(&b, 64u << 20);
    if (f == NULL)
        return buf_steal(&b, NULL);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    return buf_steal(&b, NULL);
}

bool
httptest_log_contains(const struct glia_proc *g, const char *needle)
{
    char *path = xasprintf("%s/glia.log", g->dir);
    char *log = slurp(path);
    bool found = strstr(log, needle) != NULL;

    free(path);
    free(log);
    return found;
}

/* Count "listening" lines in log; set *port from the last one. */
static size_t
listening_lines(const char *log, unsigned int *port)
{
    const char *marker = "listening on http://127.0.0.1:";
    size_t count = 0;

    for (const char *p = strstr(log, marker); p != NULL;
         p = strstr(p + 1, marker)) {
        count++;
        *port = (unsigned int)atoi(p + strlen(marker));
    }
    return count;
}

/* Fork and exec the daemon, then wait for its (next) "listening" line. */
static void
launch(struct glia_proc *g)
{
    const char *bin = getenv("GLIA_BIN");
    char *conf = xasprintf("%s/glia.conf", g->dir);
    char *logpath = xasprintf("%s/glia.log", g->dir);
    char *log = slurp(logpath);
    unsigned int port = 0;
    size_t before = listening_lines(log, &port);

    free(log);
    if (bin == NULL)
        bin = "src/glia";
    g->pid = fork();
    if (g->pid < 0)
        bail("fork failed", NULL);
    if (g->pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);

        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl(bin, bin, "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0;; i++) {
        int status;

        log = slurp(logpath);
        if (listening_lines(log, &port) > before) {
            free(log);
            break;
        }
        free(log);
        if (waitpid(g->pid, &status, WNOHANG) == g->pid) {
            g->pid = 0;
            bail("glia exited during start-up", g);
        }
        if (i == 600)
            bail("glia did not start within 30 s", g);
        httptest_sleep_ms(50);
    }
    g->port = port;
    snprintf(g->base, sizeof(g->base), "http://127.0.0.1:%u", g->port);
    free(conf);
    free(logpath);
}

unsigned int
httptest_spawn(const char *const argv[],
               const char *portfile,
               const char *logfile,
               pid_t *pid)
{
    unsigned int port = 0;

    unlink(portfile);
    *pid = fork();
    if (*pid < 0)
        bail("fork failed", NULL);
    if (*pid == 0) {
        if (logfile != NULL) {
            int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);

            if (fd >= 0) {
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
        }
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    for (int i = 0; i < 500 && port == 0; i++) {
        FILE *f = fopen(portfile, "r");
        int st;

        if (f != NULL) {
            if (fscanf(f, "%u", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port != 0)
            break;
        if (waitpid(*pid, &st, WNOHANG) == *pid) {
            printf("Bail out! %s exited during start-up (log: %s)\n", argv[0],
                   logfile != NULL ? logfile : "none");
            exit(1);
        }
        httptest_sleep_ms(20);
    }
    if (port == 0) {
        kill(*pid, SIGKILL);
        printf("Bail out! %s did not start within 10 s\n", argv[0]);
        exit(1);
    }
    return port;
}

const char *
httptest_templates_dir(void)
{
    static char path[4200];
    const char *top = getenv("top_srcdir");
    char abs[4096];

    if (realpath(top != NULL ? top : ".", abs) == NULL)
        snprintf(abs, sizeof(abs), "%s", top != NULL ? top : ".");
    snprintf(path, sizeof(path), "%s/templates", abs);
    return path;
}

int
httptest_run(const char *cmd, char *out, size_t outlen)
{
    FILE *p = popen(cmd, "r");
    int c;
    int st;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (p == NULL)
        return -1;
    if (out != NULL && outlen > 0 && fgets(out, (int)outlen, p) != NULL)
        out[strcspn(out, "\n")] = '\0';
    while ((c = fgetc(p)) != EOF)
        ;
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void
httptest_make_certs(const char *dir, const char *names)
{
    const char *top = getenv("top_srcdir");
    char *cmd = xasprintf(
        "sh %s/tests/helpers/%s %s %s >/dev/null 2>&1", top != NULL ? top : ".",
        names != NULL ? "make-peer-certs.sh" : "make-certs.sh", dir,
        names != NULL ? names : "");
    int rc = system(cmd);

    free(cmd);
    if (rc != 0)
        skip_all("cannot make test certificates (openssl missing?)");
}

unsigned int
httptest_free_port(void)
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
    if (port == 0)
        bail("cannot find a free port", NULL);
    return port;
}

void
httptest_start(struct glia_proc *g, const char *extra_conf)
{
    struct httptest_opts o = {NULL, NULL, NULL, extra_conf};

    httptest_start_as(g, &o);
}

void
httptest_start_as(struct glia_proc *g, const struct httptest_opts *o)
{
    const char *dsn = o->dsn != NULL ? o->dsn : getenv("GLIA_TEST_DSN");
    const char *admin = getenv("GLIA_ADMIN_BIN");
    const char *extra_conf = o->extra_conf;
    char *path;
    char *cmd;
    FILE *f;

    memset(g, 0, sizeof(*g));
    if (dsn == NULL)
        skip_all("GLIA_TEST_DSN unset: run under tests/with-postgres.sh");
    if (admin == NULL)
        admin = "src/glia-admin";
    snprintf(g->dir, sizeof(g->dir), "/tmp/glia-http.XXXXXX");
    if (mkdtemp(g->dir) == NULL)
        bail("mkdtemp failed", NULL);
    if (o->key_file != NULL)
        cmd = xasprintf("cp %s %s/signing.key && chmod 600 %s/signing.key",
                        o->key_file, g->dir, g->dir);
    else
        cmd = xasprintf("%s keygen --out %s/signing.key >/dev/null", admin,
                        g->dir);
    if (system(cmd) != 0)
        bail("cannot make the signing key", NULL);
    free(cmd);
    path = xasprintf("%s/glia.conf", g->dir);
    f = fopen(path, "w");
    if (f == NULL)
        bail("cannot write glia.conf", NULL);
    fprintf(f, "[general]\ntemplates = %s\n", httptest_templates_dir());
    fprintf(f,
            "[general]\nserver_name = %s\n"
            "public_baseurl = http://127.0.0.1\nlog_level = info\n"
            "[http]\nbind_address = 127.0.0.1\nport = 0\nthreads = 4\n"
            "shutdown_timeout = 10\n"
            "[db]\ndsn = %s\n"
            "[crypto]\nsigning_key_file = signing.key\n%s",
            o->server_name != NULL ? o->server_name : "glia.test", dsn,
            extra_conf != NULL ? extra_conf : "");
    fclose(f);
    free(path);
    launch(g);
}

void
httptest_restart(struct glia_proc *g)
{
    launch(g);
}

int
httptest_stop(struct glia_proc *g, int sig)
{
    int status;

    if (g->pid <= 0)
        return -1;
    kill(g->pid, sig);
    for (int i = 0; i < 600; i++) {
        if (waitpid(g->pid, &status, WNOHANG) == g->pid) {
            g->pid = 0;
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            diag("glia died by signal %d", WTERMSIG(status));
            return -1;
        }
        httptest_sleep_ms(50);
    }
    kill(g->pid, SIGKILL);
    waitpid(g->pid, &status, 0);
    g->pid = 0;
    diag("glia did not exit within 30 s of signal %d", sig);
    return -1;
}

void
httptest_cleanup(struct glia_proc *g)
{
    char *cmd;

    if (g->pid > 0)
        httptest_stop(g, SIGKILL);
    if (g->dir[0] == '\0')
        return;
    if (getenv("GLIA_TEST_KEEP") != NULL) {
        diag("kept %s", g->dir);
        return;
    }
    cmd = xasprintf("rm -rf %s", g->dir);
    if (system(cmd) != 0)
        diag("could not remove %s", g->dir);
    free(cmd);
}

/* ---- libcurl ------------------------------------------------------------ */

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct buf *b = userdata;

    if (buf_append(b, ptr, size * nmemb) != 0)
        return 0;
    return size * nmemb;
}

int
http_request(const char *base,
             const char *method,
             const char *path,
             const char *body,
             size_t body_len,
             const char *const *headers,
             struct http_resp *out)
{
    static bool curl_ready;
    CURL *c;
    struct curl_slist *hl = NULL;
    struct buf bodybuf;
    struct buf hdrbuf;
    char *url = xasprintf("%s%s", base, path);
    CURLcode rc;

    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = true;
    }
    memset(out, 0, sizeof(*out));
    buf_init(&bodybuf, 64u << 20);
    buf_init(&hdrbuf, 1u << 20);
    c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bodybuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrbuf);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0 || body != NULL)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    if (hl != NULL)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    else
        diag("curl %s %s: %s", method, path, curl_easy_strerror(rc));
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(url);
    out->body = buf_steal(&bodybuf, &out->len);
    out->headers = buf_steal(&hdrbuf, NULL);
    out->json = json_loadb(out->body, out->len, 0, NULL);
    return rc == CURLE_OK ? 0 : -1;
}

long
http_call(const struct glia_proc *g,
          const char *method,
          const char *path,
          const char *token,
          const char *body,
          struct http_resp *out)
{
    char *auth =
        token != NULL ? xasprintf("Authorization: Bearer %s", token) : NULL;
    const char *hdrs[] = {auth, NULL};
    struct http_resp r;
    long st;

    http_request(g->base, method, path, body, body != NULL ? strlen(body) : 0,
                 auth != NULL ? hdrs : NULL, &r);
    st = r.status;
    if (out != NULL)
        *out = r;
    else
        http_resp_free(&r);
    free(auth);
    return st;
}

void
httptest_seed_account(const char *user_id, const char *token)
{
    struct db *db = db_new(pgtest_dsn());
    char hash[65];

    http_token_hash(token, hash);
    if (db_account_register(db, user_id, hash, 1) != DB_ONE_RESULT) {
        printf("Bail out! cannot seed the account %s\n", user_id);
        exit(1);
    }
    db_free(db);
}

int
http_get(const struct glia_proc *g, const char *path, struct http_resp *out)
{
    return http_request(g->base, "GET", path, NULL, 0, NULL, out);
}

int
http_post(const struct glia_proc *g,
          const char *path,
          const char *body,
          struct http_resp *out)
{
    return http_request(g->base, "POST", path, body, strlen(body), NULL, out);
}

const char *
http_resp_header(const struct http_resp *r, const char *name)
{
    static char value[1024];
    size_t nlen = strlen(name);
    const char *line = r->headers;

    while (line != NULL && *line != '\0') {
        const char *end = strstr(line, "\r\n");
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);

        if (len > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            size_t vlen;

            while (*v == ' ')
                v++;
            vlen = (size_t)(line + len - v);
            if (vlen >= sizeof(value))
                vlen = sizeof(value) - 1;
            memcpy(value, v, vlen);
            value[vlen] = '\0';
            return value;
        }
        line = end != NULL ? end + 2 : NULL;
    }
    return NULL;
}

const char *
http_resp_errcode(const struct http_resp *r)
{
    const char *s = json_string_value(json_object_get(r->json, "errcode"));

    return s != NULL ? s : "";
}

void
http_resp_free(struct http_resp *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* ---- raw sockets -------------------------------------------------------- */

char *
http_raw(const struct glia_proc *g,
         const void *data,
         size_t len,
         int timeout_ms)
{
    struct sockaddr_in sin;
    struct buf b;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t sent = 0;

    buf_init(&b, 16u << 20);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)g->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        if (fd >= 0)
            close(fd);
        return buf_steal(&b, NULL);
    }
    while (sent < len) {
        ssize_t n =
            send(fd, (const char *)data + sent, len - sent, MSG_NOSIGNAL);

        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        char chunk[4096];
        ssize_t n;

        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
            break;
        buf_append(&b, chunk, (size_t)n);
    }
    close(fd);
    return buf_steal(&b, NULL);
}
