#include "gateway/metrics.h"

#include <stdatomic.h>

#include "common/err.h"

#define NSTATUS 600
#define NACTION (GW_ACTION_ADMIN + 1)

static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKET (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

static atomic_uint_fast64_t requests[NACTION][NSTATUS];
static atomic_uint_fast64_t bytes_from_clients, bytes_to_clients;
static atomic_uint_fast64_t latency_buckets[NBUCKET + 1]; /* last: +Inf */
static atomic_uint_fast64_t latency_sum_us, latency_count;
static atomic_uint_fast64_t upstream_errors[GW_XFER_ABORTED + 1];
static atomic_int inflight;

void gw_metrics_request(gw_action_t action, unsigned status)
{
    if ((unsigned)action >= NACTION)
        action = GW_ACTION_NONE;
    if (status >= NSTATUS || status < 100)
        status = 0;
    atomic_fetch_add_explicit(&requests[action][status], 1, memory_order_relaxed);
}

void gw_metrics_bytes(uint64_t from_clients, uint64_t to_clients)
{
    atomic_fetch_add_explicit(&bytes_from_clients, from_clients, memory_order_relaxed);
    atomic_fetch_add_explicit(&bytes_to_clients, to_clients, memory_order_relaxed);
}

void gw_metrics_upstream_latency(uint64_t us)
{
    size_t b = 0;
    while (b < NBUCKET && (double)us / 1e6 > latency_bounds[b])
        b++;
    atomic_fetch_add_explicit(&latency_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_sum_us, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_count, 1, memory_order_relaxed);
}

void gw_metrics_upstream_error(gw_xfer_error_t error)
{
    if ((unsigned)error <= GW_XFER_ABORTED)
        atomic_fetch_add_explicit(&upstream_errors[error], 1, memory_order_relaxed);
}

void gw_metrics_inflight(int delta)
{
    atomic_fetch_add_explicit(&inflight, delta, memory_order_relaxed);
}

int gw_metrics_render(cmn_buf_t *out)
{
    int rc = 0;
    rc |= cmn_buf_puts(out, "# HELP hubgate_requests_total Requests answered, by action and "
                            "HTTP status.\n# TYPE hubgate_requests_total counter\n");
    for (unsigned a = 0; a < NACTION; a++) {
        for (unsigned s = 0; s < NSTATUS; s++) {
            uint64_t v = atomic_load_explicit(&requests[a][s], memory_order_relaxed);
            if (v)
                rc |= cmn_buf_printf(out, "hubgate_requests_total{action=\"%s\",status=\"%u\"} %llu\n",
                                     gw_route_action_name((gw_action_t)a), s,
                                     (unsigned long long)v);
        }
    }
    rc |= cmn_buf_printf(out,
                         "# HELP hubgate_body_bytes_total Body bytes moved, by direction.\n"
                         "# TYPE hubgate_body_bytes_total counter\n"
                         "hubgate_body_bytes_total{direction=\"from_clients\"} %llu\n"
                         "hubgate_body_bytes_total{direction=\"to_clients\"} %llu\n",
                         (unsigned long long)atomic_load(&bytes_from_clients),
                         (unsigned long long)atomic_load(&bytes_to_clients));
    rc |= cmn_buf_puts(out, "# HELP hubgate_upstream_latency_seconds Time from forwarding a "
                            "request to the upstream's response head.\n"
                            "# TYPE hubgate_upstream_latency_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b <= NBUCKET; b++) {
        cum += atomic_load(&latency_buckets[b]);
        if (b < NBUCKET)
            rc |= cmn_buf_printf(out, "hubgate_upstream_latency_seconds_bucket{le=\"%g\"} %llu\n",
                                 latency_bounds[b], (unsigned long long)cum);
        else
            rc |= cmn_buf_printf(out, "hubgate_upstream_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                                 (unsigned long long)cum);
    }
    rc |= cmn_buf_printf(out,
                         "hubgate_upstream_latency_seconds_sum %.6f\n"
                         "hubgate_upstream_latency_seconds_count %llu\n",
                         (double)atomic_load(&latency_sum_us) / 1e6,
                         (unsigned long long)atomic_load(&latency_count));
    static const char *const kinds[] = {"none", "connect", "timeout", "protocol", "aborted"};
    rc |= cmn_buf_puts(out, "# HELP hubgate_upstream_errors_total Upstream transfers that "
                            "failed, by kind.\n# TYPE hubgate_upstream_errors_total counter\n");
    for (unsigned k = GW_XFER_CONNECT; k <= GW_XFER_ABORTED; k++)
        rc |= cmn_buf_printf(out, "hubgate_upstream_errors_total{kind=\"%s\"} %llu\n", kinds[k],
                             (unsigned long long)atomic_load(&upstream_errors[k]));
    rc |= cmn_buf_printf(out,
                         "# HELP hubgate_requests_in_flight Requests being served.\n"
                         "# TYPE hubgate_requests_in_flight gauge\n"
                         "hubgate_requests_in_flight %d\n",
                         atomic_load(&inflight));
    return rc ? CMN_ERR_TOOBIG : 0;
}
