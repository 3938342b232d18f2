#include "gateway/authz/authz.h"
#include "common/err.h"
#include "gateway/authz/route_policy.h"
#include "gateway/route/decode.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void gw_authz_subject(const gw_identity_t *id, pol_subject_t *out)
{
    *out = (pol_subject_t){
        .iss = id->iss,
        .sub = id->sub,
        /* An email the IdP did not verify (anyone can put any address on an account that is
         * not checked) grants nothing, but still brings deny rules that name it, and is
         * recorded in audit events. */
        .email = id->email,
        .preferred_username = id->preferred_username,
        .groups = (const char *const *)id->groups,
        .ngroups = id->ngroups,
        .mfa = id->mfa ? 1 : 0,
        .read_only_token = id->read_only ? 1 : 0,
        .anonymous = id->kind == GW_ID_ANONYMOUS,
        .email_unverified = id->email && !id->email_verified,
    };
}

int gw_authz_decide(const pol_policy_t *p, const gw_identity_t *id, const gw_route_t *route,
                    const char *body, size_t body_len, const char *client_ip, pol_decision_t *d)
{
    pol_subject_t s;
    pol_request_t r;
    gw_authz_subject(id, &s);
    if (gw_route_policy_request(route, &r) != 0) {
        memset(d, 0, sizeof(*d));
        d->effect = POL_DENY;
        d->answer = POL_ANSWER_FORBIDDEN;
        d->rule = "unrepresentable-request";
        snprintf(d->reason, sizeof(d->reason), "this request names more than hubgate can check");
        d->target = -1;
        return CMN_ERR_INVAL;
    }
    /* A create may say where the repo is to live; residency is judged on it. */
    json_t *doc = NULL;
    char region[64] = "";
    if (route->family == GW_FAMILY_REPO_CREATE && body && body_len) {
        doc = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
        const char *v = json_string_value(json_object_get(doc, "region"));
        if (v && strlen(v) < sizeof(region)) {
            snprintf(region, sizeof(region), "%s", v);
            r.region = region;
        }
        json_decref(doc);
    }
    pol_ip_t ip;
    int have_ip = client_ip && pol_ip_parse(client_ip, &ip) == 0;
    pol_decide(p, &s, &r, have_ip ? &ip : NULL, time(NULL), d);
    return 0;
}

const char *gw_authz_denial_class(const pol_decision_t *d)
{
    static const struct {
        const char *rule, *cls;
    } fixed[] = {
        {"default-deny", "not_member"},       {"anonymous", "anonymous"},
        {"unknown-route", "unknown_route"},   {"token-scope", "token_scope"},
        {"caller-namespace", "caller_namespace"}, {"no-target", "no_target"},
        {"too-many-groups", "too_many_groups"}, {"external", "external"},
        {"personal_namespaces", "personal_namespace"}, {"authenticated", "authenticated"},
    };
    const char *r = d->rule ? d->rule : "";
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (strcmp(r, fixed[i].rule) == 0)
            return fixed[i].cls;
    }
    if (strncmp(r, "rules[", 6) == 0)
        return "rule";
    if (strncmp(r, "orgs.", 5) == 0) {
        if (strstr(r, ".require."))
            return "condition";
        size_t n = strlen(r);
        if (n >= 8 && strcmp(r + n - 8, ".regions") == 0)
            return "region";
        return d->answer == POL_ANSWER_FORBIDDEN ? "role" : "not_member";
    }
    return "other";
}

int gw_authz_listing_regions(const pol_policy_t *p, const char *target, size_t len,
                             cmn_arena_t *arena, const char *const **regions, size_t *n)
{
    gw_route_target_t t;
    gw_route_reject_t why;
    const char *owner = NULL;
    size_t count = 0;
    if (gw_route_target_parse(target, len, arena, &t, &why) != 0 ||
        gw_route_query_get(&t, "author", arena, &owner, &count) != 0 || count != 1 ||
        !gw_route_repo_segment_valid(owner))
        return 0; /* no single owner the Hub would accept: every region's hub is asked */
    *n = pol_namespace_regions(p, owner, regions);
    return 1;
}
