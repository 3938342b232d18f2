/* What the files of `hubgate report soc2` share (audit/report.h is the public side):
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
#ifndef HUBGATE_AUDIT_REPORT_INTERNAL_H
#define HUBGATE_AUDIT_REPORT_INTERNAL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/report.h"
#include "audit/report_stats.h"

#define RPT_SINK_BUFFER               (256 * 1024)
#define RPT_MAX_PROBLEMS              100 /* integrity problems listed per stream (all are counted) */

/* ---- report_files.c ---- */

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

/* Creates name in the directory dirfd (mode 0644, must not exist). Returns 0, or CMN_ERR_IO /
 * CMN_ERR_NOMEM / CMN_ERR_CRYPTO with the reason in err. */
int rpt_sink_open(rpt_sink_t *s, int dirfd, const char *name, char *err, size_t errlen);

void rpt_sink_write(rpt_sink_t *s, const void *p, size_t n);
void rpt_sink_puts(rpt_sink_t *s, const char *str);
void rpt_sink_printf(rpt_sink_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Flushes, fsyncs and closes the file; hex receives its SHA-256. Returns 0, or CMN_ERR_IO
 * with "NAME: reason" in err. Safe to call on a sink never opened or already closed. */
int rpt_sink_close(rpt_sink_t *s, char hex[2 * AUD_HASH_BYTES + 1], char *err, size_t errlen);

/* Closes without caring (the run failed). */
void rpt_sink_abort(rpt_sink_t *s);

/* Makes the temporary sibling of out_dir ("<out_dir>.tmp-XXXXXX"); *dirfd opened on it.
 * Refuses an out_dir that exists. Returns 0 or CMN_ERR_CONFLICT / CMN_ERR_IO with err set. */
int rpt_dir_create(const char *out_dir, char *tmp, size_t tmplen, int *dirfd, char *err,
                   size_t errlen);

/* fsyncs the directory and renames tmp to out_dir, never over an existing path. */
int rpt_dir_publish(int dirfd, const char *tmp, const char *out_dir, char *err, size_t errlen);

/* Removes the files of the report in tmp and tmp itself (a failed run). */
void rpt_dir_discard(int dirfd, const char *tmp);

/* Writes manifest.json ({"files":{name:sha256},"format":1,"generated":…,"key_id":…}, keys
 * sorted, no whitespace, no newline) and, with a key, manifest.sig (base64 of the Ed25519
 * signature over manifest.json's bytes, then "\n"). names/hexes: n files. */
int rpt_manifest_write(int dirfd, const char *const *names, const char *const *hexes, size_t n,
                       int64_t generated_us, const aud_key_t *key, char *err, size_t errlen);

/* ---- report_events.c ---- */

/* The header line of events.csv. */
void rpt_csv_header(rpt_sink_t *csv);

/* A whole event's line of events.jsonl. */
void rpt_jsonl_whole(rpt_sink_t *out, const char *stream, int64_t seq, int chain,
                     const unsigned char prev[AUD_HASH_BYTES],
                     const unsigned char hash[AUD_HASH_BYTES], const char *canonical, size_t len,
                     int in_period);

/* A line of events.jsonl showing a chain-2 event as its org and commitment. */
void rpt_jsonl_hidden(rpt_sink_t *out, const char *stream, int64_t seq,
                      const unsigned char prev[AUD_HASH_BYTES],
                      const unsigned char hash[AUD_HASH_BYTES], const char *org,
                      const unsigned char commitment[AUD_HASH_BYTES]);

/* ev's row of events.csv. */
void rpt_csv_row(rpt_sink_t *csv, const char *stream, int64_t seq, const aud_event_t *ev,
                 const unsigned char hash[AUD_HASH_BYTES]);

/* Appends s as the body of a JSON string (no quotes) to out. */
void rpt_json_escape(rpt_sink_t *out, const char *s, size_t n);

/* ---- report_stream.c ---- */

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

/* The checkpoint that opens the period: among valid ones signed at or before from_us and naming
 * a seq before first_seq (the first event of the period; -1 when it has none), the highest seq
 * (then the latest). -1: none (the stream's genesis opens it). cps sorted by (seq, ts). */
long rpt_choose_start(const rpt_cp_t *cps, size_t n, int64_t from_us, int64_t first_seq);

/* The checkpoint that closes it: among valid ones signed at or after to_us and naming at least
 * min_seq, the lowest seq (then the earliest). -1: none yet. */
long rpt_choose_end(const rpt_cp_t *cps, size_t n, int64_t to_us, int64_t min_seq);

#define RPT_FILE_CANDIDATES 16    /* per stream, each side of the period */
#define RPT_MAX_FILE_MID    50000 /* checkpoint-file lines inside the period kept to cross-check */

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
    int64_t gaps;             /* missing or broken links, all streams */
    int complete;             /* every stream's period is bounded by checkpoints and verified */
    int64_t streams_with_period_events;
} rpt_ctx_t;

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

/* ---- report_policy.c ---- */

/* Fills criteria["CC6.2-CC6.3"].policies and criteria["CC8.1"].versions of report: every policy
 * version in force in the period — the one each stream had loaded at the period's start, and
 * each loaded in it — with its grants, its embedded tests run again, and its diff against the
 * version before it. Reads policy texts from policy_version. Returns 0, CMN_ERR_DB or
 * CMN_ERR_NOMEM with err set. Blocks. */
int rpt_policy_sections(rpt_ctx_t *c, json_t *report, char *err, size_t errlen);

/* ---- report_html.c ---- */

/* Writes report.html from the finished report (the JSON object written as report.json). */
void rpt_html_write(rpt_sink_t *out, const json_t *report);

#endif
