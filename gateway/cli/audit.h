/* `hubgate keygen` and `hubgate audit …` (docs/audit.md, docs/evidence-format.md). */
#ifndef HUBGATE_GATEWAY_CLI_AUDIT_H
#define HUBGATE_GATEWAY_CLI_AUDIT_H

/* Runs `hubgate keygen --out FILE [--pubout FILE] [--force]`; argv[0] is the first argument
 * after "keygen" (main passes argc - 2, argv + 2). Writes a new Ed25519 private key (PEM,
 * PKCS#8, mode 0600, through a temporary file and a rename) and prints its key id and public
 * key. Returns the exit status: 0 done; 1 the key could not be written (FILE exists without
 * --force, folder not writable); 2 bad usage. Blocks (disk). */
int gw_cli_keygen(int argc, char **argv);

/* Runs `hubgate audit SUBCOMMAND ARGS…`; argv[0] is the subcommand (main passes argc - 2,
 * argv + 2). Subcommands: verify, keys, checkpoints, archive (audit/archive.h: exit 0 done, 1
 * refused or failed with nothing detached, 2 bad usage) and retire (audit_retire.h). verify
 * returns the exit status: 0 every chain and signature holds;
 * 1 verification found a problem (first one: stream, seq, kind); 2 bad usage; 3 the
 * verification could not run (database unreachable, unreadable key or checkpoint file).
 * Blocks (network, disk). */
int gw_cli_audit(int argc, char **argv);

#endif
