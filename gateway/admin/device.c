#include "gateway/admin/device.h"

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include "gateway/route/decode.h"

#include "gateway/http/ratelimit.h"

#include "gateway/auditlog/auditlog.h"
#include "gateway/auditlog/request.h"

#include "gateway/authn/devices.h"

#include "gateway/admin/login.h"
#include "gateway/admin/page.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_CODE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

/* ---- JSON answers (RFC 6749 §5.1: never cached) ---------------------------------------------- */

static enum MHD_Result oauth_json(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                  json_t *o, int audit)
{
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Pragma", "no-cache");
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    req->status = status;
    req->phase = GW_PHASE_ANSWERED;
    if (audit && req->audit) {
        aud_event_t ev;
        gw_request_event(req, &ev, AUD_KIND_REQUEST, status);
        gw_auditlog_note(req->audit, &ev);
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* An OAuth error: 400 with {error, error_description}, as huggingface_hub reads it. */
static enum MHD_Result oauth_error(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                   const char *error, const char *description, int audit)
{
    if (audit) {
        req->stage = "authentication";
        gw_request_decide(req, POL_DENY, "device-grant", description);
        req->local_message = description;
    }
    return oauth_json(req, conn, status,
                      json_pack("{s:s, s:s}", "error", error, "error_description", description),
                      audit);
}

static const char *header(gw_request_t *req, const char *name, size_t max)
{
    const gw_header_t *h = gw_headers_find(req->headers, req->nheaders, name);
    if (!h)
        return "";
    return cmn_arena_strndup(&req->arena, h->value, h->value_len < max ? h->value_len : max);
}

/* ---- POST /oauth/device ---------------------------------------------------------------------- */

static enum MHD_Result authorize_device(gw_request_t *req, struct MHD_Connection *conn,
                                        const char *body, size_t len)
{
    const char *client_id = body ? gw_login_form_field(&req->arena, body, len, "client_id") : NULL;
    if (!client_id || !*client_id || strlen(client_id) > 128)
        return oauth_error(req, conn, 400, "invalid_request", "client_id is required", 1);
    for (const char *p = client_id; *p; p++) {
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return oauth_error(req, conn, 400, "invalid_client", "client_id is not printable", 1);
    }
    char key[96];
    snprintf(key, sizeof(key), "device-start %s", req->client_ip);
    if (!gw_ratelimit_take(req->srv->address_attempts, key, cmn_mono_ms()))
        return oauth_error(req, conn, 429, "slow_down", "too many sign-ins from this address", 1);
    const char *device_code = NULL, *user_code = NULL, *id = NULL;
    int rc = gw_devices_start(req->srv->devices, client_id, req->client_ip,
                              header(req, "user-agent", 512), &req->arena, &device_code,
                              &user_code, &id);
    if (rc)
        return oauth_error(req, conn, 503, "temporarily_unavailable",
                           "hubgate cannot start a sign-in now; try again", 1);
    const char *pub = req->srv->cfg->public_url;
    char shown[10];
    snprintf(shown, sizeof(shown), "%.4s-%.4s", user_code, user_code + 4);
    gw_request_decide(req, POL_ALLOW, "device-grant", "a device asks to sign in");
    cmn_log_info("devices", "%s: %s asks to sign in (%s, client %s)", req->request_id,
                 req->client_ip, id, client_id);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "device_code", device_code,
                          "user_code", shown, "verification_uri",
                          cmn_arena_concat(&req->arena, pub, "/oauth/device"),
                          "verification_uri_complete",
                          cmn_arena_printf(&req->arena, "%s/oauth/device?user_code=%s", pub, shown),
                          "expires_in", GW_DEVICE_TTL_SECONDS, "interval",
                          GW_DEVICE_INTERVAL_SECONDS);
    return oauth_json(req, conn, 200, o, 1);
}

/* ---- the person's pages ---------------------------------------------------------------------- */

static int attempt_allowed(gw_request_t *req)
{
    char k1[128], k2[96];
    snprintf(k1, sizeof(k1), "code session %s", req->session_id ? req->session_id : "");
    snprintf(k2, sizeof(k2), "code address %s", req->client_ip);
    int64_t now = cmn_mono_ms();
    return gw_ratelimit_take(req->srv->code_attempts, k1, now) &&
           gw_ratelimit_take(req->srv->address_attempts, k2, now);
}

static enum MHD_Result code_form(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                 const char *problem)
{
    gw_page_t p;
    gw_page_begin(&p, "Sign in a device");
    gw_page_html(&p, "<h1>Sign in a device</h1>");
    if (problem) {
        gw_page_html(&p, "<p class=\"note\" role=\"alert\">");
        gw_page_text(&p, problem);
        gw_page_html(&p, "</p>");
    }
    gw_page_html(&p, "<p>Enter the code your terminal shows (<code>hf auth login</code>).</p>"
                     "<form method=\"get\" action=\"/oauth/device\"><label for=\"code\">Code "
                     "(eight letters, like BCDF-GHJK)</label><input id=\"code\" "
                     "name=\"user_code\" required autocomplete=\"off\" "
                     "autocapitalize=\"characters\" maxlength=\"16\"><p><button "
                     "type=\"submit\">Continue</button></p></form>");
    if (status >= 400)
        req->local_message = problem;
    return gw_page_send(req, conn, status, &p);
}

static enum MHD_Result confirm_page(gw_request_t *req, struct MHD_Connection *conn,
                                    const char *code, const gw_device_info_t *dev)
{
    gw_page_t p;
    gw_page_begin(&p, "Sign in a device");
    gw_page_html(&p, "<h1>Sign in a device as you?</h1><p>A device asks to act as ");
    gw_page_text(&p, req->identity.email ? req->identity.email : req->identity.sub);
    gw_page_html(&p, " through this gateway. Approve only if you just ran <code>hf auth "
                     "login</code> and your terminal shows this code.</p><table><tbody>"
                     "<tr><th scope=\"row\">Code</th><td><strong>");
    gw_page_htmlf(&p, "%.4s-%.4s", code, code + 4);
    gw_page_html(&p, "</strong></td></tr><tr><th scope=\"row\">Program</th><td>");
    gw_page_text(&p, dev->user_agent);
    gw_page_html(&p, "</td></tr><tr><th scope=\"row\">From address</th><td>");
    gw_page_text(&p, dev->client_ip);
    gw_page_html(&p, "</td></tr><tr><th scope=\"row\">Asked at</th><td>");
    gw_page_text(&p, dev->created);
    gw_page_htmlf(&p, " (the code expires in %lld minutes)", (long long)(dev->expires_in + 59) / 60);
    gw_page_html(&p, "</td></tr></tbody></table><form method=\"post\" "
                     "action=\"/oauth/device/confirm\">");
    gw_page_form_token(&p, req);
    gw_page_htmlf(&p, "<input type=\"hidden\" name=\"user_code\" value=\"%s\">", code);
    gw_page_html(&p, "<fieldset><legend>What it may do</legend>"
                     "<label><input type=\"radio\" name=\"scope\" value=\"read\" checked> "
                     "read: download</label>"
                     "<label><input type=\"radio\" name=\"scope\" value=\"write\"> write: "
                     "download and upload</label></fieldset>"
                     "<p><button type=\"submit\" name=\"decision\" value=\"approve\">Approve"
                     "</button> <button type=\"submit\" name=\"decision\" value=\"deny\">Deny"
                     "</button></p></form>");
    return gw_page_send(req, conn, 200, &p);
}

static enum MHD_Result device_page(gw_request_t *req, struct MHD_Connection *conn)
{
    gw_route_target_t t;
    gw_route_reject_t why;
    const char *typed = NULL;
    size_t count = 0;
    if (gw_route_target_parse(req->target, req->target_len, &req->arena, &t, &why) != 0 ||
        gw_route_query_get(&t, "user_code", &req->arena, &typed, &count) != 0)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    char code[9];
    int valid = count == 1 && gw_devices_user_code(typed, code) == 0;
    if (!req->session_id) {
        /* sign in first, and come back to this code */
        const char *back = valid ? cmn_arena_printf(&req->arena,
                                                    "/-/login?return_to=/oauth/device%%3Fuser_code%%3D%s",
                                                    code)
                                 : "/-/login?return_to=/oauth/device";
        return back ? gw_page_redirect(req, conn, back, NULL)
                    : gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    }
    if (count == 0)
        return code_form(req, conn, 200, NULL);
    if (!attempt_allowed(req))
        return code_form(req, conn, 429, "Too many codes tried; wait a minute.");
    gw_device_info_t dev;
    int rc = valid ? gw_devices_find(req->srv->devices, code, &req->arena, &dev) : CMN_ERR_NOTFOUND;
    if (rc == CMN_ERR_NOTFOUND)
        return code_form(req, conn, 404,
                         "No device is waiting with that code (or it expired): check the code "
                         "your terminal shows.");
    if (rc)
        return code_form(req, conn, 503, "hubgate cannot look the code up now; try again.");
    return confirm_page(req, conn, code, &dev);
}

typedef struct {
    gw_request_t *req;
    int approve;
    const char *scope;
} decision_t;

/* device.approved / device.denied, durable before the decision commits. */
static int record_decision(void *arg, const json_t *info)
{
    decision_t *d = arg;
    gw_request_t *req = d->req;
    if (!req->srv->audit)
        return 0;
    aud_event_t ev;
    gw_request_event(req, &ev, d->approve ? AUD_KIND_DEVICE_APPROVED : AUD_KIND_DEVICE_DENIED,
                     200);
    static const char *const keys[] = {"id", "client_ip", "user_agent", "client_id"};
    static const char *const names[] = {"grant_id", "device_ip", "device_user_agent",
                                        "client_id"};
    for (size_t i = 0; i < 4; i++)
        aud_event_detail_str(&ev, names[i], json_string_value(json_object_get(info, keys[i])));
    if (d->approve)
        aud_event_detail_str(&ev, "scope", d->scope);
    if (req->session_id)
        aud_event_detail_str(&ev, "session_id", req->session_id);
    return aud_writer_append(req->srv->audit, &ev);
}

static enum MHD_Result device_confirm(gw_request_t *req, struct MHD_Connection *conn,
                                      const char *body, size_t len)
{
    if (strcmp(req->method, "POST") != 0)
        return gw_page_message(req, conn, 405, "Method Not Allowed", "Use the page's form.", 0);
    if (!req->session_id)
        return gw_page_redirect(req, conn, "/-/login?return_to=/oauth/device", NULL);
    cmn_arena_t *a = &req->arena;
    if (!gw_login_form_ok(req, body ? gw_login_form_field(a, body, len, "form_token") : NULL)) {
        req->stage = "request";
        return gw_page_message(req, conn, 403, "Not done",
                               "This form did not come from hubgate's own page.", 0);
    }
    const char *typed = body ? gw_login_form_field(a, body, len, "user_code") : NULL;
    const char *decision = body ? gw_login_form_field(a, body, len, "decision") : NULL;
    const char *scope = body ? gw_login_form_field(a, body, len, "scope") : NULL;
    char code[9];
    int approve = decision && strcmp(decision, "approve") == 0;
    if (!typed || gw_devices_user_code(typed, code) != 0 || !decision ||
        (!approve && strcmp(decision, "deny") != 0) ||
        (approve && (!scope || (strcmp(scope, "read") != 0 && strcmp(scope, "write") != 0)))) {
        req->stage = "request";
        return gw_page_message(req, conn, 400, "Not done", "The form is incomplete.", 0);
    }
    if (!attempt_allowed(req))
        return code_form(req, conn, 429, "Too many codes tried; wait a minute.");
    decision_t d = {req, approve, scope};
    gw_request_decide(req, approve ? POL_ALLOW : POL_DENY, "device-grant",
                      approve ? "the person approves a device's sign-in"
                              : "the person denies a device's sign-in");
    gw_device_info_t dev;
    int rc = gw_devices_decide(req->srv->devices, code, &req->identity, approve, scope,
                               record_decision, &d, &req->arena, &dev);
    if (rc == CMN_ERR_NOTFOUND) {
        req->decided = 0;
        return code_form(req, conn, 404, "That code is no longer waiting (used, or expired).");
    }
    if (rc) {
        req->decided = 0;
        req->stage = rc == CMN_ERR_DB ? "token_store" : "audit";
        return gw_page_message(req, conn, 503, "Not done",
                               "hubgate cannot record this now; try again.", 0);
    }
    cmn_log_info("devices", "%s: %s %s device grant %s (%s)", req->request_id,
                 gw_identity_principal(&req->identity, &req->arena),
                 approve ? "approved" : "denied", dev.id, approve ? scope : "-");
    req->decided = 0; /* the page itself is hubgate's answer about the caller */
    return gw_page_message(req, conn, 200, approve ? "Device signed in" : "Sign-in denied",
                           approve ? "Return to your terminal: it finishes signing in within a "
                                     "few seconds."
                                   : "The device was not signed in. Your terminal says so.",
                           1);
}

/* ---- POST /oauth/token ----------------------------------------------------------------------- */

typedef struct {
    gw_request_t *req;
    gw_grant_tokens_t *out;
    int refreshed;
} issue_t;

/* token.minted for an issued access token (its owner the person who approved), or token.revoked
 * for a sign-in whose refresh token was replayed; durable before the change commits. */
static int record_issue(void *arg, const json_t *info)
{
    issue_t *is = arg;
    gw_request_t *req = is->req;
    if (!req->srv->audit)
        return 0;
    const char *revoked = json_string_value(json_object_get(info, "revoked_grant"));
    aud_event_t ev;
    if (revoked) {
        gw_request_decide(req, POL_DENY, "refresh-replayed",
                          "a refresh token was used again after its rotation: every token of "
                          "that sign-in is revoked");
        gw_request_event(req, &ev, AUD_KIND_TOKEN_REVOKED, 400);
        aud_event_detail_str(&ev, "grant_id", revoked);
        aud_event_detail_str(&ev, "reason", "refresh_token_replayed");
        return aud_writer_append(req->srv->audit, &ev);
    }
    req->identity = is->out->owner;
    gw_request_decide(req, POL_ALLOW, "device-grant",
                      is->refreshed ? "a device refreshes its sign-in"
                                    : "a device the person approved signs in");
    gw_request_event(req, &ev, AUD_KIND_TOKEN_MINTED, 200);
    static const char *const keys[] = {"id", "name", "scope", "expires"};
    static const char *const names[] = {"token_id", "name", "scope", "expires"};
    for (size_t i = 0; i < 4; i++)
        aud_event_detail_str(&ev, names[i], json_string_value(json_object_get(info, keys[i])));
    aud_event_detail_str(&ev, "grant", is->refreshed ? "refresh_token" : "device_code");
    return aud_writer_append(req->srv->audit, &ev);
}

static enum MHD_Result token_answer(gw_request_t *req, struct MHD_Connection *conn,
                                    gw_grant_result_t r, gw_grant_tokens_t *out)
{
    switch (r) {
    case GW_GRANT_ISSUED: {
        json_t *o = json_pack("{s:s, s:s, s:O, s:s, s:O}", "access_token", out->access_token,
                              "token_type", "bearer", "expires_in",
                              json_object_get(out->info, "expires_in"), "refresh_token",
                              out->refresh_token, "scope", json_object_get(out->info, "scope"));
        json_decref(out->info);
        /* the token.minted event is the record; no second one for the answer */
        return oauth_json(req, conn, 200, o, 0);
    }
    case GW_GRANT_PENDING:
        return oauth_error(req, conn, 400, "authorization_pending",
                           "waiting for the person to approve the code", 0);
    case GW_GRANT_SLOW_DOWN:
        return oauth_error(req, conn, 400, "slow_down", "polling too fast", 0);
    case GW_GRANT_DENIED:
        return oauth_error(req, conn, 400, "access_denied", "the person denied the sign-in", 1);
    case GW_GRANT_EXPIRED:
        return oauth_error(req, conn, 400, "expired_token", "the code expired: sign in again", 1);
    case GW_GRANT_INVALID:
        return oauth_error(req, conn, 400, "invalid_grant",
                           "unknown, used, revoked or expired grant: run hf auth login", 1);
    case GW_GRANT_FAILED:
    default:
        return oauth_error(req, conn, 503, "temporarily_unavailable",
                           "hubgate cannot record this now; try again", 0);
    }
}

static enum MHD_Result token_endpoint(gw_request_t *req, struct MHD_Connection *conn,
                                      const char *body, size_t len)
{
    cmn_arena_t *a = &req->arena;
    const char *grant = body ? gw_login_form_field(a, body, len, "grant_type") : NULL;
    gw_grant_tokens_t out;
    issue_t is = {req, &out, 0};
    memset(&out, 0, sizeof(out));
    if (grant && strcmp(grant, DEVICE_CODE_GRANT) == 0) {
        const char *code = gw_login_form_field(a, body, len, "device_code");
        const char *client = gw_login_form_field(a, body, len, "client_id");
        if (!code || !client || strlen(code) > 256)
            return oauth_error(req, conn, 400, "invalid_request",
                               "device_code and client_id are required", 1);
        gw_grant_result_t r =
            gw_devices_poll(req->srv->devices, code, client, record_issue, &is, a, &out);
        return token_answer(req, conn, r, &out);
    }
    if (grant && strcmp(grant, "refresh_token") == 0) {
        const char *refresh = gw_login_form_field(a, body, len, "refresh_token");
        if (!refresh || strlen(refresh) > 256)
            return oauth_error(req, conn, 400, "invalid_request", "refresh_token is required", 1);
        is.refreshed = 1;
        gw_grant_result_t r =
            gw_devices_refresh(req->srv->devices, refresh, record_issue, &is, a, &out);
        return token_answer(req, conn, r, &out);
    }
    return oauth_error(req, conn, 400, "unsupported_grant_type",
                       "hubgate issues tokens by the device_code and refresh_token grants only",
                       1);
}

enum MHD_Result gw_device_answer(gw_request_t *req, struct MHD_Connection *conn,
                                 const char *body, size_t body_len)
{
    int post = strcmp(req->method, "POST") == 0;
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (!req->srv->devices) {
        if (req->route.admin == GW_ADMIN_DEVICE && get)
            return gw_page_message(req, conn, 404, "Sign-in is not configured",
                                   "This gateway has no browser sign-in (identity.login).", 0);
        return oauth_error(req, conn, 404, "unsupported_grant_type",
                           "hf auth login needs browser sign-in (identity.login) on this gateway",
                           1);
    }
    switch (req->route.admin) {
    case GW_ADMIN_DEVICE:
        if (post)
            return authorize_device(req, conn, body, body_len);
        if (get)
            return device_page(req, conn);
        break;
    case GW_ADMIN_DEVICE_CONFIRM:
        return device_confirm(req, conn, body, body_len);
    case GW_ADMIN_OAUTH_TOKEN:
        if (post)
            return token_endpoint(req, conn, body, body_len);
        break;
    default:
        break;
    }
    return oauth_error(req, conn, 405, "invalid_request", "method not allowed", 1);
}
