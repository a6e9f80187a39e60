/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* db_ping, db_instance_claim and the transaction runner. */
#include "db/db.h"
#include "pgtest.h"
#include "tap.h"

#include <stdlib.h>

static int calls;

static enum db_status
flaky_tx(struct db *db, void *cls)
{
    int fail_times = *(int *)cls;

    calls++;
    if (db_ping(db) != DB_ONE_RESULT)
        return DB_HARD_ERROR;
    return calls <= fail_times ? DB_SOFT_ERROR : DB_ONE_RESULT;
}

static enum db_status
hard_tx(struct db *db, void *cls)
{
    (void)db;
    (void)cls;
    calls++;
    return DB_HARD_ERROR;
}

int
main(void)
{
    struct db *db;
    char *stored = NULL;
    int fail_times;

    plan_no_plan();
    pgtest_reset();
    db = db_new(pgtest_dsn());
    is_int(db_ping(db), DB_ONE_RESULT, "ping");
    is_int(db_instance_claim(db, "id.example.org", &stored), DB_ONE_RESULT,
           "first claim records the name");
    ok(stored == NULL, "nothing to report");
    is_int(db_instance_claim(db, "id.example.org", &stored), DB_ONE_RESULT,
           "same name again: fine");
    is_int(db_instance_claim(db, "other.example.org", &stored), DB_NO_RESULTS,
           "another name is refused");
    is_str(stored, "id.example.org", "and told whose database it is");
    free(stored);

    fail_times = 2;
    calls = 0;
    is_int(db_run_tx(db, "flaky", flaky_tx, &fail_times), DB_ONE_RESULT,
           "serialization failures are retried");
    is_int(calls, 3, "ran three times");
    ok(!db_in_tx(db), "no transaction left open");
    fail_times = 100;
    calls = 0;
    is_int(db_run_tx(db, "always", flaky_tx, &fail_times), DB_SOFT_ERROR,
           "gives up after the retry limit");
    ok(calls > 3 && calls < 100, "bounded retries (%d)", calls);
    calls = 0;
    is_int(db_run_tx(db, "hard", hard_tx, NULL), DB_HARD_ERROR,
           "hard errors are not retried");
    is_int(calls, 1, "ran once");
    ok(!db_in_tx(db), "rolled back");
    is_int(db_ping(db), DB_ONE_RESULT, "connection still usable");
    db_free(db);

    db = db_new("host=/nonexistent dbname=nope");
    is_int(db_ping(db), DB_HARD_ERROR, "unreachable server: hard error");
    ok(db_error_count() > 0, "and it is counted");
    db_free(db);
    return done_testing();
}
