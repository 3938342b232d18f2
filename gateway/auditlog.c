#include "gateway/auditlog.h"
#include "common/err.h"
#include "common/log.h"

#include "gateway/request.h"
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

void gw_request_event(gw_request_t *req, aud_event_t *ev, aud_kind_t kind, unsigned status)
{
    aud_event_init(ev, kind);
    ev->request_id = req->request_id;
    const gw_identity_t *id = &req->identity;
    if (id->kind != GW_ID_ANONYMOUS) {
        ev->actor.iss = id->iss;
        ev->actor.sub = id->sub;
        ev->actor.email = id->email;
        ev->actor.groups = (const char *const *)id->groups;
        ev->actor.n_groups = id->ngroups;
        ev->actor.token_id = id->token_id; /* the id, never the token */
        ev->actor.mfa = id->mfa ? 1 : 0;
    } else if (req->is_egress && *req->egress.sub) {
        /* A sealed link used without credentials: the caller it was sealed for. */
        const gw_egress_claim_t *c = &req->egress;
        ev->actor.iss = c->iss;
        ev->actor.sub = c->sub;
        ev->actor.email = *c->email ? c->email : NULL;
        ev->actor.token_id = *c->token_id ? c->token_id : NULL;
    }
    ev->client.ip = req->client_ip[0] ? req->client_ip : NULL;
    const gw_header_t *ua = gw_headers_find(req->headers, req->nheaders, "user-agent");
    ev->client.user_agent = ua ? cmn_arena_strndup(&req->arena, ua->value, ua->value_len) : NULL;

    const gw_route_t *r = &req->route;
    ev->request.method = req->method;
    if (req->route.family == GW_FAMILY_ADMIN && req->route.admin == GW_ADMIN_EGRESS) {
        ev->request.path = "/-/egress"; /* the sealed link is a capability: never recorded */
    } else if (req->target) {
        size_t n = strcspn(req->target, "?");
        ev->request.path = cmn_arena_strndup(&req->arena, req->target, n);
    }
    if (req->is_egress) {
        ev->request.repo_type = *req->egress.repo_type ? req->egress.repo_type : NULL;
        ev->request.repo = *req->egress.repo ? req->egress.repo : NULL;
        ev->request.action = req->egress.action;
    } else {
        if (r->repo_type != GW_REPO_NONE)
            ev->request.repo_type = gw_route_repo_type_name(r->repo_type);
        if (r->name)
            ev->request.repo = r->namespace && *r->namespace
                                   ? cmn_arena_printf(&req->arena, "%s/%s", r->namespace, r->name)
                                   : r->name;
        ev->request.revision = r->revision;
        ev->request.file = r->path_in_repo;
        ev->request.action = gw_route_action_name(r->action);
    }
    int allowed = req->audited || (req->decided && req->decision.effect == POL_ALLOW &&
                                   (status == 0 || status < 400));
    ev->decision.effect = allowed || req->is_egress ? "allow" : "deny";
    if (req->is_egress) {
        /* The decision the link was sealed under: who may use it was settled then. */
        const gw_egress_claim_t *c = &req->egress;
        ev->decision.rule = *c->rule ? c->rule : "egress-link";
        ev->decision.reason = "a link hubgate sealed for this caller";
        ev->decision.org = *c->org ? c->org : NULL;
        ev->decision.role = *c->role ? c->role : NULL;
        ev->decision.region = c->region;
    } else if (req->decided) {
        ev->decision.rule = req->decision.rule;
        ev->decision.reason = req->decision.reason;
        ev->decision.org = req->decision.org;
        ev->decision.role = pol_role_name(req->decision.role);
        ev->decision.region = req->region ? req->region->name : req->decision.region;
    } else {
        ev->decision.rule = req->stage ? req->stage : "gateway";
        ev->decision.reason = req->local_message;
    }
    if (req->policy)
        ev->decision.policy_sha256 = pol_policy_sha256(req->policy);
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
