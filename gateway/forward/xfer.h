/* A forwarded request's transfer, as the connection sees it (forward/xfer.c): created by the
 * forward stage, handed to the multi handle (gw_upstream_submit), fed with the request body,
 * read for the answer. Reference counted: the MHD side and the curl side each hold one, and
 * the connection is never resumed once the MHD side has let go (gw_xfer_client_done). */
#ifndef HUBGATE_GATEWAY_FORWARD_XFER_H
#define HUBGATE_GATEWAY_FORWARD_XFER_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/ring.h"
#include "gateway/forward/upstream-t.h"

/* A transfer for the connection, with one reference for the caller (the MHD side). */
gw_xfer_t *gw_xfer_create(struct MHD_Connection *conn);

/* MHD side, upload: copies up to len bytes of request body into the ring and returns how
 * many were taken. When fewer than len were taken, the connection has been suspended and will
 * be resumed when the upstream has drained some: the caller must return MHD_YES. */
size_t gw_xfer_push_body(gw_xfer_t *x, const char *data, size_t len);

/* MHD side: the client's body is complete. */
void gw_xfer_end_body(gw_xfer_t *x);

/* MHD side: 1 when the response head has arrived or the transfer failed; otherwise 0, and
 * the connection has been suspended until one of those happens. */
int gw_xfer_head_ready(gw_xfer_t *x);

/* After gw_xfer_head_ready: the failure, if any (GW_XFER_OK when a head arrived). */
gw_xfer_error_t gw_xfer_error(const gw_xfer_t *x);

/* The upstream status and its header block, one "Name: value\r\n" line per header (the
 * status line excluded). Valid once the head is ready; owned by the transfer. */
int gw_xfer_status(const gw_xfer_t *x);
const char *gw_xfer_headers(const gw_xfer_t *x, size_t *len);

/* 1 when the response body was collected whole (buffer_cap, or a small body of known size):
 * then gw_xfer_buffered_body gives it (owned by the transfer). */
int gw_xfer_is_buffered(const gw_xfer_t *x);
const char *gw_xfer_buffered_body(const gw_xfer_t *x, size_t *len);

/* The body length the upstream declared, or -1. */
int64_t gw_xfer_content_length(const gw_xfer_t *x);

/* MHD content reader: fills buf with response body. Returns the byte count, 0 after
 * suspending the connection (more will come), MHD_CONTENT_READER_END_OF_STREAM or
 * MHD_CONTENT_READER_END_WITH_ERROR. */
ssize_t gw_xfer_read(gw_xfer_t *x, char *buf, size_t max);

/* MHD completion callback: the connection is gone or done. Aborts the upstream transfer if
 * it still runs. The MHD side must still drop its reference with gw_xfer_release. */
void gw_xfer_client_done(gw_xfer_t *x);

/* Bytes moved so far: request body sent upstream, response body received from it. */
void gw_xfer_bytes(const gw_xfer_t *x, uint64_t *sent, uint64_t *received);

/* Microseconds from submit to the response head (0 if none yet). */
uint64_t gw_xfer_head_latency_us(const gw_xfer_t *x);

/* Takes one more reference. */
void gw_xfer_retain(gw_xfer_t *x);

/* Drops one reference; frees on the last. Accepts NULL. */
void gw_xfer_release(gw_xfer_t *x);

/* Resumes the connection if the transfer suspended it (and tells its loop). Caller holds the
 * transfer's lock (the curl side's callbacks). */
void gw_xfer_wake(gw_xfer_t *x);

/* Suspends the connection until gw_xfer_wake. Caller holds the transfer's lock. */
void gw_xfer_suspend(gw_xfer_t *x);

/* Allocates a body ring on first use, sized to the body when it is known and small (expected;
 * -1 when unknown), never below one curl chunk. Returns 0 or CMN_ERR_NOMEM. */
int gw_xfer_ring(cmn_ring_t *r, int64_t expected);

#endif
