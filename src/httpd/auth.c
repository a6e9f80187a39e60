/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The two gates every authenticated endpoint passes through, applied
 * centrally from the route flags (server.c calls http_gate_or_reply() before
 * the handler): the account token (ROUTE_AUTH) and the terms of service
 * (ROUTE_TERMS). Tokens are looked up by hash, so the comparison is an index
 * lookup on a digest and never a byte-by-byte compare of the secret.
 */
#include "app.h"
#include "db/db.h"
#include "httpd/httpd.h"
#include "terms/terms.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest token we bother hashing; ours are 64 characters. */
#define AUTH_TOKEN_MAX 512

void
http_token_hash(const char *token, char out[65])
{
    unsigned char digest[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, 65, digest, sizeof(digest));
}

/* The presented token, or NULL. Borrowed from the request. */
static const char *
presented_token(struct request *rq)
{
    const char *h = http_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *q;

    if (h != NULL) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return NULL;
        h += 7;
        while (*h == ' ')
            h++;
        return h;
    }
    if (rq->method != HTTP_GET || !rq->app->cfg->http_allow_query_access_token)
        return NULL;
    q = http_query(rq, "access_token");
    if (q != NULL)
        LOG_INFO("req %llu: access token in the query string (deprecated) "
                 "on %s",
                 (unsigned long long)rq->id, rq->path);
    return q;
}

/* Collects which current policies a user's acceptances cover. */
struct coverage {
    const struct terms *terms;
    bool *covered;
};

static void
on_accepted(void *cls, const char *policy, const char *version)
{
    struct coverage *c = cls;
    int i = terms_policy_index(c->terms, policy, version);

    if (i >= 0)
        c->covered[i] = true;
}

int
http_terms_satisfied(struct request *rq, const char *consent)
{
    const struct terms *t = rq->app->terms;
    const char *fp = terms_fingerprint(t);
    struct coverage c;
    enum db_status qs;
    int result = 1;

    if (fp == NULL)
        return 1; /* no terms configured: nothing to accept */
    if (consent != NULL && strcmp(consent, fp) == 0)
        return 1;
    /*
     * The stored fingerprint is stale or missing. The terms may have changed
     * in a way the user already covers (a policy removed, say), so count.
     */
    c.terms = t;
    c.covered = xcalloc(terms_count(t), sizeof(bool));
    qs = db_terms_accepted(rq->db, rq->user_id, on_accepted, &c);
    if (qs < 0) {
        free(c.covered);
        return -1;
    }
    for (size_t i = 0; i < terms_count(t); i++)
        if (!c.covered[i])
            result = 0;
    free(c.covered);
    if (result == 1 && db_account_set_consent(rq->db, rq->user_id, fp) < 0)
        LOG_WARN("req %llu: could not store the consent fingerprint",
                 (unsigned long long)rq->id);
    return result;
}

bool
http_gate_or_reply(struct request *rq, enum MHD_Result *ret)
{
    unsigned int flags = rq->match.route->flags;
    const char *token;
    char hash[65];
    char *user_id = NULL;
    char *consent = NULL;
    enum db_status qs;
    int terms_ok;

    if ((flags & ROUTE_AUTH) == 0)
        return true;
    token = presented_token(rq);
    if (token == NULL || token[0] == '\0') {
        *ret = http_reply_error(rq, MXERR_UNAUTHORIZED, "missing access token");
        return false;
    }
    if (strlen(token) > AUTH_TOKEN_MAX) {
        *ret = http_reply_error(rq,
                                (flags & ROUTE_UNKNOWN_TOKEN_ERR) != 0
                                    ? MXERR_UNKNOWN_TOKEN
                                    : MXERR_UNAUTHORIZED,
                                NULL);
        return false;
    }
    http_token_hash(token, hash);
    qs = db_account_by_token(rq->db, hash, &user_id, &consent);
    if (qs < 0) {
        *ret = http_reply_internal(rq, "db_account_by_token");
        return false;
    }
    if (qs == DB_NO_RESULTS) {
        *ret = http_reply_error(rq,
                                (flags & ROUTE_UNKNOWN_TOKEN_ERR) != 0
                                    ? MXERR_UNKNOWN_TOKEN
                                    : MXERR_UNAUTHORIZED,
                                NULL);
        return false;
    }
    rq->user_id = user_id;
    rq->token_hash = xstrdup(hash);
    if ((flags & ROUTE_TERMS) == 0) {
        free(consent);
        return true;
    }
    terms_ok = http_terms_satisfied(rq, consent);
    free(consent);
    if (terms_ok < 0) {
        *ret = http_reply_internal(rq, "db_terms_accepted");
        return false;
    }
    if (terms_ok == 0) {
        *ret = http_reply_error(rq, MXERR_TERMS_NOT_SIGNED, NULL);
        return false;
    }
    return true;
}
