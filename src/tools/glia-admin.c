/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * glia-admin: the operator's tool. Sub-commands:
 *   keygen       create the signing key named by the config (or --out PATH)
 *   dbinit       apply database migrations (as glia does at start)
 *   check-config validate a config file and what it points at
 *   config-doc   print the configuration reference (doc/configuration.md)
 *   rotate-pepper  replace the lookup pepper and rehash every binding
 *   bind, unbind   make or end a binding, as the internal API does
 *   peer list      replication peers: queue position, lag, last success,
 *                  last error, refused changes
 *   peer retry     send a peer the changes it refused again
 *   sign-json    sign a JSON object from stdin with the server's key, to
 *                check interoperability or debug a peer's verification
 */
#include "app.h"
#include "binding.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "mail/template.h"
#include "sms/sms.h"
#include "terms/terms.h"
#include "util/config.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/time.h"
#include "fed/fed.h"

#include <errno.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static void
usage(FILE *out)
{
    fprintf(out, "usage: glia-admin COMMAND [options]\n"
                 "  keygen -c FILE [--if-missing]  create [crypto] "
                 "signing_key_file\n"
                 "  keygen --out PATH [--version V] create a key file at PATH\n"
                 "  dbinit -c FILE                 apply database migrations\n"
                 "  check-config -c FILE           validate a config file\n"
                 "  config-doc                     print the configuration "
                 "reference\n"
                 "  rotate-pepper -c FILE          new lookup pepper, rehash "
                 "every binding\n"
                 "  sign-json -c FILE < JSON       sign a JSON object with "
                 "the server's key\n"
                 "  sign-json --key K --name N     ...with key file K as "
                 "server N\n"
                 "  bind -c FILE MEDIUM ADDRESS MXID    sign and store a "
                 "binding\n"
                 "  unbind -c FILE MEDIUM ADDRESS MXID  end a binding\n"
                 "  peer list -c FILE              replication peers and "
                 "their progress\n"
                 "  peer retry -c FILE NAME        resend what NAME "
                 "refused\n");
}

struct opts {
    const char *config;
    const char *key;
    const char *name;
    const char *out;
    const char *version;
    int if_missing;
    const char *args[3]; /* positional arguments (bind, unbind) */
    int nargs;
};

/* Options shared by the sub-commands; unknown ones are errors. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->version = "0";
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            o->config = argv[++i];
        else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            o->key = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            o->name = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            o->out = argv[++i];
        else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc)
            o->version = argv[++i];
        else if (strcmp(argv[i], "--if-missing") == 0)
            o->if_missing = 1;
        else if (argv[i][0] != '-' && o->nargs < 3)
            o->args[o->nargs++] = argv[i];
        else {
            fprintf(stderr, "glia-admin: unexpected argument \"%s\"\n",
                    argv[i]);
            return -1;
        }
    }
    return 0;
}

static struct config *
load_config(const struct opts *o)
{
    struct config *cfg;
    char *why = NULL;

    if (o->config == NULL) {
        fprintf(stderr, "glia-admin: -c FILE is required\n");
        return NULL;
    }
    cfg = config_load(o->config, &why);
    if (cfg == NULL) {
        fprintf(stderr, "glia-admin: %s\n", why);
        free(why);
    }
    return cfg;
}

static int
cmd_keygen(const struct opts *o)
{
    struct config *cfg = NULL;
    const char *path = o->out;
    struct signing_key *key;
    struct stat st;
    int rc = 0;

    if (path == NULL) {
        cfg = load_config(o);
        if (cfg == NULL)
            return 2;
        path = cfg->crypto_signing_key_file;
    }
    if (o->if_missing && stat(path, &st) == 0) {
        printf("%s exists; keeping it\n", path);
        config_free(cfg);
        return 0;
    }
    key = signing_key_generate(o->version);
    if (key == NULL) {
        fprintf(stderr,
                "glia-admin: bad key version \"%s\" (use "
                "[A-Za-z0-9_])\n",
                o->version);
        config_free(cfg);
        return 2;
    }
    if (signing_key_write_file(path, key) != 0) {
        fprintf(stderr, "glia-admin: cannot create %s: %s\n", path,
                errno == EEXIST ? "it exists (glia-admin never overwrites a "
                                  "key)"
                                : strerror(errno));
        rc = 1;
    } else {
        /* Only public material is printed. */
        printf("wrote %s\n%s %s\n", path, key->key_id, key->pk_b64);
    }
    signing_key_free(key);
    config_free(cfg);
    return rc;
}

static int
cmd_dbinit(const struct opts *o)
{
    struct config *cfg = load_config(o);
    struct db *db;
    char *why = NULL;
    char *stored = NULL;
    enum db_status qs;
    int rc = 0;

    if (cfg == NULL)
        return 2;
    if (db_migrate(cfg->db_dsn, &why) != 0) {
        fprintf(stderr, "glia-admin: %s\n", why);
        free(why);
        config_free(cfg);
        return 1;
    }
    db = db_new(cfg->db_dsn);
    qs = db_instance_claim(db, cfg->general_server_name, &stored);
    if (qs == DB_NO_RESULTS) {
        fprintf(stderr,
                "glia-admin: the database belongs to \"%s\", not \"%s\"\n",
                stored, cfg->general_server_name);
        rc = 1;
    } else if (qs < 0) {
        fprintf(stderr, "glia-admin: cannot record the instance\n");
        rc = 1;
    } else {
        printf("database ready for %s\n", cfg->general_server_name);
    }
    free(stored);
    db_free(db);
    config_free(cfg);
    return rc;
}

/* templates_check() callback: one warning line. */
static void
warn_template(void *cls, const char *msg)
{
    fprintf(stderr, "%s: warning: [general] templates: %s\n", (const char *)cls,
            msg);
}

static int
cmd_check_config(const struct opts *o)
{
    struct config *cfg = load_config(o);
    struct signing_key *key = NULL;
    struct stat st;
    char *why = NULL;
    int rc = 0;

    if (cfg == NULL)
        return 2;
    if (signing_key_load_file(cfg->crypto_signing_key_file, &key, &why) != 0) {
        fprintf(stderr, "%s: [crypto] signing_key_file: %s\n", o->config, why);
        free(why);
        rc = 2;
    } else if (stat(cfg->crypto_signing_key_file, &st) == 0 &&
               (st.st_mode & 077) != 0) {
        fprintf(stderr,
                "%s: warning: %s is readable by other users (chmod 600)\n",
                o->config, cfg->crypto_signing_key_file);
    }
    signing_key_free(key);
    {
        struct terms *t = terms_load(cfg->general_terms, &why);

        if (t == NULL) {
            fprintf(stderr, "%s: [general] terms: %s\n", o->config, why);
            free(why);
            rc = 2;
        }
        terms_free(t);
    }
    {
        struct templates *t = templates_load(cfg->general_templates,
                                             cfg->general_default_brand, &why);

        if (t == NULL) {
            fprintf(stderr, "%s: [general] templates: %s\n", o->config, why);
            free(why);
            rc = 2;
        } else {
            templates_check(t, warn_template, (void *)(uintptr_t)o->config);
            templates_free(t);
        }
    }
    {
        struct netlist *l = netlist_parse(cfg->http_trusted_proxies, &why);

        if (l == NULL) {
            fprintf(stderr, "%s: [http] trusted_proxies: %s\n", o->config, why);
            free(why);
            rc = 2;
        }
        netlist_free(l);
    }
    {
        /* The SMS settings are checked as glia would (no network). */
        struct sms_sender *sms = sms_sender_new(cfg, &why);

        if (sms == NULL) {
            fprintf(stderr, "%s: %s\n", o->config, why);
            free(why);
            rc = 2;
        }
        sms_sender_free(sms);
    }
    {
        struct netlist *l = netlist_parse(cfg->sms_v1_clients, &why);

        if (l == NULL) {
            fprintf(stderr, "%s: [sms] v1_clients: %s\n", o->config, why);
            free(why);
            rc = 2;
        }
        netlist_free(l);
    }
    {
        /* Replication's PEM files: glia reads them at start. */
        const char *files[] = {cfg->replication_tls_cert,
                               cfg->replication_tls_key,
                               cfg->replication_ca_cert};
        const char *keys[] = {"tls_cert", "tls_key", "ca_cert"};

        for (int i = 0; i < 3; i++) {
            if (files[i] != NULL && access(files[i], R_OK) != 0) {
                fprintf(stderr, "%s: [replication] %s: cannot read %s\n",
                        o->config, keys[i], files[i]);
                rc = 2;
            }
        }
    }
    if (cfg->sms_outbox_dir != NULL &&
        (stat(cfg->sms_outbox_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "%s: [sms] outbox_dir: %s is not a directory\n",
                o->config, cfg->sms_outbox_dir);
        rc = 2;
    }
    if (cfg->email_outbox_dir != NULL &&
        (stat(cfg->email_outbox_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "%s: [email] outbox_dir: %s is not a directory\n",
                o->config, cfg->email_outbox_dir);
        rc = 2;
    }
    if (rc == 0)
        printf("%s: OK\n", o->config);
    config_free(cfg);
    return rc;
}

static int
cmd_rotate_pepper(const struct opts *o)
{
    struct config *cfg = load_config(o);
    struct db *db;
    char pepper[21];
    enum db_status qs;

    if (cfg == NULL)
        return 2;
    token_random(pepper, 20, TOKEN_ALNUM);
    db = db_new(cfg->db_dsn);
    /* One transaction: lookups see the old pepper and hashes or the new
     * ones, never a mix, so no lookup made with a current pepper fails. */
    qs = db_pepper_rotate(db, pepper, time_now_ms());
    db_free(db);
    config_free(cfg);
    if (qs < 0) {
        fprintf(stderr, "glia-admin: rotating the pepper failed\n");
        return 1;
    }
    printf("pepper rotated; %d bindings rehashed\n", (int)qs);
    return 0;
}

static int
cmd_sign_json(const struct opts *o)
{
    struct config *cfg = NULL;
    const char *key_path = o->key;
    const char *name = o->name;
    struct signing_key *key = NULL;
    struct buf in;
    char chunk[4096];
    size_t n;
    json_error_t jerr;
    json_t *obj;
    char *why = NULL;
    int rc = 1;

    if (key_path == NULL || name == NULL) {
        cfg = load_config(o);
        if (cfg == NULL)
            return 2;
        key_path = cfg->crypto_signing_key_file;
        name = cfg->general_server_name;
    }
    if (signing_key_load_file(key_path, &key, &why) != 0) {
        fprintf(stderr, "glia-admin: %s\n", why);
        free(why);
        config_free(cfg);
        return 1;
    }
    buf_init(&in, 1u << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        if (buf_append(&in, chunk, n) != 0)
            break;
    obj = json_loadb(in.data != NULL ? in.data : "", in.len,
                     JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL || !json_is_object(obj)) {
        fprintf(stderr, "glia-admin: stdin is not a JSON object (%s)\n",
                jerr.text);
    } else if (signjson_sign(obj, name, key->key_id, key->sk) != 0) {
        fprintf(stderr, "glia-admin: the object cannot be signed (not "
                        "canonical JSON: floats or huge integers?)\n");
    } else {
        char *text = json_dumps(obj, JSON_COMPACT);

        printf("%s\n", text);
        free(text);
        rc = 0;
    }
    json_decref(obj);
    buf_free(&in);
    signing_key_free(key);
    config_free(cfg);
    return rc;
}

/* Format an age in ms for people: "3s", "2m", "5h", "-". */
static void
age(char *out, size_t len, int64_t since, int64_t now)
{
    int64_t s = (now - since) / 1000;

    if (since <= 0)
        snprintf(out, len, "-");
    else if (s < 120)
        snprintf(out, len, "%llds ago", (long long)s);
    else if (s < 7200)
        snprintf(out, len, "%lldm ago", (long long)(s / 60));
    else
        snprintf(out, len, "%lldh ago", (long long)(s / 3600));
}

/* peer list: each [peer.NAME] and how far it has got. */
static int
cmd_peer_list(const struct opts *o)
{
    struct config *cfg;
    struct db *db;
    int64_t now = time_now_ms();
    int rc = 0;

    if (o->nargs == 2 && strcmp(o->args[0], "retry") == 0) {
        enum db_status qs;

        cfg = load_config(o);
        if (cfg == NULL)
            return 2;
        db = db_new(cfg->db_dsn);
        qs = db_peer_retry(db, o->args[1]);
        db_free(db);
        config_free(cfg);
        if (qs < 0) {
            fprintf(stderr, "glia-admin: cannot update the database\n");
            return 1;
        }
        printf("%d refused change(s) will be sent to %s again\n", (int)qs,
               o->args[1]);
        return 0;
    }
    if (o->nargs != 1 || strcmp(o->args[0], "list") != 0) {
        fprintf(stderr, "glia-admin peer: \"peer list\" or \"peer retry "
                        "NAME\"\n");
        return 2;
    }
    cfg = load_config(o);
    if (cfg == NULL)
        return 2;
    if (cfg->n_peers == 0) {
        printf("no peers configured ([peer.NAME] sections)\n");
        config_free(cfg);
        return 0;
    }
    db = db_new(cfg->db_dsn);
    printf("%-24s %8s %10s %9s %14s %14s  %s\n", "peer", "sent-to", "pending",
           "refused", "lag", "last success", "last error");
    for (size_t i = 0; i < cfg->n_peers; i++) {
        struct db_peer_state st;
        char lag[32];
        char ok[32];

        if (db_peer_report(db, cfg->general_server_name, cfg->peers[i].name,
                           &st) < 0) {
            fprintf(stderr, "glia-admin: cannot read the database\n");
            rc = 1;
            break;
        }
        age(lag, sizeof(lag), st.oldest_pending_ts, now);
        age(ok, sizeof(ok), st.last_success_ts, now);
        printf("%-24s %8lld %10lld %9lld %14s %14s  %s\n", cfg->peers[i].name,
               (long long)st.last_sent_id, (long long)st.pending,
               (long long)st.refused, st.pending > 0 ? lag : "-", ok,
               st.last_error[0] != '\0' ? st.last_error : "-");
    }
    db_free(db);
    config_free(cfg);
    return rc;
}

/* bind / unbind MEDIUM ADDRESS MXID: the internal API from a shell. */
static int
cmd_bind(const struct opts *o, bool bind)
{
    const char *cmd = bind ? "bind" : "unbind";
    struct config *cfg;
    struct signing_key *key = NULL;
    struct binding_signer signer;
    const char *bad = NULL;
    char *canon = NULL;
    char *why = NULL;
    struct db *db;
    json_t *assoc = NULL;
    enum db_status qs;
    int rc = 0;

    if (o->nargs != 3) {
        fprintf(stderr, "glia-admin %s: MEDIUM ADDRESS MXID expected\n", cmd);
        return 2;
    }
    if (binding_canonical_address(o->args[0], o->args[1], &canon, &bad) != 0) {
        fprintf(stderr, "glia-admin %s: invalid %s\n", cmd, bad);
        return 2;
    }
    if (!fed_user_id_parse(o->args[2], NULL, NULL)) {
        fprintf(stderr, "glia-admin %s: invalid Matrix user id\n", cmd);
        free(canon);
        return 2;
    }
    cfg = load_config(o);
    if (cfg == NULL) {
        free(canon);
        return 2;
    }
    if (signing_key_load_file(cfg->crypto_signing_key_file, &key, &why) != 0) {
        fprintf(stderr, "glia-admin: %s\n", why);
        free(why);
        free(canon);
        config_free(cfg);
        return 1;
    }
    if (app_database_ready(cfg) != 0) {
        signing_key_free(key);
        free(canon);
        config_free(cfg);
        return 1;
    }
    signer.server_name = cfg->general_server_name;
    signer.key = key;
    db = db_new(cfg->db_dsn);
    if (bind)
        qs = binding_bind(db, &signer, o->args[0], canon, o->args[2],
                          time_now_ms(), &assoc, NULL);
    else
        qs = binding_unbind(db, &signer, o->args[0], canon, o->args[2],
                            time_now_ms());
    db_free(db);
    if (qs < 0) {
        fprintf(stderr, "glia-admin %s: the database refused\n", cmd);
        rc = 1;
    } else if (bind) {
        char *text = json_dumps(assoc, JSON_COMPACT);

        printf("%s\n", text);
        free(text);
    } else {
        printf("%s\n", qs > 0 ? "unbound" : "was not bound");
    }
    json_decref(assoc);
    signing_key_free(key);
    free(canon);
    config_free(cfg);
    return rc;
}

int
main(int argc, char **argv)
{
    struct opts o;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "-V") == 0) {
        printf("glia-admin %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "glia-admin: cannot initialise libsodium\n");
        return 1;
    }
    log_set_level(LOG_LVL_WARN);
    if (parse_opts(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (o.nargs > 0 && strcmp(argv[1], "bind") != 0 &&
        strcmp(argv[1], "unbind") != 0 && strcmp(argv[1], "peer") != 0) {
        fprintf(stderr, "glia-admin: unexpected argument \"%s\"\n", o.args[0]);
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "keygen") == 0)
        return cmd_keygen(&o);
    if (strcmp(argv[1], "dbinit") == 0)
        return cmd_dbinit(&o);
    if (strcmp(argv[1], "check-config") == 0)
        return cmd_check_config(&o);
    if (strcmp(argv[1], "rotate-pepper") == 0)
        return cmd_rotate_pepper(&o);
    if (strcmp(argv[1], "sign-json") == 0)
        return cmd_sign_json(&o);
    if (strcmp(argv[1], "bind") == 0)
        return cmd_bind(&o, true);
    if (strcmp(argv[1], "peer") == 0)
        return cmd_peer_list(&o);
    if (strcmp(argv[1], "unbind") == 0)
        return cmd_bind(&o, false);
    if (strcmp(argv[1], "config-doc") == 0) {
        config_write_reference(stdout);
        return 0;
    }
    fprintf(stderr, "glia-admin: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
