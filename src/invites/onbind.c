/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The onbind sender: delivers invites to the homeserver of the user an
 * address was bound to, from the durable outbox glia.onbind_outbox.
 *
 * POST, not the spec's PUT: Synapse implements POST (matrix-spec#524) and
 * sydent sends POST. The body is the association with an `invites` array,
 * signed as a whole with the long-term key; each invite carries a `signed`
 * block ({mxid, token}) signed with the long-term key, which the inviting
 * homeserver checks against the public_keys of its m.room.third_party_invite
 * event. There is no X-Matrix header: an identity server has no federation
 * keys.
 *
 * Only a 200 ends an entry. Anything else is retried after 1 s, 2 s, 4 s...
 * up to [invites] retry_max_interval, from the database, so a restart or a
 * homeserver down for hours loses nothing. After [invites]
 * delivery_give_up the entry is dropped with a warning, and its invites
 * become pending again (a later bind of the address retries them).
 */
#include "invites/invites.h"

#include "app.h"
#include "httpd/metrics.h"
#include "binding.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "fed/fed.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/stopper.h"
#include "util/time.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ONBIND_PATH "/_matrix/federation/v1/3pid/onbind"

struct onbind_sender {
    const struct app *app;
    pthread_t thread;
    struct stopper stopper;
};

struct build {
    const struct binding_signer *signer;
    const char *mxid;
    json_t *invites;
    bool failed;
};

static void
add_invite(void *cls,
           const char *medium,
           const char *address,
           const char *room_id,
           const char *sender,
           const char *token)
{
    struct build *b = cls;
    json_t *signed_block = invite_signed_block(b->signer, b->mxid, token);

    if (signed_block == NULL) {
        b->failed = true;
        return;
    }
    json_array_append_new(
        b->invites,
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "medium", medium,
                  "address", address, "mxid", b->mxid, "room_id", room_id,
                  "sender", sender, "token", token, "signed", signed_block));
}

/* One attempt at one entry. @return true if the homeserver took it. */
static bool
deliver(const struct onbind_sender *s,
        struct db *db,
        const struct db_onbind *o,
        char **why)
{
    const struct app *app = s->app;
    struct binding_signer signer = {app->cfg->general_server_name, app->key};
    struct build b = {&signer, o->mxid, json_array(), false};
    json_t *body = json_loads(o->assoc_json, 0, NULL);
    long status = 0;
    json_t *resp = NULL;
    enum fed_error err;
    enum db_status qs;

    if (!json_is_object(body)) {
        *why = xstrdup("stored association is not JSON");
        json_decref(body);
        json_decref(b.invites);
        return false;
    }
    qs = db_onbind_invites(db, o->id, add_invite, &b);
    if (qs < 0 || b.failed) {
        *why = xstrdup(qs < 0 ? "database error" : "cannot sign an invite");
        json_decref(body);
        json_decref(b.invites);
        return false;
    }
    /* Signed again with the invites in, as sydent does: the whole body
     * then verifies, not just the association inside it. */
    json_object_del(body, "signatures");
    json_object_set_new(body, "invites", b.invites);
    if (signjson_sign(body, signer.server_name, app->key->key_id,
                      app->key->sk) != 0) {
        *why = xstrdup("cannot sign the notification");
        json_decref(body);
        return false;
    }
    err = fed_request(app->fed, "POST", o->homeserver, ONBIND_PATH, body,
                      &status, &resp, why);
    json_decref(body);
    json_decref(resp);
    if (status == 200)
        return true;
    if (err == FED_OK || err == FED_BAD_RESPONSE) {
        free(*why);
        *why = xasprintf("HTTP %ld", status);
    } else if (*why == NULL) {
        *why = xstrdup(fed_error_str(err));
    }
    return false;
}

/* Claim what is due and try each once. @return entries handled */
static int
round_once(const struct onbind_sender *s, struct db *db)
{
    const struct config *cfg = s->app->cfg;
    struct db_onbind due[ONBIND_BATCH];
    int64_t now = time_now_ms();
    enum db_status n;

    memset(due, 0, sizeof(due));
    n = db_onbind_claim(db, now, ONBIND_LEASE_MS, due, ONBIND_BATCH);
    if (n < 0) {
        LOG_WARN("onbind: cannot read the outbox");
        return 0;
    }
    for (int i = 0; i < (int)n; i++) {
        const struct db_onbind *o = &due[i];
        char *why = NULL;

        bool ok = deliver(s, db, o, &why);

        metrics_count(s->app->metrics,
                      ok ? MC_ONBIND_DELIVERED : MC_ONBIND_FAILED, 1);
        if (ok) {
            if (db_onbind_done(db, o->id, time_now_ms()) < 0)
                LOG_WARN("onbind %lld: delivered, but not recorded (it "
                         "will be sent again)",
                         (long long)o->id);
            else
                LOG_INFO("onbind %lld: invites for %s delivered to %s",
                         (long long)o->id, o->mxid, o->homeserver);
        } else if (time_now_ms() - o->created_ts >
                   (int64_t)cfg->invites_delivery_give_up * 1000) {
            LOG_WARN("onbind %lld: giving up on %s after %d attempts (%s); "
                     "the invites wait for the next bind of the address",
                     (long long)o->id, o->homeserver, o->attempts,
                     why != NULL ? why : "?");
            db_onbind_drop(db, o->id);
        } else {
            int64_t wait = time_backoff_ms(
                o->attempts, (int64_t)cfg->invites_retry_max_interval * 1000);

            LOG_INFO("onbind %lld: %s failed (%s), attempt %d; next in "
                     "%lld ms",
                     (long long)o->id, o->homeserver, why != NULL ? why : "?",
                     o->attempts, (long long)wait);
            db_onbind_retry(db, o->id, time_now_ms() + wait,
                            why != NULL ? why : "?");
        }
        free(why);
        db_onbind_clear(&due[i]);
    }
    return (int)n;
}

static void *
run(void *cls)
{
    struct onbind_sender *s = cls;
    struct db *db = db_new(s->app->cfg->db_dsn);
    int handled;

    do {
        handled = round_once(s, db);
        /* A full batch: more may be due at once. */
    } while (!stopper_nap(&s->stopper,
                          handled == ONBIND_BATCH ? 0 : ONBIND_POLL_MS));
    db_free(db);
    return NULL;
}

struct onbind_sender *
onbind_start(const struct app *app)
{
    struct onbind_sender *s = xcalloc(1, sizeof(*s));

    s->app = app;
    stopper_init(&s->stopper);
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        LOG_ERROR("cannot start the onbind sender thread");
        stopper_destroy(&s->stopper);
        free(s);
        return NULL;
    }
    return s;
}

void
onbind_stop(struct onbind_sender *s)
{
    if (s == NULL)
        return;
    stopper_stop(&s->stopper);
    pthread_join(s->thread, NULL);
    stopper_destroy(&s->stopper);
    free(s);
}
