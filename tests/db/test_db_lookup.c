/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Associations, the pepper and hashed lookups against a real PostgreSQL. */
#include "crypto/crypto.h"
#include "db/db.h"
#include "pgtest.h"
#include "tap.h"
#include "util/buf.h"
#include "util/mem.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct found {
    int n;
    char hash[4][64];
    char mxid[4][64];
};

static void
collect(void *cls, const char *hash, const char *mxid)
{
    struct found *f = cls;

    if (f->n < 4) {
        snprintf(f->hash[f->n], 64, "%s", hash);
        snprintf(f->mxid[f->n], 64, "%s", mxid);
        f->n++;
    }
}

static struct db_assoc
assoc(const char *address, const char *mxid, int64_t ts, int64_t oid)
{
    struct db_assoc a = {"email",      address,   mxid, ts,   ts,
                         ts + 1000000, "id.test", oid,  "{}", NULL};

    return a;
}

/* The hash PostgreSQL computes, for comparison with ours. */
static char *
sql_hash(const char *address, const char *medium, const char *pepper)
{
    PGconn *c = PQconnectdb(pgtest_dsn());
    const char *p[] = {address, medium, pepper};
    PGresult *r = PQexecParams(c, "SELECT glia.lookup_hash($1, $2, $3)", 3,
                               NULL, p, NULL, NULL, 0);
    char *h = xstrdup(PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0)
                                                           : "");

    PQclear(r);
    PQfinish(c);
    return h;
}

int
main(void)
{
    struct db *db;
    char *pepper = NULL;
    char *current = NULL;
    char h_alice[LOOKUP_HASH_LEN + 1];
    char h_bob[LOOKUP_HASH_LEN + 1];
    char *arr;
    struct found f;
    struct db_assoc a;
    const char *vectors[][4] = {
        {"alice@example.com", "email", "matrixrocks",
         "4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc"},
        {"bob@example.com", "email", "matrixrocks",
         "LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8"},
        {"18005552067", "msisdn", "matrixrocks",
         "nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I"},
        {"strauss@example.com", "email", "p3pp3r", NULL},
        {"日本@例え.jp", "email", "p3pp3r", NULL},
    };

    plan_no_plan();
    pgtest_reset();
    db = db_new(pgtest_dsn());
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        char ours[LOOKUP_HASH_LEN + 1];
        char *theirs = sql_hash(vectors[i][0], vectors[i][1], vectors[i][2]);

        lookup_hash_sha256(vectors[i][0], vectors[i][1], vectors[i][2], ours);
        is_str(theirs, ours, "SQL and C hash %s alike", vectors[i][0]);
        if (vectors[i][3] != NULL)
            is_str(theirs, vectors[i][3], "and match the spec's vector");
        free(theirs);
    }

    is_int(db_pepper_get(db, NULL, &pepper), DB_NO_RESULTS, "no pepper yet");
    is_int(db_pepper_get(db, "first", &pepper), DB_ONE_RESULT,
           "created on first use");
    is_str(pepper, "first", "from the candidate");
    free(pepper);
    is_int(db_pepper_get(db, "second", &pepper), DB_ONE_RESULT, "again");
    is_str(pepper, "first", "the first one stays");
    free(pepper);

    a = assoc("alice@example.org", "@alice:hs.test", 1000, 1);
    is_int(db_assoc_insert(db, &a), DB_ONE_RESULT, "insert alice");
    a = assoc("bob@example.org", "@bob:hs.test", 1000, 2);
    is_int(db_assoc_insert(db, &a), DB_ONE_RESULT, "insert bob");
    a = assoc("alice@example.org", "@alice2:hs.test", 2000, 3);
    is_int(db_assoc_insert(db, &a), DB_ONE_RESULT, "rebind alice later");
    ok(db_assoc_insert(db, &a) < 0, "(origin, id) is unique");
    lookup_hash_sha256("alice@example.org", "email", "first", h_alice);
    lookup_hash_sha256("bob@example.org", "email", "first", h_bob);
    arr = xasprintf("{%s,%s,%s}", h_alice, h_bob,
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    memset(&f, 0, sizeof(f));
    is_int(db_lookup_hashes(db, "first", arr, 1500, collect, &f, &current), 2,
           "two of three found");
    is_str(current, "first", "current pepper reported");
    free(current);
    memset(&f, 0, sizeof(f));
    db_lookup_hashes(db, "first", arr, 2500, collect, &f, &current);
    free(current);
    ok((strcmp(f.hash[0], h_alice) == 0 &&
        strcmp(f.mxid[0], "@alice2:hs.test") == 0) ||
           (strcmp(f.hash[1], h_alice) == 0 &&
            strcmp(f.mxid[1], "@alice2:hs.test") == 0),
       "the newest binding wins");
    memset(&f, 0, sizeof(f));
    is_int(db_lookup_hashes(db, "first", arr, 500, collect, &f, &current), 0,
           "nothing before not_before");
    free(current);
    is_int(db_lookup_hashes(db, "first", arr, 99999999, collect, &f, &current),
           0, "nothing after not_after");
    free(current);
    memset(&f, 0, sizeof(f));
    is_int(db_lookup_hashes(db, "wrong", arr, 1500, collect, &f, &current), 0,
           "wrong pepper: nothing");
    is_str(current, "first", "but the right one is reported");
    free(current);

    is_int(db_pepper_rotate(db, "second", 5000), 3, "rotate: 3 rehashed");
    memset(&f, 0, sizeof(f));
    is_int(db_lookup_hashes(db, "second", arr, 1500, collect, &f, &current), 0,
           "old hashes no longer match");
    free(current);
    free(arr);
    lookup_hash_sha256("bob@example.org", "email", "second", h_bob);
    arr = xasprintf("{%s}", h_bob);
    is_int(db_lookup_hashes(db, "second", arr, 1500, collect, &f, &current), 1,
           "new hashes do");
    free(current);
    free(arr);

    /* A thousand hashes in one statement. */
    {
        struct buf b;

        buf_init(&b, 1u << 20);
        buf_puts(&b, "{");
        for (int i = 0; i < 1000; i++) {
            char h[LOOKUP_HASH_LEN + 1];
            char addr[64];

            snprintf(addr, sizeof(addr), "user%d@example.org", i);
            lookup_hash_sha256(i == 500 ? "bob@example.org" : addr, "email",
                               "second", h);
            buf_printf(&b, "%s%s", i > 0 ? "," : "", h);
        }
        buf_puts(&b, "}");
        memset(&f, 0, sizeof(f));
        is_int(
            db_lookup_hashes(db, "second", b.data, 1500, collect, &f, &current),
            1, "1000 hashes, one match");
        free(current);
        buf_free(&b);
    }
    db_free(db);
    return done_testing();
}
