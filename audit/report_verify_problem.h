/* The problems `hubgate report verify` finds: the first of each kind kept in full (file, line,
 * stream, seq, message), the others of its kind counted. Internal to audit/
 * (report_verify_t.h). */
#ifndef HUBGATE_AUDIT_REPORT_VERIFY_PROBLEM_H
#define HUBGATE_AUDIT_REPORT_VERIFY_PROBLEM_H

#include <stdint.h>

#include "audit/report_verify_t.h"

/* Records a problem of kind code (static) about file (NULL: none), line (0: not a line),
 * stream (NULL: none) and seq (-1: not one event). */
void rvf_problem(rvf_ctx_t *v, const char *code, const char *file, int64_t line, const char *stream,
                 int64_t seq, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* The same about stream s, counted in its result: about a line of events.jsonl (line > 0) or
 * about report.json's entry for it (line 0). */
void rvf_stream_problem(rvf_ctx_t *v, rvf_stream_t *s, const char *code, int64_t line, int64_t seq,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
