/* The token API (docs/configuration.md): GET and POST /-/tokens (list and mint the caller's
 * hubgate tokens) and DELETE /-/tokens/<id> (revoke one). Minting and revoking are privileged
 * actions: their audit event is durable before the change is made, or the change is not made. */
#ifndef HUBGATE_GATEWAY_ADMIN_TOKEN_API_H
#define HUBGATE_GATEWAY_ADMIN_TOKEN_API_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>

#include "gateway/server/request-t.h"

/* /-/tokens: GET lists the caller's tokens, POST mints one from the JSON body (body_len bytes,
 * at most GW_MAX_ADMIN_BODY_BYTES); other methods 405. */
enum MHD_Result gw_token_api_tokens(gw_request_t *req, struct MHD_Connection *conn,
                                    const char *body, size_t body_len);

/* DELETE /-/tokens/<id>: revokes one of the caller's tokens (404 when it is not theirs). */
enum MHD_Result gw_token_api_revoke(gw_request_t *req, struct MHD_Connection *conn);

/* The change itself, for the JSON API and the token page alike. Mints a token named `name`
 * with `scope` ("read"/"write") for `days` for the caller, who must be an SSO identity (a
 * bearer JWT or a browser session). Returns 0 with *token (the secret, once) and *info (new
 * reference); else the status to answer (400, 401, 503), with *stage and *message to answer it
 * with (the refusal's audit stage). Blocks (database, audit log). */
unsigned gw_token_api_mint(gw_request_t *req, const char *name, const char *scope,
                           long long days, const char **token, json_t **info, const char **stage,
                           const char **message);

/* Revokes the caller's token `id`: 0, or 404/503 with *stage and *message. Blocks. */
unsigned gw_token_api_revoke_one(gw_request_t *req, const char *id, const char **stage,
                                  const char **message);

#endif
