/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Sharded GCRA rate limiter; see ratelimit.h. */
#include "util/ratelimit.h"
#include "util/mem.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define RL_SHARDS  64
#define RL_BUCKETS 256 /* hash chains per shard */

struct rl_entry {
    struct rl_entry *next;
    int64_t tat; /* theoretical arrival time of the next request, ms */
    char key[];
};

struct rl_shard {
    pthread_mutex_t lock;
    struct rl_entry *chains[RL_BUCKETS];
    size_t count;
};

struct ratelimit {
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    long burst;
    int64_t interval_ms;
    size_t max_per_shard;
    struct rl_shard shards[RL_SHARDS];
};

/* Keyed (SipHash, a random key per limiter): the keys are chosen by
 * clients (email addresses), who must not be able to aim them all at one
 * shard and fill it. */
static uint64_t
hash_key(const struct ratelimit *rl, const char *key)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h;

    crypto_shorthash(out, (const unsigned char *)key, strlen(key),
                     rl->hash_key);
    memcpy(&h, out, sizeof(h));
    return h;
}

struct ratelimit *
ratelimit_new(long burst, int64_t interval_ms, size_t max_keys)
{
    struct ratelimit *rl = xcalloc(1, sizeof(*rl));

    crypto_shorthash_keygen(rl->hash_key);
    rl->burst = burst < 1 ? 1 : burst;
    rl->interval_ms = interval_ms;
    rl->max_per_shard = max_keys / RL_SHARDS + 1;
    for (size_t i = 0; i < RL_SHARDS; i++)
        pthread_mutex_init(&rl->shards[i].lock, NULL);
    return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; i < RL_SHARDS; i++) {
        for (size_t b = 0; b < RL_BUCKETS; b++) {
            struct rl_entry *e = rl->shards[i].chains[b];

            while (e != NULL) {
                struct rl_entry *next = e->next;

                free(e);
                e = next;
            }
        }
        pthread_mutex_destroy(&rl->shards[i].lock);
    }
    free(rl);
}

/* Drop entries of one shard whose bucket is full again. Caller locks. */
static void
sweep_shard(struct rl_shard *s, int64_t now_ms)
{
    for (size_t b = 0; b < RL_BUCKETS; b++) {
        struct rl_entry **pp = &s->chains[b];

        while (*pp != NULL) {
            struct rl_entry *e = *pp;

            if (e->tat <= now_ms) {
                *pp = e->next;
                free(e);
                s->count--;
            } else {
                pp = &e->next;
            }
        }
    }
}

int64_t
ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    uint64_t h;
    struct rl_shard *s;
    struct rl_entry **chain;
    struct rl_entry *e;
    int64_t tat;
    int64_t allowance;
    int64_t wait = 0;

    if (rl->interval_ms <= 0)
        return 0;
    h = hash_key(rl, key);
    s = &rl->shards[h % RL_SHARDS];
    pthread_mutex_lock(&s->lock);
    chain = &s->chains[(h / RL_SHARDS) % RL_BUCKETS];
    for (e = *chain; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0)
            break;
    if (e == NULL) {
        if (s->count >= rl->max_per_shard)
            sweep_shard(s, now_ms);
        if (s->count >= rl->max_per_shard) {
            /* Flooded with distinct keys: refuse newcomers briefly rather
             * than grow without bound or forget keys that are limited. */
            pthread_mutex_unlock(&s->lock);
            return 1000;
        }
        e = xmalloc(sizeof(*e) + strlen(key) + 1);
        strcpy(e->key, key);
        e->tat = now_ms;
        e->next = *chain;
        *chain = e;
        s->count++;
    }
    /* GCRA: a request is allowed while the backlog it would create stays
     * within burst - 1 intervals. */
    tat = e->tat > now_ms ? e->tat : now_ms;
    allowance = (int64_t)(rl->burst - 1) * rl->interval_ms;
    if (tat - now_ms > allowance)
        wait = tat - now_ms - allowance;
    else
        e->tat = tat + rl->interval_ms;
    pthread_mutex_unlock(&s->lock);
    return wait;
}

void
ratelimit_sweep(struct ratelimit *rl, int64_t now_ms)
{
    for (size_t i = 0; i < RL_SHARDS; i++) {
        pthread_mutex_lock(&rl->shards[i].lock);
        sweep_shard(&rl->shards[i], now_ms);
        pthread_mutex_unlock(&rl->shards[i].lock);
    }
}

size_t
ratelimit_size(struct ratelimit *rl)
{
    size_t n = 0;

    for (size_t i = 0; i < RL_SHARDS; i++) {
        pthread_mutex_lock(&rl->shards[i].lock);
        n += rl->shards[i].count;
        pthread_mutex_unlock(&rl->shards[i].lock);
    }
    return n;
}
