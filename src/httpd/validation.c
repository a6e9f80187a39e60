/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Validation sessions, medium-independent; see validation.h. Done better than
 * sydent in the places its users were bitten: send_attempt really is
 * idempotent; wrong tokens are limited per session and compared in constant
 * time; errors use the spec's codes and statuses; next_link comes only from
 * requestToken (never from the link's own query) and must be http(s).
 */
#include "httpd/validation.h"
#include "app.h"
#include "httpd/metrics.h"
#include "crypto/crypto.h"
#include "mail/template.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/netaddr.h"
#include "util/ratelimit.h"
#include "util/time.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SID_LEN       24
#define TOKEN_MAX     255 /* the spec's limit on validation tokens */
#define NEXT_LINK_MAX 2000

bool
validation_id_valid(const char *s)
{
    size_t n = 0;

    for (const char *p = s; *p != '\0'; p++, n++) {
        char c = *p;

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '.' || c == '=' || c == '_' ||
              c == '-'))
            return false;
    }
    return n >= 1 && n <= 255;
}

/* Is host (lower-case, no port) on the comma-separated allow-list? */
static bool
host_allowed(const char *host, size_t hlen, const char *list)
{
    const char *p = list;

    while (*p != '\0') {
        const char *end;
        size_t n;

        while (*p == ' ' || *p == ',')
            p++;
        end = p;
        while (*end != '\0' && *end != ',' && *end != ' ')
            end++;
        n = (size_t)(end - p);
        if (n > 0 && p[0] == '.') {
            /* ".example.org": example.org itself and its sub-domains */
            if ((hlen == n - 1 && strncasecmp(host, p + 1, n - 1) == 0) ||
                (hlen > n && strncasecmp(host + hlen - n, p, n) == 0))
                return true;
        } else if (n > 0 && hlen == n && strncasecmp(host, p, n) == 0) {
            return true;
        }
        p = end;
    }
    return false;
}

bool
validation_next_link_ok(const char *url, const char *allowed_domains)
{
    const char *auth;
    const char *end;
    const char *host;
    size_t hlen;

    if (strlen(url) > NEXT_LINK_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p != 0; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '\\')
            return false;
    if (strncasecmp(url, "https://", 8) == 0)
        auth = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        auth = url + 7;
    else
        return false;
    end = auth + strcspn(auth, "/?#");
    host = auth;
    if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
        return false; /* user:pass@ hides where a link really goes */
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));

        if (close == NULL)
            return false;
        hlen = (size_t)(close - host) + 1;
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));

        hlen = (size_t)((colon != NULL ? colon : end) - host);
    }
    if (hlen == 0)
        return false;
    if (allowed_domains == NULL || allowed_domains[0] == '\0')
        return true;
    return host_allowed(host, hlen, allowed_domains);
}

bool
validation_send_attempt(const json_t *v, int64_t *out)
{
    const char *s;
    char *end = NULL;
    long long n;

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_string(v))
        return false;
    s = json_string_value(v);
    if (s[0] == '\0' || strlen(s) > 18)
        return false;
    n = strtoll(s, &end, 10);
    if (*end != '\0')
        return false;
    *out = n;
    return true;
}

static enum MHD_Result
reply_limited(struct request *rq, int64_t wait_ms)
{
    return http_reply_error_extra(
        rq, MXERR_LIMIT_EXCEEDED, NULL,
        json_pack("{s:I}", "retry_after_ms", (json_int_t)wait_ms));
}

/* ---- requestToken ------------------------------------------------------- */

enum mxerr
validation_common_args(const json_t *body,
                       const char *const medium_required[],
                       struct validation_common_args *out,
                       const char **bad_field)
{
    const json_t *secret = json_object_get(body, "client_secret");
    const json_t *attempt = json_object_get(body, "send_attempt");
    const json_t *next = json_object_get(body, "next_link");

    memset(out, 0, sizeof(*out));
    *bad_field = "client_secret";
    if (secret == NULL)
        return MXERR_MISSING_PARAMS;
    for (size_t i = 0; medium_required[i] != NULL; i++) {
        *bad_field = medium_required[i];
        if (json_object_get(body, medium_required[i]) == NULL)
            return MXERR_MISSING_PARAMS;
    }
    *bad_field = "send_attempt";
    if (attempt == NULL)
        return MXERR_MISSING_PARAMS;
    *bad_field = "client_secret";
    if (!json_is_string(secret) ||
        !validation_id_valid(json_string_value(secret)))
        return MXERR_INVALID_PARAM;
    *bad_field = "send_attempt";
    if (!validation_send_attempt(attempt, &out->send_attempt))
        return MXERR_INVALID_PARAM;
    *bad_field = "next_link";
    if (next != NULL && !json_is_null(next) && !json_is_string(next))
        return MXERR_INVALID_PARAM;
    *bad_field = NULL;
    out->client_secret = json_string_value(secret);
    out->next_link = json_string_value(next); /* NULL unless a string */
    return MXERR_NONE;
}

struct delivery {
    const struct validation_medium *m;
    void *job;
    json_t *extra; /* more members of the reply */
    char sid[DB_SID_MAX];
    int64_t send_attempt;
    bool ok;
};

/* The token did not go out: let a retry with this send_attempt send. */
static void
unsend(struct request *rq, const char *sid, int64_t send_attempt)
{
    if (db_session_unsend(rq->db, sid, send_attempt) < 0)
        LOG_WARN("req %llu: could not reset send_attempt of session %s",
                 (unsigned long long)rq->id, sid);
}

static void
delivery_free(void *cls)
{
    struct delivery *d = cls;

    d->m->job_free(d->job);
    json_decref(d->extra);
    free(d);
}

/* On a worker thread. */
static void
deliver(void *cls)
{
    struct delivery *d = cls;

    d->ok = d->m->deliver(d->job);
}

/* requestToken's answer: {"sid"} and the medium's extra members. */
static enum MHD_Result
reply_sid(struct request *rq, const char *sid, const json_t *extra)
{
    json_t *r = extra != NULL ? json_deep_copy(extra) : json_object();

    json_object_set_new(r, "sid", json_string(sid));
    return http_reply_json_steal(rq, MHD_HTTP_OK, r);
}

/* Back on an HTTP thread. */
static enum MHD_Result
delivered(struct request *rq, void *cls, bool done)
{
    struct delivery *d = cls;

    if (done)
        metrics_count(rq->app->metrics,
                      d->ok ? MC_MESSAGES_SENT : MC_MESSAGES_FAILED, 1);
    if (!done || !d->ok)
        unsend(rq, d->sid, d->send_attempt);
    if (!done)
        return http_reply_error(rq, MXERR_BUSY, "shutting down");
    if (!d->ok)
        return http_reply_error(rq, d->m->send_error, NULL);
    return reply_sid(rq, d->sid, d->extra);
}

enum MHD_Result
validation_request_token(struct request *rq,
                         const struct validation_medium *m,
                         const char *address,
                         const char *client_secret,
                         int64_t send_attempt,
                         const char *next_link,
                         const json_t *extra)
{
    const struct config *cfg = rq->app->cfg;
    int64_t now = time_now_ms();
    char key[512];
    char ipkey[128];
    int64_t wait;
    char secret_hash[65];
    char new_sid[SID_LEN + 1];
    char *new_token = xmalloc(m->token_len + 1);
    struct db_session_request req;
    struct db_session s;
    bool send = false;
    enum db_status qs;
    struct delivery *d;

    /* Limits first: they also protect the database. A retry with the same
     * send_attempt counts too, so the limit cannot be sidestepped. */
    netaddr_limit_key(http_client_ip(rq), ipkey, sizeof(ipkey));
    snprintf(key, sizeof(key), "ip:%s", ipkey);
    wait = ratelimit_take(rq->app->limit_ip, key, time_mono_us() / 1000);
    if (wait == 0) {
        snprintf(key, sizeof(key), "%s:%s", m->medium, address);
        wait =
            ratelimit_take(rq->app->limit_address, key, time_mono_us() / 1000);
    }
    if (wait > 0) {
        free(new_token);
        return reply_limited(rq, wait);
    }
    http_token_hash(client_secret, secret_hash);
    token_random(new_sid, SID_LEN, TOKEN_ALNUM);
    token_random(new_token, m->token_len, m->token_charset);
    req.medium = m->medium;
    req.address = address;
    req.client_secret_hash = secret_hash;
    req.send_attempt = send_attempt;
    req.next_link = next_link;
    req.new_sid = new_sid;
    req.new_token = new_token;
    req.now_ms = now;
    req.lifetime_ms = cfg->validation_session_lifetime * 1000;
    qs = db_session_request(rq->db, &req, &s, &send);
    sodium_memzero(new_token, m->token_len);
    free(new_token);
    if (qs < 0)
        return http_reply_internal(rq, "db_session_request");
    if (!send) {
        enum MHD_Result ret = reply_sid(rq, s.sid, extra);

        db_session_clear(&s);
        return ret;
    }
    /* Limits on what is delivered (SMS cost money): only now is it known
     * that something will be. */
    wait = m->send_limit != NULL ? m->send_limit(rq, address) : 0;
    if (wait > 0) {
        unsend(rq, s.sid, send_attempt);
        db_session_clear(&s);
        return reply_limited(rq, wait);
    }
    d = xcalloc(1, sizeof(*d));
    d->m = m;
    d->extra = extra != NULL ? json_deep_copy(extra) : NULL;
    d->send_attempt = send_attempt;
    snprintf(d->sid, sizeof(d->sid), "%s", s.sid);
    d->job = m->prepare(rq, &s, client_secret);
    db_session_clear(&s);
    if (d->job == NULL) {
        unsend(rq, d->sid, send_attempt);
        free(d);
        return http_reply_internal(rq, "preparing the message");
    }
    if (http_defer(rq, deliver, delivered, d, delivery_free) != 0) {
        unsend(rq, d->sid, send_attempt);
        delivery_free(d);
        return http_reply_error(rq, MXERR_BUSY, NULL);
    }
    return MHD_YES;
}

/* ---- submitToken -------------------------------------------------------- */

enum check {
    CHECK_OK,
    CHECK_INVALID,    /* malformed sid, secret or token */
    CHECK_NO_SESSION, /* unknown sid, wrong secret, other medium */
    CHECK_EXPIRED,
    CHECK_LOCKED, /* too many wrong tokens */
    CHECK_WRONG,
    CHECK_DB_ERROR,
};

/* Find the session of sid if client_secret owns it. */
static enum check
find_session(struct request *rq,
             const char *medium,
             const char *sid,
             const char *client_secret,
             struct db_session *s)
{
    char secret_hash[65];
    enum db_status qs;

    if (!validation_id_valid(sid) || !validation_id_valid(client_secret))
        return CHECK_INVALID;
    qs = db_session_get(rq->db, sid, s);
    if (qs < 0)
        return CHECK_DB_ERROR;
    if (qs == DB_NO_RESULTS)
        return CHECK_NO_SESSION;
    http_token_hash(client_secret, secret_hash);
    /* One answer for "no such sid" and "not your sid": no oracle. */
    if (sodium_memcmp(secret_hash, s->client_secret_hash, 64) != 0 ||
        (medium != NULL && strcmp(medium, s->medium) != 0))
        return CHECK_NO_SESSION;
    if (s->modified_ts + rq->app->cfg->validation_session_lifetime * 1000 <
        time_now_ms())
        return CHECK_EXPIRED;
    return CHECK_OK;
}

static enum check
check_token(struct request *rq,
            const struct validation_medium *m,
            const char *sid,
            const char *client_secret,
            const char *token,
            struct db_session *s)
{
    enum check c;
    enum db_status qs;

    if (token[0] == '\0' || strlen(token) > TOKEN_MAX)
        return CHECK_INVALID;
    c = find_session(rq, m->medium, sid, client_secret, s);
    if (c != CHECK_OK)
        return c;
    /* Count the attempt before comparing, so parallel guesses cannot get
     * past the limit; a right token gives it back. */
    qs = db_session_reserve_attempt(rq->db, sid,
                                    (int)m->max_attempts(rq->app->cfg));
    if (qs < 0)
        return CHECK_DB_ERROR;
    if (qs == DB_NO_RESULTS)
        return CHECK_LOCKED;
    if (!token_equal(token, s->token)) {
        LOG_INFO("req %llu: wrong token for session %s",
                 (unsigned long long)rq->id, sid);
        return CHECK_WRONG;
    }
    if (db_session_validate(rq->db, sid, time_now_ms()) < 0)
        return CHECK_DB_ERROR;
    return CHECK_OK;
}

/* Read the three submitToken parameters from a JSON body. */
static enum mxerr
submit_args(const json_t *body,
            const char **sid,
            const char **secret,
            const char **token,
            const char **bad)
{
    static const char *const names[] = {"sid", "client_secret", "token", NULL};
    const char **const outs[] = {sid, secret, token};

    return http_body_strings(body, names, outs, bad);
}

enum MHD_Result
validation_submit_json(struct request *rq,
                       const struct validation_medium *m,
                       const json_t *body)
{
    const char *sid = NULL;
    const char *secret = NULL;
    const char *token = NULL;
    const char *bad = NULL;
    struct db_session s;
    enum mxerr err = submit_args(body, &sid, &secret, &token, &bad);
    enum check c;

    if (err != MXERR_NONE)
        return http_reply_error(rq, err, bad);
    memset(&s, 0, sizeof(s));
    c = check_token(rq, m, sid, secret, token, &s);
    db_session_clear(&s);
    switch (c) {
    case CHECK_OK:
        return http_reply_static_json(rq, MHD_HTTP_OK, "{\"success\":true}");
    case CHECK_INVALID:
        return http_reply_error(rq, MXERR_INVALID_PARAM,
                                "sid, client_secret or token");
    case CHECK_NO_SESSION:
        return http_reply_error(rq, MXERR_NO_VALID_SESSION, NULL);
    case CHECK_EXPIRED:
        return http_reply_error(rq, MXERR_SESSION_EXPIRED, NULL);
    case CHECK_LOCKED:
        return http_reply_error(rq, MXERR_SESSION_EXPIRED,
                                "too many incorrect tokens; request a new one");
    case CHECK_WRONG:
        return http_reply_error(rq, MXERR_TOKEN_INCORRECT, NULL);
    case CHECK_DB_ERROR:
    default:
        return http_reply_internal(rq, "submitToken");
    }
}

/* Render the brand's response page with message. */
static enum MHD_Result
page(struct request *rq, unsigned int status, bool success, const char *message)
{
    struct tmpl_vars *v = tmpl_vars_new();
    char *why = NULL;
    char *html;

    tmpl_vars_set(v, "message", message);
    tmpl_vars_set(v, "success", success ? "true" : "");
    html = templates_render(rq->app->templates, http_query(rq, "brand"),
                            "verify_response_template.html", v, &why);
    tmpl_vars_free(v);
    if (html == NULL) {
        LOG_ERROR("req %llu: response page: %s", (unsigned long long)rq->id,
                  why != NULL ? why : "?");
        free(why);
        return http_reply_internal(rq, "verify_response_template");
    }
    return http_reply_html_steal(rq, status, html);
}

enum MHD_Result
validation_submit_page(struct request *rq, const struct validation_medium *m)
{
    const char *sid = http_query(rq, "sid");
    const char *secret = http_query(rq, "client_secret");
    const char *token = http_query(rq, "token");
    struct db_session s;
    enum check c;
    enum MHD_Result ret;
    char msg[256];

    if (sid == NULL || secret == NULL || token == NULL)
        return page(rq, MHD_HTTP_BAD_REQUEST, false,
                    "This link is incomplete. Copy the whole link from the "
                    "message, or type the code into your Matrix client.");
    memset(&s, 0, sizeof(s));
    c = check_token(rq, m, sid, secret, token, &s);
    switch (c) {
    case CHECK_OK:
        /* next_link was checked when it was stored; the link's own query
         * cannot change it (sydent's nextLink could). */
        if (s.next_link != NULL) {
            ret = http_reply_redirect(rq, s.next_link);
        } else {
            snprintf(msg, sizeof(msg),
                     "Your %s is verified. You can return to your Matrix "
                     "client now.",
                     strcmp(m->medium, "email") == 0 ? "email address"
                                                     : "phone number");
            ret = page(rq, MHD_HTTP_OK, true, msg);
        }
        break;
    case CHECK_INVALID:
    case CHECK_NO_SESSION:
        ret = page(rq, MHD_HTTP_NOT_FOUND, false,
                   "This verification link is not valid. Request a new one "
                   "from your Matrix client.");
        break;
    case CHECK_EXPIRED:
        snprintf(msg, sizeof(msg),
                 "This link has expired. Request a new %s from your Matrix "
                 "client.",
                 m->noun);
        ret = page(rq, MHD_HTTP_BAD_REQUEST, false, msg);
        break;
    case CHECK_LOCKED:
        snprintf(msg, sizeof(msg),
                 "Too many wrong codes were tried for this request. Request a "
                 "new %s from your Matrix client.",
                 m->noun);
        ret = page(rq, MHD_HTTP_BAD_REQUEST, false, msg);
        break;
    case CHECK_WRONG:
        ret = page(rq, MHD_HTTP_BAD_REQUEST, false,
                   "The code in this link is not correct. Check that you "
                   "opened the newest message.");
        break;
    case CHECK_DB_ERROR:
    default:
        ret = page(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, false,
                   "Something went wrong on our side. Please try again in a "
                   "moment.");
        break;
    }
    db_session_clear(&s);
    return ret;
}

/* ---- validated sessions (getValidated3pid, bind) ------------------------ */

enum mxerr
validation_validated_session(struct request *rq,
                             const char *sid,
                             const char *client_secret,
                             struct db_session *s)
{
    enum check c;

    memset(s, 0, sizeof(*s));
    c = find_session(rq, NULL, sid, client_secret, s);
    if (c == CHECK_OK && s->validated_ts != 0)
        return MXERR_NONE;
    db_session_clear(s);
    switch (c) {
    case CHECK_OK:
        return MXERR_SESSION_NOT_VALIDATED;
    case CHECK_INVALID:
        return MXERR_INVALID_PARAM;
    case CHECK_NO_SESSION:
        return MXERR_NO_VALID_SESSION;
    case CHECK_EXPIRED:
        return MXERR_SESSION_EXPIRED;
    default:
        return MXERR_UNKNOWN;
    }
}

enum MHD_Result
validation_get_validated(struct request *rq)
{
    const char *sid = http_query(rq, "sid");
    const char *secret = http_query(rq, "client_secret");
    struct db_session s;
    enum mxerr err;
    enum MHD_Result ret;

    if (sid == NULL)
        return http_reply_error(rq, MXERR_MISSING_PARAMS, "sid");
    if (secret == NULL)
        return http_reply_error(rq, MXERR_MISSING_PARAMS, "client_secret");
    err = validation_validated_session(rq, sid, secret, &s);
    if (err == MXERR_UNKNOWN)
        return http_reply_internal(rq, "getValidated3pid");
    if (err != MXERR_NONE)
        return http_reply_error(rq, err, NULL);
    ret = http_reply_json_steal(rq, MHD_HTTP_OK,
                                json_pack("{s:s, s:s, s:I}", "medium", s.medium,
                                          "address", s.address, "validated_at",
                                          (json_int_t)s.validated_ts));
    db_session_clear(&s);
    return ret;
}
