/* The database roles a deployment logs in with (schema/005_least_privilege.sql has the layout).
 *
 * hubgate_gateway and hubgate_auditor are NOLOGIN groups; each gateway and each auditor logs in
 * with a role of its own that is a member of one of them and holds nothing else.
 * aud_role_create makes such a role; aud_role_check_gateway tells whether the role a gateway
 * connects as could change what the audit log holds, so that `serve` refuses to run with it. */
#ifndef HUBGATE_AUDIT_ROLE_H
#define HUBGATE_AUDIT_ROLE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "audit/limits.h"


typedef enum { AUD_ROLE_GATEWAY, AUD_ROLE_AUDITOR } aud_role_kind_t;

/* "gateway" / "auditor" → the kind; -1 for anything else. */
int aud_role_kind_parse(const char *s);

/* 1 when `name` is a login role name hubgate may create (see AUD_ROLE_MAX_NAME). */
int aud_role_name_ok(const char *name);

/* Creates the login role `name` as a member of hubgate_gateway or hubgate_auditor and nothing
 * else: LOGIN INHERIT, no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS. With a
 * password (NULL: none; the server's pg_hba decides how it authenticates), only its SCRAM
 * verifier, computed here, is sent: the password never appears in a statement the server could
 * log. `db` is an administrator's connection (a superuser or a role with CREATEROLE) to a
 * migrated database. Returns 0; CMN_ERR_INVAL (bad name), CMN_ERR_CONFLICT (the role exists),
 * CMN_ERR_NOTFOUND (hubgate's groups are missing: not migrated) or CMN_ERR_DB, with a one-line
 * reason in err. Blocks. */
int aud_role_create(PGconn *db, aud_role_kind_t kind, const char *name, const char *password,
                    char *err, size_t errlen);

/* Checks the role `db` is connected as, for a gateway. Refused, each with a line in `problems`
 * (one problem per line, none of them ending in a newline; at most AUD_ROLE_MAX_PROBLEMS):
 * a superuser; CREATEROLE (it could join hubgate_owner); membership in hubgate_owner, in the
 * role owning any of hubgate's tables or its trigger function, the schema holding them or the
 * database; any privilege on those tables beyond the gateway's (UPDATE, DELETE, TRUNCATE,
 * REFERENCES, TRIGGER; UPDATE of an access_token column other than revoked_at; writing
 * schema_migration); CREATE on the schema or the database; pg_write_server_files or
 * pg_execute_server_program (which write the server's files); and lacking what the gateway
 * needs (SELECT and INSERT on the audit tables and access_token, UPDATE (revoked_at)). Returns 0
 * when the role is fit, CMN_ERR_DENIED with the problems, CMN_ERR_NOTFOUND when the database
 * is not migrated, CMN_ERR_DB (reason in problems). `role` receives the role's name. Blocks. */
int aud_role_check_gateway(PGconn *db, char *role, size_t rolelen, char *problems,
                           size_t problemslen);

#endif
