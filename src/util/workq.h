/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A fixed pool of threads running queued jobs, for work that may block on
 * the network (sending mail or SMS) so that it never occupies an HTTP worker.
 */
#ifndef GLIA_UTIL_WORKQ_H
#define GLIA_UTIL_WORKQ_H

#include <stddef.h>

struct workq;

typedef void (*workq_fn)(void *arg);

/** Start nthreads threads; at most max_queued jobs may wait. */
struct workq *workq_new(size_t nthreads, size_t max_queued);
/**
 * Queue fn(arg). @return 0, or -1 if the queue is full or stopping (then
 * fn is not called and arg still belongs to the caller).
 */
int workq_submit(struct workq *q, workq_fn fn, void *arg);
/** Run what is queued, then stop and join the threads. NULL-safe. */
void workq_free(struct workq *q);

#endif
