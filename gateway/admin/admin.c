/* hubgate's own endpoints under /-/ (docs/routes.md), and the Hub routes hubgate answers
 * itself (whoami-v2, telemetry): the dispatcher, health, readiness and keys. */

#include "common/err.h"
#include "gateway/http/answer.h"

#include "gateway/admin/admin.h"
#include "gateway/admin/device.h"
#include "gateway/admin/login.h"
#include "gateway/admin/token_page.h"
#include "gateway/admin/token_api.h"
#include "gateway/admin/whoami.h"
#include "gateway/admin/page.h"
#include "gateway/admin/report_http.h"
#include "gateway/admin/scim.h"
#include "gateway/auditlog/auditlog.h"
#include "gateway/auditlog/request.h"
#include "gateway/authn/assertion.h"

#include "gateway/authn/jwks.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum MHD_Result gw_admin_json(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                              json_t *o)
{
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    req->status = status;
    req->phase = GW_PHASE_ANSWERED;
    if (!gw_route_admin_is_public(req->route.admin) && req->audit) {
        /* hubgate's own answers about the caller (whoami, tokens) are audited too */
        if (!req->decided)
            gw_request_decide(req, POL_ALLOW, "hubgate-admin",
                              "hubgate answers the caller about itself");
        aud_event_t ev;
        gw_request_event(req, &ev, AUD_KIND_REQUEST, status);
        gw_auditlog_note(req->audit, &ev);
    }
    enum MHD_Result r =
        gw_answer_body(conn, status, "application/json", body, strlen(body), req->request_id);
    free(body);
    return r;
}

/* A refusal by hubgate's admin API, audited under the stage that refused it: "request" (the
 * request is malformed or names nothing of the caller's), "route" (no such endpoint or method),
 * "token_store" (the database), "audit" (the change could not be recorded). */
enum MHD_Result gw_admin_refuse(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                const char *stage, const char *message)
{
    req->stage = stage;
    return gw_request_error(req, conn, status, NULL, message);
}

static enum MHD_Result ready(gw_request_t *req, struct MHD_Connection *conn)
{
    int db = atomic_load(&req->srv->db_reachable);
    int keys = !req->srv->jwks || gw_jwks_ready(req->srv->jwks);
    /* Strict mode forwards nothing it cannot record: not ready while the log cannot write —
     * this loop's stream, or the process's (policy loads, tokens). (audit.mode off, for
     * benchmarks, has no log to wait for.) */
    int audit = 1;
    aud_writer_t *const writers[] = {req->audit, req->srv->audit};
    for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
        aud_writer_stats_t st = {0};
        if (!writers[i])
            continue;
        aud_writer_stats(writers[i], &st);
        audit &= !st.stopped && (st.connected || st.spooling);
    }
    int ok = db && keys && audit;
    json_t *o = json_pack("{s:s, s:{s:b, s:b, s:b, s:b, s:b}}", "status", ok ? "ready" : "not ready",
                          "checks", "config", 1, "policy", 1, "database", db, "identity_keys", keys,
                          "audit_log", audit);
    return gw_admin_json(req, conn, ok ? 200 : 503, o);
}

enum MHD_Result gw_admin_answer(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                                size_t body_len)
{
    if (req->route.family == GW_FAMILY_WHOAMI)
        return gw_whoami_v2(req, conn);
    if (req->route.family == GW_FAMILY_SCIM)
        return gw_scim_answer(req, conn, body, body_len);
    if (req->route.family == GW_FAMILY_TELEMETRY) {
        /* Usage pings about the caller: accepted and dropped, as the hub answers them. Sent
         * on, they would be the service account's. */
        if (req->identity.kind == GW_ID_ANONYMOUS)
            return gw_request_anonymous(req, conn);
        return gw_admin_json(req, conn, 200, json_object());
    }
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    switch (req->route.admin) {
    case GW_ADMIN_HEALTH:
        if (!get)
            break;
        return gw_admin_json(req, conn, 200, json_pack("{s:s}", "status", "ok"));
    case GW_ADMIN_READY:
        if (!get)
            break;
        return ready(req, conn);
    case GW_ADMIN_METRICS:
        /* Metrics are served on metrics_listen only: the public listener never shows what
         * the gateway has been denying, to whom it was refusing credentials, how busy it is. */
        return gw_admin_refuse(req, conn, 404, "route", "Not Found");
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
        return gw_admin_json(req, conn, 200, gw_identity_to_json(&req->identity));
    case GW_ADMIN_TOKENS:
        /* a person's browser gets the page; programs, and any bearer, the JSON API */
        if (req->session_id || (req->identity.kind == GW_ID_ANONYMOUS && gw_page_wanted(req)))
            return gw_token_page_answer(req, conn, body, body_len);
        return gw_token_api_tokens(req, conn, body, body_len);
    case GW_ADMIN_TOKEN:
        if (req->session_id) /* the page revokes with a form; a cookie alone never does */
            return gw_admin_refuse(req, conn, 405, "route", "Method Not Allowed");
        return gw_token_api_revoke(req, conn);
    case GW_ADMIN_LOGIN:
    case GW_ADMIN_LOGIN_CALLBACK:
    case GW_ADMIN_LOGOUT:
        return gw_login_answer(req, conn, body, body_len);
    case GW_ADMIN_DEVICE:
    case GW_ADMIN_DEVICE_CONFIRM:
    case GW_ADMIN_OAUTH_TOKEN:
        return gw_device_answer(req, conn, body, body_len);
    case GW_ADMIN_REPORT_SOC2:
        return gw_report_http_answer(req, conn);
    case GW_ADMIN_XET_TELEMETRY:
        /* Xet clients' telemetry, sent to the root of their CAS URL's host: with Xet carried,
         * accepted and dropped (it is about the client, and nobody upstream asked for it). */
        if (req->srv->cfg->xet != GW_XET_PROXY)
            return gw_admin_refuse(req, conn, 404, "route", "Not Found");
        return gw_admin_json(req, conn, 200, json_object());
    default:
        return gw_admin_refuse(req, conn, 404, "route", "Not Found");
    }
    return gw_admin_refuse(req, conn, 405, "route", "Method Not Allowed");
}
