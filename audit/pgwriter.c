/* The audit writer's public API: contract in pgwriter.h; how it is made, in pgwriter_t.h. */
#include "audit/pgwriter.h"
#include "audit/pgwriter_connect.h"
#include "audit/pgwriter_copy.h"
#include "audit/pgwriter_loop.h"
#include "audit/pgwriter_spool.h"
#include "audit/pgwriter_t.h"
#include "audit/pgwriter_tickets.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void free_writer(aud_writer_t *w)
{
    if (!w)
        return;
    pgw_tickets_free(w);
    cmn_buf_free(&w->copy);
    cmn_buf_free(&w->scratch);
    aud_hasher_free(&w->hasher);
    aud_key_free(w->key);
    aud_key_free(w->rekey);
    for (size_t i = 0; i < w->n_old_keys; i++)
        aud_key_free(w->old_keys[i]);
    aud_spool_close(w->spool);
    if (w->cp_fd >= 0) {
        if (w->cp_unsynced)
            fdatasync(w->cp_fd);
        close(w->cp_fd);
    }
    if (w->conn)
        PQfinish(w->conn);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->writer_cv);
    pthread_cond_destroy(&w->timer_cv);
    pthread_cond_destroy(&w->connector_cv);
    pthread_cond_destroy(&w->rekey_cv);
    free(w->url);
    free(w->stream);
    free(w->spool_dir);
    free(w->cp_path);
    free(w);
}

/* Stops the timer and the connector, joining those that were started. */
static void stop_threads(aud_writer_t *w, int timer_started, int connector_started)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->timer_cv);
    pthread_cond_broadcast(&w->connector_cv);
    pthread_mutex_unlock(&w->mu);
    if (timer_started)
        pthread_join(w->timer_thr, NULL);
    if (connector_started)
        pthread_join(w->connector_thr, NULL);
}

/* Where the chain continues, from the first connection (res) or, in spool mode with the
 * database away, from the spool's head. A spool left by a previous run is located in the
 * database's chain (and drained first, in strict mode). Returns 0, or -1 with err set. Blocks
 * (network, disk). */
static int first_head(aud_writer_t *w, pgw_conn_result_t *res, char *err, size_t errlen)
{
    char why[512];
    int64_t spooled = aud_spool_count(w->spool);
    if (res->cls != PGW_CONN_OK) {
        if (res->cls == PGW_CONN_FATAL || w->mode != AUD_MODE_SPOOL || spooled == 0) {
            cmn_errf(err, errlen, "audit: %s%s", res->err,
                     res->cls != PGW_CONN_FATAL && w->mode == AUD_MODE_SPOOL
                         ? " (spool mode can start without the database only from a spool that "
                           "holds the stream's head)"
                         : "");
            return -1;
        }
        /* Spool mode, database away: continue the chain from the spool's head. */
        aud_spool_head(w->spool, &w->head_seq, w->head_hash);
        cmn_errf(w->spool_reason, sizeof(w->spool_reason), "%s", res->err);
        w->down_since_ns = cmn_mono_ns();
        w->next_connect_ns = cmn_mono_ns() + (int64_t)PGW_BACKOFF_MIN_MS * 1000000;
        cmn_log_warn(PGW_LOG,
                     "stream %s: database unreachable, continuing the spool at seq %lld: %s",
                     w->stream, (long long)w->head_seq, res->err);
    } else {
        w->conn = res->conn;
        w->stream_id = res->stream_id;
        w->last_backend_pid = res->backend_pid;
        w->cp_seq = res->cp_seq;
        w->db_head_seq = res->head_seq;
        memcpy(w->db_head_hash, res->head_hash, AUD_HASH_BYTES);
        w->stats.connected = 1;
        if (spooled > 0) {
            if (pgw_spool_locate(w, res->head_seq, res->head_hash, why, sizeof(why)) != 0) {
                cmn_errf(err, errlen, "audit: %s", why);
                return -1;
            }
            aud_spool_head(w->spool, &w->head_seq, w->head_hash);
            cmn_log_info(PGW_LOG, "stream %s: %lld spooled events to drain (%s)", w->stream,
                         (long long)spooled, aud_spool_path(w->spool));
            snprintf(w->spool_reason, sizeof(w->spool_reason), "%s",
                     "left by a previous run of this instance");
            if (w->mode == AUD_MODE_STRICT) {
                /* strict never spools, so the old spool goes in before anything new. */
                while (aud_spool_count(w->spool) > 0 && !w->fatal && w->conn)
                    pgw_spool_drain(w);
                if (aud_spool_count(w->spool) > 0) {
                    cmn_errf(err, errlen, "audit: cannot drain the spool %s: %s",
                             aud_spool_path(w->spool), w->stats.last_error);
                    return -1;
                }
            }
        } else {
            w->head_seq = res->head_seq;
            memcpy(w->head_hash, res->head_hash, AUD_HASH_BYTES);
        }
        if (w->cp_seq < 0)
            w->cp_seq = -1; /* no checkpoint yet: sign the empty stream too */
    }
    return 0;
}

aud_writer_t *aud_writer_open(const aud_writer_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg->database_url || !cfg->stream || !cfg->signing_key || !cfg->spool_dir) {
        cmn_errf(err, errlen, "audit: database, stream, signing_key and spool_dir are required");
        return NULL;
    }
    if (!aud_stream_name_ok(cfg->stream)) {
        cmn_errf(err, errlen, "audit: stream \"%s\" must be 1-64 of [A-Za-z0-9._-]", cfg->stream);
        return NULL;
    }
    aud_writer_t *w = calloc(1, sizeof(*w));
    if (!w) {
        cmn_errf(err, errlen, "out of memory");
        return NULL;
    }
    w->cp_fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->writer_cv, &ca);
    pthread_cond_init(&w->timer_cv, &ca);
    pthread_cond_init(&w->connector_cv, &ca);
    pthread_cond_init(&w->rekey_cv, &ca);
    pthread_condattr_destroy(&ca);
    w->mode = cfg->mode;
    w->cp_every = cfg->checkpoint_every > 0 ? cfg->checkpoint_every : 1000;
    w->cp_seconds = cfg->checkpoint_seconds > 0 ? cfg->checkpoint_seconds : 10;
    w->timeout_ms = cfg->write_timeout_ms > 0 ? cfg->write_timeout_ms : 2000;
    w->qcap = cfg->queue_capacity ? cfg->queue_capacity : 16384;
    w->max_batch = cfg->max_batch ? cfg->max_batch : 2000;
    if (w->max_batch > 3000)
        w->max_batch = 3000;
    w->backoff_ms = PGW_BACKOFF_MIN_MS;
    w->url = strdup(cfg->database_url);
    w->stream = strdup(cfg->stream);
    w->spool_dir = strdup(cfg->spool_dir);
    size_t cpl = strlen(cfg->spool_dir) + strlen(cfg->stream) + 16;
    w->cp_path = cfg->checkpoint_file ? strdup(cfg->checkpoint_file) : malloc(cpl);
    if (!w->url || !w->stream || !w->spool_dir || !w->cp_path || pgw_tickets_init(w) != 0 ||
        aud_hasher_init(&w->hasher) != 0) {
        cmn_errf(err, errlen, "out of memory");
        goto fail;
    }
    if (!cfg->checkpoint_file)
        snprintf(w->cp_path, cpl, "%s/%s.checkpoints", cfg->spool_dir, cfg->stream);
    cmn_buf_init(&w->copy, (size_t)64 << 20);
    cmn_buf_init(&w->scratch, AUD_MAX_EVENT_BYTES);
    aud_chain_genesis(w->stream, w->genesis);
    gethostname(w->host, sizeof(w->host) - 1);
    /* PostgreSQL keeps 63 bytes of it: pid and host come first, for lock_holder. */
    char app[512];
    snprintf(app, sizeof(app), "hubgate %d@%s %s", (int)getpid(), w->host, w->stream);
    cmn_errf(w->app_name, sizeof(w->app_name), "%s", app);

    char why[512];
    w->key = aud_key_load(cfg->signing_key, why, sizeof(why));
    if (!w->key) {
        cmn_errf(err, errlen, "audit signing key: %s", why);
        goto fail;
    }
    if (!aud_key_is_private(w->key)) {
        cmn_errf(err, errlen,
                 "audit signing key: %s holds a public key; the gateway needs the "
                 "private key (hubgate keygen --out FILE)",
                 cfg->signing_key);
        goto fail;
    }
    if (aud_spool_open(w->spool_dir, w->stream, &w->spool, why, sizeof(why)) != 0) {
        cmn_errf(err, errlen, "audit spool: %s", why);
        goto fail;
    }
    w->cp_fd = open(w->cp_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (w->cp_fd < 0) {
        cmn_errf(err, errlen, "audit checkpoint file %s: %s", w->cp_path, strerror(errno));
        goto fail;
    }

    /* The first connection, here, so that a stream held elsewhere or a database that is not
     * migrated stops the start with a clear message. */
    pgw_conn_result_t res;
    pgw_connect(w, 0, &res);
    if (first_head(w, &res, err, errlen) != 0)
        goto fail;
    w->cp_due_ns = cmn_mono_ns() + (int64_t)w->cp_seconds * 1000000000;
    w->stats.head_seq = w->head_seq;
    w->stats.checkpoint_seq = w->cp_seq;
    w->stats.spooling = aud_spool_count(w->spool) > 0;

    if (pthread_create(&w->timer_thr, NULL, pgw_timer_main, w) != 0) {
        cmn_errf(err, errlen, "cannot start a thread");
        goto fail;
    }
    if (pthread_create(&w->connector_thr, NULL, pgw_connector_main, w) != 0) {
        cmn_errf(err, errlen, "cannot start a thread");
        stop_threads(w, 1, 0);
        goto fail;
    }
    if (pthread_create(&w->writer_thr, NULL, pgw_loop_main, w) != 0) {
        cmn_errf(err, errlen, "cannot start a thread");
        stop_threads(w, 1, 1);
        goto fail;
    }
    w->threads_started = 1;
    cmn_log_info(PGW_LOG, "stream %s: writing at seq %lld (%s mode, key %s)", w->stream,
                 (long long)w->head_seq, w->mode == AUD_MODE_SPOOL ? "spool" : "strict",
                 aud_key_id(w->key));
    return w;
fail:
    free_writer(w);
    return NULL;
}

int aud_writer_submit(aud_writer_t *w, const aud_event_t *ev, aud_done_fn done, void *arg)
{
    pgw_ticket_t *t;
    int rc = pgw_ticket_take(w, &t);
    if (rc != 0)
        return rc;
    /* Encode outside the lock, straight into the ticket's row. */
    rc = pgw_copy_row_from_event(&t->row, ev);
    if (rc != 0) {
        pgw_ticket_put_back(w, t);
        return rc;
    }
    return pgw_ticket_queue(w, t, done, arg);
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int status;
} waiter_t;

static void wake_waiter(void *arg, int status)
{
    waiter_t *wt = arg;
    pthread_mutex_lock(&wt->mu);
    wt->status = status;
    wt->done = 1;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

int aud_writer_append(aud_writer_t *w, const aud_event_t *ev)
{
    waiter_t wt = {.done = 0, .status = 0};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    int rc = aud_writer_submit(w, ev, wake_waiter, &wt);
    if (rc == 0) {
        /* The timer guarantees the callback by the deadline: no timeout needed here. */
        pthread_mutex_lock(&wt.mu);
        while (!wt.done)
            pthread_cond_wait(&wt.cv, &wt.mu);
        rc = wt.status;
        pthread_mutex_unlock(&wt.mu);
    }
    pthread_cond_destroy(&wt.cv);
    pthread_mutex_destroy(&wt.mu);
    return rc;
}

void aud_writer_stats(aud_writer_t *w, aud_writer_stats_t *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}

const char *aud_writer_key_id(const aud_writer_t *w)
{
    /* A retired key lives until close, so the answer stays valid after a rotation. */
    pthread_mutex_lock((pthread_mutex_t *)&w->mu);
    const char *id = aud_key_id(w->key);
    pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
    return id;
}

int aud_writer_rotate_key_start(aud_writer_t *w, const char *path, char from_id[17], char to_id[17],
                                char *err, size_t errlen)
{
    char why[512];
    aud_key_t *key = aud_key_load(path, why, sizeof(why));
    if (!key) {
        cmn_errf(err, errlen, "audit signing key: %s", why);
        return -1;
    }
    if (!aud_key_is_private(key)) {
        cmn_errf(err, errlen,
                 "audit signing key: %s holds a public key (expected the private key "
                 "made by hubgate keygen)",
                 path);
        aud_key_free(key);
        return -1;
    }
    snprintf(to_id, 17, "%s", aud_key_id(key));
    pthread_mutex_lock(&w->mu);
    snprintf(from_id, 17, "%s", aud_key_id(w->key));
    int same = strcmp(from_id, to_id) == 0;
    if (same || w->rekey_state != PGW_REKEY_IDLE) {
        pthread_mutex_unlock(&w->mu);
        aud_key_free(key);
        if (same)
            return 1;
        cmn_errf(err, errlen, "a key rotation is already under way");
        return -1;
    }
    w->rekey = key;
    w->rekey_state = PGW_REKEY_ASKED;
    w->rekey_err[0] = '\0';
    /* Taken within two write timeouts or withdrawn; once taken, every step the writer takes is
     * bounded by its database deadline, so waiting for the outcome ends too. */
    w->rekey_take_by = cmn_mono_ns() + 2 * (int64_t)w->timeout_ms * 1000000;
    pthread_cond_signal(&w->writer_cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int aud_writer_rotate_key_wait(aud_writer_t *w, char *err, size_t errlen)
{
    pthread_mutex_lock(&w->mu);
    while (w->rekey_state == PGW_REKEY_ASKED || w->rekey_state == PGW_REKEY_TAKEN) {
        if (w->rekey_state == PGW_REKEY_ASKED && cmn_mono_ns() >= w->rekey_take_by) {
            aud_key_free(w->rekey);
            w->rekey = NULL;
            w->rekey_state = PGW_REKEY_FAILED;
            cmn_errf(w->rekey_err, sizeof(w->rekey_err),
                     "the writer did not take the new key within %d ms (%s): the old key "
                     "still signs",
                     2 * w->timeout_ms, w->stats.connected ? "busy" : "no database connection");
            break;
        }
        int64_t wake = cmn_mono_ns() + 100000000;
        struct timespec ts = {.tv_sec = wake / 1000000000, .tv_nsec = wake % 1000000000};
        pthread_cond_timedwait(&w->rekey_cv, &w->mu, &ts);
    }
    int rc = w->rekey_state == PGW_REKEY_DONE ? 0 : -1;
    if (rc != 0)
        cmn_errf(err, errlen, "%s",
                 w->rekey_state == PGW_REKEY_IDLE ? "no key rotation was asked" : w->rekey_err);
    w->rekey_state = PGW_REKEY_IDLE;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void aud_writer_close(aud_writer_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->closing = 1;
    pthread_cond_signal(&w->writer_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->threads_started)
        pthread_join(w->writer_thr, NULL);

    /* What the writer could not write fails now, unless the timer already failed it. */
    if (w->batch_held) {
        pgw_tickets_complete(w, w->batch, w->batch_n, CMN_ERR_TIMEOUT);
        w->batch_held = 0;
    }
    for (;;) {
        pthread_mutex_lock(&w->mu);
        size_t n = pgw_tickets_take_queued(w, w->batch, w->max_batch, SIZE_MAX);
        pthread_mutex_unlock(&w->mu);
        if (n == 0)
            break;
        pgw_tickets_complete(w, w->batch, n, CMN_ERR_TIMEOUT);
    }
    stop_threads(w, w->threads_started, w->threads_started);
    if (w->result_ready && w->result.conn)
        PQfinish(w->result.conn);
    aud_writer_stats_t st = w->stats;
    cmn_log_info(PGW_LOG,
                 "stream %s: closed at seq %lld (%llu committed, %llu spooled, %llu timed out)",
                 w->stream, (long long)w->head_seq, (unsigned long long)st.committed,
                 (unsigned long long)st.spooled, (unsigned long long)st.timed_out);
    free_writer(w);
}
