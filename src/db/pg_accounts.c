/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* glia.accounts and glia.account_tokens: who a token acts for. */
#include "db/db_internal.h"
#include "util/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct register_ctx {
    const char *user_id;
    const char *token_hash;
    char now[32];
};

static enum db_status
register_tx(struct db *db, void *cls)
{
    static struct db_stmt acct = DB_STMT(
        "db_account_register_account",
        "INSERT INTO glia.accounts (user_id, created_ts) VALUES ($1, $2) "
        "ON CONFLICT (user_id) DO NOTHING",
        2);
    static struct db_stmt tok = DB_STMT(
        "db_account_register_token",
        "INSERT INTO glia.account_tokens (token_hash, user_id, created_ts) "
        "VALUES ($1, $2, $3)",
        3);
    struct register_ctx *ctx = cls;
    const char *p1[] = {ctx->user_id, ctx->now};
    const char *p2[] = {ctx->token_hash, ctx->user_id, ctx->now};
    enum db_status qs = db_exec_cmd(db, &acct, p1);

    if (qs < 0)
        return qs;
    qs = db_exec_cmd(db, &tok, p2);
    return qs < 0 ? qs : DB_ONE_RESULT;
}

enum db_status
db_account_register(struct db *db,
                    const char *user_id,
                    const char *token_hash,
                    int64_t now_ms)
{
    struct register_ctx ctx = {user_id, token_hash, ""};

    snprintf(ctx.now, sizeof(ctx.now), "%" PRId64, now_ms);
    return db_run_tx(db, "account_register", register_tx, &ctx);
}

enum db_status
db_account_by_token(struct db *db,
                    const char *token_hash,
                    char **user_id,
                    char **consent)
{
    static struct db_stmt st = DB_STMT(
        "db_account_by_token",
        "SELECT a.user_id, a.consent FROM glia.account_tokens t "
        "JOIN glia.accounts a ON a.user_id = t.user_id WHERE t.token_hash = $1",
        1);
    const char *params[] = {token_hash};
    enum db_status qs;
    PGresult *res = db_exec(db, &st, params, &qs);

    *user_id = NULL;
    *consent = NULL;
    if (res == NULL)
        return qs;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return DB_NO_RESULTS;
    }
    *user_id = xstrdup(PQgetvalue(res, 0, 0));
    if (!PQgetisnull(res, 0, 1))
        *consent = xstrdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    return DB_ONE_RESULT;
}

enum db_status
db_token_delete(struct db *db, const char *token_hash)
{
    static struct db_stmt st =
        DB_STMT("db_token_delete",
                "DELETE FROM glia.account_tokens WHERE token_hash = $1", 1);
    const char *params[] = {token_hash};

    return db_exec_cmd(db, &st, params);
}

enum db_status
db_account_set_consent(struct db *db, const char *user_id, const char *consent)
{
    static struct db_stmt st =
        DB_STMT("db_account_set_consent",
                "UPDATE glia.accounts SET consent = $2 WHERE user_id = $1", 2);
    const char *params[] = {user_id, consent};

    return db_exec_cmd(db, &st, params);
}
