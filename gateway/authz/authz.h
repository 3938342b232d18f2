/* The decision for one request (docs/policy.md): the caller as the policy's subject, the route
 * as its request, and a denial's class for metrics. The policy generation it is asked of comes
 * from authz/policies.h. */
#ifndef HUBGATE_GATEWAY_AUTHZ_AUTHZ_H
#define HUBGATE_GATEWAY_AUTHZ_AUTHZ_H

#include <stddef.h>

#include "gateway/authn/identity.h"
#include "gateway/route/route.h"
#include "policy/policy.h"

/* The policy subject for an identity (strings borrowed). An email the IdP did not verify
 * (id->email_verified) is marked so: it matches no policy `email` member or allow rule, only
 * deny rules. */
void gw_authz_subject(const gw_identity_t *id, pol_subject_t *out);

/* Decides a classified request. body/body_len: the request body when the gateway read it (for
 * a create's "region"), else NULL. client_ip may be NULL. Returns 0, or CMN_ERR_INVAL when the
 * route cannot be expressed to the policy (then *d is a deny). */
int gw_authz_decide(const pol_policy_t *p, const gw_identity_t *id, const gw_route_t *route,
                    const char *body, size_t body_len, const char *client_ip,
                    pol_decision_t *d);

/* A denial's reason class, for metrics: one of a fixed set of static strings ("rule",
 * "condition", "region", "not_member", "token_scope", "anonymous", "unknown_route", ...), never
 * an org or rule name. */
const char *gw_authz_denial_class(const pol_decision_t *d);

/* Where a repo listing goes. Scoped to one owner (`?author=NS`, as clients list an org's
 * repos): returns 1 with that namespace's regions (its org's `regions`, else the default region;
 * the policy's strings). Naming no single owner the Hub would accept: returns 0, and every
 * region's hub is asked (forward/fanout.h). The query is read into arena. */
int gw_authz_listing_regions(const pol_policy_t *p, const char *target, size_t len,
                             cmn_arena_t *arena, const char *const **regions, size_t *n);

#endif
