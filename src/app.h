/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * struct app: everything a handler may need that lives for the whole process.
 * Built once in main() (src/glia.c) and read-only afterwards, so pool threads
 * share it without locks. Handlers reach it as rq->app.
 */
#ifndef GLIA_APP_H
#define GLIA_APP_H

struct config;
struct fed_client;
struct signing_key;
struct metrics;
struct terms;

struct app {
    const struct config *cfg;
    const struct signing_key *key; /* long-term ed25519 key */
    const struct terms *terms;     /* [general] terms; never NULL */
    struct fed_client *fed;        /* outbound calls to homeservers */
    struct metrics *metrics;
};

#endif
