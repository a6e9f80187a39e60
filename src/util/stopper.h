/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The sleep of background threads (housekeeping, the onbind sender, the
 * replication pusher): wait between rounds, but wake at once when glia
 * stops, so shutdown never waits out a poll interval.
 */
#ifndef GLIA_UTIL_STOPPER_H
#define GLIA_UTIL_STOPPER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct stopper {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop; /* under lock */
};

void stopper_init(struct stopper *s);
void stopper_destroy(struct stopper *s);
/**
 * Sleep up to ms milliseconds, or until stopper_stop().
 * @return true if stopping (the thread should end)
 */
bool stopper_nap(struct stopper *s, int64_t ms);
/** Tell every napping thread to end, now and from now on. */
void stopper_stop(struct stopper *s);

#endif
