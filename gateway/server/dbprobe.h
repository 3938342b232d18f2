/* The database prober: whether PostgreSQL answers (/-/ready), probed every few seconds off the
 * request threads, and whether the gateway's database role is fit to write the audit log — a
 * role that could change what the log holds must not write it (docs/database.md). */
#ifndef HUBGATE_GATEWAY_SERVER_DBPROBE_H
#define HUBGATE_GATEWAY_SERVER_DBPROBE_H

#include "gateway/config/config.h"
#include "gateway/server/request-t.h"

typedef struct gw_dbprobe gw_dbprobe_t;

/* Checks the config's database role now. Returns 1 fit, 0 unfit (every problem and the fix
 * logged), -1 when the database could not be asked (logged as an error when
 * unreachable_is_error, else as a warning). Blocks (one connection). */
int gw_dbprobe_check_role(const gw_config_t *cfg, int unreachable_is_error);

/* Starts the prober thread, which keeps srv->db_reachable current and, when the role is not yet
 * checked (role_checked 0: the database was away at the start), checks it once the database
 * answers — unfit, it sends the process SIGTERM. NULL when the thread cannot start. */
gw_dbprobe_t *gw_dbprobe_start(gw_server_t *srv, int role_checked);

/* 1 when the prober found the role unfit (the stop it caused is that one). Accepts NULL. */
int gw_dbprobe_unfit(gw_dbprobe_t *p);

/* Stops and joins the thread, and frees p. Accepts NULL. Blocks for at most one probe. */
void gw_dbprobe_stop(gw_dbprobe_t *p);

#endif
