/* The gateway's own tables (hubgate tokens, sign-in sessions) reached through a few pooled
 * PostgreSQL connections, made on first use with the audit log's settings (bounded connect,
 * keepalives, a commit that returns only when durable). Thread-safe; every call but create and
 * destroy may block on the database. */
#ifndef HUBGATE_GATEWAY_AUTHN_STORE_H
#define HUBGATE_GATEWAY_AUTHN_STORE_H

#include <libpq-fe.h>

typedef struct gw_store gw_store_t;

/* A timestamptz column as the API shows times: UTC, to the second, "YYYY-MM-DDTHH:MM:SSZ". */
#define GW_STORE_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* A pool over database_url; `name` names it in logs and as the connection's application_name
 * ("hubgate tokens"). NULL when out of memory. */
gw_store_t *gw_store_create(const char *database_url, const char *name);

/* Closes every pooled connection. Accepts NULL. */
void gw_store_destroy(gw_store_t *s);

/* A connection, pooled or new; NULL (logged) when the database cannot be reached. */
PGconn *gw_store_acquire(gw_store_t *s);

/* Gives c back to the pool when it is in no transaction (never one a failed change left open),
 * else closes it. Accepts NULL. */
void gw_store_release(gw_store_t *s, PGconn *c);

/* Runs sql with n params on c (NULL: not connected, nothing is run). The result when the
 * statement returned rows (possibly none; the caller PQclears it), else NULL, with a failure
 * logged as "<what> failed". formats: NULL for text params. */
PGresult *gw_store_query(gw_store_t *s, PGconn *c, const char *what, const char *sql, int n,
                         const char *const *params, const int *lengths, const int *formats);

/* Runs a statement that returns no rows (BEGIN, COMMIT, an UPDATE without RETURNING). Returns
 * 0, or -1 (logged as "<what> failed"). */
int gw_store_exec(gw_store_t *s, PGconn *c, const char *what, const char *sql, int n,
                  const char *const *params);

/* Runs a statement with or without rows, for a change that must tell a taken name from a
 * failure: 0 with *out (PQclear it), CMN_ERR_CONFLICT for a unique violation (not logged: the
 * caller's answer), CMN_ERR_DB otherwise (logged as "<what> failed"); *out NULL then. */
int gw_store_run(gw_store_t *s, PGconn *c, const char *what, const char *sql, int n,
                 const char *const *params, PGresult **out);

/* Opens a transaction on c. Returns 1, or 0 when it could not (c NULL or failed; logged). */
int gw_store_begin(gw_store_t *s, PGconn *c);

/* Ends the transaction gw_store_begin opened: COMMIT when rc is 0, else ROLLBACK. Returns rc,
 * or CMN_ERR_DB when the COMMIT failed (then nothing changed; logged as an error, since the
 * change's audit event may already be recorded). */
int gw_store_finish(gw_store_t *s, PGconn *c, int rc, const char *what);

#endif
