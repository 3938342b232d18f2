#include "audit/migrate.h"
#include "common/err.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Any constant works; it only has to be the same for every hubgate. */
#define MIGRATE_LOCK_KEY 0x6875626761746531LL

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* libpq messages end in newlines and may span lines: keep one line. */
    for (char *p = err; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = (p[1] == '\0') ? '\0' : ' ';
        }
    }
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int exec_ok(PGconn *db, const char *sql, char *err, size_t errlen, const char *what)
{
    PGresult *res = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        set_err(err, errlen, "%s: %s", what, PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : CMN_ERR_DB;
}

static int apply_one(PGconn *db, const aud_migration_t *m, const char *sha, char *err,
                     size_t errlen)
{
    int rc = exec_ok(db, "BEGIN", err, errlen, m->name);
    if (rc)
        return rc;
    rc = exec_ok(db, m->sql, err, errlen, m->name);
    if (rc == 0) {
        const char *params[2] = {m->name, sha};
        PGresult *res = PQexecParams(db,
                                     "INSERT INTO schema_migration (name, sha256) VALUES ($1, $2)",
                                     2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            set_err(err, errlen, "%s: recording it: %s", m->name, PQresultErrorMessage(res));
            rc = CMN_ERR_DB;
        }
        PQclear(res);
    }
    if (rc == 0)
        return exec_ok(db, "COMMIT", err, errlen, m->name);
    PQclear(PQexec(db, "ROLLBACK"));
    return rc;
}

int aud_migrate_run(const char *database_url, FILE *out, char *err, size_t errlen)
{
    int rc = 0;
    PGresult *res = NULL;
    PGconn *db = PQconnectdb(database_url);
    if (PQstatus(db) != CONNECTION_OK) {
        set_err(err, errlen, "cannot connect to the database: %s", PQerrorMessage(db));
        rc = CMN_ERR_DB;
        goto out;
    }
    if ((rc = exec_ok(db, "SET client_min_messages = warning", err, errlen, "setup")))
        goto out;
    char lock_sql[96];
    snprintf(lock_sql, sizeof(lock_sql), "SELECT pg_advisory_lock(%lld)", MIGRATE_LOCK_KEY);
    if ((rc = exec_ok(db, lock_sql, err, errlen, "taking the migration lock")))
        goto out;
    rc = exec_ok(db,
                 "CREATE TABLE IF NOT EXISTS schema_migration ("
                 " name text PRIMARY KEY,"
                 " sha256 text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now())",
                 err, errlen, "creating schema_migration");
    if (rc)
        goto out;

    res = PQexec(db, "SELECT name, sha256 FROM schema_migration ORDER BY name");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading schema_migration: %s", PQresultErrorMessage(res));
        rc = CMN_ERR_DB;
        goto out;
    }
    size_t applied = (size_t)PQntuples(res);
    char sha[65];
    for (size_t i = 0; i < applied; i++) {
        const char *name = PQgetvalue(res, (int)i, 0);
        const char *have = PQgetvalue(res, (int)i, 1);
        if (i >= aud_migrations_count || strcmp(name, aud_migrations[i].name) != 0) {
            set_err(err, errlen,
                    "the database has migration %s, which this hubgate does not know (was it "
                    "migrated by a newer version?); refusing to change it",
                    name);
            rc = CMN_ERR_CONFLICT;
            goto out;
        }
        sha256_hex(aud_migrations[i].sql, aud_migrations[i].len, sha);
        if (strcmp(have, sha) != 0) {
            set_err(err, errlen,
                    "migration %s in the database (sha256 %.12s) differs from this build's "
                    "(sha256 %.12s); refusing to change it",
                    name, have, sha);
            rc = CMN_ERR_CONFLICT;
            goto out;
        }
    }
    PQclear(res);
    res = NULL;

    for (size_t i = applied; i < aud_migrations_count; i++) {
        const aud_migration_t *m = &aud_migrations[i];
        sha256_hex(m->sql, m->len, sha);
        if ((rc = apply_one(db, m, sha, err, errlen)))
            goto out;
        fprintf(out, "applied %s\n", m->name);
    }
    fprintf(out, "database is up to date: %zu migrations (%zu applied now)\n",
            aud_migrations_count, aud_migrations_count - applied);
out:
    PQclear(res);
    PQfinish(db); /* closing the session releases the advisory lock */
    return rc;
}
