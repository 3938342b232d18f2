/* hubgate's own endpoints under /-/ (docs/routes.md), and the Hub routes hubgate answers
 * itself: whoami-v2, from the caller's identity, never the service account's, and telemetry. */
#include "common/buf.h"
#include "common/sha256.h"
#include "common/err.h"
#include "common/log.h"
#include "gateway/http/answer.h"
#include "gateway/metrics/metrics.h"
#include "gateway/server/request-t.h"
#include "audit/event.h"
#include "audit/pgwriter.h"
#include "gateway/admin/admin.h"
#include "gateway/admin/report_http.h"
#include "gateway/auditlog/auditlog.h"
#include "gateway/auditlog/request.h"
#include "gateway/authn/assertion.h"
#include "gateway/authn/identity.h"
#include "gateway/authn/jwks.h"
#include "gateway/authn/tokens.h"
#include "gateway/authz/authz.h"
#include "gateway/route/route.h"
#include "policy/policy.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum MHD_Result answer_json(gw_request_t *req, struct MHD_Connection *conn,
                                   unsigned status, json_t *o)
{
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body)
        return gw_request_error(req, conn, 500, NULL, "out of memory");
    req->status = status;
    req->phase = GW_PHASE_ANSWERED;
    if (!gw_route_admin_is_public(req->route.admin) && req->srv->audit) {
        /* hubgate's own answers about the caller (whoami, tokens) are audited too */
        if (!req->decided)
            gw_request_decide(req, POL_ALLOW, "hubgate-admin",
                              "hubgate answers the caller about itself");
        aud_event_t ev;
        gw_request_event(req, &ev, AUD_KIND_REQUEST, status);
        gw_auditlog_note(req->srv->audit, &ev);
    }
    enum MHD_Result r =
        gw_answer_body(conn, status, "application/json", body, strlen(body), req->request_id);
    free(body);
    return r;
}

/* A refusal by hubgate's admin API, audited under the stage that refused it: "request" (the
 * request is malformed or names nothing of the caller's), "route" (no such endpoint or method),
 * "token_store" (the database), "audit" (the change could not be recorded). */
static enum MHD_Result refuse(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                              const char *stage, const char *message)
{
    req->stage = stage;
    return gw_request_error(req, conn, status, NULL, message);
}

static enum MHD_Result ready(gw_request_t *req, struct MHD_Connection *conn)
{
    int db = atomic_load(&req->srv->db_reachable);
    int keys = !req->srv->jwks || gw_jwks_ready(req->srv->jwks);
    aud_writer_stats_t st = {0};
    if (req->srv->audit)
        aud_writer_stats(req->srv->audit, &st);
    /* Strict mode forwards nothing it cannot record: not ready while the log cannot write.
     * (audit.mode off, for benchmarks, has no log to wait for.) */
    int audit = !req->srv->audit || (!st.stopped && (st.connected || st.spooling));
    int ok = db && keys && audit;
    json_t *o = json_pack("{s:s, s:{s:b, s:b, s:b, s:b, s:b}}", "status", ok ? "ready" : "not ready",
                          "checks", "config", 1, "policy", 1, "database", db, "identity_keys", keys,
                          "audit_log", audit);
    return answer_json(req, conn, ok ? 200 : 503, o);
}

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
static enum MHD_Result whoami_v2(gw_request_t *req, struct MHD_Connection *conn)
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
    return answer_json(req, conn, 200, o);
}

/* A privileged change's audit event, made durable before the change commits (the tokens
 * store's confirm step). With no audit log (audit.mode off, benchmarks) there is nothing to
 * wait for. */
typedef struct {
    gw_request_t *req;
    aud_kind_t kind;
    const char *rule;
    const char *name, *scope; /* token.minted */
    int audit_failed;         /* the event could not be made durable */
} privileged_t;

static int record_privileged(void *arg, const json_t *info)
{
    privileged_t *p = arg;
    gw_request_t *req = p->req;
    if (!req->srv->audit)
        return 0;
    /* The person who made the change is the event's actor (the caller, as authenticated). */
    gw_request_decide(req, POL_ALLOW, p->rule,
                      p->kind == AUD_KIND_TOKEN_MINTED ? "an SSO identity mints its own tokens"
                                                       : "a token's owner revokes it");
    aud_event_t ev;
    gw_request_event(req, &ev, p->kind, p->kind == AUD_KIND_TOKEN_MINTED ? 201 : 200);
    aud_event_detail_str(&ev, "token_id", json_string_value(json_object_get(info, "id")));
    const char *name = p->kind == AUD_KIND_TOKEN_MINTED
                           ? p->name
                           : json_string_value(json_object_get(info, "name"));
    const char *scope = p->kind == AUD_KIND_TOKEN_MINTED
                            ? p->scope
                            : json_string_value(json_object_get(info, "scope"));
    if (name)
        aud_event_detail_str(&ev, "name", name);
    if (scope)
        aud_event_detail_str(&ev, "scope", scope);
    const char *expires = json_string_value(json_object_get(info, "expires"));
    if (expires)
        aud_event_detail_str(&ev, "expires", expires);
    /* Blocks this connection's thread for at most audit.write_timeout_ms: the change is not
     * done until its event is, as a request in strict mode is not forwarded until its own. */
    int rc = aud_writer_append(req->srv->audit, &ev);
    if (rc != 0) {
        cmn_log_warn("tokens", "%s: the audit log cannot record %s (%s): not done",
                     req->request_id, aud_kind_name(p->kind), cmn_err_str(rc));
        p->audit_failed = 1;
    }
    return rc;
}

static enum MHD_Result mint_token(gw_request_t *req, struct MHD_Connection *conn,
                                  const char *body, size_t len)
{
    if (req->identity.kind != GW_ID_SSO) {
        /* Only an SSO login mints: a hubgate token cannot extend itself. */
        gw_request_decide(req, POL_DENY, "sso-identity",
                          "only an SSO sign-in mints tokens, not a hubgate token");
        return gw_request_error(req, conn, 401, NULL,
                                "Invalid credentials in Authorization header");
    }
    json_t *in = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *scope = json_string_value(json_object_get(in, "scope"));
    json_t *days_v = json_object_get(in, "expires_days");
    int max = req->srv->cfg->token_max_days;
    long long days = json_is_integer(days_v) ? json_integer_value(days_v) : max;
    const char *problem = NULL;
    if (!json_is_object(in))
        problem = "the body must be a JSON object {name, scope, expires_days}";
    else if (!name)
        problem = "name must be a string of 1 to 128 characters";
    else
        problem = gw_tokens_name_problem(name); /* before anything happens */
    if (!problem && (!scope || (strcmp(scope, "read") != 0 && strcmp(scope, "write") != 0)))
        problem = "scope must be \"read\" or \"write\"";
    if (!problem && ((days_v && !json_is_integer(days_v)) || days < 1))
        problem = "expires_days must be a positive integer";
    if (!problem && days > max)
        problem = "expires_days is above this gateway's maximum (identity.tokens.max_days)";
    if (problem) {
        json_decref(in);
        return refuse(req, conn, 400, "request", problem);
    }
    const char *token = NULL;
    json_t *info = NULL;
    privileged_t p = {req, AUD_KIND_TOKEN_MINTED, "sso-identity", name, scope, 0};
    int rc = gw_tokens_mint(req->srv->tokens, &req->identity, name, scope, (int)days, &req->arena,
                            record_privileged, &p, &token, &info);
    if (rc == 0)
        cmn_log_info("tokens", "%s minted %s (%s, %lld days) for %s", req->request_id,
                     json_string_value(json_object_get(info, "id")), scope, days,
                     gw_identity_principal(&req->identity, &req->arena));
    json_decref(in); /* name and scope point into it */
    if (rc) {
        req->decided = 0; /* the change did not happen: refused, not allowed */
        return refuse(req, conn, 503, p.audit_failed ? "audit" : "token_store",
                      p.audit_failed ? "the audit log cannot record this now: no token was "
                                       "minted; try again"
                                     : "the token store is unavailable");
    }
    json_object_set_new(info, "token", json_string(token));
    return answer_json(req, conn, 201, info);
}

static enum MHD_Result tokens(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                              size_t len)
{
    if (req->identity.kind == GW_ID_ANONYMOUS)
        return gw_request_anonymous(req, conn);
    if (strcmp(req->method, "POST") == 0)
        return mint_token(req, conn, body, len);
    if (strcmp(req->method, "GET") != 0)
        return refuse(req, conn, 405, "route", "Method Not Allowed");
    json_t *list = gw_tokens_list(req->srv->tokens, &req->identity);
    if (!list)
        return refuse(req, conn, 503, "token_store", "the token store is unavailable");
    return answer_json(req, conn, 200, list);
}

/* A revocation is a privileged change like a mint: it is done only once its token.revoked
 * event is durable, and when the audit log cannot take the event the token stays valid and
 * the caller gets 503. Revoking anyway would be the safer side for a leaked token, but it is
 * not needed for safety: whenever the log cannot record an event the gateway forwards nothing
 * (strict mode), so the token opens nothing either, and spool mode records the event on disk;
 * a refusal keeps the log complete and the answer honest ("try again"). */
static enum MHD_Result revoke_token(gw_request_t *req, struct MHD_Connection *conn)
{
    if (req->identity.kind == GW_ID_ANONYMOUS)
        return gw_request_anonymous(req, conn);
    if (strcmp(req->method, "DELETE") != 0)
        return refuse(req, conn, 405, "route", "Method Not Allowed");
    privileged_t p = {req, AUD_KIND_TOKEN_REVOKED, "token-owner", NULL, NULL, 0};
    int rc = gw_tokens_revoke(req->srv->tokens, &req->identity, req->route.object,
                              record_privileged, &p);
    if (rc == CMN_ERR_NOTFOUND)
        return refuse(req, conn, 404, "request", "no such token of yours, or already revoked");
    if (rc) {
        req->decided = 0; /* the change did not happen: refused, not allowed */
        return refuse(req, conn, 503, p.audit_failed ? "audit" : "token_store",
                      p.audit_failed ? "the audit log cannot record this now: the token was not "
                                       "revoked; try again"
                                     : "the token store is unavailable");
    }
    cmn_log_info("tokens", "%s revoked %s for %s", req->request_id, req->route.object,
                 gw_identity_principal(&req->identity, &req->arena));
    return answer_json(req, conn, 200, json_pack("{s:s, s:b}", "id", req->route.object, "revoked", 1));
}

enum MHD_Result gw_admin_answer(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                                size_t body_len)
{
    if (req->route.family == GW_FAMILY_WHOAMI)
        return whoami_v2(req, conn);
    if (req->route.family == GW_FAMILY_TELEMETRY) {
        /* Usage pings about the caller: accepted and dropped, as the hub answers them. Sent
         * on, they would be the service account's. */
        if (req->identity.kind == GW_ID_ANONYMOUS)
            return gw_request_anonymous(req, conn);
        return answer_json(req, conn, 200, json_object());
    }
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    switch (req->route.admin) {
    case GW_ADMIN_HEALTH:
        if (!get)
            break;
        return answer_json(req, conn, 200, json_pack("{s:s}", "status", "ok"));
    case GW_ADMIN_READY:
        if (!get)
            break;
        return ready(req, conn);
    case GW_ADMIN_METRICS:
        /* Metrics are served on metrics_listen only: the public listener never shows what
         * the gateway has been denying, to whom it was refusing credentials, how busy it is. */
        return refuse(req, conn, 404, "route", "Not Found");
    case GW_ADMIN_JWKS: {
        if (!get)
            break;
        const char *jwks = gw_assertion_jwks(req->srv->assertion);
        req->status = 200;
        req->phase = GW_PHASE_ANSWERED;
        return gw_answer_body(conn, 200, "application/jwk-set+json", jwks, strlen(jwks),
                              req->request_id);
    }
    case GW_ADMIN_WHOAMI:
        if (!get)
            break;
        if (req->identity.kind == GW_ID_ANONYMOUS)
            return gw_request_anonymous(req, conn);
        return answer_json(req, conn, 200, gw_identity_to_json(&req->identity));
    case GW_ADMIN_TOKENS:
        return tokens(req, conn, body, body_len);
    case GW_ADMIN_TOKEN:
        return revoke_token(req, conn);
    case GW_ADMIN_REPORT_SOC2:
        return gw_report_http_answer(req, conn);
    default:
        return refuse(req, conn, 404, "route", "Not Found");
    }
    return refuse(req, conn, 405, "route", "Method Not Allowed");
}
