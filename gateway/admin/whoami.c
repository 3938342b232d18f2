#include "gateway/admin/whoami.h"

#include "common/sha256.h"

#include "gateway/admin/admin.h"

#include "gateway/auditlog/request.h"

#include "gateway/authz/authz.h"
#include "gateway/authz/policies.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A stable, opaque Hub-style id for a principal. */
static json_t *principal_id(gw_request_t *req)
{
    const char *p = gw_identity_principal(&req->identity, &req->arena);
    unsigned char md[CMN_SHA256_BYTES];
    cmn_sha256(p, strlen(p), md);
    char hex[25];
    cmn_hex(md, 12, hex);
    return json_string(hex);
}

/* GET /api/whoami-v2 in the Hub's shape (@huggingface/hub requires `auth`). */
enum MHD_Result gw_whoami_v2(gw_request_t *req, struct MHD_Connection *conn)
{
    const gw_identity_t *id = &req->identity;
    if (id->kind == GW_ID_ANONYMOUS)
        return gw_request_anonymous(req, conn);
    const char *name = id->preferred_username ? id->preferred_username : id->sub;
    char created[32] = "1970-01-01T00:00:00.000Z";
    time_t t = id->auth_time ? (time_t)id->auth_time : time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    /* The orgs the policy gives the caller a role in, as the Hub lists them. */
    json_t *orgs = json_array();
    pol_policy_t *policy = gw_policies_live(req->srv->policies, NULL);
    pol_subject_t subject;
    gw_authz_subject(id, &subject);
    pol_membership_t m[64];
    size_t n = pol_subject_orgs(policy, &subject, m, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        json_array_append_new(orgs, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "org", "name",
                                              m[i].org, "fullname", m[i].org, "roleInOrg",
                                              pol_role_name(m[i].role), "avatarUrl", ""));
    pol_policy_unref(policy);
    json_t *o = json_pack(
        "{s:s, s:o, s:s, s:s, s:s?, s:b, s:b, s:b, s:s, s:n, s:o, s:{s:s, s:{s:s, s:s, s:s}}}",
        "type", "user", "id", principal_id(req), "name", name, "fullname",
        id->name ? id->name : name, "email", id->email, "emailVerified", id->email_verified != 0,
        "isPro", 0, "canPay", 0, "avatarUrl", "", "periodEnd", "orgs", orgs, "auth", "type",
        "access_token", "accessToken", "displayName",
        id->token_name ? id->token_name : "SSO access token", "role",
        id->read_only ? "read" : "write", "createdAt", created);
    return gw_admin_json(req, conn, 200, o);
}
