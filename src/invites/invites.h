/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Third-party invites: what store-invite shows and signs (invite.c, pure
 * and unit-tested), and the background sender that delivers invites to
 * the bound user's homeserver once the address is bound (onbind.c).
 *
 * The life of an invite: store-invite keeps it (glia.invites) and emails
 * the invitee a link holding the token and the ephemeral private key; a
 * local bind of the address hands it, in the bind's own transaction, to an
 * entry of glia.onbind_outbox; the sender POSTs that entry to
 * /_matrix/federation/v1/3pid/onbind on the user's homeserver, retrying
 * with exponential backoff until it answers 200, across restarts; unclaimed
 * invites are deleted when they expire ([invites] lifetime).
 */
#ifndef GLIA_INVITES_INVITES_H
#define GLIA_INVITES_INVITES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct binding_signer;

/**
 * The display_name of an invite: the address with both halves cut, as
 * sydent does, so the room never shows it. A half longer than keep chars
 * keeps its first `keep` characters and gets "..."; otherwise a half of
 * more than 5 characters keeps 3, one of 2 to 5 keeps 1, one of 1 keeps
 * none. Characters are Unicode code points.
 * @return the redacted address (caller frees)
 */
char *invite_redact_address(const char *address, int user_keep, int dom_keep);

/**
 * Shorten s to at most max code points for an email: longer strings keep
 * their first `keep` code points followed by "…" (sydent: display names
 * 20/19, room names 30/25).
 * @return a copy (caller frees)
 */
char *invite_truncate(const char *s, size_t max, size_t keep);

/**
 * Is this invite refused by the operator's block-lists (pure)? Each list
 * is comma-separated (NULL: empty): server names matched against the
 * sender's server (case-insensitively), room ids matched exactly, and
 * words matched case-insensitively inside every string value of the body
 * (a web client URL without its scheme, so "http" blocks nothing there).
 */
bool invite_blocked(const char *homeservers,
                    const char *rooms,
                    const char *keywords,
                    const json_t *body,
                    const char *sender,
                    const char *room_id);

/**
 * The `signed` block of an onbind invite: {mxid, token, signatures}, signed
 * with the server's long-term key (the key listed first in store-invite's
 * public_keys, which the inviting homeserver checks it against).
 * @return the object (caller json_decref()s), or NULL if it cannot be signed
 */
json_t *invite_signed_block(const struct binding_signer *signer,
                            const char *mxid,
                            const char *token);

/* ---- the onbind sender (onbind.c) -------------------------------------- */

struct onbind_sender;

/** Leased per attempt: a sender that dies leaves the entry to others. */
#define ONBIND_LEASE_MS (120LL * 1000)
/** Entries claimed at a time (one: each gets its own full lease, however
 * slow the ones before it were), and how often an idle sender looks. */
#define ONBIND_BATCH    1
#define ONBIND_POLL_MS  1000

/**
 * Start the sender thread: it polls glia.onbind_outbox (every
 * ONBIND_POLL_MS) with its own database connection, and several glia
 * processes on one database share the work (rows are leased).
 * @return the sender, or NULL if the thread could not start (logged)
 */
struct onbind_sender *onbind_start(const struct app *app);
/** Stop and join it (an attempt in flight finishes first); NULL-safe. */
void onbind_stop(struct onbind_sender *s);

#endif
