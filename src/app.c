/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Building and tearing down struct app; see app.h. */
#include "app.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "fed/fed.h"
#include "httpd/httpd.h"
#include "httpd/metrics.h"
#include "mail/mail.h"
#include "mail/template.h"
#include "sms/sms.h"
#include "terms/terms.h"
#include "util/config.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/ratelimit.h"
#include "util/workq.h"

#include <stdlib.h>
#include <string.h>

/* Keys remembered per rate limit: bounded memory under a flood. */
#define APP_RATELIMIT_KEYS 200000
/* Lookup peppers: alphanumeric, as MSC2134 proposed. */
#define APP_PEPPER_LEN     20
/* Mail waiting for a worker before requests get 503. */
#define APP_WORK_QUEUE     1000

/* Record (or check) which server this database belongs to. */
static int
claim_database(const struct config *cfg, struct db *db)
{
    char *stored = NULL;
    enum db_status qs =
        db_instance_claim(db, cfg->general_server_name, &stored);
    int rc = 0;

    if (qs == DB_NO_RESULTS) {
        LOG_ERROR("this database belongs to identity server \"%s\", not "
                  "\"%s\" ([general] server_name): refusing to serve it",
                  stored, cfg->general_server_name);
        rc = -1;
    } else if (qs < 0) {
        LOG_ERROR("cannot read the instance record from the database");
        rc = -1;
    }
    free(stored);
    return rc;
}

/* Make the lookup pepper on the very first start (the first node of a
 * cluster to get here wins; the others read it). */
static int
ensure_pepper(struct db *db)
{
    char candidate[APP_PEPPER_LEN + 1];
    char *pepper = NULL;
    enum db_status qs;

    token_random(candidate, APP_PEPPER_LEN, TOKEN_ALNUM);
    qs = db_pepper_get(db, candidate, &pepper);
    free(pepper);
    if (qs != DB_ONE_RESULT) {
        LOG_ERROR("cannot read or create the lookup pepper");
        return -1;
    }
    return 0;
}

int
app_database_ready(const struct config *cfg)
{
    char *why = NULL;
    struct db *db;
    int rc;

    if (db_migrate(cfg->db_dsn, &why) != 0) {
        LOG_ERROR("database: %s", why);
        free(why);
        return -1;
    }
    /* One connection for the start-up checks. */
    db = db_new(cfg->db_dsn);
    rc = claim_database(cfg, db) != 0 || ensure_pepper(db) != 0 ? -1 : 0;
    db_free(db);
    return rc;
}

int
app_open(struct app *app, const struct config *cfg, const char *config_path)
{
    struct signing_key *key = NULL;
    struct templates *templates;
    struct terms *terms;
    struct netlist *proxies;
    size_t nroutes;
    char *why = NULL;

    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    terms = terms_load(cfg->general_terms, &why);
    if (terms == NULL) {
        LOG_ERROR("[general] terms: %s", why);
        free(why);
        return 2;
    }
    app->terms = terms;
    templates = templates_load(cfg->general_templates,
                               cfg->general_default_brand, &why);
    if (templates == NULL) {
        LOG_ERROR("[general] templates: %s", why);
        free(why);
        app_close(app);
        return 2;
    }
    app->templates = templates;
    proxies = netlist_parse(cfg->http_trusted_proxies, &why);
    if (proxies == NULL) {
        LOG_ERROR("[http] trusted_proxies: %s", why);
        free(why);
        app_close(app);
        return 2;
    }
    app->trusted_proxies = proxies;
    if (signing_key_load_file(cfg->crypto_signing_key_file, &key, &why) != 0) {
        LOG_ERROR("signing key: %s (create one with: glia-admin keygen -c %s)",
                  why, config_path);
        free(why);
        app_close(app);
        return 1;
    }
    app->key = key;
    app->mailer = mailer_new(cfg, &why);
    if (app->mailer == NULL) {
        LOG_ERROR("%s", why);
        free(why);
        app_close(app);
        return 2;
    }
    if (app_database_ready(cfg) != 0) {
        app_close(app);
        return 1;
    }
    routes_table(&nroutes);
    app->metrics = metrics_new(nroutes);
    app->fed = fed_client_new(cfg);
    app->workers = workq_new((size_t)cfg->validation_workers, APP_WORK_QUEUE);
    app->limit_ip = ratelimit_new(cfg->ratelimit_ip_burst,
                                  (int64_t)cfg->ratelimit_ip_interval * 1000,
                                  APP_RATELIMIT_KEYS);
    app->limit_address = ratelimit_new(
        cfg->ratelimit_address_burst,
        (int64_t)cfg->ratelimit_address_interval * 1000, APP_RATELIMIT_KEYS);
    app->limit_invite = ratelimit_new(
        cfg->ratelimit_invite_burst,
        (int64_t)cfg->ratelimit_invite_interval * 1000, APP_RATELIMIT_KEYS);
    app->limit_sms_country = ratelimit_new(
        cfg->ratelimit_sms_country_burst,
        (int64_t)cfg->ratelimit_sms_country_interval * 1000, 1000);
    app->limit_sms_global =
        ratelimit_new(cfg->ratelimit_sms_global_burst,
                      (int64_t)cfg->ratelimit_sms_global_interval * 1000, 1);
    app->sms_v1_clients = netlist_parse(cfg->sms_v1_clients, &why);
    if (app->sms_v1_clients == NULL) {
        LOG_ERROR("[sms] v1_clients: %s", why);
        free(why);
        app_close(app);
        return 2;
    }
    app->sms = sms_sender_new(cfg, &why);
    if (app->sms == NULL) {
        LOG_ERROR("%s", why);
        free(why);
        app_close(app);
        return 2;
    }
    return 0;
}

void
app_close(struct app *app)
{
    /* The workers first: queued sends still use the mailer and the SMS
     * sender. */
    workq_free(app->workers);
    mailer_free(app->mailer);
    ratelimit_free(app->limit_ip);
    ratelimit_free(app->limit_address);
    ratelimit_free(app->limit_invite);
    ratelimit_free(app->limit_sms_country);
    ratelimit_free(app->limit_sms_global);
    sms_sender_free(app->sms);
    netlist_free(app->sms_v1_clients);
    fed_client_free(app->fed);
    metrics_free(app->metrics);
    signing_key_free(app->key);
    netlist_free(app->trusted_proxies);
    templates_free(app->templates);
    terms_free(app->terms);
    memset(app, 0, sizeof(*app));
}
