/* A transfer's MHD side (the connection it serves): its lifetime, the request body pushed into
 * its upload ring, the answer's head and body read out, the client going away. Every function
 * runs on the loop's thread that owns the connection (forward/upstream.h). */
#include "gateway/forward/xfer.h"

#include "gateway/forward/upstream.h"
#include "gateway/forward/xfer-t.h"

#include <stdlib.h>
#include <string.h>

/* A body's ring, sized on first use: the body size when known (expected; -1 otherwise), so
 * that small bodies get small rings, but never less than one curl chunk. */
int gw_xfer_ring(cmn_ring_t *r, int64_t expected)
{
    if (r->buf)
        return 0;
    size_t cap = GW_RING_BYTES;
    if (expected >= 0 && (uint64_t)expected < cap)
        cap = (size_t)expected < GW_XFER_RING_MIN_BYTES ? GW_XFER_RING_MIN_BYTES : (size_t)expected;
    return cmn_ring_alloc(r, cap);
}

gw_xfer_t *gw_xfer_create(struct MHD_Connection *conn)
{
    gw_xfer_t *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    atomic_init(&x->refs, 1);
    pthread_mutex_init(&x->mu, NULL);
    x->conn = conn;
    x->content_length = -1;
    x->up_expected = -1;
    cmn_buf_init(&x->head, GW_MAX_UPSTREAM_HEADER_BYTES);
    cmn_buf_init(&x->full, 0);
    return x;
}

void gw_xfer_retain(gw_xfer_t *x)
{
    atomic_fetch_add(&x->refs, 1);
}

void gw_xfer_release(gw_xfer_t *x)
{
    if (!x || atomic_fetch_sub(&x->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&x->mu);
    cmn_ring_free(&x->up);
    cmn_ring_free(&x->down);
    cmn_buf_free(&x->head);
    cmn_buf_free(&x->full);
    curl_slist_free_all(x->req_headers);
    free(x->method);
    free(x->target);
    free(x->address_ctx);
    free(x);
}

void gw_xfer_wake(gw_xfer_t *x)
{
    if (x->suspended && !x->client_gone) {
        x->suspended = 0;
        MHD_resume_connection(x->conn);
        if (x->owner)
            gw_upstream_note_resumed(x->owner);
    }
}

void gw_xfer_suspend(gw_xfer_t *x)
{
    x->suspended = 1;
    MHD_suspend_connection(x->conn);
}

size_t gw_xfer_push_body(gw_xfer_t *x, const char *data, size_t len)
{
    pthread_mutex_lock(&x->mu);
    size_t take = 0;
    if (gw_xfer_ring(&x->up, x->up_expected) == 0) {
        take = len < cmn_ring_space(&x->up) ? len : cmn_ring_space(&x->up);
        cmn_ring_put(&x->up, data, take);
    }
    int unpause = take > 0 && x->up_paused;
    if (unpause)
        x->up_paused = 0;
    if (take < len && !x->down_eof)
        gw_xfer_suspend(x);
    else if (take < len)
        take = len; /* the transfer is over: what the client still sends is discarded */
    pthread_mutex_unlock(&x->mu);
    if (unpause)
        gw_upstream_post(x->owner, x, GW_XFER_ACT_UNPAUSE);
    return take;
}

void gw_xfer_end_body(gw_xfer_t *x)
{
    pthread_mutex_lock(&x->mu);
    x->up_eof = 1;
    int unpause = x->up_paused;
    x->up_paused = 0;
    pthread_mutex_unlock(&x->mu);
    if (unpause)
        gw_upstream_post(x->owner, x, GW_XFER_ACT_UNPAUSE);
}

int gw_xfer_head_ready(gw_xfer_t *x)
{
    pthread_mutex_lock(&x->mu);
    int ready = x->head_ready;
    if (!ready)
        gw_xfer_suspend(x);
    pthread_mutex_unlock(&x->mu);
    return ready;
}

gw_xfer_error_t gw_xfer_error(const gw_xfer_t *x)
{
    gw_xfer_t *m = (gw_xfer_t *)x;
    pthread_mutex_lock(&m->mu);
    /* A head that arrived counts as success even if the body failed later: the client then
     * sees a truncated body and a closed connection, which is what a failed stream is. */
    gw_xfer_error_t e = m->head_ok && !(m->buffered && m->error) ? GW_XFER_OK
                        : m->error != GW_XFER_OK ? m->error
                                                 : GW_XFER_PROTOCOL;
    pthread_mutex_unlock(&m->mu);
    return e;
}

int gw_xfer_status(const gw_xfer_t *x)
{
    return x->status;
}

const char *gw_xfer_headers(const gw_xfer_t *x, size_t *len)
{
    *len = x->head.len;
    return x->head.data ? x->head.data : "";
}

int gw_xfer_is_buffered(const gw_xfer_t *x)
{
    return x->buffered;
}

const char *gw_xfer_buffered_body(const gw_xfer_t *x, size_t *len)
{
    *len = x->full.len;
    return x->full.data ? x->full.data : "";
}

int64_t gw_xfer_content_length(const gw_xfer_t *x)
{
    return x->content_length;
}

ssize_t gw_xfer_read(gw_xfer_t *x, char *buf, size_t max)
{
    ssize_t ret;
    int unpause = 0;
    pthread_mutex_lock(&x->mu);
    if (x->down.len > 0) {
        ret = (ssize_t)cmn_ring_get(&x->down, buf, max);
        /* Wake the upstream once there is room for a full curl chunk and then some. */
        if (x->down_paused && cmn_ring_space(&x->down) >= x->down.cap / 2) {
            x->down_paused = 0;
            unpause = 1;
        }
    } else if (x->down_eof) {
        ret = x->error == GW_XFER_OK ? MHD_CONTENT_READER_END_OF_STREAM
                                     : MHD_CONTENT_READER_END_WITH_ERROR;
    } else {
        gw_xfer_suspend(x);
        ret = 0;
    }
    pthread_mutex_unlock(&x->mu);
    if (unpause)
        gw_upstream_post(x->owner, x, GW_XFER_ACT_UNPAUSE);
    return ret;
}

void gw_xfer_client_done(gw_xfer_t *x)
{
    pthread_mutex_lock(&x->mu);
    x->client_gone = 1;
    x->suspended = 0;
    int running = x->owner && !x->down_eof;
    pthread_mutex_unlock(&x->mu);
    if (running)
        gw_upstream_post(x->owner, x, GW_XFER_ACT_ABORT);
}

void gw_xfer_bytes(const gw_xfer_t *x, uint64_t *sent, uint64_t *received)
{
    gw_xfer_t *m = (gw_xfer_t *)x;
    pthread_mutex_lock(&m->mu);
    *sent = m->sent;
    *received = m->received;
    pthread_mutex_unlock(&m->mu);
}

uint64_t gw_xfer_head_latency_us(const gw_xfer_t *x)
{
    return x->head_latency_us;
}
