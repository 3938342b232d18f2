/* `hubgate serve`: the HTTP front (libmicrohttpd) and the gateway's lifecycle. */
#ifndef HUBGATE_GATEWAY_SERVE_H
#define HUBGATE_GATEWAY_SERVE_H

#include "gateway/config/config.h"
#include "gateway/limits.h"

/* Runs the gateway until SIGINT or SIGTERM. Takes ownership of nothing; cfg must outlive the
 * call. Returns a process exit code (0 after a clean stop). Blocks. */
int gw_serve_run(const gw_config_t *cfg);

/* Checks what `serve` would load (config already parsed: the policy file it names) and
 * prints problems to stderr. Returns 0 when everything is valid, 1 otherwise. Blocks. */
int gw_serve_check(const gw_config_t *cfg);

#endif
