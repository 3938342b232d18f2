/* The state of one request as it moves through the pipeline (docs/architecture.md):
 * route → authenticate → authorize → audit → forward → answer. Internal to gateway/. */
#ifndef HUBGATE_GATEWAY_REQUEST_H
#define HUBGATE_GATEWAY_REQUEST_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "common/arena.h"
#include "common/buf.h"
#include "gateway/config/config.h"
#include "gateway/authn/assertion.h"
#include "gateway/auditlog/auditlog.h"
#include "gateway/authz/authz.h"
#include "gateway/forward/egress.h"
#include "gateway/authn/identity.h"
#include "gateway/authn/jwks.h"
#include "gateway/authn/tokens.h"
#include "gateway/http/headers.h"
#include "gateway/admin/report_http.h"
#include "gateway/route/route.h"
#include "gateway/forward/upstream.h"
#include "gateway/limits.h"

typedef struct {
    const gw_config_t *cfg;
    struct MHD_Daemon *daemon;
    gw_upstream_t *upstream;
    gw_egress_key_t egress_key;
    gw_jwks_t *jwks;
    gw_tokens_t *tokens;
    gw_auth_t *auth;
    gw_assertion_t *assertion;
    gw_policies_t *policies;
    aud_writer_t *audit;
    gw_reports_t *reports;
    atomic_int db_reachable;
    /* What X-Forwarded-Proto and X-Forwarded-Host say: public_url's scheme and host[:port],
     * parsed once at start. */
    const char *public_proto, *public_host;
} gw_server_t;

typedef enum {
    GW_PHASE_NEW,         /* before the first handler call */
    GW_PHASE_LOCAL,       /* answered by hubgate itself; body (if any) discarded */
    GW_PHASE_READ_BODY,   /* buffering a body the classifier needs */
    GW_PHASE_AUDIT_WAIT,  /* the decision event is being made durable (strict mode) */
    GW_PHASE_STREAM_BODY, /* streaming the client's body upstream */
    GW_PHASE_WAIT_HEAD,   /* waiting for the upstream's response head */
    GW_PHASE_ANSWERED,
} gw_phase_t;

typedef struct {
    gw_server_t *srv;
    cmn_arena_t arena;
    char request_id[33];
    struct timespec started;

    /* The raw request-target, copied in the URI-log callback: MHD decodes its own buffer in
     * place later. These are the bytes classified and the bytes forwarded. */
    const char *target;
    size_t target_len;
    int target_too_long;

    gw_phase_t phase;
    const char *method; /* MHD's, valid for the request's life */
    gw_header_t *headers;
    size_t nheaders;
    gw_framing_t framing;
    gw_route_t route;
    gw_identity_t identity;
    pol_policy_t *policy; /* the generation that decided this request (a reference) */
    pol_decision_t decision;
    int decided;
    int shadow_differs;          /* the shadow policy decided otherwise: */
    pol_effect_t shadow_effect;  /*   its effect and determining rule (owned by the shadow */
    const char *shadow_rule;     /*   policy, which the request keeps a reference to) */
    pol_policy_t *shadow;
    const gw_region_t *region; /* where it is forwarded */
    const char *stage;         /* the pipeline stage it is in, and so the one that refused it
                                  (details.refused_by): framing, route, authentication,
                                  authorization, request, token_store, audit, forward */
    gw_auth_reason_t auth_failure; /* why its credentials were refused (details.auth_failure) */
    gw_audit_wait_t *audit_wait;
    int audited;               /* its allow event is durable: it may be forwarded */
    gw_egress_claim_t egress;  /* for /-/egress/: the sealed link, opened */
    int is_egress;
    const char *refused_destination; /* the origin of a URL in the answer that leads outside
                                        the region's origins: the answer becomes a 502 */
    char client_ip[64]; /* the client, past trusted proxies; "unknown" when it is not known */
    char peer_ip[64];   /* the TCP peer */
    int peer_trusted;   /* the peer is one of the configured trusted proxies */
    const char *forwarded_for; /* the X-Forwarded-For to send upstream (xff.c), or NULL */

    /* A local answer decided before the body was read. */
    unsigned local_status;
    const char *local_code;
    const char *local_message;

    cmn_buf_t body; /* for routes whose target is in the body; capped */
    int body_complete; /* the handler's final call (whole request received) has happened */
    int body_over_cap;

    gw_xfer_t *xfer;
    gw_report_job_t *report; /* /-/reports/soc2: the export being made for it */
    unsigned status; /* what the client got, for metrics and audit */
    int answer_own;  /* the answer's body is hubgate's (an error, a rewritten or filtered
                        answer, a redirect's empty one), not the upstream's bytes relayed: */
    uint64_t answer_bytes; /*   its length, the completion's bytes_out */
} gw_request_t;

/* Forwarding (proxy.c). Starts the upstream transfer for an authorized request; body, when
 * non-NULL, is the complete body already read. Returns 0, or an HTTP status to answer (with
 * *message set). */
unsigned gw_proxy_start(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                        size_t body_len, const char **message);

/* Opens a sealed egress link (/-/egress/<sealed>) into req->egress: checks it is ours, not
 * expired, issued to this caller, used with its method and sealed for a region this gateway
 * serves (req->region). Returns 0, or an HTTP status (with *message set). */
unsigned gw_proxy_open_egress(gw_request_t *req, const char **message);

/* Forwards an opened egress link to the storage it names, if that is still one of its
 * region's origins, connecting only to addresses the region allows (gateway/config/destination.h);
 * redirects are not followed but handed to the client as links of their own. Same returns as
 * gw_proxy_start. */
unsigned gw_proxy_start_egress(gw_request_t *req, struct MHD_Connection *conn,
                               const char **message);

/* Fills an audit event from the request (its identity, route, decision, and for a completion
 * the response). Strings are borrowed from the request. */
void gw_request_event(gw_request_t *req, aud_event_t *ev, aud_kind_t kind, unsigned status);

/* Fills the report.exported event of an auditor's export (GET /-/reports/soc2), to be made
 * durable (aud_writer_append) before the report is served: the auditor as actor, the decision
 * that allowed the export — record it first in req->decision (req->decided = 1, effect allow,
 * its org and role "auditor" for an org's auditor; req->policy the policy that made it), else
 * the event says "deny" — and details from, to (as the request gave them, normalised), org
 * (NULL: every org) and format ("json", "html", "csv"). Strings are borrowed. */
void gw_request_report_event(gw_request_t *req, aud_event_t *ev, const char *from, const char *to,
                             const char *org, const char *format);

/* Continues a forwarded request on each handler call; returns what the handler returns. */
enum MHD_Result gw_proxy_continue(gw_request_t *req, struct MHD_Connection *conn,
                                  const char *upload_data, size_t *upload_data_size);

/* hubgate's own endpoints under /-/ (admin.c), and GET /api/whoami-v2, which hubgate answers
 * from the caller's identity. Answers on the handler's final call; body is what the client
 * sent (NULL when none). */
enum MHD_Result gw_admin_answer(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                                size_t body_len);

/* GET /-/reports/soc2 (report_http.c): decides, records the export, makes the report on a
 * thread of its own while the connection waits suspended, then streams the file. Called on the
 * handler's final call and again after the resume; answers once the export is done. */
enum MHD_Result gw_report_http_answer(gw_request_t *req, struct MHD_Connection *conn);

/* The request is complete (MHD's completion callback): lets go of its export, if any, and of
 * the instance's export slot. Never blocks for long. */
void gw_report_http_done(gw_request_t *req);

/* Admin routes answered without authenticating the caller. */
int gw_admin_is_public(gw_admin_route_t admin);

/* Queues a Hub-shaped error and records the status. A request not yet audited is audited now
 * as a refusal by the stage it is in (req->stage). */
enum MHD_Result gw_request_error(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                 const char *code, const char *message);

/* Records a decision hubgate makes itself, without the policy (a route it never forwards, an
 * answer of its own admin API, a caller without credentials where one is needed): the audit
 * event then names `rule` and `reason` (a sentence, copied) as a policy decision's. */
void gw_request_decide(gw_request_t *req, pol_effect_t effect, const char *rule,
                       const char *reason);

/* Refuses a caller without credentials on a route that needs one: 401 with the Hub's words,
 * audited as the policy's refusal of anonymous callers is (rule "anonymous"). */
enum MHD_Result gw_request_anonymous(gw_request_t *req, struct MHD_Connection *conn);

#endif
