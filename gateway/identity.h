/* Who is calling (DESIGN.md pipeline step 2): an SSO access token (JWT) from a configured
 * OIDC issuer, a hubgate token (hf_gw_…), or nobody. git's Basic auth carries the token as
 * its password. Everything about the caller that policy and audit need is in gw_identity_t;
 * the token itself never leaves this module. */
#ifndef HUBGATE_GATEWAY_IDENTITY_H
#define HUBGATE_GATEWAY_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/config.h"
#include "gateway/headers.h"
#include "gateway/jwks.h"

#define GW_MAX_GROUPS 256

typedef enum {
    GW_ID_ANONYMOUS = 0,
    GW_ID_SSO,   /* a verified JWT from a configured issuer */
    GW_ID_TOKEN, /* a hubgate token, on behalf of the SSO identity that minted it */
} gw_identity_kind_t;

typedef struct {
    gw_identity_kind_t kind;
    const char *iss; /* the SSO issuer (for tokens: the minter's) */
    const char *sub;
    const char *email;              /* NULL when the IdP gave none */
    const char *preferred_username; /* NULL when the IdP gave none */
    const char *name;
    const char **groups;
    size_t ngroups;
    int mfa;            /* amr says a second factor was used */
    int64_t auth_time;  /* 0 when unknown */
    int64_t expires;    /* unix seconds */
    const char *token_id; /* hubgate token id, or NULL */
    const char *token_name;
    int read_only;        /* a read-scoped hubgate token */
} gw_identity_t;

typedef struct gw_auth gw_auth_t;
typedef struct gw_tokens gw_tokens_t;

/* The authentication stage. Borrows cfg, jwks and tokens (tokens may be NULL: hubgate tokens
 * then fail). Returns NULL when out of memory. */
gw_auth_t *gw_auth_create(const gw_config_t *cfg, gw_jwks_t *jwks, gw_tokens_t *tokens);
void gw_auth_destroy(gw_auth_t *auth);

typedef enum {
    GW_AUTH_OK = 0,         /* *id is filled (possibly anonymous) */
    GW_AUTH_INVALID = 401,  /* bad, expired, revoked, unverifiable or ambiguous credentials */
    GW_AUTH_UNAVAILABLE = 503, /* keys or the token store cannot be reached right now */
} gw_auth_result_t;

/* Authenticates a request from its headers. Identity strings are allocated in the arena.
 * *reason says why on failure (static text, safe to log; never the token). May block briefly:
 * an unknown kid waits for one JWKS refresh (at most 2 s), a hubgate token not in the cache is
 * looked up in PostgreSQL. */
gw_auth_result_t gw_auth_authenticate(gw_auth_t *auth, const gw_header_t *headers, size_t n,
                                      cmn_arena_t *arena, gw_identity_t *id, const char **reason);

/* Extracts an identity from verified JWT claims (also used for token owner snapshots).
 * groups_claim is a dot path ("groups", "realm_access.roles"). Returns 0 or CMN_ERR_NOMEM. */
struct json_t;
int gw_identity_from_claims(const struct json_t *claims, const char *iss,
                            const char *groups_claim, cmn_arena_t *arena, gw_identity_t *id);

/* The identity as a JSON object (for /-/whoami and token owner snapshots). New reference. */
struct json_t *gw_identity_to_json(const gw_identity_t *id);

/* "iss|sub": how one SSO subject is named in logs, audit events and token ownership. */
const char *gw_identity_principal(const gw_identity_t *id, cmn_arena_t *arena);

#endif
