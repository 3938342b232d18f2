/* What every hubgate subcommand parses its arguments with. */
#ifndef HUBGATE_GATEWAY_CLI_H
#define HUBGATE_GATEWAY_CLI_H

/* 1 for "--help", "-h" or "help". */
int gw_cli_is_help(const char *arg);

/* Matches argv[*i] against "--name VALUE" or "--name=VALUE". Returns 1 (and advances *i past
 * the value), 0 when argv[*i] is another argument, or -1 when the value is missing: then one
 * line "hubgate <command>: --name needs a value" is printed on stderr. */
int gw_cli_take_option(int argc, char **argv, int *i, const char *name, const char *command,
                       const char **value);

#endif
