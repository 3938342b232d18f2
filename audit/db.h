/* libpq helpers: the one way hubgate connects to PostgreSQL (the audit writer, verify, reports,
 * the token store, role checks), and binary COPY field encoding. */
#ifndef HUBGATE_AUDIT_DB_H
#define HUBGATE_AUDIT_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/checkpoint.h"

/* Connects with the settings in url (a libpq URL or conninfo string), adding what the audit
 * log needs unless url sets it: connect_timeout=5, TCP keepalives, tcp_user_timeout=10 s,
 * application_name; and always `-c synchronous_commit=on` appended to url's options, so no
 * server or role default can make a commit return before it is durable. Returns an open
 * connection (caller PQfinish), or NULL with a one-line reason in err. Blocks (network). */
PGconn *aud_db_connect(const char *url, const char *application_name, char *err, size_t errlen);

/* Runs sql (no parameters, rows ignored). Returns 0, or CMN_ERR_DB with "<what>: <libpq's
 * message>" in err as one line (the message alone when what is NULL). Blocks (network). */
int aud_db_exec(PGconn *db, const char *sql, const char *what, char *err, size_t errlen);

/* Runs sql with the n text params, for rows (binary: in binary format). Returns the result
 * (caller PQclear), or NULL with "<what>: <libpq's message>" in err as one line. Blocks
 * (network). */
PGresult *aud_db_rows(PGconn *db, const char *sql, int n, const char *const *params, int binary,
                      const char *what, char *err, size_t errlen);

/* Whether the database has the table (a later schema's: audit_archive since 008,
 * audit_stream_retired since 009). Returns 1 or 0, or -1 with "<what>: …" in err. Blocks
 * (network). */
int aud_db_has_table(PGconn *db, const char *table, const char *what, char *err, size_t errlen);

/* One row of a binary COPY: its fields (len -1 for NULL), pointing into libpq's buffer, valid
 * during the callback only. */
#define AUD_DB_COPY_MAX_FIELDS 32
typedef struct {
    const char *f[AUD_DB_COPY_MAX_FIELDS];
    int len[AUD_DB_COPY_MAX_FIELDS];
} aud_db_fields_t;

/* Called for each row; returns 0 to go on, or an error (with its message already in the
 * caller's err) after which no row is handed on, and the stream is read to its end. */
typedef int (*aud_db_copy_fn)(void *ctx, const aud_db_fields_t *row);

/* Runs sql, a "COPY (…) TO STDOUT (FORMAT binary)" of nfields columns (at most
 * AUD_DB_COPY_MAX_FIELDS), and hands each row to fn. Returns 0, fn's error, or CMN_ERR_DB with
 * "<what>: …" in err (the server refused, the stream or a row is malformed). Blocks
 * (network). */
int aud_db_copy_out(PGconn *db, const char *sql, int nfields, aud_db_copy_fn fn, void *ctx,
                    const char *what, char *err, size_t errlen);

/* aud_db_connect, then one REPEATABLE READ READ ONLY transaction: a snapshot of everything
 * while writers keep appending, read-only whatever the role may do. Returns the connection
 * (caller PQfinish), or NULL with a one-line reason in err. Blocks (network). */
PGconn *aud_db_snapshot(const char *url, const char *application_name, char *err,
                        size_t errlen);

/* In a connection aud_db_snapshot opened, before anything else ran in it: exports its snapshot
 * (pg_export_snapshot()) into id, for other connections to read the same state with SET
 * TRANSACTION SNAPSHOT while this transaction lasts. Returns 0, or CMN_ERR_DB: the server
 * refused, and the connection's transaction is aborted (start another). Blocks (network). */
int aud_db_snapshot_export(PGconn *db, char *id, size_t idlen);

/* Copies a libpq message into err as one line (newlines become spaces, the trailing one goes). */
void aud_db_oneline(char *err, size_t errlen, const char *prefix, const char *msg);


/* Decodes row `row` of a binary-format result whose columns are seq, hash, ts, key_id,
 * signature (audit_checkpoint's) into cp, for stream. A hash or signature of the wrong length
 * is left zero: it then verifies with no key and names no chain hash. */
void aud_db_checkpoint(const PGresult *r, int row, const char *stream, aud_checkpoint_t *cp);

/* Binary COPY field helpers (network byte order), appending to a cmn_buf_t-like byte sink. */
static inline void aud_be16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}
static inline void aud_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}
static inline void aud_be64(unsigned char *p, uint64_t v)
{
    aud_be32(p, (uint32_t)(v >> 32));
    aud_be32(p + 4, (uint32_t)v);
}
static inline uint32_t aud_rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t aud_rd64(const unsigned char *p)
{
    return (uint64_t)aud_rd32(p) << 32 | aud_rd32(p + 4);
}

/* PostgreSQL's epoch (2000-01-01) in Unix microseconds: binary timestamptz counts from it. */
#define AUD_PG_EPOCH_US 946684800000000LL

/* The two-key advisory lock a writer holds on its stream: (AUD_LOCK_CLASS, stream id). */
#define AUD_LOCK_CLASS 0x68756267 /* "hubg" */

#endif
