/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Connection handling: lazy connect, prepare-once-per-connection, reconnect,
 * SQLSTATE classification and the transaction runner.
 */
#include "db/db_internal.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

/* Upper bound on distinct prepared statements in the program. */
#define DB_MAX_STMTS  256
/* Serialization failures are retried this many times before giving up. */
#define DB_TX_RETRIES 5

struct db {
    char *dsn;
    PGconn *conn;
    unsigned int gen;                    /* bumped on every (re)connect */
    unsigned int prepared[DB_MAX_STMTS]; /* gen a statement was prepared in */
    bool in_tx;
};

static atomic_int next_slot;
static atomic_ulong error_count;

struct db *
db_new(const char *dsn)
{
    struct db *db = xcalloc(1, sizeof(*db));

    db->dsn = xstrdup(dsn);
    return db;
}

/* Forget the connection; the next statement reconnects. */
static void
disconnect(struct db *db)
{
    if (db->conn != NULL)
        PQfinish(db->conn);
    db->conn = NULL;
    db->in_tx = false;
}

void
db_free(struct db *db)
{
    if (db == NULL)
        return;
    disconnect(db);
    free(db->dsn);
    free(db);
}

bool
db_in_tx(const struct db *db)
{
    return db->in_tx;
}

unsigned long
db_error_count(void)
{
    return atomic_load(&error_count);
}

/* libpq prints notices to stderr by default; route them to our log. */
static void
on_notice(void *arg, const char *message)
{
    (void)arg;
    LOG_DEBUG("postgres: %s", message);
}

static int
ensure_connected(struct db *db)
{
    /* Defaults first: keys in the operator's dsn override them. */
    static const char *const keys[] = {"connect_timeout", "application_name",
                                       "dbname", NULL};
    const char *vals[] = {"5", "glia", db->dsn, NULL};

    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    disconnect(db);
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
        /* The message never holds the password. */
        LOG_ERROR("database connection failed: %s",
                  db->conn != NULL ? PQerrorMessage(db->conn) : "no memory");
        atomic_fetch_add(&error_count, 1);
        disconnect(db);
        return -1;
    }
    PQsetNoticeProcessor(db->conn, on_notice, NULL);
    db->gen++;
    return 0;
}

/* Map a failed result to soft (retry the transaction) or hard. */
static enum db_status
classify(const PGresult *res)
{
    const char *state =
        res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (state != NULL &&
        (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
        return DB_SOFT_ERROR;
    return DB_HARD_ERROR;
}

static int
stmt_slot(struct db_stmt *st)
{
    int slot = atomic_load(&st->slot);
    int expected = -1;

    if (slot >= 0)
        return slot;
    slot = atomic_fetch_add(&next_slot, 1);
    ASSERT(slot < DB_MAX_STMTS);
    /* Another thread may have won the race; use its slot. */
    if (!atomic_compare_exchange_strong(&st->slot, &expected, slot))
        slot = expected;
    return slot;
}

/* True when a failure means the server is gone (and not our SQL's fault). */
static bool
connection_lost(const struct db *db)
{
    return db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK;
}

PGresult *
db_exec(struct db *db,
        struct db_stmt *st,
        const char *const *params,
        enum db_status *status)
{
    int slot = stmt_slot(st);

    /*
     * Two attempts: a connection that died while idle (server restart) is
     * only noticed when used. Outside a transaction nothing was done on it,
     * so reconnecting and running the statement again is safe.
     */
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res;
        ExecStatusType rs;

        if (ensure_connected(db) != 0) {
            *status = DB_HARD_ERROR;
            return NULL;
        }
        if (db->prepared[slot] != db->gen) {
            res = PQprepare(db->conn, st->name, st->sql, st->nparams, NULL);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                bool lost = connection_lost(db);

                if (lost && !db->in_tx && attempt == 0) {
                    PQclear(res);
                    disconnect(db);
                    continue;
                }
                LOG_ERROR("db: prepare %s: %s", st->name,
                          PQerrorMessage(db->conn));
                atomic_fetch_add(&error_count, 1);
                *status = classify(res);
                PQclear(res);
                if (lost)
                    disconnect(db);
                return NULL;
            }
            PQclear(res);
            db->prepared[slot] = db->gen;
        }
        res = PQexecPrepared(db->conn, st->name, st->nparams, params, NULL,
                             NULL, 0);
        rs = PQresultStatus(res);
        if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK)
            return res;
        if (connection_lost(db) && !db->in_tx && attempt == 0) {
            PQclear(res);
            disconnect(db);
            continue;
        }
        *status = classify(res);
        if (*status == DB_HARD_ERROR) {
            LOG_ERROR("db: %s: %s", st->name,
                      res != NULL ? PQresultErrorMessage(res)
                                  : PQerrorMessage(db->conn));
            atomic_fetch_add(&error_count, 1);
        }
        PQclear(res);
        if (connection_lost(db))
            disconnect(db);
        return NULL;
    }
    *status = DB_HARD_ERROR;
    return NULL;
}

enum db_status
db_cmd_rows(PGresult *res)
{
    const char *n = PQcmdTuples(res);

    if (n == NULL || n[0] == '\0')
        return DB_NO_RESULTS;
    return (enum db_status)atoi(n);
}

enum db_status
db_exec_cmd(struct db *db, struct db_stmt *st, const char *const *params)
{
    enum db_status qs;
    PGresult *res = db_exec(db, st, params, &qs);

    if (res == NULL)
        return qs;
    qs = db_cmd_rows(res);
    PQclear(res);
    return qs;
}

/* Run a transaction-control command; true on success. */
static bool
tx_command(struct db *db, struct db_stmt *st, enum db_status *status)
{
    PGresult *res = db_exec(db, st, NULL, status);

    if (res == NULL)
        return false;
    PQclear(res);
    return true;
}

enum db_status
db_run_tx(struct db *db, const char *name, db_tx_fn fn, void *cls)
{
    static struct db_stmt begin =
        DB_STMT("db_tx_begin", "BEGIN ISOLATION LEVEL SERIALIZABLE", 0);
    static struct db_stmt commit = DB_STMT("db_tx_commit", "COMMIT", 0);
    static struct db_stmt rollback = DB_STMT("db_tx_rollback", "ROLLBACK", 0);
    bool retried_connection = false;

    ASSERT(!db->in_tx);
    for (int attempt = 0; attempt <= DB_TX_RETRIES; attempt++) {
        enum db_status qs;
        enum db_status ignored;

        if (!tx_command(db, &begin, &qs))
            return qs;
        db->in_tx = true;
        qs = fn(db, cls);
        if (qs >= 0) {
            enum db_status cs;

            if (tx_command(db, &commit, &cs)) {
                db->in_tx = false;
                return qs;
            }
            qs = cs;
        }
        if (db->conn != NULL && !connection_lost(db))
            tx_command(db, &rollback, &ignored);
        db->in_tx = false;
        if (qs == DB_SOFT_ERROR) {
            LOG_DEBUG("db: %s: serialization failure, retrying", name);
            continue;
        }
        if (connection_lost(db) && !retried_connection) {
            /* fn is idempotent by contract: running it again is safe. */
            retried_connection = true;
            continue;
        }
        return qs;
    }
    LOG_ERROR("db: %s: still conflicting after %d retries", name,
              DB_TX_RETRIES);
    return DB_SOFT_ERROR;
}
