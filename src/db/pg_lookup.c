/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * glia.associations and glia.lookup_pepper: the hot path of an identity
 * server. A lookup of any number of hashes is one statement on the indexed
 * lookup_hash column (= ANY($n)), never a query per address.
 */
#include "db/db_internal.h"
#include "util/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

enum db_status
db_pepper_get(struct db *db, const char *candidate, char **pepper)
{
    static struct db_stmt ins =
        DB_STMT("db_pepper_get_insert",
                "INSERT INTO glia.lookup_pepper (pepper, created_ts) "
                "VALUES ($1, (extract(epoch FROM now()) * 1000)::bigint) "
                "ON CONFLICT (singleton) DO NOTHING",
                1);
    static struct db_stmt sel =
        DB_STMT("db_pepper_get_select",
                "SELECT pepper FROM glia.lookup_pepper WHERE singleton", 0);
    enum db_status qs;
    PGresult *res;

    *pepper = NULL;
    if (candidate != NULL) {
        const char *params[] = {candidate};

        qs = db_exec_cmd(db, &ins, params);
        if (qs < 0)
            return qs;
    }
    res = db_exec(db, &sel, NULL, &qs);
    if (res == NULL)
        return qs;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return DB_NO_RESULTS;
    }
    *pepper = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return DB_ONE_RESULT;
}

struct rotate_ctx {
    const char *pepper;
    char now[32];
};

static enum db_status
rotate_tx(struct db *db, void *cls)
{
    static struct db_stmt pep = DB_STMT(
        "db_pepper_rotate_pepper",
        "INSERT INTO glia.lookup_pepper (pepper, created_ts) VALUES ($1, $2) "
        "ON CONFLICT (singleton) DO UPDATE SET pepper = EXCLUDED.pepper, "
        "created_ts = EXCLUDED.created_ts",
        2);
    static struct db_stmt rehash =
        DB_STMT("db_pepper_rotate_rehash",
                "UPDATE glia.associations "
                "SET lookup_hash = glia.lookup_hash(address, medium, $1)",
                1);
    struct rotate_ctx *ctx = cls;
    const char *p2[] = {ctx->pepper, ctx->now};
    const char *p1[] = {ctx->pepper};
    enum db_status qs = db_exec_cmd(db, &pep, p2);

    if (qs < 0)
        return qs;
    return db_exec_cmd(db, &rehash, p1);
}

enum db_status
db_pepper_rotate(struct db *db, const char *pepper, int64_t now_ms)
{
    struct rotate_ctx ctx = {pepper, ""};

    snprintf(ctx.now, sizeof(ctx.now), "%" PRId64, now_ms);
    return db_run_tx(db, "pepper_rotate", rotate_tx, &ctx);
}

enum db_status
db_assoc_insert(struct db *db, const struct db_assoc *a)
{
    static struct db_stmt st =
        DB_STMT("db_assoc_insert",
                "INSERT INTO glia.associations (medium, address, mxid, ts, "
                "not_before, not_after, origin_server, origin_id, signed_json, "
                "lookup_hash) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, "
                "glia.lookup_hash($2, $1, p.pepper) FROM glia.lookup_pepper p",
                9);
    char ts[32];
    char nb[32];
    char na[32];
    char oid[32];
    const char *params[] = {
        a->medium,        a->address, a->mxid,       ts, nb, na,
        a->origin_server, oid,        a->signed_json};

    snprintf(ts, sizeof(ts), "%" PRId64, a->ts);
    snprintf(nb, sizeof(nb), "%" PRId64, a->not_before);
    snprintf(na, sizeof(na), "%" PRId64, a->not_after);
    snprintf(oid, sizeof(oid), "%" PRId64, a->origin_id);
    return db_exec_cmd(db, &st, params);
}

/*
 * Local binds and unbinds take change ids from one sequence, and a peer's
 * pusher sends them in id order and remembers the highest it sent. With
 * concurrent transactions, a smaller id could commit after a larger one
 * was pushed, and be skipped for ever. This transaction-scoped lock makes
 * changes commit in id order (they are short and rare next to lookups).
 */
#define DB_CHANGES_LOCK "7105610001"

static enum db_status
lock_changes(struct db *db)
{
    static struct db_stmt st =
        DB_STMT("db_lock_changes",
                "SELECT pg_advisory_xact_lock(" DB_CHANGES_LOCK ")", 0);
    enum db_status qs;
    PGresult *res = db_exec(db, &st, NULL, &qs);

    if (res == NULL)
        return qs;
    PQclear(res);
    return DB_ONE_RESULT;
}

struct bind_ctx {
    const struct db_assoc *a;
    int64_t *origin_id;
    int invites;
};

static enum db_status
bind_tx(struct db *db, void *cls)
{
    static struct db_stmt del =
        DB_STMT("db_assoc_bind_delete",
                "DELETE FROM glia.associations WHERE origin_server = $1 "
                "AND medium = $2 AND address = $3",
                3);
    /* The row id doubles as the origin id: unique here, and increasing, so
     * peers can replicate in order. */
    static struct db_stmt ins = DB_STMT(
        "db_assoc_bind_insert",
        "WITH n AS (SELECT nextval(pg_get_serial_sequence("
        "'glia.associations', 'id')) AS id) "
        "INSERT INTO glia.associations (id, medium, address, mxid, ts, "
        "not_before, not_after, origin_server, origin_id, signed_json, "
        "lookup_hash) SELECT n.id, $1, $2, $3, $4, $5, $6, $7, n.id, $8, "
        "glia.lookup_hash($2, $1, p.pepper) FROM n, glia.lookup_pepper p "
        "RETURNING origin_id",
        8);
    struct bind_ctx *ctx = cls;
    const struct db_assoc *a = ctx->a;
    const char *dp[] = {a->origin_server, a->medium, a->address};
    char ts[32];
    char nb[32];
    char na[32];
    const char *ip[] = {a->medium, a->address,       a->mxid,       ts, nb,
                        na,        a->origin_server, a->signed_json};
    enum db_status qs = lock_changes(db);
    PGresult *res;

    if (qs < 0)
        return qs;
    qs = db_exec_cmd(db, &del, dp);
    if (qs < 0)
        return qs;
    snprintf(ts, sizeof(ts), "%" PRId64, a->ts);
    snprintf(nb, sizeof(nb), "%" PRId64, a->not_before);
    snprintf(na, sizeof(na), "%" PRId64, a->not_after);
    res = db_exec(db, &ins, ip, &qs);
    if (res == NULL)
        return qs;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return DB_HARD_ERROR; /* no pepper row: cannot happen after start */
    }
    *ctx->origin_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    ctx->invites = 0;
    if (a->homeserver != NULL) {
        /* Pending invites of the address go to one new outbox entry, in
         * this transaction: no entry without invites, no invites lost. */
        static struct db_stmt onbind = DB_STMT(
            "db_assoc_bind_onbind",
            "WITH pending AS (SELECT id FROM glia.invites WHERE medium = $1 "
            "AND address = $2 AND onbind_id IS NULL AND delivered_ts IS NULL "
            "AND expires_ts > $4 FOR UPDATE), "
            "o AS (INSERT INTO glia.onbind_outbox (mxid, homeserver, "
            "assoc_json, created_ts, next_attempt_ts) SELECT $3, $5, $6, $4, "
            "$4 WHERE EXISTS (SELECT 1 FROM pending) RETURNING id) "
            "UPDATE glia.invites i SET onbind_id = o.id FROM o "
            "WHERE i.id IN (SELECT id FROM pending)",
            6);
        const char *op[] = {a->medium, a->address,    a->mxid,
                            ts,        a->homeserver, a->signed_json};

        qs = db_exec_cmd(db, &onbind, op);
        if (qs < 0)
            return qs;
        ctx->invites = (int)qs;
    }
    return DB_ONE_RESULT;
}

enum db_status
db_assoc_bind(struct db *db,
              const struct db_assoc *a,
              int64_t *origin_id,
              int *invites)
{
    struct bind_ctx ctx = {a, origin_id, 0};
    enum db_status qs = db_run_tx(db, "assoc_bind", bind_tx, &ctx);

    if (invites != NULL)
        *invites = qs < 0 ? 0 : ctx.invites;
    return qs;
}

enum db_status
db_assoc_find(struct db *db,
              const char *medium,
              const char *address,
              int64_t now_ms,
              char **mxid)
{
    static struct db_stmt st =
        DB_STMT("db_assoc_find",
                "SELECT mxid FROM glia.associations WHERE medium = $1 "
                "AND address = $2 AND not_before <= $3 AND not_after > $3 "
                "ORDER BY ts DESC, id DESC LIMIT 1",
                3);
    char now[32];
    const char *params[] = {medium, address, now};
    enum db_status qs;
    PGresult *res;

    *mxid = NULL;
    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    res = db_exec(db, &st, params, &qs);
    if (res == NULL)
        return qs;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return DB_NO_RESULTS;
    }
    *mxid = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return DB_ONE_RESULT;
}

static enum db_status
unbind_tx(struct db *db, void *cls)
{
    static struct db_stmt del =
        DB_STMT("db_assoc_unbind_delete",
                "DELETE FROM glia.associations WHERE medium = $1 "
                "AND address = $2 AND mxid = $3",
                3);
    static struct db_stmt ins =
        DB_STMT("db_assoc_unbind_tombstone",
                "INSERT INTO glia.unbinds (medium, address, mxid, ts, "
                "signed_json) VALUES ($1, $2, $3, $4, $5)",
                5);
    const struct db_unbind *u = cls;
    const char *dp[] = {u->medium, u->address, u->mxid};
    char ts[32];
    const char *ip[] = {u->medium, u->address, u->mxid, ts, u->signed_json};
    enum db_status qs = lock_changes(db);
    enum db_status removed;

    if (qs < 0)
        return qs;
    removed = db_exec_cmd(db, &del, dp);
    if (removed <= 0)
        return removed;
    snprintf(ts, sizeof(ts), "%" PRId64, u->ts);
    qs = db_exec_cmd(db, &ins, ip);
    return qs < 0 ? qs : removed;
}

enum db_status
db_assoc_unbind(struct db *db, const struct db_unbind *u)
{
    struct db_unbind copy = *u; /* db_run_tx() passes a mutable cls */

    return db_run_tx(db, "assoc_unbind", unbind_tx, &copy);
}

enum db_status
db_lookup_hashes(struct db *db,
                 const char *pepper,
                 const char *hashes,
                 int64_t now_ms,
                 db_lookup_cb cb,
                 void *cls,
                 char **current)
{
    /* The pepper row always comes back (LEFT JOIN), so one statement says
     * both "wrong pepper" and what matched. */
    static struct db_stmt st = DB_STMT(
        "db_lookup_hashes",
        "SELECT p.pepper, a.lookup_hash, a.mxid FROM glia.lookup_pepper p "
        "LEFT JOIN LATERAL (SELECT DISTINCT ON (lookup_hash) lookup_hash, "
        "mxid FROM glia.associations WHERE p.pepper = $1 "
        "AND lookup_hash = ANY($2::text[]) AND not_before <= $3 "
        "AND not_after > $3 ORDER BY lookup_hash, ts DESC, id DESC) a ON true",
        3);
    char now[32];
    const char *params[] = {pepper, hashes, now};
    enum db_status qs;
    PGresult *res;
    int n;
    int found = 0;

    *current = NULL;
    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    res = db_exec(db, &st, params, &qs);
    if (res == NULL)
        return qs;
    n = PQntuples(res);
    if (n > 0)
        *current = xstrdup(PQgetvalue(res, 0, 0));
    for (int i = 0; i < n; i++) {
        if (PQgetisnull(res, i, 1))
            continue;
        cb(cls, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
        found++;
    }
    PQclear(res);
    return (enum db_status)found;
}

enum db_status
db_lookup_addresses(struct db *db,
                    const char *media,
                    const char *addresses,
                    int64_t now_ms,
                    db_address_cb cb,
                    void *cls)
{
    static struct db_stmt st =
        DB_STMT("db_lookup_addresses",
                "SELECT DISTINCT ON (a.medium, a.address) a.medium, a.address, "
                "a.mxid, a.signed_json FROM glia.associations a "
                "JOIN unnest($1::text[], $2::text[]) AS q(medium, address) "
                "ON a.medium = q.medium AND a.address = q.address "
                "WHERE a.not_before <= $3 AND a.not_after > $3 "
                "ORDER BY a.medium, a.address, a.ts DESC, a.id DESC",
                3);
    char now[32];
    const char *params[] = {media, addresses, now};
    enum db_status qs;
    PGresult *res;
    int n;

    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    res = db_exec(db, &st, params, &qs);
    if (res == NULL)
        return qs;
    n = PQntuples(res);
    for (int i = 0; i < n; i++)
        cb(cls, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
           PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
    PQclear(res);
    return (enum db_status)n;
}
