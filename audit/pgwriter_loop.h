/* The writer thread: it waits for work (queued tickets, a held batch, a connection handed over
 * by the connector, spooled events to drain, a checkpoint due, the close), takes a batch of
 * tickets, extends the chain over it and writes it as one COPY (or into the spool), then
 * completes the tickets once committed (or fsync'd). A batch whose commit outcome is unknown is
 * held until the next connection's head says whether it committed. Internal to audit/. */
#ifndef HUBGATE_AUDIT_PGWRITER_LOOP_H
#define HUBGATE_AUDIT_PGWRITER_LOOP_H

#include "audit/pgwriter_t.h"

/* The thread's body (arg: the writer), until w->closing and nothing left that it can write
 * within write_timeout_ms; then a last checkpoint over what was written. */
void *pgw_loop_main(void *arg);

#endif
