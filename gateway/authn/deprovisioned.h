/* The people a SCIM directory deactivated or deleted (docs/sign-in.md, "Deprovisioning"), as a
 * set every gateway holds in memory and checks on every authentication: an SSO token of theirs
 * is refused even while it is valid and cached, and so is a hubgate token of theirs (the
 * database revoked those; this closes the window until every cache noticed). The set is
 * reloaded by a thread when the directory's version changes (polled every
 * GW_DEPROVISIONED_POLL_MS, so within a second on every instance), and at once on the instance
 * that made the change (gw_deprovisioned_reload). */
#ifndef HUBGATE_GATEWAY_AUTHN_DEPROVISIONED_H
#define HUBGATE_GATEWAY_AUTHN_DEPROVISIONED_H

#include "gateway/authn/identity.h"
#include "gateway/authn/store.h"

#define GW_DEPROVISIONED_POLL_MS 500

typedef struct gw_deprovisioned gw_deprovisioned_t;

/* Starts the reload thread over store's database. NULL when out of memory. The first load runs
 * before it returns (a failure is logged and retried by the thread). */
gw_deprovisioned_t *gw_deprovisioned_start(gw_store_t *store);

/* Stops the thread and frees the set. Accepts NULL. */
void gw_deprovisioned_stop(gw_deprovisioned_t *d);

/* 1 when the directory deprovisioned the person `id` is: tied by its sub (the directory's
 * externalId) or its verified email (userName); 0 when not; -1 when the directory was never
 * read (the database away since the start): the caller refuses, as it cannot tell. Never
 * blocks beyond a mutex. NULL d (no SCIM): 0. */
int gw_deprovisioned_refuses(gw_deprovisioned_t *d, const gw_identity_t *id);

/* Reloads now (blocks on the database). 0 or CMN_ERR_DB. */
int gw_deprovisioned_reload(gw_deprovisioned_t *d);

#endif
