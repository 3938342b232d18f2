/* Schema migrations: schema/NNN_*.sql, compiled into the binary in order.
 *
 * aud_migrate_run applies the pending ones, each in its own transaction, and records each in
 * schema_migration (name, SHA-256 of its text). It is idempotent, serialised across
 * concurrent runs by an advisory lock, and refuses a database that holds a migration this
 * build does not know or whose text differs: such a database belongs to another version. */
#ifndef HUBGATE_AUDIT_MIGRATE_H
#define HUBGATE_AUDIT_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

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

#endif
