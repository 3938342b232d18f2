/* `hubgate report verify DIR --pubkey FILE… [--checkpoint FILE…]`: checks a report directory
 * written by `hubgate report soc2` (docs/evidence-format.md) offline, without a database:
 *
 *   1. every file's SHA-256 against manifest.json, no file beside them, and manifest.sig: an
 *      Ed25519 signature over manifest.json's exact bytes by the pinned key it names;
 *   2. for each stream of report.json's integrity section: its start and end checkpoints'
 *      signatures against the pinned keys only (never a key taken from the report), the start at
 *      or before the period and the end at or after it; then the chain recomputed over
 *      events.jsonl from the start to the end — consecutive seqs, each prev_hash the previous
 *      hash, each hash recomputed from the canonical text (chain 1 or 2) or from org and
 *      commitment (hidden, chain 2) — ending exactly at the end checkpoint's hash; every
 *      checkpoint of the --checkpoint files in that range must name the recomputed hash at its
 *      seq, and a stream those files show active in the period must be in the report;
 *   3. every whole event is canonical (it parses and re-encodes to the same bytes) and its
 *      in_period agrees with its ts; in an org-scoped report no hidden event is of the report's
 *      org and no whole v2 event discloses another org's; in a report of every org no event
 *      between a stream's first and last in-period event is hidden.
 *
 * Completeness rests on step 2: checkpoints signed when the events were written, checked
 * against keys the auditor pinned. An event removed, added, altered or reordered fails it even
 * when the manifest was recomputed and re-signed with the same key.
 *
 * events.jsonl is read once, streamed in batches that worker threads check in parallel and the
 * caller's thread then sequences in line order: memory stays flat whatever the number of
 * events, and the verdict does not depend on the number of threads. Each
 * problem names its file and, for an event, its line, stream and seq; the first problem of
 * each kind is kept with the count of its kind. */
#ifndef HUBGATE_AUDIT_REPORT_VERIFY_H
#define HUBGATE_AUDIT_REPORT_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit/checkpoint.h"
#include "audit/limits.h"


typedef struct {
    const char *dir;                 /* the report directory */
    const char *const *pubkey_files; /* PEM public (or private) keys; at least one */
    size_t n_pubkeys;
    const char *const *checkpoint_files; /* checkpoint files the auditor kept; may be empty */
    size_t n_checkpoint_files;
    unsigned threads; /* threads checking lines; 0: one per online CPU (at most 16) */
} aud_report_verify_options_t;

/* The first problem of one kind, and how many of that kind were found. */
typedef struct {
    const char *code; /* static: "file_hash", "deleted", "modified", … (report_verify_*.c) */
    char file[256];   /* "events.jsonl", "manifest.json", a --checkpoint file's name, … */
    int64_t line;     /* 1-based line in file; 0: not about a line */
    char stream[AUD_STREAM_MAX + 1]; /* "" when not about a stream */
    int64_t seq;                     /* the event it is about; -1: not one event */
    char message[512];
    size_t count;
} aud_report_verify_problem_t;

typedef struct {
    char name[AUD_STREAM_MAX + 1];
    int64_t start_seq, end_seq; /* end_seq -1: no end checkpoint */
    int64_t events;             /* lines of events.jsonl for this stream */
    int64_t whole, hidden, in_period;
    int64_t file_checkpoints; /* --checkpoint entries compared with the chain */
    size_t problems;
    /* The start is an archive's anchor (`hubgate audit archive`): seq 1..start_seq were
     * exported and verified then, and that export's manifest.json has this SHA-256 — the
     * premise this report rests on for them, as the genesis is for a stream's beginning.
     * "" when the start is the genesis or a signed checkpoint. */
    char archived_manifest[64 + 1];
    char archived_at[28];
    /* The stream was retired (`hubgate audit retire`): the end checkpoint, signed before the
     * period's end, signs its stream.retired event, after which it has no event. */
    int retired;
} aud_report_verify_stream_t;

typedef struct {
    aud_report_verify_problem_t
        problems[AUD_REPORT_VERIFY_MAX_PROBLEM_KINDS]; /* in the order first found */
    size_t n_problems;
    size_t total_problems;
    aud_report_verify_stream_t *streams;
    size_t n_streams;
    int64_t events; /* lines of events.jsonl */
    int64_t from_us, to_us;
    char org[AUD_CHAIN_MAX_ORG + 1]; /* the report's org scope; "" for every org */
    int scoped;
    char manifest_key_id[AUD_KEY_ID_LEN + 1];
    double seconds;
    int ok; /* 1 when everything holds */
} aud_report_verify_result_t;

/* Runs the verification. Returns 0 when it ran (result->ok is the verdict), or CMN_ERR_IO /
 * CMN_ERR_PARSE / CMN_ERR_INVAL / CMN_ERR_NOMEM with a one-line reason in err when it could not
 * (DIR not a directory, no --pubkey, an unreadable key or checkpoint file: the auditor's own
 * inputs). Anything wrong with the report's files is a problem in the result, not an error.
 * Free the result with aud_report_verify_result_free in either case. Blocks (disk). */
int aud_report_verify_run(const aud_report_verify_options_t *opts,
                          aud_report_verify_result_t *result, char *err, size_t errlen);

void aud_report_verify_result_free(aud_report_verify_result_t *result);

/* One line per stream, one per kind of problem (its first occurrence), then the verdict. */
void aud_report_verify_print_text(const aud_report_verify_result_t *result, FILE *out);

/* The same as one JSON object:
 * {"ok":bool,"events":N,"seconds":S,"events_per_second":R,"period":{"from","to"},
 *  "org":str|null,"manifest_key_id":str|null,
 *  "streams":[{stream,start_seq,end_seq|null,events,whole,hidden,in_period,file_checkpoints,
 *              problems}],
 *  "first_problem":{problem,file,line|null,stream|null,seq|null,message,count}|null,
 *  "problems":[…the first of each kind, as first_problem],"problems_total":N} */
void aud_report_verify_print_json(const aud_report_verify_result_t *result, FILE *out);

#endif
