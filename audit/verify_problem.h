/* The problems `hubgate audit verify` finds: each counted, the first max_problems kept in the
 * report with their message, then ordered for reading. Internal to audit/ (verify_t.h). */
#ifndef HUBGATE_AUDIT_VERIFY_PROBLEM_H
#define HUBGATE_AUDIT_VERIFY_PROBLEM_H

#include <stdint.h>

#include "audit/verify_t.h"

/* Records a problem about stream (seq -1: not one event; kind "" or NULL: no event) with a
 * static code and a message; counted in the stream being verified, if any. */
void vfy_problem(vfy_ctx_t *v, const char *stream, int64_t seq, const char *kind, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Orders the kept problems by stream, then seq, events before checkpoints at the same seq (a
 * forged event explains the checkpoint that no longer matches), else as found. */
void vfy_problems_sort(aud_verify_report_t *r);

#endif
