/* The one conversion from the route classifier's output to what the policy decides
 * (pol_request_t), shared by the request pipeline, the policy's embedded tests run before a
 * reload, the report export's decision and `hubgate policy test|explain`. */
#ifndef HUBGATE_GATEWAY_AUTHZ_ROUTE_POLICY_H
#define HUBGATE_GATEWAY_AUTHZ_ROUTE_POLICY_H

#include <stddef.h>

#include "common/arena.h"
#include "gateway/route/route.h"
#include "policy/policy.h"

/* Converts a classified route (complete: not needs_body, not rejected) into the targets the
 * policy decides. A route that names a namespace but no repo (org settings, jobs, collections,
 * a user's pages) becomes a namespace target first; each (repo, action) pair of route->repos
 * follows. Strings are borrowed from the route (they live in its arena). Returns 0, or
 * CMN_ERR_INVAL for an incomplete or rejected route, or CMN_ERR_TOOBIG when it names more
 * than POL_MAX_TARGETS targets (deny). Never allocates. */
int gw_route_policy_request(const gw_route_t *route, pol_request_t *out);

/* A pol_route_fn: classifies "METHOD target" (with an optional body) with gw_route_classify
 * and converts it with gw_route_policy_request, for pol_policy_run_tests (the gateway can run a
 * new policy's embedded tests before swapping it in) and explain. ctx: NULL, or a gw_route_t
 * that receives the classified route. Returns 0, or -1 with a one-line reason in err: the
 * route is refused before any policy (400/413/414) or is one of hubgate's own /-/ routes.
 * Strings live in arena. Never blocks. */
int gw_route_policy_classify(void *ctx, const char *method, const char *target, const char *body,
                           size_t body_len, const char *content_type, cmn_arena_t *arena,
                           pol_request_t *out, char *err, size_t errlen);

#endif
