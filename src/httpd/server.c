/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The libmicrohttpd side: listener setup, the access handler that routes,
 * collects and parses a request and calls its handler, the completion
 * callback (the only place request memory is freed, where the access log line
 * and the metrics are written), per-thread database handles, graceful
 * shutdown, and the separate metrics, internal provisioning and
 * replication (mutual TLS) listeners.
 */
#include "app.h"
#include "db/db.h"
#include "httpd/httpd.h"
#include "httpd/metrics.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/netaddr.h"
#include "util/time.h"
#include "util/workq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Request headers (and URI) must fit in this much per-connection memory;
 * larger requests get 431/414 from libmicrohttpd itself. */
#define HTTP_CONNECTION_MEMORY (64 * 1024)
/* After a 413, drain at most this much of the body before hanging up, so a
 * client that ignores us cannot keep a worker busy forever. */
#define HTTP_DISCARD_MAX       (16u << 20)

/* What a daemon's callbacks get: which listener a request came in on. */
struct listener {
    struct httpd *h;
    unsigned int kind; /* 0, ROUTE_INTERNAL or ROUTE_REPLICATION */
};

struct httpd {
    struct app *app;
    struct MHD_Daemon *daemon;
    struct MHD_Daemon *metrics_daemon;
    struct MHD_Daemon *internal_daemon; /* NULL unless [internal] port */
    struct listener pub_listener;
    struct listener internal_listener;
    struct MHD_Daemon *repl_daemon; /* NULL unless [replication] port */
    struct listener repl_listener;
    char *repl_pem[3]; /* cert, key, CA: MHD reads them live */
    unsigned int port;
    /* Requests suspended for http_defer(), so shutdown can resume them. */
    pthread_mutex_t defer_lock;
    struct deferred *deferred;
    bool stopping; /* under defer_lock: no more deferrals */
};

/* One http_defer() job. Shared by the request and the worker: refs counts
 * them, and the last to let go frees it. Fields below `lock` are guarded by
 * httpd.defer_lock. */
struct deferred {
    struct httpd *h;
    http_work_fn work;
    http_after_fn after;
    void *cls;
    void (*cls_free)(void *);
    /* lock: */
    struct request *rq; /* non-NULL while suspended; whoever clears it
                         * resumes the connection */
    bool done;
    int refs;
    struct deferred *next;
    struct deferred **pprev;
};

static atomic_ullong next_request_id;

/* ---- one database connection per pool thread ---------------------------- */

static pthread_key_t db_key;
static pthread_once_t db_key_once = PTHREAD_ONCE_INIT;

/* Runs at pool-thread exit (libmicrohttpd joins them on stop). */
static void
free_thread_db(void *p)
{
    db_free(p);
}

static void
make_db_key(void)
{
    int rc = pthread_key_create(&db_key, free_thread_db);

    ASSERT(rc == 0);
}

/* The calling thread's handle; it connects on first use. */
static struct db *
thread_db(const struct app *app)
{
    struct db *db;

    pthread_once(&db_key_once, make_db_key);
    db = pthread_getspecific(db_key);
    if (db == NULL) {
        db = db_new(app->cfg->db_dsn);
        pthread_setspecific(db_key, db);
    }
    return db;
}

/* ---- request lifecycle -------------------------------------------------- */

/* libmicrohttpd's first sight of a request: the raw target, before any
 * decoding. We keep it (X-Matrix signatures cover it) and start the clock. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    const struct listener *l = cls;
    struct httpd *h = l->h;
    struct app *app = h->app;
    struct request *rq = xcalloc(1, sizeof(*rq));

    rq->app = app;
    rq->httpd = h;
    rq->listener = l->kind;
    rq->conn = conn;
    rq->uri = xstrdup(uri);
    rq->id = atomic_fetch_add(&next_request_id, 1) + 1;
    rq->start_us = time_mono_us();
    buf_init(&rq->body, (size_t)app->cfg->http_max_body_size);
    metrics_in_flight(app->metrics, 1);
    return rq;
}

/* First call of the access handler: headers are in, the body is not. */
static enum MHD_Result
start_request(struct request *rq, const char *url, const char *method)
{
    const char *clen;

    rq->started = true;
    rq->method_name = method;
    rq->method = http_method_parse(method);
    rq->path = xstrdup(url);
    if (strcmp(method, "OPTIONS") == 0) {
        routes_match(rq->listener, 0, rq->path, &rq->match);
        if (rq->match.allowed == 0)
            return http_reply_error(rq, MXERR_UNRECOGNIZED, NULL);
        return http_reply_preflight(rq, rq->match.allowed);
    }
    routes_match(rq->listener, rq->method, rq->path, &rq->match);
    if (rq->match.allowed == 0)
        return http_reply_error(rq, MXERR_UNRECOGNIZED, NULL);
    if (rq->match.route == NULL)
        return http_reply_method_not_allowed(rq, rq->match.allowed);
    for (size_t i = 0; i < ROUTE_MAX_PARAMS; i++)
        if (rq->match.params[i] != NULL)
            rq->params[i] =
                xstrndup(rq->match.params[i], rq->match.param_len[i]);
    /* Refuse a declared oversize body before reading any of it. */
    clen = http_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (clen != NULL) {
        char *end = NULL;
        unsigned long long n = strtoull(clen, &end, 10);

        if (end != clen && n > rq->body.cap)
            return http_reply_error(rq, MXERR_TOO_LARGE, NULL);
    }
    return MHD_YES;
}

/* ---- deferred work ------------------------------------------------------ */

/* Drop one reference; the last frees. */
static void
deferred_unref(struct deferred *d)
{
    bool last;

    pthread_mutex_lock(&d->h->defer_lock);
    last = --d->refs == 0;
    pthread_mutex_unlock(&d->h->defer_lock);
    if (last) {
        if (d->cls_free != NULL)
            d->cls_free(d->cls);
        free(d);
    }
}

/* Take d off the suspended list and return its connection to resume (the
 * caller resumes it outside the lock), or NULL if already resumed. */
static struct MHD_Connection *
detach_locked(struct deferred *d)
{
    struct MHD_Connection *conn;

    if (d->rq == NULL)
        return NULL;
    conn = d->rq->conn;
    d->rq = NULL;
    *d->pprev = d->next;
    if (d->next != NULL)
        d->next->pprev = d->pprev;
    return conn;
}

/* Worker side: do the work, then wake the request. */
static void
run_deferred(void *cls)
{
    struct deferred *d = cls;
    struct MHD_Connection *conn;
    bool answered;

    /* A request answered at shutdown no longer wants its work done. */
    pthread_mutex_lock(&d->h->defer_lock);
    answered = d->rq == NULL;
    pthread_mutex_unlock(&d->h->defer_lock);
    if (!answered)
        d->work(d->cls);
    pthread_mutex_lock(&d->h->defer_lock);
    d->done = !answered;
    conn = detach_locked(d);
    pthread_mutex_unlock(&d->h->defer_lock);
    if (conn != NULL)
        MHD_resume_connection(conn);
    deferred_unref(d);
}

int
http_defer(struct request *rq,
           http_work_fn work,
           http_after_fn after,
           void *cls,
           void (*cls_free)(void *))
{
    struct httpd *h = rq->httpd;
    struct deferred *d = xcalloc(1, sizeof(*d));

    d->h = h;
    d->work = work;
    d->after = after;
    d->cls = cls;
    d->cls_free = cls_free;
    d->rq = rq;
    d->refs = 2; /* the request and the worker */
    /* Held until suspended: the worker cannot resume before we suspend. */
    pthread_mutex_lock(&h->defer_lock);
    if (h->stopping || workq_submit(h->app->workers, run_deferred, d) != 0) {
        pthread_mutex_unlock(&h->defer_lock);
        free(d);
        return -1;
    }
    d->next = h->deferred;
    if (d->next != NULL)
        d->next->pprev = &d->next;
    d->pprev = &h->deferred;
    h->deferred = d;
    rq->deferred = d;
    MHD_suspend_connection(rq->conn);
    pthread_mutex_unlock(&h->defer_lock);
    return 0;
}

/* The access handler's call after a resume: let the handler reply. */
static enum MHD_Result
finish_deferred(struct request *rq)
{
    struct deferred *d = rq->deferred;
    enum MHD_Result ret;
    bool done;

    rq->deferred = NULL;
    pthread_mutex_lock(&d->h->defer_lock);
    done = d->done;
    pthread_mutex_unlock(&d->h->defer_lock);
    rq->db = thread_db(rq->app);
    ret = d->after(rq, d->cls, done);
    deferred_unref(d);
    if (!rq->replied) {
        BUG("deferred handler returned without replying");
        ret = http_reply_internal(rq, "deferred");
    }
    return ret;
}

/* Shutdown: resume every suspended request; their after() sees done ==
 * false and replies. libmicrohttpd must not stop with suspended ones. */
static void
resume_all(struct httpd *h)
{
    pthread_mutex_lock(&h->defer_lock);
    h->stopping = true;
    pthread_mutex_unlock(&h->defer_lock);
    for (;;) {
        struct MHD_Connection *conn = NULL;

        pthread_mutex_lock(&h->defer_lock);
        if (h->deferred != NULL)
            conn = detach_locked(h->deferred);
        pthread_mutex_unlock(&h->defer_lock);
        if (conn == NULL)
            return;
        MHD_resume_connection(conn);
    }
}

/* Final call: the whole body is in. Parse, gate, and run the handler. */
static enum MHD_Result
dispatch(struct request *rq)
{
    const struct route *route = rq->match.route;
    enum MHD_Result ret;

    if (rq->too_large)
        return http_reply_error(rq, MXERR_TOO_LARGE, NULL);
    if (route->method == HTTP_POST || route->method == HTTP_PUT) {
        enum mxerr err = http_parse_json_body(
            rq->body.data, rq->body.len,
            (route->flags & ROUTE_BODY_OPTIONAL) != 0, &rq->json);

        if (err != MXERR_NONE)
            return http_reply_error(rq, err, NULL);
    }
    rq->db = thread_db(rq->app);
    if (!http_gate_or_reply(rq, &ret))
        return ret;
    ret = route->handler(rq, rq->json);
    ASSERT(!db_in_tx(rq->db)); /* a handler left a transaction open */
    if (!rq->replied && rq->deferred == NULL) {
        BUG("handler returned without replying");
        return http_reply_internal(rq, route->path);
    }
    return ret;
}

static enum MHD_Result
on_access(void *cls,
          struct MHD_Connection *conn,
          const char *url,
          const char *method,
          const char *version,
          const char *upload_data,
          size_t *upload_data_size,
          void **req_cls)
{
    struct request *rq = *req_cls;

    (void)version;
    if (rq == NULL) {
        /* Not expected (on_uri runs first), but never crash over it. */
        rq = on_uri(cls, url, conn);
        *req_cls = rq;
    }
    if (!rq->started)
        return start_request(rq, url, method);
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        if (rq->replied || rq->too_large) {
            rq->discarded += n;
            return rq->discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        if (buf_append(&rq->body, upload_data, n) != 0) {
            rq->too_large = true;
            rq->discarded = n;
            buf_free(&rq->body);
        }
        return MHD_YES;
    }
    if (rq->replied)
        return MHD_YES;
    if (rq->deferred != NULL)
        return finish_deferred(rq);
    return dispatch(rq);
}

const char *
http_client_ip(struct request *rq)
{
    const union MHD_ConnectionInfo *ci;
    char peer[64] = "unknown";

    if (rq->client_ip[0] != '\0')
        return rq->client_ip;
    ci = MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL)
        netaddr_format(ci->client_addr, peer, sizeof(peer));
    netaddr_client(peer, http_header(rq, "X-Forwarded-For"),
                   rq->app->trusted_proxies, rq->client_ip,
                   sizeof(rq->client_ip));
    return rq->client_ip;
}

/* Why a request ended without a normal completion, for the access log. */
static const char *
termination_reason(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return " (timeout)";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return " (client closed)";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return " (shutdown)";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
    case MHD_REQUEST_TERMINATED_READ_ERROR:
    default:
        return " (error)";
    }
}

/* The end of every request: log it, count it, free it. */
static void
on_completed(void *cls,
             struct MHD_Connection *conn,
             void **req_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct httpd *h = cls;
    struct app *app = h->app;
    struct request *rq = *req_cls;
    int64_t dur;
    size_t ntable;
    char target[512];

    (void)conn;
    if (rq == NULL)
        return;
    *req_cls = NULL;
    dur = time_mono_us() - rq->start_us;
    routes_table(&ntable);
    metrics_observe(app->metrics,
                    rq->match.route != NULL ? rq->match.index : ntable,
                    rq->status, dur);
    if (log_enabled(LOG_LVL_INFO)) {
        http_redact_target(rq->uri, target, sizeof(target));
        LOG_INFO("req %llu: %s %s %s %u %.3fms%s", (unsigned long long)rq->id,
                 rq->client_ip[0] != '\0' ? rq->client_ip : "-",
                 rq->method_name != NULL ? rq->method_name : "-", target,
                 rq->status, (double)dur / 1000.0, termination_reason(toe));
    }
    if (rq->deferred != NULL) {
        /* Ended (client gone, shutdown) between resume and reply. */
        struct deferred *d = rq->deferred;
        struct MHD_Connection *c;

        pthread_mutex_lock(&h->defer_lock);
        c = detach_locked(d);
        pthread_mutex_unlock(&h->defer_lock);
        (void)c; /* not suspended any more: nothing to resume */
        deferred_unref(d);
    }
    json_decref(rq->json);
    buf_free(&rq->body);
    free(rq->user_id);
    free(rq->token_hash);
    for (size_t i = 0; i < ROUTE_MAX_PARAMS; i++)
        free(rq->params[i]);
    free(rq->path);
    free(rq->uri);
    free(rq);
    metrics_in_flight(app->metrics, -1);
}

/* libmicrohttpd's own diagnostics go to our log. */
__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    LOG_WARN("microhttpd: %s", line);
}

/* ---- the metrics listener ----------------------------------------------- */

static enum MHD_Result
on_metrics(void *cls,
           struct MHD_Connection *conn,
           const char *url,
           const char *method,
           const char *version,
           const char *upload_data,
           size_t *upload_data_size,
           void **req_cls)
{
    struct app *app = cls;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    unsigned int status = MHD_HTTP_OK;
    char *text;
    size_t len;

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
        text = xstrdup("not found: try GET /metrics\n");
        len = strlen(text);
        status = MHD_HTTP_NOT_FOUND;
    } else {
        text = metrics_render(app->metrics, &len);
    }
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- start and stop ----------------------------------------------------- */

/* Parse an IPv4 or IPv6 literal and port. @return 0, or -1. */
static int
make_sockaddr(const char *addr,
              long port,
              struct sockaddr_storage *ss,
              bool *ipv6)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(addr, ':') == NULL) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *ipv6 = false;
        return inet_pton(AF_INET, addr, &sin->sin_addr) == 1 ? 0 : -1;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *ipv6 = true;
        return inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1 ? 0 : -1;
    }
}

static struct MHD_Daemon *
start_metrics(struct app *app, char **why)
{
    const struct config *cfg = app->cfg;
    struct sockaddr_storage ss;
    bool ipv6;
    struct MHD_Daemon *d;

    if (make_sockaddr(cfg->metrics_bind_address, cfg->metrics_port, &ss,
                      &ipv6) != 0) {
        *why = xasprintf("[metrics] bind_address: \"%s\" is not an IP address",
                         cfg->metrics_bind_address);
        return NULL;
    }
    d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
            (ipv6 ? MHD_USE_IPv6 : 0) | MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_metrics, app, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
    if (d == NULL)
        *why = xasprintf("cannot listen for metrics on %s:%ld: %s",
                         cfg->metrics_bind_address, cfg->metrics_port,
                         strerror(errno));
    return d;
}

/* The provisioning listener: the same request pipeline as the public one,
 * serving only ROUTE_INTERNAL routes. One thread: operators' scripts, not
 * the world, call it. */
static struct MHD_Daemon *
start_internal(struct httpd *h, char **why)
{
    const struct config *cfg = h->app->cfg;
    struct sockaddr_storage ss;
    bool ipv6;
    struct MHD_Daemon *d;

    if (make_sockaddr(cfg->internal_bind_address, cfg->internal_port, &ss,
                      &ipv6) != 0) {
        *why = xasprintf("[internal] bind_address: \"%s\" is not an IP address",
                         cfg->internal_bind_address);
        return NULL;
    }
    h->internal_listener.h = h;
    h->internal_listener.kind = ROUTE_INTERNAL;
    d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
            MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, on_access, &h->internal_listener,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)cfg->http_connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &h->internal_listener,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_END);
    if (d == NULL)
        *why = xasprintf("cannot listen for the internal API on %s:%ld: %s",
                         cfg->internal_bind_address, cfg->internal_port,
                         strerror(errno));
    return d;
}

/* Read a whole (PEM) file. @return its text (caller frees), or NULL */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char chunk[4096];
    size_t n;
    char *text;

    if (f == NULL)
        return NULL;
    buf_init(&b, 1u << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(&b, chunk, n) != 0)
            break;
    fclose(f);
    text = xstrndup(b.data != NULL ? b.data : "", b.len);
    buf_free(&b);
    return text;
}

/* The replication listener: HTTPS whose clients must present a certificate
 * from [replication] ca_cert (MHD asks for one when a trust store is set;
 * handler_replicate.c insists on it and identifies the peer by its CN). */
static struct MHD_Daemon *
start_replication(struct httpd *h, char **why)
{
    const struct config *cfg = h->app->cfg;
    const char *paths[3] = {cfg->replication_tls_cert, cfg->replication_tls_key,
                            cfg->replication_ca_cert};
    static const char *const keys[3] = {"tls_cert", "tls_key", "ca_cert"};
    struct sockaddr_storage ss;
    bool ipv6;
    struct MHD_Daemon *d;

    if (make_sockaddr(cfg->replication_bind_address, cfg->replication_port, &ss,
                      &ipv6) != 0) {
        *why = xasprintf("[replication] bind_address: \"%s\" is not an IP "
                         "address",
                         cfg->replication_bind_address);
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        h->repl_pem[i] = slurp(paths[i]);
        if (h->repl_pem[i] == NULL) {
            *why = xasprintf("[replication] %s: cannot read %s: %s", keys[i],
                             paths[i], strerror(errno));
            return NULL;
        }
    }
    h->repl_listener.h = h;
    h->repl_listener.kind = ROUTE_REPLICATION;
    d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
            MHD_USE_ERROR_LOG | MHD_USE_TLS | (ipv6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, on_access, &h->repl_listener, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_HTTPS_MEM_CERT, h->repl_pem[0], MHD_OPTION_HTTPS_MEM_KEY,
        h->repl_pem[1], MHD_OPTION_HTTPS_MEM_TRUST, h->repl_pem[2],
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)cfg->http_connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &h->repl_listener,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_END);
    if (d == NULL)
        *why = xasprintf("cannot listen for replication on %s:%ld (check "
                         "[replication] tls_cert, tls_key and ca_cert)",
                         cfg->replication_bind_address, cfg->replication_port);
    return d;
}

static void
free_repl_pem(struct httpd *h)
{
    for (int i = 0; i < 3; i++) {
        if (h->repl_pem[i] != NULL) {
            sodium_memzero(h->repl_pem[i], strlen(h->repl_pem[i]));
            free(h->repl_pem[i]);
            h->repl_pem[i] = NULL;
        }
    }
}

struct httpd *
httpd_start(struct app *app, char **why)
{
    const struct config *cfg = app->cfg;
    struct httpd *h = xcalloc(1, sizeof(*h));
    struct sockaddr_storage ss;
    bool ipv6;
    const union MHD_DaemonInfo *info;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                         MHD_USE_ITC | MHD_USE_ERROR_LOG |
                         MHD_ALLOW_SUSPEND_RESUME;

    *why = NULL;
    h->app = app;
    h->pub_listener.h = h;
    h->pub_listener.kind = 0;
    pthread_mutex_init(&h->defer_lock, NULL);
    if (make_sockaddr(cfg->http_bind_address, cfg->http_port, &ss, &ipv6) !=
        0) {
        *why = xasprintf("[http] bind_address: \"%s\" is not an IP address",
                         cfg->http_bind_address);
        free(h);
        return NULL;
    }
    if (ipv6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, &h->pub_listener,
        /* First, so that the options below already log through it. */
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)cfg->http_threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)cfg->http_connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)cfg->http_max_connections_per_ip,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &h->pub_listener,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_END);
    if (h->daemon == NULL) {
        *why = xasprintf("cannot listen on %s:%ld: %s", cfg->http_bind_address,
                         cfg->http_port, strerror(errno));
        free(h);
        return NULL;
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : (unsigned int)cfg->http_port;
    if (cfg->metrics_port != 0) {
        h->metrics_daemon = start_metrics(app, why);
        if (h->metrics_daemon == NULL) {
            MHD_stop_daemon(h->daemon);
            free(h);
            return NULL;
        }
    }
    if (cfg->internal_port != 0) {
        h->internal_daemon = start_internal(h, why);
        if (h->internal_daemon == NULL) {
            if (h->metrics_daemon != NULL)
                MHD_stop_daemon(h->metrics_daemon);
            MHD_stop_daemon(h->daemon);
            free(h);
            return NULL;
        }
    }
    if (cfg->replication_port != 0) {
        h->repl_daemon = start_replication(h, why);
        if (h->repl_daemon == NULL) {
            free_repl_pem(h);
            if (h->internal_daemon != NULL)
                MHD_stop_daemon(h->internal_daemon);
            if (h->metrics_daemon != NULL)
                MHD_stop_daemon(h->metrics_daemon);
            MHD_stop_daemon(h->daemon);
            free(h);
            return NULL;
        }
    }
    return h;
}

unsigned int
httpd_port(const struct httpd *h)
{
    return h->port;
}

void
httpd_stop(struct httpd *h, int timeout_s)
{
    MHD_socket fd;
    MHD_socket ifd = MHD_INVALID_SOCKET;
    MHD_socket rfd = MHD_INVALID_SOCKET;
    int64_t deadline;

    if (h == NULL)
        return;
    /* Stop accepting, but keep serving the connections we have. */
    /* libmicrohttpd's threads may still watch the listen socket, so it is
     * closed only after MHD_stop_daemon() (its number must not be reused
     * meanwhile); shutdown() already makes the kernel refuse new
     * connections instead of queueing them unanswered. */
    fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        shutdown(fd, SHUT_RDWR);
    if (h->internal_daemon != NULL) {
        ifd = MHD_quiesce_daemon(h->internal_daemon);
        if (ifd != MHD_INVALID_SOCKET)
            shutdown(ifd, SHUT_RDWR);
    }
    if (h->repl_daemon != NULL) {
        rfd = MHD_quiesce_daemon(h->repl_daemon);
        if (rfd != MHD_INVALID_SOCKET)
            shutdown(rfd, SHUT_RDWR);
    }
    deadline = time_mono_us() + (int64_t)timeout_s * 1000000;
    while (metrics_in_flight_count(h->app->metrics) > 0 &&
           time_mono_us() < deadline) {
        struct timespec tick = {0, 10 * 1000 * 1000};

        nanosleep(&tick, NULL);
    }
    /* Work still running (a hanging mail server): answer those requests
     * now; the work finishes on its own and frees itself. */
    resume_all(h);
    deadline = time_mono_us() + 2000000;
    while (metrics_in_flight_count(h->app->metrics) > 0 &&
           time_mono_us() < deadline) {
        struct timespec tick = {0, 10 * 1000 * 1000};

        nanosleep(&tick, NULL);
    }
    if (metrics_in_flight_count(h->app->metrics) > 0)
        LOG_WARN("shutting down with %ld requests still in flight",
                 metrics_in_flight_count(h->app->metrics));
    MHD_stop_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    if (h->internal_daemon != NULL) {
        MHD_stop_daemon(h->internal_daemon);
        if (ifd != MHD_INVALID_SOCKET)
            close(ifd);
    }
    if (h->repl_daemon != NULL) {
        MHD_stop_daemon(h->repl_daemon);
        if (rfd != MHD_INVALID_SOCKET)
            close(rfd);
    }
    free_repl_pem(h);
    if (h->metrics_daemon != NULL)
        MHD_stop_daemon(h->metrics_daemon);
    /* The workers still hold jobs that point at h: join them first (jobs
     * whose request was answered skip their work). */
    workq_free(h->app->workers);
    h->app->workers = NULL;
    pthread_mutex_destroy(&h->defer_lock);
    free(h);
}
