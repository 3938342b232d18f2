/* The token API (docs/configuration.md): GET and POST /-/tokens (list and mint the caller's
 * hubgate tokens) and DELETE /-/tokens/<id> (revoke one). Minting and revoking are privileged
 * actions: their audit event is durable before the change is made, or the change is not made. */
#ifndef HUBGATE_GATEWAY_ADMIN_TOKEN_API_H
#define HUBGATE_GATEWAY_ADMIN_TOKEN_API_H

#include <microhttpd.h>
#include <stddef.h>

#include "gateway/server/request-t.h"

/* /-/tokens: GET lists the caller's tokens, POST mints one from the JSON body (body_len bytes,
 * at most GW_MAX_ADMIN_BODY_BYTES); other methods 405. */
enum MHD_Result gw_token_api_tokens(gw_request_t *req, struct MHD_Connection *conn,
                                    const char *body, size_t body_len);

/* DELETE /-/tokens/<id>: revokes one of the caller's tokens (404 when it is not theirs). */
enum MHD_Result gw_token_api_revoke(gw_request_t *req, struct MHD_Connection *conn);

#endif
