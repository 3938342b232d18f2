/* Types only: the state of one request as it moves through the pipeline
 * (docs/architecture.md) — route → authenticate → authorize → audit → forward → answer — and
 * of the server it arrived at. Every stage reads the request, so any stage may include this
 * header; it declares no function (tests/layering.cmake checks both). */
#ifndef HUBGATE_GATEWAY_SERVER_REQUEST_T_H
#define HUBGATE_GATEWAY_SERVER_REQUEST_T_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "audit/pgwriter.h"
#include "common/arena.h"
#include "common/buf.h"
#include "gateway/authn/auth-t.h"
#include "gateway/authn/identity.h"
#include "gateway/config/config.h"
#include "gateway/forward/egress-t.h"
#include "gateway/forward/upstream-t.h"
#include "gateway/http/headers.h"
#include "gateway/route/route.h"
#include "policy/policy.h"

/* The stages' own objects, opaque here (their headers say what they are). */
typedef struct gw_jwks gw_jwks_t;
typedef struct gw_tokens gw_tokens_t;
typedef struct gw_sessions gw_sessions_t;
typedef struct gw_devices gw_devices_t;
typedef struct gw_ratelimit gw_ratelimit_t;
typedef struct gw_directory gw_directory_t;
typedef struct gw_deprovisioned gw_deprovisioned_t;
typedef struct gw_auth gw_auth_t;
typedef struct gw_assertion gw_assertion_t;
typedef struct gw_policies gw_policies_t;
typedef struct gw_audit_wait gw_audit_wait_t;
typedef struct gw_reports gw_reports_t;
typedef struct gw_report_job gw_report_job_t;

typedef struct {
    const gw_config_t *cfg;
    /* The egress keys and the identity assertion: SIGHUP swaps in new ones (server/reload.h),
     * so a request loads each once, atomically, and uses what it loaded; a retired one stays
     * alive until the process exits, so one loaded is never freed under a reader. */
    _Atomic(const gw_egress_keys_t *) egress_keys;
    gw_jwks_t *jwks;
    gw_tokens_t *tokens;
    gw_sessions_t *sessions; /* people's browser sessions; NULL without identity.login */
    gw_devices_t *devices;   /* `hf auth login`'s device grants; NULL without identity.login */
    gw_ratelimit_t *code_attempts;    /* user codes tried, per session */
    gw_ratelimit_t *address_attempts; /* device sign-ins and user codes, per address */
    gw_directory_t *directory;         /* SCIM's people and groups; NULL without scim */
    gw_deprovisioned_t *deprovisioned; /* the people it removed, refused everywhere */
    gw_auth_t *auth;
    _Atomic(gw_assertion_t *) assertion; /* see egress_keys */
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
    gw_upstream_t *upstream; /* the transfers of the event loop serving this request */
    aud_writer_t *audit;     /* that loop's audit stream (NULL: audit.mode off): the request's
                                own events; process-wide ones go to srv->audit */
    int wake_fd;             /* that loop's eventfd: written by another thread after it resumed
                                this request's connection (MHD does not wake the loop itself) */
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
    /* hubgate's own pages, for a person signed in with the browser (admin/login.h): */
    const char *session_id; /*   their session's public id, or NULL */
    char form_token[44];    /*   what the pages' forms carry, derived from the session */
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
    gw_egress_claim_t egress;  /* for /-/egress/: the sealed link, opened; for a Xet CAS call,
                                  the token's grant and the upstream CAS URL to call */
    int is_egress;
    int xet_endpoint;          /* a Xet CAS call: what it is (forward/xet_cas.h), and for the
                                  audit log: */
    const char *xet_object;    /*   the file reconstructed or the xorb uploaded (its hash) */
    const char *xet_range;     /*   the part of the file a reconstruction plans (its Range) */
    const char **xet_files;    /*   the files a shard defines, "hash size [sha256]" */
    size_t n_xet_files, xet_files_total;
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
    /* A repo listing asked of several regions' hubs (forward/fanout.h): */
    const gw_region_t **fan_regions; /*   the regions asked, region first (n_fan >= 2; 0: no) */
    size_t n_fan;
    gw_xfer_t **fan_xfers;           /*   one transfer each; NULL for a hub with no more pages */
    size_t fan_next;                 /*   the first whose answer is still awaited */
    gw_report_job_t *report; /* /-/reports/soc2: the export being made for it */
    unsigned status; /* what the client got, for metrics and audit */
    int answer_own;  /* the answer's body is hubgate's (an error, a rewritten or filtered
                        answer, a redirect's empty one), not the upstream's bytes relayed: */
    uint64_t answer_bytes; /*   its length, the completion's bytes_out */
} gw_request_t;

#endif
