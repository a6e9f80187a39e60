/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The database server restarts under a live handle: the first statement after
 * a restart must succeed (the dead connection is replaced transparently),
 * statements during the outage fail cleanly, and the handle recovers.
 */
#include "db/db.h"
#include "pgtest.h"
#include "tap.h"

int
main(void)
{
    struct db *db;
    unsigned long errors;

    plan_no_plan();
    pgtest_reset();
    db = db_new(pgtest_dsn());
    is_int(db_ping(db), DB_ONE_RESULT, "connected");
    is_int(pgtest_ctl("restart -w -m fast"), 0, "server restarted");
    is_int(db_ping(db), DB_ONE_RESULT,
           "first statement after the restart succeeds");
    is_int(pgtest_ctl("stop -w -m fast"), 0, "server stopped");
    errors = db_error_count();
    is_int(db_ping(db), DB_HARD_ERROR, "during the outage: hard error");
    is_int(db_ping(db), DB_HARD_ERROR, "still down: hard error, no hang");
    ok(db_error_count() > errors, "errors counted");
    is_int(pgtest_ctl("start -w"), 0, "server started");
    is_int(db_ping(db), DB_ONE_RESULT, "recovered without a new handle");
    db_free(db);
    return done_testing();
}
