/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * GET /_matrix/identity/v2/pubkey/{keyId}, GET .../pubkey/isvalid and
 * GET .../pubkey/ephemeral/isvalid, plus their legacy /api/v1 twins.
 * Homeservers call isvalid verbatim from the key_validity_url of
 * third-party invites, so it must keep answering true for as long as the
 * key signs anything; an ephemeral key is valid while its invite lives.
 */
#include "app.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "httpd/handlers.h"
#include "util/time.h"

#include <sodium.h>
#include <string.h>

enum MHD_Result
handler_pubkey_get(struct request *rq, const json_t *body)
{
    const struct signing_key *key = rq->app->key;
    const char *key_id = http_path_param(rq, 0);

    (void)body;
    /* The path arrives decoded, so "ed25519%3A0" is "ed25519:0" here. */
    if (key_id == NULL || strcmp(key_id, key->key_id) != 0)
        return http_reply_error(rq, MXERR_NOT_FOUND,
                                "no public key with that id");
    return http_reply_json_steal(rq, MHD_HTTP_OK,
                                 json_pack("{s:s}", "public_key", key->pk_b64));
}

/* Decode a public key from a query (either base64 alphabet, padded or
 * not). @return true if text is 32 bytes of base64 */
static bool
query_key(const char *text, unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
    unsigned char out[crypto_sign_PUBLICKEYBYTES + 1];
    char fixed[128];
    size_t len = strlen(text);

    if (len >= sizeof(fixed))
        return false;
    /* An unencoded '+' in a query string arrives as a space: undo that,
     * since a space is never part of base64. */
    for (size_t i = 0; i <= len; i++)
        fixed[i] = text[i] == ' ' ? '+' : text[i];
    if (b64_decode(fixed, len, out, sizeof(out)) !=
        (long)crypto_sign_PUBLICKEYBYTES)
        return false;
    memcpy(pk, out, crypto_sign_PUBLICKEYBYTES);
    return true;
}

/* Is text our public key? */
static bool
is_our_key(const struct signing_key *key, const char *text)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];

    return query_key(text, pk) &&
           sodium_memcmp(pk, key->pk, crypto_sign_PUBLICKEYBYTES) == 0;
}

enum MHD_Result
handler_pubkey_isvalid(struct request *rq, const json_t *body)
{
    const char *public_key = http_query(rq, "public_key");

    (void)body;
    if (public_key == NULL)
        return http_reply_error(rq, MXERR_MISSING_PARAMS, "public_key");
    return http_reply_static_json(rq, MHD_HTTP_OK,
                                  is_our_key(rq->app->key, public_key)
                                      ? "{\"valid\":true}"
                                      : "{\"valid\":false}");
}

/* GET .../pubkey/ephemeral/isvalid: the key of an invite that still lives.
 * Unlike sydent, no write on a GET (sydent counts verifications). */
enum MHD_Result
handler_pubkey_ephemeral_isvalid(struct request *rq, const json_t *body)
{
    const char *public_key = http_query(rq, "public_key");
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    char canon[64];
    enum db_status qs;

    (void)body;
    if (public_key == NULL)
        return http_reply_error(rq, MXERR_MISSING_PARAMS, "public_key");
    if (!query_key(public_key, pk))
        return http_reply_static_json(rq, MHD_HTTP_OK, "{\"valid\":false}");
    /* Stored in one form (unpadded URL-safe), asked about in any. */
    b64_encode_into(canon, pk, sizeof(pk), true);
    qs = db_ephemeral_key_valid(rq->db, canon, time_now_ms());
    if (qs < 0)
        return http_reply_internal(rq, "ephemeral isvalid");
    return http_reply_static_json(
        rq, MHD_HTTP_OK, qs > 0 ? "{\"valid\":true}" : "{\"valid\":false}");
}
