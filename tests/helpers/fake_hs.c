/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A fake homeserver for the federation tests (tests/http/test_fed_client):
 * libmicrohttpd over TLS (or plain HTTP with --plain) on 127.0.0.1 and a
 * free port, written to --port-file once listening. It plays roles chosen
 * by the OpenID token:
 *
 *   GET /_matrix/federation/v1/openid/userinfo?access_token=T
 *     alice            200 {"sub":"@alice:<server-name>"}
 *     foreign          200 {"sub":"@mallory:evil.example"}
 *     huge             200 with a 5 MiB body (Content-Length announced)
 *     huge-chunked     200 with 5 MiB, chunked (no length up front)
 *     slow             200 alice, after 20 s
 *     redirect-private 302 to https://10.255.255.1/x
 *     notjson          200 "not json"
 *     nosub            200 {}
 *     anything else    401 M_UNKNOWN_TOKEN
 *   GET /.well-known/matrix/server
 *     --wellknown JSON (with --cache-control V, if given) or
 *     --wellknown-redirect URL (302), else 404
 *   GET /_matrix/key/v2/server
 *     the contents of --keys FILE (read on every request, so a test can
 *     change the keys between calls), else 404
 *   POST /_matrix/federation/v1/3pid/onbind
 *     appends the body, one line, to --onbind-log FILE and answers 200 {}
 *     (404 without --onbind-log)
 *   POST|PUT /echo     200, the request body back, same Content-Type
 *
 * --port N listens on that port (a test restarting a "homeserver" that was
 * down keeps its server name); 0 or absent: a free port.
 *
 * --server-name defaults to "127.0.0.1:<port>". Every TCP connection and
 * every request (method, path, Host, token) is logged on stderr, so tests
 * can tell whether anything reached the server. SIGTERM/SIGINT stop it.
 * Thread per connection: a slow answer holds only its own connection.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#define HUGE_SIZE (5 * 1024 * 1024)
#define SLOW_SECS 20
#define ECHO_MAX  (1024 * 1024)
#define USERINFO  "/_matrix/federation/v1/openid/userinfo"
#define WELLKNOWN "/.well-known/matrix/server"

struct opts {
    const char *cert;
    const char *key;
    const char *port_file;
    const char *server_name;
    const char *wellknown;
    const char *wellknown_redirect;
    const char *cache_control;
    const char *keys;
    const char *onbind_log;
    const char *port;
    bool plain;
};

static struct opts opt;
static char server_name[300];

/* Stop flag for slow answers, so SIGTERM does not wait 20 s. */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static bool stopping;

/* Per-request state: whether the request line was logged, and the body. */
struct req {
    bool logged;
    char *body;
    size_t len;
    bool too_big;
};

static void
usage(void)
{
    fprintf(stderr,
            "usage: fake_hs [--plain] [--cert C --key K] --port-file F\n"
            "               [--server-name N] [--wellknown JSON]\n"
            "               [--wellknown-redirect URL] [--cache-control V]\n"
            "               [--keys FILE] [--onbind-log FILE] [--port N]\n");
    exit(2);
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long n = -1;

    if (f != NULL && fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "fake_hs: cannot read %s: %s\n", path, strerror(errno));
        exit(1);
    }
    data = malloc((size_t)n + 1);
    if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "fake_hs: cannot read %s\n", path);
        exit(1);
    }
    data[n] = '\0';
    fclose(f);
    return data;
}

static enum MHD_Result
reply(struct MHD_Connection *con,
      unsigned int status,
      const char *type,
      const char *body,
      size_t len)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
                                        MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if (type != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    ret = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
reply_json(struct MHD_Connection *con, unsigned int status, const char *json)
{
    return reply(con, status, "application/json", json, strlen(json));
}

static enum MHD_Result
redirect(struct MHD_Connection *con, const char *location)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "",
                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
    ret = MHD_queue_response(con, MHD_HTTP_FOUND, r);
    MHD_destroy_response(r);
    return ret;
}

/* Chunked 5 MiB: the client learns the size only by reading. */
static ssize_t
huge_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    size_t n;

    (void)cls;
    if (pos >= HUGE_SIZE)
        return MHD_CONTENT_READER_END_OF_STREAM;
    n = HUGE_SIZE - (size_t)pos;
    if (n > max)
        n = max;
    memset(buf, 'x', n);
    return (ssize_t)n;
}

/* Sleep up to secs, or until the server stops. */
static void
wait_or_stop(int secs)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += secs;
    pthread_mutex_lock(&stop_lock);
    while (!stopping) {
        if (pthread_cond_timedwait(&stop_cond, &stop_lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&stop_lock);
}

static enum MHD_Result
userinfo(struct MHD_Connection *con, const char *token)
{
    char body[400];

    if (token == NULL)
        token = "";
    if (strcmp(token, "alice") == 0 || strcmp(token, "slow") == 0) {
        if (strcmp(token, "slow") == 0)
            wait_or_stop(SLOW_SECS);
        snprintf(body, sizeof(body), "{\"sub\":\"@alice:%s\"}", server_name);
        return reply_json(con, MHD_HTTP_OK, body);
    }
    if (strcmp(token, "foreign") == 0)
        return reply_json(con, MHD_HTTP_OK,
                          "{\"sub\":\"@mallory:evil.example\"}");
    if (strcmp(token, "huge") == 0) {
        char *big = malloc(HUGE_SIZE);
        struct MHD_Response *r;
        enum MHD_Result ret;

        if (big == NULL)
            return MHD_NO;
        memset(big, ' ', HUGE_SIZE);
        big[0] = '{';
        big[HUGE_SIZE - 1] = '}';
        r = MHD_create_response_from_buffer(HUGE_SIZE, big,
                                            MHD_RESPMEM_MUST_FREE);
        if (r == NULL) {
            free(big);
            return MHD_NO;
        }
        ret = MHD_queue_response(con, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(token, "huge-chunked") == 0) {
        struct MHD_Response *r;
        enum MHD_Result ret;

        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                              huge_reader, NULL, NULL);
        if (r == NULL)
            return MHD_NO;
        ret = MHD_queue_response(con, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(token, "redirect-private") == 0)
        return redirect(con, "https://10.255.255.1/x");
    if (strcmp(token, "notjson") == 0)
        return reply(con, MHD_HTTP_OK, "text/plain", "not json", 8);
    if (strcmp(token, "nosub") == 0)
        return reply_json(con, MHD_HTTP_OK, "{}");
    return reply_json(con, MHD_HTTP_UNAUTHORIZED,
                      "{\"errcode\":\"M_UNKNOWN_TOKEN\","
                      "\"error\":\"Unknown access token\"}");
}

static enum MHD_Result
wellknown(struct MHD_Connection *con)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (opt.wellknown_redirect != NULL)
        return redirect(con, opt.wellknown_redirect);
    if (opt.wellknown == NULL)
        return reply_json(con, MHD_HTTP_NOT_FOUND,
                          "{\"errcode\":\"M_NOT_FOUND\",\"error\":\"none\"}");
    r = MHD_create_response_from_buffer(strlen(opt.wellknown),
                                        (void *)(uintptr_t)opt.wellknown,
                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    if (opt.cache_control != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                opt.cache_control);
    ret = MHD_queue_response(con, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
server_keys(struct MHD_Connection *con)
{
    FILE *f = opt.keys != NULL ? fopen(opt.keys, "r") : NULL;
    char buf[16384];
    size_t n;

    if (f == NULL)
        return reply_json(con, MHD_HTTP_NOT_FOUND,
                          "{\"errcode\":\"M_NOT_FOUND\",\"error\":\"none\"}");
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return reply_json(con, MHD_HTTP_OK, buf);
}

static enum MHD_Result
onbind(struct MHD_Connection *con, const struct req *rq)
{
    FILE *f;

    if (opt.onbind_log == NULL)
        return reply_json(con, MHD_HTTP_NOT_FOUND,
                          "{\"errcode\":\"M_UNRECOGNIZED\",\"error\":\"no\"}");
    f = fopen(opt.onbind_log, "a");
    if (f == NULL)
        return reply_json(con, 500, "{}");
    if (rq->body != NULL)
        fwrite(rq->body, 1, rq->len, f);
    fputc('\n', f);
    fclose(f);
    return reply_json(con, MHD_HTTP_OK, "{}");
}

static enum MHD_Result
on_request(void *cls,
           struct MHD_Connection *con,
           const char *url,
           const char *method,
           const char *version,
           const char *upload_data,
           size_t *upload_data_size,
           void **con_cls)
{
    struct req *rq = *con_cls;
    const char *token;
    const char *host;

    (void)cls;
    (void)version;
    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL)
            return MHD_NO;
        *con_cls = rq;
    }
    token =
        MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "access_token");
    if (!rq->logged) {
        host = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Host");
        fprintf(stderr, "fake_hs: request %s %s host=%s token=%s\n", method,
                url, host != NULL ? host : "-", token != NULL ? token : "-");
        rq->logged = true;
        return MHD_YES; /* first call: headers only */
    }
    if (*upload_data_size > 0) {
        if (rq->len + *upload_data_size > ECHO_MAX) {
            rq->too_big = true;
        } else {
            char *nb = realloc(rq->body, rq->len + *upload_data_size + 1);

            if (nb == NULL)
                return MHD_NO;
            rq->body = nb;
            memcpy(rq->body + rq->len, upload_data, *upload_data_size);
            rq->len += *upload_data_size;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (strcmp(url, USERINFO) == 0 && strcmp(method, "GET") == 0)
        return userinfo(con, token);
    if (strcmp(url, WELLKNOWN) == 0 && strcmp(method, "GET") == 0)
        return wellknown(con);
    if (strcmp(url, "/_matrix/federation/v1/3pid/onbind") == 0 &&
        strcmp(method, "POST") == 0)
        return onbind(con, rq);
    if (strcmp(url, "/_matrix/key/v2/server") == 0 &&
        strcmp(method, "GET") == 0)
        return server_keys(con);
    if (strcmp(url, "/echo") == 0 &&
        (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)) {
        const char *type = MHD_lookup_connection_value(
            con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);

        if (rq->too_big)
            return reply_json(con, 413, "{}");
        return reply(con, MHD_HTTP_OK, type, rq->body != NULL ? rq->body : "",
                     rq->len);
    }
    return reply_json(con, MHD_HTTP_NOT_FOUND,
                      "{\"errcode\":\"M_UNRECOGNIZED\",\"error\":\"no\"}");
}

static void
on_completed(void *cls,
             struct MHD_Connection *con,
             void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)con;
    (void)toe;
    if (rq != NULL) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static void
on_connection(void *cls,
              struct MHD_Connection *con,
              void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)con;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        fprintf(stderr, "fake_hs: connection\n");
}

static void
write_port_file(const char *path, unsigned int port)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 ||
        rename(tmp, path) != 0) {
        fprintf(stderr, "fake_hs: cannot write %s\n", path);
        exit(1);
    }
}

static void
parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;

        if (strcmp(a, "--plain") == 0) {
            opt.plain = true;
            continue;
        }
        if (strcmp(a, "--cert") == 0)
            dst = &opt.cert;
        else if (strcmp(a, "--key") == 0)
            dst = &opt.key;
        else if (strcmp(a, "--port-file") == 0)
            dst = &opt.port_file;
        else if (strcmp(a, "--server-name") == 0)
            dst = &opt.server_name;
        else if (strcmp(a, "--wellknown") == 0)
            dst = &opt.wellknown;
        else if (strcmp(a, "--wellknown-redirect") == 0)
            dst = &opt.wellknown_redirect;
        else if (strcmp(a, "--cache-control") == 0)
            dst = &opt.cache_control;
        else if (strcmp(a, "--keys") == 0)
            dst = &opt.keys;
        else if (strcmp(a, "--onbind-log") == 0)
            dst = &opt.onbind_log;
        else if (strcmp(a, "--port") == 0)
            dst = &opt.port;
        if (dst == NULL || i + 1 >= argc)
            usage();
        *dst = argv[++i];
    }
    if (opt.port_file == NULL ||
        (!opt.plain && (opt.cert == NULL || opt.key == NULL)))
        usage();
}

int
main(int argc, char **argv)
{
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    struct sockaddr_in sin;
    struct sigaction sa;
    sigset_t set;
    char *cert = NULL;
    char *key = NULL;
    unsigned int flags;
    unsigned int port;
    int sig = 0;

    parse_args(argc, argv);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    /* Block the stop signals in every thread; main waits for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)(opt.port != NULL ? atoi(opt.port) : 0));
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_ERROR_LOG;
    if (opt.plain) {
        d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
                             MHD_OPTION_SOCK_ADDR, &sin,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                             MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
                             MHD_OPTION_LISTENING_ADDRESS_REUSE,
                             (unsigned int)1, MHD_OPTION_END);
    } else {
        cert = slurp(opt.cert);
        key = slurp(opt.key);
        d = MHD_start_daemon(
            flags | MHD_USE_TLS, 0, NULL, NULL, on_request, NULL,
            MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_HTTPS_MEM_CERT, cert,
            MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
            NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
            MHD_OPTION_END);
    }
    if (d == NULL) {
        fprintf(stderr, "fake_hs: cannot start libmicrohttpd\n");
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0) {
        fprintf(stderr, "fake_hs: no port\n");
        MHD_stop_daemon(d);
        return 1;
    }
    port = info->port;
    if (opt.server_name != NULL)
        snprintf(server_name, sizeof(server_name), "%s", opt.server_name);
    else
        snprintf(server_name, sizeof(server_name), "127.0.0.1:%u", port);
    write_port_file(opt.port_file, port);
    fprintf(stderr, "fake_hs: listening on 127.0.0.1:%u (%s) as %s\n", port,
            opt.plain ? "http" : "https", server_name);

    while (sig != SIGTERM && sig != SIGINT) {
        if (sigwait(&set, &sig) != 0)
            break;
    }
    pthread_mutex_lock(&stop_lock);
    stopping = true;
    pthread_cond_broadcast(&stop_cond);
    pthread_mutex_unlock(&stop_lock);
    MHD_stop_daemon(d);
    free(cert);
    free(key);
    fprintf(stderr, "fake_hs: stopped\n");
    return 0;
}
