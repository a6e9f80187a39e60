/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /_matrix/identity/v2/validate/email/requestToken and submitToken
 * (JSON), GET submitToken (the link in the mail, a page for people), and the
 * unauthenticated legacy /api/v1 twins that older homeservers call. The
 * session logic is shared with phone numbers (validation.c); this file knows
 * only what is particular to email: the address syntax and its canonical
 * form, and the message.
 */
#include "app.h"
#include "crypto/crypto.h"
#include "httpd/handlers.h"
#include "httpd/validation.h"
#include "mail/mail.h"
#include "mail/template.h"
#include "util/config.h"
#include "util/email.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/url.h"

#include <stdlib.h>
#include <string.h>

#define EMAIL_TOKEN_LEN 32
/* Longer than any real address, shorter than anything abusive. */
#define EMAIL_INPUT_MAX 500

struct email_job {
    struct mailer *mailer;
    char sid[DB_SID_MAX];
    char *to;
    char *message;
};

static void
email_job_free(void *cls)
{
    struct email_job *j = cls;

    if (j == NULL)
        return;
    free(j->to);
    free(j->message);
    free(j);
}

/* The link in the mail: GET submitToken on our public URL, with the brand
 * so that the page looks like the mail. */
static char *
make_link(struct request *rq,
          const struct db_session *s,
          const char *client_secret)
{
    const char *brand = http_query(rq, "brand");
    char *sid = url_encode(s->sid);
    char *token = url_encode(s->token);
    char *secret = url_encode(client_secret);
    char *b = brand != NULL && templates_has_brand(rq->app->templates, brand)
                  ? url_encode(brand)
                  : NULL;
    char *link = xasprintf("%s/_matrix/identity/v2/validate/email/submitToken"
                           "?token=%s&client_secret=%s&sid=%s%s%s",
                           rq->app->cfg->general_public_baseurl, token, secret,
                           sid, b != NULL ? "&brand=" : "", b != NULL ? b : "");

    free(sid);
    free(token);
    free(secret);
    free(b);
    return link;
}

/* validation_medium.prepare: render the verification mail. */
static void *
email_prepare(struct request *rq,
              const struct db_session *s,
              const char *client_secret)
{
    const struct config *cfg = rq->app->cfg;
    struct tmpl_vars *v = tmpl_vars_new();
    struct email_job *j;
    char *link = make_link(rq, s, client_secret);
    char *why = NULL;
    char *msg;

    mail_vars_envelope(v, cfg, s->address);
    tmpl_vars_set(v, "ipaddress", http_client_ip(rq));
    tmpl_vars_set(v, "link", link);
    tmpl_vars_set(v, "token", s->token);
    msg = templates_render(rq->app->templates, http_query(rq, "brand"),
                           "verification_template.eml", v, &why);
    tmpl_vars_free(v);
    free(link);
    if (msg == NULL) {
        LOG_ERROR("req %llu: verification mail: %s", (unsigned long long)rq->id,
                  why != NULL ? why : "?");
        free(why);
        return NULL;
    }
    j = xcalloc(1, sizeof(*j));
    j->mailer = rq->app->mailer;
    snprintf(j->sid, sizeof(j->sid), "%s", s->sid);
    j->to = xstrdup(s->address);
    j->message = msg;
    return j;
}

/* validation_medium.deliver: on a worker thread. */
static bool
email_deliver(void *cls)
{
    struct email_job *j = cls;
    char *why = NULL;
    enum mail_result r =
        mail_send(j->mailer, j->to, j->message, strlen(j->message), &why);

    /* The server's reply may quote the address: log it only at debug. */
    if (r != MAIL_OK) {
        LOG_WARN("session %s: mail not sent (%s)", j->sid, mail_result_str(r));
        LOG_DEBUG("session %s: %s", j->sid, why != NULL ? why : "?");
    } else
        LOG_INFO("session %s: verification mail sent", j->sid);
    free(why);
    return r == MAIL_OK;
}

static long
email_max_attempts(const struct config *cfg)
{
    return cfg->validation_max_attempts;
}

static const struct validation_medium email_medium = {
    .medium = "email",
    .token_len = EMAIL_TOKEN_LEN,
    .token_charset = TOKEN_ALNUM,
    .send_error = MXERR_EMAIL_SEND_ERROR,
    .noun = "email",
    .prepare = email_prepare,
    .deliver = email_deliver,
    .job_free = email_job_free,
    .max_attempts = email_max_attempts,
    .send_limit = NULL,
};

enum mxerr
email_request_args_parse(const json_t *body,
                         struct email_request_args *args,
                         const char **bad_field)
{
    static const char *const required[] = {"email", NULL};
    struct validation_common_args common;
    const json_t *email = json_object_get(body, "email");
    enum mxerr err = validation_common_args(body, required, &common, bad_field);

    memset(args, 0, sizeof(*args));
    if (err != MXERR_NONE)
        return err;
    *bad_field = "email";
    if (!json_is_string(email) || json_string_length(email) == 0 ||
        json_string_length(email) > EMAIL_INPUT_MAX)
        return MXERR_INVALID_EMAIL;
    *bad_field = NULL;
    args->client_secret = common.client_secret;
    args->email = json_string_value(email);
    args->send_attempt = common.send_attempt;
    args->next_link = common.next_link;
    return MXERR_NONE;
}

/* POST .../validate/email/requestToken (v2 and v1) */
enum MHD_Result
handler_email_request_token(struct request *rq, const json_t *body)
{
    struct email_request_args args;
    const char *bad_field = NULL;
    enum mxerr err = email_request_args_parse(body, &args, &bad_field);
    char *address = NULL;
    enum MHD_Result ret;

    if (err != MXERR_NONE)
        return http_reply_error(rq, err, bad_field);
    if (email_canonicalise(args.email, &address) != 0)
        return http_reply_error(rq, MXERR_INVALID_EMAIL, NULL);
    if (args.next_link != NULL &&
        !validation_next_link_ok(args.next_link,
                                 rq->app->cfg->validation_next_link_domains)) {
        free(address);
        return http_reply_error(rq, MXERR_INVALID_PARAM,
                                "next_link must be an http(s) URL this "
                                "server allows");
    }
    ret =
        validation_request_token(rq, &email_medium, address, args.client_secret,
                                 args.send_attempt, args.next_link, NULL);
    free(address);
    return ret;
}

/* POST .../validate/email/submitToken (v2 and v1) */
enum MHD_Result
handler_email_submit_token(struct request *rq, const json_t *body)
{
    return validation_submit_json(rq, &email_medium, body);
}

/* GET .../validate/email/submitToken: the link in the mail */
enum MHD_Result
handler_email_submit_page(struct request *rq, const json_t *body)
{
    (void)body;
    return validation_submit_page(rq, &email_medium);
}
