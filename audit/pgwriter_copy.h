/* Binary COPY encoding of audit_event rows (PostgreSQL's COPY ... FROM STDIN (FORMAT binary)).
 *
 * A row's tail is everything after its first four fields (stream_id, seq, prev_hash, hash),
 * which only the writer knows when it chains the batch: 16 bytes of headers (ts as a field,
 * then canonical's length), the canonical bytes, then the columns parsed back from them, so
 * that the columns are exactly what is hashed. A batch is the COPY header, rows, the trailer.
 * None of these functions blocks. Internal to audit/ (the writer: pgwriter_t.h). */
#ifndef HUBGATE_AUDIT_PGWRITER_COPY_H
#define HUBGATE_AUDIT_PGWRITER_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "audit/event.h"
#include "common/buf.h"

#define PGW_COPY_SQL                                                                               \
    "COPY audit_event (stream_id, seq, prev_hash, hash, ts, canonical, kind, request_id, actor, "  \
    "org, repo, action, decision, rule, status, bytes_in, bytes_out, client_ip) "                  \
    "FROM STDIN (FORMAT binary)"

/* Encodes ev into tail (cleared first): the caller keeps ev. Returns 0, CMN_ERR_INVAL (ev
 * breaks the model: aud_event_encode), CMN_ERR_TOOBIG (over AUD_MAX_EVENT_BYTES) or the
 * buffer's error. */
int pgw_copy_tail_from_event(cmn_buf_t *tail, const aud_event_t *ev);

/* Appends the tail of the event canonical[0..len) (a spooled record) to tail. Returns 0,
 * CMN_ERR_PARSE with a reason in why (not a canonical event) or CMN_ERR_NOMEM. */
int pgw_copy_tail_from_canonical(cmn_buf_t *tail, const char *canonical, size_t len, char *why,
                                 size_t whylen);

/* The canonical bytes inside a tail (borrowed from it), their length in *len. */
const char *pgw_copy_tail_canonical(const cmn_buf_t *tail, size_t *len);

/* Starts a batch in b (cleared first): the binary COPY signature and header. */
void pgw_copy_begin(cmn_buf_t *b);

/* Appends one row: stream_id, seq, prev and hash, then the tail. */
void pgw_copy_row(cmn_buf_t *b, int64_t stream_id, int64_t seq, const unsigned char *prev,
                  const unsigned char *hash, const char *tail, size_t tail_len);

/* Ends the batch (the trailer). */
void pgw_copy_end(cmn_buf_t *b);

#endif
