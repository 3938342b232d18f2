/* The writer's connection state: contract in pgwriter_state.h. */
#include "audit/pgwriter_state.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

void pgw_state_note_error(aud_writer_t *w, const char *msg)
{
    pthread_mutex_lock(&w->mu);
    cmn_errf(w->stats.last_error, sizeof(w->stats.last_error), "%s", msg);
    pthread_mutex_unlock(&w->mu);
}

void pgw_state_disconnect(aud_writer_t *w, const char *why)
{
    if (w->conn) {
        PQfinish(w->conn);
        w->conn = NULL;
    }
    w->drain_resolved = 0;
    if (!w->down_since_ns) {
        w->down_since_ns = cmn_mono_ns();
        cmn_log_warn(PGW_LOG, "stream %s: lost the database: %s", w->stream, why);
        cmn_errf(w->spool_reason, sizeof(w->spool_reason), "%s", why);
    }
    w->next_connect_ns = cmn_mono_ns(); /* one immediate attempt, then backoff */
    pthread_mutex_lock(&w->mu);
    w->stats.connected = 0;
    cmn_errf(w->stats.last_error, sizeof(w->stats.last_error), "%s", why);
    pthread_mutex_unlock(&w->mu);
}

void pgw_state_fatal(aud_writer_t *w, const char *why)
{
    if (!w->fatal)
        cmn_log_error(PGW_LOG, "stream %s: stopped writing: %s", w->stream, why);
    w->fatal = 1;
    pthread_mutex_lock(&w->mu);
    w->stats.stopped = 1;
    cmn_errf(w->stats.last_error, sizeof(w->stats.last_error), "%s", why);
    pthread_mutex_unlock(&w->mu);
}

void pgw_state_publish_head(aud_writer_t *w)
{
    pthread_mutex_lock(&w->mu);
    w->stats.head_seq = w->head_seq;
    w->stats.checkpoint_seq = w->cp_seq;
    w->stats.spooling = w->spool && aud_spool_count(w->spool) > 0;
    pthread_mutex_unlock(&w->mu);
}

int64_t pgw_state_db_deadline(const aud_writer_t *w)
{
    int ms = w->mode == AUD_MODE_SPOOL ? w->timeout_ms / 2 : w->timeout_ms;
    if (ms < 200)
        ms = 200;
    return cmn_mono_ns() + (int64_t)ms * 1000000;
}
