/* Browser sign-in (docs/sign-in.md): /-/login sends the person to the IdP (authorization code
 * with PKCE S256, state and nonce sealed into a short-lived pre-login cookie), /-/login/callback
 * checks state and the RFC 9207 `iss` before redeeming the code (hubgate a confidential client,
 * its secret sent with HTTP Basic), verifies the ID token and starts a server-side session
 * (authn/sessions.h) behind a cookie; /-/logout ends it. The session authenticates hubgate's own
 * pages only, and a form on them is accepted only from hubgate's own pages: Fetch Metadata and
 * Origin checks plus the session's form token. */
#ifndef HUBGATE_GATEWAY_ADMIN_LOGIN_H
#define HUBGATE_GATEWAY_ADMIN_LOGIN_H

#include <microhttpd.h>
#include <stddef.h>

#include "gateway/server/request-t.h"

/* 1 for the routes a browser session may authenticate: hubgate's own pages (/-/tokens and its
 * children, /-/logout, /-/whoami, the device confirmation), never a Hub route. */
int gw_login_session_route(const gw_route_t *route);

/* For a request without credentials on such a route: the session its cookie names, if live,
 * becomes req->identity (kind SSO) with req->session_id and req->form_token. Returns 0 (with or
 * without a session), or CMN_ERR_DB when the session store cannot be asked. Blocks. */
int gw_login_authenticate(gw_request_t *req);

/* 1 when a state-changing request authenticated by a session may proceed: it comes from
 * hubgate's own page (Sec-Fetch-Site same-origin or none, and Origin, when sent, equal to the
 * public URL's) and carries the session's form token (form_token). Requests with a bearer
 * credential are not browser forms and need neither. */
int gw_login_form_ok(const gw_request_t *req, const char *form_token);

/* /-/login, /-/login/callback and /-/logout. body: a form, for POST /-/logout. */
enum MHD_Result gw_login_answer(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                                size_t body_len);

/* Reads form field `key` of an application/x-www-form-urlencoded body (decoded into arena).
 * Returns the value, "" for a field without one, or NULL when absent, repeated or the body is
 * not a form of printable ASCII. */
const char *gw_login_form_field(cmn_arena_t *arena, const char *body, size_t len,
                                const char *key);

#endif
