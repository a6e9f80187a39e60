/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Replication storage: the outbound change stream (this server's
 * associations and unbinds, by change id), per-peer progress, refused
 * changes, inbound pushes, and the advisory lock that elects one pusher per
 * cluster.
 */
#include "db/db_internal.h"
#include "util/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Session advisory lock key of the cluster's pusher. */
#define DB_PUSHER_LOCK "7105610002"

enum db_status
db_changes_after(struct db *db,
                 const char *self,
                 const char *peer,
                 int64_t after_id,
                 int limit,
                 db_change_cb cb,
                 void *cls)
{
    static struct db_stmt st = DB_STMT(
        "db_changes_after",
        "SELECT c.id, c.signed_json FROM ("
        "SELECT origin_id AS id, signed_json FROM glia.associations "
        "WHERE origin_server = $1 AND origin_id > $3 "
        "UNION ALL SELECT id, signed_json FROM glia.unbinds WHERE id > $3) c "
        "WHERE NOT EXISTS (SELECT 1 FROM glia.replication_refused r "
        "WHERE r.peer = $2 AND r.change_id = c.id) "
        "ORDER BY c.id LIMIT $4",
        4);
    char after[32];
    char lim[16];
    const char *params[] = {self, peer, after, lim};
    enum db_status qs;
    PGresult *res;
    int n;

    snprintf(after, sizeof(after), "%" PRId64, after_id);
    snprintf(lim, sizeof(lim), "%d", limit);
    res = db_exec(db, &st, params, &qs);
    if (res == NULL)
        return qs;
    n = PQntuples(res);
    for (int i = 0; i < n; i++)
        cb(cls, strtoll(PQgetvalue(res, i, 0), NULL, 10),
           PQgetvalue(res, i, 1));
    PQclear(res);
    return (enum db_status)n;
}

static void
read_state(PGresult *res, struct db_peer_state *out)
{
    memset(out, 0, sizeof(*out));
    out->last_sent_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->last_success_ts =
        PQgetisnull(res, 0, 1) ? 0 : strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->next_attempt_ts = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->failures = atoi(PQgetvalue(res, 0, 3));
    if (!PQgetisnull(res, 0, 4))
        snprintf(out->last_error, sizeof(out->last_error), "%s",
                 PQgetvalue(res, 0, 4));
}

enum db_status
db_peer_state(struct db *db, const char *peer, struct db_peer_state *out)
{
    static struct db_stmt ins =
        DB_STMT("db_peer_state_insert",
                "INSERT INTO glia.replication_peers (name) VALUES ($1) "
                "ON CONFLICT (name) DO NOTHING",
                1);
    static struct db_stmt sel = DB_STMT(
        "db_peer_state_select",
        "SELECT last_sent_id, last_success_ts, next_attempt_ts, failures, "
        "last_error FROM glia.replication_peers WHERE name = $1",
        1);
    const char *params[] = {peer};
    enum db_status qs = db_exec_cmd(db, &ins, params);
    PGresult *res;

    if (qs < 0)
        return qs;
    res = db_exec(db, &sel, params, &qs);
    if (res == NULL)
        return qs;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return DB_NO_RESULTS;
    }
    read_state(res, out);
    PQclear(res);
    return DB_ONE_RESULT;
}

enum db_status
db_peer_advanced(struct db *db,
                 const char *peer,
                 int64_t last_id,
                 int64_t now_ms)
{
    static struct db_stmt st =
        DB_STMT("db_peer_advanced",
                "UPDATE glia.replication_peers SET last_sent_id = "
                "GREATEST(last_sent_id, $2), last_success_ts = $3, "
                "last_attempt_ts = $3, failures = 0, next_attempt_ts = 0, "
                "last_error = NULL WHERE name = $1",
                3);
    char id[32];
    char now[32];
    const char *params[] = {peer, id, now};

    snprintf(id, sizeof(id), "%" PRId64, last_id);
    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    return db_exec_cmd(db, &st, params);
}

enum db_status
db_peer_failed(struct db *db,
               const char *peer,
               int64_t now_ms,
               int64_t next_ms,
               const char *why)
{
    static struct db_stmt st =
        DB_STMT("db_peer_failed",
                "UPDATE glia.replication_peers SET last_attempt_ts = $2, "
                "failures = failures + 1, next_attempt_ts = $3, "
                "last_error = $4 WHERE name = $1",
                4);
    char now[32];
    char next[32];
    const char *params[] = {peer, now, next, why};

    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    snprintf(next, sizeof(next), "%" PRId64, next_ms);
    return db_exec_cmd(db, &st, params);
}

enum db_status
db_peer_refused(struct db *db,
                const char *peer,
                int64_t change_id,
                const char *why,
                int64_t now_ms)
{
    static struct db_stmt st =
        DB_STMT("db_peer_refused",
                "INSERT INTO glia.replication_refused (peer, change_id, "
                "error, ts) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                4);
    char id[32];
    char now[32];
    const char *params[] = {peer, id, why, now};

    snprintf(id, sizeof(id), "%" PRId64, change_id);
    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    return db_exec_cmd(db, &st, params);
}

struct retry_ctx {
    const char *peer;
};

static enum db_status
retry_tx(struct db *db, void *cls)
{
    static struct db_stmt rewind = DB_STMT(
        "db_peer_retry_rewind",
        "UPDATE glia.replication_peers SET last_sent_id = LEAST(last_sent_id, "
        "(SELECT min(change_id) - 1 FROM glia.replication_refused WHERE "
        "peer = $1)), next_attempt_ts = 0, failures = 0 WHERE name = $1 AND "
        "EXISTS (SELECT 1 FROM glia.replication_refused WHERE peer = $1)",
        1);
    static struct db_stmt forget =
        DB_STMT("db_peer_retry_forget",
                "DELETE FROM glia.replication_refused WHERE peer = $1", 1);
    struct retry_ctx *ctx = cls;
    const char *params[] = {ctx->peer};
    enum db_status qs = db_exec_cmd(db, &rewind, params);

    if (qs < 0)
        return qs;
    return db_exec_cmd(db, &forget, params);
}

enum db_status
db_peer_retry(struct db *db, const char *peer)
{
    struct retry_ctx ctx = {peer};

    return db_run_tx(db, "peer_retry", retry_tx, &ctx);
}

enum db_status
db_peer_report(struct db *db,
               const char *self,
               const char *peer,
               struct db_peer_state *out)
{
    static struct db_stmt st = DB_STMT(
        "db_peer_report",
        "WITH p AS (SELECT coalesce((SELECT last_sent_id FROM "
        "glia.replication_peers WHERE name = $2), 0) AS last), "
        "c AS (SELECT origin_id AS id, ts FROM glia.associations, p "
        "WHERE origin_server = $1 AND origin_id > p.last "
        "UNION ALL SELECT id, ts FROM glia.unbinds, p WHERE id > p.last) "
        "SELECT (SELECT count(*) FROM c), (SELECT coalesce(min(ts), 0) FROM "
        "c), (SELECT count(*) FROM glia.replication_refused WHERE peer = $2)",
        2);
    const char *params[] = {self, peer};
    enum db_status qs = db_peer_state(db, peer, out);
    PGresult *res;

    if (qs < 0)
        return qs;
    res = db_exec(db, &st, params, &qs);
    if (res == NULL)
        return qs;
    out->pending = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->oldest_pending_ts = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->refused = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    PQclear(res);
    return DB_ONE_RESULT;
}

struct apply_ctx {
    const char *origin;
    const struct db_replicated *e;
    size_t n;
};

static enum db_status
apply_one(struct db *db, const char *origin, const struct db_replicated *e)
{
    /* A binding: not if an unbind of the address is at least as new. */
    static struct db_stmt drop_older =
        DB_STMT("db_replicate_drop_older",
                "DELETE FROM glia.associations WHERE origin_server = $1 "
                "AND medium = $2 AND address = $3 AND ts < $4 AND NOT EXISTS ("
                "SELECT 1 FROM glia.peer_tombstones t WHERE t.medium = $2 "
                "AND t.address = $3 AND t.ts >= $4 UNION ALL SELECT 1 FROM "
                "glia.unbinds u WHERE u.medium = $2 AND u.address = $3 "
                "AND u.ts >= $4)",
                4);
    static struct db_stmt ins =
        DB_STMT("db_replicate_insert",
                "INSERT INTO glia.associations (medium, address, mxid, ts, "
                "not_before, not_after, origin_server, origin_id, signed_json, "
                "lookup_hash) SELECT $2, $3, $5, $4, $6, $7, $1, $8, $9, "
                "glia.lookup_hash($3, $2, p.pepper) FROM glia.lookup_pepper p "
                "WHERE NOT EXISTS (SELECT 1 FROM glia.peer_tombstones t "
                "WHERE t.medium = $2 AND t.address = $3 AND t.ts >= $4 "
                "UNION ALL SELECT 1 FROM glia.unbinds u WHERE u.medium = $2 "
                "AND u.address = $3 AND u.ts >= $4) "
                "ON CONFLICT (origin_server, origin_id) DO NOTHING",
                9);
    /* A tombstone: kept, and everything not newer goes. */
    static struct db_stmt tomb = DB_STMT(
        "db_replicate_tombstone",
        "INSERT INTO glia.peer_tombstones (origin_server, origin_id, medium, "
        "address, ts, signed_json) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (origin_server, origin_id) DO NOTHING",
        6);
    static struct db_stmt del = DB_STMT(
        "db_replicate_unbind",
        "DELETE FROM glia.associations WHERE medium = $1 AND address = $2 "
        "AND ts <= $3",
        3);
    char oid[32];
    char ts[32];
    char nb[32];
    char na[32];
    enum db_status qs;

    snprintf(oid, sizeof(oid), "%" PRId64, e->origin_id);
    snprintf(ts, sizeof(ts), "%" PRId64, e->ts);
    snprintf(nb, sizeof(nb), "%" PRId64, e->not_before);
    snprintf(na, sizeof(na), "%" PRId64, e->not_after);
    if (e->mxid == NULL) {
        const char *tp[] = {origin,     oid, e->medium,
                            e->address, ts,  e->signed_json};
        const char *dp[] = {e->medium, e->address, ts};

        qs = db_exec_cmd(db, &tomb, tp);
        if (qs < 0)
            return qs;
        return db_exec_cmd(db, &del, dp);
    }
    {
        const char *dp[] = {origin, e->medium, e->address, ts};
        const char *ip[] = {origin, e->medium, e->address,    ts, e->mxid, nb,
                            na,     oid,       e->signed_json};

        qs = db_exec_cmd(db, &drop_older, dp);
        if (qs < 0)
            return qs;
        return db_exec_cmd(db, &ins, ip);
    }
}

static enum db_status
apply_tx(struct db *db, void *cls)
{
    struct apply_ctx *ctx = cls;

    for (size_t i = 0; i < ctx->n; i++) {
        enum db_status qs = apply_one(db, ctx->origin, &ctx->e[i]);

        if (qs < 0)
            return qs;
    }
    return (enum db_status)ctx->n;
}

enum db_status
db_replicate_apply(struct db *db,
                   const char *origin,
                   const struct db_replicated *entries,
                   size_t n)
{
    struct apply_ctx ctx = {origin, entries, n};

    return db_run_tx(db, "replicate_apply", apply_tx, &ctx);
}

enum db_status
db_pusher_lock(struct db *db)
{
    /* Taking it again while held only stacks it; checking pg_locks first
     * keeps the count at one. */
    static struct db_stmt st = DB_STMT(
        "db_pusher_lock",
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE "
        "locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND "
        "((classid::bigint << 32) | objid::bigint) = " DB_PUSHER_LOCK
        ") THEN true ELSE pg_try_advisory_lock(" DB_PUSHER_LOCK ") END",
        0);
    enum db_status qs;
    PGresult *res = db_exec(db, &st, NULL, &qs);
    bool held;

    if (res == NULL)
        return qs;
    held = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return held ? DB_ONE_RESULT : DB_NO_RESULTS;
}
