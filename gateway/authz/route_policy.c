#include "gateway/authz/route_policy.h"
#include "common/err.h"
#include "gateway/http/report_query.h"

#include <stdio.h>
#include <string.h>

static pol_repo_type_t repo_type(gw_repo_type_t t)
{
    switch (t) {
    case GW_REPO_MODEL:
        return POL_REPO_MODEL;
    case GW_REPO_DATASET:
        return POL_REPO_DATASET;
    case GW_REPO_SPACE:
        return POL_REPO_SPACE;
    case GW_REPO_KERNEL:
        return POL_REPO_KERNEL;
    case GW_REPO_BUCKET:
        return POL_REPO_BUCKET;
    case GW_REPO_NONE:
        break;
    }
    return POL_REPO_NONE;
}

static pol_action_t action(gw_action_t a)
{
    switch (a) {
    case GW_ACTION_READ:
        return POL_ACTION_READ;
    case GW_ACTION_WRITE:
        return POL_ACTION_WRITE;
    case GW_ACTION_CREATE:
        return POL_ACTION_CREATE;
    case GW_ACTION_DELETE:
        return POL_ACTION_DELETE;
    case GW_ACTION_ADMIN:
        return POL_ACTION_ADMIN;
    case GW_ACTION_NONE:
        break;
    }
    return POL_ACTION_NONE;
}

int gw_route_policy_request(const gw_route_t *route, pol_request_t *out)
{
    memset(out, 0, sizeof(*out));
    if (route->needs_body || route->reject != GW_REJECT_NONE)
        return CMN_ERR_INVAL;
    out->action = action(route->action);
    if (route->family == GW_FAMILY_UNKNOWN) {
        out->unknown = 1;
        return 0;
    }
    if (!route->name && route->namespace && route->namespace[0] && out->action != POL_ACTION_NONE) {
        out->targets[out->ntargets++] = (pol_target_t){
            .type = POL_REPO_NONE, .namespace = route->namespace, .action = out->action};
    }
    gw_action_t highest = GW_ACTION_NONE;
    for (size_t i = 0; i < route->nrepos; i++) {
        const gw_route_repo_t *r = &route->repos[i];
        if (r->action == GW_ACTION_NONE)
            continue;
        if (out->ntargets == POL_MAX_TARGETS)
            return CMN_ERR_TOOBIG;
        out->targets[out->ntargets++] =
            (pol_target_t){.type = repo_type(r->type),
                           .namespace = r->namespace ? r->namespace : "",
                           .name = r->name,
                           .action = action(r->action),
                           .caller_namespace = r->caller_namespace};
        if (r->action > highest)
            highest = r->action;
    }
    /* A headline above every pair (a move: delete + create, headline admin) is decided too, on
     * the route's own repo, so that rules and conditions on that action see the route. */
    if (route->name && highest != GW_ACTION_NONE && route->action > highest) {
        if (out->ntargets == POL_MAX_TARGETS)
            return CMN_ERR_TOOBIG;
        out->targets[out->ntargets++] = (pol_target_t){.type = repo_type(route->repo_type),
                                                       .namespace = route->namespace,
                                                       .name = route->name,
                                                       .action = out->action};
    }
    return 0;
}

int gw_route_policy_classify(void *ctx, const char *method, const char *target, const char *body,
                           size_t body_len, const char *content_type, cmn_arena_t *arena,
                           pol_request_t *out, char *err, size_t errlen)
{
    gw_route_t *keep = ctx; /* explain shows the route; tests pass NULL */
    gw_route_t route;
    int rc = gw_route_classify(method, target, strlen(target), body, body_len, content_type, arena,
                               &route);
    if (rc != 0) {
        if (route.reject != GW_REJECT_NONE)
            snprintf(err, errlen, "the gateway answers %u before any policy: %s",
                     gw_route_reject_status(route.reject), gw_route_reject_message(route.reject));
        else
            snprintf(err, errlen, "%s", cmn_err_str(rc));
        return -1;
    }
    if (route.family == GW_FAMILY_ADMIN && route.admin == GW_ADMIN_REPORT_SOC2) {
        /* Report exports are the policy's to decide (auditors): from its org= alone. */
        gw_report_query_t q;
        char problem[384];
        if (strcmp(method, "GET") != 0) {
            snprintf(err, errlen, "reports are exported with GET only");
            return -1;
        }
        if (gw_report_query_parse(target, strlen(target), arena, &q, problem, sizeof(problem)) !=
            0) {
            snprintf(err, errlen, "the gateway answers 400: %s", problem);
            return -1;
        }
        if (keep)
            *keep = route;
        memset(out, 0, sizeof(*out));
        out->report = 1;
        out->report_org = q.org;
        return 0;
    }
    if (route.family == GW_FAMILY_ADMIN) {
        snprintf(err, errlen,
                 "hubgate's own /-/ routes are answered by the gateway, not "
                 "decided by the policy");
        return -1;
    }
    if (keep)
        *keep = route;
    rc = gw_route_policy_request(&route, out);
    if (rc != 0) {
        snprintf(err, errlen, "the route names more than %d repos", POL_MAX_TARGETS);
        return -1;
    }
    return 0;
}
