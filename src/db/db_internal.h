/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Shared by the src/db/pg_*.c files only: statement execution with
 * prepare-once-per-connection and reconnect. Not for use outside src/db/.
 */
#ifndef GLIA_DB_INTERNAL_H
#define GLIA_DB_INTERNAL_H

#include "db/db.h"

#include <libpq-fe.h>
#include <stdatomic.h>

/*
 * A prepared statement. Declare one as a function-local static next to its
 * SQL: static struct db_stmt st = DB_STMT("db_ping", "SELECT 1", 0);
 * The slot is assigned on first use and indexes the per-connection record of
 * which statements are prepared, so a reconnect re-prepares transparently.
 */
struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
    atomic_int slot;
};

#define DB_STMT(name, sql, nparams)                                            \
    {                                                                          \
        name, sql, nparams, -1                                                 \
    }

/**
 * Execute st with text parameters (NULL entries are SQL NULL).
 * @param[out] status on failure, DB_SOFT_ERROR or DB_HARD_ERROR
 * @return the result (caller PQclear()s; status TUPLES_OK or COMMAND_OK), or
 *         NULL on failure (already logged and counted)
 */
PGresult *db_exec(struct db *db,
                  struct db_stmt *st,
                  const char *const *params,
                  enum db_status *status);

/** @return the number of rows the statement changed (for INSERT/UPDATE). */
enum db_status db_cmd_rows(PGresult *res);

/**
 * Execute a statement that returns no rows (INSERT, UPDATE, DELETE).
 * @return the number of rows it changed (>= 0), or an error status
 */
enum db_status
db_exec_cmd(struct db *db, struct db_stmt *st, const char *const *params);

#endif
