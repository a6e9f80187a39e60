/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * INI parsing against config.def. Every key is described once in the table;
 * this file only knows how to parse each *type*. Unknown sections and keys are
 * errors (they are almost always typos), reported with file:line.
 */
#include "util/config.h"
#include "crypto/crypto.h"
#include "util/mem.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum conf_type {
    CT_STR,
    CT_SECRET,
    CT_PATH,
    CT_INT,
    CT_BOOL,
    CT_ENUM,
};

struct conf_key {
    const char *section;
    const char *key;
    enum conf_type type;
    const char *def;
    long min;
    long max;
    const char *choices;
    int flags;
    const char *help;
    size_t offset;
};

static const struct conf_key conf_keys[] = {
#define CONF(sec, k, t, d, mn, mx, ch, fl, h)                                  \
    {#sec, #k, CT_##t, d, mn,                                                  \
     mx,   ch, fl,     h, offsetof(struct config, sec##_##k)},
#include "util/config.def"
#undef CONF
};

#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

struct parse_ctx {
    struct config *cfg;
    const char *dir; /* directory of the config file, for relative paths */
    bool seen[N_KEYS];
    char *why; /* first error, without the "file:line: " prefix */
};

static const char *const type_names[] = {"string",  "secret",  "path",
                                         "integer", "boolean", "choice"};

/* Store a string value into its field, replacing any default. */
static void
set_string(struct config *cfg, const struct conf_key *k, char *v)
{
    char **field = (char **)(void *)((char *)cfg + k->offset);

    if (*field != NULL && k->type == CT_SECRET)
        sodium_memzero(*field, strlen(*field));
    free(*field);
    *field = v;
}

/* Is value one of the |-separated choices? */
static bool
in_choices(const char *choices, const char *value)
{
    size_t vlen = strlen(value);
    const char *p = choices;

    while (*p != '\0') {
        const char *end = strchr(p, '|');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

        if (n == vlen && strncmp(p, value, n) == 0)
            return true;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return false;
}

/*
 * Parse one value of key k. @return NULL on success, or a reason (allocated).
 * Used for both file values and the table's defaults, so a default can never
 * be something the file could not say.
 */
static char *
parse_value(struct config *cfg,
            const char *dir,
            const struct conf_key *k,
            const char *value)
{
    void *field = (char *)cfg + k->offset;

    switch (k->type) {
    case CT_STR:
    case CT_SECRET:
        set_string(cfg, k, xstrdup(value));
        return NULL;
    case CT_PATH:
        if (value[0] == '\0')
            return xstrdup("a path may not be empty");
        if (value[0] == '/' || dir == NULL)
            set_string(cfg, k, xstrdup(value));
        else
            set_string(cfg, k, xasprintf("%s/%s", dir, value));
        return NULL;
    case CT_ENUM:
        if (!in_choices(k->choices, value))
            return xasprintf("\"%s\" is not one of %s", value, k->choices);
        set_string(cfg, k, xstrdup(value));
        return NULL;
    case CT_INT: {
        char *end = NULL;
        long n;

        errno = 0;
        n = strtol(value, &end, 10);
        if (value[0] == '\0' || *end != '\0' || errno != 0)
            return xasprintf("\"%s\" is not an integer", value);
        if (n < k->min || n > k->max)
            return xasprintf("%ld is out of range [%ld, %ld]", n, k->min,
                             k->max);
        *(long *)field = n;
        return NULL;
    }
    case CT_BOOL:
        if (strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0 ||
            strcasecmp(value, "on") == 0 || strcmp(value, "1") == 0) {
            *(bool *)field = true;
            return NULL;
        }
        if (strcasecmp(value, "false") == 0 || strcasecmp(value, "no") == 0 ||
            strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0) {
            *(bool *)field = false;
            return NULL;
        }
        return xasprintf("\"%s\" is not a boolean (true or false)", value);
    }
    return xstrdup("unknown type");
}

/* A [peer.NAME] key: url or public_key. @return NULL, or why not */
static char *
peer_value(struct config *cfg,
           const char *peer,
           const char *name,
           const char *value)
{
    struct config_peer *p = NULL;

    if (peer[0] == '\0' || strlen(peer) > 255 ||
        strspn(peer, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.-:[]") != strlen(peer))
        return xstrdup("NAME must be the peer's server name");
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (strcmp(cfg->peers[i].name, peer) == 0)
            p = &cfg->peers[i];
    if (p == NULL) {
        if (cfg->n_peers == CONF_PEERS_MAX)
            return xstrdup("too many peers");
        p = &cfg->peers[cfg->n_peers++];
        p->name = xstrdup(peer);
    }
    if (strcmp(name, "url") == 0) {
        size_t len = strlen(value);

        if (p->has_url)
            return xstrdup("set more than once");
        if (strncmp(value, "https://", 8) != 0 || len <= 8 ||
            strpbrk(value, " \"'<>\\") != NULL)
            return xstrdup("must be an https:// URL (replication is mutual "
                           "TLS)");
        while (len > 0 && value[len - 1] == '/')
            len--;
        p->url = xstrndup(value, len);
        p->has_url = true;
        return NULL;
    }
    if (strcmp(name, "public_key") == 0) {
        if (p->has_key)
            return xstrdup("set more than once");
        if (b64_decode(value, strlen(value), p->pubkey, sizeof(p->pubkey)) !=
            32)
            return xstrdup("must be an ed25519 public key in base64");
        p->has_key = true;
        return NULL;
    }
    return xstrdup("unknown key (peers have url and public_key)");
}

/* libinih callback: one key = value line. Returns 0 to flag an error. */
static int
on_ini_value(void *user,
             const char *section,
             const char *name,
             const char *value)
{
    struct parse_ctx *ctx = user;
    char *why;

    if (strncmp(section, "peer.", 5) == 0) {
        why = peer_value(ctx->cfg, section + 5, name, value);
        if (why == NULL)
            return 1;
        if (ctx->why == NULL)
            ctx->why = xasprintf("[%s] %s: %s", section, name, why);
        free(why);
        return 0;
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct conf_key *k = &conf_keys[i];

        if (strcmp(k->section, section) != 0 || strcmp(k->key, name) != 0)
            continue;
        if (ctx->seen[i]) {
            why = xstrdup("set more than once");
        } else {
            ctx->seen[i] = true;
            why = parse_value(ctx->cfg, ctx->dir, k, value);
        }
        if (why == NULL)
            return 1;
        if (ctx->why == NULL)
            ctx->why = xasprintf("[%s] %s: %s", section, name, why);
        free(why);
        return 0;
    }
    if (ctx->why == NULL) {
        bool known_section = false;

        for (size_t i = 0; i < N_KEYS; i++)
            if (strcmp(conf_keys[i].section, section) == 0)
                known_section = true;
        if (known_section)
            ctx->why = xasprintf("[%s] %s: unknown key", section, name);
        else
            ctx->why = xasprintf("[%s]: unknown section", section);
    }
    return 0;
}

/* Checks that span keys or need more than the type, after the file is read. */
static char *
validate(struct config *cfg)
{
    const char *sn = cfg->general_server_name;
    size_t len;

    if (sn[0] == '\0' || strlen(sn) > 255)
        return xstrdup("[general] server_name: must be 1 to 255 characters");
    for (const char *p = sn; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == ':' ||
              *p == '[' || *p == ']'))
            return xasprintf("[general] server_name: \"%s\" is not a server "
                             "name (host or host:port)",
                             sn);
    }
    if (cfg->general_public_baseurl == NULL)
        cfg->general_public_baseurl = xasprintf("https://%s", sn);
    if (strncmp(cfg->general_public_baseurl, "http://", 7) != 0 &&
        strncmp(cfg->general_public_baseurl, "https://", 8) != 0)
        return xstrdup("[general] public_baseurl: must start with http:// or "
                       "https://");
    /* Links are built as baseurl + "/_matrix/...": drop trailing slashes. */
    len = strlen(cfg->general_public_baseurl);
    while (len > 0 && cfg->general_public_baseurl[len - 1] == '/')
        cfg->general_public_baseurl[--len] = '\0';
    if (cfg->email_password != NULL && cfg->email_username == NULL)
        return xstrdup("[email] password: set without [email] username");
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct config_peer *p = &cfg->peers[i];

        if (!p->has_url || !p->has_key)
            return xasprintf("[peer.%s]: needs both url and public_key",
                             p->name);
        if (strcmp(p->name, sn) == 0)
            return xasprintf("[peer.%s]: that is this server's own name",
                             p->name);
    }
    if ((cfg->n_peers > 0 || cfg->replication_port != 0) &&
        (cfg->replication_tls_cert == NULL ||
         cfg->replication_tls_key == NULL || cfg->replication_ca_cert == NULL))
        return xstrdup("[replication] tls_cert, tls_key and ca_cert are "
                       "needed to replicate (peers or a port are set)");
    return NULL;
}

struct config *
config_load(const char *path, char **why)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    struct parse_ctx ctx;
    char *slash;
    char *dir;
    int line;

    *why = NULL;
    memset(&ctx, 0, sizeof(ctx));
    ctx.cfg = cfg;
    cfg->path = xstrdup(path);
    for (size_t i = 0; i < N_KEYS; i++) {
        char *err;

        if (conf_keys[i].def == NULL)
            continue;
        err = parse_value(cfg, NULL, &conf_keys[i], conf_keys[i].def);
        if (err != NULL) {
            /* A bad default is our bug, not the operator's. */
            *why = xasprintf("built-in default of [%s] %s: %s",
                             conf_keys[i].section, conf_keys[i].key, err);
            free(err);
            config_free(cfg);
            return NULL;
        }
    }
    slash = strrchr(cfg->path, '/');
    dir = slash == NULL ? xstrdup(".")
                        : xstrndup(cfg->path, (size_t)(slash - cfg->path));
    ctx.dir = dir;
    line = ini_parse(path, on_ini_value, &ctx);
    free(dir);
    if (line < 0) {
        *why = xasprintf("%s: cannot open: %s", path, strerror(errno));
        free(ctx.why);
        config_free(cfg);
        return NULL;
    }
    if (line > 0) {
        *why = xasprintf("%s:%d: %s", path, line,
                         ctx.why != NULL ? ctx.why : "syntax error");
        free(ctx.why);
        config_free(cfg);
        return NULL;
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct conf_key *k = &conf_keys[i];

        if ((k->flags & CONF_REQUIRED) != 0 && !ctx.seen[i]) {
            *why = xasprintf("%s: [%s] %s: required but not set", path,
                             k->section, k->key);
            config_free(cfg);
            return NULL;
        }
    }
    {
        char *err = validate(cfg);

        if (err != NULL) {
            *why = xasprintf("%s: %s", path, err);
            free(err);
            config_free(cfg);
            return NULL;
        }
    }
    return cfg;
}

void
config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct conf_key *k = &conf_keys[i];

        if (k->type == CT_STR || k->type == CT_SECRET || k->type == CT_PATH ||
            k->type == CT_ENUM)
            set_string(cfg, k, NULL);
    }
    for (size_t i = 0; i < cfg->n_peers; i++) {
        free(cfg->peers[i].name);
        free(cfg->peers[i].url);
    }
    free(cfg->path);
    free(cfg);
}

void
config_write_reference(FILE *out)
{
    const char *section = "";

    fprintf(out, "# glia configuration reference\n\n"
                 "Generated from `src/util/config.def` by `glia-admin "
                 "config-doc`; do not edit by hand.\n\n"
                 "The file is INI. Unknown sections and keys are errors. "
                 "Relative paths are taken relative to the directory of the "
                 "config file.\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct conf_key *k = &conf_keys[i];

        if (strcmp(k->section, section) != 0) {
            section = k->section;
            fprintf(out,
                    "\n## [%s]\n\n| key | type | default | meaning |\n"
                    "|---|---|---|---|\n",
                    section);
        }
        fprintf(out, "| `%s` | %s", k->key, type_names[k->type]);
        if (k->type == CT_INT)
            fprintf(out, " (%ld to %ld)", k->min, k->max);
        if (k->type == CT_ENUM)
            fprintf(out, ": `%s`", k->choices);
        if ((k->flags & CONF_REQUIRED) != 0)
            fprintf(out, " | **required**");
        else if (k->def == NULL)
            fprintf(out, " | unset");
        else if (strncmp(k->def, GLIA_PKGDATADIR, strlen(GLIA_PKGDATADIR)) == 0)
            /* Install-dependent: keep the reference the same everywhere. */
            fprintf(out, " | `<pkgdatadir>%s`",
                    k->def + strlen(GLIA_PKGDATADIR));
        else
            fprintf(out, " | `%s`", k->def);
        fprintf(out, " | %s |\n", k->help);
    }
    fprintf(out,
            "\n## [peer.NAME]\n\n"
            "One section per replication peer, as in sydent. NAME is the "
            "peer's server name: the name it signs associations with and "
            "the Common Name of its TLS certificate. Both keys are "
            "required.\n\n| key | type | default | meaning |\n"
            "|---|---|---|---|\n"
            "| `url` | string | **required** | The peer's base replication "
            "URL (https); glia appends "
            "`/_matrix/identity/replicate/v1/push`. |\n"
            "| `public_key` | string | **required** | The peer's ed25519 "
            "public key (base64), as its `/pubkey/ed25519:0` answers. Every "
            "association it pushes must be signed with it. |\n");
}
