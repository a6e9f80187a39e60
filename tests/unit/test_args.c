/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The handlers' argument parsers, without a server. */
#include "httpd/handlers.h"
#include "tap.h"

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
    return done_testing();
}
