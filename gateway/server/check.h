/* What `hubgate serve --check` checks beyond the config and the policy: every secret file the
 * config names, loaded as `serve` would load it, with the same refusals (a mode letting group
 * or others in, bad content). */
#ifndef HUBGATE_GATEWAY_SERVER_CHECK_H
#define HUBGATE_GATEWAY_SERVER_CHECK_H

#include "common/buf.h"
#include "gateway/config/config.h"

/* Reads a PEM file into out (initialised here; free it); a private key (secret) must be
 * private to its owner (cmn_secret_read). Returns 0, or a cmn_err_t with the reason logged.
 * Blocks. */
int gw_check_read_pem(const char *path, int secret, cmn_buf_t *out);

/* Loads the egress keys (current and previous), the audit signing key, the assertion key and
 * the keys published beside it, and the TLS certificate and key the config names (at start,
 * `serve --check`, and SIGHUP before it changes anything). Returns 0 when all are fit, 1 otherwise
 * (each problem logged). Region token files were read with the config. Blocks. */
int gw_check_secret_files(const gw_config_t *cfg);

#endif
