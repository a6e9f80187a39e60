/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Making and ending bindings: the part of 3pid/bind and 3pid/unbind that
 * does not depend on how the caller was authorised. The public API
 * (validated sessions, homeserver signatures), the internal provisioning
 * listener and `glia-admin bind`/`unbind` all come through here, so every
 * binding is signed, stored and replicated the same way.
 */
#ifndef GLIA_BINDING_H
#define GLIA_BINDING_H

#include "db/db.h"

#include <jansson.h>
#include <stdint.h>

struct signing_key;

/** As sydent: bindings do not expire on their own (unbind ends them). */
#define BINDING_VALIDITY_MS (100LL * 365 * 24 * 3600 * 1000)

/** Who signs: this server's name and key (borrowed). */
struct binding_signer {
    const char *server_name;
    const struct signing_key *key;
};

/**
 * Canonicalise a 3PID for storage and comparison: an email is checked and
 * case-folded; an msisdn must be the E.164 digits (1 to 15, no '+').
 * @param[out] canon the canonical address (caller frees) on success
 * @param[out] bad_field "medium" or "address" on failure
 * @return 0, or -1 if medium is unknown or address is not valid for it
 */
int binding_canonical_address(const char *medium,
                              const char *address,
                              char **canon,
                              const char **bad_field);

/**
 * Sign and store a binding of (medium, address) to mxid, replacing this
 * server's earlier binding of the address (to whomever). Pending invites
 * for the address are queued, in the same transaction, for delivery to
 * mxid's homeserver (src/invites/onbind.c).
 * @param address already canonical
 * @param[out] assoc the signed association, as clients get it (caller
 *        json_decref()s), on success; may be NULL
 * @param[out] origin_id its id (may be NULL)
 * @return DB_ONE_RESULT, or an error status (DB_HARD_ERROR also when
 *         signing fails)
 */
enum db_status binding_bind(struct db *db,
                            const struct binding_signer *signer,
                            const char *medium,
                            const char *address,
                            const char *mxid,
                            int64_t now_ms,
                            json_t **assoc,
                            int64_t *origin_id);

/**
 * End the binding of (medium, address) to mxid, whatever server made it,
 * and record a signed tombstone for replication. Unbinding what is not
 * bound changes nothing and is not an error.
 * @param address already canonical
 * @return the number of associations removed (0 or more), or an error
 */
enum db_status binding_unbind(struct db *db,
                              const struct binding_signer *signer,
                              const char *medium,
                              const char *address,
                              const char *mxid,
                              int64_t now_ms);

#endif
