/* The writer thread: contract in pgwriter_loop.h. */
#include "audit/pgwriter_loop.h"
#include "audit/pgwriter_checkpoint.h"
#include "audit/pgwriter_copy.h"
#include "audit/pgwriter_partitions.h"
#include "audit/pgwriter_pgio.h"
#include "audit/pgwriter_spool.h"
#include "audit/pgwriter_state.h"
#include "audit/pgwriter_tickets.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The batch ts[0..n) committed (with its checkpoint, if it carried one): the head moves to
 * (seq, hash) and the tickets succeed. */
static void committed(aud_writer_t *w, pgw_ticket_t **ts, size_t n, int64_t seq,
                      const unsigned char hash[AUD_HASH_BYTES])
{
    w->head_seq = seq;
    memcpy(w->head_hash, hash, AUD_HASH_BYTES);
    pthread_mutex_lock(&w->mu);
    w->stats.committed += n;
    w->stats.batches++;
    pthread_mutex_unlock(&w->mu);
    if (w->batch_has_cp)
        pgw_checkpoint_stored(w, &w->batch_cp);
    pgw_state_publish_head(w);
    pgw_tickets_complete(w, ts, n, 0);
}

/* Takes over a fresh connection: compares the database's head with what this writer knows. */
static void adopt(aud_writer_t *w, pgw_conn_result_t *res)
{
    char err[512];
    w->conn = res->conn;
    res->conn = NULL;
    w->stream_id = res->stream_id;
    w->db_head_seq = res->head_seq;
    memcpy(w->db_head_hash, res->head_hash, AUD_HASH_BYTES);
    pthread_mutex_lock(&w->mu);
    w->last_backend_pid = res->backend_pid;
    pthread_mutex_unlock(&w->mu);

    int same_as_head =
        res->head_seq == w->head_seq && memcmp(res->head_hash, w->head_hash, AUD_HASH_BYTES) == 0;
    if (w->batch_held) {
        int before = res->head_seq == w->batch_first_seq - 1 &&
                     memcmp(res->head_hash, w->batch_prev, AUD_HASH_BYTES) == 0;
        int after = res->head_seq == w->batch_first_seq + (int64_t)w->batch_n - 1 &&
                    memcmp(res->head_hash, w->batch_last, AUD_HASH_BYTES) == 0;
        cmn_log_info(PGW_LOG, "stream %s: the batch in doubt (seq %lld..%lld) %s", w->stream,
                     (long long)w->batch_first_seq,
                     (long long)(w->batch_first_seq + (int64_t)w->batch_n - 1),
                     after    ? "had committed"
                     : before ? "had not committed: sending it again"
                              : "conflicts with the database");
        if (after) {
            /* It had committed before the connection went (its checkpoint with it). */
            committed(w, w->batch, w->batch_n, res->head_seq, res->head_hash);
            w->batch_held = 0;
            w->batch_n = 0;
        } else if (!before) {
            snprintf(err, sizeof(err),
                     "the database's head of the stream (seq %lld) is neither before nor after "
                     "the batch in doubt (seq %lld..%lld): someone else wrote to this stream",
                     (long long)res->head_seq, (long long)w->batch_first_seq,
                     (long long)(w->batch_first_seq + (int64_t)w->batch_n - 1));
            pgw_state_fatal(w, err);
        }
    } else if (w->spool && aud_spool_count(w->spool) > 0) {
        if (pgw_spool_locate(w, res->head_seq, res->head_hash, err, sizeof(err)) != 0)
            pgw_state_fatal(w, err);
    } else if (!same_as_head) {
        snprintf(err, sizeof(err),
                 "the database's head of the stream (seq %lld) is not the one this writer holds "
                 "(seq %lld): someone else wrote to this stream",
                 (long long)res->head_seq, (long long)w->head_seq);
        pgw_state_fatal(w, err);
    }
    if (w->cp_seq < res->cp_seq)
        w->cp_seq = res->cp_seq;
    if (w->down_since_ns) {
        cmn_log_info(PGW_LOG, "stream %s: database back after %.1f s", w->stream,
                     (double)(cmn_mono_ns() - w->down_since_ns) / 1e9);
        w->down_since_ns = 0;
    }
    w->backoff_ms = PGW_BACKOFF_MIN_MS;
    /* the connector made the partitions just now */
    w->parts_due_ns = cmn_mono_ns() + PGW_PARTITION_EVERY_NS;
    pthread_mutex_lock(&w->mu);
    w->stats.connected = 1;
    pthread_mutex_unlock(&w->mu);
    pgw_state_publish_head(w);
}

/* Writes a batch: into the spool, or as one COPY. Completes the tickets (or holds them). */
static void write_batch(aud_writer_t *w, pgw_ticket_t **ts, size_t n)
{
    char err[512];
    if (w->fatal) {
        pgw_tickets_complete(w, ts, n, CMN_ERR_CONFLICT);
        return;
    }
    int spooling = w->spool && (aud_spool_count(w->spool) > 0 || !w->conn);
    if (w->mode == AUD_MODE_SPOOL && spooling) {
        if (aud_spool_count(w->spool) == 0 && !w->episode_logged)
            cmn_log_warn(PGW_LOG, "stream %s: spooling events to %s until the database is back",
                         w->stream, aud_spool_path(w->spool));
        pgw_spool_batch(w, ts, n, w->head_seq + 1, w->head_hash);
        return;
    }
    /* COPY: hash the chain forward from the head, each row sent as soon as it is chained, so
     * that PostgreSQL works on the first rows while the writer hashes the next. A checkpoint
     * due by count signs the batch's last event and commits with it (one WAL flush for both):
     * then the COPY runs inside BEGIN ... COMMIT. */
    int64_t first = w->head_seq + 1;
    int64_t last = first + (int64_t)n - 1;
    int64_t deadline = pgw_state_db_deadline(w);
    unsigned char prev[AUD_HASH_BYTES], hash[AUD_HASH_BYTES];
    unsigned char header[PGW_COPY_HEADER], trailer[PGW_COPY_TRAILER];
    memcpy(prev, w->head_hash, AUD_HASH_BYTES);
    memcpy(w->batch_prev, prev, AUD_HASH_BYTES);
    w->batch_has_cp = last - w->cp_seq >= w->cp_every;
    pgw_copy_header(header);
    pgw_copy_trailer(trailer);
    /* sent: the rows so far reached libpq; once a send fails, the rest is only chained, for
     * the hash the batch in doubt ends with */
    int sent = pgw_pgio_copy_start(w->conn, w->batch_has_cp ? "BEGIN; " PGW_COPY_SQL : PGW_COPY_SQL,
                                   deadline, err, sizeof(err)) == 0 &&
               pgw_pgio_copy_put(w->conn, header, sizeof(header), deadline, err, sizeof(err)) == 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *canon = pgw_copy_row_canonical(&ts[i]->row, &len);
        if (aud_chain_next(&w->hasher, prev, canon, len, hash) != 0) {
            /* only for text that is not a canonical event, which submit refuses: fail closed,
             * and drop the connection so that nothing of the batch commits */
            pgw_state_disconnect(w, "an event could not be chained");
            pgw_tickets_complete(w, ts, n, CMN_ERR_INVAL);
            return;
        }
        pgw_copy_row_link(&ts[i]->row, w->stream_id, first + (int64_t)i, prev, hash);
        if (sent)
            sent = pgw_pgio_copy_put(w->conn, ts[i]->row.data, ts[i]->row.len, deadline, err,
                                     sizeof(err)) == 0;
        memcpy(prev, hash, AUD_HASH_BYTES);
    }
    char then[600] = "";
    if (w->batch_has_cp) {
        if (pgw_checkpoint_sign(w, last, hash, &w->batch_cp) != 0) {
            pgw_state_disconnect(w, "a checkpoint could not be signed");
            pgw_tickets_complete(w, ts, n, CMN_ERR_CONFLICT);
            return;
        }
        pgw_checkpoint_sql(w, &w->batch_cp, "; COMMIT", then, sizeof(then));
    }
    if (sent)
        sent =
            pgw_pgio_copy_put(w->conn, trailer, sizeof(trailer), deadline, err, sizeof(err)) == 0;
    if (sent && pgw_pgio_copy_finish(w->conn, w->batch_has_cp ? then : NULL, deadline, err,
                                     sizeof(err)) == 0) {
        committed(w, ts, n, last, hash);
        return;
    }
    /* The outcome is unknown until the head is read again. */
    pgw_state_disconnect(w, err);
    if (w->mode == AUD_MODE_SPOOL && w->spool) {
        pgw_spool_batch(w, ts, n, first, w->batch_prev);
        return;
    }
    if (ts != w->batch)
        memcpy(w->batch, ts, n * sizeof(*ts));
    w->batch_n = n;
    w->batch_held = 1;
    w->batch_first_seq = first;
    memcpy(w->batch_last, hash, AUD_HASH_BYTES);
}

/* Whether the writer may take queued tickets now (w->mu held): nothing in doubt, and somewhere
 * to write them (the database, the spool) or a verdict for them (stopped). */
static int can_take(const aud_writer_t *w)
{
    return !w->batch_held && (w->conn || w->fatal || (w->mode == AUD_MODE_SPOOL && w->spool));
}

/* Whether a closing writer is done (w->mu held): nothing left it can write, or out of time. */
static int close_done(const aud_writer_t *w, int64_t now, int64_t close_deadline)
{
    int idle =
        w->qlen == 0 && !w->batch_held && (!w->spool || aud_spool_count(w->spool) == 0 || !w->conn);
    return idle || now >= close_deadline || w->fatal;
}

void *pgw_loop_main(void *arg)
{
    aud_writer_t *w = arg;
    int64_t close_deadline = 0;
    for (;;) {
        size_t n = 0;
        int got_result = 0;
        pgw_conn_result_t res;
        memset(&res, 0, sizeof(res));
        pthread_mutex_lock(&w->mu);
        for (;;) {
            int64_t now = cmn_mono_ns();
            if (w->closing && !close_deadline)
                close_deadline = now + (int64_t)w->timeout_ms * 1000000;
            if (w->result_ready) {
                got_result = 1;
                res = w->result;
                w->result_ready = 0;
                w->connect_busy = 0;
                break;
            }
            if (w->qlen > 0 && can_take(w))
                break;
            if (w->batch_held && w->conn)
                break;
            if (w->conn && !w->fatal && w->spool && aud_spool_count(w->spool) > 0)
                break; /* drain work */
            if (pgw_checkpoint_due(w, now) || pgw_checkpoint_rekey_ready(w) ||
                pgw_partitions_due(w, now))
                break;
            int want_conn = !w->conn && !w->fatal;
            if (want_conn && !w->connect_busy && now >= w->next_connect_ns) {
                w->connect_busy = 1;
                w->connect_requested = 1;
                pthread_cond_signal(&w->connector_cv);
                break;
            }
            if (w->closing && close_done(w, now, close_deadline))
                break;
            /* Sleep until the next timed thing: a checkpoint, a reconnect, the close. */
            int64_t wake = now + 1000000000;
            if (w->conn && w->cp_due_ns < wake)
                wake = w->cp_due_ns;
            if (want_conn && !w->connect_busy && w->next_connect_ns < wake)
                wake = w->next_connect_ns;
            if (w->closing && close_deadline < wake)
                wake = close_deadline;
            /* the condition variable waits on CLOCK_MONOTONIC (aud_writer_open) */
            struct timespec ts = {.tv_sec = wake / 1000000000, .tv_nsec = wake % 1000000000};
            w->writer_waiting = 1;
            pthread_cond_timedwait(&w->writer_cv, &w->mu, &ts);
            w->writer_waiting = 0;
        }
        if (!got_result && can_take(w) && w->qlen > 0) {
            n = pgw_tickets_take_queued(w, w->batch, w->max_batch, PGW_MAX_BATCH_BYTES);
            w->stats.queued = w->qlen + n;
        }
        /* A key rotation asked for (aud_writer_rotate_key_start), taken once the head is
         * settled. */
        aud_key_t *rekey = NULL;
        if (!got_result && pgw_checkpoint_rekey_ready(w)) {
            rekey = w->rekey;
            w->rekey = NULL;
            w->rekey_state = PGW_REKEY_TAKEN;
        }
        int closing = w->closing;
        pthread_mutex_unlock(&w->mu);

        if (got_result) {
            if (res.cls == PGW_CONN_OK) {
                adopt(w, &res);
            } else {
                if (res.cls == PGW_CONN_FATAL)
                    pgw_state_fatal(w, res.err);
                else if (w->backoff_ms == PGW_BACKOFF_MIN_MS)
                    cmn_log_warn(PGW_LOG, "stream %s: reconnecting: %s", w->stream, res.err);
                else
                    cmn_log_debug(PGW_LOG, "stream %s: reconnecting: %s", w->stream, res.err);
                pgw_state_note_error(w, res.err);
                w->next_connect_ns = cmn_mono_ns() + (int64_t)w->backoff_ms * 1000000;
                w->backoff_ms =
                    w->backoff_ms * 2 > PGW_BACKOFF_MAX_MS ? PGW_BACKOFF_MAX_MS : w->backoff_ms * 2;
                pthread_mutex_lock(&w->mu);
                w->stats.reconnects++;
                pthread_mutex_unlock(&w->mu);
            }
            continue;
        }
        pgw_partitions_tick(w, cmn_mono_ns());
        if (w->batch_held && w->conn) {
            w->batch_held = 0;
            write_batch(w, w->batch, w->batch_n);
        }
        if (n > 0) {
            write_batch(w, w->batch, n);
            pthread_mutex_lock(&w->mu);
            w->stats.queued = w->qlen;
            pthread_mutex_unlock(&w->mu);
        }
        pgw_spool_drain(w);
        if (rekey)
            pgw_checkpoint_rekey(w, rekey);
        if (pgw_checkpoint_due(w, cmn_mono_ns()))
            pgw_checkpoint_write(w);

        if (closing) {
            pthread_mutex_lock(&w->mu);
            int done = close_done(w, cmn_mono_ns(), close_deadline);
            pthread_mutex_unlock(&w->mu);
            if (done)
                break;
        }
    }
    /* A last checkpoint over everything written. */
    if (w->conn && !w->fatal && !w->batch_held && (!w->spool || aud_spool_count(w->spool) == 0) &&
        w->head_seq != w->cp_seq)
        pgw_checkpoint_write(w);
    return NULL;
}
