/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Clock helpers; see time.h. */
#include "util/time.h"

#include <time.h>

int64_t
time_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
time_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
time_backoff_ms(int failures, int64_t max_ms)
{
    int64_t wait = 1000;

    for (int i = 1; i < failures && wait < max_ms; i++)
        wait *= 2;
    return wait < max_ms ? wait : max_ms;
}
