#include "gateway/cli/db.h"
#include "audit/db.h"
#include "audit/migrate.h"
#include "audit/role.h"

#include "common/secret.h"
#include "gateway/cli/cli.h"

#include <stdio.h>
#include <string.h>

/* A password file holds one line; this is far more than any password manager generates. */
#define PASSWORD_FILE_MAX 1024

static const char usage_db[] =
    "Usage: hubgate db migrate --database URL\n"
    "       hubgate db role create --database URL --kind gateway|auditor --name NAME\n"
    "                              [--password-file FILE]\n"
    "\n"
    "migrate applies the schema migrations this hubgate carries (schema/NNN_*.sql) that the\n"
    "database lacks, each in its own transaction, and records them in schema_migration.\n"
    "Running it again changes nothing. It refuses a database holding a migration it does not\n"
    "know.\n"
    "\n"
    "The roles (created by migrate, none of them can log in):\n"
    "  hubgate_owner     owns the tables; it has no member outside a migration, so no login\n"
    "                    role can disable the audit log's triggers or drop its tables\n"
    "  hubgate_migrator  the login roles that run migrate without being superusers; it holds\n"
    "                    hubgate_owner only while a migration runs\n"
    "  hubgate_gateway   what a gateway's login role is a member of: SELECT and INSERT on the\n"
    "                    audit tables, access_token and login_session; UPDATE of\n"
    "                    access_token (revoked_at, last_used_at) and login_session\n"
    "                    (last_seen_at, ended_at, ended_reason); EXECUTE on\n"
    "                    hubgate_audit_partitions() (makes audit_event's monthly partitions\n"
    "                    ahead, as hubgate_owner; nothing else)\n"
    "  hubgate_auditor   what an auditor's login role is a member of: SELECT\n"
    "\n"
    "Run migrate as a superuser, or as a login role with CREATEROLE that owns the database,\n"
    "created once by an administrator:\n"
    "    CREATE ROLE hubgate_admin LOGIN CREATEROLE PASSWORD '...';\n"
    "    CREATE DATABASE hubgate OWNER hubgate_admin;\n"
    "Then create a login role for each gateway and each auditor (run as the same role), and\n"
    "give the gateway's URL to `serve` (it refuses a role that could alter the audit log):\n"
    "    hubgate db role create --database URL --kind gateway --name hubgate_gw1\n"
    "    hubgate db role create --database URL --kind auditor --name audit_alice\n"
    "which is the same as, in SQL:\n"
    "    CREATE ROLE hubgate_gw1 LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE\n"
    "        NOREPLICATION NOBYPASSRLS IN ROLE hubgate_gateway PASSWORD '...';\n"
    "\n"
    "  --database URL       libpq connection URL, e.g. postgresql://hubgate_admin@db/hubgate\n"
    "  --kind KIND          gateway or auditor\n"
    "  --name NAME          the new login role: a-z 0-9 _, at most 63 characters\n"
    "  --password-file FILE its password, one line (the file must be mode 0600); without it\n"
    "                       the role has no password (certificate or peer authentication)\n";

static int db_migrate(int argc, char **argv)
{
    const char *database = NULL;
    const gw_cli_option_t opts[] = {{"--database", &database, NULL}};
    int rc = gw_cli_parse(argc, argv, 1, "db migrate", usage_db, opts, 1);
    if (rc >= 0)
        return rc;
    if (!database) {
        fprintf(stderr, "hubgate db migrate: --database URL is required\n");
        return 2;
    }
    char err[1024];
    if (aud_migrate_run(database, stdout, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubgate db migrate: %s\n", err);
        return 1;
    }
    return 0;
}

/* The password file's one line, without its newline. Returns 0, else 1 after printing why. */
static int read_password(const char *path, cmn_buf_t *b)
{
    char err[512];
    int rc = cmn_secret_read(b, path, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "hubgate db role create: %s\n", err);
        return 1;
    }
    if (b->len && b->data[b->len - 1] == '\n')
        b->data[--b->len] = '\0';
    int ok = b->len > 0 && memchr(b->data, '\0', b->len) == NULL;
    for (size_t i = 0; ok && i < b->len; i++)
        ok = b->data[i] != '\n' && b->data[i] != '\r';
    if (!ok) {
        fprintf(stderr, "hubgate db role create: %s must hold one non-empty line (the password)\n",
                path);
        return 1;
    }
    return 0;
}

static int db_role(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "create") != 0) {
        if (argc >= 2 && gw_cli_is_help(argv[1])) {
            fputs(usage_db, stdout);
            return 0;
        }
        fprintf(stderr, "hubgate db role: expected \"create\" (see hubgate db --help)\n");
        return 2;
    }
    const char *database = NULL, *kind = NULL, *name = NULL, *password_file = NULL;
    for (int i = 2; i < argc; i++) {
        if (gw_cli_is_help(argv[i])) {
            fputs(usage_db, stdout);
            return 0;
        }
        int m = gw_cli_take_option(argc, argv, &i, "--database", "db role create", &database);
        if (m == 0)
            m = gw_cli_take_option(argc, argv, &i, "--kind", "db role create", &kind);
        if (m == 0)
            m = gw_cli_take_option(argc, argv, &i, "--name", "db role create", &name);
        if (m == 0)
            m = gw_cli_take_option(argc, argv, &i, "--password-file", "db role create",
                                   &password_file);
        if (m < 0)
            return 2;
        if (m == 0) {
            fprintf(stderr, "hubgate db role create: unknown argument \"%s\"\n", argv[i]);
            return 2;
        }
    }
    if (!database || !kind || !name) {
        fprintf(stderr, "hubgate db role create: --database URL, --kind gateway|auditor and "
                        "--name NAME are required\n");
        return 2;
    }
    int k = aud_role_kind_parse(kind);
    if (k < 0) {
        fprintf(stderr,
                "hubgate db role create: --kind \"%s\" is not a kind (expected gateway or "
                "auditor)\n",
                kind);
        return 2;
    }
    if (!aud_role_name_ok(name)) {
        fprintf(stderr,
                "hubgate db role create: --name \"%s\" is not a role name hubgate creates "
                "(expected 1 to %d of a-z 0-9 _, starting with a letter or _, not pg_* and "
                "not one of hubgate's own roles)\n",
                name, AUD_ROLE_MAX_NAME);
        return 2;
    }
    int status = 1;
    cmn_buf_t password;
    cmn_buf_init(&password, PASSWORD_FILE_MAX);
    PGconn *db = NULL;
    char err[1024];
    if (password_file && read_password(password_file, &password) != 0)
        goto out;
    if (!(db = aud_db_connect(database, "hubgate db role", err, sizeof(err)))) {
        fprintf(stderr, "hubgate db role create: %s\n", err);
        goto out;
    }
    if (aud_role_create(db, (aud_role_kind_t)k, name, password_file ? password.data : NULL, err,
                        sizeof(err)) != 0) {
        fprintf(stderr, "hubgate db role create: %s\n", err);
        goto out;
    }
    printf("created login role %s, a member of %s and nothing else%s\n", name,
           k == AUD_ROLE_GATEWAY ? "hubgate_gateway" : "hubgate_auditor",
           password_file ? " (password set)" : " (no password)");
    status = 0;
out:
    PQfinish(db);
    if (password.data)
        explicit_bzero(password.data, password.cap);
    cmn_buf_free(&password);
    return status;
}

int gw_cli_db(int argc, char **argv)
{
    static const gw_cli_command_t cmds[] = {
        {"migrate", db_migrate},
        {"role", db_role},
    };
    return gw_cli_dispatch("db", usage_db, cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
