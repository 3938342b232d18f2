/* One audit stream of a report: the checkpoints that bound the period (the database's and the
 * auditor's checkpoint files'), the events between them read once, their chain recomputed, each
 * written out. Internal to audit/ (report_t.h). */
#ifndef HUBGATE_AUDIT_REPORT_STREAM_H
#define HUBGATE_AUDIT_REPORT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit/report_t.h"

/* The checkpoint that opens the period: among valid ones signed at or before from_us and naming
 * a seq before first_seq (the first event of the period; -1 when it has none), the highest seq
 * (then the latest). -1: none (the stream's genesis opens it). cps sorted by (seq, ts). */
long rpt_choose_start(const rpt_cp_t *cps, size_t n, int64_t from_us, int64_t first_seq);

/* The checkpoint that closes it: among valid ones signed at or after to_us and naming at least
 * min_seq, the lowest seq (then the earliest). -1: none yet. */
long rpt_choose_end(const rpt_cp_t *cps, size_t n, int64_t to_us, int64_t min_seq);

/* Reads a checkpoint file (JSON Lines, audit/checkpoint.h) into c->fstreams, keeping what can
 * matter for the period. Returns 0, or CMN_ERR_IO / CMN_ERR_PARSE ("FILE:LINE: why") /
 * CMN_ERR_NOMEM with err set. Blocks (disk). */
int rpt_checkpoint_file_load(rpt_ctx_t *c, const char *path, char *err, size_t errlen);

/* Releases c->fstreams. */
void rpt_checkpoint_files_free(rpt_ctx_t *c);

/* Reads and writes one stream (id, name, registered key): appends its integrity entry to
 * `integrity` (a JSON array). Returns 0, or CMN_ERR_DB / CMN_ERR_NOMEM / CMN_ERR_IO with err
 * set; problems with the log itself are not errors but findings in the entry. Blocks. */
int rpt_stream_run(rpt_ctx_t *c, const char *id, const char *name, const char *pem,
                   const char *key_id, json_t *integrity, char *err, size_t errlen);

#endif
