/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Migrations: idempotent, safe when several nodes start at once. */
#include "db/db.h"
#include "db/migrations.h"
#include "pgtest.h"
#include "tap.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A scalar answer from a direct libpq query (tests only). */
static long
scalar(const char *sql)
{
    PGconn *c = PQconnectdb(pgtest_dsn());
    PGresult *r = PQexec(c, sql);
    long v = -1;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

int
main(void)
{
    char *why = NULL;
    int failures = 0;
    enum { NODES = 6 };
    pid_t pids[NODES];

    plan_no_plan();
    pgtest_dsn();
    is_int(db_drop_all(pgtest_dsn(), &why), 0, "drop on an empty database");
    is_int(db_migrate(pgtest_dsn(), &why), 0, "first migration");
    is_int(scalar("SELECT count(*) FROM glia_versioning.patches"),
           (long long)db_migrations_count, "every built-in patch recorded");
    is_int(scalar("SELECT count(*) FROM information_schema.tables "
                  "WHERE table_schema = 'glia' AND table_name = 'instance'"),
           1, "glia.instance exists");
    is_int(db_migrate(pgtest_dsn(), &why), 0, "second run is a no-op");
    is_int(scalar("SELECT count(*) FROM glia_versioning.patches"),
           (long long)db_migrations_count, "and each only once");
    is_int(scalar("SELECT count(*) FROM pg_description d JOIN pg_class c ON "
                  "c.oid = d.objoid JOIN pg_namespace n ON n.oid = "
                  "c.relnamespace WHERE n.nspname = 'glia' AND d.objsubid = 0"),
           scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'glia'"),
           "every glia table has a COMMENT");

    /* Several "nodes" migrate an empty database at the same moment. */
    is_int(db_drop_all(pgtest_dsn(), &why), 0, "drop everything");
    for (int i = 0; i < NODES; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char *w = NULL;

            _exit(db_migrate(pgtest_dsn(), &w) == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < NODES; i++) {
        int st;

        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failures++;
    }
    is_int(failures, 0, "%d concurrent migrations all succeed", NODES);
    is_int(scalar("SELECT count(*) FROM glia_versioning.patches"),
           (long long)db_migrations_count,
           "each patch was applied exactly once");

    ok(db_migrate("host=/nonexistent dbname=x", &why) == -1 && why != NULL &&
           strstr(why, "cannot connect") != NULL,
       "unreachable database: clear error");
    free(why);
    return done_testing();
}
