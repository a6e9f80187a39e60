/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /_matrix/identity/v2/validate/msisdn/requestToken and submitToken,
 * GET submitToken, and the unauthenticated /api/v1 twins that Synapse
 * calls when it delegates phone validation. The session logic is the one
 * email uses (validation.c); this file knows what is particular to phones:
 * parsing the number (libphonenumber, util/phone.cc), the toll-fraud guard
 * (country lists, premium-rate numbers, per-country and global limits),
 * short numeric codes with a strict attempt limit, and the text message.
 */
#include "app.h"
#include "crypto/crypto.h"
#include "httpd/handlers.h"
#include "httpd/validation.h"
#include "sms/sms.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/netaddr.h"
#include "util/phone.h"
#include "util/ratelimit.h"
#include "util/time.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Six digits: easy to type from a text message. A million values, so the
 * attempt limit ([sms] max_attempts) is what keeps guessing out. */
#define MSISDN_TOKEN_LEN 6

struct sms_job {
    struct sms_sender *sender;
    char sid[DB_SID_MAX];
    char msisdn[16];
    int country_code;
    char *text;
};

static void
sms_job_free(void *cls)
{
    struct sms_job *j = cls;

    if (j == NULL)
        return;
    if (j->text != NULL) {
        sodium_memzero(j->text, strlen(j->text)); /* holds the code */
        free(j->text);
    }
    free(j);
}

/* The country calling code of a stored msisdn (E.164 digits). */
static int
country_of(const char *msisdn)
{
    char plus[20];
    struct phone_number pn;

    snprintf(plus, sizeof(plus), "+%s", msisdn);
    return phone_parse(NULL, plus, &pn) == 0 ? pn.country_code : 0;
}

/* validation_medium.prepare: the text of the message. */
static void *
sms_prepare(struct request *rq,
            const struct db_session *s,
            const char *client_secret)
{
    const char *const names[] = {"token"};
    const char *const values[] = {s->token};
    struct sms_job *j = xcalloc(1, sizeof(*j));

    (void)client_secret;
    j->sender = rq->app->sms;
    snprintf(j->sid, sizeof(j->sid), "%s", s->sid);
    snprintf(j->msisdn, sizeof(j->msisdn), "%s", s->address);
    j->country_code = country_of(s->address);
    j->text = sms_substitute(rq->app->cfg->sms_message_template, names, values,
                             1, false);
    return j;
}

/* validation_medium.deliver: on a worker thread. */
static bool
sms_deliver(void *cls)
{
    struct sms_job *j = cls;
    char *why = NULL;
    bool ok = sms_send(j->sender, j->msisdn, j->country_code, j->text, &why);

    /* The gateway's answer may quote the number: that only at debug. */
    if (!ok) {
        LOG_WARN("session %s: text message not sent", j->sid);
        LOG_DEBUG("session %s: %s", j->sid, why != NULL ? why : "?");
    } else {
        LOG_INFO("session %s: text message sent", j->sid);
    }
    free(why);
    return ok;
}

static long
sms_max_attempts(const struct config *cfg)
{
    return cfg->sms_max_attempts;
}

/* Messages cost money: per country and overall, counted when one is about
 * to go out. */
static int64_t
sms_send_limit(struct request *rq, const char *address)
{
    char key[32];
    int64_t now = time_mono_us() / 1000;
    int64_t wait;

    snprintf(key, sizeof(key), "cc:%d", country_of(address));
    wait = ratelimit_take(rq->app->limit_sms_country, key, now);
    if (wait == 0)
        wait = ratelimit_take(rq->app->limit_sms_global, "all", now);
    if (wait > 0)
        LOG_WARN("req %llu: text message limit reached (%s)",
                 (unsigned long long)rq->id, key);
    return wait;
}

static const struct validation_medium msisdn_medium = {
    .medium = "msisdn",
    .token_len = MSISDN_TOKEN_LEN,
    .token_charset = TOKEN_DIGITS,
    .send_error = MXERR_SEND_ERROR,
    .noun = "text message",
    .prepare = sms_prepare,
    .deliver = sms_deliver,
    .job_free = sms_job_free,
    .max_attempts = sms_max_attempts,
    .send_limit = sms_send_limit,
};

enum mxerr
msisdn_request_args_parse(const json_t *body,
                          struct msisdn_request_args *args,
                          const char **bad_field)
{
    static const char *const required[] = {"country", "phone_number", NULL};
    struct validation_common_args common;
    const json_t *country = json_object_get(body, "country");
    const json_t *number = json_object_get(body, "phone_number");
    enum mxerr err = validation_common_args(body, required, &common, bad_field);

    memset(args, 0, sizeof(*args));
    if (err != MXERR_NONE)
        return err;
    *bad_field = !json_is_string(country) ? "country" : "phone_number";
    if (!json_is_string(country) || !json_is_string(number))
        return MXERR_INVALID_PARAM;
    *bad_field = NULL;
    args->client_secret = common.client_secret;
    args->country = json_string_value(country);
    args->phone_number = json_string_value(number);
    args->send_attempt = common.send_attempt;
    args->next_link = common.next_link;
    return MXERR_NONE;
}

/* POST .../validate/msisdn/requestToken (v2 and v1) */
enum MHD_Result
handler_msisdn_request_token(struct request *rq, const json_t *body)
{
    const struct config *cfg = rq->app->cfg;
    struct msisdn_request_args args;
    const char *bad_field = NULL;
    enum mxerr err = msisdn_request_args_parse(body, &args, &bad_field);
    struct phone_number pn;
    json_t *extra;
    enum MHD_Result ret;

    if (err != MXERR_NONE)
        return http_reply_error(rq, err, bad_field);
    /* The v1 route has no account behind it: only the homeservers the
     * operator lists may make glia send (paid) messages through it. */
    if ((rq->match.route->flags & ROUTE_AUTH) == 0 &&
        !netlist_contains(rq->app->sms_v1_clients, http_client_ip(rq)))
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "phone validation over the v1 API is only "
                                "for the homeservers in [sms] v1_clients");
    if (phone_parse(args.country, args.phone_number, &pn) != 0)
        return http_reply_error(rq, MXERR_INVALID_ADDRESS,
                                "not a valid phone number for that country");
    /* The toll-fraud guard, before any session or message. */
    if ((cfg->sms_allow_countries != NULL &&
         !sms_country_listed(cfg->sms_allow_countries, pn.country_code)) ||
        sms_country_listed(cfg->sms_deny_countries, pn.country_code) ||
        pn.premium_rate) {
        LOG_INFO("req %llu: text message to +%d refused by policy",
                 (unsigned long long)rq->id, pn.country_code);
        return http_reply_error(rq, MXERR_DESTINATION_REJECTED,
                                pn.premium_rate
                                    ? "premium-rate numbers are not supported"
                                    : "phone numbers in this country are not "
                                      "supported");
    }
    if (!sms_enabled(rq->app->sms))
        return http_reply_error(rq, MXERR_SEND_ERROR,
                                "this server does not send text messages");
    if (args.next_link != NULL &&
        !validation_next_link_ok(args.next_link,
                                 cfg->validation_next_link_domains))
        return http_reply_error(rq, MXERR_INVALID_PARAM,
                                "next_link must be an http(s) URL this "
                                "server allows");
    /* sydent's members beside sid; Synapse passes them on to clients. */
    extra = json_pack("{s:b, s:s, s:s}", "success", 1, "msisdn", pn.msisdn,
                      "intl_fmt", pn.intl);
    ret = validation_request_token(rq, &msisdn_medium, pn.msisdn,
                                   args.client_secret, args.send_attempt,
                                   args.next_link, extra);
    json_decref(extra);
    return ret;
}

/* POST .../validate/msisdn/submitToken (v2 and v1) */
enum MHD_Result
handler_msisdn_submit_token(struct request *rq, const json_t *body)
{
    return validation_submit_json(rq, &msisdn_medium, body);
}

/* GET .../validate/msisdn/submitToken (v2 and v1) */
enum MHD_Result
handler_msisdn_submit_page(struct request *rq, const json_t *body)
{
    (void)body;
    return validation_submit_page(rq, &msisdn_medium);
}
