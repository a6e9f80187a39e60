/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * THE database API. Everything glia stores goes through the functions declared
 * here; no other file outside src/db/ sees libpq, SQL or SQLSTATEs. Each
 * function runs one prepared statement (or one transaction through
 * db_run_tx()) and returns an enum db_status like Taler's query status:
 * negative for errors, otherwise the number of rows found or changed.
 *
 * A struct db is one connection, used by one thread at a time (each HTTP pool
 * thread owns one). It connects lazily and reconnects transparently when the
 * server went away, so a PostgreSQL restart costs at most the requests made
 * while it was really down.
 */
#ifndef GLIA_DB_DB_H
#define GLIA_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum db_status {
    DB_HARD_ERROR = -2, /* anything but a serialization failure */
    DB_SOFT_ERROR = -1, /* serialization failure or deadlock: retry */
    DB_NO_RESULTS = 0,
    DB_ONE_RESULT = 1, /* and >1: that many rows */
};

struct db;

/**
 * Make a handle for dsn; nothing is connected until first use.
 * @param dsn libpq connection string (copied)
 * @return the handle; caller frees with db_free()
 */
struct db *db_new(const char *dsn);
/** Close the connection and free the handle; NULL-safe. */
void db_free(struct db *db);
/** @return true while a db_run_tx() transaction is open on db. */
bool db_in_tx(const struct db *db);
/** @return the number of database errors since start (for metrics). */
unsigned long db_error_count(void);

/**
 * Body of a transaction. It must be idempotent (it may run more than once),
 * must not reply to HTTP or send mail, and returns the status of its work.
 */
typedef enum db_status (*db_tx_fn)(struct db *db, void *cls);

/**
 * Run fn inside BEGIN ISOLATION LEVEL SERIALIZABLE ... COMMIT, retrying on
 * serialization failures and once on a lost connection.
 * @param name for logs
 * @return fn's status, or an error status
 */
enum db_status
db_run_tx(struct db *db, const char *name, db_tx_fn fn, void *cls);

/* ---- schema (db_migrate.c) ---------------------------------------------- */

/**
 * Apply every pending migration under a PostgreSQL advisory lock, so several
 * nodes may start at once. Idempotent.
 * @param[out] why on failure, a message (caller frees)
 * @return 0 on success, -1 on failure
 */
int db_migrate(const char *dsn, char **why);
/**
 * Drop every glia object (sql/drop.sql). For tests only.
 * @return 0 on success, -1 on failure (with *why, caller frees)
 */
int db_drop_all(const char *dsn, char **why);

/* ---- health (pg_instance.c) --------------------------------------------- */

/** One round trip to the server. @return DB_ONE_RESULT when it answers. */
enum db_status db_ping(struct db *db);

/**
 * Bind this database to server_name on first use, and check it on every later
 * start: a database written by one identity server must not be served under
 * another name (its signatures and replication origin ids would lie).
 * @param[out] stored on DB_NO_RESULTS, the name the database belongs to
 *             (caller frees); NULL otherwise
 * @return DB_ONE_RESULT if the name matches (or was just recorded),
 *         DB_NO_RESULTS if it belongs to another name, or an error
 */
enum db_status
db_instance_claim(struct db *db, const char *server_name, char **stored);

/* ---- accounts and tokens (pg_accounts.c) -------------------------------- */

/**
 * Create the account if it is new and issue it a token.
 * @param token_hash hex SHA-256 of the new token (the token itself is never
 *        stored)
 * @return DB_ONE_RESULT, or an error
 */
enum db_status db_account_register(struct db *db,
                                   const char *user_id,
                                   const char *token_hash,
                                   int64_t now_ms);

/**
 * The account a token acts for.
 * @param[out] user_id caller frees
 * @param[out] consent the terms fingerprint the account accepted, or NULL
 *             (caller frees)
 * @return DB_ONE_RESULT, DB_NO_RESULTS for an unknown token, or an error
 */
enum db_status db_account_by_token(struct db *db,
                                   const char *token_hash,
                                   char **user_id,
                                   char **consent);

/** Revoke one token. @return DB_ONE_RESULT, DB_NO_RESULTS if unknown. */
enum db_status db_token_delete(struct db *db, const char *token_hash);

/* ---- terms (pg_terms.c) ------------------------------------------------- */

struct db_terms_acceptance {
    const char *policy;
    const char *version;
    const char *url;
};

/**
 * Record accepted policy URLs (duplicates are ignored), in one transaction.
 * @return DB_ONE_RESULT, or an error
 */
enum db_status db_terms_accept(struct db *db,
                               const char *user_id,
                               const struct db_terms_acceptance *acc,
                               size_t n,
                               int64_t now_ms);

/** Called once per accepted (policy, version). */
typedef void (*db_terms_cb)(void *cls, const char *policy, const char *version);

/**
 * List the (policy, version) pairs a user has accepted.
 * @return the number of pairs (>= 0), or an error
 */
enum db_status db_terms_accepted(struct db *db,
                                 const char *user_id,
                                 db_terms_cb cb,
                                 void *cls);

/** Store the account's consent fingerprint. */
enum db_status
db_account_set_consent(struct db *db, const char *user_id, const char *consent);

/* ---- validation sessions (pg_sessions.c) -------------------------------- */

#define DB_SID_MAX 64

struct db_session {
    char sid[DB_SID_MAX];
    char medium[16];
    char *address;
    char client_secret_hash[65];
    char *token;
    int64_t send_attempt;
    char *next_link; /* NULL if none */
    int64_t created_ts;
    int64_t modified_ts;
    int64_t validated_ts; /* 0 until validated */
    int failed_attempts;
};

/** Free the strings of s (not s itself); NULL-safe. */
void db_session_clear(struct db_session *s);

/* What requestToken asks for. */
struct db_session_request {
    const char *medium;
    const char *address;
    const char *client_secret_hash;
    int64_t send_attempt;
    const char *next_link; /* may be NULL */
    const char *new_sid;   /* used if a session is created */
    const char *new_token; /* likewise */
    int64_t now_ms;
    int64_t lifetime_ms; /* a session older than this is replaced */
};

/**
 * requestToken's find-or-create, atomically: reuse the live session of
 * (medium, address, client secret), or create one (replacing an expired
 * one). A send_attempt higher than the stored one refreshes the session and
 * asks for a send; an equal or lower one does not.
 * @param[out] out the session (caller db_session_clear()s)
 * @param[out] send true if the token must be sent (new session, or a higher
 *             send_attempt)
 * @return DB_ONE_RESULT, or an error
 */
enum db_status db_session_request(struct db *db,
                                  const struct db_session_request *req,
                                  struct db_session *out,
                                  bool *send);
/**
 * The token of send_attempt did not go out: forget that attempt, so that a
 * retry with the same send_attempt sends (unless a later attempt has been
 * recorded meanwhile).
 */
enum db_status
db_session_unsend(struct db *db, const char *sid, int64_t send_attempt);
/** Read a session by sid. @return DB_ONE_RESULT or DB_NO_RESULTS. */
enum db_status
db_session_get(struct db *db, const char *sid, struct db_session *out);
/**
 * Reserve one token attempt: count it as failed unless the session is
 * already at max_attempts. Done before comparing, so parallel guesses cannot
 * exceed the limit.
 * @return DB_ONE_RESULT if reserved, DB_NO_RESULTS if the session is locked
 */
enum db_status
db_session_reserve_attempt(struct db *db, const char *sid, int max_attempts);
/**
 * The token was right: give the reserved attempt back and mark the session
 * validated (the first time only; that also counts as a modification).
 */
enum db_status
db_session_validate(struct db *db, const char *sid, int64_t now_ms);
/** Delete sessions last modified before cutoff_ms. @return rows deleted. */
enum db_status db_session_purge(struct db *db, int64_t cutoff_ms);

/* ---- associations and lookups (pg_lookup.c) ---------------------------- */

/**
 * The lookup pepper. On the first call ever it stores candidate (when not
 * NULL), so every node of a cluster agrees on one.
 * @param[out] pepper caller frees
 * @return DB_ONE_RESULT, DB_NO_RESULTS (none yet, candidate NULL), or error
 */
enum db_status
db_pepper_get(struct db *db, const char *candidate, char **pepper);
/**
 * Replace the pepper and rehash every association in one transaction: a
 * lookup sees either the old pepper and hashes or the new ones.
 * @return the number of associations rehashed, or an error
 */
enum db_status
db_pepper_rotate(struct db *db, const char *pepper, int64_t now_ms);

struct db_assoc {
    const char *medium;
    const char *address;
    const char *mxid;
    int64_t ts;
    int64_t not_before;
    int64_t not_after;
    const char *origin_server;
    int64_t origin_id;
    const char *signed_json;
    /* db_assoc_bind() only: the bound user's homeserver, to which pending
     * invites of the address are owed (NULL: do not look for invites). */
    const char *homeserver;
};

/** Store an association (hashed with the current pepper). */
enum db_status db_assoc_insert(struct db *db, const struct db_assoc *a);

/**
 * Bind locally: replace this server's association of (medium, address), if
 * any, by a new one whose origin id is its own row id, in one transaction.
 * a->origin_id is ignored; a->signed_json must already be signed. In the
 * same transaction, the address's pending invites (unexpired at a->ts) are
 * handed to a new onbind outbox entry for a->homeserver, so a crash can
 * neither lose them nor deliver them for a binding that did not happen.
 * @param[out] origin_id the id it got
 * @param[out] invites how many invites were handed over (may be NULL)
 */
enum db_status db_assoc_bind(struct db *db,
                             const struct db_assoc *a,
                             int64_t *origin_id,
                             int *invites);
/**
 * The Matrix ID (medium, address) is bound to at now_ms, if any (the
 * newest association, whatever its origin).
 * @param[out] mxid caller frees; NULL when not bound
 * @return DB_ONE_RESULT, DB_NO_RESULTS, or an error
 */
enum db_status db_assoc_find(struct db *db,
                             const char *medium,
                             const char *address,
                             int64_t now_ms,
                             char **mxid);

/** An unbind: which binding goes, and the signed tombstone recording it. */
struct db_unbind {
    const char *medium;
    const char *address;
    const char *mxid;
    int64_t ts;
    const char *signed_json; /* the tombstone, signed */
};

/**
 * Unbind: delete every association of (medium, address) to mxid, whatever
 * its origin, and when there was one, store the tombstone (its id comes
 * from the associations' sequence), in one transaction.
 * @return the number of associations deleted (0: none, nothing stored), or
 *         an error
 */
enum db_status db_assoc_unbind(struct db *db, const struct db_unbind *u);

/** Called once per address found (legacy lookups). signed_json is the
 * association as its origin signed it. */
typedef void (*db_address_cb)(void *cls,
                              const char *medium,
                              const char *address,
                              const char *mxid,
                              const char *signed_json);

/**
 * The legacy (v1) lookup by plain addresses, in one statement on the
 * (medium, address) index: the newest association valid at now_ms of each.
 * @param media, addresses PostgreSQL array literals of equal length
 * @return the number found, or an error
 */
enum db_status db_lookup_addresses(struct db *db,
                                   const char *media,
                                   const char *addresses,
                                   int64_t now_ms,
                                   db_address_cb cb,
                                   void *cls);

/** Called once per lookup hash found, with the Matrix ID it maps to. */
typedef void (*db_lookup_cb)(void *cls, const char *hash, const char *mxid);

/**
 * The lookup, in one round trip: check the pepper and find, for each hash,
 * the newest association valid at now_ms.
 * @param hashes a PostgreSQL array literal of lookup hashes ({h1,h2})
 * @param[out] current the current pepper (caller frees): if it differs from
 *             pepper, nothing was looked up
 * @return the number of hashes found, or an error
 */
enum db_status db_lookup_hashes(struct db *db,
                                const char *pepper,
                                const char *hashes,
                                int64_t now_ms,
                                db_lookup_cb cb,
                                void *cls,
                                char **current);

/* ---- third-party invites and onbind delivery (pg_invites.c) ------------ */

/** A third-party invite, as store-invite keeps it. */
struct db_invite {
    const char *medium;
    const char *address; /* canonical */
    const char *room_id;
    const char *sender;
    const char *token;
    const char *ephemeral_public_key; /* unpadded URL-safe base64 */
    int64_t created_ts;
    int64_t expires_ts;
};

/** Store an invite. @return DB_ONE_RESULT, or an error */
enum db_status db_invite_store(struct db *db, const struct db_invite *inv);
/** Delete an invite (its email could not be sent). */
enum db_status db_invite_delete(struct db *db, const char *token);
/**
 * The sender and ephemeral public key of the unexpired invite with token.
 * @param[out] sender, ephemeral_public_key caller frees (NULL if none)
 * @return DB_ONE_RESULT, DB_NO_RESULTS, or an error
 */
enum db_status db_invite_by_token(struct db *db,
                                  const char *token,
                                  int64_t now_ms,
                                  char **sender,
                                  char **ephemeral_public_key);
/**
 * Is public_key (unpadded URL-safe base64) the ephemeral key of an
 * unexpired invite? @return DB_ONE_RESULT (yes), DB_NO_RESULTS, or an error
 */
enum db_status
db_ephemeral_key_valid(struct db *db, const char *public_key, int64_t now_ms);
/**
 * Delete invites that expired unclaimed (not handed to an onbind entry).
 * @return the number deleted, or an error
 */
enum db_status db_invites_purge(struct db *db, int64_t now_ms);

/** An onbind outbox entry claimed for delivery. */
struct db_onbind {
    int64_t id;
    char *mxid;
    char *homeserver;
    char *assoc_json;
    int64_t created_ts;
    int attempts; /* including this one */
};

/** Free the strings of o (not o). */
void db_onbind_clear(struct db_onbind *o);

/**
 * Claim up to max entries due at now_ms for delivery: each gets
 * attempts + 1 and a lease (next attempt at now_ms + lease_ms), so a
 * sender that dies mid-way leaves it to be retried, and concurrent senders
 * (other glia processes) skip what is claimed.
 * @param[out] out array of max entries; fill count
 * @return the number claimed, or an error
 */
enum db_status db_onbind_claim(struct db *db,
                               int64_t now_ms,
                               int64_t lease_ms,
                               struct db_onbind *out,
                               int max);

/** Called once per invite of an outbox entry. */
typedef void (*db_onbind_invite_cb)(void *cls,
                                    const char *medium,
                                    const char *address,
                                    const char *room_id,
                                    const char *sender,
                                    const char *token);
/** The invites an outbox entry carries. @return their number, or error */
enum db_status db_onbind_invites(struct db *db,
                                 int64_t onbind_id,
                                 db_onbind_invite_cb cb,
                                 void *cls);
/** The homeserver accepted it: mark its invites delivered, drop the entry. */
enum db_status db_onbind_done(struct db *db, int64_t onbind_id, int64_t now_ms);
/** Try again at next_ms; why is kept for operators (no secrets). */
enum db_status db_onbind_retry(struct db *db,
                               int64_t onbind_id,
                               int64_t next_ms,
                               const char *why);
/** Give up: drop the entry; its invites become pending again. */
enum db_status db_onbind_drop(struct db *db, int64_t onbind_id);

/* ---- replication (pg_replication.c) ------------------------------------- */

/** Called once per local change, in id order: a signed association or a
 * signed tombstone, as it goes on the wire. */
typedef void (*db_change_cb)(void *cls, int64_t id, const char *signed_json);

/**
 * The local changes after after_id that peer has not refused, in id order:
 * this server's associations (origin_server = self) and its unbinds.
 * @return the number found, or an error
 */
enum db_status db_changes_after(struct db *db,
                                const char *self,
                                const char *peer,
                                int64_t after_id,
                                int limit,
                                db_change_cb cb,
                                void *cls);

/** A peer's push progress. */
struct db_peer_state {
    int64_t last_sent_id;
    int64_t last_success_ts; /* 0: never */
    int64_t next_attempt_ts;
    int failures;
    char last_error[256];      /* "" if none */
    int64_t pending;           /* changes not yet taken (peer list only) */
    int64_t oldest_pending_ts; /* ts of the oldest of them, 0 if none */
    int64_t refused;           /* changes it refused */
};

/** The state of peer (a fresh row if it has none). */
enum db_status
db_peer_state(struct db *db, const char *peer, struct db_peer_state *out);
/** The peer took everything up to last_id. */
enum db_status db_peer_advanced(struct db *db,
                                const char *peer,
                                int64_t last_id,
                                int64_t now_ms);
/** A push failed; try again at next_ms. */
enum db_status db_peer_failed(struct db *db,
                              const char *peer,
                              int64_t now_ms,
                              int64_t next_ms,
                              const char *why);
/** The peer refused change id: it will not be sent to it again. */
enum db_status db_peer_refused(struct db *db,
                               const char *peer,
                               int64_t change_id,
                               const char *why,
                               int64_t now_ms);
/**
 * Send peer the changes it refused again: forget the refusals and move its
 * cursor back before the first of them (what it already has is re-sent,
 * which receivers ignore).
 * @return the number of refusals forgotten, or an error
 */
enum db_status db_peer_retry(struct db *db, const char *peer);
/**
 * Full state of peer for operators: progress, what it has not taken yet
 * (counted from self's changes) and what it refused.
 */
enum db_status db_peer_report(struct db *db,
                              const char *self,
                              const char *peer,
                              struct db_peer_state *out);

/** One association received from a peer, checked and canonicalised. */
struct db_replicated {
    int64_t origin_id;
    const char *medium;
    const char *address; /* canonical */
    const char *mxid;    /* NULL: a tombstone */
    int64_t ts;
    int64_t not_before;
    int64_t not_after;
    const char *signed_json; /* as received */
};

/**
 * Apply a peer's push in one transaction, idempotently by (origin,
 * origin_id). A binding replaces the origin's older ones for its address,
 * unless a tombstone (a peer's or a local unbind) at least as new exists;
 * a tombstone is kept and deletes every association of the address that
 * is not newer, whatever its origin (sydent deletes them all).
 */
enum db_status db_replicate_apply(struct db *db,
                                  const char *origin,
                                  const struct db_replicated *entries,
                                  size_t n);

/**
 * Try to become the cluster's pusher: a session advisory lock on this
 * connection, held until it closes. Call again to check it is still held
 * (a reconnect loses it).
 * @return DB_ONE_RESULT if this connection holds it, DB_NO_RESULTS if
 *         another does, or an error
 */
enum db_status db_pusher_lock(struct db *db);

#endif
