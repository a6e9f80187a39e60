/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Prometheus counters; see metrics.h. */
#include "httpd/metrics.h"
#include "db/db.h"
#include "httpd/httpd.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Statuses are indexed directly; 0 means "no reply was sent". */
#define N_STATUS 600
/* Upper bounds of the latency buckets, in microseconds. */
static const int64_t bucket_us[] = {500,     1000,    2500,    5000,    10000,
                                    25000,   50000,   100000,  250000,  500000,
                                    1000000, 2500000, 5000000, 10000000};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

struct metrics {
    size_t nroutes;          /* table routes + 1 for unmatched */
    atomic_ulong *by_status; /* [nroutes][N_STATUS] */
    atomic_ulong *buckets;   /* [nroutes][N_BUCKETS + 1]; last is +Inf */
    atomic_ullong *sum_us;   /* [nroutes] */
    atomic_long in_flight;
    atomic_ulong counters[MC_COUNT];
};

static const struct {
    const char *name;
    const char *help;
} counter_info[MC_COUNT] = {
    [MC_MESSAGES_SENT] = {"glia_messages_sent_total",
                          "Verification mails and text messages sent."},
    [MC_MESSAGES_FAILED] = {"glia_messages_failed_total",
                            "Verification messages that could not be sent."},
    [MC_ONBIND_DELIVERED] = {"glia_onbind_delivered_total",
                             "Invite notifications homeservers accepted."},
    [MC_ONBIND_FAILED] = {"glia_onbind_failed_total",
                          "Failed attempts to notify homeservers of invites."},
    [MC_REPL_PUSHED] = {"glia_replication_pushed_total",
                        "Changes replication peers accepted."},
    [MC_REPL_FAILED] = {"glia_replication_push_failures_total",
                        "Failed pushes to replication peers."},
    [MC_REPL_RECEIVED] = {"glia_replication_received_total",
                          "Associations applied from replication peers."},
};

void
metrics_count(struct metrics *m, enum metrics_counter c, long n)
{
    if (m != NULL && c < MC_COUNT && n > 0)
        atomic_fetch_add(&m->counters[c], (unsigned long)n);
}

struct metrics *
metrics_new(size_t nroutes)
{
    struct metrics *m = xcalloc(1, sizeof(*m));

    m->nroutes = nroutes + 1;
    m->by_status = xcalloc(m->nroutes * N_STATUS, sizeof(atomic_ulong));
    m->buckets = xcalloc(m->nroutes * (N_BUCKETS + 1), sizeof(atomic_ulong));
    m->sum_us = xcalloc(m->nroutes, sizeof(atomic_ullong));
    return m;
}

void
metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    free(m->by_status);
    free(m->buckets);
    free(m->sum_us);
    free(m);
}

void
metrics_observe(struct metrics *m,
                size_t route,
                unsigned int status,
                int64_t duration_us)
{
    size_t b = 0;

    if (route >= m->nroutes)
        route = m->nroutes - 1;
    if (status >= N_STATUS)
        status = 0;
    if (duration_us < 0)
        duration_us = 0;
    while (b < N_BUCKETS && duration_us > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&m->by_status[route * N_STATUS + status], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&m->buckets[route * (N_BUCKETS + 1) + b], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us[route],
                              (unsigned long long)duration_us,
                              memory_order_relaxed);
}

void
metrics_in_flight(struct metrics *m, int delta)
{
    atomic_fetch_add_explicit(&m->in_flight, delta, memory_order_relaxed);
}

long
metrics_in_flight_count(struct metrics *m)
{
    return atomic_load(&m->in_flight);
}

/* Labels of route r: the path pattern and method, or "unmatched". */
static void
route_labels(struct buf *b, const struct route *table, size_t ntable, size_t r)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    const char *method = "";

    if (r >= ntable) {
        buf_puts(b, "route=\"unmatched\"");
        return;
    }
    for (unsigned int i = 0; i < 4; i++)
        if ((unsigned int)table[r].method == (1u << i))
            method = methods[i];
    buf_printf(b, "route=\"%s\",method=\"%s\"", table[r].path, method);
}

char *
metrics_render(struct metrics *m, size_t *len)
{
    struct buf b;
    size_t ntable;
    const struct route *table = routes_table(&ntable);

    buf_init(&b, 16u << 20);
    buf_puts(&b, "# HELP glia_http_requests_total Requests by route and "
                 "status (status 0: client left before a reply).\n"
                 "# TYPE glia_http_requests_total counter\n");
    for (size_t r = 0; r < m->nroutes; r++) {
        for (unsigned int s = 0; s < N_STATUS; s++) {
            unsigned long n = atomic_load_explicit(
                &m->by_status[r * N_STATUS + s], memory_order_relaxed);

            if (n == 0)
                continue;
            buf_puts(&b, "glia_http_requests_total{");
            route_labels(&b, table, ntable, r);
            buf_printf(&b, ",status=\"%u\"} %lu\n", s, n);
        }
    }
    buf_puts(&b, "# HELP glia_http_request_duration_seconds Time from "
                 "request line to completed reply.\n"
                 "# TYPE glia_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < m->nroutes; r++) {
        unsigned long cum = 0;
        unsigned long long sum = atomic_load(&m->sum_us[r]);

        for (size_t k = 0; k <= N_BUCKETS; k++)
            cum += atomic_load(&m->buckets[r * (N_BUCKETS + 1) + k]);
        if (cum == 0)
            continue;
        cum = 0;
        for (size_t k = 0; k <= N_BUCKETS; k++) {
            cum += atomic_load(&m->buckets[r * (N_BUCKETS + 1) + k]);
            buf_puts(&b, "glia_http_request_duration_seconds_bucket{");
            route_labels(&b, table, ntable, r);
            if (k < N_BUCKETS)
                buf_printf(&b, ",le=\"%g\"} %lu\n", (double)bucket_us[k] / 1e6,
                           cum);
            else
                buf_printf(&b, ",le=\"+Inf\"} %lu\n", cum);
        }
        buf_puts(&b, "glia_http_request_duration_seconds_sum{");
        route_labels(&b, table, ntable, r);
        buf_printf(&b, "} %.6f\n", (double)sum / 1e6);
        buf_puts(&b, "glia_http_request_duration_seconds_count{");
        route_labels(&b, table, ntable, r);
        buf_printf(&b, "} %lu\n", cum);
    }
    buf_printf(&b,
               "# HELP glia_http_requests_in_flight Requests being served.\n"
               "# TYPE glia_http_requests_in_flight gauge\n"
               "glia_http_requests_in_flight %ld\n"
               "# HELP glia_db_errors_total Failed database operations.\n"
               "# TYPE glia_db_errors_total counter\n"
               "glia_db_errors_total %lu\n",
               metrics_in_flight_count(m), db_error_count());
    for (int c = 0; c < MC_COUNT; c++)
        buf_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n",
                   counter_info[c].name, counter_info[c].help,
                   counter_info[c].name, counter_info[c].name,
                   atomic_load(&m->counters[c]));
    return buf_steal(&b, len);
}
