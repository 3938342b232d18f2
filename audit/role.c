#include "audit/role.h"
#include "audit/db.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

static const char *const groups[] = {"hubgate_owner", "hubgate_gateway", "hubgate_auditor",
                                     "hubgate_migrator"};

int aud_role_kind_parse(const char *s)
{
    if (s && strcmp(s, "gateway") == 0)
        return AUD_ROLE_GATEWAY;
    if (s && strcmp(s, "auditor") == 0)
        return AUD_ROLE_AUDITOR;
    return -1;
}

int aud_role_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > AUD_ROLE_MAX_NAME || strncmp(name, "pg_", 3) == 0)
        return 0;
    if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (strcmp(name, groups[i]) == 0)
            return 0;
    }
    return 1;
}

int aud_role_create(PGconn *db, aud_role_kind_t kind, const char *name, const char *password,
                    char *err, size_t errlen)
{
    const char *group = kind == AUD_ROLE_GATEWAY ? "hubgate_gateway" : "hubgate_auditor";
    if (!aud_role_name_ok(name)) {
        cmn_errf(err, errlen,
                "\"%s\" is not a role name hubgate creates (expected 1 to %d of a-z 0-9 _, "
                "starting with a letter or _, not pg_* and not one of hubgate's own roles)",
                name ? name : "", AUD_ROLE_MAX_NAME);
        return CMN_ERR_INVAL;
    }
    const char *params[2] = {name, group};
    PGresult *res = PQexecParams(db,
                                 "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1), "
                                 "EXISTS (SELECT FROM pg_roles WHERE rolname = $2)",
                                 2, NULL, params, NULL, NULL, 0);
    int rc = 0;
    char *encrypted = NULL, *literal = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        aud_db_oneline(err, errlen, "looking up roles: ", PQresultErrorMessage(res));
        rc = CMN_ERR_DB;
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        cmn_errf(err, errlen,
                "the role \"%s\" already exists; hubgate only creates new ones (drop it first, "
                "or pick another name)",
                name);
        rc = CMN_ERR_CONFLICT;
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        cmn_errf(err, errlen, "the role %s does not exist: run hubgate db migrate first", group);
        rc = CMN_ERR_NOTFOUND;
        goto out;
    }
    if (password) {
        /* What psql's \password does: only the verifier travels and can be logged. */
        encrypted = PQencryptPasswordConn(db, password, name, "scram-sha-256");
        literal = encrypted ? PQescapeLiteral(db, encrypted, strlen(encrypted)) : NULL;
        if (!literal) {
            aud_db_oneline(err, errlen, "encrypting the password: ", PQerrorMessage(db));
            rc = CMN_ERR_DB;
            goto out;
        }
    }
    /* The name was checked against a strict pattern above; it is quoted all the same. */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "CREATE ROLE \"%s\" LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE "
             "NOREPLICATION NOBYPASSRLS IN ROLE %s%s%s",
             name, group, literal ? " PASSWORD " : "", literal ? literal : "");
    PQclear(res);
    res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        aud_db_oneline(err, errlen, "creating the role: ", PQresultErrorMessage(res));
        rc = CMN_ERR_DB;
    }
out:
    PQclear(res);
    if (literal)
        memset(literal, 0, strlen(literal));
    PQfreemem(literal);
    if (encrypted)
        memset(encrypted, 0, strlen(encrypted));
    PQfreemem(encrypted);
    return rc;
}

/* Every way the connected role could change what hubgate's tables hold, or lacks what a
 * gateway needs. One text column; one row per problem. A superuser is handled before. */
static const char check_sql[] =
    "WITH t(name, kind) AS (VALUES ('audit_stream', 'audit'), ('audit_event', 'audit'), "
    "  ('audit_checkpoint', 'audit'), ('audit_stream_key', 'audit'), ('policy_version', 'audit'), "
    "  ('access_token', 'token'), ('login_session', 'token'), ('device_grant', 'token'), "
    "  ('refresh_token', 'token'), ('directory_user', 'token'), ('directory_group', 'token'), "
    "  ('directory_member', 'membership'), ('schema_migration', 'migration'), "
    /* schema 008: the archive record is read (reports), never written by a gateway */
    "  ('audit_archive', 'readonly'), "
    /* schema 009: a retirement is read (the writer refuses a retired stream), never written */
    "  ('audit_stream_retired', 'readonly')), "
    /* the columns a gateway updates: a revocation, a token's last use, a session's end, a
     * device grant's polls and decision, a refresh token's use */
    "cols(name, col) AS (VALUES ('access_token', 'revoked_at'), ('access_token', 'last_used_at'), "
    "  ('login_session', 'last_seen_at'), ('login_session', 'ended_at'), "
    "  ('login_session', 'ended_reason'), ('device_grant', 'last_poll_at'), "
    "  ('device_grant', 'status'), ('device_grant', 'decided_at'), ('device_grant', 'owner_iss'), "
    "  ('device_grant', 'owner_sub'), ('device_grant', 'owner'), ('device_grant', 'scope'), "
    "  ('refresh_token', 'used_at'), ('refresh_token', 'revoked_at'), "
    "  ('directory_user', 'user_name'), ('directory_user', 'external_id'), "
    "  ('directory_user', 'display_name'), ('directory_user', 'email'), "
    "  ('directory_user', 'active'), ('directory_user', 'updated_at'), "
    "  ('directory_user', 'deleted_at'), ('directory_user', 'version'), "
    "  ('directory_group', 'display_name'), ('directory_group', 'external_id'), "
    "  ('directory_group', 'updated_at'), ('directory_group', 'deleted_at'), "
    "  ('directory_group', 'version')), "
    "rel AS (SELECT t.name, t.kind, c.oid, c.relowner, c.relnamespace FROM t "
    "  JOIN pg_class c ON c.oid = to_regclass(t.name)), "
    /* audit_event's partitions (schema 008): written through audit_event only, so INSERT or
     * any power to change one directly is one too many */
    "parts AS (SELECT c.relname::text AS name, c.oid, c.relowner FROM pg_inherits i "
    "  JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass('audit_event')), "
    "fn AS (SELECT p.oid, p.proowner FROM pg_proc p "
    "  WHERE p.oid = to_regprocedure('hubgate_audit_partitions(integer)')), "
    "owner AS (SELECT oid FROM pg_roles WHERE rolname = 'hubgate_owner') "
    "SELECT 'has CREATEROLE: it could make itself a member of hubgate_owner' "
    "  FROM pg_roles WHERE rolname = current_user AND rolcreaterole "
    "UNION ALL SELECT 'is a member of hubgate_owner, which owns the audit tables (it could "
    "disable their triggers)' FROM owner WHERE pg_has_role(current_user, owner.oid, 'MEMBER') "
    "UNION ALL SELECT format('owns table %s (as a member of %s)', rel.name, "
    "  pg_get_userbyid(rel.relowner)) FROM rel "
    "  WHERE pg_has_role(current_user, rel.relowner, 'MEMBER') "
    "  AND rel.relowner IS DISTINCT FROM (SELECT oid FROM owner) "
    "UNION ALL SELECT format('owns the partition %s (as a member of %s)', parts.name, "
    "  pg_get_userbyid(parts.relowner)) FROM parts "
    "  WHERE pg_has_role(current_user, parts.relowner, 'MEMBER') "
    "  AND parts.relowner IS DISTINCT FROM (SELECT oid FROM owner) "
    "UNION ALL SELECT format('owns the function hubgate_append_only (as a member of %s)', "
    "  pg_get_userbyid(p.proowner)) FROM pg_proc p WHERE p.proname = 'hubgate_append_only' "
    "  AND pg_has_role(current_user, p.proowner, 'MEMBER') "
    "  AND p.proowner IS DISTINCT FROM (SELECT oid FROM owner) "
    "UNION ALL SELECT format('owns the function hubgate_audit_partitions (as a member of %s)', "
    "  pg_get_userbyid(fn.proowner)) FROM fn "
    "  WHERE pg_has_role(current_user, fn.proowner, 'MEMBER') "
    "  AND fn.proowner IS DISTINCT FROM (SELECT oid FROM owner) "
    "UNION ALL SELECT format('owns the schema %s holding the audit tables (as a member of %s): "
    "it could drop them', n.nspname, pg_get_userbyid(n.nspowner)) FROM pg_namespace n "
    "  WHERE n.oid = (SELECT relnamespace FROM rel WHERE name = 'audit_event') "
    "  AND pg_has_role(current_user, n.nspowner, 'MEMBER') "
    "UNION ALL SELECT format('owns the database %s (as a member of %s)', d.datname, "
    "  pg_get_userbyid(d.datdba)) FROM pg_database d WHERE d.datname = current_database() "
    "  AND pg_has_role(current_user, d.datdba, 'MEMBER') "
    "UNION ALL SELECT format('may %s %s', p.priv, rel.name) FROM rel, "
    "  unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p(priv) "
    "  WHERE has_table_privilege(rel.oid, p.priv) "
    "  AND NOT (p.priv = 'INSERT' AND rel.kind IN ('audit', 'token', 'membership')) "
    "  AND NOT (p.priv = 'DELETE' AND rel.kind = 'membership') "
    "UNION ALL SELECT format('may %s the partition %s', p.priv, parts.name) FROM parts, "
    "  unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p(priv) "
    "  WHERE has_table_privilege(parts.oid, p.priv) "

    "UNION ALL SELECT format('may UPDATE %s.%s', rel.name, a.attname) FROM rel "
    "  JOIN pg_attribute a ON a.attrelid = rel.oid WHERE rel.kind = 'token' "
    "  AND a.attnum > 0 AND NOT a.attisdropped "
    "  AND (rel.name, a.attname::text) NOT IN (SELECT name, col FROM cols) "
    "  AND NOT has_table_privilege(rel.oid, 'UPDATE') "
    "  AND has_column_privilege(rel.oid, a.attnum, 'UPDATE') "
    "UNION ALL SELECT format('may CREATE in schema %s', n.nspname) FROM pg_namespace n "
    "  WHERE n.oid = (SELECT relnamespace FROM rel WHERE name = 'audit_event') "
    "  AND has_schema_privilege(n.oid, 'CREATE') "
    "UNION ALL SELECT format('may CREATE schemas in the database %s', current_database()) "
    "  WHERE has_database_privilege(current_database(), 'CREATE') "
    "UNION ALL SELECT format('is a member of %s, which writes the server''s files', r.rolname) "
    "  FROM pg_roles r WHERE r.rolname IN ('pg_write_server_files', 'pg_execute_server_program') "
    "  AND pg_has_role(current_user, r.oid, 'MEMBER') "
    /* in a fixed order, the audit log's INSERTs first: the list is cut at
     * AUD_ROLE_MAX_PROBLEMS, and those say most plainly what is wrong */
    "UNION ALL (SELECT format('lacks %s on %s (is it a member of hubgate_gateway?)', p.priv, "
    "  rel.name) FROM rel, unnest(ARRAY['SELECT', 'INSERT']) p(priv) "
    "  WHERE rel.kind IN ('audit', 'token', 'membership') "
    "  AND NOT has_table_privilege(rel.oid, p.priv) "
    "  ORDER BY p.priv, rel.kind <> 'audit', rel.name) "
    "UNION ALL SELECT format('lacks SELECT on %s (is it a member of hubgate_gateway?)', rel.name) "
    "  FROM rel WHERE rel.kind = 'readonly' AND NOT has_table_privilege(rel.oid, 'SELECT') "
    "UNION ALL SELECT 'lacks EXECUTE on hubgate_audit_partitions (is it a member of "
    "hubgate_gateway?)' FROM fn WHERE NOT has_function_privilege(fn.oid, 'EXECUTE') "
    "UNION ALL SELECT format('lacks UPDATE (%s) on %s (is it a member of hubgate_gateway?)', "
    "  cols.col, rel.name) FROM cols JOIN rel USING (name) JOIN pg_attribute a "
    "  ON a.attrelid = rel.oid AND a.attname = cols.col "
    "  WHERE NOT has_column_privilege(rel.oid, a.attnum, 'UPDATE')";

int aud_role_check_gateway(PGconn *db, char *role, size_t rolelen, char *problems,
                           size_t problemslen)
{
    int rc = 0;
    size_t used = 0, count = 0;
    problems[0] = '\0';
    PGresult *res = PQexec(db, "SELECT current_user, rolsuper, to_regclass('audit_event') IS "
                               "NOT NULL FROM pg_roles WHERE rolname = current_user");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        aud_db_oneline(problems, problemslen,
                       "reading the database role: ", PQresultErrorMessage(res));
        rc = CMN_ERR_DB;
        goto out;
    }
    snprintf(role, rolelen, "%s", PQgetvalue(res, 0, 0));
    if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
        snprintf(problems, problemslen, "is a superuser");
        rc = CMN_ERR_DENIED;
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
        snprintf(problems, problemslen,
                 "the database is not migrated (no table audit_event in its search_path): run "
                 "hubgate db migrate");
        rc = CMN_ERR_NOTFOUND;
        goto out;
    }
    PQclear(res);
    res = PQexec(db, check_sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        aud_db_oneline(problems, problemslen,
                       "checking the database role: ", PQresultErrorMessage(res));
        rc = CMN_ERR_DB;
        goto out;
    }
    for (int i = 0; i < PQntuples(res) && count < AUD_ROLE_MAX_PROBLEMS; i++, count++) {
        int n = snprintf(problems + used, problemslen - used, "%s%s", used ? "\n" : "",
                         PQgetvalue(res, i, 0));
        if (n < 0 || (size_t)n >= problemslen - used)
            break;
        used += (size_t)n;
    }
    rc = PQntuples(res) ? CMN_ERR_DENIED : 0;
out:
    PQclear(res);
    return rc;
}
