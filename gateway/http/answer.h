/* Answers of hubgate's own: the Hub's error shape, complete bodies, request ids, and the one
 * mapping from an error code to an HTTP status. */
#ifndef HUBGATE_GATEWAY_HTTP_ANSWER_H
#define HUBGATE_GATEWAY_HTTP_ANSWER_H

#include <microhttpd.h>
#include <stddef.h>

/* Queues an answer in the Hub's error shape, so real clients raise their usual exceptions:
 * status, X-Error-Code (omitted when NULL), X-Error-Message, JSON {"error": message},
 * X-Request-Id, and WWW-Authenticate when given (git prompts for credentials on a 401 only
 * with it). Returns MHD's result of MHD_queue_response. */
enum MHD_Result gw_answer_error(struct MHD_Connection *conn, unsigned status, const char *code,
                              const char *message, const char *request_id,
                              const char *www_authenticate);

/* Queues a complete body with a Content-Type and X-Request-Id. The body is copied. */
enum MHD_Result gw_answer_body(struct MHD_Connection *conn, unsigned status,
                               const char *content_type, const char *body, size_t len,
                               const char *request_id);

/* Writes a fresh request id (32 hex characters and a NUL) into out. Unique across restarts
 * and instances (random per-process prefix, counter) and cheap (no syscall). */
void gw_answer_request_id(char out[33]);

/* The HTTP status an error code is answered with: the one place a cmn_err_t becomes a status.
 * NOMEM, INVAL, CRYPTO → 500; PARSE → 400; UNAUTHENTICATED → 401; DENIED, EXPIRED → 403;
 * NOTFOUND → 404; METHOD → 405; CONFLICT → 409; TOOBIG → 413; UNSUPPORTED → 501; IO, UPSTREAM
 * → 502; DB, UNAVAILABLE → 503; TIMEOUT → 504; anything else → 500. */
unsigned gw_answer_status(int err);

#endif
