/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Matrix signed JSON (spec appendix "Signing JSON"): glia signs the
 * responses of /sign-ed25519 and store-invite, and verifies objects signed
 * by homeservers and replication peers. The signed bytes are the canonical
 * JSON of the object minus `signatures` and `unsigned`, so that other
 * parties can add signatures or unsigned data without invalidating ours.
 */
#include "crypto/crypto.h"

#include <stdlib.h>

#include <sodium.h>

#include "json/cjson.h"

/* Unpadded base64 of a 64-byte signature is 86 characters. */
#define SIG_B64_SIZE 88

int
signjson_sign(json_t *obj,
              const char *entity,
              const char *key_id,
              const unsigned char sk[64])
{
    unsigned char sig[crypto_sign_BYTES];
    char sig_b64[SIG_B64_SIZE];
    json_t *sigs;
    json_t *ent;
    json_t *ent_new;
    json_t *sigs_new;
    json_t *val;
    char *msg;
    size_t len;

    if (obj == NULL || !json_is_object(obj))
        return -1;
    /* Check everything that can fail before touching obj. */
    sigs = json_object_get(obj, "signatures");
    if (sigs != NULL && !json_is_object(sigs))
        return -1;
    ent = sigs != NULL ? json_object_get(sigs, entity) : NULL;
    if (ent != NULL && !json_is_object(ent))
        return -1;
    msg = cjson_encode_signable(obj, &len);
    if (msg == NULL)
        return -1;
    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, sk);
    free(msg);
    b64_encode_into(sig_b64, sig, sizeof(sig), false);

    /*
     * Attach at the deepest level that exists, building the missing levels
     * detached first, so that a failure (an invalid UTF-8 entity or key_id,
     * or OOM) leaves obj as it was. json_object_set_new() releases the value
     * on failure too.
     */
    val = json_string(sig_b64);
    if (ent != NULL)
        return json_object_set_new(ent, key_id, val) == 0 ? 0 : -1;
    ent_new = json_object();
    if (json_object_set_new(ent_new, key_id, val) != 0) {
        json_decref(ent_new);
        return -1;
    }
    if (sigs != NULL)
        return json_object_set_new(sigs, entity, ent_new) == 0 ? 0 : -1;
    sigs_new = json_object();
    if (json_object_set_new(sigs_new, entity, ent_new) != 0) {
        json_decref(sigs_new);
        return -1;
    }
    return json_object_set_new(obj, "signatures", sigs_new) == 0 ? 0 : -1;
}

enum signjson_result
signjson_verify(const json_t *obj,
                const char *entity,
                const char *key_id,
                const unsigned char pk[32])
{
    unsigned char sig[crypto_sign_BYTES];
    const json_t *s;
    const char *b64;
    char *msg;
    size_t len;
    long n;
    int rc;

    if (obj == NULL || !json_is_object(obj))
        return SIGNJSON_NOT_OBJECT;
    s = json_object_get(obj, "signatures");
    s = json_is_object(s) ? json_object_get(s, entity) : NULL;
    s = json_is_object(s) ? json_object_get(s, key_id) : NULL;
    if (!json_is_string(s))
        return SIGNJSON_NO_SIGNATURE;
    b64 = json_string_value(s);
    n = b64_decode(b64, json_string_length(s), sig, sizeof(sig));
    if (n != (long)sizeof(sig))
        return SIGNJSON_BAD_ENCODING;
    msg = cjson_encode_signable(obj, &len);
    if (msg == NULL)
        return SIGNJSON_NOT_CANONICAL;
    rc = crypto_sign_verify_detached(sig, (const unsigned char *)msg, len, pk);
    free(msg);
    if (rc != 0)
        return SIGNJSON_BAD_SIGNATURE;
    return SIGNJSON_OK;
}

const char *
signjson_result_str(enum signjson_result r)
{
    switch (r) {
    case SIGNJSON_OK:
        return "signature valid";
    case SIGNJSON_NOT_OBJECT:
        return "not a JSON object";
    case SIGNJSON_NO_SIGNATURE:
        return "no signature from this entity and key";
    case SIGNJSON_BAD_ENCODING:
        return "signature is not base64 of 64 bytes";
    case SIGNJSON_NOT_CANONICAL:
        return "object has no canonical JSON form";
    case SIGNJSON_BAD_SIGNATURE:
        return "signature does not verify";
    }
    return "unknown signature check result";
}
