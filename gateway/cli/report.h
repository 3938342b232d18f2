/* `hubgate report …`: evidence reports for auditors (docs/evidence-format.md). */
#ifndef HUBGATE_GATEWAY_CLI_REPORT_H
#define HUBGATE_GATEWAY_CLI_REPORT_H

/* Runs `hubgate report SUBCOMMAND ARGS…`; argv[0] is the subcommand (main passes argc - 2,
 * argv + 2). Subcommands: soc2 (returns 0 the report directory was written; 1 it could not be:
 * one line on stderr says what and where; 2 bad usage) and verify (gw_cli_report_verify).
 * Blocks (network, disk). */
int gw_cli_report(int argc, char **argv);

#endif
