#include "gateway/admin/token_api.h"

#include "common/err.h"
#include "common/log.h"

#include "gateway/admin/admin.h"

#include "gateway/auditlog/request.h"

#include "gateway/authn/tokens.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A privileged change's audit event, made durable before the change commits (the tokens
 * store's confirm step). With no audit log (audit.mode off, benchmarks) there is nothing to
 * wait for. */
typedef struct {
    gw_request_t *req;
    aud_kind_t kind;
    const char *rule;
    const char *name, *scope; /* token.minted */
    int audit_failed; /* the event could not be made durable */
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

unsigned gw_token_api_mint(gw_request_t *req, const char *name, const char *scope,
                           long long days, const char **token, json_t **info, const char **stage,
                           const char **message)
{
    int max = req->srv->cfg->token_max_days;
    *stage = "request";
    if (req->identity.kind != GW_ID_SSO) {
        /* Only an SSO login mints: a hubgate token cannot extend itself. */
        gw_request_decide(req, POL_DENY, "sso-identity",
                          "only an SSO sign-in mints tokens, not a hubgate token");
        *stage = "authorization";
        *message = "Invalid credentials in Authorization header";
        return 401;
    }
    *message = !name ? "name must be a string of 1 to 128 characters"
                     : gw_tokens_name_problem(name); /* before anything happens */
    if (!*message && (!scope || (strcmp(scope, "read") != 0 && strcmp(scope, "write") != 0)))
        *message = "scope must be \"read\" or \"write\"";
    if (!*message && days < 1)
        *message = "expires_days must be a positive integer";
    if (!*message && days > max)
        *message = "expires_days is above this gateway's maximum (identity.tokens.max_days)";
    if (*message)
        return 400;
    privileged_t p = {req, AUD_KIND_TOKEN_MINTED, "sso-identity", name, scope, 0};
    int rc = gw_tokens_mint(req->srv->tokens, &req->identity, name, scope, (int)days, &req->arena,
                            record_privileged, &p, token, info);
    if (rc) {
        req->decided = 0;
        *stage = p.audit_failed ? "audit" : "token_store";
        *message = p.audit_failed ? "the audit log cannot record this now: no token was minted; "
                                    "try again"
                                  : "the token store is unavailable";
        return 503;
    }
    cmn_log_info("tokens", "%s minted %s (%s, %lld days) for %s", req->request_id,
                 json_string_value(json_object_get(*info, "id")), scope, days,
                 gw_identity_principal(&req->identity, &req->arena));
    return 0;
}

static enum MHD_Result mint_token(gw_request_t *req, struct MHD_Connection *conn,
                                  const char *body, size_t len)
{
    json_t *in = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *days_v = json_object_get(in, "expires_days");
    const char *stage = "request", *message = NULL, *token = NULL;
    json_t *info = NULL;
    unsigned status = 400;
    if (req->identity.kind == GW_ID_SSO && !json_is_object(in))
        message = "the body must be a JSON object {name, scope, expires_days}";
    else if (days_v && !json_is_integer(days_v))
        message = "expires_days must be a positive integer";
    else
        status = gw_token_api_mint(req, json_string_value(json_object_get(in, "name")),
                                   json_string_value(json_object_get(in, "scope")),
                                   days_v ? json_integer_value(days_v) : req->srv->cfg->token_max_days,
                                   &token, &info, &stage, &message);
    json_decref(in); /* name and scope point into it */
    if (status == 401)
        return gw_request_error(req, conn, 401, NULL, message);
    if (status)
        return gw_admin_refuse(req, conn, status, stage, message);
    json_object_set_new(info, "token", json_string(token));
    return gw_admin_json(req, conn, 201, info);
}

enum MHD_Result gw_token_api_tokens(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                              size_t len)
{
    if (req->identity.kind == GW_ID_ANONYMOUS)
        return gw_request_anonymous(req, conn);
    if (strcmp(req->method, "POST") == 0)
        return mint_token(req, conn, body, len);
    if (strcmp(req->method, "GET") != 0)
        return gw_admin_refuse(req, conn, 405, "route", "Method Not Allowed");
    json_t *list = gw_tokens_list(req->srv->tokens, &req->identity);
    if (!list)
        return gw_admin_refuse(req, conn, 503, "token_store", "the token store is unavailable");
    return gw_admin_json(req, conn, 200, list);
}

/* A revocation is a privileged change like a mint: it is done only once its token.revoked
 * event is durable, and when the audit log cannot take the event the token stays valid and
 * the caller gets 503. Revoking anyway would be the safer side for a leaked token, but it is
 * not needed for safety: whenever the log cannot record an event the gateway forwards nothing
 * (strict mode), so the token opens nothing either, and spool mode records the event on disk;
 * a refusal keeps the log complete and the answer honest ("try again"). */
unsigned gw_token_api_revoke_one(gw_request_t *req, const char *id, const char **stage,
                                  const char **message)
{
    privileged_t p = {req, AUD_KIND_TOKEN_REVOKED, "token-owner", NULL, NULL, 0};
    int rc = gw_tokens_revoke(req->srv->tokens, &req->identity, id, record_privileged, &p);
    *stage = "request";
    if (rc == CMN_ERR_NOTFOUND) {
        *message = "no such token of yours, or already revoked";
        return 404;
    }
    if (rc) {
        req->decided = 0;
        *stage = p.audit_failed ? "audit" : "token_store";
        *message = p.audit_failed ? "the audit log cannot record this now: the token was not "
                                    "revoked; try again"
                                  : "the token store is unavailable";
        return 503;
    }
    cmn_log_info("tokens", "%s revoked %s for %s", req->request_id, id,
                 gw_identity_principal(&req->identity, &req->arena));
    return 0;
}

enum MHD_Result gw_token_api_revoke(gw_request_t *req, struct MHD_Connection *conn)
{
    if (req->identity.kind == GW_ID_ANONYMOUS)
        return gw_request_anonymous(req, conn);
    if (strcmp(req->method, "DELETE") != 0)
        return gw_admin_refuse(req, conn, 405, "route", "Method Not Allowed");
    const char *stage = NULL, *message = NULL;
    unsigned status = gw_token_api_revoke_one(req, req->route.object, &stage, &message);
    if (status)
        return gw_admin_refuse(req, conn, status, stage, message);
    return gw_admin_json(req, conn, 200, json_pack("{s:s, s:b}", "id", req->route.object, "revoked", 1));
}
