/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /_matrix/identity/v2/sign-ed25519 (token and terms) and its legacy
 * unauthenticated v1 twin: sign {mxid, sender, token} with an invite's
 * ephemeral private key, for a client that holds the key from the
 * invitation email and no crypto of its own. The result is the `signed`
 * object of a third-party invite join.
 *
 * The v1 route is what the email's signurl points at: Element web POSTs to
 * that URL with no body and the mxid added to its query, and no identity
 * server token, so arguments come from the body or else the query.
 *
 * Unlike sydent, the key must be the invite's own (ma1sd checks that too):
 * a key from another invite cannot sign for this one.
 */
#include "app.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "fed/fed.h"
#include "httpd/handlers.h"
#include "util/config.h"
#include "util/log.h"
#include "util/time.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A string argument: the body's member, else the query's parameter. */
static const char *
arg(struct request *rq, const json_t *body, const char *name)
{
    const json_t *v = json_object_get(body, name);

    if (v != NULL)
        return json_is_string(v) ? json_string_value(v) : "";
    return http_query(rq, name);
}

/* Decode a private key: the 32-byte seed sydent mails (either base64
 * alphabet), or a 64-byte libsodium secret key whose first half is it. */
static bool
decode_seed(const char *text, unsigned char seed[crypto_sign_SEEDBYTES])
{
    unsigned char raw[crypto_sign_SECRETKEYBYTES + 1];
    char fixed[128];
    size_t len = strlen(text);
    long n;

    if (len >= sizeof(fixed))
        return false;
    /* A '+' that was not encoded in a query arrives as a space. */
    for (size_t i = 0; i <= len; i++)
        fixed[i] = text[i] == ' ' ? '+' : text[i];
    n = b64_decode(fixed, len, raw, sizeof(raw));
    if (n != crypto_sign_SEEDBYTES && n != crypto_sign_SECRETKEYBYTES) {
        sodium_memzero(raw, sizeof(raw));
        return false;
    }
    memcpy(seed, raw, crypto_sign_SEEDBYTES);
    sodium_memzero(raw, sizeof(raw));
    sodium_memzero(fixed, sizeof(fixed));
    return true;
}

enum MHD_Result
handler_sign_ed25519(struct request *rq, const json_t *body)
{
    struct sign_args a = {arg(rq, body, "mxid"), arg(rq, body, "token"),
                          arg(rq, body, "private_key")};
    unsigned char seed[crypto_sign_SEEDBYTES];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    unsigned char stored[crypto_sign_PUBLICKEYBYTES + 1];
    char *sender = NULL;
    char *stored_b64 = NULL;
    json_t *obj;
    bool same;
    enum db_status qs;
    int rc;

    if (a.mxid == NULL || a.token == NULL || a.private_key == NULL)
        return http_reply_error(rq, MXERR_MISSING_PARAMS,
                                a.mxid == NULL    ? "mxid"
                                : a.token == NULL ? "token"
                                                  : "private_key");
    if (!fed_user_id_parse(a.mxid, NULL, NULL))
        return http_reply_error(rq, MXERR_INVALID_PARAM, "mxid");
    if (a.token[0] == '\0' || strlen(a.token) > 255)
        return http_reply_error(rq, MXERR_INVALID_PARAM, "token");
    if (!decode_seed(a.private_key, seed))
        return http_reply_error(rq, MXERR_INVALID_PARAM, "private_key");
    qs = db_invite_by_token(rq->db, a.token, time_now_ms(), &sender,
                            &stored_b64);
    if (qs < 0) {
        sodium_memzero(seed, sizeof(seed));
        return http_reply_internal(rq, "sign-ed25519");
    }
    if (qs == DB_NO_RESULTS) {
        sodium_memzero(seed, sizeof(seed));
        return http_reply_error(rq, MXERR_UNRECOGNIZED,
                                "no invite with that token");
    }
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(seed, sizeof(seed));
    same = b64_decode(stored_b64, strlen(stored_b64), stored, sizeof(stored)) ==
               (long)sizeof(pk) &&
           sodium_memcmp(stored, pk, sizeof(pk)) == 0;
    free(stored_b64);
    if (!same) {
        sodium_memzero(sk, sizeof(sk));
        free(sender);
        return http_reply_error(rq, MXERR_FORBIDDEN,
                                "the private key is not this invite's");
    }
    obj = json_pack("{s:s, s:s, s:s}", "mxid", a.mxid, "sender", sender,
                    "token", a.token);
    free(sender);
    /* sydent's key id for ephemeral signatures; clients do not look. */
    rc = obj != NULL ? signjson_sign(obj, rq->app->cfg->general_server_name,
                                     "ed25519:0", sk)
                     : -1;
    sodium_memzero(sk, sizeof(sk));
    if (rc != 0) {
        json_decref(obj);
        return http_reply_internal(rq, "sign-ed25519: signing");
    }
    LOG_INFO("req %llu: signed an invite for %s", (unsigned long long)rq->id,
             a.mxid);
    return http_reply_json_steal(rq, MHD_HTTP_OK, obj);
}
