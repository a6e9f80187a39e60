/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The `sha256` lookup hash (spec "Lookup", MUST be supported): clients send
 * URL-safe unpadded base64 of SHA-256("<address> <medium> <pepper>") and the
 * server compares against hashes it computed the same way. The pepper at the
 * end stops precomputation across servers. Hashed incrementally so that no
 * concatenated copy of the address is left on the heap.
 */
#include "crypto/crypto.h"

#include <string.h>

#include <sodium.h>

void
lookup_hash_sha256(const char *address,
                   const char *medium,
                   const char *pepper,
                   char out[LOOKUP_HASH_LEN + 1])
{
    crypto_hash_sha256_state st;
    unsigned char digest[crypto_hash_sha256_BYTES];

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)address,
                              strlen(address));
    crypto_hash_sha256_update(&st, (const unsigned char *)" ", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)medium,
                              strlen(medium));
    crypto_hash_sha256_update(&st, (const unsigned char *)" ", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)pepper,
                              strlen(pepper));
    crypto_hash_sha256_final(&st, digest);
    b64_encode_into(out, digest, sizeof(digest), true);
}
