/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * glia: the identity server daemon. Start-up order: config, logging, crypto,
 * signing key, database schema and instance check, then the listeners.
 * SIGTERM and SIGINT stop it gracefully: no new connections are accepted and
 * in-flight requests finish (up to [http] shutdown_timeout) before it exits.
 */
#include "app.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "fed/fed.h"
#include "httpd/httpd.h"
#include "httpd/metrics.h"
#include "terms/terms.h"
#include "util/config.h"
#include "util/log.h"

#include <curl/curl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static void
usage(FILE *out)
{
    fprintf(out, "usage: glia -c FILE\n"
                 "  -c FILE   configuration file (INI; see "
                 "doc/configuration.md)\n"
                 "  -V        print the version and exit\n"
                 "  -h        this help\n");
}

/* Record (or check) which server this database belongs to. */
static int
claim_database(const struct config *cfg)
{
    struct db *db = db_new(cfg->db_dsn);
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
    db_free(db);
    return rc;
}

int
main(int argc, char **argv)
{
    const char *config_path = NULL;
    struct config *cfg;
    struct signing_key *key = NULL;
    struct terms *terms;
    struct app app;
    struct httpd *httpd;
    enum log_level lvl;
    sigset_t sigs;
    size_t nroutes;
    char *why = NULL;
    int opt;
    int sig = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("glia %s\n", PACKAGE_VERSION);
            return 0;
        }
    }
    while ((opt = getopt(argc, argv, "c:hV")) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("glia %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (config_path == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    cfg = config_load(config_path, &why);
    if (cfg == NULL) {
        fprintf(stderr, "glia: %s\n", why);
        free(why);
        return 2;
    }
    if (log_level_parse(cfg->general_log_level, &lvl) == 0)
        log_set_level(lvl);
    terms = terms_load(cfg->general_terms, &why);
    if (terms == NULL) {
        fprintf(stderr, "glia: [general] terms: %s\n", why);
        free(why);
        config_free(cfg);
        return 2;
    }
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        LOG_ERROR("cannot initialise libsodium or libcurl");
        terms_free(terms);
        config_free(cfg);
        return 1;
    }
    if (signing_key_load_file(cfg->crypto_signing_key_file, &key, &why) != 0) {
        LOG_ERROR("signing key: %s (create one with: glia-admin keygen -c %s)",
                  why, config_path);
        free(why);
        terms_free(terms);
        config_free(cfg);
        return 1;
    }
    if (db_migrate(cfg->db_dsn, &why) != 0) {
        LOG_ERROR("database: %s", why);
        free(why);
        signing_key_free(key);
        terms_free(terms);
        config_free(cfg);
        return 1;
    }
    if (claim_database(cfg) != 0) {
        signing_key_free(key);
        terms_free(terms);
        config_free(cfg);
        return 1;
    }

    /* Block the stop signals in every thread; main waits for them below.
     * libmicrohttpd's threads inherit this mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    routes_table(&nroutes);
    app.cfg = cfg;
    app.key = key;
    app.terms = terms;
    app.fed = fed_client_new(cfg);
    app.metrics = metrics_new(nroutes);
    httpd = httpd_start(&app, &why);
    if (httpd == NULL) {
        LOG_ERROR("%s", why);
        free(why);
        metrics_free(app.metrics);
        fed_client_free(app.fed);
        signing_key_free(key);
        terms_free(terms);
        config_free(cfg);
        return 1;
    }
    LOG_INFO("glia %s serving %s with key %s, listening on http://%s%s%s:%u",
             PACKAGE_VERSION, cfg->general_server_name, key->key_id,
             strchr(cfg->http_bind_address, ':') != NULL ? "[" : "",
             cfg->http_bind_address,
             strchr(cfg->http_bind_address, ':') != NULL ? "]" : "",
             httpd_port(httpd));
    if (cfg->metrics_port != 0)
        LOG_INFO("metrics on http://%s:%ld/metrics", cfg->metrics_bind_address,
                 cfg->metrics_port);

    sigwait(&sigs, &sig);
    LOG_INFO("received %s: finishing in-flight requests",
             sig == SIGTERM ? "SIGTERM" : "SIGINT");
    httpd_stop(httpd, (int)cfg->http_shutdown_timeout);
    LOG_INFO("stopped");
    metrics_free(app.metrics);
    fed_client_free(app.fed);
    signing_key_free(key);
    terms_free(terms);
    config_free(cfg);
    curl_global_cleanup();
    return 0;
}
