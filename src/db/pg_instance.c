/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* glia.instance: which identity server a database belongs to; and db_ping. */
#include "db/db_internal.h"
#include "util/mem.h"
#include "util/time.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

enum db_status
db_ping(struct db *db)
{
    static struct db_stmt st = DB_STMT("db_ping", "SELECT 1", 0);
    enum db_status qs;
    PGresult *res = db_exec(db, &st, NULL, &qs);

    if (res == NULL)
        return qs;
    PQclear(res);
    return DB_ONE_RESULT;
}

struct claim_ctx {
    const char *server_name;
    char *stored;
};

/* Insert-if-absent, then read back whatever is there. */
static enum db_status
claim_tx(struct db *db, void *cls)
{
    static struct db_stmt ins = DB_STMT(
        "db_instance_claim_insert",
        "INSERT INTO glia.instance (server_name, created_ts) VALUES ($1, $2) "
        "ON CONFLICT (singleton) DO NOTHING",
        2);
    static struct db_stmt sel =
        DB_STMT("db_instance_claim_select",
                "SELECT server_name FROM glia.instance WHERE singleton", 0);
    struct claim_ctx *ctx = cls;
    char now[32];
    const char *params[2];
    enum db_status qs;
    PGresult *res;

    snprintf(now, sizeof(now), "%" PRId64, time_now_ms());
    params[0] = ctx->server_name;
    params[1] = now;
    qs = db_exec_cmd(db, &ins, params);
    if (qs < 0)
        return qs;
    res = db_exec(db, &sel, NULL, &qs);
    if (res == NULL)
        return qs;
    free(ctx->stored);
    ctx->stored = PQntuples(res) == 1 ? xstrdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    return ctx->stored != NULL ? DB_ONE_RESULT : DB_NO_RESULTS;
}

enum db_status
db_instance_claim(struct db *db, const char *server_name, char **stored)
{
    struct claim_ctx ctx = {server_name, NULL};
    enum db_status qs = db_run_tx(db, "instance_claim", claim_tx, &ctx);

    *stored = NULL;
    if (qs < 0) {
        free(ctx.stored);
        return qs;
    }
    if (ctx.stored == NULL)
        return DB_HARD_ERROR; /* the row we just inserted vanished */
    if (strcmp(ctx.stored, server_name) == 0) {
        free(ctx.stored);
        return DB_ONE_RESULT;
    }
    *stored = ctx.stored;
    return DB_NO_RESULTS;
}
