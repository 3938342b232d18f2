/* What the files of `hubgate report soc2` share (types only; audit/report.h is the public side,
 * each file below has its own header for its functions):
 *   report.c         the run: options, the database snapshot, the files, in that order;
 *   report_files.c   output files hashed as they are written, the manifest, its signature, and
 *                    the temporary directory renamed into place;
 *   report_stream.c  one audit stream: the checkpoints that bound the period, the events between
 *                    them read from the database, their chain recomputed, each written out;
 *   report_events.c  one event as a line of events.jsonl (whole or as its commitment) and of
 *                    events.csv;
 *   report_stats.c   the counts (audit/report_stats.h);
 *   report_policy.c  the policy versions in force: grants, diffs, embedded tests;
 *   report_html.c    report.html from report.json's content.
 * Internal to audit/. */
#ifndef HUBGATE_AUDIT_REPORT_T_H
#define HUBGATE_AUDIT_REPORT_T_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/limits.h"
#include "audit/report.h"
#include "audit/report_stats.h"

#define RPT_SINK_BUFFER               (256 * 1024)

/* An output file: buffered, and hashed (SHA-256) as it is written. A write error is kept and
 * reported by rpt_sink_close. */
typedef struct {
    char name[32]; /* "events.jsonl" */
    int fd;
    char *buf;
    size_t len;
    void *md; /* EVP_MD_CTX */
    int err;  /* errno of the first failed write; 0 */
    int64_t bytes;
} rpt_sink_t;

/* A signed checkpoint of one stream, from the database or a checkpoint file. */
typedef struct {
    int64_t seq;
    unsigned char hash[AUD_HASH_BYTES];
    int64_t ts_us;
    char key_id[AUD_KEY_ID_LEN + 1];
    unsigned char sig[AUD_SIG_BYTES];
    int from_file;
    int sig_ok; /* 1 valid with a key of the stream; 0 invalid; -1 unknown key */
} rpt_cp_t;

#define RPT_FILE_CANDIDATES 16    /* per stream, each side of the period */

/* The lines of the auditor's checkpoint files for one stream that can matter: the candidates to
 * open the period (signed at or before it: the highest seqs), to close it (signed at or after
 * it: the lowest seqs), and those signed inside it, to compare with the chain. */
typedef struct {
    char stream[AUD_STREAM_MAX + 1];
    rpt_cp_t before[RPT_FILE_CANDIDATES];
    size_t nbefore;
    rpt_cp_t after[RPT_FILE_CANDIDATES];
    size_t nafter;
    rpt_cp_t *mid; /* sorted by seq once loaded */
    size_t nmid, capmid;
    int64_t lines;
} rpt_file_stream_t;

/* The run's state shared by the stream pass. */
typedef struct {
    const aud_report_options_t *o;
    PGconn *db;
    rpt_sink_t jsonl, csv;
    aud_report_stats_t *stats;
    aud_hasher_t hasher;
    aud_parsed_t parsed;
    rpt_file_stream_t *fstreams; /* from the --checkpoint files */
    size_t nfstreams;
    int64_t file_mid_skipped; /* lines inside the period beyond RPT_MAX_FILE_MID */
    PGresult *stream_keys;    /* stream_id, key_id, public_key of audit_stream_key */
    int has_archive, has_retired; /* audit_archive (008), audit_stream_retired (009) */
    int64_t gaps;             /* missing or broken links, all streams */
    int complete;             /* every stream's period is bounded by checkpoints and verified */
    int64_t streams_with_period_events;
} rpt_ctx_t;

#endif
