#include "audit/migrate.h"
#include "audit/db.h"
#include "common/err.h"
#include "common/sha256.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* Any constant works; it only has to be the same for every hubgate. */
#define MIGRATE_LOCK_KEY 0x6875626761746531LL

static int apply_one(PGconn *db, const aud_migration_t *m, const char *sha, char *err,
                     size_t errlen)
{
    int rc = aud_db_exec(db, "BEGIN", m->name, err, errlen);
    if (rc)
        return rc;
    rc = aud_db_exec(db, m->sql, m->name, err, errlen);
    if (rc == 0) {
        const char *params[2] = {m->name, sha};
        PGresult *res =
            PQexecParams(db, "INSERT INTO schema_migration (name, sha256) VALUES ($1, $2)", 2, NULL,
                         params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            cmn_errf(err, errlen, "%s: recording it: %s", m->name, PQresultErrorMessage(res));
            rc = CMN_ERR_DB;
        }
        PQclear(res);
    }
    if (rc == 0)
        return aud_db_exec(db, "COMMIT", m->name, err, errlen);
    PQclear(PQexec(db, "ROLLBACK"));
    return rc;
}

/* One row, one column: the value, or NULL when the query failed (message in err) or returned no
 * row. The caller frees with PQclear via *res. */
static const char *query_one(PGconn *db, const char *sql, int nparams, const char *const *params,
                             PGresult **res, char *err, size_t errlen, const char *what)
{
    *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(*res) != PGRES_TUPLES_OK) {
        cmn_errf(err, errlen, "%s: %s", what, PQresultErrorMessage(*res));
        return NULL;
    }
    if (PQntuples(*res) < 1) {
        cmn_errf(err, errlen, "%s: no answer", what);
        return NULL;
    }
    return PQgetvalue(*res, 0, 0);
}

static int is_true(const char *v)
{
    return v && strcmp(v, "t") == 0;
}

/* What the migrating role is allowed to do, found before anything changes. */
typedef struct {
    int superuser;
    int createrole;
    char name[128];   /* current_user */
    char schema[128]; /* current_schema(): where the unqualified tables go */
} migrator_t;

static int inspect_migrator(PGconn *db, migrator_t *m, char *err, size_t errlen)
{
    PGresult *res = PQexec(db, "SELECT current_user, coalesce(current_schema(), ''), r.rolsuper, "
                               "r.rolcreaterole, "
                               "coalesce(has_schema_privilege(current_schema(), 'CREATE'), false) "
                               "FROM pg_roles r WHERE r.rolname = current_user");
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        cmn_errf(err, errlen, "reading the migrating role: %s", PQresultErrorMessage(res));
        rc = CMN_ERR_DB;
        goto out;
    }
    snprintf(m->name, sizeof(m->name), "%s", PQgetvalue(res, 0, 0));
    snprintf(m->schema, sizeof(m->schema), "%s", PQgetvalue(res, 0, 1));
    m->superuser = is_true(PQgetvalue(res, 0, 2));
    m->createrole = is_true(PQgetvalue(res, 0, 3));
    int can_create = is_true(PQgetvalue(res, 0, 4));
    if (!m->schema[0]) {
        cmn_errf(err, errlen,
                    "the database has no schema to create the tables in (search_path "
                    "names none that exists)");
        rc = CMN_ERR_CONFLICT;
    } else if (!m->superuser && !m->createrole) {
        cmn_errf(
            err, errlen,
            "the role \"%s\" cannot migrate: it is neither a superuser nor has CREATEROLE "
            "(hubgate's roles are created and lent by the migration); run it as a superuser, "
            "or as a role created with LOGIN CREATEROLE that owns the database (see hubgate "
            "db migrate --help)",
            m->name);
        rc = CMN_ERR_DENIED;
    } else if (!m->superuser && !can_create) {
        cmn_errf(
            err, errlen,
            "the role \"%s\" may not create tables in schema \"%s\": make it the database's "
            "owner, or as the schema's owner run GRANT USAGE, CREATE ON SCHEMA %s TO "
            "hubgate_migrator, hubgate_owner (see hubgate db migrate --help)",
            m->name, m->schema, m->schema);
        rc = CMN_ERR_DENIED;
    }
out:
    PQclear(res);
    return rc;
}

/* Before the migrations, in its own transaction: hubgate's roles exist, the owner and the
 * migrator may create in the schema, and — for a migrator that is not a superuser — the
 * migrator role holds the owner role for the length of this run (end_migration takes it
 * back). A superuser needs no lending: it can do everything already. */
static int begin_migration(PGconn *db, const migrator_t *m, FILE *out, char *err, size_t errlen)
{
    static const char *const roles[] = {"hubgate_owner", "hubgate_gateway", "hubgate_auditor",
                                        "hubgate_migrator"};
    int rc = aud_db_exec(db, "BEGIN", "preparing the roles", err, errlen);
    for (size_t i = 0; rc == 0 && i < sizeof(roles) / sizeof(roles[0]); i++) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN "
                 "CREATE ROLE %s NOLOGIN; END IF; END $$",
                 roles[i], roles[i]);
        rc = aud_db_exec(db, sql, "creating hubgate's roles", err, errlen);
    }
    /* ALTER … OWNER TO hubgate_owner needs the owner to have CREATE on the schema. */
    PGresult *res = NULL;
    const char *params[1] = {m->schema};
    const char *missing =
        rc ? NULL
           : query_one(db,
                       "SELECT NOT has_schema_privilege('hubgate_owner', $1, 'CREATE') OR NOT "
                       "has_schema_privilege('hubgate_migrator', $1, 'CREATE')",
                       1, params, &res, err, errlen, "checking the schema's privileges");
    if (!rc && !missing)
        rc = CMN_ERR_DB;
    if (!rc && is_true(missing)) {
        char *schema = PQescapeIdentifier(db, m->schema, strlen(m->schema));
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "GRANT USAGE, CREATE ON SCHEMA %s TO hubgate_owner, hubgate_migrator",
                 schema ? schema : "public");
        PQfreemem(schema);
        PGresult *g = PQexec(db, sql);
        if (PQresultStatus(g) != PGRES_COMMAND_OK) {
            cmn_errf(err, errlen,
                        "hubgate_owner may not create in schema \"%s\" and \"%s\" cannot grant it "
                        "(%s): as the schema's owner run GRANT USAGE, CREATE ON SCHEMA %s TO "
                        "hubgate_owner, hubgate_migrator",
                        m->schema, m->name, PQresultErrorMessage(g), m->schema);
            rc = CMN_ERR_DENIED;
        }
        PQclear(g);
    }
    PQclear(res);
    res = NULL;
    if (!rc && !m->superuser) {
        const char *member =
            query_one(db, "SELECT pg_has_role(current_user, 'hubgate_migrator', 'MEMBER')", 0, NULL,
                      &res, err, errlen, "checking hubgate_migrator");
        if (!member) {
            rc = CMN_ERR_DB;
        } else if (!is_true(member)) {
            char *me = PQescapeIdentifier(db, m->name, strlen(m->name));
            char sql[256];
            snprintf(sql, sizeof(sql), "GRANT hubgate_migrator TO %s", me ? me : "current_user");
            PQfreemem(me);
            rc = aud_db_exec(db, sql, "joining hubgate_migrator", err, errlen);
            if (rc == 0)
                fprintf(out, "granted hubgate_migrator to %s (the roles that migrate)\n", m->name);
        }
        PQclear(res);
        res = NULL;
        if (rc == 0)
            rc = aud_db_exec(db, "GRANT hubgate_owner TO hubgate_migrator",
                             "lending hubgate_owner to hubgate_migrator for this migration", err,
                             errlen);
    }
    if (rc == 0)
        return aud_db_exec(db, "COMMIT", "preparing the roles", err, errlen);
    PQclear(PQexec(db, "ROLLBACK"));
    return rc;
}

/* After the migrations, whether they succeeded or not: hubgate_owner ends with no member at
 * all. The lent membership goes back, and so does any a migration by an earlier hubgate left
 * (001_roles.sql made a non-superuser migrator a member for good). Each member other than
 * hubgate_migrator is reported. */
static int end_migration(PGconn *db, FILE *out, char *err, size_t errlen)
{
    if (PQtransactionStatus(db) != PQTRANS_IDLE)
        PQclear(PQexec(db, "ROLLBACK")); /* whatever a failed migration left open */
    PGresult *res = PQexec(db, "SELECT m.rolname FROM pg_auth_members a "
                               "JOIN pg_roles m ON m.oid = a.member "
                               "WHERE a.roleid = (SELECT oid FROM pg_roles "
                               "WHERE rolname = 'hubgate_owner') ORDER BY 1");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        cmn_errf(err, errlen, "listing hubgate_owner's members: %s", PQresultErrorMessage(res));
        PQclear(res);
        return CMN_ERR_DB;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *member = PQgetvalue(res, i, 0);
        char *id = PQescapeIdentifier(db, member, strlen(member));
        if (!id) {
            rc = CMN_ERR_NOMEM;
            break;
        }
        char sql[256];
        snprintf(sql, sizeof(sql), "REVOKE hubgate_owner FROM %s", id);
        PQfreemem(id);
        int r = aud_db_exec(db, sql, "taking hubgate_owner back", err, errlen);
        if (r) {
            rc = r;
            break;
        }
        if (strcmp(member, "hubgate_migrator") != 0)
            fprintf(out, "revoked hubgate_owner from %s: no role keeps the owner's rights\n",
                    member);
    }
    PQclear(res);
    return rc;
}

int aud_migrate_partitions(PGconn *db, int months_ahead, FILE *out, char *err, size_t errlen)
{
    char months[16];
    snprintf(months, sizeof(months), "%d", months_ahead);
    const char *params[1] = {months};
    PGresult *res = PQexecParams(db, "SELECT hubgate_audit_partitions($1::integer)", 1, NULL,
                                 params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        int missing = state && strcmp(state, "42883") == 0; /* a schema before 008 */
        if (!missing)
            aud_db_oneline(err, errlen, "creating the audit log's monthly partitions: ",
                           PQresultErrorMessage(res));
        PQclear(res);
        return missing ? 0 : CMN_ERR_DB;
    }
    for (int i = 0; i < PQntuples(res); i++)
        fprintf(out, "created partition %s\n", PQgetvalue(res, i, 0));
    PQclear(res);
    return 0;
}

int aud_migrate_lend_owner(PGconn *db, FILE *out, char *err, size_t errlen)
{
    /* the migrations' lock: a migration running meanwhile would take the owner back */
    char lock_sql[96];
    snprintf(lock_sql, sizeof(lock_sql), "SELECT pg_advisory_lock(%lld)", MIGRATE_LOCK_KEY);
    migrator_t me = {0};
    int rc = aud_db_exec(db, lock_sql, "taking the migration lock", err, errlen);
    if (!rc)
        rc = inspect_migrator(db, &me, err, errlen);
    if (!rc)
        rc = begin_migration(db, &me, out, err, errlen);
    if (!rc)
        fprintf(out,
                me.superuser ? "%s is a superuser: it acts as hubgate_owner already\n"
                             : "lent hubgate_owner to hubgate_migrator (%s is a member) for "
                               "this run\n",
                me.name);
    return rc;
}

int aud_migrate_take_back_owner(PGconn *db, FILE *out, char *err, size_t errlen)
{
    int rc = end_migration(db, out, err, errlen);
    char unlock_sql[96];
    snprintf(unlock_sql, sizeof(unlock_sql), "SELECT pg_advisory_unlock(%lld)", MIGRATE_LOCK_KEY);
    PQclear(PQexec(db, unlock_sql));
    if (!rc)
        fprintf(out, "took hubgate_owner back: it has no member\n");
    return rc;
}

int aud_migrate_run(const char *database_url, FILE *out, char *err, size_t errlen)
{
    int rc = 0, began = 0;
    PGresult *res = NULL;
    migrator_t me = {0};
    PGconn *db = PQconnectdb(database_url);
    if (PQstatus(db) != CONNECTION_OK) {
        cmn_errf(err, errlen, "cannot connect to the database: %s", PQerrorMessage(db));
        rc = CMN_ERR_DB;
        goto out;
    }
    if ((rc = aud_db_exec(db, "SET client_min_messages = warning", "setup", err, errlen)))
        goto out;
    char lock_sql[96];
    snprintf(lock_sql, sizeof(lock_sql), "SELECT pg_advisory_lock(%lld)", MIGRATE_LOCK_KEY);
    if ((rc = aud_db_exec(db, lock_sql, "taking the migration lock", err, errlen)))
        goto out;
    if ((rc = inspect_migrator(db, &me, err, errlen)))
        goto out;
    began = 1;
    if ((rc = begin_migration(db, &me, out, err, errlen)))
        goto out;
    rc = aud_db_exec(db,
                     "CREATE TABLE IF NOT EXISTS schema_migration ("
                     " name text PRIMARY KEY,"
                     " sha256 text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                     "creating schema_migration", err, errlen);
    if (rc)
        goto out;

    res = PQexec(db, "SELECT name, sha256 FROM schema_migration ORDER BY name");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        cmn_errf(err, errlen, "reading schema_migration: %s", PQresultErrorMessage(res));
        rc = CMN_ERR_DB;
        goto out;
    }
    size_t applied = (size_t)PQntuples(res);
    char sha[65];
    for (size_t i = 0; i < applied; i++) {
        const char *name = PQgetvalue(res, (int)i, 0);
        const char *have = PQgetvalue(res, (int)i, 1);
        if (i >= aud_migrations_count || strcmp(name, aud_migrations[i].name) != 0) {
            cmn_errf(err, errlen,
                        "the database has migration %s, which this hubgate does not know (was it "
                        "migrated by a newer version?); refusing to change it",
                        name);
            rc = CMN_ERR_CONFLICT;
            goto out;
        }
        cmn_sha256_hex(aud_migrations[i].sql, aud_migrations[i].len, sha);
        if (strcmp(have, sha) != 0) {
            cmn_errf(err, errlen,
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
        cmn_sha256_hex(m->sql, m->len, sha);
        if ((rc = apply_one(db, m, sha, err, errlen)))
            goto out;
        fprintf(out, "applied %s\n", m->name);
    }
    if ((rc = aud_migrate_partitions(db, AUD_MIGRATE_MONTHS_AHEAD, out, err, errlen)))
        goto out;
    fprintf(out, "database is up to date: %zu migrations (%zu applied now)\n", aud_migrations_count,
            aud_migrations_count - applied);
out:
    PQclear(res);
    if (began) {
        /* Even after a failure: the owner's rights are never left lent out. The first error
         * is the one reported. */
        char end_err[512];
        int end_rc = end_migration(db, out, end_err, sizeof(end_err));
        if (end_rc && rc == 0) {
            rc = end_rc;
            cmn_errf(err, errlen, "%s", end_err);
        }
    }
    PQfinish(db); /* closing the session releases the advisory lock */
    return rc;
}
