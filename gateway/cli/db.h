/* `hubgate db …`: the database's schema and the roles a deployment logs in with. */
#ifndef HUBGATE_GATEWAY_CLI_DB_H
#define HUBGATE_GATEWAY_CLI_DB_H

/* Runs `hubgate db SUBCOMMAND ARGS…`; argv[0] is the subcommand (main passes argc - 2,
 * argv + 2). Subcommands: migrate (audit/migrate.h), role create (audit/role.h). Returns the
 * exit status: 0 done; 1 the database refused or could not be reached (one line on stderr
 * saying why); 2 bad usage. Blocks (network, disk). */
int gw_cli_db(int argc, char **argv);

#endif
