/* A report's own files, for `hubgate report verify`: step 1 (manifest.json, its signature
 * manifest.sig by a pinned key, every file of the directory listed and hashing as listed) and
 * report.json's period, scope and integrity section (each stream's start and end checkpoints,
 * signed by a pinned key, around the period). What is wrong with them is a problem in the
 * result, never an error. Internal to audit/ (report_verify_t.h). */
#ifndef HUBGATE_AUDIT_REPORT_VERIFY_FILES_H
#define HUBGATE_AUDIT_REPORT_VERIFY_FILES_H

#include "audit/report_verify_t.h"

/* Opens dir/name for reading, refusing a symbolic link (a report is plain files). Returns the
 * descriptor (caller closes) or -1 with errno. */
int rvf_files_open(const char *dir, const char *name);

/* SHA-256 of the report's file name, streamed. Returns 0 or -1 with errno. Blocks (disk). */
int rvf_files_hash(rvf_ctx_t *v, const char *name, unsigned char out[AUD_HASH_BYTES]);

/* Reads and checks manifest.json and its signature, and lists what it hashes into v->listed.
 * The files themselves are hashed by rvf_files_check (events.jsonl during the pass). */
void rvf_files_manifest(rvf_ctx_t *v);

/* Every file of the directory must be listed (or be the manifest and its signature); every
 * listed file other than events.jsonl must hash as listed. */
void rvf_files_check(rvf_ctx_t *v);

/* Reads report.json: the period, the scope, the integrity section into the result's streams
 * and v->ss (sorted by name, each at its start checkpoint), the recount set up for step 4.
 * Returns 0, or -1 when the report cannot be checked further (a problem says why). */
int rvf_files_report(rvf_ctx_t *v);

#endif
