/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * GET /_matrix/identity/v2/hash_details and POST /_matrix/identity/v2/lookup.
 * Both algorithms end in the same place: "none" addresses are hashed here
 * with the current pepper, so every lookup is one indexed query on the hash
 * column (db_lookup_hashes), however many addresses it carries.
 */
#include "app.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "httpd/handlers.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/email.h"
#include "util/mem.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>

/* GET /_matrix/identity/v2/hash_details */
enum MHD_Result
handler_hash_details(struct request *rq, const json_t *body)
{
    char *pepper = NULL;
    enum db_status qs = db_pepper_get(rq->db, NULL, &pepper);
    enum MHD_Result ret;

    (void)body;
    if (qs != DB_ONE_RESULT)
        return http_reply_internal(rq, "db_pepper_get");
    ret = http_reply_json_steal(rq, MHD_HTTP_OK,
                                json_pack("{s:s, s:[s, s]}", "lookup_pepper",
                                          pepper, "algorithms", "sha256",
                                          "none"));
    free(pepper);
    return ret;
}

enum mxerr
lookup_args_parse(const json_t *body,
                  size_t max_addresses,
                  struct lookup_args *args,
                  const char **bad_field)
{
    json_t *alg = json_object_get(body, "algorithm");
    json_t *pepper = json_object_get(body, "pepper");
    json_t *addrs = json_object_get(body, "addresses");
    size_t i;
    json_t *v;

    *bad_field = alg == NULL      ? "algorithm"
                 : pepper == NULL ? "pepper"
                 : addrs == NULL  ? "addresses"
                                  : NULL;
    if (*bad_field != NULL)
        return MXERR_MISSING_PARAMS;
    *bad_field = "algorithm";
    if (!json_is_string(alg) ||
        (strcmp(json_string_value(alg), "sha256") != 0 &&
         strcmp(json_string_value(alg), "none") != 0))
        return MXERR_INVALID_PARAM;
    *bad_field = "pepper";
    if (!json_is_string(pepper))
        return MXERR_INVALID_PARAM;
    *bad_field = "addresses";
    if (!json_is_array(addrs))
        return MXERR_INVALID_PARAM;
    if (json_array_size(addrs) > max_addresses)
        return MXERR_TOO_MANY_ADDRESSES;
    json_array_foreach(addrs, i, v)
    {
        if (!json_is_string(v))
            return MXERR_INVALID_PARAM;
    }
    *bad_field = NULL;
    args->none = strcmp(json_string_value(alg), "none") == 0;
    args->pepper = json_string_value(pepper);
    args->addresses = addrs;
    return MXERR_NONE;
}

/* A lookup hash can only be 43 URL-safe base64 characters; anything else
 * cannot match, and must not reach the SQL array literal. */
static bool
hash_shaped(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return n == LOOKUP_HASH_LEN;
}

/*
 * The hash of a "none" address ("<address> <medium>"), in canonical form
 * so that it finds what was bound. @return false if it is malformed.
 */
static bool
hash_plain(const char *entry, const char *pepper, char out[LOOKUP_HASH_LEN + 1])
{
    const char *space = strchr(entry, ' ');
    char *address;
    char *canonical = NULL;
    const char *medium;

    if (space == NULL || space == entry || strchr(space + 1, ' ') != NULL ||
        space[1] == '\0')
        return false;
    address = xstrndup(entry, (size_t)(space - entry));
    medium = space + 1;
    if (strcmp(medium, "email") == 0 &&
        email_canonicalise(address, &canonical) == 0) {
        free(address);
        address = canonical;
    }
    lookup_hash_sha256(address, medium, pepper, out);
    free(address);
    return true;
}

struct lookup_result {
    json_t *keys;     /* hash -> [request strings] */
    json_t *mappings; /* request string -> mxid */
};

static void
on_found(void *cls, const char *hash, const char *mxid)
{
    struct lookup_result *r = cls;
    json_t *keys = json_object_get(r->keys, hash);
    size_t i;
    json_t *k;

    json_array_foreach(keys, i, k)
    {
        json_object_set_new(r->mappings, json_string_value(k),
                            json_string(mxid));
    }
}

/* POST /_matrix/identity/v2/lookup */
enum MHD_Result
handler_lookup(struct request *rq, const json_t *body)
{
    struct lookup_args args;
    const char *bad_field = NULL;
    enum mxerr err = lookup_args_parse(
        body, (size_t)rq->app->cfg->lookup_max_addresses, &args, &bad_field);
    struct lookup_result r;
    struct buf arr;
    char *current = NULL;
    enum db_status qs;
    size_t i;
    json_t *v;

    if (err != MXERR_NONE)
        return http_reply_error(rq, err, bad_field);
    r.keys = json_object();
    r.mappings = json_object();
    buf_init(&arr,
             (json_array_size(args.addresses) + 1) * (LOOKUP_HASH_LEN + 1) + 2);
    buf_puts(&arr, "{");
    json_array_foreach(args.addresses, i, v)
    {
        const char *entry = json_string_value(v);
        char hash[LOOKUP_HASH_LEN + 1];
        json_t *keys;

        if (args.none) {
            if (!hash_plain(entry, args.pepper, hash)) {
                json_decref(r.keys);
                json_decref(r.mappings);
                buf_free(&arr);
                return http_reply_error(rq, MXERR_INVALID_PARAM,
                                        "addresses: \"<address> <medium>\"");
            }
        } else if (hash_shaped(entry)) {
            memcpy(hash, entry, sizeof(hash));
        } else {
            continue; /* cannot match anything */
        }
        keys = json_object_get(r.keys, hash);
        if (keys == NULL) {
            keys = json_array();
            json_object_set_new(r.keys, hash, keys);
            if (arr.len > 1)
                buf_puts(&arr, ",");
            buf_puts(&arr, hash);
        }
        json_array_append_new(keys, json_string(entry));
    }
    buf_puts(&arr, "}");
    qs = db_lookup_hashes(rq->db, args.pepper, arr.data, time_now_ms(),
                          on_found, &r, &current);
    buf_free(&arr);
    json_decref(r.keys);
    if (qs < 0) {
        json_decref(r.mappings);
        free(current);
        return http_reply_internal(rq, "db_lookup_hashes");
    }
    if (current == NULL || strcmp(current, args.pepper) != 0) {
        enum MHD_Result ret = http_reply_error_extra(
            rq, MXERR_INVALID_PEPPER, NULL,
            json_pack("{s:s, s:s}", "algorithm", args.none ? "none" : "sha256",
                      "lookup_pepper", current != NULL ? current : ""));

        json_decref(r.mappings);
        free(current);
        return ret;
    }
    free(current);
    return http_reply_json_steal(rq, MHD_HTTP_OK,
                                 json_pack("{s:o}", "mappings", r.mappings));
}
