/* Spool mode in the writer: contract in pgwriter_spool.h. */
#include "audit/pgwriter_spool.h"
#include "audit/pgwriter_copy.h"
#include "audit/pgwriter_pgio.h"
#include "audit/pgwriter_state.h"
#include "audit/pgwriter_tickets.h"
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pgw_spool_locate(aud_writer_t *w, int64_t seq, const unsigned char hash[AUD_HASH_BYTES],
                     char *err, size_t errlen)
{
    aud_spool_pos_t pos;
    aud_spool_start(w->spool, &pos);
    for (;;) {
        if (pos.seq == seq && memcmp(pos.hash, hash, AUD_HASH_BYTES) == 0) {
            w->drain_pos = pos;
            w->drain_resolved = 1;
            return 0;
        }
        if (pos.seq > seq)
            break;
        aud_spool_record_t rec;
        int rc = aud_spool_next(w->spool, &pos, &rec, err, errlen);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
    }
    cmn_errf(err, errlen,
             "the database's head of stream %s (seq %lld) is not in the spool %s (seq %lld..%lld): "
             "someone else wrote to this stream",
             w->stream, (long long)seq, aud_spool_path(w->spool), (long long)(pos.seq),
             (long long)pos.seq);
    return CMN_ERR_CONFLICT;
}

/* Spools n tickets' events after the current head. Returns 0 or CMN_ERR_IO. */
static int spool_tickets(aud_writer_t *w, pgw_ticket_t **ts, size_t n, int64_t first_seq,
                         const unsigned char *prev)
{
    unsigned char p[AUD_HASH_BYTES], h[AUD_HASH_BYTES];
    memcpy(p, prev, AUD_HASH_BYTES);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *canon = pgw_copy_row_canonical(&ts[i]->row, &len);
        if (aud_chain_next(&w->hasher, p, canon, len, h) != 0 ||
            aud_spool_append(w->spool, first_seq + (int64_t)i, p, h, canon, len) != 0)
            return CMN_ERR_IO;
        memcpy(p, h, AUD_HASH_BYTES);
    }
    if (aud_spool_sync(w->spool) != 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "spool %s: %s", aud_spool_path(w->spool), strerror(errno));
        cmn_log_error(PGW_LOG, "stream %s: %s", w->stream, msg);
        pgw_state_note_error(w, msg);
        return CMN_ERR_IO;
    }
    return 0;
}

void pgw_spool_batch(aud_writer_t *w, pgw_ticket_t **ts, size_t n, int64_t first_seq,
                     const unsigned char *prev)
{
    int rc = spool_tickets(w, ts, n, first_seq, prev);
    if (rc == 0) {
        aud_spool_head(w->spool, &w->head_seq, w->head_hash);
        pthread_mutex_lock(&w->mu);
        w->stats.spooled += n;
        pthread_mutex_unlock(&w->mu);
    }
    pgw_state_publish_head(w);
    pgw_tickets_complete(w, ts, n, rc == 0 ? 0 : CMN_ERR_IO);
}

/* ---- the drain ---- */

/* Appends the writer's own event (audit.spooled) to the spool. */
static int spool_own_event(aud_writer_t *w, const aud_event_t *ev)
{
    cmn_buf_clear(&w->scratch);
    if (aud_event_encode(ev, &w->scratch) != 0)
        return CMN_ERR_INVAL;
    int64_t seq;
    unsigned char prev[AUD_HASH_BYTES], hash[AUD_HASH_BYTES];
    aud_spool_head(w->spool, &seq, prev);
    if (aud_chain_next(&w->hasher, prev, w->scratch.data, w->scratch.len, hash) != 0)
        return CMN_ERR_INVAL;
    if (aud_spool_append(w->spool, seq + 1, prev, hash, w->scratch.data, w->scratch.len) != 0 ||
        aud_spool_sync(w->spool) != 0)
        return CMN_ERR_IO;
    w->episode_seq = seq + 1;
    aud_spool_head(w->spool, &w->head_seq, w->head_hash);
    return 0;
}

void pgw_spool_drain(aud_writer_t *w)
{
    char err[512];
    if (!w->conn || w->fatal || !w->spool || aud_spool_count(w->spool) == 0)
        return;
    if (!w->drain_resolved &&
        pgw_spool_locate(w, w->db_head_seq, w->db_head_hash, err, sizeof(err)) != 0) {
        pgw_state_fatal(w, err);
        return;
    }
    aud_spool_pos_t pos = w->drain_pos;
    aud_spool_record_t rec;
    size_t n = 0;
    int rc = 0;
    unsigned char header[PGW_COPY_HEADER], trailer[PGW_COPY_TRAILER];
    pgw_copy_header(header);
    pgw_copy_trailer(trailer);
    cmn_buf_clear(&w->copy);
    cmn_buf_append(&w->copy, header, sizeof(header));
    cmn_buf_t row;
    cmn_buf_init(&row, PGW_ROW_MAX_BYTES);
    while (n < w->max_batch && w->copy.len < PGW_MAX_BATCH_BYTES &&
           (rc = aud_spool_next(w->spool, &pos, &rec, err, sizeof(err))) == 1) {
        char why[200];
        if (pgw_copy_row_from_canonical(&row, rec.canonical, rec.len, why, sizeof(why)) != 0) {
            snprintf(err, sizeof(err), "spool record seq %lld is not a canonical event: %s",
                     (long long)rec.seq, why);
            rc = CMN_ERR_PARSE;
            break;
        }
        pgw_copy_row_link(&row, w->stream_id, rec.seq, rec.prev, rec.hash);
        cmn_buf_append(&w->copy, row.data, row.len);
        n++;
    }
    cmn_buf_free(&row);
    if (rc < 0) {
        pgw_state_fatal(w, err);
        return;
    }
    if (n > 0) {
        cmn_buf_append(&w->copy, trailer, sizeof(trailer));
        if (pgw_pgio_copy_in(w->conn, PGW_COPY_SQL, &w->copy, NULL, pgw_state_db_deadline(w), err,
                             sizeof(err)) != 0) {
            pgw_state_disconnect(w, err);
            return;
        }
        w->drain_pos = pos;
        w->db_head_seq = pos.seq;
        memcpy(w->db_head_hash, pos.hash, AUD_HASH_BYTES);
        pthread_mutex_lock(&w->mu);
        w->stats.drained += n;
        w->stats.batches++;
        pthread_mutex_unlock(&w->mu);
    }
    int64_t spool_head;
    unsigned char spool_hash[AUD_HASH_BYTES];
    aud_spool_head(w->spool, &spool_head, spool_hash);
    if (w->drain_pos.seq < spool_head)
        return;
    /* Everything spooled is in the database. First record the episode (through the spool, so
     * that it too survives a failure), then empty the spool. */
    if (!w->episode_logged) {
        aud_spool_pos_t start;
        aud_spool_start(w->spool, &start);
        int64_t since_us = 0;
        if (aud_spool_next(w->spool, &start, &rec, err, sizeof(err)) == 1) {
            char store[4096];
            aud_parsed_t p = {.store = store, .store_cap = sizeof(store), .store_borrowed = 1};
            if (aud_event_parse(&p, rec.canonical, rec.len, NULL, 0) == 0)
                since_us = p.ev.ts_us;
            aud_parsed_free(&p);
        }
        aud_spool_start(w->spool, &start);
        int64_t count = aud_spool_count(w->spool);
        char since[28], until[28];
        aud_time_format(since_us, since);
        aud_event_t ev;
        aud_event_init(&ev, AUD_KIND_AUDIT_SPOOLED);
        aud_time_format(ev.ts_us, until);
        aud_event_detail_int(&ev, "events", count);
        aud_event_detail_int(&ev, "first_seq", start.seq + 1);
        aud_event_detail_int(&ev, "last_seq", spool_head);
        aud_event_detail_str(&ev, "since", since);
        aud_event_detail_str(&ev, "until", until);
        aud_event_detail_str(&ev, "reason", w->spool_reason[0] ? w->spool_reason : "unknown");
        aud_event_detail_str(&ev, "spool", aud_spool_path(w->spool));
        if (spool_own_event(w, &ev) != 0) {
            pgw_state_fatal(w, "cannot write the audit.spooled event to the spool");
            return;
        }
        w->episode_logged = 1;
        cmn_log_info(PGW_LOG, "stream %s: drained %lld spooled events (seq %lld..%lld)", w->stream,
                     (long long)count, (long long)(start.seq + 1), (long long)spool_head);
        return; /* the next step drains it */
    }
    if (aud_spool_clear(w->spool) != 0) {
        pgw_state_fatal(w, "cannot empty the drained spool");
        return;
    }
    w->episode_logged = 0;
    w->spool_reason[0] = '\0';
    pgw_state_publish_head(w);
}
