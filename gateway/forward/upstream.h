/* The upstream side of the proxy: a libcurl multi handle per event loop, driven by that loop's
 * thread (server/loop.c) on the same thread as the libmicrohttpd connections it serves, so a
 * request never changes thread. Each forwarded request is a transfer (gw_xfer_t) shared by the
 * connection and the multi handle. Every function here is for the owning loop's thread only.
 *
 * Bodies stream both ways through two bounded rings per transfer. When a ring is full the
 * producer pauses (curl: CURL_WRITEFUNC_PAUSE / CURL_READFUNC_PAUSE; MHD: the connection is
 * suspended) and the consumer wakes it after draining, so memory per connection is constant
 * whatever the size of the body. A transfer is reference counted: the MHD side and the curl
 * side each hold one reference, and MHD_resume_connection is never called once the MHD side
 * has let go (completion callback). */
#ifndef HUBGATE_GATEWAY_UPSTREAM_H
#define HUBGATE_GATEWAY_UPSTREAM_H

#include "gateway/forward/upstream-t.h"
#include "gateway/limits.h"

#include <curl/curl.h>
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define GW_RING_BYTES              (128 * 1024) /* per direction, allocated on first use */
#define GW_SMALL_BODY_BYTES        (64 * 1024) /* answered whole, in one write */


typedef struct {
    const char *method;        /* borrowed until gw_upstream_submit returns */
    const char *base_url;      /* "http://127.0.0.1:9000/": decides the connection only */
    const char *target;        /* raw request-target, forwarded byte for byte */
    struct curl_slist *headers; /* ownership passes to the transfer */
    int stream_body;           /* the body arrives through gw_xfer_push_body */
    int64_t body_length;       /* with stream_body: declared length, or -1 (chunked) */
    const char *body;          /* alternatively a complete body, copied */
    size_t body_len;
    /* When set, every connection the transfer opens or reuses must be to an address this
     * accepts (0) — egress to storage. It runs inside gw_upstream_run on a private copy of the
     * address_ctx_len bytes at address_ctx (at most GW_MAX_ADDRESS_CTX_BYTES), since the request
     * may be gone by then. A refusal fails the transfer with GW_XFER_REFUSED. Redirects are
     * never followed: the client follows them, through hubgate, each hop judged again. */
    int (*address_check)(const void *ctx, const struct sockaddr *addr, size_t len);
    const void *address_ctx;
    size_t address_ctx_len;
    int connect_ms;            /* connecting longer than this fails (502) */
    int idle_seconds;          /* no byte from the upstream this long fails (504) */
    size_t buffer_cap;         /* > 0: collect the whole response body (at most this much)
                                  before the head is reported ready, for responses hubgate
                                  rewrites; more than that fails the transfer (502) */
} gw_xfer_req_t;

/* A multi handle whose sockets are watched in epfd, the loop's epoll set (borrowed), each
 * with its descriptor as the event's data.fd. Returns NULL on failure. */
gw_upstream_t *gw_upstream_create(int epfd);

/* An event the loop's epoll_wait reported for descriptor fd: returns 1 when fd is one of the
 * upstream's sockets (and handles it: curl's transfer on it goes on), 0 when it is not. */
int gw_upstream_socket(gw_upstream_t *up, int fd, uint32_t events);

/* How long the loop may sleep before gw_upstream_run is due (curl's timer, queued actions,
 * the idle sweep), in ms. */
int gw_upstream_timeout_ms(const gw_upstream_t *up);

/* Does what is ready without blocking: queued actions (starts, unpauses, aborts), curl's
 * timer, finished transfers, idle timeouts. Returns how many suspended connections it resumed
 * (the loop then runs MHD again). */
unsigned gw_upstream_run(gw_upstream_t *up);

/* Aborts every transfer (waking their connections); later submits fail with
 * CMN_ERR_CONFLICT. The handle stays valid for gw_xfer_* calls. */
void gw_upstream_shutdown(gw_upstream_t *up);

/* Shuts down if needed, then frees. Accepts NULL. Call only when no connection can use it. */
void gw_upstream_destroy(gw_upstream_t *up);


/* Hands the transfer to the multi handle, which takes its own reference; it starts on the
 * loop's next gw_upstream_run. Returns 0, or CMN_ERR_NOMEM / CMN_ERR_INVAL / CMN_ERR_CONFLICT
 * (stopping) (the request's headers are then freed). */
int gw_upstream_submit(gw_upstream_t *up, gw_xfer_t *x, const gw_xfer_req_t *req);

/* Queues an action for a transfer (GW_XFER_ACT_*), carried out by the loop's next
 * gw_upstream_run — never inside the MHD callback that asked for it, where curl would call back
 * into the connection being served. */
void gw_upstream_post(gw_upstream_t *up, gw_xfer_t *x, int action);

/* A transfer resumed its connection: the loop runs MHD again after this pass. */
void gw_upstream_note_resumed(gw_upstream_t *up);

#endif
