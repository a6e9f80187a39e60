/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* See stopper.h. */
#include "util/stopper.h"

#include <stdlib.h>
#include <time.h>

void
stopper_init(struct stopper *s)
{
    if (pthread_mutex_init(&s->lock, NULL) != 0 ||
        pthread_cond_init(&s->wake, NULL) != 0)
        abort();
    s->stop = false;
}

void
stopper_destroy(struct stopper *s)
{
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
}

bool
stopper_nap(struct stopper *s, int64_t ms)
{
    struct timespec until;
    bool stop;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    if (!s->stop && ms > 0)
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
    stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

void
stopper_stop(struct stopper *s)
{
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
}
