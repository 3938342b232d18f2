/* New connections for the writer: connect, check durability, register the stream and the key,
 * take the stream's lock (one live writer per stream) and read the head. The connector thread
 * does it on the writer's request, so that a database that does not answer never stalls the
 * writer; aud_writer_open does the first one itself. Internal to audit/. */
#ifndef HUBGATE_AUDIT_PGWRITER_CONNECT_H
#define HUBGATE_AUDIT_PGWRITER_CONNECT_H

#include "audit/pgwriter_t.h"

/* Connects and prepares the session into res (res->conn: non-blocking, owned by whoever takes
 * res). prev_pid: the backend of this writer's previous connection (0: none), whose lock may be
 * ended. res->cls says PGW_CONN_OK, PGW_CONN_TRANSIENT (try again later) or PGW_CONN_FATAL
 * (synchronous_commit off, database not migrated, the stream held by a live instance), with
 * res->err. Reads only the writer's configuration. Blocks (network). */
void pgw_connect(aud_writer_t *w, int prev_pid, pgw_conn_result_t *res);

/* The connector thread (arg: the writer): on each w->connect_requested, connects and hands the
 * result over in w->result (w->result_ready), until w->stop. */
void *pgw_connector_main(void *arg);

#endif
