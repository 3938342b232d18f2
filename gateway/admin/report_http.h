/* Evidence reports for auditors over their SSO identity:
 * GET /-/reports/soc2?from=T&to=T[&org=ORG][&format=json|html|csv] on the public listener.
 *
 * Who: the policy decides (pol_decide_report): an org's auditors get that org (org= may be
 * left out when they audit one org only), the policy's `auditors` get any org or all of them;
 * anyone else gets nothing — 404 when they hold nothing in the org, 403 with why when they are
 * a member who is no auditor or a condition (require.auditor) is unmet. Every refusal is an
 * audited request like any other.
 *
 * What: each export is a privileged action. Its `report.exported` event (the auditor, the
 * period, the scope and the format) is made durable before the report is even made; when the
 * audit log cannot take it the answer is 503 and nothing is exported. The report is written by
 * aud_report_soc2 (audit/report.h) into a private temporary directory, through the gateway's
 * own database role (it has SELECT on everything a report reads), on a thread of its own while
 * the connection waits suspended: no request thread ever runs a report. The requested file
 * (report.json, report.html or events.csv) is opened, the directory removed, and the open file
 * streamed from disk: the gateway's memory stays flat whatever the period's size.
 *
 * Bounds: strict parameters (each at most once, nothing unknown, RFC 3339 or a date, UTC
 * offsets converted), a period of at most GW_REPORT_MAX_PERIOD_DAYS, and one export at a time
 * per gateway instance — a second one meanwhile is answered 429 — held from the decision until
 * the file has been sent, so one instance never keeps more than one report on disk. */
#ifndef HUBGATE_GATEWAY_REPORT_HTTP_H
#define HUBGATE_GATEWAY_REPORT_HTTP_H

#include <microhttpd.h>

#include "gateway/http/report_query.h"
#include "gateway/server/request-t.h"

/* One gateway's exports: at most one at a time. */
typedef struct gw_reports gw_reports_t;

/* One export in progress, shared by its request and the thread making it. */
typedef struct gw_report_job gw_report_job_t;

/* NULL when out of memory. */
gw_reports_t *gw_reports_create(void);

/* Waits until no export is being made or sent: each one resumes its connection when made, and
 * its request completes once the file is sent (or the client's idle timeout ends it). Call
 * after the listener stopped accepting and before MHD_stop_daemon: MHD must not stop with a
 * suspended connection, and an auditor's file is not cut off. Blocks for as long as that
 * takes. */
void gw_reports_drain(gw_reports_t *r);

/* Frees r (after gw_reports_drain, or when the listener never started). Accepts NULL. */
void gw_reports_destroy(gw_reports_t *r);

/* GET /-/reports/soc2 (report_http.c): decides, records the export, makes the report on a
 * thread of its own while the connection waits suspended, then streams the file. Called on the
 * handler's final call and again after the resume; answers once the export is done. */
enum MHD_Result gw_report_http_answer(gw_request_t *req, struct MHD_Connection *conn);

/* The request is complete (MHD's completion callback): lets go of its export, if any, and of
 * the instance's export slot. Never blocks for long. */
void gw_report_http_done(gw_request_t *req);

#endif
