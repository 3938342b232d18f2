/* `hubgate audit retire`: the last word of a stream whose instance is gone for good
 * (audit/retire.h). */
#ifndef HUBGATE_GATEWAY_CLI_AUDIT_RETIRE_H
#define HUBGATE_GATEWAY_CLI_AUDIT_RETIRE_H

/* argv[0] is "retire"; returns the exit status: 0 retired; 1 refused or failed (the reason on
 * stderr; nothing retired, but for a checkpoint file that could not be appended to); 2 bad
 * usage. Blocks (network, disk). */
int gw_cli_audit_retire(int argc, char **argv);

#endif
