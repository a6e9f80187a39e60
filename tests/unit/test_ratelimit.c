/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The GCRA limiter: burst, refill, independent keys, bounded memory. */
#include "tap.h"
#include "util/ratelimit.h"

#include <stdio.h>

int
main(void)
{
    struct ratelimit *rl = ratelimit_new(3, 1000, 10000);
    struct ratelimit *off = ratelimit_new(1, 0, 10);
    struct ratelimit *tiny = ratelimit_new(1, 60000, 1);
    int64_t t = 1000000;
    int allowed = 0;
    char key[32];

    plan_no_plan();
    for (int i = 0; i < 3; i++)
        is_int(ratelimit_take(rl, "a", t), 0, "burst request %d allowed", i);
    ok(ratelimit_take(rl, "a", t) > 0, "the fourth is refused");
    is_int(ratelimit_take(rl, "a", t), 1000, "retry after one interval");
    is_int(ratelimit_take(rl, "a", t + 400), 600, "... counting down");
    is_int(ratelimit_take(rl, "b", t), 0, "another key has its own bucket");
    is_int(ratelimit_take(rl, "a", t + 1000), 0, "one more after an interval");
    ok(ratelimit_take(rl, "a", t + 1000) > 0, "and only one");
    is_int(ratelimit_take(rl, "a", t + 10000), 0, "refilled after a while");
    for (int i = 0; i < 10; i++)
        if (ratelimit_take(rl, "c", t + i * 500) == 0)
            allowed++;
    is_int(allowed, 3 + 4, "sustained rate: burst plus one per interval");
    ratelimit_sweep(rl, t + 100000);
    is_int((long long)ratelimit_size(rl), 0, "full buckets are forgotten");
    allowed = 0;
    for (int i = 0; i < 1000; i++)
        if (ratelimit_take(off, "x", t) == 0)
            allowed++;
    is_int(allowed, 1000, "interval 0: never limited");
    /* Bounded memory: a flood of distinct keys is refused, not stored. */
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ratelimit_take(tiny, key, t);
    }
    ok(ratelimit_size(tiny) <= 64 * 2, "memory stays bounded (%zu keys)",
       ratelimit_size(tiny));
    ratelimit_free(rl);
    ratelimit_free(off);
    ratelimit_free(tiny);
    return done_testing();
}
