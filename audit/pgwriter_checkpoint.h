/* The writer's signed checkpoints: every checkpoint_every events (committed with the batch
 * whose last event they sign) or checkpoint_seconds (on their own, an idle stream included),
 * stored in audit_checkpoint and then appended to the checkpoint file. Writer thread only.
 * Internal to audit/. */
#ifndef HUBGATE_AUDIT_PGWRITER_CHECKPOINT_H
#define HUBGATE_AUDIT_PGWRITER_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/pgwriter_t.h"

/* Signs (stream, seq, hash, now) into cp. Returns 0, or -1 after stopping the writer
 * (pgw_state_fatal: a key that cannot sign will not sign the next one either). */
int pgw_checkpoint_sign(aud_writer_t *w, int64_t seq, const unsigned char *hash,
                        aud_checkpoint_t *cp);

/* The INSERT of cp as literal SQL (hex, digits and a timestamp only), followed by tail, into
 * out[cap] (512 bytes suffice). */
void pgw_checkpoint_sql(const aud_writer_t *w, const aud_checkpoint_t *cp, const char *tail,
                        char *out, size_t cap);

/* cp is in the database: moves the cadence on, appends cp to the checkpoint file (fdatasync at
 * most once a second) and publishes it. Blocks (disk). */
void pgw_checkpoint_stored(aud_writer_t *w, const aud_checkpoint_t *cp);

/* Signs and stores a checkpoint of the head on its own (the time cadence, idle heartbeats,
 * close); drops the connection when the database does not take it. Blocks (network, disk). */
void pgw_checkpoint_write(aud_writer_t *w);

/* 1 when the writer may take a key rotation now (w->mu held): one was asked, it holds a
 * connection, and nothing is in doubt or spooled, so the head is the database's. */
int pgw_checkpoint_rekey_ready(const aud_writer_t *w);

/* Rotates to key (taken over: kept, or freed on failure), as aud_writer_rotate_key_start says:
 * the head signed with the old key, the new public key registered, the head signed with the
 * new key. Publishes the outcome in rekey_state and wakes the caller. Blocks (network, disk). */
void pgw_checkpoint_rekey(aud_writer_t *w, aud_key_t *key);

/* 1 when a checkpoint on its own is due at now (CLOCK_MONOTONIC ns): connected, nothing in
 * doubt or spooled, and checkpoint_every events or checkpoint_seconds since the last one. */
int pgw_checkpoint_due(const aud_writer_t *w, int64_t now);

#endif
