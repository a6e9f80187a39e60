/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The mailer: configuration checks at start-up, and mail_send() -- the
 * normaliser, then the outbox or one libesmtp session per message.
 *
 * libesmtp runs the SMTP dialogue (EHLO, AUTH through its SASL plugins,
 * MAIL/RCPT/DATA with dot-stuffing, status codes) against the relay
 * (relay.c), which owns the real connection, TLS and timeouts. libesmtp is
 * thread-safe with one session per thread (its error number is
 * thread-local, its SASL plugin list is locked); auth_client_init() is
 * called once per process, here.
 *
 * AUTH offers PLAIN, LOGIN and CRAM-MD5 (whatever the server lists first
 * that libesmtp has a plugin for). With tls = none the password crosses the
 * network in clear text: allowed, because the operator chose none, but
 * warned about at start-up.
 */
#include "mail/mail.h"
#include "mail/mail_internal.h"
#include "util/outbox.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <auth-client.h>
#include <libesmtp.h>

struct mailer {
    const struct config *cfg; /* borrowed: username, password */
    const char *outbox_dir;   /* borrowed from cfg; NULL: SMTP */
    char *from_addr;          /* envelope sender */
    char *domain;             /* EHLO name and Message-ID domain */
    char port[24];
    enum relay_tls tls;
    SSL_CTX *ssl_ctx; /* tls != none */
    int timeout_ms;
};

static pthread_once_t auth_once = PTHREAD_ONCE_INIT;

static void
auth_init(void)
{
    auth_client_init();
}

const char *
mail_result_str(enum mail_result r)
{
    switch (r) {
    case MAIL_OK:
        return "MAIL_OK";
    case MAIL_REFUSED:
        return "MAIL_REFUSED";
    case MAIL_FAILED:
        return "MAIL_FAILED";
    }
    return "MAIL_?";
}

/* A name fit for EHLO and Message-IDs: letters, digits, '-', '.'. */
static bool
plausible_hostname(const char *s)
{
    size_t n = strlen(s);
    size_t i;

    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static const char *
ssl_error(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *s = e != 0 ? ERR_reason_error_string(e) : NULL;

    return s != NULL ? s : "unknown OpenSSL error";
}

static SSL_CTX *
make_ssl_ctx(const struct config *cfg, char **why)
{
    SSL_CTX *ctx;

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        *why = xasprintf("[email] tls: cannot create a TLS context: %s",
                         ssl_error());
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (cfg->email_ca_file != NULL) {
        /* A private PKI replaces the system's trust store. */
        if (SSL_CTX_load_verify_locations(ctx, cfg->email_ca_file, NULL) != 1) {
            *why = xasprintf("[email] ca_file: cannot load %s: %s",
                             cfg->email_ca_file, ssl_error());
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        *why = xasprintf("[email] tls: cannot load the system's CAs: %s",
                         ssl_error());
        SSL_CTX_free(ctx);
        return NULL;
    }
    ERR_clear_error();
    return ctx;
}

struct mailer *
mailer_new(const struct config *cfg, char **why)
{
    struct mailer *m = xcalloc(1, sizeof(*m));

    *why = NULL;
    m->cfg = cfg;
    m->timeout_ms = (int)cfg->email_timeout * 1000;
    m->from_addr =
        cfg->email_from != NULL ? mail_address_of(cfg->email_from) : NULL;
    if (m->from_addr == NULL) {
        *why = xasprintf("[email] from: no valid address in \"%s\"",
                         cfg->email_from != NULL ? cfg->email_from : "");
        goto fail;
    }
    if (cfg->email_hostname != NULL) {
        if (!plausible_hostname(cfg->email_hostname)) {
            *why = xasprintf("[email] hostname: \"%s\" is not a host name",
                             cfg->email_hostname);
            goto fail;
        }
        m->domain = xstrdup(cfg->email_hostname);
    } else {
        m->domain = mail_domain_of(cfg->email_from);
        if (m->domain == NULL || !plausible_hostname(m->domain)) {
            *why = xasprintf("[email] hostname: unset, and the domain of "
                             "[email] from is not a host name");
            goto fail;
        }
    }

    if (cfg->email_outbox_dir != NULL) {
        struct stat st;

        if (stat(cfg->email_outbox_dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
            access(cfg->email_outbox_dir, W_OK | X_OK) != 0) {
            *why = xasprintf("[email] outbox_dir: %s is not a writable "
                             "directory",
                             cfg->email_outbox_dir);
            goto fail;
        }
        m->outbox_dir = cfg->email_outbox_dir;
        LOG_INFO("mail: writing mail to the outbox %s instead of sending it",
                 m->outbox_dir);
        return m;
    }

    if (cfg->email_smtp_host == NULL || cfg->email_smtp_host[0] == '\0') {
        *why = xstrdup("[email] smtp_host: empty");
        goto fail;
    }
    snprintf(m->port, sizeof(m->port), "%ld", cfg->email_smtp_port);
    if (strcmp(cfg->email_tls, "starttls") == 0) {
        m->tls = RELAY_STARTTLS;
    } else if (strcmp(cfg->email_tls, "tls") == 0) {
        m->tls = RELAY_IMPLICIT;
    } else {
        m->tls = RELAY_PLAIN;
    }
    if (cfg->email_username != NULL && cfg->email_password == NULL) {
        *why = xstrdup("[email] password: required when username is set");
        goto fail;
    }
    if (cfg->email_username == NULL && cfg->email_password != NULL) {
        *why = xstrdup("[email] username: required when password is set");
        goto fail;
    }
    if (m->tls != RELAY_PLAIN) {
        m->ssl_ctx = make_ssl_ctx(cfg, why);
        if (m->ssl_ctx == NULL)
            goto fail;
        if (!cfg->email_verify_tls)
            LOG_WARN("mail: [email] verify_tls = false: the SMTP server's "
                     "certificate and name are not checked");
    } else if (cfg->email_username != NULL) {
        LOG_WARN("mail: [email] username is set with tls = none: the SMTP "
                 "password crosses the network in clear text");
    }
    if (cfg->email_username != NULL)
        pthread_once(&auth_once, auth_init);
    return m;
fail:
    mailer_free(m);
    return NULL;
}

void
mailer_free(struct mailer *m)
{
    if (m == NULL)
        return;
    free(m->from_addr);
    free(m->domain);
    if (m->ssl_ctx != NULL)
        SSL_CTX_free(m->ssl_ctx);
    free(m);
}

/* ---- one SMTP session ------------------------------------------------- */

/* The message, handed to libesmtp in one piece. */
struct msg_src {
    const char *data;
    size_t len;
    bool given;
};

static const char *
message_cb(void **ctx, int *len, void *arg)
{
    struct msg_src *src = arg;

    (void)ctx;
    if (len == NULL) { /* rewind */
        src->given = false;
        return NULL;
    }
    if (src->given) {
        *len = 0;
        return NULL;
    }
    src->given = true;
    *len = (int)src->len;
    return src->data;
}

/* libesmtp's SASL plugins ask for the credentials here. */
static int
interact_cb(auth_client_request_t req, char **result, int fields, void *arg)
{
    static char empty[] = "";
    const struct mailer *m = arg;
    int i;

    for (i = 0; i < fields; i++) {
        if ((req[i].flags & AUTH_PASS) != 0)
            result[i] = m->cfg->email_password;
        else if ((req[i].flags & AUTH_USER) != 0)
            result[i] = m->cfg->email_username;
        else if ((req[i].flags & AUTH_REALM) != 0)
            result[i] = empty;
        else
            return 0;
        if (result[i] == NULL)
            return 0;
    }
    return 1;
}

/* "code text" of a libesmtp status, made printable. */
static void
status_text(char *out, size_t outlen, const smtp_status_t *st)
{
    size_t o;
    const char *t;

    if (st == NULL) {
        snprintf(out, outlen, "(no status)");
        return;
    }
    t = st->text != NULL ? st->text : "";
    snprintf(out, outlen, "%d ", st->code);
    o = strlen(out);
    for (; *t != '\0' && o + 1 < outlen; t++) {
        unsigned char c = (unsigned char)*t;

        if (c == '\r' || c == '\n')
            continue;
        out[o++] = (c >= 32 && c < 127) ? (char)c : '?';
    }
    out[o] = '\0';
}

static enum mail_result
smtp_deliver(
    struct mailer *m, const char *to, const char *msg, size_t len, char **why)
{
    struct relay_params rp;
    struct relay *relay;
    char hostport[64];
    char err[MH_ERR_SIZE];
    char st[MH_ERR_SIZE];
    smtp_session_t session;
    smtp_message_t message;
    smtp_recipient_t rcpt;
    auth_context_t auth = NULL;
    struct msg_src src = {msg, len, false};
    const smtp_status_t *s;
    enum mail_result res = MAIL_FAILED;
    int ok;
    int which;

    rp.host = m->cfg->email_smtp_host;
    rp.port = m->port;
    rp.tls = m->tls;
    rp.ssl_ctx = m->ssl_ctx;
    rp.verify = m->cfg->email_verify_tls;
    rp.ehlo_name = m->domain;
    rp.timeout_ms = m->timeout_ms;
    rp.require_auth = m->cfg->email_username != NULL;
    relay = relay_start(&rp, hostport, sizeof(hostport), err);
    if (relay == NULL) {
        *why = xstrdup(err);
        return MAIL_FAILED;
    }

    session = smtp_create_session();
    if (session == NULL) {
        relay_finish(relay);
        relay_free(relay);
        *why = xstrdup("internal: smtp_create_session failed");
        return MAIL_FAILED;
    }
    smtp_set_server(session, hostport);
    smtp_set_hostname(session, m->domain);
    smtp_starttls_enable(session, Starttls_DISABLED); /* the relay's job */
    /* One second more than the relay, so the relay's clearer message
     * wins when the server stalls. */
    for (which = Timeout_GREETING; which <= Timeout_DATA2; which++)
        smtp_set_timeout(session, which | Timeout_OVERRIDE_RFC2822_MINIMUM,
                         (long)m->timeout_ms + 1000L);
    if (rp.require_auth) {
        auth = auth_create_context();
        if (auth != NULL) {
            auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
            auth_set_interact_cb(auth, interact_cb, m);
            smtp_auth_set_context(session, auth);
        }
    }
    message = smtp_add_message(session);
    rcpt = message != NULL ? smtp_add_recipient(message, to) : NULL;
    if (rcpt == NULL || (rp.require_auth && auth == NULL)) {
        *why = xstrdup("internal: cannot set up the libesmtp session");
        relay_finish(relay);
        goto done;
    }
    smtp_set_reverse_path(message, m->from_addr);
    smtp_set_messagecb(message, message_cb, &src);

    ok = smtp_start_session(session);
    relay_finish(relay);

    /* Accepted after DATA means delivered, whatever went wrong later (a
     * server silent on QUIT trips the relay's timeout): reporting a failure
     * would make the user ask again and get the mail twice. */
    s = smtp_message_transfer_status(message);
    if (s != NULL && s->code / 100 == 2 &&
        (!rp.require_auth || relay_authenticated(relay))) {
        res = MAIL_OK;
        goto done;
    }
    if (relay_error(relay) != NULL) {
        *why = xstrdup(relay_error(relay));
        goto done;
    }
    if (ok == 0) {
        char ebuf[128];
        const char *last = relay_last_reply(relay);

        *why = xasprintf("SMTP session failed: %s%s%s",
                         smtp_strerror(smtp_errno(), ebuf, sizeof(ebuf)),
                         last[0] != '\0' ? "; last reply: " : "", last);
        goto done;
    }
    s = smtp_reverse_path_status(message);
    if (s == NULL || s->code / 100 != 2) {
        const char *last = relay_last_reply(relay);

        if (s != NULL && s->code != 0) {
            status_text(st, sizeof(st), s);
            *why = xasprintf("SMTP server refused the sender: %s", st);
        } else {
            *why = xasprintf("SMTP session ended before MAIL FROM%s%s",
                             last[0] != '\0' ? ": " : "", last);
        }
        goto done;
    }
    s = smtp_recipient_status(rcpt);
    if (s == NULL || s->code / 100 != 2) {
        status_text(st, sizeof(st), s);
        *why = xasprintf("SMTP server refused the recipient: %s", st);
        if (s != NULL && s->code / 100 == 5)
            res = MAIL_REFUSED;
        goto done;
    }
    s = smtp_message_transfer_status(message);
    if (s == NULL || s->code / 100 != 2) {
        status_text(st, sizeof(st), s);
        *why = xasprintf("SMTP server refused the message: %s", st);
        if (s != NULL && s->code / 100 == 5)
            res = MAIL_REFUSED;
        goto done;
    }
    if (rp.require_auth && !relay_authenticated(relay)) {
        /* The relay holds MAIL FROM back without AUTH; belt and braces. */
        *why = xstrdup("SMTP AUTH did not succeed");
        goto done;
    }
    res = MAIL_OK;
done:
    smtp_destroy_session(session);
    if (auth != NULL)
        auth_destroy_context(auth);
    relay_free(relay);
    return res;
}

enum mail_result
mail_send(struct mailer *m,
          const char *to,
          const char *message,
          size_t len,
          char **why)
{
    char *norm;
    char *nwhy = NULL;
    size_t nlen = 0;
    enum mail_result res;

    *why = NULL;
    if (to == NULL || !mh_addr_valid(to, strlen(to))) {
        *why = xstrdup(to != NULL && !mh_is_ascii(to, strlen(to))
                           ? "recipient address is not ASCII (SMTPUTF8 is "
                             "not supported)"
                           : "invalid recipient address");
        return MAIL_REFUSED;
    }
    norm = mail_normalise(message, len, m->domain, &nlen, &nwhy);
    if (norm == NULL) {
        *why = xasprintf("message refused: %s", nwhy);
        free(nwhy);
        return MAIL_REFUSED;
    }
    if (m->outbox_dir != NULL) {
        char err[MH_ERR_SIZE];

        res = MAIL_OK;
        if (outbox_write(m->outbox_dir, "eml", norm, nlen, err, MH_ERR_SIZE) !=
            0) {
            *why = xstrdup(err);
            res = MAIL_FAILED;
        }
    } else {
        res = smtp_deliver(m, to, norm, nlen, why);
    }
    free(norm);
    return res;
}
