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

#include <stddef.h>

/* A subcommand: its name and what runs it (argv[0] is the name). */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} gw_cli_command_t;

/* Runs `hubgate <command> SUBCOMMAND ARGS…` (argv[0] is the subcommand): without one, the
 * usage on stderr and 2; with --help, the usage on stdout and 0; a known subcommand, what its
 * run returns; anything else, one line "hubgate <command>: unknown subcommand "x" (expected a,
 * b, c)" on stderr and 2. */
int gw_cli_dispatch(const char *command, const char *usage, const gw_cli_command_t *cmds,
                    size_t n, int argc, char **argv);

/* One option of a subcommand: "--name VALUE" (value set) or a bare flag (flag set to 1). */
typedef struct {
    const char *name;
    const char **value;
    int *flag;
} gw_cli_option_t;

/* Parses argv[from..argc) against opts. Returns -1 when every argument was an option (go on),
 * 0 after printing usage on stdout for --help (exit 0), or 2 after one line on stderr for an
 * unknown argument or a missing value (exit 2). command names the subcommand in messages
 * ("serve", "db migrate"). */
int gw_cli_parse(int argc, char **argv, int from, const char *command, const char *usage,
                 const gw_cli_option_t *opts, size_t n);

#endif
