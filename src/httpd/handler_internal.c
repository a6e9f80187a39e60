/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /_matrix/identity/internal/bind and /unbind, on the provisioning
 * listener only ([internal] port): for operators who bind addresses from a
 * directory they already trust, as sydent's internal API does. There is no
 * authentication beyond reaching the listener. A binding made here is
 * signed, stored, looked up and replicated like any other (binding.c).
 * Unlike sydent, addresses are canonicalised as everywhere else (emails
 * case-folded, msisdns must be E.164 digits), so a provisioned binding is
 * found by the same lookups.
 */
#include "app.h"
#include "binding.h"
#include "fed/fed.h"
#include "httpd/handlers.h"
#include "util/config.h"
#include "util/log.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>

enum mxerr
internal_args_parse(const json_t *body,
                    struct internal_args *args,
                    const char **bad_field)
{
    static const char *const names[] = {"medium", "address", "mxid", NULL};
    const char **const outs[] = {&args->medium, &args->address, &args->mxid};
    enum mxerr err = http_body_strings(body, names, outs, bad_field);

    if (err != MXERR_NONE)
        return err;
    *bad_field = "mxid";
    if (!fed_user_id_parse(args->mxid, NULL, NULL))
        return MXERR_INVALID_PARAM;
    *bad_field = NULL;
    return MXERR_NONE;
}

/* Parse and canonicalise; on failure reply. @return the address, or NULL
 * after replying (*ret set). */
static char *
internal_prepare(struct request *rq,
                 const json_t *body,
                 struct internal_args *args,
                 enum MHD_Result *ret)
{
    const char *bad_field = NULL;
    enum mxerr err = internal_args_parse(body, args, &bad_field);
    char *canon = NULL;

    if (err != MXERR_NONE) {
        *ret = http_reply_error(rq, err, bad_field);
        return NULL;
    }
    if (binding_canonical_address(args->medium, args->address, &canon,
                                  &bad_field) != 0) {
        *ret = http_reply_error(rq, MXERR_INVALID_PARAM, bad_field);
        return NULL;
    }
    return canon;
}

/* POST /_matrix/identity/internal/bind */
enum MHD_Result
handler_internal_bind(struct request *rq, const json_t *body)
{
    const struct app *app = rq->app;
    struct binding_signer signer = {app->cfg->general_server_name, app->key};
    struct internal_args args;
    enum MHD_Result ret = MHD_NO;
    char *canon = internal_prepare(rq, body, &args, &ret);
    json_t *assoc = NULL;
    int64_t origin_id = 0;
    enum db_status qs;

    if (canon == NULL)
        return ret;
    qs = binding_bind(rq->db, &signer, args.medium, canon, args.mxid,
                      time_now_ms(), &assoc, &origin_id);
    free(canon);
    if (qs < 0)
        return http_reply_internal(rq, "internal bind");
    LOG_INFO("req %llu: internal API bound a 3PID to %s (origin id %lld)",
             (unsigned long long)rq->id, args.mxid, (long long)origin_id);
    return http_reply_json_steal(rq, MHD_HTTP_OK, assoc);
}

/* POST /_matrix/identity/internal/unbind */
enum MHD_Result
handler_internal_unbind(struct request *rq, const json_t *body)
{
    const struct app *app = rq->app;
    struct binding_signer signer = {app->cfg->general_server_name, app->key};
    struct internal_args args;
    enum MHD_Result ret = MHD_NO;
    char *canon = internal_prepare(rq, body, &args, &ret);
    enum db_status qs;

    if (canon == NULL)
        return ret;
    qs = binding_unbind(rq->db, &signer, args.medium, canon, args.mxid,
                        time_now_ms());
    free(canon);
    if (qs < 0)
        return http_reply_internal(rq, "internal unbind");
    LOG_INFO("req %llu: internal API unbind from %s: %s",
             (unsigned long long)rq->id, args.mxid,
             qs > 0 ? "removed" : "was not bound");
    return http_reply_static_json(rq, MHD_HTTP_OK, "{}");
}
