/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Prometheus metrics: requests by route and status, a latency histogram by
 * route, requests in flight and database errors. Counters are relaxed
 * atomics indexed by route, so recording takes no lock on the request path.
 */
#ifndef GLIA_HTTPD_METRICS_H
#define GLIA_HTTPD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/** Counters of work done off the request path, for operators' alerts. */
enum metrics_counter {
    MC_MESSAGES_SENT,   /* verification mails and text messages out */
    MC_MESSAGES_FAILED, /* ... that could not be sent */
    MC_ONBIND_DELIVERED,
    MC_ONBIND_FAILED, /* attempts */
    MC_REPL_PUSHED,   /* changes peers accepted */
    MC_REPL_FAILED,   /* failed pushes */
    MC_REPL_RECEIVED, /* associations applied from peers */
    MC_COUNT
};

/** Add n to a counter (thread-safe; m may be NULL). */
void metrics_count(struct metrics *m, enum metrics_counter c, long n);

/** @return counters for nroutes routes (plus one for unmatched requests);
 * caller frees with metrics_free(). */
struct metrics *metrics_new(size_t nroutes);
/** NULL-safe. */
void metrics_free(struct metrics *m);
/**
 * Record one finished request.
 * @param route index in the route table; >= nroutes means unmatched
 * @param status HTTP status sent; 0 if the client left before a reply
 */
void metrics_observe(struct metrics *m,
                     size_t route,
                     unsigned int status,
                     int64_t duration_us);
/** Count a request starting (+1) or ending (-1). */
void metrics_in_flight(struct metrics *m, int delta);
/** @return the in-flight count. */
long metrics_in_flight_count(struct metrics *m);
/**
 * Render the Prometheus text exposition format.
 * @return malloc'd text (caller frees), length in *len
 */
char *metrics_render(struct metrics *m, size_t *len);

#endif
