/* hubgate's own endpoints under /-/ (health, readiness, keys, the token API) and
 * GET /api/whoami-v2, which hubgate answers from the caller's identity. */
#ifndef HUBGATE_GATEWAY_ADMIN_ADMIN_H
#define HUBGATE_GATEWAY_ADMIN_ADMIN_H

#include <microhttpd.h>
#include <stddef.h>

#include "gateway/server/request-t.h"

/* hubgate's own endpoints under /-/ (admin.c), and GET /api/whoami-v2, which hubgate answers
 * from the caller's identity. Answers on the handler's final call; body is what the client
 * sent (NULL when none). */
enum MHD_Result gw_admin_answer(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                                size_t body_len);

#endif
