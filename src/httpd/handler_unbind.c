/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /_matrix/identity/v2/3pid/unbind (and the v1 twin homeservers
 * used before v2). Two ways to prove the right to unbind, as the spec says:
 *   - sid and client_secret of a validated session for that very 3PID
 *     (the owner of the address);
 *   - an X-Matrix signature by the homeserver of the mxid (what Synapse
 *     sends when a user removes a 3PID or deactivates). No Bearer token is
 *     needed: homeservers never send one, and leaving must not hinge on
 *     accepting new terms.
 * Unbinding what is not bound answers {} like a successful unbind: the end
 * state the caller asked for holds, and Synapse then forgets its record.
 *
 * Fetching the homeserver's keys is network I/O, so the signature check
 * runs on the worker pool with the connection suspended (http_defer()).
 */
#include "app.h"
#include "binding.h"
#include "fed/fed.h"
#include "httpd/handlers.h"
#include "httpd/validation.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum mxerr
unbind_args_parse(const json_t *body,
                  struct unbind_args *args,
                  const char **bad_field)
{
    static const char *const top[] = {"mxid", NULL};
    static const char *const tp[] = {"medium", "address", NULL};
    const char **const top_out[] = {&args->mxid};
    const char **const tp_out[] = {&args->medium, &args->address};
    const json_t *threepid = json_object_get(body, "threepid");
    const json_t *sid = json_object_get(body, "sid");
    const json_t *secret = json_object_get(body, "client_secret");
    enum mxerr err;

    memset(args, 0, sizeof(*args));
    err = http_body_strings(body, top, top_out, bad_field);
    if (err != MXERR_NONE)
        return err;
    *bad_field = "threepid";
    if (threepid == NULL)
        return MXERR_MISSING_PARAMS;
    if (!json_is_object(threepid))
        return MXERR_INVALID_PARAM;
    err = http_body_strings(threepid, tp, tp_out, bad_field);
    if (err != MXERR_NONE) {
        *bad_field = strcmp(*bad_field, "medium") == 0 ? "threepid.medium"
                                                       : "threepid.address";
        return err;
    }
    *bad_field = "mxid";
    if (!fed_user_id_parse(args->mxid, NULL, NULL))
        return MXERR_INVALID_PARAM;
    /* Session proof: both or neither (neither: a homeserver signature). */
    if (sid != NULL || secret != NULL) {
        *bad_field = sid == NULL ? "sid" : "client_secret";
        if (sid == NULL || secret == NULL)
            return MXERR_MISSING_PARAMS;
        *bad_field = !json_is_string(sid) ? "sid" : "client_secret";
        if (!json_is_string(sid) || !json_is_string(secret))
            return MXERR_INVALID_PARAM;
        args->sid = json_string_value(sid);
        args->client_secret = json_string_value(secret);
    }
    *bad_field = NULL;
    return MXERR_NONE;
}

/* Unbind (medium, canon) from mxid, and answer. */
static enum MHD_Result
unbind_and_reply(struct request *rq,
                 const char *medium,
                 const char *canon,
                 const char *mxid,
                 const char *how)
{
    const struct app *app = rq->app;
    struct binding_signer signer = {app->cfg->general_server_name, app->key};
    enum db_status qs =
        binding_unbind(rq->db, &signer, medium, canon, mxid, time_now_ms());

    if (qs < 0)
        return http_reply_internal(rq, "unbind");
    LOG_INFO("req %llu: unbind of a 3PID from %s (%s): %s",
             (unsigned long long)rq->id, mxid, how,
             qs > 0 ? "removed" : "was not bound");
    return http_reply_static_json(rq, MHD_HTTP_OK, "{}");
}

/* ---- by validated session ---------------------------------------------- */

static enum MHD_Result
unbind_by_session(struct request *rq,
                  const struct unbind_args *args,
                  const char *canon)
{
    struct db_session s;
    enum mxerr err =
        validation_validated_session(rq, args->sid, args->client_secret, &s);
    bool same;

    if (err == MXERR_UNKNOWN)
        return http_reply_internal(rq, "unbind: session");
    if (err != MXERR_NONE)
        return http_reply_error(rq, err, NULL);
    same = strcmp(s.medium, args->medium) == 0 && strcmp(s.address, canon) == 0;
    db_session_clear(&s);
    if (!same)
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "the session is for another 3PID");
    return unbind_and_reply(rq, args->medium, canon, args->mxid, "session");
}

/* ---- by homeserver signature ------------------------------------------- */

struct sig_check {
    struct fed_client *fed;
    char *authorization;
    char *method;
    char *uri;
    char *destination_is;
    json_t *content;
    char *medium;
    char *canon;
    char *mxid;
    /* Results, written by the worker. */
    enum fed_error result;
    struct fed_xmatrix xm;
    char *why;
};

static void
sig_check_free(void *cls)
{
    struct sig_check *c = cls;

    free(c->authorization);
    free(c->method);
    free(c->uri);
    free(c->destination_is);
    json_decref(c->content);
    free(c->medium);
    free(c->canon);
    free(c->mxid);
    free(c->why);
    free(c);
}

/* On a worker: fetch the origin's key (maybe) and verify. */
static void
sig_check_run(void *cls)
{
    struct sig_check *c = cls;

    c->result = fed_xmatrix_verify(c->fed, c->authorization, c->method, c->uri,
                                   c->destination_is, c->content, time_now_ms(),
                                   &c->xm, &c->why);
}

static enum MHD_Result
sig_checked(struct request *rq, void *cls, bool done)
{
    struct sig_check *c = cls;

    if (!done)
        return http_reply_error(rq, MXERR_BUSY, "shutting down");
    if (c->result != FED_OK)
        LOG_INFO("req %llu: unbind signature refused: %s",
                 (unsigned long long)rq->id,
                 c->why != NULL ? c->why : fed_error_str(c->result));
    switch (c->result) {
    case FED_OK:
        return unbind_and_reply(rq, c->medium, c->canon, c->mxid,
                                "homeserver signature");
    case FED_BAD_NAME:
    case FED_BAD_SIGNATURE:
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "invalid homeserver signature");
    case FED_KEY_UNKNOWN:
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "the homeserver does not publish the "
                                "signing key");
    case FED_KEY_EXPIRED:
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "the homeserver's signing keys have expired");
    case FED_FORBIDDEN_ADDRESS:
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "the homeserver's address is not one glia "
                                "may contact");
    default:
        return http_reply_error(rq, MXERR_HOMESERVER_FAILED,
                                "could not fetch the homeserver's signing "
                                "keys");
    }
}

struct find_xmatrix {
    const char *value;
};

static enum MHD_Result
find_xmatrix_header(void *cls,
                    enum MHD_ValueKind kind,
                    const char *key,
                    const char *value)
{
    struct find_xmatrix *f = cls;

    (void)kind;
    if (value != NULL && strcasecmp(key, "Authorization") == 0 &&
        strncasecmp(value, "X-Matrix", 8) == 0) {
        f->value = value;
        return MHD_NO; /* the first one */
    }
    return MHD_YES;
}

static enum MHD_Result
unbind_by_signature(struct request *rq,
                    const struct unbind_args *args,
                    const char *canon)
{
    struct find_xmatrix f = {NULL};
    struct fed_xmatrix xm;
    struct fed_server_name user_dom;
    struct fed_server_name origin;
    char a[FED_NAME_MAX + 8];
    char b[FED_NAME_MAX + 8];
    struct sig_check *c;

    MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, find_xmatrix_header,
                              &f);
    if (f.value == NULL)
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "send sid and client_secret of a validated "
                                "session, or sign the request as the "
                                "user's homeserver (X-Matrix)");
    if (!fed_xmatrix_parse(f.value, &xm))
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "malformed X-Matrix authorization");
    /* Only the user's own homeserver speaks for the user. */
    if (!fed_user_id_parse(args->mxid, NULL, &user_dom) ||
        !fed_server_name_parse(xm.origin, &origin) ||
        !fed_server_name_format(&user_dom, a, sizeof(a)) ||
        !fed_server_name_format(&origin, b, sizeof(b)) || strcmp(a, b) != 0)
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "the signing server is not the mxid's "
                                "homeserver");
    c = xcalloc(1, sizeof(*c));
    c->fed = rq->app->fed;
    c->authorization = xstrdup(f.value);
    c->method = xstrdup(rq->method_name);
    c->uri = xstrdup(rq->uri);
    c->destination_is = xstrdup(rq->app->cfg->general_server_name);
    c->content = json_deep_copy(rq->json);
    c->medium = xstrdup(args->medium);
    c->canon = xstrdup(canon);
    c->mxid = xstrdup(args->mxid);
    if (c->content == NULL ||
        http_defer(rq, sig_check_run, sig_checked, c, sig_check_free) != 0) {
        sig_check_free(c);
        return http_reply_error(rq, MXERR_BUSY, NULL);
    }
    return MHD_YES;
}

/* POST /_matrix/identity/v2/3pid/unbind */
enum MHD_Result
handler_3pid_unbind(struct request *rq, const json_t *body)
{
    struct unbind_args args;
    const char *bad_field = NULL;
    enum mxerr err = unbind_args_parse(body, &args, &bad_field);
    char *canon = NULL;
    enum MHD_Result ret;

    if (err != MXERR_NONE)
        return http_reply_error(rq, err, bad_field);
    if (binding_canonical_address(args.medium, args.address, &canon,
                                  &bad_field) != 0)
        return http_reply_error(rq, MXERR_INVALID_PARAM,
                                strcmp(bad_field, "medium") == 0
                                    ? "threepid.medium"
                                    : "threepid.address");
    if (args.sid != NULL)
        ret = unbind_by_session(rq, &args, canon);
    else
        ret = unbind_by_signature(rq, &args, canon);
    free(canon);
    return ret;
}
