/* Step 4 of `hubgate report verify`: every count of report.json that comes from events,
 * recounted by the same accumulator as report soc2's (audit/report_stats.h) from the whole
 * events in scope, and compared. Internal to audit/ (report_verify_t.h). */
#ifndef HUBGATE_AUDIT_REPORT_VERIFY_COUNTS_H
#define HUBGATE_AUDIT_REPORT_VERIFY_COUNTS_H

#include <stdint.h>

#include "audit/report_verify_t.h"

/* Counts an event in scope (seq of stream), as report soc2 did. Out of memory, the recount
 * stops and rvf_counts_check says so. */
void rvf_counts_add(rvf_ctx_t *v, const char *stream, int64_t seq, const aud_event_t *ev);

/* Compares the recount with report.json's members: each that differs is a "count" problem. A
 * report.json of format 1 without criteria."CC6.2-CC6.3".access_lifecycle (written before it
 * existed) is not asked for one. */
void rvf_counts_check(rvf_ctx_t *v);

#endif
