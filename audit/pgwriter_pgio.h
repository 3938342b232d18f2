/* libpq I/O with a deadline, on the writer's non-blocking connection: the writer never waits
 * on the database past the deadline it gives, whatever the network does. On any failure the
 * connection's state is unknown: the caller drops it. Internal to audit/. */
#ifndef HUBGATE_AUDIT_PGWRITER_PGIO_H
#define HUBGATE_AUDIT_PGWRITER_PGIO_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Runs sql (one or more statements, no rows wanted) and collects its results. Returns 0 when
 * the last result is PGRES_COMMAND_OK, else -1 with a one-line message in err. Blocks until the
 * deadline (CLOCK_MONOTONIC ns) at most. */
int pgw_pgio_command(PGconn *conn, const char *sql, int64_t deadline, char *err, size_t errlen);

/* Sends rows (a whole binary COPY: header, rows, trailer) through copy_sql (a COPY ... FROM
 * STDIN) as one transaction. With then (SQL ending in COMMIT), the COPY runs inside BEGIN …
 * then: a checkpoint goes in with the batch it signs, for one commit (one WAL flush) instead of
 * two. Returns 0 once committed, else -1 with a one-line message in err: the outcome is then
 * unknown. Blocks until the deadline at most. */
int pgw_pgio_copy_in(PGconn *conn, const char *copy_sql, const cmn_buf_t *rows, const char *then,
                     int64_t deadline, char *err, size_t errlen);

#endif
