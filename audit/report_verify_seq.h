/* Steps 2 and 3 of `hubgate report verify` in line order: what the workers found in each line
 * of events.jsonl (report_verify_events.h), checked against the lines before it — consecutive
 * seqs per stream, each prev_hash the chain's head, the --checkpoint entries at each seq,
 * hidden and whole events where the scope wants them — and at the end, each stream's end
 * checkpoint reached exactly. After a problem the pass resynchronises on what the line says
 * (its seq, its stored hash), so that each tampering is named once, where it is. Caller's
 * thread only. Internal to audit/ (report_verify_t.h). */
#ifndef HUBGATE_AUDIT_REPORT_VERIFY_SEQ_H
#define HUBGATE_AUDIT_REPORT_VERIFY_SEQ_H

#include <stdint.h>

#include "audit/report_verify_t.h"

/* Sequences a checked batch, its lines numbered on from v->lines. Returns 0, or -1 when the
 * batch could not be checked whole (out of memory): the pass stops there (fail closed). */
int rvf_seq_batch(rvf_ctx_t *v, const rvf_batch_t *b);

/* Compares the --checkpoint entries of stream s at seq with the chain's hash there (line: of
 * events.jsonl, 0 for the start checkpoint), moving s's position in them on. */
void rvf_seq_file_checkpoints(rvf_ctx_t *v, rvf_stream_t *s, int64_t seq, int64_t line,
                              const unsigned char hash[AUD_HASH_BYTES]);

/* After the last line: a seq skipped and not yet told is told, and each stream must have
 * reached its end checkpoint, exactly. */
void rvf_seq_finish(rvf_ctx_t *v);

#endif
