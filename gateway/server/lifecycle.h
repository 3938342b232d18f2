/* The audit events of the gateway's own life (docs/audit.md): gateway.started and
 * gateway.stopped (who started or stopped it, as whom it runs), policy.loaded and
 * policy.rejected (with the file's SHA-256 and its git provenance), keys.changed. */
#ifndef HUBGATE_GATEWAY_SERVER_LIFECYCLE_H
#define HUBGATE_GATEWAY_SERVER_LIFECYCLE_H

#include <sys/types.h>

#include "audit/event.h"
#include "gateway/authz/policies.h"
#include "gateway/server/request-t.h"

/* What stopped the gateway, for gateway.stopped. */
typedef struct {
    const char *trigger; /* "sigterm", "sigint", "database_role_unfit" */
    int from_process;    /* a process sent the signal: */
    pid_t sender_pid;
    uid_t sender_uid;
} gw_stop_cause_t;

/* gateway.started (stop NULL) or gateway.stopped (stop says why; waited for: the last word). */
void gw_lifecycle_event(gw_server_t *srv, aud_kind_t kind, const gw_stop_cause_t *stop);

/* The policy callback of gw_policies_start (ctx: the gw_server_t). A load is a privileged
 * change: its event is made durable before the policy decides anything, and the load is
 * refused (non-zero) when it cannot be; a rejection is noted without waiting. Runs on the
 * thread that reads the policy, never a request's. */
int gw_lifecycle_policy_event(void *ctx, const gw_policy_event_t *pe);

/* The JWKS callback of gw_jwks_start (ctx: the gw_server_t): an issuer's keys changed. */
void gw_lifecycle_keys_changed(void *ctx, const char *issuer, const char *summary,
                               const char *trigger);

#endif
