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

/* Sends sql (a COPY ... FROM STDIN, after "BEGIN; " when the caller ends the transaction
 * itself) and waits until the server takes the COPY's data. Returns 0, else -1 with a one-line
 * message in err. Blocks until the deadline at most. */
int pgw_pgio_copy_start(PGconn *conn, const char *sql, int64_t deadline, char *err, size_t errlen);

/* Queues data[0..len) (borrowed for the call) into the COPY; libpq sends what the socket takes
 * as its buffer fills, so the server works on earlier rows while the caller makes the next.
 * Returns 0, else -1 with a one-line message in err. Waits (until the deadline) only when libpq
 * cannot buffer more. */
int pgw_pgio_copy_put(PGconn *conn, const void *data, size_t len, int64_t deadline, char *err,
                      size_t errlen);

/* Ends the COPY and waits for its outcome; then runs then (SQL ending in COMMIT), if any.
 * Returns 0 once committed, else -1 with a one-line message in err: the outcome is then
 * unknown. Blocks until the deadline at most. */
int pgw_pgio_copy_finish(PGconn *conn, const char *then, int64_t deadline, char *err,
                         size_t errlen);

/* Sends rows (a whole binary COPY: header, rows, trailer) through copy_sql (a COPY ... FROM
 * STDIN) as one transaction. With then (SQL ending in COMMIT), the COPY runs inside BEGIN …
 * then: a checkpoint goes in with the batch it signs, for one commit (one WAL flush) instead of
 * two. Returns 0 once committed, else -1 with a one-line message in err: the outcome is then
 * unknown. Blocks until the deadline at most. */
int pgw_pgio_copy_in(PGconn *conn, const char *copy_sql, const cmn_buf_t *rows, const char *then,
                     int64_t deadline, char *err, size_t errlen);

#endif
