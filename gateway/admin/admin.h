/* hubgate's own endpoints under /-/ (health, readiness, keys, the token API) and
 * GET /api/whoami-v2, which hubgate answers from the caller's identity. */
#ifndef HUBGATE_GATEWAY_ADMIN_ADMIN_H
#define HUBGATE_GATEWAY_ADMIN_ADMIN_H

#include <microhttpd.h>
#include <jansson.h>
#include <stddef.h>

#include "gateway/server/request-t.h"

/* hubgate's own endpoints under /-/ (admin.c), and GET /api/whoami-v2, which hubgate answers
 * from the caller's identity. Answers on the handler's final call; body is what the client
 * sent (NULL when none). */
enum MHD_Result gw_admin_answer(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                                size_t body_len);

/* Answers a JSON object (taken: decref'd here) with status; hubgate's own answers about the
 * caller are audited (public routes are not). 500 when o is NULL or cannot be encoded. */
enum MHD_Result gw_admin_json(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                              json_t *o);

/* A refusal by hubgate's admin API, audited under the stage that refused it: "request" (the
 * request is malformed or names nothing of the caller's), "route" (no such endpoint or
 * method), "token_store" (the database), "audit" (the change could not be recorded). */
enum MHD_Result gw_admin_refuse(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                const char *stage, const char *message);

#endif
