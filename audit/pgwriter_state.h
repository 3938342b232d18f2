/* The writer's connection state and the counters it publishes (aud_writer_stats): what the
 * writer thread, its checkpoints and its spool drain change when the database goes or a
 * problem stops the stream. Writer thread only (or aud_writer_open before the threads); each
 * takes w->mu briefly to publish. Internal to audit/. */
#ifndef HUBGATE_AUDIT_PGWRITER_STATE_H
#define HUBGATE_AUDIT_PGWRITER_STATE_H

#include <stdint.h>

#include "audit/pgwriter_t.h"

/* Sets stats.last_error (cut to fit). */
void pgw_state_note_error(aud_writer_t *w, const char *msg);

/* Drops the connection (a commit outcome may be unknown: the next one resolves it), logs the
 * first loss of an outage, and asks for one immediate reconnect, then backoff. */
void pgw_state_disconnect(aud_writer_t *w, const char *why);

/* Stops writing for good (the stream was taken over or cannot be continued): every ticket
 * fails with CMN_ERR_CONFLICT from now on. Logs once. */
void pgw_state_fatal(aud_writer_t *w, const char *why);

/* Publishes the head, the last checkpoint and whether the spool holds events. */
void pgw_state_publish_head(aud_writer_t *w);

/* The deadline (CLOCK_MONOTONIC ns) of one database round from now: write_timeout_ms, half of
 * it in spool mode (the rest is for the spool), at least 200 ms. */
int64_t pgw_state_db_deadline(const aud_writer_t *w);

#endif
