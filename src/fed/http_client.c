/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The libcurl engine under every outbound request. One easy handle per
 * request (so any number of pool threads can call at once, and no connection
 * is ever reused across destinations), and on each of them:
 *   - CURLOPT_OPENSOCKETFUNCTION runs the address guard on the exact address
 *     libcurl is about to connect to, after its own DNS lookup and after every
 *     redirect: DNS rebinding and redirects to internal hosts get nothing;
 *   - environment proxies are off (a proxy would make the guard check the
 *     proxy instead of the destination);
 *   - protocols are limited (https for federation), redirects are off unless
 *     the caller allows some (well-known only);
 *   - connect and total timeouts, CURLOPT_NOSIGNAL for threads;
 *   - the body goes into a capped struct buf: past the cap the write callback
 *     fails and libcurl aborts the transfer (CURLOPT_MAXFILESIZE stops it
 *     earlier when a Content-Length announces too much).
 */
#include "fed/fed_internal.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#define FED_USER_AGENT "glia"

/* State of one transfer, shared with libcurl's callbacks. */
struct xfer {
    struct fed_client *c;
    struct buf body;
    bool too_large;
    bool refused; /* the guard refused at least one address */
    char cache_control[256];
    char expires[128];
};

const char *
fed_error_str(enum fed_error e)
{
    switch (e) {
    case FED_OK:
        return "FED_OK";
    case FED_BAD_NAME:
        return "FED_BAD_NAME";
    case FED_FORBIDDEN_ADDRESS:
        return "FED_FORBIDDEN_ADDRESS";
    case FED_UNREACHABLE:
        return "FED_UNREACHABLE";
    case FED_TIMEOUT:
        return "FED_TIMEOUT";
    case FED_TLS:
        return "FED_TLS";
    case FED_TOO_LARGE:
        return "FED_TOO_LARGE";
    case FED_BAD_RESPONSE:
        return "FED_BAD_RESPONSE";
    case FED_REJECTED:
        return "FED_REJECTED";
    case FED_FOREIGN_USER:
        return "FED_FOREIGN_USER";
    case FED_INTERNAL:
        return "FED_INTERNAL";
    case FED_KEY_UNKNOWN:
        return "FED_KEY_UNKNOWN";
    case FED_KEY_EXPIRED:
        return "FED_KEY_EXPIRED";
    case FED_BAD_SIGNATURE:
        return "FED_BAD_SIGNATURE";
    }
    return "FED_?";
}

static struct fed_client *
client_new(const struct config *cfg, bool allow_private)
{
    struct fed_client *c = xcalloc(1, sizeof(*c));

    c->verify_tls = cfg->federation_verify_tls;
    c->allow_private = allow_private;
    c->ca_file = xstrdup(cfg->federation_ca_file);
    if (pthread_mutex_init(&c->wk_lock, NULL) != 0 ||
        pthread_mutex_init(&c->keys_lock, NULL) != 0)
        abort();
    return c;
}

struct fed_client *
fed_client_new(const struct config *cfg)
{
    struct fed_client *c =
        client_new(cfg, cfg->federation_allow_private_addresses);

    if (!c->verify_tls)
        LOG_WARN("federation: TLS certificates are NOT verified");
    if (c->allow_private)
        LOG_WARN("federation: private and loopback addresses are allowed");
    return c;
}

struct fed_client *
fed_client_new_operator(const struct config *cfg)
{
    return client_new(cfg, true);
}

void
fed_client_free(struct fed_client *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->wk_len; i++) {
        free(c->wk[i].name);
        free(c->wk[i].deleg);
    }
    free(c->wk);
    pthread_mutex_destroy(&c->wk_lock);
    fed_keys_cache_free(c);
    pthread_mutex_destroy(&c->keys_lock);
    free(c->ca_file);
    free(c);
}

void
fed_client_set_test_hooks(struct fed_client *c, const struct fed_test_hooks *h)
{
    c->hooks = *h;
}

bool
fed_client_addr_allowed(const struct fed_client *c, const struct sockaddr *sa)
{
    if (c->hooks.addr_allowed != NULL)
        return c->hooks.addr_allowed(sa, c->allow_private);
    return fed_addr_allowed(sa, c->allow_private);
}

/* Set *why (if wanted) to a formatted reason. */
static void set_why(char **why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_why(char **why, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;

    if (why == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    free(*why);
    *why = xstrdup(tmp);
}

/* The guard, at the last moment: libcurl asks us for each socket it is
 * about to connect, with the resolved address. */
static curl_socket_t
open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct xfer *x = clientp;
    size_t need;

    if (purpose != CURLSOCKTYPE_IPCXN) {
        x->refused = true;
        return CURL_SOCKET_BAD;
    }
    need = addr->family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                    : sizeof(struct sockaddr_in);
    if ((addr->family != AF_INET && addr->family != AF_INET6) ||
        addr->addrlen < need || !fed_client_addr_allowed(x->c, &addr->addr)) {
        x->refused = true;
        LOG_DEBUG("federation: address guard refused a connection");
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb;

    if (buf_append(&x->body, ptr, n) != 0) {
        x->too_large = true;
        return 0; /* libcurl aborts with CURLE_WRITE_ERROR */
    }
    return n;
}

/* Keep one header value, trimmed, if the line is "name: value". */
static void
grab_header(
    const char *line, size_t len, const char *name, char *dst, size_t dstlen)
{
    size_t nl = strlen(name);
    size_t v;
    size_t end;

    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    v = nl + 1;
    while (v < len && (line[v] == ' ' || line[v] == '\t'))
        v++;
    end = len;
    while (end > v && (line[end - 1] == '\r' || line[end - 1] == '\n' ||
                       line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    if (end - v >= dstlen)
        end = v + dstlen - 1;
    memcpy(dst, line + v, end - v);
    dst[end - v] = '\0';
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb;

    /* A new status line: a redirect's headers must not leak into the
     * final response's. */
    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        x->cache_control[0] = '\0';
        x->expires[0] = '\0';
        return n;
    }
    grab_header(ptr, n, "Cache-Control", x->cache_control,
                sizeof(x->cache_control));
    grab_header(ptr, n, "Expires", x->expires, sizeof(x->expires));
    return n;
}

static enum fed_error
map_curl_error(CURLcode rc, const struct xfer *x)
{
    switch (rc) {
    case CURLE_OK:
        return FED_OK;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        return x->too_large || rc == CURLE_FILESIZE_EXCEEDED ? FED_TOO_LARGE
                                                             : FED_INTERNAL;
    case CURLE_OPERATION_TIMEDOUT:
        return FED_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return x->refused ? FED_FORBIDDEN_ADDRESS : FED_UNREACHABLE;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return FED_TLS;
    case CURLE_UNSUPPORTED_PROTOCOL: /* e.g. a redirect to http:// */
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_PARTIAL_FILE:
    case CURLE_BAD_CONTENT_ENCODING:
        return FED_BAD_RESPONSE;
    case CURLE_URL_MALFORMAT:
        return FED_BAD_NAME;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
        return FED_INTERNAL;
    default:
        return FED_UNREACHABLE;
    }
}

/* Length of url up to its query: what may be shown in logs. */
static int
loggable_len(const char *url)
{
    size_t n = strcspn(url, "?#");

    return n > 512 ? 512 : (int)n;
}

/* The URL for logs: no query (tokens) and no user:password@ (an SMS
 * gateway's URL may carry credentials). Truncated to outlen. */
static void
loggable_url(const char *url, char *out, size_t outlen)
{
    size_t n = (size_t)loggable_len(url);
    const char *scheme_end = strstr(url, "://");
    const char *auth = scheme_end != NULL ? scheme_end + 3 : url;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', alen);
    size_t used = 0;

    if (outlen == 0)
        return;
    for (size_t i = 0; i < n && used + 1 < outlen; i++) {
        const char *c = url + i;

        /* Skip the userinfo: from the authority's start through the '@'. */
        if (at != NULL && c >= auth && c <= at)
            continue;
        out[used++] = *c;
    }
    out[used] = '\0';
}

/* Build the header list; NULL only if libcurl ran out of memory. */
static struct curl_slist *
make_headers(const struct fed_http_req *rq, bool *oom)
{
    struct curl_slist *list = NULL;
    struct curl_slist *tmp;
    char line[FED_NAME_MAX + 16];

    *oom = false;
    if (rq->host_header != NULL) {
        snprintf(line, sizeof(line), "Host: %s", rq->host_header);
        tmp = curl_slist_append(list, line);
        if (tmp == NULL)
            goto oom;
        list = tmp;
    }
    /* No "Expect: 100-continue" round trip for bodies. */
    tmp = curl_slist_append(list, "Expect:");
    if (tmp == NULL)
        goto oom;
    list = tmp;
    for (size_t i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++) {
        tmp = curl_slist_append(list, rq->headers[i]);
        if (tmp == NULL)
            goto oom;
        list = tmp;
    }
    return list;
oom:
    curl_slist_free_all(list);
    *oom = true;
    return NULL;
}

/* All the options of one request. @return CURLE_OK or the first failure. */
static CURLcode
setup(CURL *h,
      struct fed_client *c,
      const struct fed_http_req *rq,
      struct xfer *x,
      struct curl_slist *hdrs,
      struct curl_slist *connect_to,
      char *errbuf)
{
    CURLcode rc = CURLE_OK;
    long timeout = rq->timeout_ms > 0 ? rq->timeout_ms : FED_TOTAL_TIMEOUT_MS;

#define SET(opt, val)                                                          \
    do {                                                                       \
        if (rc == CURLE_OK)                                                    \
            rc = curl_easy_setopt(h, opt, val);                                \
    } while (0)

    SET(CURLOPT_URL, rq->url);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, rq->protocols);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_CONNECTTIMEOUT_MS,
        timeout < FED_CONNECT_TIMEOUT_MS ? timeout : FED_CONNECT_TIMEOUT_MS);
    SET(CURLOPT_TIMEOUT_MS, timeout);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rq->max_size);
    SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
    SET(CURLOPT_OPENSOCKETDATA, x);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_USERAGENT, FED_USER_AGENT);
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_SSL_VERIFYPEER, c->verify_tls ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, c->verify_tls ? 2L : 0L);
    if (c->ca_file != NULL)
        SET(CURLOPT_CAINFO, c->ca_file);
    if (connect_to != NULL)
        SET(CURLOPT_CONNECT_TO, connect_to);
    if (rq->max_redirects > 0) {
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, rq->max_redirects);
        SET(CURLOPT_REDIR_PROTOCOLS_STR, rq->protocols);
    } else {
        SET(CURLOPT_FOLLOWLOCATION, 0L);
    }

    if (strcmp(rq->method, "GET") == 0 && rq->body == NULL) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(rq->method, "HEAD") == 0 && rq->body == NULL) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        SET(CURLOPT_POSTFIELDSIZE_LARGE,
            (curl_off_t)(rq->body != NULL ? rq->body_len : 0));
        SET(CURLOPT_POSTFIELDS, rq->body != NULL ? rq->body : "");
        if (strcmp(rq->method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, rq->method);
    }
#undef SET
    return rc;
}

enum fed_error
fed_http_perform(struct fed_client *c,
                 const struct fed_http_req *rq,
                 struct fed_http_resp *resp,
                 char **why)
{
    struct xfer x;
    struct curl_slist *hdrs = NULL;
    struct curl_slist *connect_to = NULL;
    char errbuf[CURL_ERROR_SIZE];
    CURL *h = NULL;
    CURLcode rc;
    enum fed_error err;
    bool oom;
    char logurl[600];

    memset(resp, 0, sizeof(*resp));
    memset(&x, 0, sizeof(x));
    loggable_url(rq->url, logurl, sizeof(logurl));
    x.c = c;
    buf_init(&x.body, rq->max_size);
    errbuf[0] = '\0';

    h = curl_easy_init();
    hdrs = make_headers(rq, &oom);
    if (rq->connect_to != NULL)
        connect_to = curl_slist_append(NULL, rq->connect_to);
    if (h == NULL || oom || (rq->connect_to != NULL && connect_to == NULL)) {
        set_why(why, "libcurl initialisation failed");
        err = FED_INTERNAL;
        goto done;
    }
    rc = setup(h, c, rq, &x, hdrs, connect_to, errbuf);
    if (rc != CURLE_OK) {
        set_why(why, "libcurl option: %s", curl_easy_strerror(rc));
        err = FED_INTERNAL;
        goto done;
    }

    rc = curl_easy_perform(h);
    err = map_curl_error(rc, &x);
    if (err != FED_OK) {
        const char *detail =
            errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);

        /* libcurl's messages name hosts, not paths; if one ever quotes a
         * query (which may hold a token), fall back to the generic text. */
        if (strchr(detail, '?') != NULL)
            detail = curl_easy_strerror(rc);
        if (err == FED_FORBIDDEN_ADDRESS)
            detail = "every address was refused by the address guard";
        else if (err == FED_TOO_LARGE)
            detail = "response larger than the limit";
        set_why(why, "%s", detail);
        LOG_DEBUG("federation: %s %s: %s (%s)", rq->method, logurl,
                  fed_error_str(err), detail);
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    if (x.body.data == NULL)
        buf_puts(&x.body, "");
    resp->body = buf_steal(&x.body, &resp->len);
    memcpy(resp->cache_control, x.cache_control, sizeof(x.cache_control));
    memcpy(resp->expires, x.expires, sizeof(x.expires));
    LOG_DEBUG("federation: %s %s: HTTP %ld, %zu bytes", rq->method, logurl,
              resp->status, resp->len);

done:
    buf_free(&x.body);
    curl_slist_free_all(connect_to);
    curl_slist_free_all(hdrs);
    if (h != NULL)
        curl_easy_cleanup(h);
    return err;
}

void
fed_http_resp_free(struct fed_http_resp *resp)
{
    XFREE(resp->body);
    resp->len = 0;
}

enum fed_error
fed_http_url(struct fed_client *c,
             const char *method,
             const char *url,
             const char *const *headers,
             const char *body,
             size_t body_len,
             long *status,
             char **resp_body,
             size_t *resp_len,
             char **why)
{
    struct fed_http_req rq;
    struct fed_http_resp resp;
    enum fed_error err;

    if (status != NULL)
        *status = 0;
    if (resp_body != NULL)
        *resp_body = NULL;
    if (resp_len != NULL)
        *resp_len = 0;
    if (url == NULL ||
        (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
        set_why(why, "not an http(s) URL");
        return FED_BAD_NAME;
    }
    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.url = url;
    rq.headers = headers;
    rq.body = body;
    rq.body_len = body_len;
    /* The URL comes from the operator's configuration, who may run a
     * gateway on plain http; the client never chooses it. */
    rq.protocols = "http,https";
    rq.max_redirects = 0;
    rq.max_size = FED_RESPONSE_MAX;
    err = fed_http_perform(c, &rq, &resp, why);
    if (err != FED_OK)
        return err;
    if (status != NULL)
        *status = resp.status;
    if (resp_len != NULL)
        *resp_len = resp.len;
    if (resp_body != NULL) {
        *resp_body = resp.body;
        resp.body = NULL;
    }
    fed_http_resp_free(&resp);
    return FED_OK;
}
