/* Small HTTP answer helpers shared by the gateway's own endpoints. */
#ifndef HUBGATE_GATEWAY_HTTP_H
#define HUBGATE_GATEWAY_HTTP_H

#include <microhttpd.h>
#include <stddef.h>

/* Queues an answer in the Hub's error shape, so real clients raise their usual exceptions:
 * status, X-Error-Code (omitted when NULL), X-Error-Message, JSON {"error": message},
 * X-Request-Id, and WWW-Authenticate when given (git prompts for credentials on a 401 only
 * with it). Returns MHD's result of MHD_queue_response. */
enum MHD_Result gw_http_error(struct MHD_Connection *conn, unsigned status, const char *code,
                              const char *message, const char *request_id,
                              const char *www_authenticate);

/* Queues a complete body with a Content-Type and X-Request-Id. The body is copied. */
enum MHD_Result gw_http_answer(struct MHD_Connection *conn, unsigned status,
                               const char *content_type, const char *body, size_t len,
                               const char *request_id);

/* Writes a fresh request id (32 hex characters and a NUL) into out. Unique across restarts
 * and instances (random per-process prefix, counter) and cheap (no syscall). */
void gw_http_request_id(char out[33]);

#endif
