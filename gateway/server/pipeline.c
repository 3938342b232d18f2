#include "gateway/server/pipeline.h"
#include "gateway/server/loop.h"

#include "common/err.h"
#include "common/log.h"

#include "gateway/http/answer.h"
#include "gateway/metrics/metrics.h"

#include "gateway/version.h"
#include "gateway/http/xff.h"

#include "gateway/admin/admin.h"
#include "gateway/admin/login.h"
#include "gateway/admin/scim.h"
#include "gateway/admin/report_http.h"
#include "gateway/auditlog/auditlog.h"
#include "gateway/auditlog/wait.h"
#include "gateway/auditlog/request.h"

#include "gateway/authz/residency.h"
#include "gateway/authz/authz.h"
#include "gateway/authz/policies.h"

#include "gateway/forward/xet.h"
#include "gateway/forward/xet_cas.h"
#include "gateway/forward/fanout.h"
#include "gateway/forward/proxy.h"

#include "gateway/forward/xfer.h"

#include "gateway/authn/auth.h"

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

void *gw_pipeline_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    gw_request_t *req = gw_loop_request_new(cls);
    if (!req)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &req->started);
    size_t n = strlen(uri);
    if (n > GW_MAX_TARGET_BYTES) {
        req->target_too_long = 1;
        n = 0;
    }
    /* Copy now: MHD later percent-decodes this buffer in place (libmicrohttpd 0.9.75). */
    req->target = cmn_arena_strndup(&req->arena, uri, n);
    req->target_len = n;
    gw_answer_request_id(req->request_id);
    gw_metrics_inflight(1);
    return req;
}

void gw_pipeline_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    gw_request_t *req = *con_cls;
    if (!req)
        return;
    uint64_t sent = 0, received = 0;
    int upstream_status = AUD_ABSENT;
    if (req->n_fan) {
        gw_fanout_done(req, &sent, &received, &upstream_status);
        if (upstream_status < 0)
            upstream_status = AUD_ABSENT;
    } else if (req->xfer) {
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
    if (req->audited && req->audit) {
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
        gw_auditlog_note(req->audit, &ev);
    }
    gw_metrics_request(req->route.action, status);
    /* A sealed egress link is a capability: the log names the route, not the link. */
    int sealed = req->route.family == GW_FAMILY_ADMIN && req->route.admin == GW_ADMIN_EGRESS;
    /* nor does it name a sign-in's code and state */
    int callback =
        req->route.family == GW_FAMILY_ADMIN && req->route.admin == GW_ADMIN_LOGIN_CALLBACK;
    cmn_log_debug("access", "%s %s %s family=%s action=%s status=%u up=%llu down=%llu",
                  req->request_id, req->method ? req->method : "-",
                  sealed ? "/-/egress/(sealed)" : callback ? "/-/login/callback" : req->target,
                  gw_route_family_name(req->route.family), gw_route_action_name(req->route.action),
                  status, (unsigned long long)sent, (unsigned long long)received);
    gw_metrics_bytes(sent, received);
    gw_metrics_inflight(-1);
    pol_policy_unref(req->policy);
    pol_policy_unref(req->shadow);
    cmn_buf_free(&req->body);
    gw_loop_request_done(cls, req);
    *con_cls = NULL;
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

/* An address into one of the request's fixed fields (longer ones are cut: they are shorter
 * than the field whatever xff.c returns). */
static void copy_address(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
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
    copy_address(req->client_ip, sizeof(req->client_ip), x.client);
    copy_address(req->peer_ip, sizeof(req->peer_ip), x.peer);
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
    /* With Xet off (forward/xet.h): its tokens would let clients carry bytes around the
     * gateway (without them they fall back to plain HTTP transfers), and a bucket keeps its
     * files in Xet storage only, so nothing can be added to one. */
    const char *xet_off = NULL;
    if (req->srv->cfg->xet == GW_XET_OFF)
        xet_off = req->route.family == GW_FAMILY_XET_READ_TOKEN ||
                          req->route.family == GW_FAMILY_XET_WRITE_TOKEN
                      ? "Xet storage is disabled by this gateway"
                  : req->route.family == GW_FAMILY_BUCKET_BATCH
                      ? "buckets store files only in Xet storage, which this gateway does not "
                        "carry"
                      : NULL;
    if (xet_off) {
        gw_request_decide(req, POL_DENY, "xet-disabled", xet_off);
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
        /* a listing goes to the hubs that hold what it lists (forward/fanout.h) */
        if (req->route.family == GW_FAMILY_LIST_REPOS && !req->route.namespace &&
            gw_fanout_plan(req) != 0) {
            local_answer(req, 500, NULL, "out of memory");
            return 0;
        }
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

/* Forward stage, on each handler call once started. */
static enum MHD_Result forward_continue(gw_request_t *req, struct MHD_Connection *conn,
                                        const char *upload_data, size_t *upload_data_size)
{
    return req->n_fan ? gw_fanout_continue(req, conn, upload_data, upload_data_size)
                      : gw_proxy_continue(req, conn, upload_data, upload_data_size);
}

static enum MHD_Result begin_forward(gw_request_t *req, struct MHD_Connection *conn,
                                     const char *body, size_t body_len)
{
    (void)body;
    (void)body_len; /* still in req->body when the audit wait is over */
    req->stage = "audit";
    if (!req->audit) { /* audit.mode off (benchmarks) */
        req->audited = 1;
        req->phase = GW_PHASE_AUDIT_WAIT;
        req->audit_wait = NULL;
        return after_audit(req, conn, NULL, &(size_t){0});
    }
    aud_event_t ev;
    gw_request_event(req, &ev, AUD_KIND_REQUEST, 0);
    req->audit_wait = gw_audit_wait_submit(req->audit, &ev, conn, req->wake_fd);
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
    int err = req->is_egress ? gw_proxy_start_egress(req, conn, req->body.data, req->body.len, &msg)
              : req->n_fan     ? gw_fanout_start(req, conn, &msg)
              : req->body.data ? gw_proxy_start(req, conn, req->body.data, req->body.len, &msg)
                               : gw_proxy_start(req, conn, NULL, 0, &msg);
    if (err)
        return gw_request_fail(req, conn, err, msg);
    if (*upload_data_size == 0 && !req->body_complete)
        /* The first call, or the one after the audit resume: not the end of the request. MHD
         * now reads the body (after 100 Continue if asked) and calls again; answering from
         * this state would make MHD 0.9.75 add Connection: close and drop the keep-alive
         * connection (a new TCP connection per request costs over 3/4 of the throughput). */
        return MHD_YES;
    return forward_continue(req, conn, upload_data, upload_data_size);
}

/* A body read whole before anything is decided or forwarded, into req->body, up to cap: one
 * declared larger is refused now (413, refused by `stage`, with `message`) without reading it;
 * one that turns out larger (chunked) is refused once read (body_complete). */
static enum MHD_Result read_body(gw_request_t *req, struct MHD_Connection *conn, size_t cap,
                                 const char *stage, const char *message)
{
    if (req->framing.content_length > (long long)cap) {
        req->stage = stage;
        return gw_request_error(req, conn, 413, NULL, message);
    }
    cmn_buf_init(&req->body, cap);
    req->phase = GW_PHASE_READ_BODY;
    return MHD_YES;
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
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);

    req->stage = "route";
    int rc = gw_route_classify_target(method, req->target, req->target_len, &req->arena,
                                      &req->route);
    if (rc == CMN_ERR_NOMEM)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    if (rc != 0)
        return gw_request_error(req, conn, gw_route_reject_status(req->route.reject), NULL,
                                gw_route_reject_message(req->route.reject));

    req->stage = "authentication";
    /* Public admin routes need nobody; /oauth/ and /scim/ will authenticate their callers on
     * their own terms (client credentials, a provisioning secret), not as Hub callers; a Xet
     * CAS call carries hubgate's Xet token, opened below. */
    int xet_cas = req->route.family == GW_FAMILY_ADMIN && req->route.admin == GW_ADMIN_XET_CAS;
    int unauthenticated =
        (req->route.family == GW_FAMILY_ADMIN && gw_route_admin_is_public(req->route.admin)) ||
        req->route.family == GW_FAMILY_OAUTH || req->route.family == GW_FAMILY_SCIM || xet_cas;
    if (!unauthenticated) {
        const char *why = NULL;
        gw_auth_reason_t refused = GW_AUTH_REASON_NONE;
        int ar = gw_auth_authenticate(req->srv->auth, req->headers, req->nheaders, &req->arena,
                                      &req->identity, &refused, &why);
        if (ar != 0) {
            cmn_log_info("auth", "%s %s: %s (%s)", req->request_id, req->client_ip, why,
                         gw_auth_reason_name(refused));
            gw_metrics_auth_failure(gw_auth_reason_name(refused));
            /* The audit event says why and the reason code; the client gets the Hub's words
             * below. `why` is static text of the identity module, never the credential. */
            req->local_message = why;
            req->auth_failure = refused;
            if (ar != CMN_ERR_UNAUTHENTICATED)
                return gw_request_fail(req, conn, ar, why);
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

    if (req->identity.kind == GW_ID_ANONYMOUS && gw_login_session_route(&req->route)) {
        /* hubgate's own pages: a person's browser session, when its cookie names a live one */
        int sr = gw_login_authenticate(req);
        if (sr)
            return gw_request_fail(req, conn, sr, "the session store is unavailable");
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
    int needs_caller = req->route.family == GW_FAMILY_SCIM ? 0 /* its own bearer secret */
                       : req->route.family != GW_FAMILY_ADMIN ||
                           (!gw_route_admin_is_public(req->route.admin) &&
                            req->route.admin != GW_ADMIN_EGRESS && /* a sealed link is a capability */
                            !xet_cas);
    if (req->identity.kind == GW_ID_ANONYMOUS && req->framing.has_body && needs_caller)
        /* the routes hubgate answers itself read no body for nobody either */
        return gw_request_anonymous(req, conn);
    if (xet_cas) {
        /* Authorized when its token was granted, for that caller and repo (forward/xet_cas.h). */
        const char *msg = NULL;
        int err = gw_xet_cas_open(req, &msg);
        if (err)
            return gw_request_fail(req, conn, err, msg);
        if (req->xet_endpoint == GW_XET_EP_SHARD)
            /* read whole, so that the files it defines are audited before it is forwarded */
            return read_body(req, conn, GW_MAX_XET_SHARD_BYTES, "request",
                             "the shard is too large");
        return begin_forward(req, conn, NULL, 0);
    }
    if (req->route.family == GW_FAMILY_ADMIN && req->route.admin == GW_ADMIN_EGRESS) {
        /* A sealed link hubgate handed out: authorized when it was sealed, for this caller. */
        const char *msg = NULL;
        int err = gw_proxy_open_egress(req, &msg);
        if (err)
            return gw_request_fail(req, conn, err, msg);
        return begin_forward(req, conn, NULL, 0);
    }
    if (treatment == GW_TREAT_LOCAL) {
        req->phase = GW_PHASE_LOCAL;
        if (req->framing.has_body)
            return read_body(req, conn,
                             req->route.family == GW_FAMILY_SCIM ? GW_MAX_SCIM_BODY_BYTES
                                                                 : GW_MAX_ADMIN_BODY_BYTES,
                             "request", "request body too large");
        return MHD_YES;
    }

    if (req->route.needs_body)
        /* "route": the route's target is in a body it cannot read when over its cap */
        return read_body(req, conn, gw_route_body_cap(&req->route), "route",
                         gw_route_reject_message(GW_REJECT_BODY_TOO_LARGE));

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
    if (req->xet_endpoint == GW_XET_EP_SHARD) {
        req->stage = "request";
        if (req->body_over_cap)
            return gw_request_error(req, conn, 413, NULL, "the shard is too large");
        const char *msg = NULL;
        int err = gw_xet_cas_shard(req, req->body.data ? req->body.data : "", req->body.len, &msg);
        if (err)
            return gw_request_fail(req, conn, err, msg);
        return begin_forward(req, conn, req->body.data, req->body.len);
    }
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
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    if (rc != 0)
        return gw_request_error(req, conn, gw_route_reject_status(req->route.reject), NULL,
                                gw_route_reject_message(req->route.reject));
    req->stage = "authorization";
    if (!authorize(req, req->body.data, req->body.len))
        return gw_request_error(req, conn, req->local_status, req->local_code,
                                req->local_message);
    if (!req->body.data)
        cmn_buf_append(&req->body, "", 0);
    /* The client may offer the Xet transfer; hubgate does not carry it (forward/xet.h). The
     * body was classified and judged above: only the offer changes. */
    if (req->route.family == GW_FAMILY_LFS_BATCH && req->srv->cfg->xet == GW_XET_OFF &&
        (rc = gw_xet_strip_batch_request(&req->body)) < 0)
        return gw_request_fail(req, conn, rc, "the LFS batch request cannot be rewritten");
    /* A repo created without a region is created where hubgate will route it: the region the
     * policy gives it (when its org names regions; the Hub's own default is invisible here). */
    if (req->route.family == GW_FAMILY_REPO_CREATE && req->decision.region_listed &&
        req->decision.region &&
        (rc = gw_residency_create_region(&req->body, req->decision.region)) < 0)
        return gw_request_fail(req, conn, rc, "the create request cannot be rewritten");
    return begin_forward(req, conn, req->body.data, req->body.len);
}

enum MHD_Result gw_pipeline_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url; /* decoded by MHD and without the query: never used (see gw_pipeline_on_uri) */
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
        return forward_continue(req, conn, upload_data, upload_data_size);
    case GW_PHASE_ANSWERED:
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_NO;
}
