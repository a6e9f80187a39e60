/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Talking to homeservers: server discovery (S-S "Resolving server names"),
 * the in-process /.well-known/matrix/server cache, fed_request() on top of
 * the request engine, and the OpenID userinfo check behind
 * POST /account/register.
 *
 * Discovery only decides names: the URL carries the name the certificate
 * must match (the server name, or the delegated name), the Host header is
 * what the spec asks for, and the endpoint (an SRV target, or the name
 * itself) goes into libcurl's CONNECT_TO, so libcurl resolves it and the
 * address guard sees the final address of every connection.
 */
#include "fed/fed_internal.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/url.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <sodium.h>

#define OPENID_PATH      "/_matrix/federation/v1/openid/userinfo?access_token="
#define OPENID_TOKEN_MAX 4096
/* Another SRV target is tried only with at least this much time left. */
#define FED_RETRY_MIN_MS 1000

static time_t
clock_now(const struct fed_client *c)
{
    return c->hooks.now != NULL ? c->hooks.now() : time(NULL);
}

static uint16_t
default_port(const struct fed_client *c)
{
    return c->hooks.default_port != 0 ? c->hooks.default_port
                                      : FED_DEFAULT_PORT;
}

/* Copy src into a fixed buffer of dstlen; the caller sized it for the
 * longest valid value, so truncation is a bug. */
static void
copy_str(char *dst, size_t dstlen, const char *src)
{
    size_t n = strlen(src);

    ASSERT(n < dstlen);
    memcpy(dst, src, n + 1);
}

/* Prefix "<server name>: " to *why, as callers log it without context. */
static void
why_prefix(char **why, const char *name)
{
    char *tmp;

    if (why == NULL)
        return;
    tmp = xasprintf("%s: %s", name, *why != NULL ? *why : "failed");
    free(*why);
    *why = tmp;
}

static void
why_set(char **why, const char *name, const char *what)
{
    if (why == NULL)
        return;
    free(*why);
    *why = xasprintf("%s: %s", name, what);
}

/* ---- /.well-known/matrix/server -------------------------------------- */

bool
fed_wellknown_parse(const char *body, size_t len, struct fed_server_name *out)
{
    json_t *j;
    const json_t *v;
    bool good = false;

    j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (j == NULL)
        return false;
    v = json_object_get(j, "m.server");
    if (json_is_string(v))
        good = fed_server_name_parse(json_string_value(v), out);
    json_decref(j);
    return good;
}

/* Directive d (case-insensitive) at p? Sets *arg past "d=" if it has one. */
static bool
directive_is(const char *p, size_t n, const char *d, const char **arg)
{
    size_t dl = strlen(d);

    if (n < dl || strncasecmp(p, d, dl) != 0)
        return false;
    if (n == dl) {
        *arg = NULL;
        return true;
    }
    if (p[dl] != '=')
        return false;
    *arg = p + dl + 1;
    return true;
}

long
fed_wellknown_ttl(const char *cache_control, const char *expires, time_t now)
{
    const char *p = cache_control != NULL ? cache_control : "";
    long max_age = -1;

    while (*p != '\0') {
        size_t n;
        const char *arg;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (directive_is(p, n, "no-store", &arg))
            return 0;
        if (directive_is(p, n, "max-age", &arg) && arg != NULL) {
            long v = 0;
            size_t i = 0;
            size_t alen = n - (size_t)(arg - p);

            if (alen >= 2 && arg[0] == '"' && arg[alen - 1] == '"') {
                arg++;
                alen -= 2;
            }
            while (i < alen && arg[i] >= '0' && arg[i] <= '9') {
                /* saturate: anything this large is capped anyway */
                if (v < 100000000L)
                    v = v * 10 + (arg[i] - '0');
                i++;
            }
            if (i > 0 && i == alen)
                max_age = v;
        }
        p += strcspn(p, ",");
    }
    if (max_age >= 0)
        return max_age;
    if (expires != NULL && expires[0] != '\0') {
        time_t t = curl_getdate(expires, NULL);

        /* RFC 9111: an invalid Expires means already expired. */
        if (t == (time_t)-1 || t <= now)
            return 0;
        return (long)(t - now);
    }
    return -1;
}

/* Look up host in the cache. @return true on a live hit; *found tells
 * whether it holds a delegation (then copied into deleg). */
static bool
wk_cache_get(struct fed_client *c,
             const char *host,
             time_t now,
             struct fed_server_name *deleg,
             bool *found)
{
    bool hit = false;

    pthread_mutex_lock(&c->wk_lock);
    for (size_t i = 0; i < c->wk_len; i++) {
        if (strcmp(c->wk[i].name, host) != 0)
            continue;
        if (c->wk[i].expires > now) {
            hit = true;
            *found = c->wk[i].deleg != NULL &&
                     fed_server_name_parse(c->wk[i].deleg, deleg);
        }
        break;
    }
    pthread_mutex_unlock(&c->wk_lock);
    return hit;
}

static void
wk_entry_drop(struct fed_client *c, size_t i)
{
    free(c->wk[i].name);
    free(c->wk[i].deleg);
    c->wk[i] = c->wk[c->wk_len - 1];
    c->wk_len--;
}

/* Store a result (deleg NULL: no usable well-known), replacing an older one
 * for host. When full, expired entries go first, then the soonest to
 * expire: the table never exceeds FED_WELLKNOWN_CACHE_MAX. */
static void
wk_cache_put(struct fed_client *c,
             const char *host,
             const char *deleg,
             time_t now,
             time_t expires)
{
    struct fed_wk_entry *e;

    pthread_mutex_lock(&c->wk_lock);
    for (size_t i = 0; i < c->wk_len; i++) {
        if (strcmp(c->wk[i].name, host) == 0) {
            wk_entry_drop(c, i);
            break;
        }
    }
    if (c->wk_len >= FED_WELLKNOWN_CACHE_MAX) {
        for (size_t i = c->wk_len; i-- > 0;) {
            if (c->wk[i].expires <= now)
                wk_entry_drop(c, i);
        }
    }
    if (c->wk_len >= FED_WELLKNOWN_CACHE_MAX) {
        size_t oldest = 0;

        for (size_t i = 1; i < c->wk_len; i++) {
            if (c->wk[i].expires < c->wk[oldest].expires)
                oldest = i;
        }
        wk_entry_drop(c, oldest);
    }
    if (c->wk == NULL)
        c->wk = xcalloc(FED_WELLKNOWN_CACHE_MAX, sizeof(*c->wk));
    e = &c->wk[c->wk_len++];
    e->name = xstrdup(host);
    e->deleg = xstrdup(deleg);
    e->expires = expires;
    pthread_mutex_unlock(&c->wk_lock);
}

/* Step 3 of discovery: fetch (or recall) host's well-known. @return true
 * with *deleg set if it delegates; false means "go on with SRV". */
static bool
wellknown_lookup(struct fed_client *c,
                 const char *host,
                 struct fed_server_name *deleg)
{
    struct fed_http_req rq;
    struct fed_http_resp resp;
    char url[FED_NAME_MAX + 64];
    char canon[FED_NAME_MAX + 8];
    char *why = NULL;
    enum fed_error err;
    time_t now = clock_now(c);
    bool found = false;
    long ttl;

    if (wk_cache_get(c, host, now, deleg, &found))
        return found;

    if (c->hooks.wellknown_port != 0)
        snprintf(url, sizeof(url), "https://%s:%u/.well-known/matrix/server",
                 host, (unsigned int)c->hooks.wellknown_port);
    else
        snprintf(url, sizeof(url), "https://%s/.well-known/matrix/server",
                 host);
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    rq.url = url;
    rq.protocols = "https";
    rq.max_redirects = FED_WELLKNOWN_MAX_REDIRECTS;
    rq.max_size = FED_WELLKNOWN_MAX;
    err = fed_http_perform(c, &rq, &resp, &why);
    if (err == FED_OK && resp.status == 200 &&
        fed_wellknown_parse(resp.body, resp.len, deleg)) {
        found = true;
        ttl = fed_wellknown_ttl(resp.cache_control, resp.expires, now);
        if (ttl < 0)
            ttl = FED_WELLKNOWN_TTL_DEFAULT;
        if (ttl > FED_WELLKNOWN_TTL_MAX)
            ttl = FED_WELLKNOWN_TTL_MAX;
        if (ttl < FED_WELLKNOWN_TTL_MIN)
            ttl = FED_WELLKNOWN_TTL_MIN;
        fed_server_name_format(deleg, canon, sizeof(canon));
        LOG_DEBUG("federation: %s delegates to %s (cached %lds)", host, canon,
                  ttl);
        wk_cache_put(c, host, canon, now, now + (time_t)ttl);
    } else {
        if (err == FED_OK)
            LOG_DEBUG("federation: %s: no usable well-known (HTTP %ld)", host,
                      resp.status);
        else
            LOG_DEBUG("federation: %s: no well-known: %s", host,
                      why != NULL ? why : fed_error_str(err));
        wk_cache_put(c, host, NULL, now,
                     now + (time_t)FED_WELLKNOWN_TTL_FAILURE);
    }
    fed_http_resp_free(&resp);
    free(why);
    return found;
}

/* ---- discovery --------------------------------------------------------- */

/* The guard on an IP-literal name, before anything is sent. */
static bool
literal_allowed(const struct fed_client *c, const struct fed_server_name *n)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    char tmp[FED_NAME_MAX + 1];

    if (n->host[0] == '[') {
        size_t len = strlen(n->host);

        memcpy(tmp, n->host + 1, len - 2);
        tmp[len - 2] = '\0';
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, tmp, &sin6.sin6_addr) != 1)
            return false;
        return fed_client_addr_allowed(c, (const struct sockaddr *)&sin6);
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    if (inet_pton(AF_INET, n->host, &sin.sin_addr) != 1)
        return false;
    return fed_client_addr_allowed(c, (const struct sockaddr *)&sin);
}

/* Steps 3.3-3.5 and 4-6: SRV _matrix-fed._tcp, then _matrix._tcp, then
 * host:8448. tls_name and host_header are already set by the caller. */
static enum fed_error
srv_endpoints(struct fed_client *c,
              const char *host,
              struct fed_target *t,
              char **why)
{
    static const char *const prefixes[] = {"_matrix-fed._tcp.",
                                           "_matrix._tcp."};
    struct fed_srv recs[FED_SRV_MAX];
    char qname[FED_NAME_MAX + 32];
    int n = 0;

    for (size_t i = 0; i < 2 && n <= 0; i++) {
        snprintf(qname, sizeof(qname), "%s%s", prefixes[i], host);
        if (c->hooks.srv_lookup != NULL)
            n = c->hooks.srv_lookup(qname, recs, FED_SRV_MAX);
        else
            n = fed_srv_lookup(qname, recs, FED_SRV_MAX);
    }
    if (n <= 0) {
        copy_str(t->ep[0].host, sizeof(t->ep[0].host), host);
        t->ep[0].port = default_port(c);
        t->n_ep = 1;
        return FED_OK;
    }
    fed_srv_order(recs, (size_t)n, NULL);
    for (int i = 0; i < n && t->n_ep < FED_TARGET_MAX; i++) {
        /* "." (stored as "") means the service is decidedly not here. */
        if (recs[i].target[0] == '\0' || recs[i].port == 0)
            continue;
        copy_str(t->ep[t->n_ep].host, sizeof(t->ep[0].host), recs[i].target);
        t->ep[t->n_ep].port = recs[i].port;
        t->n_ep++;
    }
    if (t->n_ep == 0) {
        why_set(why, host, "SRV record says the service is not available");
        return FED_UNREACHABLE;
    }
    return FED_OK;
}

enum fed_error
fed_resolve(struct fed_client *c,
            const char *server_name,
            struct fed_target *out,
            char **why)
{
    struct fed_server_name n;
    struct fed_server_name d;

    memset(out, 0, sizeof(*out));
    if (!fed_server_name_parse(server_name, &n)) {
        why_set(why, "(server name)", "malformed server name");
        return FED_BAD_NAME;
    }

    /* Steps 1 and 2: an IP literal, or a name with an explicit port. */
    if (n.is_ip_literal || n.has_port) {
        if (n.is_ip_literal && !literal_allowed(c, &n)) {
            why_set(why, n.host, "address refused by the address guard");
            return FED_FORBIDDEN_ADDRESS;
        }
        copy_str(out->tls_name, sizeof(out->tls_name), n.host);
        fed_server_name_format(&n, out->host_header, sizeof(out->host_header));
        copy_str(out->ep[0].host, sizeof(out->ep[0].host), n.host);
        out->ep[0].port = n.has_port ? n.port : default_port(c);
        out->n_ep = 1;
        return FED_OK;
    }

    /* Step 3: well-known delegation; the delegated name then goes through
     * the same steps, except that it is not looked up again. */
    if (wellknown_lookup(c, n.host, &d)) {
        out->delegated = true;
        copy_str(out->tls_name, sizeof(out->tls_name), d.host);
        fed_server_name_format(&d, out->host_header, sizeof(out->host_header));
        if (d.is_ip_literal && !literal_allowed(c, &d)) {
            why_set(why, n.host, "delegated address refused by the guard");
            return FED_FORBIDDEN_ADDRESS;
        }
        if (d.is_ip_literal || d.has_port) {
            copy_str(out->ep[0].host, sizeof(out->ep[0].host), d.host);
            out->ep[0].port = d.has_port ? d.port : default_port(c);
            out->n_ep = 1;
            return FED_OK;
        }
        return srv_endpoints(c, d.host, out, why);
    }

    /* Steps 4-6: no (usable) well-known. */
    copy_str(out->tls_name, sizeof(out->tls_name), n.host);
    copy_str(out->host_header, sizeof(out->host_header), n.host);
    return srv_endpoints(c, n.host, out, why);
}

/* ---- federation requests ------------------------------------------------ */

/* The path is ours, not the client's; still, nothing that could split the
 * request line or a header may reach libcurl. */
static bool
path_ok(const char *p)
{
    if (p == NULL || p[0] != '/')
        return false;
    for (; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

enum fed_error
fed_request(struct fed_client *c,
            const char *method,
            const char *server_name,
            const char *path_and_query,
            const json_t *body,
            long *status,
            json_t **out_json,
            char **why)
{
    static const char *const json_headers[] = {
        "Content-Type: application/json", "Accept: application/json", NULL};
    static const char *const plain_headers[] = {"Accept: application/json",
                                                NULL};
    struct fed_target t;
    struct fed_http_req rq;
    struct fed_http_resp resp;
    char *payload = NULL;
    enum fed_error err;
    json_t *j;
    int64_t deadline;

    err = FED_UNREACHABLE;

    *status = 0;
    if (out_json != NULL)
        *out_json = NULL;
    memset(&resp, 0, sizeof(resp));
    if (!path_ok(path_and_query)) {
        BUG("fed_request: bad path");
        why_set(why, "(request)", "bad path");
        return FED_INTERNAL;
    }
    err = fed_resolve(c, server_name, &t, why);
    if (err != FED_OK)
        return err;
    if (body != NULL) {
        payload = json_dumps(body, JSON_COMPACT);
        if (payload == NULL) {
            why_set(why, server_name, "cannot encode the request body");
            return FED_INTERNAL;
        }
    }

    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.host_header = t.host_header;
    rq.headers = payload != NULL ? json_headers : plain_headers;
    rq.body = payload;
    rq.body_len = payload != NULL ? strlen(payload) : 0;
    rq.protocols = "https";
    rq.max_redirects = 0; /* federation endpoints never redirect */
    rq.max_size = FED_RESPONSE_MAX;
    /* One time budget for all SRV targets together: a list of dead
     * targets must not hold a pool thread for a multiple of the timeout. */
    deadline = time_mono_us() / 1000 + FED_TOTAL_TIMEOUT_MS;
    for (size_t i = 0; i < t.n_ep; i++) {
        int64_t left = deadline - time_mono_us() / 1000;
        char *url;
        char *connect_to;

        if (i > 0 && left < FED_RETRY_MIN_MS)
            break;
        rq.timeout_ms = (long)left;
        url = xasprintf("https://%s:%u%s", t.tls_name,
                        (unsigned int)t.ep[i].port, path_and_query);
        connect_to =
            xasprintf("%s:%u:%s:%u", t.tls_name, (unsigned int)t.ep[i].port,
                      t.ep[i].host, (unsigned int)t.ep[i].port);

        rq.url = url;
        rq.connect_to = connect_to;
        fed_http_resp_free(&resp);
        err = fed_http_perform(c, &rq, &resp, why);
        /* The URL may carry a token (OpenID): do not leave it in the heap. */
        sodium_memzero(url, strlen(url));
        free(url);
        free(connect_to);
        /* Only "could not connect" moves on to the next SRV target: any
         * other failure happened after the server was reached. */
        if (err != FED_UNREACHABLE)
            break;
    }
    free(payload);
    if (err != FED_OK) {
        why_prefix(why, server_name);
        fed_http_resp_free(&resp);
        return err;
    }

    if (why != NULL)
        XFREE(*why); /* an earlier SRV target's failure */
    *status = resp.status;
    j = json_loadb(resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL);
    fed_http_resp_free(&resp);
    if (j == NULL) {
        why_set(why, server_name, "response is not JSON");
        return FED_BAD_RESPONSE;
    }
    if (out_json != NULL)
        *out_json = j;
    else
        json_decref(j);
    return FED_OK;
}

/* ---- OpenID ------------------------------------------------------------- */

static enum fed_error
openid_check(struct fed_client *c,
             const char *canon,
             const char *access_token,
             char **user_id,
             char **why)
{
    struct fed_server_name dom;
    char dom_canon[FED_NAME_MAX + 8];
    char *enc;
    char *path;
    json_t *j = NULL;
    const json_t *sub;
    const char *s;
    size_t lp_len;
    long status = 0;
    enum fed_error err;

    if (access_token == NULL || access_token[0] == '\0' ||
        strlen(access_token) > OPENID_TOKEN_MAX) {
        why_set(why, canon, "missing or oversized OpenID token");
        return FED_REJECTED;
    }
    enc = url_encode(access_token);
    path = xasprintf("%s%s", OPENID_PATH, enc);
    sodium_memzero(enc, strlen(enc));
    free(enc);
    err = fed_request(c, "GET", canon, path, NULL, &status, &j, why);
    sodium_memzero(path, strlen(path));
    free(path);

    /* The homeserver does not know the token: whatever the body says. */
    if (status == 401 || status == 403 || status == 404) {
        json_decref(j);
        if (why != NULL) {
            free(*why);
            *why = xasprintf("%s: token rejected (HTTP %ld)", canon, status);
        }
        return FED_REJECTED;
    }
    if (err != FED_OK)
        return err;
    if (status != 200) {
        json_decref(j);
        if (why != NULL) {
            free(*why);
            *why = xasprintf("%s: unexpected HTTP %ld", canon, status);
        }
        return FED_BAD_RESPONSE;
    }
    sub = json_object_get(j, "sub");
    if (!json_is_string(sub)) {
        json_decref(j);
        why_set(why, canon, "no string 'sub' in userinfo");
        return FED_BAD_RESPONSE;
    }
    s = json_string_value(sub);
    if (!fed_user_id_parse(s, &lp_len, &dom) ||
        !fed_server_name_format(&dom, dom_canon, sizeof(dom_canon))) {
        json_decref(j);
        why_set(why, canon, "'sub' is not a valid user id");
        return FED_BAD_RESPONSE;
    }
    if (strcmp(dom_canon, canon) != 0) {
        json_decref(j);
        why_set(why, canon, "'sub' belongs to another homeserver");
        return FED_FOREIGN_USER;
    }
    *user_id = xasprintf("@%.*s:%s", (int)lp_len, s + 1, canon);
    json_decref(j);
    return FED_OK;
}

enum fed_error
fed_openid_userinfo(struct fed_client *c,
                    const char *server_name,
                    const char *access_token,
                    char **user_id,
                    char **why)
{
    struct fed_server_name n;
    char canon[FED_NAME_MAX + 8];
    enum fed_error err;

    *user_id = NULL;
    if (!fed_server_name_parse(server_name, &n) ||
        !fed_server_name_format(&n, canon, sizeof(canon))) {
        why_set(why, "(server name)", "malformed server name");
        LOG_INFO("federation: openid userinfo: malformed server name");
        return FED_BAD_NAME;
    }
    err = openid_check(c, canon, access_token, user_id, why);
    LOG_INFO("federation: openid userinfo at %s: %s", canon,
             fed_error_str(err));
    return err;
}
