/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * In-memory rate limits: one token bucket per key (a client address, an
 * email address), implemented as GCRA (a "theoretical arrival time" per key,
 * which is a token bucket in one integer). The table is split into shards
 * with a mutex each, so concurrent requests rarely contend, and bounded in
 * size. State is per process, as in sydent; a cluster behind a load balancer
 * multiplies the allowance by its node count.
 */
#ifndef GLIA_UTIL_RATELIMIT_H
#define GLIA_UTIL_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/**
 * @param burst how many requests a fresh key may make at once
 * @param interval_ms time to earn back one request; 0 disables the limit
 * @param max_keys bound on remembered keys (memory); past it, the least
 *        useful entries are dropped and new keys are refused until some age
 * @return the limiter; free with ratelimit_free()
 */
struct ratelimit *
ratelimit_new(long burst, int64_t interval_ms, size_t max_keys);
/** NULL-safe. */
void ratelimit_free(struct ratelimit *rl);
/**
 * Take one request for key. now_ms is any monotonic clock in ms (glia uses
 * time_mono_us() / 1000: a wall-clock step must not lock keys out).
 * @return 0 if allowed, otherwise the milliseconds until one will be
 */
int64_t ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms);
/** Forget keys whose bucket is full again (housekeeping). */
void ratelimit_sweep(struct ratelimit *rl, int64_t now_ms);
/** @return the number of keys remembered (for tests and metrics). */
size_t ratelimit_size(struct ratelimit *rl);

#endif
