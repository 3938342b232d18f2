/* The reading half of `hubgate audit verify`: the events of every stream, streamed from
 * PostgreSQL over several connections that share one snapshot, and the work each event needs
 * on its own — its hash recomputed, its canonical form parsed, its columns compared — done on
 * several threads, while verify_stream.c walks the results in seq order for what needs the
 * chain (links, gaps, swaps, checkpoints).
 *
 * A stream is cut into chunks of at most AUD_VERIFY_CHUNK_EVENTS events: each chunk starts at
 * an existing seq s and holds the seqs below the first existing seq >= s + the chunk size (one
 * index probe per boundary, so a sparse or tampered seq range costs no more chunks than it has
 * events). A reader takes the next chunk, reads it with one COPY (its rows and the first row
 * of the next chunk, which the checks of its last row look at), and hands back one vfy_row_t
 * per event. At most `window` chunks are taken and not yet consumed: memory stays bounded
 * whatever the log's size.
 *
 * One connection: with no reader thread (no second connection, or a snapshot that could not be
 * shared), the consumer reads each chunk itself on the snapshot's connection, in order.
 * Internal to audit/ (verify_t.h). */
#ifndef HUBGATE_AUDIT_VERIFY_READ_H
#define HUBGATE_AUDIT_VERIFY_READ_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/verify_t.h"

typedef struct vfy_reader_pool vfy_reader_pool_t;

/* A pool reading through db (the snapshot's connection, borrowed) until readers are started.
 * Returns NULL when out of memory. */
vfy_reader_pool_t *vfy_read_pool_new(PGconn *db);

/* Appends the chunks of stream stream_id (read on the pool's connection, in its snapshot) and
 * sets *n_chunks to their number (0 for a stream without events). Returns 0, or CMN_ERR_DB /
 * CMN_ERR_NOMEM with err set. Blocks (network). Only before vfy_read_start. */
int vfy_read_plan(vfy_reader_pool_t *rp, int64_t stream_id, size_t *n_chunks, char *err,
                  size_t errlen);

/* Starts up to n_threads readers, each on its own connection to url that imports the snapshot
 * `snapshot` (pg_export_snapshot() of the pool's connection). A reader that cannot connect or
 * import is left out; with none, the consumer reads on the pool's connection. Never fails.
 * Blocks (network). */
void vfy_read_start(vfy_reader_pool_t *rp, const char *url, const char *snapshot, int n_threads);

/* The next chunk in plan order, once read: its rows (*rows, *n, in seq order) and the first
 * row after it (*next, NULL at the end of its stream), all owned by the pool until
 * vfy_read_release. Returns 0, or CMN_ERR_DB / CMN_ERR_NOMEM with err set (the chunk could not
 * be read). Blocks. */
int vfy_read_next(vfy_reader_pool_t *rp, const vfy_row_t **rows, size_t *n, const vfy_row_t **next,
                  char *err, size_t errlen);

/* Gives the chunk vfy_read_next returned back, for a reader to reuse. */
void vfy_read_release(vfy_reader_pool_t *rp);

/* Stops the readers, closes their connections, frees everything. Accepts NULL. Blocks. */
void vfy_read_pool_free(vfy_reader_pool_t *rp);

#endif
