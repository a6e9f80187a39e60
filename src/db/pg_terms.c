/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* glia.accepted_terms: which policy versions each user accepted. */
#include "db/db_internal.h"

#include <inttypes.h>
#include <stdio.h>

struct accept_ctx {
    const char *user_id;
    const struct db_terms_acceptance *acc;
    size_t n;
    char now[32];
};

static enum db_status
accept_tx(struct db *db, void *cls)
{
    static struct db_stmt ins =
        DB_STMT("db_terms_accept_insert",
                "INSERT INTO glia.accepted_terms "
                "(user_id, policy, version, url, accepted_ts) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                5);
    struct accept_ctx *ctx = cls;

    for (size_t i = 0; i < ctx->n; i++) {
        const char *params[] = {ctx->user_id, ctx->acc[i].policy,
                                ctx->acc[i].version, ctx->acc[i].url, ctx->now};
        enum db_status qs = db_exec_cmd(db, &ins, params);

        if (qs < 0)
            return qs;
    }
    return DB_ONE_RESULT;
}

enum db_status
db_terms_accept(struct db *db,
                const char *user_id,
                const struct db_terms_acceptance *acc,
                size_t n,
                int64_t now_ms)
{
    struct accept_ctx ctx = {user_id, acc, n, ""};

    snprintf(ctx.now, sizeof(ctx.now), "%" PRId64, now_ms);
    return db_run_tx(db, "terms_accept", accept_tx, &ctx);
}

enum db_status
db_terms_accepted(struct db *db, const char *user_id, db_terms_cb cb, void *cls)
{
    static struct db_stmt st =
        DB_STMT("db_terms_accepted",
                "SELECT DISTINCT policy, version FROM glia.accepted_terms "
                "WHERE user_id = $1",
                1);
    const char *params[] = {user_id};
    enum db_status qs;
    PGresult *res = db_exec(db, &st, params, &qs);
    int n;

    if (res == NULL)
        return qs;
    n = PQntuples(res);
    for (int i = 0; i < n; i++)
        cb(cls, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    return (enum db_status)n;
}
