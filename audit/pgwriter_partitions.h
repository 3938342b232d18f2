/* audit_event's monthly partitions, from the writer's side (schema/008_audit_partitions.sql):
 * an insert whose month has no partition fails, so the writer has hubgate_audit_partitions
 * create the missing ones when it connects and again every hour, always the current month and
 * the next PGW_PARTITION_MONTHS_AHEAD. Should an insert fail for want of one all the same (the
 * function refused, a clock far ahead), the batch takes the writer's normal failure path —
 * strict: the tickets fail and the batch is held; spool: it is spooled — and the reconnection
 * that follows calls the function before anything is written again. Internal to audit/. */
#ifndef HUBGATE_AUDIT_PGWRITER_PARTITIONS_H
#define HUBGATE_AUDIT_PGWRITER_PARTITIONS_H

#include <libpq-fe.h>
#include <stdint.h>

#include "audit/pgwriter_t.h"

/* Months ahead of the current one; `db migrate` makes three, so a month's partition exists
 * weeks before any writer needs it. */
#define PGW_PARTITION_MONTHS_AHEAD 2
#define PGW_PARTITION_EVERY_NS     (3600LL * 1000000000LL)

/* On a new, still blocking connection (the connector): creates what is missing and logs each
 * partition made. A database before schema 008 has nothing to make; a refusal (the role may not
 * execute the function) is logged and not fatal: `serve`'s role check names it, and an insert
 * that finds no partition fails on its own. */
void pgw_partitions_on_connect(PGconn *conn, const char *stream);

/* Whether the hourly call is due (the writer thread). */
int pgw_partitions_due(const aud_writer_t *w, int64_t now);

/* The hourly call on the writer's connection, within the writer's database deadline. A
 * failure is logged and the connection dropped (its state is unknown, pgwriter_pgio.h); the
 * reconnection calls the function again. */
void pgw_partitions_tick(aud_writer_t *w, int64_t now);

#endif
