/* The authentication stage (docs/configuration.md): who is calling — an SSO access token (JWT)
 * from a configured OIDC issuer, a hubgate token (hf_gw_…), or nobody. git's Basic auth
 * carries the token as its password. The credential itself never leaves this module: the
 * caller gets a gw_identity_t. Verified JWTs are cached (by SHA-256) until they expire. */
#ifndef HUBGATE_GATEWAY_AUTHN_AUTH_H
#define HUBGATE_GATEWAY_AUTHN_AUTH_H

#include <stddef.h>

#include "common/arena.h"
#include "gateway/authn/auth-t.h"
#include "gateway/authn/identity.h"
#include "gateway/authn/jwks.h"
#include "gateway/authn/tokens.h"
#include "gateway/config/config.h"
#include "gateway/http/headers.h"

typedef struct gw_auth gw_auth_t;

/* The authentication stage. Borrows cfg, jwks and tokens (tokens may be NULL: hubgate tokens
 * then fail). Returns NULL when out of memory. */
gw_auth_t *gw_auth_create(const gw_config_t *cfg, gw_jwks_t *jwks, gw_tokens_t *tokens);
void gw_auth_destroy(gw_auth_t *auth);


/* The reason's static label ("expired"); "?" out of range. Never NULL. */
const char *gw_auth_reason_name(gw_auth_reason_t reason);

/* Authenticates a request from its headers. Returns 0 with *id filled (anonymous when no
 * credential came), CMN_ERR_UNAUTHENTICATED for bad, expired, revoked, unverifiable or
 * ambiguous credentials, or CMN_ERR_UNAVAILABLE when keys or the token store cannot be reached
 * right now. Identity strings are allocated in the arena. On failure *reason says why as a
 * code (for metrics) and *why as static text (safe to log; never the token); on success
 * *reason is GW_AUTH_REASON_NONE. May block briefly: an unknown
 * kid waits for one JWKS refresh (at most 2 s), a hubgate token not in the cache is looked up
 * in PostgreSQL. */
int gw_auth_authenticate(gw_auth_t *auth, const gw_header_t *headers, size_t n,
                         cmn_arena_t *arena, gw_identity_t *id, gw_auth_reason_t *reason,
                         const char **why);

/* Verifies an OpenID Connect ID token from issuer #issuer (browser sign-in, docs/sign-in.md):
 * its keys and algorithms, signature, iss, aud = client_id, exp/nbf/iat, and nonce equal to the
 * sign-in's. Returns 0 with *id (kind left to the caller; auth_time from the token, else now),
 * else CMN_ERR_UNAUTHENTICATED or CMN_ERR_UNAVAILABLE with *reason (static text). Blocks
 * while an unknown kid is fetched. */
int gw_auth_verify_id_token(gw_auth_t *a, size_t issuer, const char *token, size_t len,
                            const char *client_id, const char *nonce, cmn_arena_t *arena,
                            gw_identity_t *id, const char **reason);

/* With SCIM: every authentication also refuses the people the directory deprovisioned (set
 * once at start, before requests are served). */
typedef struct gw_deprovisioned gw_deprovisioned_t;
void gw_auth_set_deprovisioned(gw_auth_t *a, gw_deprovisioned_t *d);

#endif
