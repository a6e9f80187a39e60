/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A small thread pool; see workq.h. */
#include "util/workq.h"
#include "util/mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
    struct job *next;
    workq_fn fn;
    void *arg;
};

struct workq {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *head;
    struct job *tail;
    size_t queued;
    size_t max_queued;
    bool stopping;
    pthread_t *threads;
    size_t nthreads;
};

static void *
worker(void *cls)
{
    struct workq *q = cls;

    for (;;) {
        struct job *j;

        pthread_mutex_lock(&q->lock);
        while (q->head == NULL && !q->stopping)
            pthread_cond_wait(&q->wake, &q->lock);
        j = q->head;
        if (j == NULL) { /* stopping, and nothing left */
            pthread_mutex_unlock(&q->lock);
            return NULL;
        }
        q->head = j->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->queued--;
        pthread_mutex_unlock(&q->lock);
        j->fn(j->arg);
        free(j);
    }
}

struct workq *
workq_new(size_t nthreads, size_t max_queued)
{
    struct workq *q = xcalloc(1, sizeof(*q));

    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    q->max_queued = max_queued;
    q->threads = xcalloc(nthreads, sizeof(pthread_t));
    for (size_t i = 0; i < nthreads; i++) {
        if (pthread_create(&q->threads[i], NULL, worker, q) != 0)
            break;
        q->nthreads++;
    }
    return q;
}

int
workq_submit(struct workq *q, workq_fn fn, void *arg)
{
    struct job *j;

    pthread_mutex_lock(&q->lock);
    if (q->stopping || q->queued >= q->max_queued || q->nthreads == 0) {
        pthread_mutex_unlock(&q->lock);
        return -1;
    }
    j = xmalloc(sizeof(*j));
    j->next = NULL;
    j->fn = fn;
    j->arg = arg;
    if (q->tail != NULL)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->queued++;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

void
workq_free(struct workq *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);
    for (size_t i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    free(q->threads);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    free(q);
}
