/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * glia: the identity server daemon. Start-up order: config, logging, then
 * everything in struct app (app.c: terms, templates, signing key, mailer,
 * database schema and instance check), then the listeners and housekeeping.
 * SIGTERM and SIGINT stop it gracefully: no new connections are accepted and
 * in-flight requests finish (up to [http] shutdown_timeout) before it exits.
 */
#include "app.h"
#include "crypto/crypto.h"
#include "housekeeping.h"
#include "httpd/httpd.h"
#include "invites/invites.h"
#include "replication/replication.h"
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

int
main(int argc, char **argv)
{
    const char *config_path = NULL;
    struct config *cfg;
    struct housekeeping *hk;
    struct onbind_sender *onbind;
    struct repl_pusher *pusher;
    struct app app;
    struct httpd *httpd;
    enum log_level lvl;
    sigset_t sigs;
    char *why = NULL;
    int rc;
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
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        LOG_ERROR("cannot initialise libsodium or libcurl");
        config_free(cfg);
        return 1;
    }
    /* Block the stop signals before any thread exists (app_open() starts the
     * mail workers): every thread inherits the mask, and only main's
     * sigwait() below ever receives them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = app_open(&app, cfg, config_path);
    if (rc != 0) {
        config_free(cfg);
        curl_global_cleanup();
        return rc;
    }

    httpd = httpd_start(&app, &why);
    if (httpd == NULL) {
        LOG_ERROR("%s", why);
        free(why);
        app_close(&app);
        config_free(cfg);
        curl_global_cleanup();
        return 1;
    }
    hk = housekeeping_start(&app);
    onbind = onbind_start(&app);
    pusher = repl_pusher_start(&app);
    LOG_INFO("glia %s serving %s with key %s, listening on http://%s%s%s:%u",
             PACKAGE_VERSION, cfg->general_server_name, app.key->key_id,
             strchr(cfg->http_bind_address, ':') != NULL ? "[" : "",
             cfg->http_bind_address,
             strchr(cfg->http_bind_address, ':') != NULL ? "]" : "",
             httpd_port(httpd));
    if (cfg->metrics_port != 0)
        LOG_INFO("metrics on http://%s:%ld/metrics", cfg->metrics_bind_address,
                 cfg->metrics_port);
    if (cfg->replication_port != 0)
        LOG_INFO("replication listener on https://%s:%ld with %zu peer(s)",
                 cfg->replication_bind_address, cfg->replication_port,
                 cfg->n_peers);
    if (cfg->internal_port != 0)
        LOG_WARN("internal provisioning API (no authentication) on "
                 "http://%s:%ld/_matrix/identity/internal/",
                 cfg->internal_bind_address, cfg->internal_port);
    if (cfg->email_outbox_dir != NULL)
        LOG_INFO("mail goes to the outbox %s, not to SMTP",
                 cfg->email_outbox_dir);

    sigwait(&sigs, &sig);
    LOG_INFO("received %s: finishing in-flight requests",
             sig == SIGTERM ? "SIGTERM" : "SIGINT");
    housekeeping_stop(hk);
    /* An attempt in flight finishes (bounded by the federation timeouts);
     * whatever is left stays in the outbox for the next start. */
    onbind_stop(onbind);
    repl_pusher_stop(pusher);
    httpd_stop(httpd, (int)cfg->http_shutdown_timeout);
    app_close(&app);
    LOG_INFO("stopped");
    config_free(cfg);
    curl_global_cleanup();
    return 0;
}
