/* Types only: a transfer's state, shared by its two sides on one loop's thread — the
 * connection (forward/xfer.c: the MHD side) and the multi handle (forward/upstream.c: the curl
 * side). Private to forward/. */
#ifndef HUBGATE_GATEWAY_FORWARD_XFER_T_H
#define HUBGATE_GATEWAY_FORWARD_XFER_T_H

#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "common/ring.h"
#include "gateway/forward/upstream-t.h"

/* What a transfer asks of the multi handle (gw_upstream_post). */
enum { GW_XFER_ACT_START = 1, GW_XFER_ACT_UNPAUSE = 2, GW_XFER_ACT_ABORT = 4 };

/* A ring never needs to hold more than the whole body, nor less than one curl chunk. */
#define GW_XFER_RING_MIN_BYTES CURL_MAX_WRITE_SIZE

struct gw_xfer {
    atomic_int refs;
    pthread_mutex_t mu;
    struct MHD_Connection *conn;

    /* Guarded by mu. */
    int suspended;   /* we suspended the MHD connection and owe it a resume */
    int client_gone; /* MHD completion callback ran: never resume again */
    cmn_ring_t up;       /* request body, client → upstream */
    int up_eof, up_paused;
    int64_t up_expected; /* declared request body length, or -1 */
    cmn_ring_t down;     /* response body, upstream → client */
    int down_eof, down_paused;
    int head_ready; /* a final head arrived, or the transfer ended */
    int head_ok;    /* a final head arrived */
    int status;
    int64_t content_length;
    int refused;    /* address_check refused a connection */
    cmn_buf_t head; /* the final response's header lines */
    int buffered;   /* collect the body in `full` instead of streaming it */
    int nobody;     /* HEAD: no body will come */
    cmn_buf_t full;
    gw_xfer_error_t error;
    uint64_t sent, received;
    uint64_t head_latency_us;

    /* Only gw_upstream_run touches these after submit. */
    CURL *easy;
    struct curl_slist *req_headers;
    char *method, *target;
    gw_upstream_t *owner;
    int (*address_check)(const void *ctx, const struct sockaddr *addr, size_t len);
    void *address_ctx; /* the transfer's own copy */
    int in_multi;
    struct timespec started;
    int idle_seconds;
    _Atomic int64_t last_activity_ms; /* monotonic; any byte or head line moved */
    char errbuf[CURL_ERROR_SIZE];

    /* Guarded by the upstream's mu. */
    int pending; /* ACT_* bits */
    int queued;
    gw_xfer_t *next_pending;
    gw_xfer_t *prev_active, *next_active;
};

#endif
