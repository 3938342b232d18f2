/* What the files of `hubgate audit verify` share (types only; audit/verify.h is the public
 * side, each file below has its own header for its functions):
 *   verify.c          the run: inputs, one snapshot (shared with the readers), every stream,
 *                     orphans; the output;
 *   verify_read.c     the events read over several connections in that snapshot, and what
 *                     each one needs on its own (hash, canonical form, columns), on threads;
 *   verify_stream.c   one stream: its keys, its checkpoints, its events walked in seq order
 *                     for what needs the chain (links, gaps, swaps, checkpoints);
 *   verify_problem.c  the problems found: recorded, counted, ordered.
 * Internal to audit/. */
#ifndef HUBGATE_AUDIT_VERIFY_T_H
#define HUBGATE_AUDIT_VERIFY_T_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/keyring.h"
#include "audit/verify.h"

/* A checkpoint of the stream being verified, from the database or the checkpoint file. */
typedef struct {
    aud_checkpoint_t cp;
    int from_file;
    int in_db;   /* a file checkpoint that the database also holds */
    int sig_ok;  /* 1 valid, 0 invalid, -1 unknown key */
    int checked; /* compared with the chain */
} vfy_cp_t;

/* What an event's own checks found (verify_read.c), for the walk in seq order. */
typedef enum { VFY_CONTENT_OK, VFY_CONTENT_NONCANONICAL, VFY_CONTENT_COLUMNS } vfy_content_t;

typedef struct {
    int64_t seq;
    unsigned char prev[AUD_HASH_BYTES], hash[AUD_HASH_BYTES]; /* as stored */
    char kind[32];           /* the kind column, cut to 31 bytes, for messages */
    unsigned char hash_ok;   /* the canonical text hashes to hash after prev */
    unsigned char next_fits; /* !hash_ok, and the next event's text does (contents exchanged) */
    unsigned char content;   /* vfy_content_t, checked only when hash_ok */
    char *detail;            /* the parser's reason or the column that differs; NULL when ok */
} vfy_row_t;

/* The run's state. */
typedef struct {
    const aud_verify_options_t *o;
    aud_verify_report_t *r;
    size_t max_problems;
    PGconn *db;
    struct vfy_reader_pool *reader; /* the events (verify_read.h) */
    aud_keyring_t pinned;           /* --pubkey */
    aud_checkpoint_t *file_cps;
    size_t n_file_cps, file_cps_cap;
    int *file_cp_stream_found;
    int has_archive, has_retired; /* audit_archive (008), audit_stream_retired (009) */
    /* the stream being verified */
    aud_stream_report_t *sr;
    aud_keyring_t keys; /* registered in the database */
    vfy_cp_t *cps;
    size_t n_cps, cp_next;
    unsigned char genesis[AUD_HASH_BYTES];
} vfy_ctx_t;

#endif
