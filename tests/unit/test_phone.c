/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Phone numbers and text messages without a server: normalisation vectors
 * (several countries and ways of typing), the requestToken parser,
 * originators, country lists and body templates.
 */
#include "httpd/handlers.h"
#include "sms/sms.h"
#include "tap.h"
#include "util/phone.h"

#include <stdlib.h>
#include <string.h>

static void
normalises(const char *country,
           const char *number,
           const char *msisdn,
           const char *intl,
           int cc)
{
    struct phone_number pn;

    if (!ok(phone_parse(country, number, &pn) == 0, "%s \"%s\" parses",
            country != NULL ? country : "-", number)) {
        skip(3, "did not parse");
        return;
    }
    is_str(pn.msisdn, msisdn, "  msisdn");
    is_str(pn.intl, intl, "  intl_fmt");
    is_int(pn.country_code, cc, "  calling code");
}

static void
refuses(const char *country, const char *number, const char *why)
{
    struct phone_number pn;

    ok(phone_parse(country, number, &pn) != 0, "refused: %s", why);
}

static enum mxerr
parse(const char *text, const char **bad)
{
    json_t *body = json_loads(text, 0, NULL);
    struct msisdn_request_args a;
    enum mxerr e = msisdn_request_args_parse(body, &a, bad);

    json_decref(body);
    return e;
}

int
main(void)
{
    struct sms_originator o[SMS_ORIGINATORS_MAX];
    struct sms_originator pick;
    struct phone_number pn;
    size_t n;
    const char *why;
    const char *bad;
    char *s;

    plan_no_plan();
    normalises("GB", "07911 123456", "447911123456", "+44 7911 123456", 44);
    normalises("gb", "07911123456", "447911123456", "+44 7911 123456", 44);
    normalises("GB", "+44 (0)7911 123456", "447911123456", "+44 7911 123456",
               44);
    normalises("FR", "+44 7911 123456", "447911123456", "+44 7911 123456", 44);
    normalises("", "+44 7911-123-456", "447911123456", "+44 7911 123456", 44);
    normalises("US", "(650) 253-0000", "16502530000", "+1 650-253-0000", 1);
    normalises("US", "1-650-253-0000", "16502530000", "+1 650-253-0000", 1);
    normalises("DE", "030 123456", "4930123456", "+49 30 123456", 49);
    normalises("FR", "06 12 34 56 78", "33612345678", "+33 6 12 34 56 78", 33);
    normalises("JP", "090-1234-5678", "819012345678", "+81 90-1234-5678", 81);
    normalises("IN", "98765 43210", "919876543210", "+91 98765 43210", 91);
    normalises("BR", "(11) 91234-5678", "5511912345678", "+55 11 91234-5678",
               55);
    normalises(NULL, "+33612345678", "33612345678", "+33 6 12 34 56 78", 33);
    refuses("GB", "123", "too short");
    refuses("GB", "07700 900123", "a UK range reserved for drama");
    refuses("", "07911 123456", "no country and no +");
    refuses("XX", "07911 123456", "an unknown country");
    refuses("GBR", "07911 123456", "a three-letter country");
    refuses("GB", "abc", "letters");
    refuses("GB", "", "empty");
    refuses("GB",
            "0791112345612345678901234567890123456789012345678901234567890123",
            "absurdly long");
    ok(phone_parse("GB", "09098 790000", &pn) == 0 && pn.premium_rate,
       "a UK premium-rate number is flagged");
    ok(phone_parse("GB", "07911 123456", &pn) == 0 && !pn.premium_rate,
       "a mobile number is not");

    is_int(parse("{\"client_secret\":\"s\",\"country\":\"GB\","
                 "\"phone_number\":\"07911123456\",\"send_attempt\":1}",
                 &bad),
           MXERR_NONE, "requestToken: the four fields");
    is_int(parse("{\"client_secret\":\"s\",\"phone_number\":\"07911123456\","
                 "\"send_attempt\":1}",
                 &bad),
           MXERR_MISSING_PARAMS, "no country");
    is_str(bad, "country", "names it");
    is_int(parse("{\"client_secret\":\"s\",\"country\":\"GB\","
                 "\"phone_number\":7911123456,\"send_attempt\":1}",
                 &bad),
           MXERR_INVALID_PARAM, "a number that is a JSON number");
    is_int(parse("{\"client_secret\":\"s s\",\"country\":\"GB\","
                 "\"phone_number\":\"07911123456\",\"send_attempt\":1}",
                 &bad),
           MXERR_INVALID_PARAM, "a bad client_secret");

    ok(sms_originators_parse("44:long:447911000000, 44:short:12345,"
                             "default:alpha:Glia Test",
                             o, &n, &why) == 0 &&
           n == 3,
       "originators parse");
    ok(o[0].country_code == 44 && o[0].type == SMS_FROM_LONG &&
           strcmp(o[0].value, "447911000000") == 0,
       "the first");
    ok(o[2].country_code == 0 && o[2].type == SMS_FROM_ALPHA &&
           strcmp(o[2].value, "Glia Test") == 0,
       "the default");
    pick = sms_originator_pick(o, n, "447911123456", 44);
    /* 4+4+7+9+1+1+1+2+3+4+5+6 = 47, odd: the second of two. */
    is_str(pick.value, "12345", "picked by the sum of the digits");
    pick = sms_originator_pick(o, n, "4930123456", 49);
    is_str(pick.value, "Glia Test", "other countries get the default");
    pick = sms_originator_pick(o, 0, "4930123456", 49);
    is_str(pick.value, "Matrix", "none configured: alpha Matrix");
    ok(sms_originators_parse("44:fax:123", o, &n, &why) != 0, "unknown type");
    ok(sms_originators_parse("44:long:12ab", o, &n, &why) != 0,
       "long must be digits");
    ok(sms_originators_parse("0:long:12", o, &n, &why) != 0,
       "no calling code 0");
    ok(sms_originators_parse("", o, &n, &why) == 0 && n == 0, "empty is fine");

    ok(sms_country_list_valid("44, 1,+49"), "a country list");
    ok(!sms_country_list_valid("44;1"), "a bad separator");
    ok(!sms_country_list_valid("GB"), "letters");
    ok(sms_country_listed("44, 1,+49", 49), "49 is listed");
    ok(!sms_country_listed("44, 1,+49", 4), "4 is not (no prefix match)");
    ok(!sms_country_listed(NULL, 44), "an empty list lists nothing");

    {
        const char *const names[] = {"number", "message"};
        const char *const values[] = {"+447911123456", "Code \"12\"\n"};

        s = sms_substitute("{\"to\":\"{number}\",\"text\":\"{message}\","
                           "\"x\":\"{other}\"}",
                           names, values, 2, true);
        is_str(s,
               "{\"to\":\"+447911123456\",\"text\":\"Code \\\"12\\\"\\n\","
               "\"x\":\"{other}\"}",
               "JSON body: values escaped, unknown placeholders kept");
        free(s);
        s = sms_substitute("Your code is {message}.", names, values, 2, false);
        is_str(s, "Your code is Code \"12\"\n.", "plain text");
        free(s);
    }
    return done_testing();
}
