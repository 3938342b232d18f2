/* The token page (/-/tokens for a person's browser, docs/sign-in.md): the person's hubgate tokens
 * — name, scope, created, last used, expires — and their live sessions, a form that mints a
 * token (shown once, with a copy button) and a button per token that revokes it. Works without
 * JavaScript. Every form is checked by admin/login.h (same origin, the session's form token);
 * mint and revoke are the token API's own privileged changes (admin/token_api.h). */
#ifndef HUBGATE_GATEWAY_ADMIN_TOKEN_PAGE_H
#define HUBGATE_GATEWAY_ADMIN_TOKEN_PAGE_H

#include <microhttpd.h>
#include <stddef.h>

#include "gateway/server/request-t.h"

/* GET shows the page (a browser without a session is sent to sign in first); POST takes its
 * forms (action=mint with name, scope, expires_days; action=revoke with id). */
enum MHD_Result gw_token_page_answer(gw_request_t *req, struct MHD_Connection *conn,
                                     const char *body, size_t body_len);

#endif
