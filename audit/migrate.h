/* Schema migrations: schema/NNN_*.sql, compiled into the binary in order.
 *
 * aud_migrate_run applies the pending ones, each in its own transaction, and records each in
 * schema_migration (name, SHA-256 of its text). It is idempotent, serialised across
 * concurrent runs by an advisory lock, and refuses a database that holds a migration this
 * build does not know or whose text differs: such a database belongs to another version. */
#ifndef HUBGATE_AUDIT_MIGRATE_H
#define HUBGATE_AUDIT_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

/* How many months ahead of the current one `db migrate` makes sure audit_event has its
 * partitions (schema/008_audit_partitions.sql). */
#define AUD_MIGRATE_MONTHS_AHEAD 3

typedef struct {
    const char *name; /* "002_audit.sql" */
    const char *sql;
    size_t len;
} aud_migration_t;

extern const aud_migration_t aud_migrations[];
extern const size_t aud_migrations_count;

/* Connects to database_url (a libpq URL or conninfo string), applies what is pending and
 * reports each step as one line on `out`. Returns 0, or CMN_ERR_DB / CMN_ERR_CONFLICT with a
 * one-line reason in err. Blocks (network). */
int aud_migrate_run(const char *database_url, FILE *out, char *err, size_t errlen);

/* Creates audit_event's missing monthly partitions from the current month through months_ahead
 * months ahead (hubgate_audit_partitions, schema 008), one line on `out` per partition made.
 * A database whose schema predates 008 has none to make: 0. Returns 0 or CMN_ERR_DB. */
int aud_migrate_partitions(PGconn *db, int months_ahead, FILE *out, char *err, size_t errlen);

/* For a maintenance step that must act as hubgate_owner (`hubgate audit archive` detaching a
 * partition): lends hubgate_owner to hubgate_migrator (and makes the connected role, a
 * superuser or a CREATEROLE role, a member of hubgate_migrator) exactly as a migration does,
 * in its own committed transaction. Every lend must be followed by take_back, also after a
 * failure: it leaves hubgate_owner with no member. Return 0 or a CMN_ERR_* code with err set. */
int aud_migrate_lend_owner(PGconn *db, FILE *out, char *err, size_t errlen);
int aud_migrate_take_back_owner(PGconn *db, FILE *out, char *err, size_t errlen);

#endif
