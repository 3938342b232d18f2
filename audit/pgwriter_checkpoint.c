/* The writer's signed checkpoints: contract in pgwriter_checkpoint.h. */
#include "audit/pgwriter_checkpoint.h"
#include "audit/db.h"
#include "audit/pgwriter_pgio.h"
#include "audit/pgwriter_state.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The checkpoint file gets each line in one write, but an fdatasync at most once a second (and
 * at close): every checkpoint is already durable in the database; the file is the copy kept
 * outside it, and a host crash costs it at most its last second, which the database holds. At
 * 100,000 events/s and checkpoint_every 1000 that is 1 fsync/s instead of 100. */
static void cp_file_reopen(aud_writer_t *w)
{
    if (w->cp_fd >= 0) {
        if (w->cp_unsynced)
            (void)fdatasync(w->cp_fd);
        close(w->cp_fd);
    }
    w->cp_unsynced = 0;
    w->cp_fd = open(w->cp_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (w->cp_fd < 0) {
        char err[512];
        snprintf(err, sizeof(err), "checkpoint file %s: reopening it: %s", w->cp_path,
                 strerror(errno));
        cmn_log_error(PGW_LOG, "stream %s: %s (retried at the next checkpoint)", w->stream, err);
        pgw_state_note_error(w, err);
        return;
    }
    cmn_log_info(PGW_LOG, "stream %s: checkpoint file %s reopened", w->stream, w->cp_path);
}

void aud_writer_reopen_files(aud_writer_t *w)
{
    if (w)
        atomic_store(&w->cp_reopen, 1);
}

static void cp_file_append(aud_writer_t *w, const aud_checkpoint_t *cp)
{
    if (atomic_exchange(&w->cp_reopen, 0) || w->cp_fd < 0)
        cp_file_reopen(w);
    if (w->cp_fd < 0)
        return;
    int64_t now = cmn_mono_ns();
    int sync = now - w->cp_synced_ns >= 1000000000;
    if (aud_checkpoint_append(w->cp_fd, cp, sync) != 0) {
        char err[512];
        snprintf(err, sizeof(err), "checkpoint file %s: %s", w->cp_path, strerror(errno));
        cmn_log_error(PGW_LOG, "stream %s: %s", w->stream, err);
        pgw_state_note_error(w, err);
        return;
    }
    if (sync) {
        w->cp_synced_ns = now;
        w->cp_unsynced = 0;
    } else {
        w->cp_unsynced = 1;
    }
}

int pgw_checkpoint_sign(aud_writer_t *w, int64_t seq, const unsigned char *hash,
                        aud_checkpoint_t *cp)
{
    memset(cp, 0, sizeof(*cp));
    cmn_errf(cp->stream, sizeof(cp->stream), "%s", w->stream);
    cp->seq = seq;
    memcpy(cp->hash, hash, AUD_HASH_BYTES);
    cp->ts_us = aud_time_now_us();
    if (aud_checkpoint_sign(cp, w->key) != 0) {
        pgw_state_fatal(w, "cannot sign a checkpoint");
        return -1;
    }
    return 0;
}

void pgw_checkpoint_sql(const aud_writer_t *w, const aud_checkpoint_t *cp, const char *tail,
                        char *out, size_t cap)
{
    char hash[2 * AUD_HASH_BYTES + 1], sig[2 * AUD_SIG_BYTES + 1], ts[28];
    cmn_hex(cp->hash, AUD_HASH_BYTES, hash);
    cmn_hex(cp->sig, AUD_SIG_BYTES, sig);
    aud_time_format(cp->ts_us, ts);
    snprintf(out, cap,
             "INSERT INTO audit_checkpoint (stream_id, seq, hash, ts, key_id, signature) VALUES "
             "(%lld, %lld, '\\x%s', '%s', '%s', '\\x%s')%s",
             (long long)w->stream_id, (long long)cp->seq, hash, ts, cp->key_id, sig, tail);
}

void pgw_checkpoint_stored(aud_writer_t *w, const aud_checkpoint_t *cp)
{
    w->cp_seq = cp->seq;
    w->cp_due_ns = cmn_mono_ns() + (int64_t)w->cp_seconds * 1000000000;
    cp_file_append(w, cp);
    pthread_mutex_lock(&w->mu);
    w->stats.checkpoints++;
    pthread_mutex_unlock(&w->mu);
    pgw_state_publish_head(w);
}

void pgw_checkpoint_write(aud_writer_t *w)
{
    char err[512] = "", sql[512];
    aud_checkpoint_t cp;
    if (pgw_checkpoint_sign(w, w->head_seq, w->head_hash, &cp) != 0)
        return;
    pgw_checkpoint_sql(w, &cp, "", sql, sizeof(sql));
    if (pgw_pgio_command(w->conn, sql, pgw_state_db_deadline(w), err, sizeof(err)) != 0) {
        if (PQstatus(w->conn) == CONNECTION_BAD)
            aud_db_oneline(err, sizeof(err), "", PQerrorMessage(w->conn));
        pgw_state_disconnect(w, err);
        return;
    }
    pgw_checkpoint_stored(w, &cp);
}

int pgw_checkpoint_due(const aud_writer_t *w, int64_t now)
{
    if (!w->conn || w->fatal || w->batch_held || (w->spool && aud_spool_count(w->spool) > 0))
        return 0;
    return w->head_seq - w->cp_seq >= w->cp_every || now >= w->cp_due_ns;
}
