/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Helpers for tests that run inside tests/with-postgres.sh. */
#ifndef GLIA_PGTEST_H
#define GLIA_PGTEST_H

/** @return GLIA_TEST_DSN; skips the whole test program when it is unset. */
const char *pgtest_dsn(void);
/** Drop every glia object and apply the migrations again (bails out on
 * failure), so each test starts from the same empty schema. */
void pgtest_reset(void);
/** Run the cluster's pg_ctl with args ("stop -m fast", "start -w").
 * @return its exit status */
int pgtest_ctl(const char *args);
/**
 * Run one SQL statement on dsn (NULL: pgtest_dsn()) with libpq.
 * @return the first value it returns, "" if none or on error; a static
 *         buffer, valid until the next call
 */
const char *pgtest_value(const char *dsn, const char *query);

#endif
