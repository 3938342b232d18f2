#include "gateway/authn/identity.h"

#include "common/err.h"
#include "policy/policy.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(GW_MAX_GROUPS <= POL_MAX_SUBJECT_GROUPS,
               "an identity hubgate accepts must be one the policy evaluates");

static const char *dup_string(cmn_arena_t *a, const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? cmn_arena_strndup(a, s, strlen(s)) : NULL;
}

/* Follows a dot path ("realm_access.roles") through nested objects. */
static const json_t *claim_at(const json_t *claims, const char *path)
{
    const json_t *v = claims;
    char seg[128];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(seg))
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        v = json_object_get(v, seg);
        path += n + (path[n] == '.');
    }
    return v;
}

int gw_identity_from_claims(const json_t *claims, const char *iss, const char *groups_claim,
                            int email_verified_assumed, cmn_arena_t *arena, gw_identity_t *id)
{
    memset(id, 0, sizeof(*id));
    id->kind = GW_ID_SSO;
    id->iss = iss ? cmn_arena_strndup(arena, iss, strlen(iss)) : NULL;
    id->sub = dup_string(arena, json_object_get(claims, "sub"));
    id->email = dup_string(arena, json_object_get(claims, "email"));
    /* OIDC's email_verified is a boolean: anything but true (false, "true") is not a yes. */
    const json_t *verified = json_object_get(claims, "email_verified");
    id->email_verified = id->email && (json_is_true(verified) ||
                                       (!verified && email_verified_assumed));
    id->preferred_username = dup_string(arena, json_object_get(claims, "preferred_username"));
    id->name = dup_string(arena, json_object_get(claims, "name"));
    /* Every group or none: a group dropped (past the cap, or unreadable) could be the one a
     * deny rule names. */
    const json_t *groups = claim_at(claims, groups_claim ? groups_claim : "groups");
    if (groups && !json_is_array(groups) && !json_is_string(groups) && !json_is_null(groups))
        return CMN_ERR_PARSE;
    size_t n = json_is_array(groups) ? json_array_size(groups) : json_is_string(groups) ? 1 : 0;
    if (n > GW_MAX_GROUPS)
        return CMN_ERR_TOOBIG;
    id->groups = cmn_arena_alloc(arena, (n ? n : 1) * sizeof(char *));
    if (!id->groups)
        return CMN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *g = json_is_array(groups) ? json_array_get(groups, i) : groups;
        if (!json_is_string(g))
            return CMN_ERR_PARSE;
        const char *s = dup_string(arena, g);
        if (!s)
            return CMN_ERR_NOMEM;
        id->groups[id->ngroups++] = s;
    }
    /* RFC 8176 authentication method references that mean a second factor. */
    static const char *const second_factor[] = {"mfa", "otp", "hwk", "swk", "sms", "fido", NULL};
    const json_t *amr = json_object_get(claims, "amr");
    size_t i;
    const json_t *m;
    json_array_foreach(amr, i, m)
    {
        for (size_t k = 0; second_factor[k]; k++)
            id->mfa |= json_is_string(m) && strcmp(json_string_value(m), second_factor[k]) == 0;
    }
    const json_t *at = json_object_get(claims, "auth_time");
    id->auth_time = json_is_integer(at) ? json_integer_value(at) : 0;
    const json_t *exp = json_object_get(claims, "exp");
    id->expires = json_is_integer(exp) ? json_integer_value(exp) : 0;
    return 0;
}

json_t *gw_identity_to_json(const gw_identity_t *id)
{
    json_t *groups = json_array();
    for (size_t i = 0; i < id->ngroups; i++)
        json_array_append_new(groups, json_string(id->groups[i]));
    static const char *const kinds[] = {"anonymous", "sso", "token"};
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:b}", "kind",
                          kinds[id->kind], "iss", id->iss, "sub", id->sub, "email", id->email,
                          "preferred_username", id->preferred_username, "name", id->name,
                          "groups", groups, "mfa", id->mfa);
    if (o && id->email)
        json_object_set_new(o, "email_verified", json_boolean(id->email_verified));
    if (o && id->token_id) {
        json_object_set_new(o, "token_id", json_string(id->token_id));
        json_object_set_new(o, "token_scope", json_string(id->read_only ? "read" : "write"));
    }
    if (o && id->expires)
        json_object_set_new(o, "expires", json_integer(id->expires));
    return o;
}

const char *gw_identity_principal(const gw_identity_t *id, cmn_arena_t *arena)
{
    if (id->kind == GW_ID_ANONYMOUS || !id->iss || !id->sub)
        return "anonymous";
    return cmn_arena_printf(arena, "%s|%s", id->iss, id->sub);
}

json_t *gw_identity_snapshot(const gw_identity_t *id)
{
    json_t *groups = json_array();
    for (size_t i = 0; groups && i < id->ngroups; i++)
        json_array_append_new(groups, json_string(id->groups[i]));
    /* Every group (an identity carries at most GW_MAX_GROUPS: more was refused), and whether
     * the email was verified, so that what acts for the person later grants what their sign-in
     * did. */
    return groups ? json_pack("{s:s, s:s, s:s?, s:b, s:s?, s:s?, s:o, s:b}", "iss", id->iss,
                              "sub", id->sub, "email", id->email, "email_verified",
                              id->email_verified, "preferred_username", id->preferred_username,
                              "name", id->name, "groups", groups, "mfa", id->mfa)
                  : NULL;
}
