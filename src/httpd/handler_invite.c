/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /_matrix/identity/v2/store-invite: a homeserver invites, by email,
 * someone who is not on Matrix yet. glia keeps the invite with a random
 * token and a fresh ephemeral ed25519 key pair, emails the invitee a link
 * that holds both (so a client without crypto can have the invite signed
 * through sign-ed25519), and answers the token, the keys and a redacted
 * display name for the room's m.room.third_party_invite event. When the
 * address is bound, the invite goes to the user's homeserver (onbind.c).
 *
 * The email is sent off the HTTP threads (http_defer()); if it cannot be
 * sent, the invite is deleted and the homeserver told, so no room shows an
 * invitation nobody received.
 */
#include "app.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "fed/fed.h"
#include "httpd/handlers.h"
#include "invites/invites.h"
#include "mail/mail.h"
#include "mail/template.h"
#include "util/config.h"
#include "util/email.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/url.h"
#include "util/ratelimit.h"
#include "util/time.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* 64 alphanumerics: about 381 bits, and within the spec's charset. */
#define INVITE_TOKEN_LEN   64
/* As for requestToken: longer than any real address. */
#define INVITE_ADDRESS_MAX 500
/* sydent's truncation of names in the email. */
#define DISPLAY_NAME_MAX   20
#define DISPLAY_NAME_KEEP  19
#define ROOM_NAME_MAX      30
#define ROOM_NAME_KEEP     25
/* Longest value of any variable taken from the request. */
#define INVITE_VAR_MAX     2048

enum mxerr
invite_args_parse(const json_t *body,
                  struct invite_args *args,
                  const char **bad_field)
{
    static const char *const names[] = {"medium", "address", "room_id",
                                        "sender", NULL};
    const char **const outs[] = {&args->medium, &args->address, &args->room_id,
                                 &args->sender};
    enum mxerr err;

    memset(args, 0, sizeof(*args));
    err = http_body_strings(body, names, outs, bad_field);
    if (err != MXERR_NONE)
        return err;
    *bad_field = "medium";
    if (strcmp(args->medium, "email") != 0)
        return MXERR_MEDIUM_UNSUPPORTED;
    *bad_field = "address";
    if (args->address[0] == '\0' || strlen(args->address) > INVITE_ADDRESS_MAX)
        return MXERR_INVALID_EMAIL;
    /* Room ids are "!opaque[:server]" (room version 12 drops the server). */
    *bad_field = "room_id";
    if (args->room_id[0] != '!' || strlen(args->room_id) < 2 ||
        strlen(args->room_id) > 255)
        return MXERR_INVALID_PARAM;
    *bad_field = "sender";
    if (!fed_user_id_parse(args->sender, NULL, NULL))
        return MXERR_INVALID_PARAM;
    *bad_field = NULL;
    return MXERR_NONE;
}

/* A string member of the body, or NULL. */
static const char *
body_str(const json_t *body, const char *name)
{
    const json_t *v = json_object_get(body, name);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The web client the join link opens: the homeserver's choice when it is a
 * plain http(s) URL (never javascript: or the like), else ours. */
static const char *
web_client(const json_t *body, const struct config *cfg)
{
    const char *w = body_str(body, "org.matrix.web_client_location");

    if (w != NULL &&
        (strncmp(w, "https://", 8) == 0 || strncmp(w, "http://", 7) == 0) &&
        strpbrk(w, " \"'<>\\") == NULL && strlen(w) < 1024)
        return w;
    return cfg->invites_web_client_location;
}

struct invite_mail {
    struct mailer *mailer;
    char *to;
    char *message;
    char token[INVITE_TOKEN_LEN + 1];
    json_t *reply; /* the answer, once the mail is out */
    bool ok;
};

static void
invite_mail_free(void *cls)
{
    struct invite_mail *m = cls;

    free(m->to);
    if (m->message != NULL) {
        /* It holds the ephemeral private key. */
        sodium_memzero(m->message, strlen(m->message));
        free(m->message);
    }
    json_decref(m->reply);
    free(m);
}

/* Render the invitation. @return the message, or NULL (logged). */
static char *
render(struct request *rq,
       const json_t *body,
       const struct invite_args *a,
       const char *canon,
       const char *token,
       const char *private_key)
{
    const struct app *app = rq->app;
    const struct config *cfg = app->cfg;
    struct tmpl_vars *v = tmpl_vars_new();
    const char *key;
    json_t *val;
    const char *dn;
    const char *rn;
    char *s;
    char *t;
    char *k;
    char *why = NULL;
    char *msg;

    /* As sydent: every string the homeserver sent is a variable (room
     * alias, avatar, join rules...); ours below override any of them. */
    json_object_foreach(rq->json, key, val)
    {
        if (json_is_string(val) && json_string_length(val) < INVITE_VAR_MAX)
            tmpl_vars_set(v, key, json_string_value(val));
    }
    dn = body_str(body, "sender_display_name");
    rn = body_str(body, "room_name");
    s = invite_truncate(dn != NULL ? dn : "", DISPLAY_NAME_MAX,
                        DISPLAY_NAME_KEEP);
    tmpl_vars_set(v, "sender_display_name", s);
    t = xasprintf("%s has invited you to %s", s[0] != '\0' ? s : a->sender,
                  strcmp(body_str(body, "room_type") != NULL
                             ? body_str(body, "room_type")
                             : "",
                         "m.space") == 0
                      ? "a space"
                      : "chat");
    tmpl_vars_set(v, "subject_header_value", t);
    free(t);
    free(s);
    s = invite_truncate(rn != NULL ? rn : "", ROOM_NAME_MAX, ROOM_NAME_KEEP);
    tmpl_vars_set(v, "room_name", s);
    t = s[0] != '\0' ? xasprintf("(%s) ", s) : xstrdup("");
    tmpl_vars_set(v, "bracketed_room_name", t);
    free(t);
    free(s);
    t = xasprintf("(%s) ", a->sender);
    tmpl_vars_set(v, "bracketed_verified_sender", t);
    free(t);
    mail_vars_envelope(v, cfg, canon);
    tmpl_vars_set(v, "medium", "email");
    tmpl_vars_set(v, "address", canon);
    tmpl_vars_set(v, "room_id", a->room_id);
    tmpl_vars_set(v, "sender", a->sender);
    tmpl_vars_set(v, "token", token);
    tmpl_vars_set(v, "ephemeral_private_key", private_key);
    tmpl_vars_set(v, "web_client_location", web_client(body, cfg));
    tmpl_vars_set(v, "guest_user_id", "");
    tmpl_vars_set(v, "guest_access_token", "");
    /* Element web POSTs to signurl (mxid in the query) without an identity
     * server token: that is the legacy, unauthenticated route. */
    t = url_encode(token);
    k = url_encode(private_key);
    s = xasprintf("%s/_matrix/identity/api/v1/sign-ed25519?token=%s&"
                  "private_key=%s",
                  cfg->general_public_baseurl, t, k);
    tmpl_vars_set(v, "signurl", s);
    sodium_memzero(k, strlen(k));
    sodium_memzero(s, strlen(s));
    free(s);
    free(t);
    free(k);
    msg = templates_render(app->templates, http_query(rq, "brand"),
                           "invite_template.eml", v, &why);
    tmpl_vars_free(v); /* frees (but cannot wipe) its copy of the key */
    if (msg == NULL) {
        LOG_ERROR("req %llu: invite mail: %s", (unsigned long long)rq->id,
                  why != NULL ? why : "?");
        free(why);
    }
    return msg;
}

/* On a worker: send the mail. */
static void
invite_mail_send(void *cls)
{
    struct invite_mail *m = cls;
    char *why = NULL;
    enum mail_result r =
        mail_send(m->mailer, m->to, m->message, strlen(m->message), &why);

    m->ok = r == MAIL_OK;
    if (!m->ok) {
        LOG_WARN("invite: mail not sent (%s)", mail_result_str(r));
        LOG_DEBUG("invite: %s", why != NULL ? why : "?");
    }
    free(why);
}

/* Back on an HTTP thread. */
static enum MHD_Result
invite_mail_sent(struct request *rq, void *cls, bool done)
{
    struct invite_mail *m = cls;
    json_t *reply;

    if (!done || !m->ok) {
        if (db_invite_delete(rq->db, m->token) < 0)
            LOG_WARN("req %llu: could not delete an invite whose mail "
                     "failed",
                     (unsigned long long)rq->id);
        if (!done)
            return http_reply_error(rq, MXERR_BUSY, "shutting down");
        return http_reply_error(rq, MXERR_EMAIL_SEND_ERROR, NULL);
    }
    LOG_INFO("req %llu: invite stored and emailed", (unsigned long long)rq->id);
    reply = m->reply;
    m->reply = NULL;
    return http_reply_json_steal(rq, MHD_HTTP_OK, reply);
}

/* The answer: token, the keys with their validity URLs, display_name. */
static json_t *
make_reply(const struct app *app,
           const char *token,
           const char *ephemeral_pk,
           const char *display_name)
{
    const char *base = app->cfg->general_public_baseurl;
    char *lt_url = xasprintf("%s/_matrix/identity/v2/pubkey/isvalid", base);
    char *eph_url =
        xasprintf("%s/_matrix/identity/v2/pubkey/ephemeral/isvalid", base);
    /* public_key: the legacy single key, which Synapse prefers if present. */
    json_t *r =
        json_pack("{s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:s}", "token", token,
                  "public_key", app->key->pk_b64, "public_keys", "public_key",
                  app->key->pk_b64, "key_validity_url", lt_url, "public_key",
                  ephemeral_pk, "key_validity_url", eph_url, "display_name",
                  display_name);

    free(lt_url);
    free(eph_url);
    return r;
}

/* POST /_matrix/identity/v2/store-invite */
enum MHD_Result
handler_store_invite(struct request *rq, const json_t *body)
{
    const struct app *app = rq->app;
    const struct config *cfg = app->cfg;
    struct invite_args a;
    const char *bad_field = NULL;
    enum mxerr err = invite_args_parse(body, &a, &bad_field);
    char *canon = NULL;
    char *bound = NULL;
    char key[320];
    int64_t wait;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    char pk_b64[64];
    char seed_b64[64];
    char *display_name;
    struct invite_mail *m;
    struct db_invite inv;
    int64_t now = time_now_ms();
    enum db_status qs;

    if (err != MXERR_NONE)
        return http_reply_error(rq, err, bad_field);
    /* The account invites as itself only. */
    if (strcmp(a.sender, rq->user_id) != 0)
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "sender is not the account's own user");
    if (invite_blocked(
            cfg->invites_blocked_homeservers, cfg->invites_blocked_rooms,
            cfg->invites_blocked_keywords, body, a.sender, a.room_id)) {
        LOG_INFO("req %llu: invite refused by a block-list",
                 (unsigned long long)rq->id);
        return http_reply_error(rq, MXERR_FORBIDDEN, "invite not allowed");
    }
    if (email_canonicalise(a.address, &canon) != 0)
        return http_reply_error(rq, MXERR_INVALID_EMAIL, NULL);
    snprintf(key, sizeof(key), "invite:%s", a.sender);
    wait = ratelimit_take(app->limit_invite, key, time_mono_us() / 1000);
    if (wait > 0) {
        free(canon);
        return http_reply_error_extra(
            rq, MXERR_LIMIT_EXCEEDED, NULL,
            json_pack("{s:I}", "retry_after_ms", (json_int_t)wait));
    }
    qs = db_assoc_find(rq->db, "email", canon, now, &bound);
    if (qs < 0) {
        free(canon);
        return http_reply_internal(rq, "store-invite: lookup");
    }
    if (bound != NULL) {
        /* The spec's answer; the homeserver should have looked it up. */
        enum MHD_Result ret = http_reply_error_extra(
            rq, MXERR_THREEPID_IN_USE, NULL, json_pack("{s:s}", "mxid", bound));

        free(bound);
        free(canon);
        return ret;
    }

    m = xcalloc(1, sizeof(*m));
    m->mailer = app->mailer;
    token_random(m->token, INVITE_TOKEN_LEN, TOKEN_ALNUM);
    crypto_sign_keypair(pk, sk);
    b64_encode_into(pk_b64, pk, sizeof(pk), true);
    /* The private half is the 32-byte seed (sydent's encoding). */
    b64_encode_into(seed_b64, sk, crypto_sign_SEEDBYTES, true);
    sodium_memzero(sk, sizeof(sk));
    display_name = invite_redact_address(
        a.address, (int)cfg->invites_redact_username_chars,
        (int)cfg->invites_redact_domain_chars);
    m->reply = make_reply(app, m->token, pk_b64, display_name);
    free(display_name);
    m->message = render(rq, body, &a, canon, m->token, seed_b64);
    sodium_memzero(seed_b64, sizeof(seed_b64));
    if (m->message == NULL || m->reply == NULL) {
        free(canon);
        invite_mail_free(m);
        return http_reply_internal(rq, "store-invite: rendering");
    }
    inv.medium = "email";
    inv.address = canon;
    inv.room_id = a.room_id;
    inv.sender = a.sender;
    inv.token = m->token;
    inv.ephemeral_public_key = pk_b64;
    inv.created_ts = now;
    inv.expires_ts = now + (int64_t)cfg->invites_lifetime * 1000;
    qs = db_invite_store(rq->db, &inv);
    m->to = canon;
    if (qs < 0) {
        invite_mail_free(m);
        return http_reply_internal(rq, "store-invite: store");
    }
    if (http_defer(rq, invite_mail_send, invite_mail_sent, m,
                   invite_mail_free) != 0) {
        db_invite_delete(rq->db, m->token);
        invite_mail_free(m);
        return http_reply_error(rq, MXERR_BUSY, NULL);
    }
    return MHD_YES;
}
