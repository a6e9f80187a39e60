/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Validation sessions against a real PostgreSQL. */
#include "db/db.h"
#include "pgtest.h"
#include "tap.h"

#include <string.h>

static struct db_session_request
base(const char *secret_hash,
     int64_t attempt,
     int64_t now,
     const char *sid,
     const char *token)
{
    struct db_session_request r;

    memset(&r, 0, sizeof(r));
    r.medium = "email";
    r.address = "alice@example.org";
    r.client_secret_hash = secret_hash;
    r.send_attempt = attempt;
    r.new_sid = sid;
    r.new_token = token;
    r.now_ms = now;
    r.lifetime_ms = 86400000;
    return r;
}

int
main(void)
{
    struct db *db;
    struct db_session s;
    struct db_session_request r;
    bool send;
    int64_t t = 1700000000000;

    plan_no_plan();
    pgtest_reset();
    db = db_new(pgtest_dsn());

    r = base("h1", 1, t, "sid1", "tok1");
    r.next_link = "https://app.example/done";
    is_int(db_session_request(db, &r, &s, &send), DB_ONE_RESULT, "create");
    ok(send, "a new session sends");
    is_str(s.sid, "sid1", "with the new sid");
    is_str(s.token, "tok1", "and token");
    db_session_clear(&s);

    r = base("h1", 1, t + 1000, "sidX", "tokX");
    is_int(db_session_request(db, &r, &s, &send), DB_ONE_RESULT, "same again");
    ok(!send, "same send_attempt: nothing sent");
    is_str(s.sid, "sid1", "same sid");
    db_session_clear(&s);

    r = base("h1", 0, t + 2000, "sidX", "tokX");
    is_int(db_session_request(db, &r, &s, &send), DB_ONE_RESULT, "lower");
    ok(!send, "lower send_attempt: nothing sent");
    db_session_clear(&s);

    r = base("h1", 2, t + 3000, "sidX", "tokX");
    is_int(db_session_request(db, &r, &s, &send), DB_ONE_RESULT, "higher");
    ok(send, "higher send_attempt: sent again");
    is_str(s.sid, "sid1", "in the same session");
    is_str(s.token, "tok1", "with the same token");
    is_str(s.next_link, "https://app.example/done", "next_link kept");
    db_session_clear(&s);

    /* A send that failed is forgotten: the same attempt sends again. */
    is_int(db_session_unsend(db, "sid1", 2), DB_ONE_RESULT, "unsend");
    r = base("h1", 2, t + 3500, "sidX", "tokX");
    is_int(db_session_request(db, &r, &s, &send), DB_ONE_RESULT, "retry");
    ok(send, "the same send_attempt sends after a failed send");
    db_session_clear(&s);
    is_int(db_session_unsend(db, "sid1", 1), DB_NO_RESULTS,
           "unsend of an older attempt changes nothing");

    r = base("h2", 1, t + 4000, "sid2", "tok2");
    is_int(db_session_request(db, &r, &s, &send), DB_ONE_RESULT,
           "another client secret");
    ok(send && strcmp(s.sid, "sid2") == 0, "is another session");
    db_session_clear(&s);

    is_int(db_session_get(db, "sid1", &s), DB_ONE_RESULT, "get");
    is_str(s.address, "alice@example.org", "address");
    is_str(s.client_secret_hash, "h1", "secret hash");
    is_int(s.send_attempt, 2, "send_attempt stored");
    is_int(s.modified_ts, t + 3500, "modified on resend");
    is_int(s.validated_ts, 0, "not validated");
    db_session_clear(&s);
    is_int(db_session_get(db, "nope", &s), DB_NO_RESULTS, "unknown sid");

    for (int i = 0; i < 3; i++)
        is_int(db_session_reserve_attempt(db, "sid1", 3), DB_ONE_RESULT,
               "attempt %d reserved", i + 1);
    is_int(db_session_reserve_attempt(db, "sid1", 3), DB_NO_RESULTS,
           "the fourth is refused: locked");
    is_int(db_session_validate(db, "sid2", t + 5000), DB_ONE_RESULT,
           "validate sid2");
    is_int(db_session_get(db, "sid2", &s), DB_ONE_RESULT, "read back");
    is_int(s.validated_ts, t + 5000, "validated_ts");
    is_int(s.modified_ts, t + 5000, "validation is a modification");
    db_session_clear(&s);
    is_int(db_session_validate(db, "sid2", t + 9000), DB_ONE_RESULT,
           "validate again");
    is_int(db_session_get(db, "sid2", &s), DB_ONE_RESULT, "read back");
    is_int(s.validated_ts, t + 5000, "the first validation time stays");
    db_session_clear(&s);

    /* Expired sessions are replaced, not reused. */
    r = base("h1", 5, t + 3500 + 86400001, "sid3", "tok3");
    is_int(db_session_request(db, &r, &s, &send), DB_ONE_RESULT,
           "after expiry");
    ok(send && strcmp(s.sid, "sid3") == 0 && strcmp(s.token, "tok3") == 0,
       "a fresh session, sid and token");
    db_session_clear(&s);
    is_int(db_session_get(db, "sid1", &s), DB_NO_RESULTS,
           "the old one is gone");

    is_int(db_session_purge(db, t + 6000), 1, "purge removes old sessions");
    is_int(db_session_get(db, "sid3", &s), DB_ONE_RESULT, "keeps recent ones");
    db_session_clear(&s);
    db_free(db);
    return done_testing();
}
