/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Homeservers' public signing keys, for verifying X-Matrix requests
 * (3pid/unbind). Fetched from the homeserver itself at
 * GET /_matrix/key/v2/server, through fed_request() (server discovery, the
 * address guard, timeouts), never from a notary: an identity server has no
 * notary it trusts more than the server itself.
 *
 * The cache keeps one entry per server name: the keys of the last good
 * fetch until their valid_until_ts (at most 7 days), or the failure of the
 * last fetch. A request naming a key we do not have, or arriving after the
 * keys expired, refetches at most once a minute per server, so a stream of
 * forged requests costs the named server one fetch a minute, not one each.
 */
#include "crypto/crypto.h"
#include "fed/fed_internal.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS_PATH "/_matrix/key/v2/server"
/* Keys listed in one response; real servers list one. */
#define KEYS_MAX  8

static void
why_set(char **why, const char *name, const char *reason)
{
    if (why == NULL)
        return;
    free(*why);
    *why = xasprintf("%s: %s", name, reason);
}

static bool
same_server(const char *a, const char *b)
{
    struct fed_server_name na;
    struct fed_server_name nb;
    char ca[FED_NAME_MAX + 8];
    char cb[FED_NAME_MAX + 8];

    return fed_server_name_parse(a, &na) && fed_server_name_parse(b, &nb) &&
           fed_server_name_format(&na, ca, sizeof(ca)) &&
           fed_server_name_format(&nb, cb, sizeof(cb)) && strcmp(ca, cb) == 0;
}

bool
fed_keys_parse(json_t *resp,
               const char *server_name,
               struct fed_key **keys,
               size_t *n,
               int64_t *valid_until_ts,
               const char **why)
{
    const json_t *name = json_object_get(resp, "server_name");
    const json_t *until = json_object_get(resp, "valid_until_ts");
    json_t *vk = json_object_get(resp, "verify_keys");
    struct fed_key *out;
    size_t k = 0;
    const char *id;
    json_t *v;

    *keys = NULL;
    *n = 0;
    if (!json_is_object(resp)) {
        *why = "not a JSON object";
        return false;
    }
    if (!json_is_string(name) ||
        !same_server(json_string_value(name), server_name)) {
        *why = "server_name is not the server asked";
        return false;
    }
    if (!json_is_integer(until)) {
        *why = "no integer valid_until_ts";
        return false;
    }
    if (!json_is_object(vk) || json_object_size(vk) == 0) {
        *why = "no verify_keys";
        return false;
    }
    out = xcalloc(KEYS_MAX, sizeof(*out));
    json_object_foreach(vk, id, v)
    {
        const json_t *kv = json_object_get(v, "key");

        if (strncmp(id, "ed25519:", 8) != 0)
            continue; /* another algorithm: not ours to check */
        if (k == KEYS_MAX || strlen(id) > FED_KEY_ID_MAX ||
            !json_is_string(kv) ||
            b64_decode(json_string_value(kv), json_string_length(kv), out[k].pk,
                       sizeof(out[k].pk)) != 32) {
            free(out);
            *why = "a verify_keys entry is malformed";
            return false;
        }
        snprintf(out[k].id, sizeof(out[k].id), "%s", id);
        /* Synapse's rule: every key the server lists signs the response,
         * so a listed key cannot be someone else's. */
        if (signjson_verify(resp, json_string_value(name), id, out[k].pk) !=
            SIGNJSON_OK) {
            free(out);
            *why = "the response is not signed by the keys it lists";
            return false;
        }
        k++;
    }
    if (k == 0) {
        free(out);
        *why = "no ed25519 key";
        return false;
    }
    *keys = out;
    *n = k;
    *valid_until_ts = (int64_t)json_integer_value(until);
    return true;
}

void
fed_keys_cache_free(struct fed_client *c)
{
    for (size_t i = 0; i < c->keys_len; i++) {
        free(c->keys[i].name);
        free(c->keys[i].keys);
    }
    free(c->keys);
    c->keys = NULL;
    c->keys_len = 0;
}

/* What the cache says about (name, key_id). */
enum cache_answer {
    CACHE_MISS,    /* nothing usable: fetch */
    CACHE_HIT,     /* *pk set */
    CACHE_REFUSED, /* fetched recently and the key was not there */
};

static enum cache_answer
cache_get(struct fed_client *c,
          const char *name,
          const char *key_id,
          int64_t now,
          unsigned char pk[32],
          enum fed_error *refused_why)
{
    enum cache_answer ans = CACHE_MISS;

    pthread_mutex_lock(&c->keys_lock);
    for (size_t i = 0; i < c->keys_len; i++) {
        const struct fed_keys_entry *e = &c->keys[i];
        bool recent = now - e->fetched < FED_KEYS_REFETCH_MS;

        if (strcmp(e->name, name) != 0)
            continue;
        if (e->valid_until > now) {
            for (size_t k = 0; k < e->n_keys; k++) {
                if (strcmp(e->keys[k].id, key_id) == 0) {
                    memcpy(pk, e->keys[k].pk, 32);
                    ans = CACHE_HIT;
                }
            }
            if (ans == CACHE_MISS && recent) {
                ans = CACHE_REFUSED;
                *refused_why = FED_KEY_UNKNOWN;
            }
        } else if (recent) {
            ans = CACHE_REFUSED;
            *refused_why = e->n_keys > 0 ? FED_KEY_EXPIRED : FED_UNREACHABLE;
        }
        break;
    }
    pthread_mutex_unlock(&c->keys_lock);
    return ans;
}

/* Store the outcome of a fetch (keys NULL: it failed), replacing the
 * server's entry; when full, the entry fetched longest ago goes. Takes
 * ownership of keys. */
static void
cache_put(struct fed_client *c,
          const char *name,
          struct fed_key *keys,
          size_t n,
          int64_t valid_until,
          int64_t now)
{
    struct fed_keys_entry *e = NULL;

    pthread_mutex_lock(&c->keys_lock);
    for (size_t i = 0; i < c->keys_len; i++) {
        if (strcmp(c->keys[i].name, name) != 0)
            continue;
        e = &c->keys[i];
        /* A failed refetch (asked for by a request naming an unknown key,
         * which anyone can send) must not throw away keys still valid. */
        if (keys == NULL && e->n_keys > 0 && e->valid_until > now) {
            e->fetched = now;
            pthread_mutex_unlock(&c->keys_lock);
            return;
        }
        free(e->keys);
        break;
    }
    if (e == NULL && c->keys_len == FED_KEYS_CACHE_MAX) {
        size_t oldest = 0;

        for (size_t i = 1; i < c->keys_len; i++) {
            if (c->keys[i].fetched < c->keys[oldest].fetched)
                oldest = i;
        }
        e = &c->keys[oldest];
        free(e->name);
        free(e->keys);
        e->name = xstrdup(name);
    }
    if (e == NULL) {
        if (c->keys == NULL)
            c->keys = xcalloc(FED_KEYS_CACHE_MAX, sizeof(*c->keys));
        e = &c->keys[c->keys_len++];
        e->name = xstrdup(name);
    }
    e->keys = keys;
    e->n_keys = n;
    if (valid_until > now + FED_KEYS_TTL_MAX_MS)
        valid_until = now + FED_KEYS_TTL_MAX_MS;
    e->valid_until = valid_until;
    e->fetched = now;
    pthread_mutex_unlock(&c->keys_lock);
}

enum fed_error
fed_server_key(struct fed_client *c,
               const char *server_name,
               const char *key_id,
               int64_t now_ms,
               unsigned char pk[32],
               char **why)
{
    struct fed_server_name sn;
    char canon[FED_NAME_MAX + 8];
    enum fed_error err = FED_OK;
    json_t *j = NULL;
    long status = 0;
    struct fed_key *keys = NULL;
    size_t n = 0;
    int64_t until = 0;
    const char *reason;

    if (!fed_server_name_parse(server_name, &sn) ||
        !fed_server_name_format(&sn, canon, sizeof(canon))) {
        why_set(why, server_name, "not a server name");
        return FED_BAD_NAME;
    }
    switch (cache_get(c, canon, key_id, now_ms, pk, &err)) {
    case CACHE_HIT:
        return FED_OK;
    case CACHE_REFUSED:
        why_set(why, canon, "(cached) no such current key");
        return err;
    case CACHE_MISS:
        break;
    }
    err = fed_request(c, "GET", canon, KEYS_PATH, NULL, &status, &j, why);
    if (err == FED_OK && status != 200) {
        why_set(why, canon, "key request failed");
        err = FED_BAD_RESPONSE;
    }
    if (err == FED_OK &&
        !fed_keys_parse(j, canon, &keys, &n, &until, &reason)) {
        why_set(why, canon, reason);
        err = FED_BAD_RESPONSE;
    }
    json_decref(j);
    if (err != FED_OK) {
        cache_put(c, canon, NULL, 0, 0, now_ms);
        return err;
    }
    for (size_t k = 0; k < n; k++) {
        if (strcmp(keys[k].id, key_id) == 0) {
            memcpy(pk, keys[k].pk, 32);
            err = FED_OK;
            break;
        }
        err = FED_KEY_UNKNOWN;
    }
    if (until <= now_ms)
        err = FED_KEY_EXPIRED;
    if (err == FED_KEY_UNKNOWN)
        why_set(why, canon, "the server does not publish that key");
    else if (err == FED_KEY_EXPIRED)
        why_set(why, canon, "the server's keys are past valid_until_ts");
    cache_put(c, canon, keys, n, until, now_ms);
    return err;
}
