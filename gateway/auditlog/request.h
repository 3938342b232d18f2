/* What the audit log records of a request (docs/audit.md): its events, the decisions hubgate
 * makes itself, and its refusals — queued as the Hub's error shape and audited as completely as
 * an allow. */
#ifndef HUBGATE_GATEWAY_AUDITLOG_REQUEST_H
#define HUBGATE_GATEWAY_AUDITLOG_REQUEST_H

#include <microhttpd.h>

#include "audit/event.h"
#include "gateway/server/request-t.h"

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

/* Queues a Hub-shaped error and records the status. A request not yet audited is audited now
 * as a refusal by the stage it is in (req->stage). */
enum MHD_Result gw_request_error(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                 const char *code, const char *message);

/* A failure (a negative cmn_err_t) answered with its HTTP status (gw_answer_status) and
 * message — static text fit for a client; NULL: the code's own description — and audited as
 * gw_request_error does. */
enum MHD_Result gw_request_fail(gw_request_t *req, struct MHD_Connection *conn, int err,
                                const char *message);

/* Records a decision hubgate makes itself, without the policy (a route it never forwards, an
 * answer of its own admin API, a caller without credentials where one is needed): the audit
 * event then names `rule` and `reason` (a sentence, copied) as a policy decision's. */
void gw_request_decide(gw_request_t *req, pol_effect_t effect, const char *rule,
                       const char *reason);

/* Refuses a caller without credentials on a route that needs one: 401 with the Hub's words,
 * audited as the policy's refusal of anonymous callers is (rule "anonymous"). */
enum MHD_Result gw_request_anonymous(gw_request_t *req, struct MHD_Connection *conn);

#endif
