/* Spool mode in the writer: while the database is away, batches go to the spool (fsync'd,
 * chained the same way: audit/spool.h) and their tickets succeed once on disk; when it is
 * back, the spool is drained into it in order, the episode recorded as an `audit.spooled`
 * event, and the spool emptied. Writer thread only (and aud_writer_open). Internal to
 * audit/. */
#ifndef HUBGATE_AUDIT_PGWRITER_SPOOL_H
#define HUBGATE_AUDIT_PGWRITER_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "audit/pgwriter_t.h"

/* Finds where the database's head (seq, hash) is in the spool: its base, or one of its
 * records, and sets the drain position just after it. Returns 0, or CMN_ERR_CONFLICT (the head
 * is not there: someone else wrote to the stream) / the spool's error, with err set. Blocks
 * (disk). */
int pgw_spool_locate(aud_writer_t *w, int64_t seq, const unsigned char hash[AUD_HASH_BYTES],
                     char *err, size_t errlen);

/* Spools ts[0..n) as seq first_seq on, chained after prev, and completes the tickets: 0 once
 * fsync'd, CMN_ERR_IO when the spool cannot be written. Moves the head on. Blocks (disk). */
void pgw_spool_batch(aud_writer_t *w, pgw_ticket_t **ts, size_t n, int64_t first_seq,
                     const unsigned char *prev);

/* One step of the drain: up to max_batch spooled records into the database as one COPY; once
 * all are in, the audit.spooled event (through the spool, so that it too survives a failure),
 * and at the step after, the spool emptied. Does nothing without a connection or a spool to
 * drain. Drops the connection, or stops the writer, on failure. Blocks (network, disk). */
void pgw_spool_drain(aud_writer_t *w);

#endif
