/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * glia.invites and glia.onbind_outbox: third-party invites from
 * store-invite, and the durable queue of onbind notifications that carry
 * them to the bound user's homeserver (handed over by db_assoc_bind() in
 * pg_lookup.c, delivered by src/invites/onbind.c).
 */
#include "db/db_internal.h"
#include "util/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

enum db_status
db_invite_store(struct db *db, const struct db_invite *inv)
{
    static struct db_stmt st =
        DB_STMT("db_invite_store",
                "INSERT INTO glia.invites (medium, address, room_id, sender, "
                "token, ephemeral_public_key, created_ts, expires_ts) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                8);
    char created[32];
    char expires[32];
    const char *params[] = {inv->medium,  inv->address,
                            inv->room_id, inv->sender,
                            inv->token,   inv->ephemeral_public_key,
                            created,      expires};

    snprintf(created, sizeof(created), "%" PRId64, inv->created_ts);
    snprintf(expires, sizeof(expires), "%" PRId64, inv->expires_ts);
    return db_exec_cmd(db, &st, params);
}

enum db_status
db_invite_delete(struct db *db, const char *token)
{
    static struct db_stmt st = DB_STMT(
        "db_invite_delete", "DELETE FROM glia.invites WHERE token = $1", 1);
    const char *params[] = {token};

    return db_exec_cmd(db, &st, params);
}

enum db_status
db_invite_by_token(struct db *db,
                   const char *token,
                   int64_t now_ms,
                   char **sender,
                   char **ephemeral_public_key)
{
    static struct db_stmt st =
        DB_STMT("db_invite_by_token",
                "SELECT sender, ephemeral_public_key FROM glia.invites "
                "WHERE token = $1 AND expires_ts > $2",
                2);
    char now[32];
    const char *params[] = {token, now};
    enum db_status qs;
    PGresult *res;

    *sender = NULL;
    *ephemeral_public_key = NULL;
    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    res = db_exec(db, &st, params, &qs);
    if (res == NULL)
        return qs;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return DB_NO_RESULTS;
    }
    *sender = xstrdup(PQgetvalue(res, 0, 0));
    *ephemeral_public_key = xstrdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    return DB_ONE_RESULT;
}

enum db_status
db_ephemeral_key_valid(struct db *db, const char *public_key, int64_t now_ms)
{
    static struct db_stmt st =
        DB_STMT("db_ephemeral_key_valid",
                "SELECT 1 FROM glia.invites WHERE ephemeral_public_key = $1 "
                "AND expires_ts > $2 LIMIT 1",
                2);
    char now[32];
    const char *params[] = {public_key, now};
    enum db_status qs;
    PGresult *res;
    int n;

    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    res = db_exec(db, &st, params, &qs);
    if (res == NULL)
        return qs;
    n = PQntuples(res);
    PQclear(res);
    return n > 0 ? DB_ONE_RESULT : DB_NO_RESULTS;
}

enum db_status
db_invites_purge(struct db *db, int64_t now_ms)
{
    /* Invites riding an outbox entry stay until it is delivered or given
     * up, even past their expiry: the homeserver may still need them. */
    static struct db_stmt st =
        DB_STMT("db_invites_purge",
                "DELETE FROM glia.invites WHERE expires_ts <= $1 "
                "AND onbind_id IS NULL",
                1);
    char now[32];
    const char *params[] = {now};

    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    return db_exec_cmd(db, &st, params);
}

void
db_onbind_clear(struct db_onbind *o)
{
    free(o->mxid);
    free(o->homeserver);
    free(o->assoc_json);
    o->mxid = o->homeserver = o->assoc_json = NULL;
}

enum db_status
db_onbind_claim(struct db *db,
                int64_t now_ms,
                int64_t lease_ms,
                struct db_onbind *out,
                int max)
{
    static struct db_stmt st = DB_STMT(
        "db_onbind_claim",
        "UPDATE glia.onbind_outbox SET next_attempt_ts = $2, "
        "attempts = attempts + 1 WHERE id IN (SELECT id FROM "
        "glia.onbind_outbox WHERE next_attempt_ts <= $1 "
        "ORDER BY next_attempt_ts LIMIT $3 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, mxid, homeserver, assoc_json, created_ts, attempts",
        3);
    char now[32];
    char lease[32];
    char lim[16];
    const char *params[] = {now, lease, lim};
    enum db_status qs;
    PGresult *res;
    int n;

    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    snprintf(lease, sizeof(lease), "%" PRId64, now_ms + lease_ms);
    snprintf(lim, sizeof(lim), "%d", max);
    res = db_exec(db, &st, params, &qs);
    if (res == NULL)
        return qs;
    n = PQntuples(res);
    for (int i = 0; i < n && i < max; i++) {
        out[i].id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        out[i].mxid = xstrdup(PQgetvalue(res, i, 1));
        out[i].homeserver = xstrdup(PQgetvalue(res, i, 2));
        out[i].assoc_json = xstrdup(PQgetvalue(res, i, 3));
        out[i].created_ts = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        out[i].attempts = atoi(PQgetvalue(res, i, 5));
    }
    PQclear(res);
    return (enum db_status)n;
}

enum db_status
db_onbind_invites(struct db *db,
                  int64_t onbind_id,
                  db_onbind_invite_cb cb,
                  void *cls)
{
    static struct db_stmt st =
        DB_STMT("db_onbind_invites",
                "SELECT medium, address, room_id, sender, token FROM "
                "glia.invites WHERE onbind_id = $1 ORDER BY id",
                1);
    char id[32];
    const char *params[] = {id};
    enum db_status qs;
    PGresult *res;
    int n;

    snprintf(id, sizeof(id), "%" PRId64, onbind_id);
    res = db_exec(db, &st, params, &qs);
    if (res == NULL)
        return qs;
    n = PQntuples(res);
    for (int i = 0; i < n; i++)
        cb(cls, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
           PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
    PQclear(res);
    return (enum db_status)n;
}

struct done_ctx {
    char id[32];
    char now[32];
};

static enum db_status
done_tx(struct db *db, void *cls)
{
    static struct db_stmt mark =
        DB_STMT("db_onbind_done_mark",
                "UPDATE glia.invites SET delivered_ts = $2 "
                "WHERE onbind_id = $1",
                2);
    static struct db_stmt del =
        DB_STMT("db_onbind_done_delete",
                "DELETE FROM glia.onbind_outbox WHERE id = $1", 1);
    struct done_ctx *ctx = cls;
    const char *p2[] = {ctx->id, ctx->now};
    const char *p1[] = {ctx->id};
    enum db_status qs = db_exec_cmd(db, &mark, p2);

    if (qs < 0)
        return qs;
    return db_exec_cmd(db, &del, p1);
}

enum db_status
db_onbind_done(struct db *db, int64_t onbind_id, int64_t now_ms)
{
    struct done_ctx ctx;

    snprintf(ctx.id, sizeof(ctx.id), "%" PRId64, onbind_id);
    snprintf(ctx.now, sizeof(ctx.now), "%" PRId64, now_ms);
    return db_run_tx(db, "onbind_done", done_tx, &ctx);
}

enum db_status
db_onbind_retry(struct db *db,
                int64_t onbind_id,
                int64_t next_ms,
                const char *why)
{
    static struct db_stmt st =
        DB_STMT("db_onbind_retry",
                "UPDATE glia.onbind_outbox SET next_attempt_ts = $2, "
                "last_error = $3 WHERE id = $1",
                3);
    char id[32];
    char next[32];
    const char *params[] = {id, next, why};

    snprintf(id, sizeof(id), "%" PRId64, onbind_id);
    snprintf(next, sizeof(next), "%" PRId64, next_ms);
    return db_exec_cmd(db, &st, params);
}

enum db_status
db_onbind_drop(struct db *db, int64_t onbind_id)
{
    static struct db_stmt st = DB_STMT(
        "db_onbind_drop", "DELETE FROM glia.onbind_outbox WHERE id = $1", 1);
    char id[32];
    const char *params[] = {id};

    snprintf(id, sizeof(id), "%" PRId64, onbind_id);
    return db_exec_cmd(db, &st, params);
}
