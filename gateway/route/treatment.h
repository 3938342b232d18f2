/* How each route family is served (docs/routes.md): decided by the policy, answered by
 * hubgate, filtered, forwarded without a credential, or refused. */
#ifndef HUBGATE_GATEWAY_ROUTE_TREATMENT_H
#define HUBGATE_GATEWAY_ROUTE_TREATMENT_H

#include "gateway/route/route-t.h"

/* The treatment of a classified route, by its family. When
 * why is not NULL it receives a static sentence: for GW_TREAT_DENY the message answered to the
 * client, otherwise why the route is served so. Pure. */
gw_treatment_t gw_route_treatment(const gw_route_t *route, const char **why);

/* "policy", "local", "filter", "public", "deny"; "?" out of range. */
const char *gw_route_treatment_name(gw_treatment_t treatment);

/* hubgate's own routes answered without authenticating the caller (health, readiness, metrics,
 * keys): they carry no identity, and are not audited. */
int gw_route_admin_is_public(gw_admin_route_t admin);

/* 1 for routes hubgate owns and authenticates on its own terms, before any Hub route logic:
 * its /-/ routes, and everything under /oauth/ and /scim/ (sign-in and provisioning; never
 * forwarded to the hub). Pure. */
int gw_route_is_hubgate_own(const gw_route_t *route);

#endif
