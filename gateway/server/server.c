#include "gateway/server/server.h"
#include "audit/db.h"
#include "audit/checkpoint.h"
#include "audit/role.h"
#include "common/clock.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/secret.h"
#include "gateway/http/answer.h"
#include "gateway/metrics/metrics.h"
#include "gateway/metrics/listen.h"
#include "gateway/authz/policy_git.h"
#include "gateway/authz/policy_record.h"
#include "gateway/server/request-t.h"
#include "gateway/version.h"
#include "gateway/http/xff.h"
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
#include "gateway/config/config.h"
#include "gateway/forward/egress.h"
#include "gateway/forward/proxy.h"
#include "gateway/forward/upstream.h"
#include "gateway/http/headers.h"
#include "gateway/route/route.h"
#include "policy/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_STR_(x) #x
#define GW_STR(x) GW_STR_(x)

/* ---- per-request state ------------------------------------------------------------------ */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    gw_request_t *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    req->srv = cls;
    cmn_arena_init(&req->arena, 8192, 1024 * 1024);
    clock_gettime(CLOCK_MONOTONIC, &req->started);
    size_t n = strlen(uri);
    if (n > GW_MAX_TARGET_BYTES) {
        req->target_too_long = 1;
        n = 0;
    }
    /* Copy now: MHD later percent-decodes this buffer in place (libmicrohttpd 0.9.75). */
    req->target = cmn_arena_strndup(&req->arena, uri, n);
    req->target_len = n;
    gw_http_request_id(req->request_id);
    gw_metrics_inflight(1);
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    gw_request_t *req = *con_cls;
    if (!req)
        return;
    uint64_t sent = 0, received = 0;
    int upstream_status = AUD_ABSENT;
    if (req->xfer) {
        gw_xfer_client_done(req->xfer);
        gw_xfer_bytes(req->xfer, &sent, &received);
        if (gw_xfer_error(req->xfer) == GW_XFER_OK)
            upstream_status = gw_xfer_status(req->xfer);
        gw_xfer_release(req->xfer);
        req->xfer = NULL;
    }
    unsigned status = req->status;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && status == 0)
        status = 499; /* the client went away before an answer */
    gw_audit_wait_release(req->audit_wait);
    gw_report_http_done(req);
    if (req->audited && req->srv->audit) {
        aud_event_t ev;
        gw_request_event(req, &ev, AUD_KIND_COMPLETION, status);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        /* Body bytes both ways: the client's body forwarded, and the answer's body — the
         * upstream's bytes as relayed, or the one hubgate made (filtered, rewritten, an error). */
        ev.response.bytes_in = (int64_t)sent;
        ev.response.bytes_out = (int64_t)(req->answer_own ? req->answer_bytes : received);
        ev.response.duration_ms = (now.tv_sec - req->started.tv_sec) * 1000 +
                                  (now.tv_nsec - req->started.tv_nsec) / 1000000;
        ev.response.upstream_status = upstream_status;
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            aud_event_detail_bool(&ev, "client_aborted", 1);
        gw_auditlog_note(req->srv->audit, &ev);
    }
    gw_metrics_request(req->route.action, status);
    /* A sealed egress link is a capability: the log names the route, not the link. */
    int sealed = req->route.family == GW_FAMILY_ADMIN && req->route.admin == GW_ADMIN_EGRESS;
    cmn_log_debug("access", "%s %s %s family=%s action=%s status=%u up=%llu down=%llu",
                  req->request_id, req->method ? req->method : "-",
                  sealed ? "/-/egress/(sealed)" : req->target,
                  gw_route_family_name(req->route.family), gw_route_action_name(req->route.action),
                  status, (unsigned long long)sent, (unsigned long long)received);
    gw_metrics_bytes(sent, received);
    gw_metrics_inflight(-1);
    pol_policy_unref(req->policy);
    pol_policy_unref(req->shadow);
    cmn_buf_free(&req->body);
    cmn_arena_free(&req->arena);
    free(req);
    *con_cls = NULL;
}

/* The handler never reads MHD's decoded url; this keeps it raw anyway, so nobody can. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    cmn_log_warn("http", "%s", line);
}

/* ---- the first handler call: framing, route, decision ----------------------------------- */

typedef struct {
    gw_request_t *req;
    size_t cap;
} header_collect_t;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    header_collect_t *c = cls;
    gw_request_t *req = c->req;
    if (req->nheaders == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        gw_header_t *h = cmn_arena_alloc(&req->arena, cap * sizeof(*h));
        if (!h)
            return MHD_NO;
        if (req->nheaders)
            memcpy(h, req->headers, req->nheaders * sizeof(*h));
        req->headers = h;
        c->cap = cap;
    }
    req->headers[req->nheaders++] = (gw_header_t){key, key_size, value ? value : "",
                                                  value ? value_size : 0};
    return MHD_YES;
}

/* The client's address, past trusted proxies (xff.c). When it cannot be established it is
 * "unknown": network conditions then fail closed and the audit event says so. */
static int client_address(gw_request_t *req, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char peer[INET6_ADDRSTRLEN] = "";
    if (ci && ci->client_addr) {
        if (ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, peer,
                      sizeof(peer));
        else if (ci->client_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, peer,
                      sizeof(peer));
    }
    const gw_config_t *cfg = req->srv->cfg;
    gw_xff_t x;
    int rc = gw_xff_resolve(peer, req->headers, req->nheaders, cfg->trusted_proxies,
                            cfg->n_trusted_proxies, &req->arena, &x);
    snprintf(req->client_ip, sizeof(req->client_ip), "%s", x.client);
    snprintf(req->peer_ip, sizeof(req->peer_ip), "%s", x.peer);
    req->peer_trusted = x.peer_trusted;
    req->forwarded_for = x.forward;
    return rc;
}

static void local_answer(gw_request_t *req, unsigned status, const char *code, const char *msg)
{
    req->phase = GW_PHASE_LOCAL;
    req->local_status = status;
    req->local_code = code;
    req->local_message = msg;
}

/* An anonymous caller on a Hub route, refused as the policy refuses nobody (401 RepoNotFound)
 * before anything else: no body byte is read or classified for a caller who cannot be let in.
 * The policy is asked all the same (its first rule is that nobody is denied everything), so
 * the audit event names its decision; whatever it said, the answer is a refusal. */
static void refuse_anonymous(gw_request_t *req)
{
    pol_subject_t nobody = {.anonymous = 1};
    pol_request_t nothing;
    memset(&nothing, 0, sizeof(nothing));
    req->policy = gw_policies_live(req->srv->policies, NULL);
    pol_decide(req->policy, &nobody, &nothing, NULL, time(NULL), &req->decision);
    req->decision.effect = POL_DENY;
    req->decided = 1;
    gw_metrics_denial(gw_authz_denial_class(&req->decision));
    local_answer(req, 401, "RepoNotFound", "Repository not found");
}

/* A route hubgate never forwards, whatever the policy says (gw_route_treatment: the hub would
 * answer its service account, or the path is hubgate's own): 403 with why, in the Hub's shape.
 * The decision is recorded for the audit event like a policy's. */
static void refuse_route(gw_request_t *req, const char *why)
{
    pol_decision_t *d = &req->decision;
    gw_request_decide(
        req, POL_DENY,
        gw_route_is_hubgate_own(&req->route) ? "hubgate-own-route" : "repo-less-route", why);
    gw_metrics_denial(gw_route_is_hubgate_own(&req->route) ? "hubgate_own_route"
                                                           : "repo_less_route");
    local_answer(req, 403, NULL, d->reason);
}

/* Authorization stage: the policy decides; nothing else calls gw_proxy_start. A denial is
 * answered as the Hub would: no membership → 404 RepoNotFound (401 when anonymous), so
 * existence is not leaked; a condition unmet → 403 with the reason. */
static int authorize(gw_request_t *req, const char *body, size_t body_len)
{
    if (req->route.family == GW_FAMILY_XET_READ_TOKEN ||
        req->route.family == GW_FAMILY_XET_WRITE_TOKEN) {
        /* Xet storage traffic would bypass the gateway: without its tokens clients fall back
         * to plain HTTP transfers. */
        gw_request_decide(req, POL_DENY, "xet-disabled", "Xet storage is disabled by this gateway");
        local_answer(req, 403, NULL, req->decision.reason);
        return 0;
    }
    pol_policy_t *shadow = NULL;
    req->policy = gw_policies_live(req->srv->policies, &shadow);
    gw_authz_decide(req->policy, &req->identity, &req->route, body, body_len, req->client_ip,
                    &req->decision);
    req->decided = 1;
    if (shadow) {
        /* The candidate decides too, unenforced; a disagreement is logged and goes into the
         * request's audit event (shadow_effect, shadow_rule). */
        pol_decision_t cand;
        gw_authz_decide(shadow, &req->identity, &req->route, body, body_len, req->client_ip, &cand);
        if (cand.effect != req->decision.effect) {
            cmn_log_warn("shadow", "%s %s %s: live %s by %s, candidate %s by %s (%s)",
                         req->request_id, req->method, req->target,
                         pol_effect_name(req->decision.effect), req->decision.rule,
                         pol_effect_name(cand.effect), cand.rule, cand.reason);
            req->shadow_differs = 1;
            req->shadow_effect = cand.effect;
            req->shadow_rule = cand.rule;
            req->shadow = shadow; /* keeps cand.rule alive */
            shadow = NULL;
        }
        pol_policy_unref(shadow);
    }
    const pol_decision_t *d = &req->decision;
    if (d->effect == POL_ALLOW) {
        const gw_config_t *cfg = req->srv->cfg;
        req->region = d->region ? gw_config_region(cfg, d->region) : NULL;
        if (!req->region)
            req->region = &cfg->regions[cfg->default_region];
        return 1;
    }
    gw_metrics_denial(gw_authz_denial_class(d));
    if (d->answer == POL_ANSWER_FORBIDDEN)
        local_answer(req, 403, NULL, d->reason);
    else if (req->identity.kind == GW_ID_ANONYMOUS)
        local_answer(req, 401, "RepoNotFound", "Repository not found");
    else
        local_answer(req, 404, "RepoNotFound", "Repository not found");
    return 0;
}

/* Audit stage (strict): the decision event must be durable before anything is forwarded.
 * The connection waits suspended; the writer's callback resumes it. body: a complete body
 * read for classification (forwarded whole), else NULL. */
static enum MHD_Result after_audit(gw_request_t *req, struct MHD_Connection *conn,
                                   const char *upload_data, size_t *upload_data_size);

static enum MHD_Result begin_forward(gw_request_t *req, struct MHD_Connection *conn,
                                     const char *body, size_t body_len)
{
    (void)body;
    (void)body_len; /* still in req->body when the audit wait is over */
    req->stage = "audit";
    if (!req->srv->audit) { /* audit.mode off (benchmarks) */
        req->audited = 1;
        req->phase = GW_PHASE_AUDIT_WAIT;
        req->audit_wait = NULL;
        return after_audit(req, conn, NULL, &(size_t){0});
    }
    aud_event_t ev;
    gw_request_event(req, &ev, AUD_KIND_REQUEST, 0);
    req->audit_wait = gw_audit_wait_submit(req->srv->audit, &ev, conn);
    if (!req->audit_wait)
        return gw_request_error(req, conn, 503, NULL,
                                "the audit log cannot record this request now; try again");
    req->phase = GW_PHASE_AUDIT_WAIT;
    return after_audit(req, conn, NULL, &(size_t){0});
}

static enum MHD_Result after_audit(gw_request_t *req, struct MHD_Connection *conn,
                                   const char *upload_data, size_t *upload_data_size)
{
    int state = req->audit_wait ? gw_audit_wait_poll(req->audit_wait) : 1;
    if (state == 0)
        return MHD_YES; /* suspended; any body stays unread until the event is durable */
    if (state < 0)
        return gw_request_error(req, conn, 503, NULL,
                                "the audit log cannot record this request now; try again");
    req->audited = 1;
    req->stage = "forward";
    const char *msg = NULL;
    unsigned err = req->is_egress ? gw_proxy_start_egress(req, conn, &msg)
                   : req->body.data
                       ? gw_proxy_start(req, conn, req->body.data, req->body.len, &msg)
                       : gw_proxy_start(req, conn, NULL, 0, &msg);
    if (err)
        return gw_request_error(req, conn, err, NULL, msg);
    if (*upload_data_size == 0 && !req->body_complete)
        /* The first call, or the one after the audit resume: not the end of the request. MHD
         * now reads the body (after 100 Continue if asked) and calls again; answering from
         * this state would make MHD 0.9.75 add Connection: close and drop the keep-alive
         * connection (a new TCP connection per request costs over 3/4 of the throughput). */
        return MHD_YES;
    return gw_proxy_continue(req, conn, upload_data, upload_data_size);
}

static enum MHD_Result first_call(gw_request_t *req, struct MHD_Connection *conn,
                                  const char *method, const char *version)
{
    req->method = method;
    header_collect_t hc = {req, 0};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_header, &hc);

    const char *reason = NULL;
    int status = gw_headers_check_request(method, version, req->headers, req->nheaders,
                                          &req->framing, &reason);
    req->stage = "framing";
    if (status)
        /* Answered before any body is read: MHD closes the connection, so a request whose
         * framing we refuse can never desynchronise the next one. */
        return gw_request_error(req, conn, (unsigned)status, NULL, reason);
    if (req->target_too_long)
        return gw_request_error(req, conn, 414, NULL, "request-target is too long");
    if (client_address(req, conn) != 0)
        return gw_request_error(req, conn, 500, NULL, "out of memory");

    req->stage = "route";
    int rc = gw_route_classify_target(method, req->target, req->target_len, &req->arena,
                                      &req->route);
    if (rc == CMN_ERR_NOMEM)
        return gw_request_error(req, conn, 500, NULL, "out of memory");
    if (rc != 0)
        return gw_request_error(req, conn, gw_route_reject_status(req->route.reject), NULL,
                                gw_route_reject_message(req->route.reject));

    req->stage = "authentication";
    /* Public admin routes need nobody; /oauth/ and /scim/ will authenticate their callers on
     * their own terms (client credentials, a provisioning secret), not as Hub callers. */
    int unauthenticated =
        (req->route.family == GW_FAMILY_ADMIN && gw_route_admin_is_public(req->route.admin)) ||
        req->route.family == GW_FAMILY_OAUTH || req->route.family == GW_FAMILY_SCIM;
    if (!unauthenticated) {
        const char *why = NULL;
        gw_auth_reason_t refused = GW_AUTH_REASON_NONE;
        gw_auth_result_t ar = gw_auth_authenticate(req->srv->auth, req->headers, req->nheaders,
                                                   &req->arena, &req->identity, &refused, &why);
        if (ar != GW_AUTH_OK) {
            cmn_log_info("auth", "%s %s: %s (%s)", req->request_id, req->client_ip, why,
                         gw_auth_reason_name(refused));
            gw_metrics_auth_failure(gw_auth_reason_name(refused));
            /* The audit event says why and the reason code; the client gets the Hub's words
             * below. `why` is static text of the identity module, never the credential. */
            req->local_message = why;
            req->auth_failure = refused;
            if (ar == GW_AUTH_UNAVAILABLE)
                return gw_request_error(req, conn, 503, NULL, why);
            if (refused == GW_AUTH_REASON_TOO_MANY_GROUPS)
                /* Not the generic words: the caller can do nothing about those, and here the
                 * fix (fewer groups in the token) is on the identity provider's side. */
                return gw_request_error(req, conn, 401, NULL,
                                        "Invalid credentials in Authorization header: the token "
                                        "carries more than " GW_STR(GW_MAX_GROUPS)
                                        " groups, more than hubgate evaluates; ask your identity "
                                        "provider's administrator to send fewer");
            /* The Hub's exact words, so huggingface_hub raises its usual error. */
            return gw_request_error(req, conn, 401, NULL,
                                    "Invalid credentials in Authorization header");
        }
    }

    req->stage = "authorization";
    const char *why_treated = NULL;
    gw_treatment_t treatment = gw_route_treatment(&req->route, &why_treated);
    if (treatment == GW_TREAT_DENY) {
        refuse_route(req, why_treated);
        if (req->framing.has_body) /* answered now: the body is never read */
            return gw_request_error(req, conn, req->local_status, req->local_code,
                                    req->local_message);
        return MHD_YES;
    }
    int hub_route = treatment != GW_TREAT_LOCAL;
    if (req->identity.kind == GW_ID_ANONYMOUS && hub_route) {
        refuse_anonymous(req);
        if (req->framing.has_body)
            /* Answered now: MHD closes the connection, the body is never read (nor is 100
             * Continue sent to a client that waits for it). */
            return gw_request_error(req, conn, req->local_status, req->local_code,
                                    req->local_message);
        return MHD_YES; /* answered on the next call, keeping the connection */
    }
    int needs_caller = req->route.family != GW_FAMILY_ADMIN ||
                       (!gw_route_admin_is_public(req->route.admin) &&
                        req->route.admin != GW_ADMIN_EGRESS); /* a sealed link is a capability */
    if (req->identity.kind == GW_ID_ANONYMOUS && req->framing.has_body && needs_caller)
        /* the routes hubgate answers itself read no body for nobody either */
        return gw_request_anonymous(req, conn);
    if (req->route.family == GW_FAMILY_ADMIN && req->route.admin == GW_ADMIN_EGRESS) {
        /* A sealed link hubgate handed out: authorized when it was sealed, for this caller. */
        const char *msg = NULL;
        unsigned err = gw_proxy_open_egress(req, &msg);
        if (err)
            return gw_request_error(req, conn, err, NULL, msg);
        return begin_forward(req, conn, NULL, 0);
    }
    if (treatment == GW_TREAT_LOCAL) {
        req->phase = GW_PHASE_LOCAL;
        if (req->framing.has_body) {
            if (req->framing.content_length > GW_MAX_ADMIN_BODY_BYTES) {
                req->stage = "request";
                return gw_request_error(req, conn, 413, NULL, "request body too large");
            }
            cmn_buf_init(&req->body, GW_MAX_ADMIN_BODY_BYTES);
            req->phase = GW_PHASE_READ_BODY;
        }
        return MHD_YES;
    }

    if (req->route.needs_body) {
        size_t cap = gw_route_body_cap(&req->route);
        if (req->framing.content_length > (long long)cap) {
            req->stage = "route"; /* the route's target is in a body it cannot read */
            return gw_request_error(req, conn, 413, NULL,
                                    gw_route_reject_message(GW_REJECT_BODY_TOO_LARGE));
        }
        cmn_buf_init(&req->body, cap);
        req->phase = GW_PHASE_READ_BODY;
        return MHD_YES;
    }

    if (!authorize(req, NULL, 0)) {
        if (req->framing.has_body)
            return gw_request_error(req, conn, req->local_status, req->local_code,
                                    req->local_message);
        return MHD_YES;
    }
    return begin_forward(req, conn, NULL, 0);
}

/* All of a body-borne route's body is here: classify it, decide, forward it whole. */
static enum MHD_Result body_complete(gw_request_t *req, struct MHD_Connection *conn)
{
    req->body_complete = 1;
    int local = gw_route_treatment(&req->route, NULL) == GW_TREAT_LOCAL;
    if (req->body_over_cap) {
        req->stage = local ? "request" : "route";
        return gw_request_error(req, conn, 413, NULL,
                                gw_route_reject_message(GW_REJECT_BODY_TOO_LARGE));
    }
    if (local)
        return gw_admin_answer(req, conn, req->body.data ? req->body.data : "", req->body.len);
    req->stage = "route"; /* the body completes the route */
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    int rc = gw_route_classify_body(&req->route, ctype, req->body.data ? req->body.data : "",
                                    req->body.len, &req->arena);
    if (rc == CMN_ERR_NOMEM)
        return gw_request_error(req, conn, 500, NULL, "out of memory");
    if (rc != 0)
        return gw_request_error(req, conn, gw_route_reject_status(req->route.reject), NULL,
                                gw_route_reject_message(req->route.reject));
    req->stage = "authorization";
    if (!authorize(req, req->body.data, req->body.len))
        return gw_request_error(req, conn, req->local_status, req->local_code,
                                req->local_message);
    if (!req->body.data)
        cmn_buf_append(&req->body, "", 0);
    return begin_forward(req, conn, req->body.data, req->body.len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url; /* decoded by MHD and without the query: never used (see on_uri) */
    gw_request_t *req = *con_cls;
    if (!req)
        return MHD_NO; /* the URI callback could not allocate: drop the connection */

    switch (req->phase) {
    case GW_PHASE_NEW:
        req->phase = GW_PHASE_LOCAL; /* until first_call decides otherwise */
        return first_call(req, conn, method, version);
    case GW_PHASE_LOCAL:
        if (*upload_data_size) {
            *upload_data_size = 0; /* a body nobody reads */
            return MHD_YES;
        }
        if (gw_route_treatment(&req->route, NULL) == GW_TREAT_LOCAL)
            return gw_admin_answer(req, conn, NULL, 0);
        return gw_request_error(req, conn, req->local_status, req->local_code,
                                req->local_message);
    case GW_PHASE_READ_BODY:
        if (*upload_data_size) {
            if (!req->body_over_cap &&
                cmn_buf_append(&req->body, upload_data, *upload_data_size) != 0)
                req->body_over_cap = 1; /* keep reading to the end, then answer 413 */
            *upload_data_size = 0;
            return MHD_YES;
        }
        return body_complete(req, conn);
    case GW_PHASE_AUDIT_WAIT:
        return after_audit(req, conn, upload_data, upload_data_size);
    case GW_PHASE_STREAM_BODY:
    case GW_PHASE_WAIT_HEAD:
        return gw_proxy_continue(req, conn, upload_data, upload_data_size);
    case GW_PHASE_ANSWERED:
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_NO;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

typedef struct {
    gw_server_t *srv;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int stopping;
    int role_checked; /* the database role was found fit (prober thread after the start) */
    atomic_int unfit; /* it was not: the gateway stops with status 1 */
} prober_t;

/* Whether the gateway's database role could change what the audit log holds. Returns 1 when
 * fit, 0 when unfit (every problem and the fix logged), -1 when the database could not be
 * asked (logged as an error when unreachable_is_error, else as a warning). */
static int check_database_role(const gw_config_t *cfg, int unreachable_is_error)
{
    char err[512], role[128] = "?", problems[4096];
    PGconn *db = aud_db_connect(cfg->database, "hubgate role check", err, sizeof(err));
    if (!db) {
        if (unreachable_is_error)
            cmn_log_error("serve", "cannot check the database role: %s", err);
        else
            cmn_log_warn("serve", "cannot check the database role yet (%s): it is checked as "
                                  "soon as the database answers",
                         err);
        return -1;
    }
    int rc = aud_role_check_gateway(db, role, sizeof(role), problems, sizeof(problems));
    PQfinish(db);
    if (rc == 0)
        return 1;
    if (rc == CMN_ERR_DB || rc == CMN_ERR_NOTFOUND) {
        /* Connected, yet the role could not be judged: fail closed. */
        cmn_log_error("serve", "%s", problems);
        return 0;
    }
    cmn_log_error("serve",
                  "the database role \"%s\" is not fit for a gateway, which must be able to "
                  "append to the audit log and unable to change what it holds; hubgate does not "
                  "run with it:",
                  role);
    for (const char *p = problems; *p;) {
        size_t n = strcspn(p, "\n");
        cmn_log_error("serve", "  - %s %.*s", role, (int)n, p);
        p += n + (p[n] == '\n');
    }
    cmn_log_error("serve", "fix: connect as a login role that is a member of hubgate_gateway and "
                           "nothing else; create one with: hubgate db role create --database "
                           "ADMIN_URL --kind gateway --name NAME (see hubgate db --help), and put "
                           "it in \"database\"");
    return 0;
}

/* Probes the database every few seconds for /-/ready, off the request threads. A gateway that
 * started while the database was away checks its role here, once it answers: unfit, it stops. */
static void *probe_database(void *arg)
{
    prober_t *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        pthread_mutex_unlock(&p->lock);
        int ok = PQping(p->srv->cfg->database) == PQPING_OK;
        if (ok != atomic_exchange(&p->srv->db_reachable, ok))
            cmn_log_info("serve", "database %s", ok ? "reachable" : "unreachable");
        if (ok && !p->role_checked) {
            int fit = check_database_role(p->srv->cfg, 0);
            p->role_checked = fit != -1;
            if (fit == 0) {
                atomic_store(&p->unfit, 1);
                kill(getpid(), SIGTERM); /* the main thread's sigwait takes it */
            }
        }
        pthread_mutex_lock(&p->lock);
        struct timespec until = cmn_realtime_after_ms(ok ? 5000 : 1000);
        while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Reads a PEM file; a private key (secret) must be private to its owner, like every secret
 * file (cmn_secret_read). */
static int read_pem(const char *path, int secret, cmn_buf_t *out)
{
    cmn_buf_init(out, 1024 * 1024);
    char why[512];
    int rc = secret ? cmn_secret_read(out, path, why, sizeof(why)) : cmn_buf_read_file(out, path);
    if (rc && !secret)
        snprintf(why, sizeof(why), "cannot read %s: %s", path,
                 rc == CMN_ERR_IO ? strerror(errno) : cmn_err_str(rc));
    if (rc)
        cmn_log_error("serve", "%s", why);
    return rc;
}

/* Every secret file the config names, loaded as `serve` would load it: the same refusals (a
 * mode letting group or others in, bad content), reported the same way. Region token files
 * were read with the config. Returns 0 when all are fit. Blocks. */
static int check_secret_files(const gw_config_t *cfg)
{
    int status = 0;
    char why[512];
    if (cfg->egress_key_file) {
        gw_egress_key_t k;
        if (gw_egress_key_load(&k, cfg->egress_key_file, why, sizeof(why)) != 0) {
            cmn_log_error("serve", "egress_key_file: %s", why);
            status = 1;
        }
        OPENSSL_cleanse(&k, sizeof(k));
    }
    if (cfg->audit.mode != GW_AUDIT_OFF && cfg->audit.signing_key) {
        aud_key_t *k = aud_key_load(cfg->audit.signing_key, why, sizeof(why));
        if (!k) {
            cmn_log_error("serve", "audit.signing_key: %s", why);
            status = 1;
        } else if (!aud_key_is_private(k)) {
            cmn_log_error("serve", "audit.signing_key: %s is a public key (expected the private "
                                   "key made by hubgate keygen)",
                          cfg->audit.signing_key);
            status = 1;
        }
        aud_key_free(k);
    }
    if (cfg->assertion_key) {
        gw_assertion_t *a = gw_assertion_create(cfg->assertion_key, cfg->public_url);
        if (!a)
            status = 1; /* the reason is logged */
        gw_assertion_destroy(a);
    }
    if (cfg->tls_cert) {
        cmn_buf_t c;
        if (read_pem(cfg->tls_cert, 0, &c))
            status = 1;
        cmn_buf_free(&c);
        if (read_pem(cfg->tls_key, 1, &c))
            status = 1;
        if (c.data)
            OPENSSL_cleanse(c.data, c.cap);
        cmn_buf_free(&c);
    }
    return status;
}

/* ---- audit events of the gateway's life ----------------------------------------------- */

/* A detail value that cannot carry a credential: names that come from outside hubgate (a git
 * author, a process name) are written as they are unless they are shaped like one, which the
 * encoder would refuse — and a refused policy.loaded event would refuse the policy. */
static const char *safe_value(const char *v)
{
    return aud_event_value_looks_secret(v) ? "(withheld: shaped like a credential)" : v;
}

/* A load is a privileged change: its event must be durable before the policy decides
 * anything (the caller swaps it in only on 0). A refusal changes nothing: noted, not waited.
 * Either says what triggered it, the file's SHA-256 and, from git, who changed it. */
static int on_policy_event(void *ctx, const gw_policy_event_t *pe)
{
    gw_server_t *srv = ctx;
    if (!srv->audit)
        return 0; /* audit.mode off: nothing is recorded, nothing to wait for */
    aud_event_t ev;
    char first[512]; /* the event borrows it until submitted */
    gw_policy_git_t git;
    aud_event_init(&ev, pe->loaded ? AUD_KIND_POLICY_LOADED : AUD_KIND_POLICY_REJECTED);
    aud_event_detail_str(&ev, "path", pe->path);
    aud_event_detail_str(&ev, "trigger", pe->trigger);
    if (pe->shadow)
        aud_event_detail_bool(&ev, "shadow", 1);
    if (pe->old_sha && *pe->old_sha)
        aud_event_detail_str(&ev, "previous_sha256", pe->old_sha);
    if (pe->new_sha && *pe->new_sha)
        aud_event_detail_str(&ev, "sha256", pe->new_sha);
    if (pe->errors && *pe->errors) {
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(pe->errors, "\n"), pe->errors);
        aud_event_detail_str(&ev, "error", first);
    }
    /* This thread reads the policy (start, SIGHUP, the watcher): never a request's. */
    gw_policy_git_lookup(pe->path, pe->new_sha, &git);
    aud_event_detail_str(&ev, "git_state", gw_policy_git_state_name(git.state));
    if (git.commit[0]) {
        aud_event_detail_str(&ev, "git_commit", git.commit);
        aud_event_detail_str(&ev, "git_author", safe_value(git.author));
    }
    if (git.state == GW_POLICY_GIT_NONE && git.why[0])
        cmn_log_warn("policy", "%s: no git provenance for the audit log: %s", pe->path, git.why);
    if (!pe->loaded) {
        gw_auditlog_note(srv->audit, &ev);
        return 0;
    }
    int rc = aud_writer_append(srv->audit, &ev);
    if (rc != 0)
        cmn_log_warn("policy", "the audit log cannot record the load of %s: %s", pe->path,
                     cmn_err_str(rc));
    char why[512];
    if (rc == 0 && gw_policy_record(srv->cfg->database, pe->path, pe->new_sha, why, sizeof(why)))
        cmn_log_warn("policy", "the text of policy %s is not recorded for reports: %s",
                     pe->new_sha ? pe->new_sha : "?", why);
    return rc;
}

static void on_keys_changed(void *ctx, const char *issuer, const char *summary, const char *trigger)
{
    gw_server_t *srv = ctx;
    aud_event_t ev;
    aud_event_init(&ev, AUD_KIND_KEYS_CHANGED);
    aud_event_detail_str(&ev, "issuer", issuer);
    aud_event_detail_str(&ev, "change", summary);
    aud_event_detail_str(&ev, "trigger", trigger);
    gw_auditlog_note(srv->audit, &ev);
}

/* The name of a user id ("hubgate"), else the number. */
static void user_name(uid_t uid, char *out, size_t cap)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found && found->pw_name)
        snprintf(out, cap, "%s", found->pw_name);
    else
        snprintf(out, cap, "%u", (unsigned)uid);
}

/* The command name of a process ("systemd", "kill"), or "" when it cannot be read (gone). */
static void process_name(pid_t pid, char *out, size_t cap)
{
    char path[64];
    out[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(out, (int)cap, f))
        out[strcspn(out, "\n")] = '\0';
    else
        out[0] = '\0';
    fclose(f);
}

/* What stopped the gateway, for gateway.stopped. */
typedef struct {
    const char *trigger; /* "sigterm", "sigint", "database_role_unfit" */
    int from_process;    /* a process sent the signal: */
    pid_t sender_pid;
    uid_t sender_uid;
} stop_cause_t;

/* gateway.started and gateway.stopped: what started or stopped it, as whom it runs, and (for a
 * signal another process sent) who sent it. */
static void lifecycle_event(gw_server_t *srv, aud_kind_t kind, const stop_cause_t *stop)
{
    if (!srv->audit)
        return;
    aud_event_t ev;
    char os_user[256], parent[64], sender[256], sender_name[64];
    aud_event_init(&ev, kind);
    aud_event_detail_str(&ev, "version", HUBGATE_VERSION);
    aud_event_detail_str(&ev, "config", srv->cfg->path);
    aud_event_detail_str(&ev, "public_url", srv->cfg->public_url);
    user_name(geteuid(), os_user, sizeof(os_user));
    aud_event_detail_str(&ev, "os_user", safe_value(os_user));
    aud_event_detail_int(&ev, "pid", (int64_t)getpid());
    if (kind == AUD_KIND_GATEWAY_STARTED) {
        aud_event_detail_str(&ev, "trigger", "start");
        process_name(getppid(), parent, sizeof(parent));
        if (parent[0])
            aud_event_detail_str(&ev, "parent", safe_value(parent));
        gw_auditlog_note(srv->audit, &ev);
        return;
    }
    aud_event_detail_str(&ev, "trigger", stop->trigger);
    if (stop->from_process) {
        user_name(stop->sender_uid, sender, sizeof(sender));
        aud_event_detail_str(&ev, "signal_sender_user", safe_value(sender));
        aud_event_detail_int(&ev, "signal_sender_pid", (int64_t)stop->sender_pid);
        process_name(stop->sender_pid, sender_name, sizeof(sender_name));
        if (sender_name[0])
            aud_event_detail_str(&ev, "signal_sender", safe_value(sender_name));
    }
    aud_writer_append(srv->audit, &ev); /* the last word: wait for it */
}

int gw_serve_check(const gw_config_t *cfg)
{
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1024 * 1024);
    int status = gw_policies_check_file(cfg, cfg->policy, &errors) == 0 ? 0 : 1;
    if (cfg->shadow && gw_policies_check_file(cfg, cfg->shadow, &errors) != 0)
        status = 1;
    if (errors.len)
        fputs(errors.data, stderr);
    cmn_buf_free(&errors);
    if (check_secret_files(cfg) != 0)
        status = 1;
    return status;
}

int gw_serve_run(const gw_config_t *cfg)
{
    int status = 1;
    gw_server_t srv = {.cfg = cfg};
    cmn_arena_t start_arena; /* what srv keeps from start to stop */
    cmn_arena_init(&start_arena, 1024, 64 * 1024);
    prober_t prober = {.srv = &srv};
    int prober_started = 0;
    gw_metrics_listen_t *metrics = NULL;
    pthread_mutex_init(&prober.lock, NULL);
    pthread_cond_init(&prober.wake, NULL);
    cmn_buf_t cert, key;
    cmn_buf_init(&cert, 0);
    cmn_buf_init(&key, 0);

    /* Signals are taken synchronously by this thread; every other thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Every client connection and every upstream one is a descriptor. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }
    unsigned max_conns = GW_MAX_CONNECTIONS;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 2 * (rlim_t)max_conns + 64)
        max_conns = nofile.rlim_cur > 256 ? (unsigned)(nofile.rlim_cur - 64) / 2 : 64;

    struct sockaddr_storage addr = {0};
    int v6 = strchr(cfg->listen_host, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(cfg->listen_port);
        inet_pton(AF_INET6, cfg->listen_host, &a6->sin6_addr);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(cfg->listen_port);
        inet_pton(AF_INET, cfg->listen_host, &a4->sin_addr);
    }

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    if (cfg->tls_cert) {
        if (read_pem(cfg->tls_cert, 0, &cert) || read_pem(cfg->tls_key, 1, &key))
            goto out;
        flags |= MHD_USE_TLS;
    }
    char kerr[512];
    if (gw_egress_key_load(&srv.egress_key, cfg->egress_key_file, kerr, sizeof(kerr)) != 0) {
        cmn_log_error("serve", "cannot load the egress key: %s", kerr);
        goto out;
    }
    if (!cfg->egress_key_file && cfg->egress == GW_EGRESS_PROXY)
        cmn_log_info("serve", "egress links are sealed with a per-process key: set "
                              "egress_key_file when several instances share a public URL");
    /* Before anything is written: a role that could rewrite the log must not write it. */
    int fit = check_database_role(cfg, 0);
    if (fit == 0)
        goto out;
    prober.role_checked = fit == 1;
    char aerr[512];
    if (cfg->audit.mode == GW_AUDIT_OFF) {
        cmn_log_warn("serve", "audit.mode is off: requests are forwarded WITHOUT an audit "
                              "record. For benchmarks only; never in production.");
    } else if (!(srv.audit = gw_auditlog_open(cfg, aerr, sizeof(aerr)))) {
        cmn_log_error("serve", "cannot open the audit log: %s", aerr);
        goto out;
    }
    cmn_buf_t perr;
    cmn_buf_init(&perr, 1024 * 1024);
    srv.policies = gw_policies_start(cfg, &perr, on_policy_event, &srv);
    if (!srv.policies) {
        fputs(perr.data ? perr.data : "cannot load the policy\n", stderr);
        cmn_log_error("serve", "the policy %s is invalid: not starting", cfg->policy);
        cmn_buf_free(&perr);
        goto out;
    }
    cmn_buf_free(&perr);
    if (gw_headers_public_origin(cfg->public_url, &start_arena, &srv.public_proto,
                                 &srv.public_host) != 0) {
        cmn_log_error("serve", "public_url %s names no http(s) host", cfg->public_url);
        goto out;
    }
    srv.assertion = gw_assertion_create(cfg->assertion_key, cfg->public_url);
    srv.tokens = gw_tokens_create(cfg->database);
    srv.jwks = cfg->n_issuers ? gw_jwks_start(cfg, on_keys_changed, &srv) : NULL;
    srv.auth = gw_auth_create(cfg, srv.jwks, srv.tokens);
    if (!srv.assertion || !srv.tokens || (cfg->n_issuers && !srv.jwks) || !srv.auth) {
        cmn_log_error("serve", "cannot set up authentication");
        goto out;
    }
    srv.upstream = gw_upstream_create();
    if (!srv.upstream) {
        cmn_log_error("serve", "cannot start the upstream I/O thread");
        goto out;
    }
    srv.reports = gw_reports_create();
    if (!srv.reports) {
        cmn_log_error("serve", "out of memory");
        goto out;
    }

    if (cfg->metrics_port &&
        !(metrics = gw_metrics_listen_start(cfg->metrics_host, cfg->metrics_port)))
        goto out;

    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, cert.data},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key.data},
        {MHD_OPTION_END, 0, NULL},
    };
    srv.daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, &srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, max_conns,
        MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)GW_MAX_HEADER_BYTES, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->timeouts.client_idle_seconds, MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        &srv, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, &srv, MHD_OPTION_ARRAY, cfg->tls_cert ? tls_opts : tls_opts + 2, MHD_OPTION_END);
    if (!srv.daemon) {
        cmn_log_error("serve", "cannot listen on %s:%u: %s", cfg->listen_host, cfg->listen_port,
                      errno ? strerror(errno) : "libmicrohttpd refused the options");
        goto out;
    }
    if (pthread_create(&prober.thread, NULL, probe_database, &prober) == 0)
        prober_started = 1;
    lifecycle_event(&srv, AUD_KIND_GATEWAY_STARTED, NULL);
    cmn_log_info("serve", "listening on %s://%s:%u (public URL %s, %zu region%s)",
                 cfg->tls_cert ? "https" : "http", cfg->listen_host, cfg->listen_port,
                 cfg->public_url, cfg->n_regions, cfg->n_regions == 1 ? "" : "s");
    if (metrics)
        cmn_log_info("serve", "metrics on http://%s%s%s:%u/metrics",
                     strchr(cfg->metrics_host, ':') ? "[" : "", cfg->metrics_host,
                     strchr(cfg->metrics_host, ':') ? "]" : "", cfg->metrics_port);

    stop_cause_t stop = {"sigterm", 0, 0, 0};
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&sigs, &si);
        if (sig < 0)
            continue;
        if (sig == SIGHUP) {
            cmn_log_info("serve", "SIGHUP: reloading the policy");
            gw_policies_reload(srv.policies, "sighup");
            continue;
        }
        /* Who stopped it: a process (kill, systemd) says so in the signal; the prober stops
         * the gateway itself when its database role is unfit. */
        stop.trigger = sig == SIGINT ? "sigint" : "sigterm";
        if (si.si_code == SI_USER || si.si_code == SI_QUEUE) {
            if (si.si_pid == getpid() && atomic_load(&prober.unfit)) {
                stop.trigger = "database_role_unfit";
            } else {
                stop.from_process = 1;
                stop.sender_pid = si.si_pid;
                stop.sender_uid = si.si_uid;
            }
        }
        cmn_log_info("serve", "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    /* Stop accepting, let the upstream side finish or abort every transfer (which resumes
     * every suspended connection: MHD must not stop with one suspended), then stop. */
    MHD_quiesce_daemon(srv.daemon);
    gw_upstream_shutdown(srv.upstream);
    gw_reports_drain(srv.reports); /* a report being made resumes its connection when done */
    MHD_stop_daemon(srv.daemon);
    lifecycle_event(&srv, AUD_KIND_GATEWAY_STOPPED, &stop);
    cmn_log_info("serve", "stopped");
    status = atomic_load(&prober.unfit) ? 1 : 0;
out:
    if (prober_started) {
        pthread_mutex_lock(&prober.lock);
        prober.stopping = 1;
        pthread_cond_broadcast(&prober.wake);
        pthread_mutex_unlock(&prober.lock);
        pthread_join(prober.thread, NULL);
    }
    gw_metrics_listen_stop(metrics);
    gw_upstream_destroy(srv.upstream);
    gw_reports_destroy(srv.reports);
    gw_auth_destroy(srv.auth);
    gw_jwks_stop(srv.jwks);
    gw_tokens_destroy(srv.tokens);
    gw_assertion_destroy(srv.assertion);
    gw_policies_stop(srv.policies);
    aud_writer_close(srv.audit);
    cmn_buf_free(&cert);
    if (key.data)
        memset(key.data, 0, key.len);
    cmn_buf_free(&key);
    pthread_cond_destroy(&prober.wake);
    pthread_mutex_destroy(&prober.lock);
    cmn_arena_free(&start_arena);
    return status;
}
