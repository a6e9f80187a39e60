/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Bind and unbind, for every caller (binding.h). The signed shapes are the
 * ones peers and homeservers verify: an association is {address, medium,
 * mxid, not_before, not_after, ts, signatures}; a tombstone is the same
 * with mxid, not_before and not_after null (sydent's replication format).
 */
#include "binding.h"

#include "crypto/crypto.h"
#include "fed/fed.h"
#include "util/log.h"
#include "util/email.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

int
binding_canonical_address(const char *medium,
                          const char *address,
                          char **canon,
                          const char **bad_field)
{
    *canon = NULL;
    if (strcmp(medium, "email") == 0) {
        *bad_field = "address";
        return email_canonicalise(address, canon);
    }
    if (strcmp(medium, "msisdn") == 0) {
        size_t n = strlen(address);

        *bad_field = "address";
        if (n == 0 || n > 15 || strspn(address, "0123456789") != n)
            return -1;
        *canon = xstrdup(address);
        return 0;
    }
    *bad_field = "medium";
    return -1;
}

static char *
sign_to_string(json_t *obj, const struct binding_signer *signer)
{
    if (signjson_sign(obj, signer->server_name, signer->key->key_id,
                      signer->key->sk) != 0)
        return NULL;
    return json_dumps(obj, JSON_COMPACT);
}

enum db_status
binding_bind(struct db *db,
             const struct binding_signer *signer,
             const char *medium,
             const char *address,
             const char *mxid,
             int64_t now_ms,
             json_t **assoc_out,
             int64_t *origin_id)
{
    int64_t not_after = now_ms + BINDING_VALIDITY_MS;
    json_t *assoc = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "address",
                              address, "medium", medium, "mxid", mxid,
                              "not_before", (json_int_t)now_ms, "not_after",
                              (json_int_t)not_after, "ts", (json_int_t)now_ms);
    char *signed_json = assoc != NULL ? sign_to_string(assoc, signer) : NULL;
    struct db_assoc a = {
        .medium = medium,
        .address = address,
        .mxid = mxid,
        .ts = now_ms,
        .not_before = now_ms,
        .not_after = not_after,
        .origin_server = signer->server_name,
        .signed_json = signed_json,
    };
    int64_t id = 0;
    int invites = 0;
    struct fed_server_name hs;
    char hs_name[FED_NAME_MAX + 8];
    enum db_status qs;

    if (signed_json == NULL || !fed_user_id_parse(mxid, NULL, &hs) ||
        !fed_server_name_format(&hs, hs_name, sizeof(hs_name))) {
        free(signed_json);
        json_decref(assoc);
        return DB_HARD_ERROR;
    }
    /* Invites waiting for this address go to the user's homeserver. */
    a.homeserver = hs_name;
    qs = db_assoc_bind(db, &a, &id, &invites);
    if (qs >= 0 && invites > 0)
        LOG_INFO("bind to %s: %d pending invite(s) queued for %s", mxid,
                 invites, hs_name);
    free(signed_json);
    if (qs < 0 || assoc_out == NULL)
        json_decref(assoc);
    else
        *assoc_out = assoc;
    if (origin_id != NULL)
        *origin_id = id;
    return qs;
}

enum db_status
binding_unbind(struct db *db,
               const struct binding_signer *signer,
               const char *medium,
               const char *address,
               const char *mxid,
               int64_t now_ms)
{
    json_t *tomb = json_pack("{s:s, s:s, s:n, s:I, s:n, s:n}", "address",
                             address, "medium", medium, "mxid", "ts",
                             (json_int_t)now_ms, "not_before", "not_after");
    char *signed_json = tomb != NULL ? sign_to_string(tomb, signer) : NULL;
    struct db_unbind u = {
        .medium = medium,
        .address = address,
        .mxid = mxid,
        .ts = now_ms,
        .signed_json = signed_json,
    };
    enum db_status qs;

    json_decref(tomb);
    if (signed_json == NULL)
        return DB_HARD_ERROR;
    qs = db_assoc_unbind(db, &u);
    free(signed_json);
    return qs;
}
