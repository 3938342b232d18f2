/* Binary COPY encoding of audit_event rows (PostgreSQL's COPY ... FROM STDIN (FORMAT binary)).
 *
 * A row is built once, where the event is submitted, in the buffer that carries it to the
 * writer: PGW_COPY_ROW_PREFIX bytes left for the first four fields (stream_id, seq, prev_hash,
 * hash), which only the writer knows when it chains the batch and fills in place; ts as a
 * field and canonical's length; the canonical bytes; then the columns parsed back from them,
 * so that the columns are exactly what is hashed. The writer sends each row as it is chained,
 * as it is: no batch buffer, no second copy. A COPY is the header, rows, the trailer.
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

#define PGW_COPY_ROW_PREFIX (2 + 12 + 12 + 36 + 36) /* field count, stream_id, seq, hashes */
#define PGW_COPY_HEADER     19                      /* signature, flags, extension length */
#define PGW_COPY_TRAILER    2

/* Encodes ev into row (cleared first), its first four fields left to pgw_copy_row_link: the
 * caller keeps ev. Returns 0, CMN_ERR_INVAL (ev breaks the model: aud_event_encode),
 * CMN_ERR_TOOBIG (over AUD_MAX_EVENT_BYTES) or the buffer's error. */
int pgw_copy_row_from_event(cmn_buf_t *row, const aud_event_t *ev);

/* The same from the event canonical[0..len) (a spooled record). Returns 0, CMN_ERR_PARSE with
 * a reason in why (not a canonical event) or CMN_ERR_NOMEM. */
int pgw_copy_row_from_canonical(cmn_buf_t *row, const char *canonical, size_t len, char *why,
                                size_t whylen);

/* The canonical bytes inside a row (borrowed from it), their length in *len. */
const char *pgw_copy_row_canonical(const cmn_buf_t *row, size_t *len);

/* Fills in the row's first four fields: stream_id, seq, prev and hash. */
void pgw_copy_row_link(cmn_buf_t *row, int64_t stream_id, int64_t seq, const unsigned char *prev,
                       const unsigned char *hash);

/* The COPY's header and trailer. */
void pgw_copy_header(unsigned char out[PGW_COPY_HEADER]);
void pgw_copy_trailer(unsigned char out[PGW_COPY_TRAILER]);

#endif
