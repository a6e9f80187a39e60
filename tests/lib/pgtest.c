/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* See pgtest.h. */
#include "pgtest.h"
#include "db/db.h"
#include "tap.h"
#include "util/mem.h"

#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

const char *
pgtest_dsn(void)
{
    const char *dsn = getenv("GLIA_TEST_DSN");

    if (dsn == NULL || dsn[0] == '\0')
        skip_all("GLIA_TEST_DSN unset: run under tests/with-postgres.sh");
    return dsn;
}

void
pgtest_reset(void)
{
    char *why = NULL;

    if (db_drop_all(pgtest_dsn(), &why) != 0 ||
        db_migrate(pgtest_dsn(), &why) != 0) {
        printf("Bail out! cannot reset the test database: %s\n", why);
        exit(1);
    }
}

int
pgtest_ctl(const char *args)
{
    const char *ctl = getenv("GLIA_TEST_PGCTL");
    char *cmd;
    int rc;

    if (ctl == NULL)
        return -1;
    cmd = xasprintf("%s %s", ctl, args);
    rc = system(cmd);
    free(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

const char *
pgtest_value(const char *dsn, const char *query)
{
    static char out[65536];
    PGconn *c = PQconnectdb(dsn != NULL ? dsn : pgtest_dsn());
    PGresult *res = PQexec(c, query);

    out[0] = '\0';
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        snprintf(out, sizeof(out), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(c);
    return out;
}
