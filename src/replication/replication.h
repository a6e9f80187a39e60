/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Replication between identity servers, in sydent's wire format
 * (replication-wire.md): every server pushes the changes it made itself
 * (binds and unbind tombstones, each signed by it) to every [peer.NAME]
 * over mutual TLS; peers verify each entry against the pusher's key and
 * store it in the one associations table lookups read.
 *
 *   pusher.c   one pusher per cluster (a PostgreSQL advisory lock elects
 *              it), one thread per peer, durable per-peer progress and
 *              backoff in glia.replication_peers;
 *   receive.c  checks an inbound push (pure, unit-tested) for
 *              handler_replicate.c.
 */
#ifndef GLIA_REPLICATION_REPLICATION_H
#define GLIA_REPLICATION_REPLICATION_H

#include "db/db.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct config_peer;

/** Changes per push (sydent sends at most 100). */
#define REPL_BATCH              100
/** Path a peer's base URL gets. */
#define REPL_PUSH_PATH          "/_matrix/identity/replicate/v1/push"
/** How often an idle pusher looks for new changes, and for the lock. */
#define REPL_POLL_MS            1000
/** Backoff after failed pushes: 1 s doubling, up to this. */
#define REPL_BACKOFF_MAX_MS     (5LL * 60 * 1000)
/** Timeouts of one push. */
#define REPL_CONNECT_TIMEOUT_MS 5000L
#define REPL_TOTAL_TIMEOUT_MS   30000L

/* ---- receiving (receive.c) ---------------------------------------------- */

/** A checked inbound push: entries ready for db_replicate_apply(). */
struct repl_batch {
    struct db_replicated *e;
    size_t n;
    char **strings; /* what e points into (freed with the batch) */
    size_t n_strings;
    json_t *failed_ids; /* origin ids that failed, as strings */
    size_t skipped;     /* signed, but with no usable address: ignored */
    const char *error;  /* the first failure's reason, for the error text */
};

/**
 * Check a push body from peer: {"sgAssocs": {"<id>": signed assoc, ...}}.
 * Every entry must be signed by peer's own name with its key (any
 * "ed25519:" key id), have the fields sydent requires and an integer id, or
 * it fails. Addresses are canonicalised leniently (a peer accepted them):
 * a signed entry whose address is unusable is skipped, not failed.
 * Entries are ordered by id.
 * @param[out] b the entries, and failed_ids (empty when all are good)
 * @return 0; -1 if the body is not a push at all (no sgAssocs object)
 */
int repl_batch_parse(const json_t *body,
                     const struct config_peer *peer,
                     struct repl_batch *b);
void repl_batch_free(struct repl_batch *b);

/* ---- pushing (pusher.c) -------------------------------------------------- */

struct repl_pusher;

/** Start the election thread and one thread per peer; NULL if no peers. */
struct repl_pusher *repl_pusher_start(const struct app *app);
/** Stop them (a push in flight finishes, bounded by its timeout). */
void repl_pusher_stop(struct repl_pusher *p);

#endif
