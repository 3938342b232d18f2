/* `hubgate policy …`: the admin's tools for editing a policy safely (docs/policy.md): check,
 * test, explain, diff. */
#ifndef HUBGATE_GATEWAY_CLI_POLICY_H
#define HUBGATE_GATEWAY_CLI_POLICY_H

/* Runs `hubgate policy SUBCOMMAND ARGS…`; argv[0] is the subcommand (main passes argc - 2,
 * argv + 2). Prints to stdout/stderr. Returns the exit status: 0 success; 1 an invalid
 * policy, a failing embedded test, or (diff) access changes found; 2 bad usage or unreadable
 * input. Blocks (reads files). */
int gw_cli_policy(int argc, char **argv);

#endif
