/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Periodic chores; see housekeeping.h. */
#include "housekeeping.h"
#include "app.h"
#include "db/db.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/ratelimit.h"
#include "util/stopper.h"
#include "util/time.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

/* How often the chores run, in seconds. */
#define HK_TICK        60
#define HK_PURGE_EVERY 600

struct housekeeping {
    const struct app *app;
    pthread_t thread;
    struct stopper stopper;
};

/* Sessions are kept for one more lifetime after they expire, so that a
 * late client still hears M_SESSION_EXPIRED rather than "no such session". */
static void
purge_sessions(const struct app *app, struct db *db)
{
    int64_t lifetime = app->cfg->validation_session_lifetime * 1000;
    enum db_status qs = db_session_purge(db, time_now_ms() - 2 * lifetime);

    if (qs > 0)
        LOG_INFO("purged %d expired validation sessions", (int)qs);
    else if (qs < 0)
        LOG_WARN("could not purge expired validation sessions");
}

/* Unclaimed invites are deleted when they expire: their ephemeral keys
 * stop being valid, and the address is forgotten. */
static void
purge_invites(struct db *db)
{
    enum db_status qs = db_invites_purge(db, time_now_ms());

    if (qs > 0)
        LOG_INFO("purged %d expired invites", (int)qs);
    else if (qs < 0)
        LOG_WARN("could not purge expired invites");
}

static void *
run(void *cls)
{
    struct housekeeping *hk = cls;
    struct db *db = db_new(hk->app->cfg->db_dsn);
    int64_t next_purge = 0;

    do {
        ratelimit_sweep(hk->app->limit_ip, time_mono_us() / 1000);
        ratelimit_sweep(hk->app->limit_address, time_mono_us() / 1000);
        ratelimit_sweep(hk->app->limit_invite, time_mono_us() / 1000);
        ratelimit_sweep(hk->app->limit_sms_country, time_mono_us() / 1000);
        if (time_mono_us() >= next_purge) {
            purge_sessions(hk->app, db);
            purge_invites(db);
            next_purge = time_mono_us() + (int64_t)HK_PURGE_EVERY * 1000000;
        }
    } while (!stopper_nap(&hk->stopper, (int64_t)HK_TICK * 1000));
    db_free(db);
    return NULL;
}

struct housekeeping *
housekeeping_start(const struct app *app)
{
    struct housekeeping *hk = xcalloc(1, sizeof(*hk));

    hk->app = app;
    stopper_init(&hk->stopper);
    if (pthread_create(&hk->thread, NULL, run, hk) != 0) {
        LOG_ERROR("cannot start the housekeeping thread");
        stopper_destroy(&hk->stopper);
        free(hk);
        return NULL;
    }
    return hk;
}

void
housekeeping_stop(struct housekeeping *hk)
{
    if (hk == NULL)
        return;
    stopper_stop(&hk->stopper);
    pthread_join(hk->thread, NULL);
    stopper_destroy(&hk->stopper);
    free(hk);
}
