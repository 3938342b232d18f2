#include "gateway/auditlog/request.h"

#include "common/err.h"

#include "gateway/auditlog/auditlog.h"
#include "gateway/http/answer.h"
#include "gateway/version.h"

#include "gateway/authn/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int is_git_family(gw_family_t f)
{
    return f == GW_FAMILY_GIT_INFO_REFS || f == GW_FAMILY_GIT_UPLOAD_PACK ||
           f == GW_FAMILY_GIT_RECEIVE_PACK || f == GW_FAMILY_LFS_BATCH ||
           f == GW_FAMILY_LFS_VERIFY || f == GW_FAMILY_LFS_LOCKS;
}

/* Public admin routes (health, readiness, metrics, keys) are not audited: they carry no
 * identity and would drown the log. */
static int audited_route(const gw_request_t *req)
{
    return !(req->route.family == GW_FAMILY_ADMIN && gw_route_admin_is_public(req->route.admin));
}

enum MHD_Result gw_request_error(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                 const char *code, const char *message)
{
    req->status = status;
    req->phase = GW_PHASE_ANSWERED;
    req->answer_own = 1; /* the upstream's bytes, if any came, are not what the client gets */
    req->answer_bytes = 0;
    if (!req->local_message)
        req->local_message = message;
    if (!req->audited && req->audit && audited_route(req)) {
        /* A refusal is audited as completely as an allow (not waited for: nothing is
         * forwarded, so nothing is left unaudited if this event is lost). */
        aud_event_t ev;
        gw_request_event(req, &ev, AUD_KIND_REQUEST, status);
        gw_auditlog_note(req->audit, &ev);
    }
    int git = is_git_family(req->route.family);
    return gw_answer_error(conn, status, code, message, req->request_id,
                         status == 401 ? git ? "Basic realm=\"Hugging Face Hub (hubgate)\""
                                             : "Bearer realm=\"hubgate\""
                                       : NULL);
}

enum MHD_Result gw_request_fail(gw_request_t *req, struct MHD_Connection *conn, int err,
                                const char *message)
{
    return gw_request_error(req, conn, gw_answer_status(err), NULL,
                            message ? message : cmn_err_str(err));
}

void gw_request_decide(gw_request_t *req, pol_effect_t effect, const char *rule, const char *reason)
{
    pol_decision_t *d = &req->decision;
    memset(d, 0, sizeof(*d));
    d->effect = effect;
    d->answer = effect == POL_ALLOW ? POL_ANSWER_ALLOW : POL_ANSWER_FORBIDDEN;
    d->rule = rule;
    d->role = POL_ROLE_NONE;
    d->target = -1;
    snprintf(d->reason, sizeof(d->reason), "%s", reason ? reason : "");
    req->decided = 1;
}

enum MHD_Result gw_request_anonymous(gw_request_t *req, struct MHD_Connection *conn)
{
    /* The policy's own words for nobody (its first rule), without asking it: hubgate's routes
     * are not the policy's to open. */
    req->stage = "authorization";
    gw_request_decide(req, POL_DENY, "anonymous", "authentication required");
    return gw_request_error(req, conn, 401, NULL, "Invalid credentials in Authorization header");
}

/* A sentence for decision.reason that cannot carry a credential: every reason hubgate writes is
 * its own static text, and this keeps it so whatever a future caller passes. */
static const char *safe_reason(const char *reason)
{
    return aud_event_value_looks_secret(reason) ? "(withheld: shaped like a credential)" : reason;
}

/* Who caused the request: the caller hubgate authenticated; for a sealed egress link, the
 * principal it was sealed for (the same person when credentials came with it: the link opens
 * for nobody else), so that the bytes of a download are counted under one actor. Nobody for an
 * anonymous caller and a refused credential (unverified claims name nobody). */
static void event_actor(gw_request_t *req, aud_event_t *ev)
{
    const gw_identity_t *id = &req->identity;
    if (req->is_egress) {
        const gw_egress_claim_t *c = &req->egress;
        if (!*c->sub)
            return;
        ev->actor.iss = c->iss;
        ev->actor.sub = c->sub;
        ev->actor.email = *c->email ? c->email : NULL;
        ev->actor.token_id = *c->token_id ? c->token_id : NULL;
        if (id->kind != GW_ID_ANONYMOUS) {
            ev->actor.groups = (const char *const *)id->groups;
            ev->actor.n_groups = id->ngroups;
            ev->actor.mfa = id->mfa ? 1 : 0;
        }
        return;
    }
    if (id->kind == GW_ID_ANONYMOUS)
        return;
    ev->actor.iss = id->iss;
    ev->actor.sub = id->sub;
    ev->actor.email = id->email;
    ev->actor.groups = (const char *const *)id->groups;
    ev->actor.n_groups = id->ngroups;
    ev->actor.token_id = id->token_id; /* the id, never the token */
    ev->actor.mfa = id->mfa ? 1 : 0;
}

/* The repo the request is about, spelled one way everywhere: request.repo_type ("model", …)
 * and request.repo ("namespace/name", or the bare name of a legacy one-segment id), both or
 * neither. An egress link names the repo of the request that produced it, spelled by the same
 * rule when it was sealed. A route that names a namespace but no repo (a listing of a
 * namespace's buckets, an org's page, a collection) says details.namespace instead. */
static void event_repo(gw_request_t *req, aud_event_t *ev)
{
    if (req->is_egress) {
        const gw_egress_claim_t *c = &req->egress;
        if (*c->repo_type && *c->repo) {
            ev->request.repo_type = c->repo_type;
            ev->request.repo = c->repo;
        }
        ev->request.action = c->action;
        return;
    }
    const gw_route_t *r = &req->route;
    int headline = r->name && r->repo_type != GW_REPO_NONE;
    if (headline) {
        ev->request.repo_type = gw_route_repo_type_name(r->repo_type);
        ev->request.repo = r->namespace && *r->namespace
                               ? cmn_arena_printf(&req->arena, "%s/%s", r->namespace, r->name)
                               : r->name;
        ev->request.revision = r->revision;
        ev->request.file = r->path_in_repo;
    } else if (r->namespace && *r->namespace) {
        aud_event_detail_str(ev, "namespace", r->namespace);
    }
    ev->request.action = gw_route_action_name(r->action);

    /* The other repos the request acts on (a move's destination, a duplicate's source, a repo
     * a bucket copies from, a collection's item), each "repo_type:repo=action", the repo
     * spelled as above. */
    const char **others = cmn_arena_alloc(&req->arena, GW_ROUTE_MAX_REPOS * sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; others && i < r->nrepos && i < GW_ROUTE_MAX_REPOS; i++) {
        const gw_route_repo_t *o = &r->repos[i];
        if (headline && o->type == r->repo_type && strcmp(o->name, r->name) == 0 &&
            strcmp(o->namespace ? o->namespace : "", r->namespace ? r->namespace : "") == 0)
            continue;
        const char *item = cmn_arena_printf(
            &req->arena, "%s:%s%s%s=%s", gw_route_repo_type_name(o->type),
            o->namespace ? o->namespace : "", o->namespace && *o->namespace ? "/" : "", o->name,
            gw_route_action_name(o->action));
        if (item)
            others[n++] = item;
    }
    if (n)
        aud_event_detail_list(ev, "other_repos", others, n);
}

void gw_request_event(gw_request_t *req, aud_event_t *ev, aud_kind_t kind, unsigned status)
{
    aud_event_init(ev, kind);
    ev->request_id = req->request_id;
    event_actor(req, ev);
    ev->client.ip = req->client_ip[0] ? req->client_ip : NULL;
    const gw_header_t *ua = gw_headers_find(req->headers, req->nheaders, "user-agent");
    ev->client.user_agent = ua ? cmn_arena_strndup(&req->arena, ua->value, ua->value_len) : NULL;

    ev->request.method = req->method;
    if (req->route.family == GW_FAMILY_ADMIN && req->route.admin == GW_ADMIN_EGRESS) {
        ev->request.path = "/-/egress"; /* the sealed link is a capability: never recorded */
    } else if (req->target) {
        size_t n = strcspn(req->target, "?");
        ev->request.path = cmn_arena_strndup(&req->arena, req->target, n);
    }
    event_repo(req, ev);

    /* The decision: the policy's, hubgate's own (gw_request_decide), or for an egress link the
     * one it was sealed under (who may use it was settled then). */
    int decided_allow = req->is_egress || (req->decided && req->decision.effect == POL_ALLOW);
    int allowed = req->audited || (decided_allow && status < 400); /* 0: not answered yet */
    ev->decision.effect = allowed ? "allow" : "deny";
    if (req->is_egress) {
        const gw_egress_claim_t *c = &req->egress;
        ev->decision.rule = *c->rule ? c->rule : "egress-link";
        ev->decision.reason = "a link hubgate sealed for this caller";
        ev->decision.org = *c->org ? c->org : NULL;
        ev->decision.role = *c->role ? c->role : NULL;
        ev->decision.region = c->region;
        ev->decision.policy_sha256 = *c->policy_sha256 ? c->policy_sha256 : NULL;
    } else if (req->decided) {
        ev->decision.rule = req->decision.rule;
        ev->decision.reason = req->decision.reason;
        ev->decision.org = req->decision.org;
        ev->decision.role =
            req->decision.role != POL_ROLE_NONE ? pol_role_name(req->decision.role) : NULL;
        ev->decision.region = req->region ? req->region->name : req->decision.region;
        if (req->policy)
            ev->decision.policy_sha256 = pol_policy_sha256(req->policy);
    }
    if (!allowed) {
        /* A refusal says which stage refused and why. When a decision allowed the request and a
         * later stage refused it (the audit log could not record it), the decision's org, role
         * and region stay, and the refusal's own words replace its rule and reason. */
        const char *stage = req->stage ? req->stage : "gateway";
        aud_event_detail_str(ev, "refused_by", stage);
        if (!req->decided || decided_allow) {
            ev->decision.rule = stage;
            ev->decision.reason = req->local_message;
        }
        if (req->auth_failure != GW_AUTH_REASON_NONE)
            aud_event_detail_str(ev, "auth_failure", gw_auth_reason_name(req->auth_failure));
    } else if (kind == AUD_KIND_COMPLETION && req->answer_own && status >= 400 &&
               req->local_message) {
        /* Forwarding was allowed, and hubgate answered with an error of its own (the upstream
         * unreachable, an answer it cannot inspect): why. */
        aud_event_detail_str(ev, "error", safe_reason(req->local_message));
    }
    if (ev->decision.reason)
        ev->decision.reason = safe_reason(ev->decision.reason);
    if (req->shadow_differs && kind == AUD_KIND_REQUEST) {
        aud_event_detail_str(ev, "shadow_effect", pol_effect_name(req->shadow_effect));
        aud_event_detail_str(ev, "shadow_rule", req->shadow_rule);
        aud_event_detail_str(ev, "shadow_policy_sha256", pol_policy_sha256(req->shadow));
    }
    if (req->refused_destination)
        aud_event_detail_str(ev, "refused_destination", req->refused_destination);
    /* a listing asked of several regions' hubs (forward/fanout.h); the event borrows the list */
    const char **names = req->n_fan ? cmn_arena_alloc(&req->arena, req->n_fan * sizeof(*names))
                                    : NULL;
    for (size_t i = 0; names && i < req->n_fan; i++)
        names[i] = req->fan_regions[i]->name;
    if (names)
        aud_event_detail_list(ev, "regions", names, req->n_fan);
    if (req->xet_object)
        aud_event_detail_str(ev, "xet_object", req->xet_object);
    else if (req->is_egress && req->egress.object && *req->egress.object)
        aud_event_detail_str(ev, "xet_object", req->egress.object); /* a Xet transfer's file */
    if (req->xet_range)
        aud_event_detail_str(ev, "xet_range", req->xet_range);
    if (req->xet_files_total) {
        aud_event_detail_list(ev, "xet_files", req->xet_files, req->n_xet_files);
        aud_event_detail_int(ev, "xet_files_total", (int64_t)req->xet_files_total);
    }
    if (status)
        ev->response.status = (int)status;
}

void gw_request_report_event(gw_request_t *req, aud_event_t *ev, const char *from, const char *to,
                             const char *org, const char *format)
{
    gw_request_event(req, ev, AUD_KIND_REPORT_EXPORTED, 0);
    if (from)
        aud_event_detail_str(ev, "from", from);
    if (to)
        aud_event_detail_str(ev, "to", to);
    if (org)
        aud_event_detail_str(ev, "org", org);
    if (format)
        aud_event_detail_str(ev, "format", format);
}
