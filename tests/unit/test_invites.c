/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Invites without a server: display_name redaction (sydent's vectors),
 * truncation, the store-invite parser and the onbind backoff. */
#include "httpd/handlers.h"
#include "invites/invites.h"
#include "tap.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>

static void
redacts(const char *address, int u, int d, const char *want)
{
    char *got = invite_redact_address(address, u, d);

    is_str(got, want, "redact %s (%d, %d)", address, u, d);
    free(got);
}

static void
truncates(const char *s, size_t max, size_t keep, const char *want)
{
    char *got = invite_truncate(s, max, keep);

    is_str(got, want, "truncate \"%s\" to %zu", s, max);
    free(got);
}

static enum mxerr
parse(const char *text, const char **bad)
{
    json_t *body = json_loads(text, 0, NULL);
    struct invite_args a;
    enum mxerr e = invite_args_parse(body, &a, bad);

    json_decref(body);
    return e;
}

int
main(void)
{
    const char *bad;

    plan_no_plan();
    /* sydent's tests: N = 6 for the user part, 8 for the domain. */
    redacts("1234567890@1234567890.com", 6, 8, "123456...@12345678...");
    redacts("1@1.com", 6, 8, "...@1...");
    /* Defaults (3, 3). */
    redacts("alice@example.org", 3, 3, "ali...@exa...");
    redacts("bob@x.io", 3, 3, "b...@x.i...");
    redacts("ab@cd.ef", 3, 3, "a...@cd....");
    /* Short halves never show everything: 4-5 chars keep one. */
    redacts("dave@abcd", 10, 10, "d...@a...");
    redacts("abcdefgh@host", 10, 10, "abc...@h...");
    /* Code points, not bytes. */
    redacts("\xc3\xa9lodie@\xc3\xa9xample.fr", 3, 3,
            "\xc3\xa9lo...@\xc3\xa9xa...");
    redacts("weird", 3, 3, "wei...");
    {
        char *r = invite_redact_address("secret.person@example.org", 3, 3);

        ok(strstr(r, "secret.person") == NULL &&
               strstr(r, "example.org") == NULL,
           "the address never shows whole");
        free(r);
    }

    truncates("Alice", 20, 19, "Alice");
    truncates("12345678901234567890", 20, 19, "12345678901234567890");
    truncates("123456789012345678901", 20, 19,
              "1234567890123456789\xe2\x80\xa6");
    truncates("\xc3\xa9\xc3\xa9\xc3\xa9", 2, 1, "\xc3\xa9\xe2\x80\xa6");
    truncates("", 20, 19, "");

    is_int(parse("{\"medium\":\"email\",\"address\":\"a@b.org\","
                 "\"room_id\":\"!r:hs.org\",\"sender\":\"@s:hs.org\"}",
                 &bad),
           MXERR_NONE, "store-invite: the four fields");
    is_int(parse("{\"medium\":\"email\",\"address\":\"a@b.org\","
                 "\"room_id\":\"!opaque\",\"sender\":\"@s:hs.org\"}",
                 &bad),
           MXERR_NONE, "a room id without a server (room version 12)");
    is_int(parse("{\"medium\":\"msisdn\",\"address\":\"123\","
                 "\"room_id\":\"!r:hs.org\",\"sender\":\"@s:hs.org\"}",
                 &bad),
           MXERR_MEDIUM_UNSUPPORTED, "msisdn: M_UNRECOGNIZED");
    is_int(parse("{\"medium\":\"email\",\"room_id\":\"!r:hs.org\","
                 "\"sender\":\"@s:hs.org\"}",
                 &bad),
           MXERR_MISSING_PARAMS, "no address");
    is_str(bad, "address", "names it");
    is_int(parse("{\"medium\":\"email\",\"address\":\"a@b.org\","
                 "\"room_id\":\"r:hs.org\",\"sender\":\"@s:hs.org\"}",
                 &bad),
           MXERR_INVALID_PARAM, "room id without '!'");
    is_int(parse("{\"medium\":\"email\",\"address\":\"a@b.org\","
                 "\"room_id\":\"!r:hs.org\",\"sender\":\"s\"}",
                 &bad),
           MXERR_INVALID_PARAM, "sender not a user id");
    is_int(parse("{\"medium\":\"email\",\"address\":\"\","
                 "\"room_id\":\"!r:hs.org\",\"sender\":\"@s:hs.org\"}",
                 &bad),
           MXERR_INVALID_EMAIL, "empty address");

    {
        json_t *b =
            json_pack("{s:s, s:s, s:s, s:s}", "room_name", "Free CASINO chips",
                      "sender", "@s:Evil.Test", "room_id", "!r:hs.test",
                      "org.matrix.web_client_location", "https://app.example");

        ok(invite_blocked("good.test, evil.test", NULL, NULL, b, "@s:Evil.Test",
                          "!r:hs.test"),
           "blocked: the sender's homeserver (any case)");
        ok(!invite_blocked("evil.test.org", NULL, NULL, b, "@s:Evil.Test",
                           "!r:hs.test"),
           "not a suffix match");
        ok(invite_blocked(NULL, "!x:hs.test,!r:hs.test", NULL, b,
                          "@s:Evil.Test", "!r:hs.test"),
           "blocked: the room");
        ok(invite_blocked(NULL, NULL, " casino ", b, "@s:Evil.Test",
                          "!r:hs.test"),
           "blocked: a keyword, case-insensitively");
        ok(!invite_blocked(NULL, NULL, "https,http", b, "@s:Evil.Test",
                           "!r:hs.test"),
           "the web client URL's scheme is no keyword match (sydent#540)");
        ok(!invite_blocked(NULL, NULL, NULL, b, "@s:Evil.Test", "!r:hs.test"),
           "no lists: not blocked");
        json_decref(b);
    }
    is_int(time_backoff_ms(1, 3600000), 1000, "backoff after 1 attempt");
    is_int(time_backoff_ms(2, 3600000), 2000, "after 2");
    is_int(time_backoff_ms(5, 3600000), 16000, "after 5");
    is_int(time_backoff_ms(40, 3600000), 3600000, "capped");
    is_int(time_backoff_ms(3, 2000), 2000, "capped low (tests)");
    return done_testing();
}
