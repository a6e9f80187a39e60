/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Accounts, tokens and accepted terms against a real PostgreSQL. */
#include "db/db.h"
#include "pgtest.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
    int n;
    char pairs[8][64];
};

static void
collect(void *cls, const char *policy, const char *version)
{
    struct seen *s = cls;

    if (s->n < 8)
        snprintf(s->pairs[s->n++], 64, "%s %s", policy, version);
}

static bool
has(const struct seen *s, const char *pair)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->pairs[i], pair) == 0)
            return true;
    return false;
}

int
main(void)
{
    struct db *db;
    char *user = NULL;
    char *consent = NULL;
    struct seen s;
    struct db_terms_acceptance acc[] = {
        {"privacy", "1.0", "https://x/privacy-en"},
        {"privacy", "1.0", "https://x/privacy-fr"},
        {"tos", "2", "https://x/tos"},
    };

    plan_no_plan();
    pgtest_reset();
    db = db_new(pgtest_dsn());
    is_int(db_account_register(db, "@alice:hs.org", "hash-a1", 1000),
           DB_ONE_RESULT, "register alice");
    is_int(db_account_register(db, "@alice:hs.org", "hash-a2", 2000),
           DB_ONE_RESULT, "a second token for alice");
    is_int(db_account_register(db, "@bob:hs.org", "hash-b1", 3000),
           DB_ONE_RESULT, "register bob");
    ok(db_account_register(db, "@bob:hs.org", "hash-b1", 3000) < 0,
       "a token hash cannot be issued twice");
    is_int(db_account_by_token(db, "hash-a2", &user, &consent), DB_ONE_RESULT,
           "token finds its account");
    is_str(user, "@alice:hs.org", "alice");
    ok(consent == NULL, "no consent yet");
    free(user);
    is_int(db_account_by_token(db, "nope", &user, &consent), DB_NO_RESULTS,
           "unknown token");
    ok(user == NULL && consent == NULL, "outputs cleared");

    is_int(db_token_delete(db, "hash-a1"), DB_ONE_RESULT, "logout one token");
    is_int(db_account_by_token(db, "hash-a1", &user, &consent), DB_NO_RESULTS,
           "that token is gone");
    is_int(db_account_by_token(db, "hash-a2", &user, &consent), DB_ONE_RESULT,
           "the other still works");
    free(user);
    free(consent);
    is_int(db_token_delete(db, "hash-a1"), DB_NO_RESULTS,
           "logging out twice: no such token");

    is_int(db_terms_accept(db, "@alice:hs.org", acc, 2, 5000), DB_ONE_RESULT,
           "accept privacy in two languages");
    is_int(db_terms_accept(db, "@alice:hs.org", acc, 2, 6000), DB_ONE_RESULT,
           "accepting again is harmless");
    memset(&s, 0, sizeof(s));
    is_int(db_terms_accepted(db, "@alice:hs.org", collect, &s), 1,
           "one (policy, version) so far");
    ok(has(&s, "privacy 1.0"), "privacy 1.0");
    is_int(db_terms_accept(db, "@alice:hs.org", acc + 2, 1, 7000),
           DB_ONE_RESULT, "accept tos");
    is_int(db_account_set_consent(db, "@alice:hs.org", "fp1"), DB_ONE_RESULT,
           "store the consent fingerprint");
    memset(&s, 0, sizeof(s));
    is_int(db_terms_accepted(db, "@alice:hs.org", collect, &s), 2,
           "acceptances accumulate across calls");
    ok(has(&s, "tos 2"), "tos 2");
    is_int(db_account_by_token(db, "hash-a2", &user, &consent), DB_ONE_RESULT,
           "read back");
    is_str(consent, "fp1", "consent fingerprint stored");
    free(user);
    free(consent);
    is_int(db_account_set_consent(db, "@alice:hs.org", "fp2"), DB_ONE_RESULT,
           "update consent");
    memset(&s, 0, sizeof(s));
    is_int(db_terms_accepted(db, "@bob:hs.org", collect, &s), 0,
           "bob accepted nothing");
    ok(db_terms_accept(db, "@nobody:hs.org", acc, 1, 1) < 0,
       "acceptances need an account");
    db_free(db);
    return done_testing();
}
