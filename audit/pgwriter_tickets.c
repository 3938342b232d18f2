/* The writer's tickets and the timer thread: contract in pgwriter_tickets.h. */
#include "audit/pgwriter_tickets.h"
#include "common/clock.h"
#include "common/err.h"

#include <stdlib.h>
#include <time.h>

#define FIRE_CHUNK 256 /* callbacks collected under the lock, then run outside it */

typedef struct {
    void *arg;
    aud_done_fn done;
} fire_t;

int pgw_tickets_init(aud_writer_t *w)
{
    w->tickets = calloc(w->qcap, sizeof(*w->tickets));
    w->queue = calloc(w->qcap, sizeof(*w->queue));
    w->batch = calloc(w->max_batch, sizeof(*w->batch));
    if (!w->tickets || !w->queue || !w->batch)
        return CMN_ERR_NOMEM;
    for (size_t i = 0; i < w->qcap; i++) {
        cmn_buf_init(&w->tickets[i].row, PGW_ROW_MAX_BYTES);
        w->tickets[i].next_free = w->free_list;
        w->free_list = &w->tickets[i];
    }
    return 0;
}

void pgw_tickets_free(aud_writer_t *w)
{
    if (w->tickets) {
        for (size_t i = 0; i < w->qcap; i++)
            cmn_buf_free(&w->tickets[i].row);
        free(w->tickets);
    }
    free(w->queue);
    free(w->batch);
}

/* ---- under w->mu ---- */

static void u_unlink(aud_writer_t *w, pgw_ticket_t *t)
{
    if (!t->in_list)
        return;
    if (t->prev_u)
        t->prev_u->next_u = t->next_u;
    else
        w->u_head = t->next_u;
    if (t->next_u)
        t->next_u->prev_u = t->prev_u;
    else
        w->u_tail = t->prev_u;
    t->prev_u = t->next_u = NULL;
    t->in_list = 0;
}

static void release(aud_writer_t *w, pgw_ticket_t *t)
{
    if (t->row.cap > PGW_ROW_KEEP_BYTES) {
        cmn_buf_free(&t->row);
        cmn_buf_init(&t->row, PGW_ROW_MAX_BYTES);
    }
    cmn_buf_clear(&t->row);
    t->next_free = w->free_list;
    w->free_list = t;
}

/* Ends t (taken off the deadline list) and notes its callback in fire[*nf], to run outside the
 * lock. */
static void end_ticket(aud_writer_t *w, pgw_ticket_t *t, fire_t *fire, size_t *nf)
{
    t->finished = 1;
    u_unlink(w, t);
    if (t->done) {
        fire[*nf].done = t->done;
        fire[*nf].arg = t->arg;
        (*nf)++;
    }
}

/* The writer is done with t: decide its outcome (unless the timer already did) and release it. */
static void finish_locked(aud_writer_t *w, pgw_ticket_t *t, int status, fire_t *fire, size_t *nf)
{
    t->writer_done = 1;
    if (!t->finished) {
        end_ticket(w, t, fire, nf);
        w->stats.timed_out += status == CMN_ERR_TIMEOUT;
    }
    release(w, t);
}

size_t pgw_tickets_take_queued(aud_writer_t *w, pgw_ticket_t **out, size_t max, size_t max_bytes)
{
    size_t n = 0, bytes = 0;
    while (n < w->qlen && n < max && bytes < max_bytes) {
        pgw_ticket_t *t = w->queue[(w->qhead + n) % w->qcap];
        bytes += t->row.len + 100;
        out[n++] = t;
    }
    w->qhead = (w->qhead + n) % w->qcap;
    w->qlen -= n;
    return n;
}

/* ---- taking the lock ---- */

int pgw_ticket_take(aud_writer_t *w, pgw_ticket_t **out)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (w->closing || w->stats.stopped) {
        rc = CMN_ERR_CONFLICT;
    } else if (!w->free_list) {
        w->stats.rejected++;
        rc = CMN_ERR_TOOBIG;
    } else {
        *out = w->free_list;
        w->free_list = (*out)->next_free;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void pgw_ticket_put_back(aud_writer_t *w, pgw_ticket_t *t)
{
    pthread_mutex_lock(&w->mu);
    release(w, t);
    pthread_mutex_unlock(&w->mu);
}

int pgw_ticket_queue(aud_writer_t *w, pgw_ticket_t *t, aud_done_fn done, void *arg)
{
    pthread_mutex_lock(&w->mu);
    if (w->closing || w->stats.stopped) {
        release(w, t);
        pthread_mutex_unlock(&w->mu);
        return CMN_ERR_CONFLICT;
    }
    t->done = done;
    t->arg = arg;
    t->finished = 0;
    t->writer_done = 0;
    t->deadline_ns = cmn_mono_ns() + (int64_t)w->timeout_ms * 1000000;
    w->queue[(w->qhead + w->qlen) % w->qcap] = t;
    w->qlen++;
    t->prev_u = w->u_tail;
    t->next_u = NULL;
    t->in_list = 1;
    if (w->u_tail)
        w->u_tail->next_u = t;
    else
        w->u_head = t;
    w->u_tail = t;
    if (!t->prev_u && w->timer_waiting)
        pthread_cond_signal(&w->timer_cv);
    if (w->writer_waiting)
        pthread_cond_signal(&w->writer_cv);
    w->stats.submitted++;
    w->stats.queued = w->qlen;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void pgw_tickets_complete(aud_writer_t *w, pgw_ticket_t **ts, size_t n, int status)
{
    fire_t fire[FIRE_CHUNK];
    for (size_t i = 0; i < n;) {
        size_t nf = 0;
        pthread_mutex_lock(&w->mu);
        for (; i < n && nf < FIRE_CHUNK; i++)
            finish_locked(w, ts[i], status, fire, &nf);
        pthread_mutex_unlock(&w->mu);
        for (size_t k = 0; k < nf; k++)
            fire[k].done(fire[k].arg, status);
    }
}

/* ---- the timer thread ---- */

void *pgw_timer_main(void *arg)
{
    aud_writer_t *w = arg;
    fire_t fire[FIRE_CHUNK];
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        int64_t now = cmn_mono_ns();
        size_t nf = 0;
        while (w->u_head && w->u_head->deadline_ns <= now && nf < FIRE_CHUNK) {
            pgw_ticket_t *t = w->u_head;
            end_ticket(w, t, fire, &nf);
            w->stats.timed_out++;
            if (t->writer_done)
                release(w, t);
        }
        if (nf) {
            pthread_mutex_unlock(&w->mu);
            for (size_t k = 0; k < nf; k++)
                fire[k].done(fire[k].arg, CMN_ERR_TIMEOUT);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        w->timer_waiting = 1;
        if (w->u_head) {
            /* the condition variable waits on CLOCK_MONOTONIC (aud_writer_open) */
            int64_t at = w->u_head->deadline_ns;
            struct timespec ts = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000};
            pthread_cond_timedwait(&w->timer_cv, &w->mu, &ts);
        } else {
            pthread_cond_wait(&w->timer_cv, &w->mu);
        }
        w->timer_waiting = 0;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}
