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

int pgw_checkpoint_rekey_ready(const aud_writer_t *w)
{
    return w->rekey_state == PGW_REKEY_ASKED && w->conn && !w->fatal && !w->batch_held &&
           !(w->spool && aud_spool_count(w->spool) > 0);
}

static void rekey_outcome(aud_writer_t *w, pgw_rekey_state_t state, const char *why)
{
    pthread_mutex_lock(&w->mu);
    w->rekey_state = state;
    if (why)
        cmn_errf(w->rekey_err, sizeof(w->rekey_err), "%s", why);
    pthread_cond_broadcast(&w->rekey_cv);
    pthread_mutex_unlock(&w->mu);
}

void pgw_checkpoint_rekey(aud_writer_t *w, aud_key_t *key)
{
    char err[512] = "", why[640];
    const char *kid = aud_key_id(key);
    if (w->n_old_keys == PGW_MAX_OLD_KEYS) {
        snprintf(why, sizeof(why), "%d keys retired since the start: restart to rotate again",
                 PGW_MAX_OLD_KEYS);
        goto fail;
    }
    /* The handover point under the old key: everything written so far is signed by it. */
    if (w->head_seq != w->cp_seq)
        pgw_checkpoint_write(w);
    if (!w->conn || w->fatal || w->head_seq != w->cp_seq) {
        pthread_mutex_lock(&w->mu);
        snprintf(why, sizeof(why), "the checkpoint under the old key was not stored (%s)",
                 w->stats.last_error[0] ? w->stats.last_error : "the database is away");
        pthread_mutex_unlock(&w->mu);
        goto fail;
    }
    /* Registered before anything is signed with it, as a writer registers its key at start. */
    cmn_buf_t pem;
    cmn_buf_init(&pem, 4096);
    int pem_ok = aud_key_public_pem(key, &pem) == 0 && pem.data;
    /* base64, dashes, spaces and newlines: nothing that could end an SQL literal */
    for (size_t i = 0; pem_ok && i < pem.len; i++)
        pem_ok = pem.data[i] != '\'' && pem.data[i] != '\\';
    char sql[1024];
    int n = pem_ok ? snprintf(sql, sizeof(sql),
                              "INSERT INTO audit_stream_key (stream_id, key_id, public_key) VALUES "
                              "(%lld, '%s', '%s') ON CONFLICT DO NOTHING",
                              (long long)w->stream_id, kid, pem.data)
                   : -1;
    cmn_buf_free(&pem);
    if (n < 0 || (size_t)n >= sizeof(sql)) {
        snprintf(why, sizeof(why), "cannot encode the new public key");
        goto fail;
    }
    if (pgw_pgio_command(w->conn, sql, pgw_state_db_deadline(w), err, sizeof(err)) != 0) {
        if (PQstatus(w->conn) == CONNECTION_BAD)
            aud_db_oneline(err, sizeof(err), "", PQerrorMessage(w->conn));
        snprintf(why, sizeof(why), "registering the new key %s: %s", kid, err);
        pgw_state_disconnect(w, err);
        goto fail;
    }
    char from[17];
    snprintf(from, sizeof(from), "%s", aud_key_id(w->key));
    pthread_mutex_lock(&w->mu);
    w->old_keys[w->n_old_keys++] = w->key;
    w->key = key;
    pthread_mutex_unlock(&w->mu);
    cmn_log_info(PGW_LOG, "stream %s: signing key %s replaces %s from seq %lld", w->stream, kid,
                 from, (long long)w->head_seq);
    /* The same head under the new key: the handover point is signed by both. A failure here
     * is an ordinary lost checkpoint: the next one is signed with the new key. */
    pgw_checkpoint_write(w);
    rekey_outcome(w, PGW_REKEY_DONE, NULL);
    return;
fail:
    cmn_log_error(PGW_LOG, "stream %s: key %s not taken, the old key still signs: %s", w->stream,
                  kid, why);
    aud_key_free(key);
    rekey_outcome(w, PGW_REKEY_FAILED, why);
}
