/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Invites and the onbind outbox against a real PostgreSQL: the hand-over
 * inside the bind transaction, leases, retries, delivery, giving up and
 * expiry.
 */
#include "db/db.h"
#include "pgtest.h"
#include "tap.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000000LL

struct seen {
    int n;
    char token[4][64];
};

static void
collect(void *cls,
        const char *medium,
        const char *address,
        const char *room_id,
        const char *sender,
        const char *token)
{
    struct seen *s = cls;

    (void)medium;
    (void)address;
    (void)room_id;
    (void)sender;
    if (s->n < 4)
        snprintf(s->token[s->n++], 64, "%s", token);
}

static enum db_status
invite(struct db *db, const char *address, const char *token, int64_t expires)
{
    struct db_invite inv = {"email",      address, "!r:hs.test",
                            "@s:hs.test", token,   "ephkey-" /* any text */,
                            NOW,          expires};
    char key[64];

    snprintf(key, sizeof(key), "eph-%s", token);
    inv.ephemeral_public_key = key;
    return db_invite_store(db, &inv);
}

static enum db_status
bind(struct db *db, const char *address, const char *mxid, int *invites)
{
    struct db_assoc a = {"email", address,   mxid, NOW,         NOW,
                         NOW * 2, "id.test", 0,    "{\"a\":1}", "hs.test"};
    int64_t oid;

    return db_assoc_bind(db, &a, &oid, invites);
}

int
main(void)
{
    struct db *db;
    char *pepper = NULL;
    char *sender = NULL;
    char *eph = NULL;
    int invites = -1;
    struct db_onbind due[4];
    struct seen seen;
    enum db_status qs;

    plan_no_plan();
    pgtest_reset();
    db = db_new(pgtest_dsn());
    ok(db_pepper_get(db, "pepper", &pepper) == DB_ONE_RESULT, "a pepper");
    free(pepper);

    is_int(invite(db, "bob@example.org", "t1", NOW + 1000), DB_ONE_RESULT,
           "store an invite");
    is_int(invite(db, "bob@example.org", "t2", NOW + 1000), DB_ONE_RESULT,
           "and another for the same address");
    is_int(invite(db, "bob@example.org", "t3", NOW - 1), DB_ONE_RESULT,
           "and an expired one");
    ok(invite(db, "x@example.org", "t1", NOW + 1000) < 0, "tokens are unique");
    is_int(db_invite_by_token(db, "t1", NOW, &sender, &eph), DB_ONE_RESULT,
           "found by token");
    is_str(sender, "@s:hs.test", "its sender");
    is_str(eph, "eph-t1", "its ephemeral key");
    free(sender);
    free(eph);
    is_int(db_invite_by_token(db, "t3", NOW, &sender, &eph), DB_NO_RESULTS,
           "an expired invite is not found by token");
    is_int(db_ephemeral_key_valid(db, "eph-t2", NOW), DB_ONE_RESULT,
           "its ephemeral key is valid");
    is_int(db_ephemeral_key_valid(db, "eph-t3", NOW), DB_NO_RESULTS,
           "an expired invite's key is not");

    is_int(bind(db, "carol@example.org", "@carol:hs.test", &invites),
           DB_ONE_RESULT, "a bind without invites");
    is_int(invites, 0, "hands nothing over");
    is_int(db_onbind_claim(db, NOW, 1000, due, 4), 0, "the outbox is empty");

    is_int(bind(db, "bob@example.org", "@bob:hs.test", &invites), DB_ONE_RESULT,
           "bob binds");
    is_int(invites, 2, "the two live invites are handed over");
    memset(due, 0, sizeof(due));
    is_int(db_onbind_claim(db, NOW, 60000, due, 4), 1, "one outbox entry");
    is_str(due[0].mxid, "@bob:hs.test", "for bob");
    is_str(due[0].homeserver, "hs.test", "to his homeserver");
    is_str(due[0].assoc_json, "{\"a\":1}", "with the association");
    is_int(due[0].attempts, 1, "first attempt");
    is_int(db_onbind_claim(db, NOW + 1000, 60000, due + 1, 3), 0,
           "leased: nobody else takes it");
    memset(&seen, 0, sizeof(seen));
    is_int(db_onbind_invites(db, due[0].id, collect, &seen), 2,
           "it carries two invites");
    ok(seen.n == 2 && strcmp(seen.token[0], "t1") == 0 &&
           strcmp(seen.token[1], "t2") == 0,
       "t1 and t2, in order");
    is_int(bind(db, "bob@example.org", "@bob:hs.test", &invites), DB_ONE_RESULT,
           "binding again");
    is_int(invites, 0, "hands over nothing twice");
    is_int(db_onbind_retry(db, due[0].id, NOW + 5000, "HTTP 502"), 1,
           "a failed attempt: retry later");
    is_int(db_onbind_claim(db, NOW + 4999, 60000, due + 1, 3), 0,
           "not before its time");
    qs = db_onbind_claim(db, NOW + 5000, 60000, due + 1, 3);
    is_int(qs, 1, "then due again");
    is_int(due[1].attempts, 2, "second attempt");
    is_int(db_onbind_done(db, due[1].id, NOW + 6000), 1, "delivered");
    is_int(db_onbind_claim(db, NOW + 999999, 60000, due + 2, 2), 0,
           "the entry is gone");
    is_int(invite(db, "bob@example.org", "t4", NOW + 1000), DB_ONE_RESULT,
           "a new invite for bob's address");
    is_int(db_invites_purge(db, NOW + 2000), 4,
           "purge at NOW + 2 s: t3, t4, and the delivered t1 and t2 (kept "
           "until they expire, so their keys stay valid)");
    db_onbind_clear(&due[0]);
    db_onbind_clear(&due[1]);

    /* Giving up returns the invites to the pending pool. */
    is_int(invite(db, "dave@example.org", "t5", NOW + 100000), DB_ONE_RESULT,
           "invite dave");
    is_int(bind(db, "dave@example.org", "@dave:hs.test", &invites),
           DB_ONE_RESULT, "dave binds");
    memset(due, 0, sizeof(due));
    is_int(db_onbind_claim(db, NOW, 60000, due, 4), 1, "claimed");
    is_int(db_onbind_drop(db, due[0].id), 1, "given up");
    is_int(bind(db, "dave@example.org", "@dave:hs.test", &invites),
           DB_ONE_RESULT, "dave binds again");
    is_int(invites, 1, "the invite is handed over again");
    db_onbind_clear(&due[0]);

    db_free(db);
    return done_testing();
}
