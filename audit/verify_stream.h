/* One stream of `hubgate audit verify`: its registered keys, its checkpoints (the database's
 * and the checkpoint file's, signatures checked), then its events walked in seq order as the
 * readers checked them (verify_read.h: hash, canonical form, columns), each one's chain link
 * and place checked, and each checkpoint compared with the chain at its seq. Internal to
 * audit/ (verify_t.h). */
#ifndef HUBGATE_AUDIT_VERIFY_STREAM_H
#define HUBGATE_AUDIT_VERIFY_STREAM_H

#include <libpq-fe.h>
#include <stddef.h>

#include "audit/verify_t.h"

/* Verifies the stream (id, name, the key it was created with, key_id) into v->sr, with
 * extra_keys the rows (stream_id, key_id, public_key) of audit_stream_key and its events the
 * next n_chunks chunks of v->reader (vfy_read_plan). Problems with the log are recorded
 * (verify_problem.h), not errors. Returns 0, or CMN_ERR_DB / CMN_ERR_NOMEM with err set.
 * Blocks (network, the readers). */
int vfy_stream_run(vfy_ctx_t *v, const char *id, const char *name, const char *pem,
                   const char *key_id, const PGresult *extra_keys, size_t n_chunks, char *err,
                   size_t errlen);

#endif
