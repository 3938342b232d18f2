/* Steps 2 and 3 of `hubgate report verify`, in parallel: events.jsonl read once in batches of
 * whole lines, hashed for the manifest as it goes, each line checked on its own by worker
 * threads (decoded, parsed, its hash recomputed after its prev_hash), then sequenced in line
 * order on the caller's thread. Internal to audit/ (report_verify_t.h). */
#ifndef HUBGATE_AUDIT_REPORT_VERIFY_EVENTS_H
#define HUBGATE_AUDIT_REPORT_VERIFY_EVENTS_H

#include "audit/report_verify_t.h"

/* Reads and checks events.jsonl of v->o->dir, with up to v->o->threads workers (0: one per
 * online CPU, at most 16): problems go to the result; the file's SHA-256 is compared with the
 * manifest's. Blocks (disk, threads). */
void rvf_events_read(rvf_ctx_t *v);

#endif
