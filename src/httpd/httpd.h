/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The HTTP core on libmicrohttpd. Request flow (doc/ARCHITECTURE.md):
 *   server.c   accepts, routes (routes.c), caps and collects the body,
 *              parses JSON (request.c), applies the route's gates, calls the
 *              handler, and frees the request in the completion callback.
 *   handler_*.c  one file per resource; each replies exactly once through
 *              the http_reply_*() functions of reply.c.
 */
#ifndef GLIA_HTTPD_HTTPD_H
#define GLIA_HTTPD_HTTPD_H

#include "httpd/errors.h"
#include "util/buf.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct db;
struct deferred;
struct httpd;
struct request;

/* ---- routes (routes.c) -------------------------------------------------- */

/** A handler: replies exactly once. body is the parsed JSON object of a
 * POST/PUT (never NULL there), NULL for GET. */
typedef enum MHD_Result (*http_handler)(struct request *rq, const json_t *body);

enum route_flags {
    ROUTE_AUTH = 1 << 0,          /* needs an account token (auth.c) */
    ROUTE_TERMS = 1 << 1,         /* and every current policy accepted */
    ROUTE_BODY_OPTIONAL = 1 << 2, /* an empty POST body means {} */
    /* POST /account/logout: the spec answers an unknown token with
     * M_UNKNOWN_TOKEN rather than M_UNAUTHORIZED. */
    ROUTE_UNKNOWN_TOKEN_ERR = 1 << 3,
    /* Served only on the internal provisioning listener, and only such
     * routes are served there. */
    ROUTE_INTERNAL = 1 << 4,
    /* Likewise for the replication listener (mutual TLS, peers only). */
    ROUTE_REPLICATION = 1 << 5,
};
/* The listener bits: 0 is the public listener. */
#define ROUTE_LISTENERS (ROUTE_INTERNAL | ROUTE_REPLICATION)

enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_POST = 1 << 1,
    HTTP_PUT = 1 << 2,
    HTTP_DELETE = 1 << 3,
};

struct route {
    enum http_method method;
    const char *path; /* "/a/b/{param}": {..} matches one segment */
    http_handler handler;
    unsigned int flags;
};

#define ROUTE_MAX_PARAMS 2

struct route_match {
    const struct route *route; /* NULL: see allowed */
    size_t index;              /* of route in the table (for metrics) */
    unsigned int allowed;      /* methods the path has; 0: unknown path */
    const char *params[ROUTE_MAX_PARAMS]; /* into the path given */
    size_t param_len[ROUTE_MAX_PARAMS];
};

/**
 * Find the route for method and path (pure: no MHD, unit-tested). A path
 * known under other methods gives route == NULL with their mask in allowed.
 * Literal segments win over {params}, so /pubkey/isvalid is not a keyId.
 * @param listener the listener's bit (0 public, ROUTE_INTERNAL,
 *        ROUTE_REPLICATION): rows match only on their own listener
 * @param method an enum http_method bit, or 0 for methods we do not serve
 */
void routes_match(unsigned int listener,
                  unsigned int method,
                  const char *path,
                  struct route_match *out);
/** @return the route table and its length (for metrics labels and tests). */
const struct route *routes_table(size_t *count);
/** Write the Allow header value for a method mask into out. */
void routes_allow_header(unsigned int allowed, char *out, size_t outlen);
/** @return the enum http_method bit for a method name, 0 if unsupported. */
unsigned int http_method_parse(const char *method);

/* ---- requests (request.c) ----------------------------------------------- */

struct request {
    struct app *app;
    struct MHD_Connection *conn;
    struct db *db;                  /* this pool thread's connection */
    struct route_match match;       /* route and path parameters */
    char *uri;                      /* request target exactly as sent */
    char *path;                     /* decoded path; params point into it */
    char *params[ROUTE_MAX_PARAMS]; /* decoded path parameters */
    unsigned int method;            /* enum http_method, 0 for others */
    const char *method_name;        /* as sent (borrowed from MHD) */
    struct buf body;                /* capped at [http] max_body_size */
    json_t *json;                   /* parsed body, freed on completion */
    uint64_t id;                    /* for log correlation */
    int64_t start_us;               /* monotonic */
    unsigned int status;            /* of the reply; 0 until queued */
    struct httpd *httpd;
    unsigned int listener;     /* 0, ROUTE_INTERNAL or ROUTE_REPLICATION */
    struct deferred *deferred; /* work running off-thread (http_defer) */
    char client_ip[64];        /* see http_client_ip() */
    char *user_id;    /* the account, once the ROUTE_AUTH gate passed */
    char *token_hash; /* hex SHA-256 of the token it presented */
    bool started;     /* the access handler has seen it */
    bool replied;
    bool too_large;
    size_t discarded; /* body bytes dropped after too_large */
};

/**
 * Parse a request body into a JSON object (pure, unit-tested).
 * @param[out] out the object (caller json_decref()s) on success
 * @return MXERR_NONE, MXERR_NOT_JSON (not JSON at all) or MXERR_BAD_JSON
 *         (JSON, but not an object)
 */
enum mxerr http_parse_json_body(const char *data,
                                size_t len,
                                bool empty_is_object,
                                json_t **out);
/**
 * Read required string members of a JSON body (pure, unit-tested).
 * @param names NULL-terminated member names
 * @param outs where each value goes (borrowed from body), parallel to names
 * @param[out] bad_field the member at fault, or NULL
 * @return MXERR_NONE, MXERR_MISSING_PARAMS or MXERR_INVALID_PARAM (not a
 *         string)
 */
enum mxerr http_body_strings(const json_t *body,
                             const char *const names[],
                             const char **const outs[],
                             const char **bad_field);
/**
 * Copy a request target for the access log with query values that may be
 * secret or personal (tokens, client secrets, addresses) replaced by "_".
 */
void http_redact_target(const char *target, char *out, size_t outlen);
/** @return a query-string parameter (decoded, borrowed), or NULL. */
const char *http_query(struct request *rq, const char *name);
/** @return a request header (borrowed), or NULL. */
const char *http_header(struct request *rq, const char *name);
/** @return path parameter i (decoded, borrowed from rq). */
const char *http_path_param(const struct request *rq, size_t i);

/**
 * The client's address: the TCP peer, or, behind a trusted reverse proxy
 * ([http] trusted_proxies), the address it forwarded. Borrowed from rq.
 */
const char *http_client_ip(struct request *rq);

/* ---- work off the HTTP threads (server.c) ------------------------------- */

/** Runs on a worker thread: must not touch the request, MHD or rq->db. */
typedef void (*http_work_fn)(void *cls);
/**
 * Runs on an HTTP thread once the work is over, and replies.
 * @param done false if glia is shutting down and the work did not finish
 */
typedef enum MHD_Result (*http_after_fn)(struct request *rq,
                                         void *cls,
                                         bool done);

/**
 * Run work(cls) on the worker pool (struct app's workers) with the
 * connection suspended, so blocking I/O (a slow mail server) never holds an
 * HTTP thread; then after(rq, cls, done) replies. cls is freed with
 * cls_free once both sides are done with it.
 * @return 0: deferred (the handler returns MHD_YES without replying);
 *         -1: the pool is full or glia is stopping: nothing happened and
 *         cls is still the caller's
 */
int http_defer(struct request *rq,
               http_work_fn work,
               http_after_fn after,
               void *cls,
               void (*cls_free)(void *));

/* ---- gates (auth.c) ----------------------------------------------------- */

/**
 * Apply the route's ROUTE_AUTH and ROUTE_TERMS gates: find the account of
 * the presented token (Authorization: Bearer, or ?access_token= on GET when
 * [http] allow_query_access_token is on), then check the terms.
 * @return true if the request may go on; false if an error reply was sent
 *         (*ret holds the result to return to libmicrohttpd)
 */
bool http_gate_or_reply(struct request *rq, enum MHD_Result *ret);
/**
 * The hex SHA-256 under which a token is stored (tokens themselves never
 * are). out must hold 65 bytes.
 */
void http_token_hash(const char *token, char out[65]);
/**
 * Has the account accepted every current policy? Consults the stored
 * consent fingerprint, and the recorded acceptances when it is stale (and
 * then refreshes it).
 * @return 1 yes, 0 no, -1 database error
 */
int http_terms_satisfied(struct request *rq, const char *consent);

/* ---- replies (reply.c) -------------------------------------------------- */

/** Reply with a JSON value, which this steals (json_decref()s). */
enum MHD_Result
http_reply_json_steal(struct request *rq, unsigned int status, json_t *body);
/** Reply with a JSON text that outlives the request (a string literal). */
enum MHD_Result http_reply_static_json(struct request *rq,
                                       unsigned int status,
                                       const char *body);
/**
 * Reply with a Matrix error from errors.def.
 * @param detail appended to the table's message ("Missing parameter: x");
 *        NULL for the message alone. Must not hold secrets.
 */
enum MHD_Result
http_reply_error(struct request *rq, enum mxerr err, const char *detail);
/** As http_reply_error(), merging the members of extra (stolen). */
enum MHD_Result http_reply_error_extra(struct request *rq,
                                       enum mxerr err,
                                       const char *detail,
                                       json_t *extra);
/** Log what failed, with the request id, and answer 500 M_UNKNOWN. */
enum MHD_Result http_reply_internal(struct request *rq, const char *what);
/**
 * Reply with an HTML page (stolen, free()d later) for people, not programs:
 * with headers that forbid scripts, framing and leaking the URL (it holds
 * secrets) through the Referer header.
 */
enum MHD_Result
http_reply_html_steal(struct request *rq, unsigned int status, char *html);
/** Reply 302 to url (which the caller has checked), without a Referer. */
enum MHD_Result http_reply_redirect(struct request *rq, const char *url);
/** Reply 405 with an Allow header for the methods the path has. */
enum MHD_Result http_reply_method_not_allowed(struct request *rq,
                                              unsigned int allowed);
/** Reply 204 to a CORS preflight. */
enum MHD_Result http_reply_preflight(struct request *rq, unsigned int allowed);

/* ---- the server (server.c) ---------------------------------------------- */

struct httpd;

/**
 * Start the client API listener (and the metrics listener if configured).
 * @param[out] why on failure (caller frees)
 * @return the server, or NULL
 */
struct httpd *httpd_start(struct app *app, char **why);
/**
 * Stop accepting, let in-flight requests finish (up to timeout_s), then stop
 * and free everything. NULL-safe.
 */
void httpd_stop(struct httpd *h, int timeout_s);
/** @return the port the client API listens on (useful with port 0). */
unsigned int httpd_port(const struct httpd *h);

#endif
