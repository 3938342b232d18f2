/* What the files of `hubgate report verify` share (types only; audit/report_verify.h is the
 * public side, each file below has its own header for its functions):
 *   report_verify.c          the run: the auditor's inputs (keys, checkpoint files), the steps
 *                            in order; the output;
 *   report_verify_problem.c  problems: the first of each kind in full, the others counted;
 *   report_verify_files.c    step 1 and report.json: the manifest, its signature, the files it
 *                            lists; the period, the scope and each stream's start and end
 *                            checkpoints;
 *   report_verify_events.c   steps 2 and 3, in parallel: events.jsonl read in batches of lines
 *                            that worker threads check each on its own;
 *   report_verify_seq.c      steps 2 and 3, in line order: seqs, links, checkpoints, scope;
 *   report_verify_counts.c   step 4: report.json's counts recounted from the events.
 * Internal to audit/. */
#ifndef HUBGATE_AUDIT_REPORT_VERIFY_T_H
#define HUBGATE_AUDIT_REPORT_VERIFY_T_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/keyring.h"
#include "audit/report_stats.h"
#include "audit/report_verify.h"

/* The files of a report directory. */
#define RVF_EVENTS   "events.jsonl"
#define RVF_REPORT   "report.json"
#define RVF_MANIFEST "manifest.json"
#define RVF_SIG      "manifest.sig"

/* A checkpoint of a --checkpoint file whose signature verified. */
typedef struct {
    char stream[AUD_STREAM_MAX + 1];
    int64_t seq;
    int64_t ts_us;
    unsigned char hash[AUD_HASH_BYTES];
    const char *file; /* borrowed from the options */
    int64_t line;
} rvf_fcp_t;

#define RVF_START_GENESIS  1
#define RVF_START_ARCHIVED 2

/* One stream of report.json's integrity section, and the pass's state for it. */
typedef struct {
    aud_report_verify_stream_t *out;
    int genesis; /* RVF_START_GENESIS, RVF_START_ARCHIVED or 0 (a signed checkpoint) */
    aud_checkpoint_t start, end;
    int has_end;
    int end_early;    /* the end checkpoint was signed before the period's end: it holds only
                         when it signs the stream's retirement (rvf_seq_finish) */
    int last_retired; /* the last line taken was this stream's whole stream.retired event */
    int64_t next_seq;                        /* the seq the next line must have */
    unsigned char head[AUD_HASH_BYTES];      /* the hash at next_seq - 1 */
    int64_t gap_line, gap_expected, gap_seq; /* a seq skipped at gap_line, not yet reported */
    int saw_in_period;
    int64_t pending_hidden_line, pending_hidden_seq; /* a hidden line after an in-period one */
    size_t fcp_next, fcp_end;                        /* this stream's --checkpoint entries */
} rvf_stream_t;

/* What a worker finds in one line of events.jsonl: everything that depends on the line alone.
 * The sequencer then checks, in line order, what depends on the lines before it. */
typedef struct {
    const char *bad_line; /* NULL, or what the line lacks (static) */
    int hidden, chain, in_period_flag;
    int64_t seq;
    char stream[AUD_STREAM_MAX + 1];
    unsigned char hash[AUD_HASH_BYTES], prev[AUD_HASH_BYTES];
    unsigned char computed[AUD_HASH_BYTES]; /* the hash recomputed after the stated prev_hash */
    int computed_ok;
    int noncanonical; /* whole: it does not parse as a canonical event (why) */
    int version;      /* whole: the chain its text names */
    int in_period;    /* whole: ts in [from, to) */
    int64_t ts_us;
    int disclosed;    /* whole, org-scoped report: another org's v2 event (org in why) */
    int own_org;      /* hidden, org-scoped report: of the report's org */
    const char *kind; /* whole: its kind (static) */
    int in_scope; /* whole: counted in report.json (audit/report_stats.h); the event as parsed is
                     the batch's parsed[i] */
    char why[160];
} rvf_line_t;

/* A batch of whole lines of events.jsonl and what the worker found in each. */
typedef struct {
    char *buf;
    size_t len, cap; /* buf[0..len) holds whole lines, each ending with '\n' */
    rvf_line_t *res;
    size_t n_res, res_cap;
    int short_of_memory;   /* the worker could not hold a result for every line */
    aud_parsed_t **parsed; /* per line: the event as the worker parsed it, for step 4 (each
                              allocated once: its event points into itself) */
    int state;
} rvf_batch_t;

/* The run's state. */
typedef struct {
    const aud_report_verify_options_t *o;
    aud_report_verify_result_t *r;
    aud_keyring_t keys; /* --pubkey */
    rvf_fcp_t *fcps;    /* sorted by stream, seq, ts */
    size_t n_fcps, fcps_cap;
    rvf_stream_t *ss; /* sorted by name */
    aud_hasher_t hasher;
    int64_t lines; /* of events.jsonl, sequenced */
    /* step 4: the counts recomputed from the events in scope, compared with report.json's */
    json_t *report_json;
    aud_report_stats_t *stats;
    int stats_failed;
    /* manifest */
    char listed[AUD_REPORT_VERIFY_MAX_FILES][128];
    unsigned char listed_hash[AUD_REPORT_VERIFY_MAX_FILES][AUD_HASH_BYTES];
    size_t n_listed;
    int events_listed; /* index in listed, -1: not listed */
    int manifest_read; /* manifest.json has the manifest's shape */
} rvf_ctx_t;

#endif
