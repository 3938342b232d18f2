/* The local spool (spool mode, docs/audit.md): while PostgreSQL is away,
 * events go to an append-only, fsync'd file in spool_dir, chained exactly as they will be in
 * the database, and are drained in order when it returns.
 *
 * File <spool_dir>/<stream>.spool, text, one line each:
 *     hubgate-spool v1 <stream> <base_seq> <base_hash_hex>      header: the chain head before
 *                                                               the first record
 *     <seq> <hash_hex> <canonical event>                        one record per event
 * Records continue the chain from the base: seq = previous + 1, hash = aud_chain_next(previous
 * hash, canonical) — chain 1 or chain 2 as each event's "v" says, exactly as in the database
 * (audit/chain.h). The canonical form has no raw newline, so a line is a record. An empty file is an
 * empty spool. A last line without its '\n' is a record whose write was torn by a crash: it was
 * never acknowledged, and opening the spool cuts it off. Anything else that does not parse or
 * chain is corruption: the spool refuses to open rather than drain a doubtful file.
 *
 * Not thread-safe: the audit writer's thread owns it. Every function blocks (disk). */
#ifndef HUBGATE_AUDIT_SPOOL_H
#define HUBGATE_AUDIT_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit/chain.h"

typedef struct aud_spool aud_spool_t;

typedef struct {
    int64_t seq;
    unsigned char prev[AUD_HASH_BYTES];
    unsigned char hash[AUD_HASH_BYTES];
    const char *canonical; /* valid until the next aud_spool_next / append */
    size_t len;
} aud_spool_record_t;

/* A reading position: the offset of the next record and the chain state before it. */
typedef struct {
    off_t offset;
    int64_t seq; /* of the record before the position */
    unsigned char hash[AUD_HASH_BYTES];
} aud_spool_pos_t;

/* Opens (creating the folder 0700 and the file 0600 if needed) and validates the spool: the
 * header names `stream`, every record parses and chains. Returns 0 with *out set, or
 * CMN_ERR_IO / CMN_ERR_PARSE / CMN_ERR_CONFLICT / CMN_ERR_NOMEM with a one-line reason. */
int aud_spool_open(const char *dir, const char *stream, aud_spool_t **out, char *err,
                   size_t errlen);

void aud_spool_close(aud_spool_t *sp);

/* Number of records in the file (0 for an empty spool). */
int64_t aud_spool_count(const aud_spool_t *sp);

/* The chain head of the spool: the last record, or the base when it has none. Undefined for
 * an empty file (no header). */
void aud_spool_head(const aud_spool_t *sp, int64_t *seq, unsigned char hash[AUD_HASH_BYTES]);

/* The position of the first record (just after the header). */
void aud_spool_start(const aud_spool_t *sp, aud_spool_pos_t *pos);

/* The path of the file; owned by the spool. */
const char *aud_spool_path(const aud_spool_t *sp);

/* Adds a record to the write buffer; on an empty file writes the header first with base =
 * (seq − 1, prev). The record must continue the spool's head. Nothing is durable until
 * aud_spool_sync. Returns 0, CMN_ERR_CONFLICT (does not continue the head), CMN_ERR_NOMEM. */
int aud_spool_append(aud_spool_t *sp, int64_t seq, const unsigned char prev[AUD_HASH_BYTES],
                     const unsigned char hash[AUD_HASH_BYTES], const char *canonical, size_t len);

/* Writes the buffer and fdatasyncs. Returns 0 or CMN_ERR_IO; on error the file is cut back to
 * its last durable length, so nothing half-written stays. */
int aud_spool_sync(aud_spool_t *sp);

/* Reads the record at *pos, checks that it chains, and advances *pos. Returns 1 with *rec set,
 * 0 at the end, CMN_ERR_PARSE / CMN_ERR_IO on a bad record (reason in err). */
int aud_spool_next(aud_spool_t *sp, aud_spool_pos_t *pos, aud_spool_record_t *rec, char *err,
                   size_t errlen);

/* Empties the file once everything is in the database. Returns 0 or CMN_ERR_IO. */
int aud_spool_clear(aud_spool_t *sp);

#endif
