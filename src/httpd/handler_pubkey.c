/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * GET /_matrix/identity/v2/pubkey/{keyId} and GET .../pubkey/isvalid, plus
 * their legacy /api/v1 twins. Homeservers call isvalid verbatim from the
 * key_validity_url of third-party invites, so it must keep answering true
 * for as long as the key signs anything.
 */
#include "app.h"
#include "crypto/crypto.h"
#include "httpd/handlers.h"

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

/* Is text (either base64 alphabet, padded or not) our public key? */
static bool
is_our_key(const struct signing_key *key, const char *text)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES + 1];
    char fixed[128];
    size_t len = strlen(text);
    long n;

    if (len >= sizeof(fixed))
        return false;
    /* An unencoded '+' in a query string arrives as a space: undo that,
     * since a space is never part of base64. */
    for (size_t i = 0; i <= len; i++)
        fixed[i] = text[i] == ' ' ? '+' : text[i];
    n = b64_decode(fixed, len, pk, sizeof(pk));
    if (n != (long)crypto_sign_PUBLICKEYBYTES)
        return false;
    return sodium_memcmp(pk, key->pk, crypto_sign_PUBLICKEYBYTES) == 0;
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
