/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The handlers' argument parsers, without a server. */
#include "binding.h"
#include "httpd/handlers.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static enum mxerr
reg(const char *text, const char **bad)
{
    json_t *body = json_loads(text, 0, NULL);
    struct register_args a;
    enum mxerr e;

    *bad = NULL;
    e = register_args_parse(body, &a, bad);
    json_decref(body);
    return e;
}

static enum mxerr
terms(const char *text)
{
    json_t *body = json_loads(text, 0, NULL);
    const json_t *urls;
    const char *bad;
    enum mxerr e = terms_args_parse(body, &urls, &bad);

    json_decref(body);
    return e;
}

static enum mxerr
parse_bind(const char *text)
{
    json_t *body = json_loads(text, 0, NULL);
    struct bind_args a;
    const char *bad;
    enum mxerr e = bind_args_parse(body, &a, &bad);

    json_decref(body);
    return e;
}

static enum mxerr
lookup(const char *text, size_t max)
{
    json_t *body = json_loads(text, 0, NULL);
    struct lookup_args a;
    const char *bad;
    enum mxerr e = lookup_args_parse(body, max, &a, &bad);

    json_decref(body);
    return e;
}

static enum mxerr
unbind(const char *text, struct unbind_args *a, const char **bad)
{
    /* The body outlives the parse here: args borrow from it. */
    static json_t *body;
    enum mxerr e;

    json_decref(body);
    body = json_loads(text, 0, NULL);
    e = unbind_args_parse(body, a, bad);
    return e;
}

static enum mxerr
internal(const char *text, const char **bad)
{
    json_t *body = json_loads(text, 0, NULL);
    struct internal_args a;
    enum mxerr e = internal_args_parse(body, &a, bad);

    json_decref(body);
    return e;
}

static void
unbind_tests(void)
{
    struct unbind_args a;
    const char *bad;
    char *canon;

    is_int(unbind("{\"mxid\":\"@a:hs.org\",\"threepid\":{\"medium\":"
                  "\"email\",\"address\":\"a@b.org\"}}",
                  &a, &bad),
           MXERR_NONE, "unbind: homeserver form (no session)");
    ok(a.sid == NULL && a.client_secret == NULL, "no session proof");
    is_str(a.medium, "email", "medium");
    is_str(a.address, "a@b.org", "address");
    is_int(unbind("{\"mxid\":\"@a:hs.org\",\"threepid\":{\"medium\":"
                  "\"email\",\"address\":\"a@b.org\"},\"sid\":\"1\","
                  "\"client_secret\":\"s\"}",
                  &a, &bad),
           MXERR_NONE, "unbind: session form");
    is_str(a.sid, "1", "sid");
    is_int(unbind("{\"threepid\":{\"medium\":\"email\",\"address\":\"a@b\"}}",
                  &a, &bad),
           MXERR_MISSING_PARAMS, "unbind: no mxid");
    is_str(bad, "mxid", "names it");
    is_int(unbind("{\"mxid\":\"@a:hs.org\"}", &a, &bad), MXERR_MISSING_PARAMS,
           "unbind: no threepid");
    is_str(bad, "threepid", "names it");
    is_int(
        unbind("{\"mxid\":\"@a:hs.org\",\"threepid\":\"a@b.org\"}", &a, &bad),
        MXERR_INVALID_PARAM, "unbind: threepid not an object");
    is_int(unbind("{\"mxid\":\"@a:hs.org\",\"threepid\":{\"medium\":"
                  "\"email\"}}",
                  &a, &bad),
           MXERR_MISSING_PARAMS, "unbind: threepid without address");
    is_str(bad, "threepid.address", "names it");
    is_int(unbind("{\"mxid\":\"@a:hs.org\",\"threepid\":{\"medium\":1,"
                  "\"address\":\"a@b.org\"}}",
                  &a, &bad),
           MXERR_INVALID_PARAM, "unbind: medium not a string");
    is_str(bad, "threepid.medium", "names it");
    is_int(unbind("{\"mxid\":\"alice\",\"threepid\":{\"medium\":\"email\","
                  "\"address\":\"a@b.org\"}}",
                  &a, &bad),
           MXERR_INVALID_PARAM, "unbind: mxid not a user id");
    is_int(unbind("{\"mxid\":\"@a:hs.org\",\"threepid\":{\"medium\":"
                  "\"email\",\"address\":\"a@b.org\"},\"sid\":\"1\"}",
                  &a, &bad),
           MXERR_MISSING_PARAMS, "unbind: sid without client_secret");
    is_str(bad, "client_secret", "names it");
    is_int(unbind("{\"mxid\":\"@a:hs.org\",\"threepid\":{\"medium\":"
                  "\"email\",\"address\":\"a@b.org\"},\"sid\":1,"
                  "\"client_secret\":\"s\"}",
                  &a, &bad),
           MXERR_INVALID_PARAM, "unbind: sid not a string");
    unbind("{}", &a, &bad); /* frees the last body */

    is_int(internal("{\"medium\":\"email\",\"address\":\"a@b.org\","
                    "\"mxid\":\"@a:hs.org\"}",
                    &bad),
           MXERR_NONE, "internal: all three");
    is_int(internal("{\"medium\":\"email\",\"address\":\"a@b.org\"}", &bad),
           MXERR_MISSING_PARAMS, "internal: no mxid");
    is_int(internal("{\"medium\":\"email\",\"address\":\"a@b.org\","
                    "\"mxid\":\"a\"}",
                    &bad),
           MXERR_INVALID_PARAM, "internal: bad mxid");

    ok(binding_canonical_address("email", "Alice@Example.ORG", &canon, &bad) ==
               0 &&
           strcmp(canon, "alice@example.org") == 0,
       "canonical: emails are case-folded");
    free(canon);
    ok(binding_canonical_address("email", "not an address", &canon, &bad) !=
               0 &&
           strcmp(bad, "address") == 0,
       "canonical: a bad email is refused");
    ok(binding_canonical_address("msisdn", "447700900123", &canon, &bad) == 0 &&
           strcmp(canon, "447700900123") == 0,
       "canonical: E.164 digits");
    free(canon);
    ok(binding_canonical_address("msisdn", "+447700900123", &canon, &bad) != 0,
       "canonical: msisdn with a plus is refused");
    ok(binding_canonical_address("msisdn", "1234567890123456", &canon, &bad) !=
           0,
       "canonical: msisdn longer than 15 digits is refused");
    ok(binding_canonical_address("fax", "123", &canon, &bad) != 0 &&
           strcmp(bad, "medium") == 0,
       "canonical: unknown medium");
}

int
main(void)
{
    const char *bad;

    plan_no_plan();
    is_int(reg("{\"access_token\":\"t\",\"token_type\":\"Bearer\","
               "\"matrix_server_name\":\"hs.org\",\"expires_in\":3600}",
               &bad),
           MXERR_NONE, "register: full OpenID object");
    is_int(
        reg("{\"access_token\":\"t\",\"matrix_server_name\":\"hs.org\"}", &bad),
        MXERR_NONE, "register: sydent's two fields are enough");
    is_int(reg("{\"matrix_server_name\":\"hs.org\"}", &bad),
           MXERR_MISSING_PARAMS, "register: no access_token");
    is_str(bad, "access_token", "names the field");
    is_int(reg("{\"access_token\":\"t\"}", &bad), MXERR_MISSING_PARAMS,
           "register: no server name");
    is_str(bad, "matrix_server_name", "names the field");
    is_int(reg("{\"access_token\":5,\"matrix_server_name\":\"hs\"}", &bad),
           MXERR_INVALID_PARAM, "register: token not a string");
    is_int(reg("{\"access_token\":\"\",\"matrix_server_name\":\"hs\"}", &bad),
           MXERR_INVALID_PARAM, "register: empty token");
    is_int(reg("{\"access_token\":\"t\",\"matrix_server_name\":[]}", &bad),
           MXERR_INVALID_PARAM, "register: server name not a string");
    is_int(reg("{\"access_token\":\"t\",\"matrix_server_name\":\"hs\","
               "\"token_type\":\"MAC\"}",
               &bad),
           MXERR_INVALID_PARAM, "register: token_type must be Bearer");
    is_str(bad, "token_type", "names the field");
    is_int(reg("{\"access_token\":\"t\",\"matrix_server_name\":\"hs\","
               "\"expires_in\":\"soon\"}",
               &bad),
           MXERR_INVALID_PARAM, "register: expires_in must be an integer");

    is_int(terms("{\"user_accepts\":[\"https://a\",\"https://b\"]}"),
           MXERR_NONE, "terms: list of URLs");
    is_int(terms("{\"user_accepts\":[]}"), MXERR_NONE, "terms: empty list");
    is_int(terms("{}"), MXERR_MISSING_PARAMS, "terms: missing");
    is_int(terms("{\"user_accepts\":\"https://a\"}"), MXERR_INVALID_PARAM,
           "terms: not a list");
    is_int(terms("{\"user_accepts\":[1]}"), MXERR_INVALID_PARAM,
           "terms: not strings");
    is_int(parse_bind("{\"sid\":\"s\",\"client_secret\":\"c\","
                      "\"mxid\":\"@a:hs.org\"}"),
           MXERR_NONE, "bind: all three");
    is_int(parse_bind("{\"sid\":\"s\",\"client_secret\":\"c\"}"),
           MXERR_MISSING_PARAMS, "bind: no mxid");
    is_int(parse_bind("{\"sid\":\"s\",\"client_secret\":\"c\",\"mxid\":\"a\"}"),
           MXERR_INVALID_PARAM, "bind: mxid without @ and server");
    is_int(parse_bind("{\"sid\":1,\"client_secret\":\"c\","
                      "\"mxid\":\"@a:hs.org\"}"),
           MXERR_INVALID_PARAM, "bind: sid not a string");
    is_int(lookup("{\"algorithm\":\"sha256\",\"pepper\":\"p\","
                  "\"addresses\":[\"a\",\"b\"]}",
                  10),
           MXERR_NONE, "lookup: sha256");
    is_int(lookup("{\"algorithm\":\"none\",\"pepper\":\"p\","
                  "\"addresses\":[]}",
                  10),
           MXERR_NONE, "lookup: none, empty");
    is_int(lookup("{\"pepper\":\"p\",\"addresses\":[]}", 10),
           MXERR_MISSING_PARAMS, "lookup: no algorithm");
    is_int(lookup("{\"algorithm\":\"sha256\",\"addresses\":[]}", 10),
           MXERR_MISSING_PARAMS, "lookup: no pepper");
    is_int(lookup("{\"algorithm\":\"md5\",\"pepper\":\"p\","
                  "\"addresses\":[]}",
                  10),
           MXERR_INVALID_PARAM, "lookup: unknown algorithm");
    is_int(lookup("{\"algorithm\":\"sha256\",\"pepper\":\"p\","
                  "\"addresses\":[1]}",
                  10),
           MXERR_INVALID_PARAM, "lookup: not strings");
    is_int(lookup("{\"algorithm\":\"sha256\",\"pepper\":\"p\","
                  "\"addresses\":[\"a\",\"b\",\"c\"]}",
                  2),
           MXERR_TOO_MANY_ADDRESSES, "lookup: over the cap");
    unbind_tests();
    return done_testing();
}
