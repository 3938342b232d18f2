/* What the database holds about the streams' signing keys, and a copy of their signed
 * checkpoints for an auditor to keep off the database (`hubgate audit keys`, `hubgate audit
 * checkpoints export`). Both read one snapshot (aud_db_snapshot) and need no more than
 * hubgate_auditor's SELECT, so they run against a read-only replica as well. */
#ifndef HUBGATE_AUDIT_INVENTORY_H
#define HUBGATE_AUDIT_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "audit/checkpoint.h"
#include "audit/key.h"
#include "audit/keyring.h"

/* One key a stream may sign with: the one it was created with (audit_stream) or one a gateway
 * registered later (audit_stream_key: a restart or a reload with another key). */
typedef struct {
    char stream[AUD_STREAM_MAX + 1];
    char key_id[AUD_KEY_ID_LEN + 1];
    int64_t added_us;    /* when the stream was created, or the key registered */
    int first;           /* the key the stream was created with */
    int64_t checkpoints; /* signed with it, in the database */
    int64_t first_cp_us; /* ts of the first and last of those; 0 when none */
    int64_t last_cp_us;
    char *public_pem;  /* as registered */
    char problem[256]; /* "" or why the registered text is not the key its id names */
} aud_stream_key_t;

/* Every registered key of every stream (of `stream` only, when not NULL), by stream name then
 * registration time. Returns 0 with *out (caller frees with aud_stream_keys_free) and *n, or
 * CMN_ERR_DB / CMN_ERR_NOMEM with a one-line reason in err. Blocks (network). */
int aud_stream_keys_read(const char *url, const char *stream, aud_stream_key_t **out, size_t *n,
                         char *err, size_t errlen);

void aud_stream_keys_free(aud_stream_key_t *keys, size_t n);

typedef struct {
    const char *database_url;
    const char *stream;          /* NULL: every stream */
    int64_t since_us;            /* checkpoints at or after this time only; 0: all */
    const aud_keyring_t *pinned; /* when it holds keys, only they may have signed */
    const char *out_path;
    int overwrite; /* replace an existing file */
} aud_cp_export_options_t;

typedef struct {
    size_t streams;
    int64_t checkpoints;
    int64_t unverified; /* signatures that did not verify (nothing is written then) */
    char first_unverified[256];
    char sha256[65]; /* of the file written */
} aud_cp_export_result_t;

/* Writes the checkpoints of the database (in the checkpoint file format, audit/checkpoint.h:
 * ordered by stream, seq and ts) to o->out_path, through a temporary file in the same folder
 * that is fsync'd and renamed, so the path never holds half a file. Each signature is checked
 * first, with o->pinned's keys or else the stream's registered ones: if one does not verify,
 * nothing is written and r says which. Returns 0 (see r->unverified), or CMN_ERR_DB,
 * CMN_ERR_IO, CMN_ERR_CONFLICT (the file exists and !overwrite), CMN_ERR_NOMEM with a reason in
 * err. Blocks (network, disk). */
int aud_checkpoints_export(const aud_cp_export_options_t *o, aud_cp_export_result_t *r, char *err,
                           size_t errlen);

#endif
