#include "gateway/auditlog/auditlog.h"
#include "common/err.h"
#include "common/log.h"

#include "gateway/server/request-t.h"
#include "gateway/version.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gw_audit_wait {
    atomic_int refs;
    pthread_mutex_t mu;
    struct MHD_Connection *conn;
    int state;     /* 0 pending, 1 durable, -1 failed */
    int suspended; /* we suspended the connection and owe it a resume */
    int gone;      /* the connection is done: never resume */
};

aud_writer_t *gw_auditlog_open(const gw_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg->audit.signing_key) {
        snprintf(err, errlen,
                 "audit.signing_key is required: every decision is recorded in a signed log "
                 "(create a key with: hubgate keygen --out FILE)");
        return NULL;
    }
    aud_writer_config_t wc = {
        .database_url = cfg->database,
        .stream = cfg->audit.stream,
        .signing_key = cfg->audit.signing_key,
        .mode = cfg->audit.mode == GW_AUDIT_SPOOL ? AUD_MODE_SPOOL : AUD_MODE_STRICT,
        .spool_dir = cfg->audit.spool_dir,
        .checkpoint_every = cfg->audit.checkpoint_every,
        .checkpoint_seconds = cfg->audit.checkpoint_seconds,
        .write_timeout_ms = cfg->audit.write_timeout_ms,
    };
    return aud_writer_open(&wc, err, errlen);
}

static void release(gw_audit_wait_t *w)
{
    if (atomic_fetch_sub(&w->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* The writer's thread: the event is durable (status 0) or will not be. */
static void done(void *arg, int status)
{
    gw_audit_wait_t *w = arg;
    pthread_mutex_lock(&w->mu);
    w->state = status == 0 ? 1 : -1;
    if (w->suspended && !w->gone) {
        w->suspended = 0;
        MHD_resume_connection(w->conn);
    }
    pthread_mutex_unlock(&w->mu);
    release(w);
}

gw_audit_wait_t *gw_audit_wait_submit(aud_writer_t *writer, const aud_event_t *ev,
                                      struct MHD_Connection *conn)
{
    gw_audit_wait_t *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    atomic_init(&w->refs, 2);
    pthread_mutex_init(&w->mu, NULL);
    w->conn = conn;
    int rc = aud_writer_submit(writer, ev, done, w);
    if (rc != 0) {
        cmn_log_warn("audit", "cannot queue a decision event: %s", cmn_err_str(rc));
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

int gw_audit_wait_poll(gw_audit_wait_t *w)
{
    pthread_mutex_lock(&w->mu);
    int state = w->state;
    if (state == 0) {
        w->suspended = 1;
        MHD_suspend_connection(w->conn);
    }
    pthread_mutex_unlock(&w->mu);
    return state;
}

void gw_audit_wait_release(gw_audit_wait_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->gone = 1;
    w->suspended = 0;
    pthread_mutex_unlock(&w->mu);
    release(w);
}

void gw_auditlog_note(aud_writer_t *w, const aud_event_t *ev)
{
    if (!w)
        return;
    int rc = aud_writer_submit(w, ev, NULL, NULL);
    if (rc != 0)
        cmn_log_warn("audit", "cannot queue a %s event: %s", aud_kind_name(ev->kind),
                     cmn_err_str(rc));
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
