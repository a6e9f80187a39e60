/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* glia.validation_sessions: proving ownership of an address. */
#include "db/db_internal.h"
#include "util/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_COLUMNS                                                        \
    "sid, medium, address, client_secret_hash, token, send_attempt, "          \
    "next_link, created_ts, modified_ts, validated_ts, failed_attempts"

void
db_session_clear(struct db_session *s)
{
    if (s == NULL)
        return;
    XFREE(s->address);
    XFREE(s->token);
    XFREE(s->next_link);
}

/* Fill out from row 0 of res (selected with SESSION_COLUMNS). */
static void
read_session(PGresult *res, struct db_session *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->sid, sizeof(out->sid), "%s", PQgetvalue(res, 0, 0));
    snprintf(out->medium, sizeof(out->medium), "%s", PQgetvalue(res, 0, 1));
    out->address = xstrdup(PQgetvalue(res, 0, 2));
    snprintf(out->client_secret_hash, sizeof(out->client_secret_hash), "%s",
             PQgetvalue(res, 0, 3));
    out->token = xstrdup(PQgetvalue(res, 0, 4));
    out->send_attempt = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    if (!PQgetisnull(res, 0, 6))
        out->next_link = xstrdup(PQgetvalue(res, 0, 6));
    out->created_ts = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
    out->modified_ts = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
    if (!PQgetisnull(res, 0, 9))
        out->validated_ts = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
    out->failed_attempts = atoi(PQgetvalue(res, 0, 10));
}

struct request_ctx {
    const struct db_session_request *req;
    struct db_session *out;
    bool *send;
};

static enum db_status
request_tx(struct db *db, void *cls)
{
    static struct db_stmt find = DB_STMT(
        "db_session_request_find",
        "SELECT " SESSION_COLUMNS " FROM glia.validation_sessions "
        "WHERE medium = $1 AND address = $2 AND client_secret_hash = $3 "
        "FOR UPDATE",
        3);
    static struct db_stmt drop =
        DB_STMT("db_session_request_drop",
                "DELETE FROM glia.validation_sessions WHERE sid = $1", 1);
    static struct db_stmt resend =
        DB_STMT("db_session_request_resend",
                "UPDATE glia.validation_sessions SET send_attempt = $2, "
                "modified_ts = $3, next_link = COALESCE($4, next_link) "
                "WHERE sid = $1",
                4);
    static struct db_stmt create = DB_STMT(
        "db_session_request_create",
        "INSERT INTO glia.validation_sessions (sid, medium, address, "
        "client_secret_hash, token, send_attempt, next_link, created_ts, "
        "modified_ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        8);
    struct request_ctx *ctx = cls;
    const struct db_session_request *r = ctx->req;
    const char *key[] = {r->medium, r->address, r->client_secret_hash};
    char attempt[32];
    char now[32];
    enum db_status qs;
    PGresult *res;

    snprintf(attempt, sizeof(attempt), "%" PRId64, r->send_attempt);
    snprintf(now, sizeof(now), "%" PRId64, r->now_ms);
    db_session_clear(ctx->out);
    *ctx->send = false;
    res = db_exec(db, &find, key, &qs);
    if (res == NULL)
        return qs;
    if (PQntuples(res) == 1) {
        read_session(res, ctx->out);
        PQclear(res);
        if (ctx->out->modified_ts + r->lifetime_ms >= r->now_ms) {
            const char *p[] = {ctx->out->sid, attempt, now, r->next_link};

            if (r->send_attempt <= ctx->out->send_attempt)
                return DB_ONE_RESULT; /* a retry: same sid, nothing sent */
            qs = db_exec_cmd(db, &resend, p);
            if (qs < 0)
                return qs;
            ctx->out->send_attempt = r->send_attempt;
            ctx->out->modified_ts = r->now_ms;
            if (r->next_link != NULL) {
                free(ctx->out->next_link);
                ctx->out->next_link = xstrdup(r->next_link);
            }
            *ctx->send = true;
            return DB_ONE_RESULT;
        }
        {
            /* Expired: start afresh under a new sid and token. */
            const char *p[] = {ctx->out->sid};

            qs = db_exec_cmd(db, &drop, p);
            if (qs < 0)
                return qs;
        }
    } else {
        PQclear(res);
    }
    {
        const char *p[] = {
            r->new_sid,   r->medium, r->address,   r->client_secret_hash,
            r->new_token, attempt,   r->next_link, now};

        qs = db_exec_cmd(db, &create, p);
        if (qs < 0)
            return qs;
    }
    db_session_clear(ctx->out);
    memset(ctx->out, 0, sizeof(*ctx->out));
    snprintf(ctx->out->sid, sizeof(ctx->out->sid), "%s", r->new_sid);
    snprintf(ctx->out->medium, sizeof(ctx->out->medium), "%s", r->medium);
    ctx->out->address = xstrdup(r->address);
    snprintf(ctx->out->client_secret_hash, sizeof(ctx->out->client_secret_hash),
             "%s", r->client_secret_hash);
    ctx->out->token = xstrdup(r->new_token);
    ctx->out->send_attempt = r->send_attempt;
    ctx->out->next_link = xstrdup(r->next_link);
    ctx->out->created_ts = r->now_ms;
    ctx->out->modified_ts = r->now_ms;
    *ctx->send = true;
    return DB_ONE_RESULT;
}

enum db_status
db_session_request(struct db *db,
                   const struct db_session_request *req,
                   struct db_session *out,
                   bool *send)
{
    struct request_ctx ctx = {req, out, send};

    memset(out, 0, sizeof(*out));
    return db_run_tx(db, "session_request", request_tx, &ctx);
}

enum db_status
db_session_unsend(struct db *db, const char *sid, int64_t send_attempt)
{
    static struct db_stmt st = DB_STMT(
        "db_session_unsend",
        "UPDATE glia.validation_sessions SET send_attempt = $2::bigint - 1 "
        "WHERE sid = $1 AND send_attempt = $2::bigint",
        2);
    char attempt[32];
    const char *params[] = {sid, attempt};

    snprintf(attempt, sizeof(attempt), "%" PRId64, send_attempt);
    return db_exec_cmd(db, &st, params);
}

enum db_status
db_session_get(struct db *db, const char *sid, struct db_session *out)
{
    static struct db_stmt st =
        DB_STMT("db_session_get",
                "SELECT " SESSION_COLUMNS " FROM glia.validation_sessions "
                "WHERE sid = $1",
                1);
    const char *params[] = {sid};
    enum db_status qs;
    PGresult *res = db_exec(db, &st, params, &qs);

    memset(out, 0, sizeof(*out));
    if (res == NULL)
        return qs;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return DB_NO_RESULTS;
    }
    read_session(res, out);
    PQclear(res);
    return DB_ONE_RESULT;
}

enum db_status
db_session_reserve_attempt(struct db *db, const char *sid, int max_attempts)
{
    static struct db_stmt st =
        DB_STMT("db_session_reserve_attempt",
                "UPDATE glia.validation_sessions "
                "SET failed_attempts = failed_attempts + 1 "
                "WHERE sid = $1 AND failed_attempts < $2",
                2);
    char max[16];
    const char *params[] = {sid, max};

    snprintf(max, sizeof(max), "%d", max_attempts);
    return db_exec_cmd(db, &st, params);
}

enum db_status
db_session_validate(struct db *db, const char *sid, int64_t now_ms)
{
    static struct db_stmt st =
        DB_STMT("db_session_validate",
                "UPDATE glia.validation_sessions SET "
                "failed_attempts = GREATEST(failed_attempts - 1, 0), "
                "modified_ts = CASE WHEN validated_ts IS NULL THEN $2 "
                "ELSE modified_ts END, "
                "validated_ts = COALESCE(validated_ts, $2) WHERE sid = $1",
                2);
    char now[32];
    const char *params[] = {sid, now};

    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    return db_exec_cmd(db, &st, params);
}

enum db_status
db_session_purge(struct db *db, int64_t cutoff_ms)
{
    static struct db_stmt st = DB_STMT(
        "db_session_purge",
        "DELETE FROM glia.validation_sessions WHERE modified_ts < $1", 1);
    char cutoff[32];
    const char *params[] = {cutoff};

    snprintf(cutoff, sizeof(cutoff), "%" PRId64, cutoff_ms);
    return db_exec_cmd(db, &st, params);
}
