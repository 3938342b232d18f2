/* `hubgate audit keys` (the keys each stream may sign with, and what they signed) and
 * `hubgate audit checkpoints export` (a copy of the signed checkpoints for an auditor to keep). */
#ifndef HUBGATE_GATEWAY_CLI_AUDIT_KEYS_H
#define HUBGATE_GATEWAY_CLI_AUDIT_KEYS_H

/* argv[0] is the subcommand's name; returns the exit status. */
int gw_cli_audit_keys(int argc, char **argv);
int gw_cli_audit_checkpoints(int argc, char **argv);

#endif
