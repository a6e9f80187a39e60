/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Configuration: an INI file parsed by libinih against the declarative table
 * in config.def. The result is immutable after config_load() and is passed
 * explicitly (inside struct app); there are no configuration globals.
 */
#ifndef GLIA_UTIL_CONFIG_H
#define GLIA_UTIL_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#ifndef GLIA_PKGDATADIR
#define GLIA_PKGDATADIR "/usr/local/share/glia"
#endif

#define CONF_REQUIRED 1

#define CONF_CTYPE_STR    char *
#define CONF_CTYPE_SECRET char *
#define CONF_CTYPE_PATH   char *
#define CONF_CTYPE_ENUM   char *
#define CONF_CTYPE_INT    long
#define CONF_CTYPE_BOOL   bool

/** A replication peer: one [peer.NAME] section, as in sydent. */
struct config_peer {
    char *name;               /* NAME: its server name and certificate CN */
    char *url;                /* base replication URL, no trailing '/' */
    unsigned char pubkey[32]; /* its ed25519 key (public_key) */
    bool has_url, has_key;
};

/** Most [peer.NAME] sections. */
#define CONF_PEERS_MAX 64

struct config {
#define CONF(sec, key, type, def, min, max, choices, flags, help)              \
    CONF_CTYPE_##type sec##_##key;
#include "util/config.def"
#undef CONF
    struct config_peer peers[CONF_PEERS_MAX];
    size_t n_peers;
    char *path; /* the file it was read from */
};

/**
 * Read and validate a config file.
 * @param path the INI file
 * @param[out] why on failure, "file:line: [section] key: reason" (caller
 *             frees with free())
 * @return the config (caller frees with config_free()), or NULL on failure
 */
struct config *config_load(const char *path, char **why);
/** Free a config; NULL-safe. Secret values are wiped first. */
void config_free(struct config *cfg);
/** Write the configuration reference (Markdown) generated from config.def. */
void config_write_reference(FILE *out);

#endif
