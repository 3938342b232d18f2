/* The request pipeline (docs/architecture.md): libmicrohttpd's callbacks for one request, and
 * the state machine behind them — framing, route, authentication, authorization, the audit
 * wait, then the forward stage or an answer of hubgate's own. Every request passes here and
 * nowhere else, so the order of the stages is enforced in one place: nothing is forwarded that
 * was not classified, authenticated, decided and (strict mode) durably audited. */
#ifndef HUBGATE_GATEWAY_SERVER_PIPELINE_H
#define HUBGATE_GATEWAY_SERVER_PIPELINE_H

#include <microhttpd.h>
#include <stddef.h>

/* MHD_OPTION_URI_LOG_CALLBACK (cls: the gw_server_t): creates the request's state with a copy
 * of the raw request-target, before MHD decodes it in place. NULL when out of memory (MHD then
 * drops the connection). */
void *gw_pipeline_on_uri(void *cls, const char *uri, struct MHD_Connection *conn);

/* The access handler (cls: the gw_server_t): advances the request through its phases on each
 * call. Never blocks: a wait (the audit log, the upstream, a report) suspends the connection. */
enum MHD_Result gw_pipeline_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **con_cls);

/* MHD_OPTION_NOTIFY_COMPLETED: the request is over (answered, or the client went away). Records
 * its completion event, metrics and access log line, and frees its state. */
void gw_pipeline_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe);

#endif
