/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /_matrix/identity/v2/account/register, GET /account and
 * POST /account/logout. Registration trades an OpenID token from the user's
 * homeserver for a glia access token: we ask that homeserver (found by
 * federation server discovery, behind the outbound address guard) who the
 * token belongs to, and insist the user lives on that very server.
 */
#include "app.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "fed/fed.h"
#include "httpd/handlers.h"
#include "util/log.h"
#include "util/time.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Our access tokens: 64 alphanumerics, about 381 bits. */
#define ACCOUNT_TOKEN_LEN 64
/* OpenID tokens longer than this are not a homeserver's. */
#define OPENID_TOKEN_MAX  2048

enum mxerr
register_args_parse(const json_t *body,
                    struct register_args *args,
                    const char **bad_field)
{
    json_t *tok = json_object_get(body, "access_token");
    json_t *name = json_object_get(body, "matrix_server_name");
    json_t *type = json_object_get(body, "token_type");
    json_t *expires = json_object_get(body, "expires_in");

    memset(args, 0, sizeof(*args));
    if (tok == NULL) {
        *bad_field = "access_token";
        return MXERR_MISSING_PARAMS;
    }
    if (name == NULL) {
        *bad_field = "matrix_server_name";
        return MXERR_MISSING_PARAMS;
    }
    if (!json_is_string(tok) || json_string_length(tok) == 0 ||
        json_string_length(tok) > OPENID_TOKEN_MAX) {
        *bad_field = "access_token";
        return MXERR_INVALID_PARAM;
    }
    if (!json_is_string(name) || json_string_length(name) == 0 ||
        json_string_length(name) > 255) {
        *bad_field = "matrix_server_name";
        return MXERR_INVALID_PARAM;
    }
    /* Optional in practice (sydent never required them), checked if sent. */
    if (type != NULL && (!json_is_string(type) ||
                         strcasecmp(json_string_value(type), "Bearer") != 0)) {
        *bad_field = "token_type";
        return MXERR_INVALID_PARAM;
    }
    if (expires != NULL && !json_is_integer(expires)) {
        *bad_field = "expires_in";
        return MXERR_INVALID_PARAM;
    }
    args->access_token = json_string_value(tok);
    args->server_name = json_string_value(name);
    return MXERR_NONE;
}

/* POST /_matrix/identity/v2/account/register */
enum MHD_Result
handler_account_register(struct request *rq, const json_t *body)
{
    struct register_args args;
    const char *bad_field = NULL;
    enum mxerr err;
    enum fed_error fr;
    char *user_id = NULL;
    char *why = NULL;
    char token[ACCOUNT_TOKEN_LEN + 1];
    char hash[65];
    enum db_status qs;
    enum MHD_Result ret;

    err = register_args_parse(body, &args, &bad_field);
    if (err != MXERR_NONE)
        return http_reply_error(rq, err, bad_field);
    fr = fed_openid_userinfo(rq->app->fed, args.server_name, args.access_token,
                             &user_id, &why);
    if (fr != FED_OK) {
        LOG_INFO("req %llu: register via %s refused: %s",
                 (unsigned long long)rq->id, args.server_name,
                 why != NULL ? why : fed_error_str(fr));
        free(why);
        free(user_id);
        switch (fr) {
        case FED_BAD_NAME:
            return http_reply_error(rq, MXERR_INVALID_PARAM,
                                    "matrix_server_name");
        case FED_FORBIDDEN_ADDRESS:
            return http_reply_error(rq, MXERR_FORBIDDEN,
                                    "the homeserver's address is not one "
                                    "glia may contact");
        case FED_REJECTED:
            return http_reply_error(rq, MXERR_UNKNOWN_TOKEN,
                                    "the homeserver did not accept the "
                                    "OpenID token");
        case FED_FOREIGN_USER:
            return http_reply_error(rq, MXERR_FORBIDDEN,
                                    "the homeserver vouched for a user of "
                                    "another server");
        default:
            return http_reply_error(rq, MXERR_HOMESERVER_FAILED,
                                    "could not verify the OpenID token");
        }
    }
    free(why);
    token_random(token, ACCOUNT_TOKEN_LEN, TOKEN_ALNUM);
    http_token_hash(token, hash);
    qs = db_account_register(rq->db, user_id, hash, time_now_ms());
    if (qs < 0) {
        sodium_memzero(token, sizeof(token));
        free(user_id);
        return http_reply_internal(rq, "db_account_register");
    }
    LOG_INFO("req %llu: registered a token for %s", (unsigned long long)rq->id,
             user_id);
    free(user_id);
    /* "access_token" too: old clients read the name sydent shipped first. */
    ret = http_reply_json_steal(
        rq, MHD_HTTP_OK,
        json_pack("{s:s, s:s}", "token", token, "access_token", token));
    sodium_memzero(token, sizeof(token));
    return ret;
}

/* GET /_matrix/identity/v2/account */
enum MHD_Result
handler_account_get(struct request *rq, const json_t *body)
{
    (void)body;
    return http_reply_json_steal(rq, MHD_HTTP_OK,
                                 json_pack("{s:s}", "user_id", rq->user_id));
}

/* POST /_matrix/identity/v2/account/logout */
enum MHD_Result
handler_account_logout(struct request *rq, const json_t *body)
{
    enum db_status qs;

    (void)body;
    qs = db_token_delete(rq->db, rq->token_hash);
    if (qs < 0)
        return http_reply_internal(rq, "db_token_delete");
    if (qs == DB_NO_RESULTS) /* logged out concurrently */
        return http_reply_error(rq, MXERR_UNKNOWN_TOKEN, NULL);
    return http_reply_static_json(rq, MHD_HTTP_OK, "{}");
}
