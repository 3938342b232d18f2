/* `hubgate report verify` (docs/evidence-format.md). */
#ifndef HUBGATE_GATEWAY_CLI_REPORT_VERIFY_H
#define HUBGATE_GATEWAY_CLI_REPORT_VERIFY_H

/* Runs `hubgate report verify DIR --pubkey FILE... [--checkpoint FILE...] [--json]`; argv[0]
 * is "verify" (the caller passes the arguments after "report"). Returns the exit status: 0
 * everything holds; 1 a problem was found (the first of each kind is printed: file, line,
 * stream, seq); 2 bad usage; 3 the verification could not run (DIR unreadable, a key or
 * checkpoint file unreadable). Blocks (disk). */
int gw_cli_report_verify(int argc, char **argv);

#endif
