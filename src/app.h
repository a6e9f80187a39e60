/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * struct app: everything a handler may need that lives for the whole process.
 * Built once at start-up (app_open()) and read-only afterwards, so pool
 * threads share it without locks (the pointers are not const only so that
 * app_close() can free them). Handlers reach it as rq->app.
 */
#ifndef GLIA_APP_H
#define GLIA_APP_H

struct config;
struct fed_client;
struct signing_key;
struct mailer;
struct metrics;
struct netlist;
struct ratelimit;
struct templates;
struct terms;
struct workq;

struct sms_sender;

struct app {
    const struct config *cfg;
    struct signing_key *key; /* long-term ed25519 key */
    struct terms *terms;     /* [general] terms; never NULL */
    struct fed_client *fed;  /* outbound calls to homeservers */
    struct metrics *metrics;
    struct templates *templates; /* every brand's mail and pages */
    struct mailer *mailer;       /* SMTP or the dev outbox */
    struct workq *workers;       /* blocking sends (http_defer) */
    struct netlist *trusted_proxies;
    struct ratelimit *limit_ip;          /* token requests per client address */
    struct ratelimit *limit_address;     /* token requests per email/phone */
    struct ratelimit *limit_invite;      /* store-invite per sender */
    struct ratelimit *limit_sms_country; /* text messages per country */
    struct ratelimit *limit_sms_global;  /* text messages overall */
    struct sms_sender *sms;              /* [sms] provider */
    struct netlist *sms_v1_clients;      /* may use v1 msisdn requestToken */
};

/**
 * Build everything a running glia needs from a loaded config: terms,
 * signing key, templates, mailer, worker pool, rate limits, the federation
 * client, metrics; and bring the database schema up to date and check it
 * belongs to this server. On failure it logs why and cleans up.
 * @param config_path for the hint printed when the key is missing
 * @return 0; 2 for a configuration problem; 1 for anything else
 */
int
app_open(struct app *app, const struct config *cfg, const char *config_path);
/**
 * Make the database ready for this server (app_open() does it; so do the
 * glia-admin commands that write bindings): apply migrations, check or
 * record that it belongs to [general] server_name, and make the lookup
 * pepper on the very first start. Logs why on failure.
 * @return 0 or -1
 */
int app_database_ready(const struct config *cfg);
/** Free what app_open() built (safe on a partly built app). */
void app_close(struct app *app);

#endif
