/* Process-wide counters for /-/metrics (Prometheus text format). Lock-free (atomics): cheap
 * enough for the request path. */
#ifndef HUBGATE_GATEWAY_METRICS_H
#define HUBGATE_GATEWAY_METRICS_H

#include <stdint.h>

#include "common/buf.h"
#include "gateway/route/route.h"
#include "gateway/forward/upstream-t.h"
#include "gateway/limits.h"

/* A request finished with this action and HTTP status (100-599; others count as 0). */
void gw_metrics_request(gw_action_t action, unsigned status);

/* Body bytes moved: from clients (request bodies) and to clients (response bodies). */
void gw_metrics_bytes(uint64_t from_clients, uint64_t to_clients);

/* Time from sending a request upstream to its response head. */
void gw_metrics_upstream_latency(uint64_t microseconds);

/* An upstream transfer failed. */
void gw_metrics_upstream_error(gw_xfer_error_t error);

/* A request the policy (or a condition) refused, by the decision's reason class. */
void gw_metrics_denial(const char *reason);

/* A request whose credentials were refused, by why (expired, unknown_key, ...). */
void gw_metrics_auth_failure(const char *reason);

/* A client request header hubgate did not forward, by class (hop_by_hop, credential, ...). */
void gw_metrics_header_dropped(const char *reason);

/* Requests being served now. */
void gw_metrics_inflight(int delta);

/* Appends the exposition text. Returns 0 or CMN_ERR_TOOBIG / CMN_ERR_NOMEM. */
int gw_metrics_render(cmn_buf_t *out);

#endif
