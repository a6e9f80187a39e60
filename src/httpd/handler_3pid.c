/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * GET /_matrix/identity/v2/3pid/getValidated3pid (and its unauthenticated
 * legacy v1 route, which homeservers use for delegated validation), and
 * POST /_matrix/identity/v2/3pid/bind: a validated session plus the
 * account's own Matrix ID become a signed, stored, discoverable binding.
 */
#include "app.h"
#include "binding.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "fed/fed.h"
#include "httpd/handlers.h"
#include "httpd/validation.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>

enum MHD_Result
handler_3pid_get_validated(struct request *rq, const json_t *body)
{
    (void)body;
    return validation_get_validated(rq);
}

enum mxerr
bind_args_parse(const json_t *body,
                struct bind_args *args,
                const char **bad_field)
{
    static const char *const names[] = {"sid", "client_secret", "mxid", NULL};
    const char **const outs[] = {&args->sid, &args->client_secret, &args->mxid};
    enum mxerr err = http_body_strings(body, names, outs, bad_field);

    if (err != MXERR_NONE)
        return err;
    *bad_field = "mxid";
    if (!fed_user_id_parse(args->mxid, NULL, NULL))
        return MXERR_INVALID_PARAM;
    *bad_field = NULL;
    return MXERR_NONE;
}

/* POST /_matrix/identity/v2/3pid/bind */
enum MHD_Result
handler_3pid_bind(struct request *rq, const json_t *body)
{
    const struct app *app = rq->app;
    struct binding_signer signer = {app->cfg->general_server_name, app->key};
    struct bind_args args;
    const char *bad_field = NULL;
    enum mxerr err = bind_args_parse(body, &args, &bad_field);
    struct db_session s;
    json_t *assoc = NULL;
    int64_t origin_id = 0;
    enum db_status qs;

    if (err != MXERR_NONE)
        return http_reply_error(rq, err, bad_field);
    /* Proving an address does not let anyone bind it to someone else. */
    if (strcmp(args.mxid, rq->user_id) != 0)
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "mxid is not the account's own user");
    err = validation_validated_session(rq, args.sid, args.client_secret, &s);
    if (err == MXERR_UNKNOWN)
        return http_reply_internal(rq, "bind: session");
    if (err != MXERR_NONE)
        return http_reply_error(rq, err, NULL);
    qs = binding_bind(rq->db, &signer, s.medium, s.address, args.mxid,
                      time_now_ms(), &assoc, &origin_id);
    db_session_clear(&s);
    if (qs < 0)
        return http_reply_internal(rq, "bind");
    LOG_INFO("req %llu: bound a 3PID to %s (origin id %lld)",
             (unsigned long long)rq->id, args.mxid, (long long)origin_id);
    return http_reply_json_steal(rq, MHD_HTTP_OK, assoc);
}
