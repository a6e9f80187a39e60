/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Text message senders and the toll-fraud guard; see sms.h. */
#include "sms/sms.h"

#include "crypto/crypto.h"
#include "fed/fed.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/mem.h"
#include "util/outbox.h"
#include "util/url.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPENMARKET_URL "https://smsc.openmarket.com/sms/v4/mt"
#define TWILIO_URL     "https://api.twilio.com/2010-04-01/Accounts/%s/Messages.json"

enum provider { P_NONE, P_OUTBOX, P_OPENMARKET, P_TWILIO, P_HTTP };

struct sms_sender {
    enum provider provider;
    struct fed_client *fed;
    char *outbox_dir;
    char *url;
    char *basic_auth; /* "Authorization: Basic ..." or NULL */
    char *http_auth;  /* "Authorization: <[sms] http_auth>" or NULL */
    char *http_body;
    struct sms_originator from[SMS_ORIGINATORS_MAX];
    size_t n_from;
};

/* ---- pure parts -----------------------------------------------------------
 */

/* Read a calling code (1-3 digits, no leading zero) at *p. */
static bool
read_code(const char **p, int *code)
{
    int v = 0;
    int digits = 0;

    if (**p == '0')
        return false;
    while (isdigit((unsigned char)**p) && digits < 4) {
        v = v * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    *code = v;
    return digits >= 1 && digits <= 3;
}

static const char *
skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int
sms_originators_parse(const char *spec,
                      struct sms_originator *out,
                      size_t *n,
                      const char **why)
{
    const char *p = spec != NULL ? spec : "";

    *n = 0;
    p = skip_spaces(p);
    while (*p != '\0') {
        struct sms_originator o;
        const char *end;
        size_t len;

        memset(&o, 0, sizeof(o));
        if (strncmp(p, "default:", 8) == 0) {
            p += 8;
        } else if (!read_code(&p, &o.country_code) || *p++ != ':') {
            *why = "expected CODE:TYPE:VALUE (CODE a calling code or "
                   "'default')";
            return -1;
        }
        if (strncmp(p, "long:", 5) == 0) {
            o.type = SMS_FROM_LONG;
            p += 5;
        } else if (strncmp(p, "short:", 6) == 0) {
            o.type = SMS_FROM_SHORT;
            p += 6;
        } else if (strncmp(p, "alpha:", 6) == 0) {
            o.type = SMS_FROM_ALPHA;
            p += 6;
        } else {
            *why = "TYPE must be long, short or alpha";
            return -1;
        }
        end = strchr(p, ',');
        len = end != NULL ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0 || len > SMS_ORIGINATOR_LEN) {
            *why = "an originator's VALUE is empty or too long";
            return -1;
        }
        memcpy(o.value, p, len);
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)o.value[i];

            if (o.type != SMS_FROM_ALPHA ? !isdigit(c)
                                         : !(isalnum(c) || c == ' ')) {
                *why = "long and short originators are digits; alpha ones "
                       "letters, digits and spaces";
                return -1;
            }
        }
        if (*n == SMS_ORIGINATORS_MAX) {
            *why = "too many originators";
            return -1;
        }
        out[(*n)++] = o;
        p = end != NULL ? skip_spaces(end + 1) : p + strlen(p);
    }
    return 0;
}

struct sms_originator
sms_originator_pick(const struct sms_originator *list,
                    size_t n,
                    const char *msisdn,
                    int country_code)
{
    struct sms_originator fallback = {0, SMS_FROM_ALPHA, "Matrix"};
    const struct sms_originator *pool[SMS_ORIGINATORS_MAX];
    size_t k = 0;
    unsigned int sum = 0;

    for (size_t i = 0; i < n; i++)
        if (list[i].country_code == country_code && country_code != 0)
            pool[k++] = &list[i];
    if (k == 0)
        for (size_t i = 0; i < n; i++)
            if (list[i].country_code == 0)
                pool[k++] = &list[i];
    if (k == 0)
        return fallback;
    for (const char *d = msisdn; *d != '\0'; d++)
        if (isdigit((unsigned char)*d))
            sum += (unsigned int)(*d - '0');
    return *pool[sum % k];
}

bool
sms_country_list_valid(const char *list)
{
    const char *p = list != NULL ? list : "";

    p = skip_spaces(p);
    while (*p != '\0') {
        int code;

        if (*p == '+')
            p++;
        if (!read_code(&p, &code))
            return false;
        p = skip_spaces(p);
        if (*p == ',')
            p = skip_spaces(p + 1);
        else if (*p != '\0')
            return false;
    }
    return true;
}

bool
sms_country_listed(const char *list, int country_code)
{
    const char *p = list != NULL ? list : "";

    p = skip_spaces(p);
    while (*p != '\0') {
        int code;

        if (*p == '+')
            p++;
        if (!read_code(&p, &code))
            return false;
        if (code == country_code)
            return true;
        p = skip_spaces(p);
        if (*p == ',')
            p = skip_spaces(p + 1);
    }
    return false;
}

char *
sms_substitute(const char *text,
               const char *const names[],
               const char *const values[],
               size_t n,
               bool json)
{
    struct buf out;
    const char *p = text;
    char *r;

    buf_init(&out, 64 * 1024);
    while (*p != '\0') {
        bool done = false;

        if (*p == '{') {
            for (size_t i = 0; i < n && !done; i++) {
                size_t len = strlen(names[i]);

                if (strncmp(p + 1, names[i], len) != 0 || p[len + 1] != '}')
                    continue;
                if (json) {
                    json_t *s = json_string(values[i]);
                    char *enc =
                        s != NULL
                            ? json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT)
                            : NULL;

                    /* Without the quotes: the template has its own. */
                    if (enc != NULL && strlen(enc) >= 2)
                        buf_append(&out, enc + 1, strlen(enc) - 2);
                    free(enc);
                    json_decref(s);
                } else {
                    buf_puts(&out, values[i]);
                }
                p += len + 2;
                done = true;
            }
        }
        if (!done)
            buf_append(&out, p++, 1);
    }
    r = xstrndup(out.data != NULL ? out.data : "", out.len);
    buf_free(&out);
    return r;
}

/* ---- the sender -----------------------------------------------------------
 */

static char *
basic_auth(const char *user, const char *password)
{
    char *plain = xasprintf("%s:%s", user, password != NULL ? password : "");
    char *enc = b64_encode(plain, strlen(plain), false);
    size_t pad = (4 - strlen(enc) % 4) % 4;
    char *h = xasprintf("Authorization: Basic %s%.*s", enc, (int)pad, "==");

    /* HTTP Basic wants padded base64; ours is unpadded. */
    free(plain);
    free(enc);
    return h;
}

struct sms_sender *
sms_sender_new(const struct config *cfg, char **why)
{
    struct sms_sender *s = xcalloc(1, sizeof(*s));
    const char *p = cfg->sms_provider;
    const char *reason = NULL;

    *why = NULL;
    s->provider = strcmp(p, "outbox") == 0       ? P_OUTBOX
                  : strcmp(p, "openmarket") == 0 ? P_OPENMARKET
                  : strcmp(p, "twilio") == 0     ? P_TWILIO
                  : strcmp(p, "http") == 0       ? P_HTTP
                                                 : P_NONE;
    if (sms_originators_parse(cfg->sms_originators, s->from, &s->n_from,
                              &reason) != 0) {
        *why = xasprintf("[sms] originators: %s", reason);
    } else if (!sms_country_list_valid(cfg->sms_allow_countries)) {
        *why = xstrdup("[sms] allow_countries: expected calling codes, "
                       "comma-separated");
    } else if (!sms_country_list_valid(cfg->sms_deny_countries)) {
        *why = xstrdup("[sms] deny_countries: expected calling codes, "
                       "comma-separated");
    } else if (strstr(cfg->sms_message_template, "{token}") == NULL) {
        *why = xstrdup("[sms] message_template: has no {token}");
    } else if (s->provider == P_OUTBOX && cfg->sms_outbox_dir == NULL) {
        *why = xstrdup("[sms] provider = outbox needs outbox_dir");
    } else if (s->provider == P_HTTP && cfg->sms_url == NULL) {
        *why = xstrdup("[sms] provider = http needs url");
    } else if (s->provider == P_TWILIO &&
               (cfg->sms_username == NULL || cfg->sms_password == NULL)) {
        *why = xstrdup("[sms] provider = twilio needs username (the account "
                       "SID) and password (the auth token)");
    } else if (cfg->sms_url != NULL && strncmp(cfg->sms_url, "https://", 8) &&
               strncmp(cfg->sms_url, "http://", 7)) {
        *why = xstrdup("[sms] url: not an http(s) URL");
    }
    if (*why != NULL) {
        free(s);
        return NULL;
    }
    s->outbox_dir = xstrdup(cfg->sms_outbox_dir);
    if (cfg->sms_url != NULL)
        s->url = xstrdup(cfg->sms_url);
    else if (s->provider == P_OPENMARKET)
        s->url = xstrdup(OPENMARKET_URL);
    else if (s->provider == P_TWILIO)
        s->url = xasprintf(TWILIO_URL, cfg->sms_username);
    if (cfg->sms_username != NULL)
        s->basic_auth = basic_auth(cfg->sms_username, cfg->sms_password);
    if (cfg->sms_http_auth != NULL)
        s->http_auth = xasprintf("Authorization: %s", cfg->sms_http_auth);
    s->http_body = xstrdup(cfg->sms_http_body);
    if (s->provider != P_NONE && s->provider != P_OUTBOX)
        s->fed = fed_client_new_operator(cfg);
    return s;
}

static void
free_secret(char *p)
{
    if (p != NULL) {
        sodium_memzero(p, strlen(p));
        free(p);
    }
}

void
sms_sender_free(struct sms_sender *s)
{
    if (s == NULL)
        return;
    free(s->outbox_dir);
    free(s->url);
    free_secret(s->basic_auth);
    free_secret(s->http_auth);
    free(s->http_body);
    fed_client_free(s->fed);
    free(s);
}

bool
sms_enabled(const struct sms_sender *s)
{
    return s != NULL && s->provider != P_NONE;
}

static const char *
type_name(enum sms_originator_type t)
{
    return t == SMS_FROM_LONG    ? "long"
           : t == SMS_FROM_SHORT ? "short"
                                 : "alpha";
}

static bool
to_outbox(const struct sms_sender *s,
          const char *msisdn,
          const struct sms_originator *from,
          const char *text,
          char **why)
{
    char *to = xasprintf("+%s", msisdn);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "to", to, "from", from->value,
                          "from_type", type_name(from->type), "text", text);
    char *data = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    char err[256];
    int rc = data != NULL ? outbox_write(s->outbox_dir, "sms", data,
                                         strlen(data), err, sizeof(err))
                          : -1;

    if (rc != 0)
        *why = xstrdup(data != NULL ? err : "cannot encode the message");
    free(to);
    json_decref(j);
    free(data);
    return rc == 0;
}

/* POST body to the gateway; 2xx is success. */
static bool
post(struct sms_sender *s,
     const char *content_type,
     const char *auth,
     const char *body,
     char **why)
{
    const char *headers[3] = {content_type, auth, NULL};
    long status = 0;
    enum fed_error err;

    err = fed_http_url(s->fed, "POST", s->url, headers, body, strlen(body),
                       &status, NULL, NULL, why);
    if (err != FED_OK)
        return false;
    if (status < 200 || status > 299) {
        free(*why);
        *why = xasprintf("the gateway answered HTTP %ld", status);
        return false;
    }
    return true;
}

bool
sms_send(struct sms_sender *s,
         const char *msisdn,
         int country_code,
         const char *text,
         char **why)
{
    struct sms_originator from =
        sms_originator_pick(s->from, s->n_from, msisdn, country_code);
    char *body = NULL;
    bool ok = false;

    *why = NULL;
    switch (s->provider) {
    case P_NONE:
        *why = xstrdup("[sms] provider is none");
        return false;
    case P_OUTBOX:
        return to_outbox(s, msisdn, &from, text, why);
    case P_OPENMARKET: {
        /* TON: 1 international number, 3 short code, 5 alphanumeric. */
        json_t *j =
            json_pack("{s:{s:{s:s, s:s}, s:{s:s}, s:{s:i, s:s}}}",
                      "mobileTerminate", "message", "content", text, "type",
                      "text", "destination", "address", msisdn, "source", "ton",
                      from.type == SMS_FROM_LONG    ? 1
                      : from.type == SMS_FROM_SHORT ? 3
                                                    : 5,
                      "address", from.value);

        body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        ok = body != NULL && post(s, "Content-Type: application/json",
                                  s->basic_auth, body, why);
        break;
    }
    case P_TWILIO: {
        char *to = xasprintf("+%s", msisdn);
        char *f = from.type == SMS_FROM_LONG ? xasprintf("+%s", from.value)
                                             : xstrdup(from.value);
        char *e_to = url_encode(to);
        char *e_from = url_encode(f);
        char *e_text = url_encode(text);

        body = xasprintf("To=%s&From=%s&Body=%s", e_to, e_from, e_text);
        ok = post(s, "Content-Type: application/x-www-form-urlencoded",
                  s->basic_auth, body, why);
        free(to);
        free(f);
        free(e_to);
        free(e_from);
        free(e_text);
        break;
    }
    case P_HTTP: {
        char *number = xasprintf("+%s", msisdn);
        const char *const names[] = {"number", "msisdn", "from", "message"};
        const char *const values[] = {number, msisdn, from.value, text};

        body = sms_substitute(s->http_body, names, values, 4, true);
        ok = post(s, "Content-Type: application/json", s->http_auth, body, why);
        free(number);
        break;
    }
    }
    free(body);
    if (!ok && *why == NULL)
        *why = xstrdup("cannot build the request");
    return ok;
}
