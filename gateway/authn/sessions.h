/* People's browser sessions at hubgate (docs/sign-in.md): started at the end of a browser
 * sign-in, kept server-side in PostgreSQL (login_session) so that one can be ended from anywhere
 * — sign-out, an admin, deprovisioning — and looked up on each of hubgate's own pages. The
 * cookie holds 256 random bits; only their SHA-256 is stored. A session ends `hours` after sign-in
 * whatever happens, and after `idle_minutes` without a page view.
 *
 * A session authenticates hubgate's own pages only (the token page, sign-out, the device
 * confirmation), never a Hub route. */
#ifndef HUBGATE_GATEWAY_AUTHN_SESSIONS_H
#define HUBGATE_GATEWAY_AUTHN_SESSIONS_H

#include <jansson.h>
#include <stddef.h>

#include "common/arena.h"
#include "gateway/authn/identity.h"
#include "gateway/authn/tokens.h"

typedef struct gw_sessions gw_sessions_t;

#define GW_SESSION_PREFIX "hgs_" /* the cookie value: hgs_<43 base64url characters> */
#define GW_SESSION_FORM_TOKEN_CHARS 43

/* Opens the store over the database URL (connections are made on first use). */
gw_sessions_t *gw_sessions_create(const char *database_url);
void gw_sessions_destroy(gw_sessions_t *s);

/* Starts a session for `who` (signed in just now) from client_ip with user_agent (cut to 512
 * bytes), for `hours`. The row is inserted in a transaction that commits only when
 * confirm(arg, info) returns 0 (info: {id, expires}). Returns 0 with *cookie (the secret, for
 * Set-Cookie only) and *id (its public name) in arena; CMN_ERR_DB; or confirm's result.
 * Blocks. */
int gw_sessions_start(gw_sessions_t *s, const gw_identity_t *who, const char *client_ip,
                      const char *user_agent, int hours, cmn_arena_t *arena,
                      gw_tokens_confirm_fn confirm, void *arg, const char **cookie,
                      const char **id);

/* Resolves a cookie value: 0 with *who (the identity as at sign-in, kind GW_ID_SSO; arena) and
 * *id; CMN_ERR_DENIED for an unknown, ended, expired or idle session (*why: static text);
 * CMN_ERR_DB. Records the page view (at most once a minute). Blocks. */
int gw_sessions_lookup(gw_sessions_t *s, const char *cookie, size_t len, int idle_minutes,
                       cmn_arena_t *arena, gw_identity_t *who, const char **id, const char **why);

/* Ends session `id` of the person iss/sub (NULL iss: any owner, an admin ending it) with reason
 * "logout", "revoked" or "deprovisioned", in a transaction that commits only when
 * confirm(arg, info) returns 0 (info: {id, owner_iss, owner_sub, owner}). Returns 0, CMN_ERR_NOTFOUND
 * (no such live session), CMN_ERR_DB, or confirm's result. Blocks. */
int gw_sessions_end(gw_sessions_t *s, const char *id, const char *iss, const char *sub,
                    const char *reason, gw_tokens_confirm_fn confirm, void *arg);

/* The person's live sessions, newest first (at most 100): [{id, created, last_seen, expires,
 * client_ip, user_agent, owner}] (new reference), or NULL on a database error. Blocks. */
json_t *gw_sessions_list(gw_sessions_t *s, const char *iss, const char *sub);

/* The same for anyone's (iss NULL), at most max. */
json_t *gw_sessions_list_live(gw_sessions_t *s, const char *iss, const char *sub, size_t max);

/* The form token of the session whose cookie value is given: what hubgate's forms carry and
 * check (a synchronizer token bound to the session; derived, not stored). out: 44 bytes. */
void gw_sessions_form_token(const char *cookie, size_t len, char out[GW_SESSION_FORM_TOKEN_CHARS + 1]);

#endif
