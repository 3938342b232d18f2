#include "gateway/metrics/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

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
static atomic_uint_fast64_t upstream_errors[GW_XFER_REFUSED + 1];
static atomic_int inflight;

/* A counter with a reason label. Reasons are static strings: the common case finds its slot
 * by pointer without the lock; a new reason takes the lock once to claim a slot. */
typedef struct {
    const char *name, *help, *label;
    pthread_mutex_t lock;
    _Atomic(const char *) reasons[GW_METRICS_MAX_REASONS + 1]; /* last: "other" */
    atomic_uint_fast64_t counts[GW_METRICS_MAX_REASONS + 1];
} reason_counter_t;

static reason_counter_t denials = {
    .name = "hubgate_denials_total",
    .help = "Requests refused by the policy or one of its conditions, by reason.",
    .label = "reason",
    .lock = PTHREAD_MUTEX_INITIALIZER,
};
static reason_counter_t auth_failures = {
    .name = "hubgate_auth_failures_total",
    .help = "Requests whose credentials were refused, by reason.",
    .label = "reason",
    .lock = PTHREAD_MUTEX_INITIALIZER,
};
static reason_counter_t headers_dropped = {
    .name = "hubgate_request_headers_dropped_total",
    .help = "Client request headers not forwarded upstream, by class.",
    .label = "class",
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

static void count_reason(reason_counter_t *c, const char *reason)
{
    if (!reason || !*reason)
        reason = "unspecified";
    for (size_t i = 0; i < GW_METRICS_MAX_REASONS; i++) {
        const char *r = atomic_load_explicit(&c->reasons[i], memory_order_acquire);
        if (!r)
            break;
        if (r == reason || strcmp(r, reason) == 0) {
            atomic_fetch_add_explicit(&c->counts[i], 1, memory_order_relaxed);
            return;
        }
    }
    pthread_mutex_lock(&c->lock);
    size_t i = 0;
    for (; i < GW_METRICS_MAX_REASONS; i++) {
        const char *r = atomic_load_explicit(&c->reasons[i], memory_order_acquire);
        if (!r) {
            atomic_store_explicit(&c->reasons[i], reason, memory_order_release);
            break;
        }
        if (strcmp(r, reason) == 0)
            break;
    }
    pthread_mutex_unlock(&c->lock);
    atomic_fetch_add_explicit(&c->counts[i], 1, memory_order_relaxed); /* i == MAX: other */
}

void gw_metrics_denial(const char *reason)
{
    count_reason(&denials, reason);
}

void gw_metrics_auth_failure(const char *reason)
{
    count_reason(&auth_failures, reason);
}

void gw_metrics_header_dropped(const char *reason)
{
    count_reason(&headers_dropped, reason);
}

static int render_reasons(reason_counter_t *c, cmn_buf_t *out)
{
    int rc = cmn_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", c->name, c->help, c->name);
    for (size_t i = 0; i <= GW_METRICS_MAX_REASONS; i++) {
        const char *r = i < GW_METRICS_MAX_REASONS
                            ? atomic_load_explicit(&c->reasons[i], memory_order_acquire)
                            : "other";
        uint64_t v = atomic_load_explicit(&c->counts[i], memory_order_relaxed);
        if (r && v)
            rc |= cmn_buf_printf(out, "%s{%s=\"%s\"} %llu\n", c->name, c->label, r,
                                 (unsigned long long)v);
    }
    return rc;
}

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
    if ((unsigned)error <= GW_XFER_REFUSED)
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
    static const char *const kinds[] = {"none",     "connect", "timeout",
                                        "protocol", "aborted", "refused"};
    rc |= cmn_buf_puts(out, "# HELP hubgate_upstream_errors_total Upstream transfers that "
                            "failed, by kind.\n# TYPE hubgate_upstream_errors_total counter\n");
    for (unsigned k = GW_XFER_CONNECT; k <= GW_XFER_REFUSED; k++)
        rc |= cmn_buf_printf(out, "hubgate_upstream_errors_total{kind=\"%s\"} %llu\n", kinds[k],
                             (unsigned long long)atomic_load(&upstream_errors[k]));
    rc |= cmn_buf_printf(out,
                         "# HELP hubgate_requests_in_flight Requests being served.\n"
                         "# TYPE hubgate_requests_in_flight gauge\n"
                         "hubgate_requests_in_flight %d\n",
                         atomic_load(&inflight));
    rc |= render_reasons(&denials, out);
    rc |= render_reasons(&auth_failures, out);
    rc |= render_reasons(&headers_dropped, out);
    return rc ? CMN_ERR_TOOBIG : 0;
}
