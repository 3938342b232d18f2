/* An event loop: one thread that owns a libmicrohttpd daemon (its own listening socket, shared
 * with the other loops' through SO_REUSEPORT so the kernel spreads connections), that daemon's
 * connections, and a libcurl multi handle for their upstream transfers, all on one epoll set.
 * A request lives its whole life on its loop's thread: no hand-off between threads on its
 * path. Other threads (the audit writer, a report export) that resume one of its connections
 * write the loop's eventfd, since libmicrohttpd 0.9.75 wakes nobody without an internal thread
 * of its own. `serve` runs event_loops of them (one per core by default). */
#ifndef HUBGATE_GATEWAY_SERVER_LOOP_H
#define HUBGATE_GATEWAY_SERVER_LOOP_H

#include <sys/socket.h>

#include "gateway/server/request-t.h"

typedef struct gw_loop gw_loop_t;

/* What a loop's daemon listens with. */
typedef struct {
    const struct sockaddr *addr; /* where to listen */
    int ipv6;
    int reuse_port;              /* SO_REUSEPORT: several loops listen on addr */
    unsigned max_connections;    /* this loop's share */
    unsigned idle_seconds;       /* a client silent this long is dropped */
    int tls;                     /* HTTPS with the pair in force (server/tls.h) */
} gw_loop_listen_t;

/* Starts loop number index for srv (borrowed; outlives the loop): its daemon, its upstream
 * handle and its thread. audit (borrowed; NULL with audit.mode off) is the stream its requests'
 * events go to: each loop has its own, so no chain is shared between threads and the loops'
 * commits overlap (gw_loop_stream_name). NULL, with the reason logged, when any of them cannot
 * start (the address taken, out of descriptors, out of memory). */
gw_loop_t *gw_loop_start(gw_server_t *srv, unsigned index, const gw_loop_listen_t *listen,
                         aud_writer_t *audit);

/* Stops accepting and aborts every upstream transfer (their connections are answered or
 * closed as a failed transfer is); connections already accepted keep being served. Returns at
 * once: the loop's thread does it. */
void gw_loop_quiesce(gw_loop_t *loop);

/* Ends the loop: stops its daemon (closing what connections remain), joins its thread, frees
 * it. Accepts NULL. Blocks until the thread returns. */
void gw_loop_stop(gw_loop_t *loop);

/* A request's state for a new request on this loop: its server, upstream, audit stream and
 * wake fd set, an empty arena (8 KiB blocks, at most 1 MiB), the rest zero. Taken from the
 * loop's cache of finished ones (kept with their arena's first block), so a request costs no
 * allocation of its own. NULL when out of memory. Loop thread only. */
gw_request_t *gw_loop_request_new(gw_loop_t *loop);

/* Gives a finished request back (its references dropped, its body freed): cached for the next
 * one, or freed past GW_LOOP_CACHED_REQUESTS. Loop thread only. */
void gw_loop_request_done(gw_loop_t *loop, gw_request_t *req);

/* The audit stream of loop index: audit.stream itself for loop 0 — which also carries the
 * process's own events (lifecycle, policy, keys, tokens, report exports), and continues the
 * chain a gateway of one loop wrote — and "<audit.stream>.<index>" for the others. Returns 0,
 * or CMN_ERR_TOOBIG when the name would pass the 64 characters a stream name may have. */
int gw_loop_stream_name(const char *stream, unsigned index, char *out, size_t cap);

#endif
