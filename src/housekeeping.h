/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A background thread for periodic chores: purging validation sessions long
 * after they expired, and forgetting rate-limit entries that are full again.
 */
#ifndef GLIA_HOUSEKEEPING_H
#define GLIA_HOUSEKEEPING_H

struct app;
struct housekeeping;

/** Start the thread (it has its own database connection). */
struct housekeeping *housekeeping_start(const struct app *app);
/** Stop and join it; NULL-safe. */
void housekeeping_stop(struct housekeeping *hk);

#endif
