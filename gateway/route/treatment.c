/* How each route family is served (gateway/route/route.h, gw_treatment_t). The routes that name no
 * repo are the ones that matter here: the upstream answers them for whoever the credential
 * names, and hubgate's credential names its service account. docs/routes.md is the same table
 * for people; keep them together. */

#include "gateway/route/treatment.h"

#include <stddef.h>

static const struct {
    gw_family_t family;
    gw_treatment_t treatment;
    const char *why;
} table[] = {
    /* answered by hubgate */
    {GW_FAMILY_ADMIN, GW_TREAT_LOCAL, "hubgate's own route"},
    {GW_FAMILY_WHOAMI, GW_TREAT_LOCAL,
     "answered from the caller's identity: the hub would describe the service account"},
    {GW_FAMILY_SCIM, GW_TREAT_LOCAL,
     "SCIM provisioning is hubgate's own (docs/sign-in.md): the directory's people and groups"},
    {GW_FAMILY_TELEMETRY, GW_TREAT_LOCAL,
     "accepted and dropped by hubgate, as the hub would answer it: usage pings about the caller "
     "are not the service account's to send"},
    /* filtered */
    {GW_FAMILY_LIST_REPOS, GW_TREAT_FILTER,
     "the service account sees more repos than any caller may: the listing keeps the repos the "
     "caller may read"},
    {GW_FAMILY_COLLECTION, GW_TREAT_FILTER,
     "collections show repos the service account sees: only collections whose owner the caller "
     "may read are kept, and in them only items the caller may read"},
    /* forwarded without a credential */
    {GW_FAMILY_CATALOG, GW_TREAT_PUBLIC, "a public catalog, the same for everyone"},
    {GW_FAMILY_PAPERS, GW_TREAT_PUBLIC, "public paper pages, the same for everyone"},
    {GW_FAMILY_MISC, GW_TREAT_PUBLIC,
     "public data (agent harnesses) or a check of the request's own content (validate-yaml)"},
    {GW_FAMILY_ORG_INFO, GW_TREAT_PUBLIC,
     "an organization's public face: what anyone sees, not what its admin (the service "
     "account) sees"},
    {GW_FAMILY_USER_INFO, GW_TREAT_PUBLIC, "a user's public profile: what anyone sees"},
    /* refused */
    {GW_FAMILY_OAUTH, GW_TREAT_DENY,
     "hubgate does not forward the hub's OAuth endpoints: sign in with your organization's SSO "
     "and use a hubgate token (/-/tokens)"},
    {GW_FAMILY_CREDENTIALS_REVOKE, GW_TREAT_DENY,
     "hubgate does not forward credential revocation: revoke hubgate tokens at /-/tokens, and "
     "report other leaked tokens to the hub directly"},
    {GW_FAMILY_ORG_ADMIN, GW_TREAT_DENY,
     "organization administration on the hub is not available through hubgate: the hub would "
     "answer its service account, not you"},
    {GW_FAMILY_ACCOUNT_REPOS, GW_TREAT_DENY,
     "account settings are not available through hubgate: the hub would answer for its "
     "service account, not for you"},
    {GW_FAMILY_WEBHOOKS, GW_TREAT_DENY,
     "account webhooks are not available through hubgate: they belong to its service account"},
    {GW_FAMILY_JOBS, GW_TREAT_DENY,
     "hub jobs are not available through hubgate: they would run and be billed as its service "
     "account"},
};

gw_treatment_t gw_route_treatment(const gw_route_t *route, const char **why)
{
    for (size_t i = 0; route && i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].family == route->family) {
            if (why)
                *why = table[i].why;
            return table[i].treatment;
        }
    }
    if (why)
        *why = "names the repos it acts on: the policy decides";
    return GW_TREAT_POLICY;
}

const char *gw_route_treatment_name(gw_treatment_t treatment)
{
    static const char *const names[] = {"policy", "local", "filter", "public", "deny"};
    return (unsigned)treatment < sizeof(names) / sizeof(names[0]) ? names[treatment] : "?";
}

int gw_route_is_hubgate_own(const gw_route_t *route)
{
    return route->family == GW_FAMILY_ADMIN || route->family == GW_FAMILY_OAUTH ||
           route->family == GW_FAMILY_SCIM;
}

int gw_route_admin_is_public(gw_admin_route_t admin)
{
    return admin == GW_ADMIN_HEALTH || admin == GW_ADMIN_READY || admin == GW_ADMIN_METRICS ||
           admin == GW_ADMIN_JWKS || admin == GW_ADMIN_XET_TELEMETRY || admin == GW_ADMIN_LOGIN ||
           admin == GW_ADMIN_LOGIN_CALLBACK || admin == GW_ADMIN_DEVICE ||
           admin == GW_ADMIN_OAUTH_TOKEN;
}
