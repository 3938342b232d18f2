/* `hubgate audit retire`: the last word of an audit stream whose instance is gone for good
 * (schema/009_stream_retirement.sql; docs/database.md "Retiring a stream").
 *
 * A stream that never signs another checkpoint cannot be proven complete in an evidence report
 * over any later period, and holds back `audit archive` for every later month. Retiring it, in
 * this order:
 *   1. lends hubgate_owner the way `db migrate` does (the connected role is a superuser or a
 *      migrator), finds the stream, refuses one already retired, and takes the stream's
 *      advisory lock, which every live writer holds: a stream some gateway still writes to is
 *      refused;
 *   2. verifies the stream (`audit verify --stream`, with the --pubkey keys and checkpoint file
 *      when given): a stream whose chain or checkpoints do not hold is refused, so that the
 *      retirement never vouches for a tampered tail;
 *   3. in one transaction: appends a `stream.retired` event chained onto the stream's head (its
 *      last event, or its last archive's anchor), signs a checkpoint over it with the given
 *      audit signing key (registering that key for the stream first if it is new to it), and
 *      records (stream, seq, hash) in audit_stream_retired;
 *   4. appends that checkpoint's line to the checkpoint file when one is given, and prints it.
 * A writer that connects to a retired stream stops (fatal): it takes no more events. Reports
 * close the stream at its retirement checkpoint for every later period; `report verify` accepts
 * that checkpoint, signed before the period's end, only because the event it signs is the
 * stream's retirement. Every step prints one line on `out`; nothing is written when any step
 * before 3 fails, and 3 is all or nothing. */
#ifndef HUBGATE_AUDIT_RETIRE_H
#define HUBGATE_AUDIT_RETIRE_H

#include <stddef.h>
#include <stdio.h>

#define AUD_RETIRE_MAX_REASON 200 /* bytes of --reason */

typedef struct {
    const char *database_url; /* a superuser's or a migrator's */
    const char *stream;
    const char *key_file;                /* the audit signing key (private) */
    const char *reason;                  /* NULL: none; printable, at most AUD_RETIRE_MAX_REASON */
    const char *const *pubkey_files;     /* step 2's keys; none: those the database registered */
    size_t n_pubkeys;
    const char *checkpoint_file;         /* step 2 checks it, step 4 appends to it; NULL: none */
} aud_retire_options_t;

/* Returns 0 when the stream was retired, or a CMN_ERR_* code with one line in err:
 * CMN_ERR_INVAL (a bad stream name, reason or key), CMN_ERR_NOTFOUND (no such stream),
 * CMN_ERR_CONFLICT (already retired, held by a live writer, or it does not verify),
 * CMN_ERR_DB, CMN_ERR_IO (the checkpoint file: the retirement itself is committed then).
 * Blocks (database, files). */
int aud_retire_run(const aud_retire_options_t *o, FILE *out, char *err, size_t errlen);

#endif
