/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The validation-session engine shared by every medium (email now, msisdn
 * next): send_attempt semantics, expiry, the attempt limit, rate limits,
 * submitToken (JSON and the human page) and getValidated3pid. A medium
 * supplies only what differs: how its address is read and canonicalised and
 * how a token is delivered.
 */
#ifndef GLIA_HTTPD_VALIDATION_H
#define GLIA_HTTPD_VALIDATION_H

#include "db/db.h"
#include "httpd/httpd.h"

struct config;

#include <stdbool.h>
#include <stdint.h>

/** What a medium plugs into the engine. */
struct validation_medium {
    const char *medium;        /* "email" or "msisdn" */
    size_t token_len;          /* of the tokens it sends */
    const char *token_charset; /* TOKEN_ALNUM, TOKEN_DIGITS */
    enum mxerr send_error;     /* M_EMAIL_SEND_ERROR or M_SEND_ERROR */
    /* The page's words, e.g. "email" or "text message". */
    const char *noun;
    /**
     * Build the delivery job on the HTTP thread (render the message).
     * @param client_secret as the client sent it (links need it; the
     *        session only holds its hash)
     * @return the job, or NULL after logging why (the engine answers 500)
     */
    void *(*prepare)(struct request *rq,
                     const struct db_session *s,
                     const char *client_secret);
    /** Deliver it, on a worker thread. @return true if it went out */
    bool (*deliver)(void *job);
    void (*job_free)(void *job);
    /** Wrong tokens a session accepts before it locks. */
    long (*max_attempts)(const struct config *cfg);
    /**
     * Limits that count deliveries only (SMS per country), checked once the
     * engine knows a token will be sent; NULL for none.
     * @return 0 to go on, or the milliseconds to wait
     */
    int64_t (*send_limit)(struct request *rq, const char *address);
};

/** The spec's rule for client_secret and sid: [0-9a-zA-Z.=_-]{1,255}. */
bool validation_id_valid(const char *s);
/**
 * Check next_link: an http(s) URL with a host, no credentials, no control
 * characters or spaces, at most 2000 bytes, and (if allowed_domains is set)
 * a host on that comma-separated list (".example.org" covers sub-domains).
 */
bool validation_next_link_ok(const char *url, const char *allowed_domains);
/**
 * Parse send_attempt: a JSON integer, or a string of digits (sydent
 * accepted "1", and clients send it). @return false if neither
 */
bool validation_send_attempt(const json_t *v, int64_t *out);

/** The members every requestToken has, whatever the medium. */
struct validation_common_args {
    const char *client_secret; /* borrowed from the body */
    int64_t send_attempt;
    const char *next_link; /* NULL if absent */
};
/**
 * Check the members every requestToken has (pure, unit-tested through the
 * media's parsers): presence of client_secret, then of the medium's own
 * required members (in order), then send_attempt; then the formats of
 * client_secret, send_attempt and the optional next_link.
 * @param medium_required the medium's required members, NULL-terminated
 * @param[out] bad_field the member at fault, or NULL
 * @return MXERR_NONE, MXERR_MISSING_PARAMS or MXERR_INVALID_PARAM
 */
enum mxerr validation_common_args(const json_t *body,
                                  const char *const medium_required[],
                                  struct validation_common_args *out,
                                  const char **bad_field);

/**
 * The common part of requestToken, after the medium checked its arguments:
 * rate limits, find-or-create the session, and deliver the token when this
 * send_attempt asks for it. Replies {"sid": ...} plus the members of extra.
 * @param extra more members for the reply (borrowed), or NULL
 */
enum MHD_Result validation_request_token(struct request *rq,
                                         const struct validation_medium *m,
                                         const char *address,
                                         const char *client_secret,
                                         int64_t send_attempt,
                                         const char *next_link,
                                         const json_t *extra);
/** POST .../validate/<medium>/submitToken. */
enum MHD_Result validation_submit_json(struct request *rq,
                                       const struct validation_medium *m,
                                       const json_t *body);
/** GET .../validate/<medium>/submitToken: the page behind the link. */
enum MHD_Result validation_submit_page(struct request *rq,
                                       const struct validation_medium *m);
/**
 * The validated, unexpired session that sid and client_secret prove (for
 * 3pid/bind and unbind).
 * @param[out] s the session (caller db_session_clear()s) on MXERR_NONE
 * @return MXERR_NONE, MXERR_INVALID_PARAM, MXERR_NO_VALID_SESSION,
 *         MXERR_SESSION_EXPIRED, MXERR_SESSION_NOT_VALIDATED, or
 *         MXERR_UNKNOWN for a database error
 */
enum mxerr validation_validated_session(struct request *rq,
                                        const char *sid,
                                        const char *client_secret,
                                        struct db_session *s);
/** GET .../3pid/getValidated3pid. */
enum MHD_Result validation_get_validated(struct request *rq);

#endif
