/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Schema migrations. The SQL of sql/ is compiled in (migrations.c is
 * generated), so a glia binary always carries the schema it expects. Patches
 * are applied in order while holding a PostgreSQL advisory lock: when several
 * glia nodes start against one database at once, one applies and the others
 * wait, then find nothing left to do.
 */
#include "db/db.h"
#include "db/migrations.h"
#include "util/log.h"
#include "util/mem.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary but fixed: "glia" in ASCII. Shared by every glia process. */
#define MIGRATION_LOCK_KEY "1735289185"

static void
on_notice(void *arg, const char *message)
{
    (void)arg;
    LOG_DEBUG("postgres: %s", message);
}

static PGconn *
connect_or_why(const char *dsn, char **why)
{
    static const char *const keys[] = {"connect_timeout", "application_name",
                                       "dbname", NULL};
    const char *vals[] = {"10", "glia-migrate", dsn, NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);

    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        *why = xasprintf("cannot connect to the database: %s",
                         conn != NULL ? PQerrorMessage(conn) : "no memory");
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, on_notice, NULL);
    return conn;
}

/* Run SQL text (possibly several statements); on error set *why. */
static int
run_sql(PGconn *conn, const char *what, const char *sql, char **why)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        *why = xasprintf("%s: %s", what, PQerrorMessage(conn));
        rc = -1;
    }
    PQclear(res);
    if (rc != 0 && PQtransactionStatus(conn) == PQTRANS_INERROR)
        PQclear(PQexec(conn, "ROLLBACK"));
    return rc;
}

/* @return 1 if the patch is recorded as applied, 0 if not, -1 on error. */
static int
is_applied(PGconn *conn, const char *name, char **why)
{
    const char *params[] = {name};
    PGresult *res = PQexecParams(conn,
                                 "SELECT 1 FROM glia_versioning.patches "
                                 "WHERE name = $1",
                                 1, NULL, params, NULL, NULL, 0);
    int rc;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *why = xasprintf("checking %s: %s", name, PQerrorMessage(conn));
        rc = -1;
    } else {
        rc = PQntuples(res) > 0 ? 1 : 0;
    }
    PQclear(res);
    return rc;
}

int
db_migrate(const char *dsn, char **why)
{
    PGconn *conn;
    int rc = 0;

    *why = NULL;
    conn = connect_or_why(dsn, why);
    if (conn == NULL)
        return -1;
    if (run_sql(conn, "taking the migration lock",
                "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", why) != 0) {
        PQfinish(conn);
        return -1;
    }
    rc = run_sql(conn, "versioning.sql", db_sql_versioning, why);
    for (size_t i = 0; rc == 0 && i < db_migrations_count; i++) {
        const struct db_migration *m = &db_migrations[i];
        int applied = is_applied(conn, m->name, why);

        if (applied < 0) {
            rc = -1;
            break;
        }
        if (applied == 1)
            continue;
        LOG_INFO("applying database patch %s", m->name);
        rc = run_sql(conn, m->name, m->sql, why);
    }
    /* Closing the session releases the lock too; be explicit anyway. */
    PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")"));
    PQfinish(conn);
    return rc;
}

int
db_drop_all(const char *dsn, char **why)
{
    PGconn *conn;
    int rc;

    *why = NULL;
    conn = connect_or_why(dsn, why);
    if (conn == NULL)
        return -1;
    rc = run_sql(conn, "drop.sql", db_sql_drop, why);
    PQfinish(conn);
    return rc;
}
