/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * GET and POST /_matrix/identity/v2/terms. Acceptance accumulates across
 * calls; accepting one language's URL of a policy version accepts that
 * version. URLs that are not in the current terms are ignored rather than
 * refused, so a client holding a stale list is not locked out.
 */
#include "app.h"
#include "db/db.h"
#include "httpd/handlers.h"
#include "terms/terms.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#include <stdlib.h>

/* More URLs than any real terms file has. */
#define TERMS_ACCEPT_MAX 256

/* GET /_matrix/identity/v2/terms */
enum MHD_Result
handler_terms_get(struct request *rq, const json_t *body)
{
    (void)body;
    return http_reply_static_json(rq, MHD_HTTP_OK,
                                  terms_response_json(rq->app->terms));
}

enum mxerr
terms_args_parse(const json_t *body,
                 const json_t **urls,
                 const char **bad_field)
{
    json_t *a = json_object_get(body, "user_accepts");
    size_t i;
    json_t *v;

    *bad_field = "user_accepts";
    if (a == NULL)
        return MXERR_MISSING_PARAMS;
    if (!json_is_array(a) || json_array_size(a) > TERMS_ACCEPT_MAX)
        return MXERR_INVALID_PARAM;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return MXERR_INVALID_PARAM;
    }
    *urls = a;
    return MXERR_NONE;
}

/* POST /_matrix/identity/v2/terms */
enum MHD_Result
handler_terms_post(struct request *rq, const json_t *body)
{
    const struct terms *t = rq->app->terms;
    const json_t *urls = NULL;
    const char *bad_field = NULL;
    struct db_terms_acceptance *acc;
    size_t n = 0;
    size_t i;
    json_t *v;
    enum mxerr err;
    enum db_status qs;
    int satisfied;

    err = terms_args_parse(body, &urls, &bad_field);
    if (err != MXERR_NONE)
        return http_reply_error(rq, err, bad_field);
    acc = xcalloc(json_array_size(urls) + 1, sizeof(*acc));
    json_array_foreach(urls, i, v)
    {
        const char *url = json_string_value(v);

        if (terms_url_lookup(t, url, &acc[n].policy, &acc[n].version)) {
            acc[n].url = url;
            n++;
        } else {
            LOG_DEBUG("req %llu: ignoring unknown terms URL",
                      (unsigned long long)rq->id);
        }
    }
    qs = db_terms_accept(rq->db, rq->user_id, acc, n, time_now_ms());
    free(acc);
    if (qs < 0)
        return http_reply_internal(rq, "db_terms_accept");
    /* Refresh the account's consent fingerprint now, so the gated requests
     * that follow pass on the fast path. */
    satisfied = http_terms_satisfied(rq, NULL);
    if (satisfied < 0)
        return http_reply_internal(rq, "db_terms_accepted");
    return http_reply_static_json(rq, MHD_HTTP_OK, "{}");
}
