/* Who is calling (docs/configuration.md): an SSO access token (JWT) from a configured
 * OIDC issuer, a hubgate token (hf_gw_…), or nobody. git's Basic auth carries the token as
 * its password. Everything about the caller that policy and audit need is in gw_identity_t;
 * the token itself never leaves this module. */
#ifndef HUBGATE_GATEWAY_IDENTITY_H
#define HUBGATE_GATEWAY_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/config/config.h"
#include "gateway/http/headers.h"
#include "gateway/authn/jwks.h"
#include "gateway/limits.h"

typedef enum {
    GW_ID_ANONYMOUS = 0,
    GW_ID_SSO,   /* a verified JWT from a configured issuer */
    GW_ID_TOKEN, /* a hubgate token, on behalf of the SSO identity that minted it */
} gw_identity_kind_t;

typedef struct {
    gw_identity_kind_t kind;
    const char *iss; /* the SSO issuer (for tokens: the minter's) */
    const char *sub;
    const char *email;              /* NULL when the IdP gave none; recorded in audit events */
    int email_verified;             /* the email may name the caller in a policy: the IdP said
                                       email_verified: true, or its issuer is configured with
                                       email_verified_assumed */
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

/* X(NAME, "label") — why credentials were refused, as counted in metrics
 * (hubgate_auth_failures_total{reason="label"}). A small fixed set: the free text for logs is
 * separate. */
#define GW_AUTH_REASON_MAP(X)                                                                      \
    X(NONE, "none")                       /* not refused */                                        \
    X(MALFORMED, "malformed")             /* header, Basic, JWS shape, claims of a wrong type */  \
    X(UNSUPPORTED, "unsupported")         /* scheme, typ, crit, or a kind not configured */      \
    X(EXPIRED, "expired")                 /* JWT exp passed */                                     \
    X(NOT_YET_VALID, "not_yet_valid")     /* JWT nbf or iat in the future */                       \
    X(BAD_SIGNATURE, "bad_signature")                                                              \
    X(UNKNOWN_KEY, "unknown_key")         /* kid not published by the issuer */                    \
    X(WRONG_ISSUER, "wrong_issuer")       /* iss not a configured issuer */                        \
    X(WRONG_AUDIENCE, "wrong_audience")                                                            \
    X(ALGORITHM, "algorithm")             /* alg not allowed, or not the key's */                  \
    X(TOO_MANY_GROUPS, "too_many_groups") /* more than GW_MAX_GROUPS */                            \
    X(UNKNOWN_TOKEN, "unknown_token")     /* hf_gw_ token not in the store */                      \
    X(REVOKED, "revoked")                 /* hf_gw_ token revoked */                               \
    X(TOKEN_EXPIRED, "token_expired")     /* hf_gw_ token past its expiry */                       \
    X(IDP_UNAVAILABLE, "idp_unavailable") /* no keys yet, or keys too stale (503) */               \
    X(STORE_UNAVAILABLE, "token_store_unavailable") /* the database (503) */                       \
    X(INTERNAL, "internal")               /* out of memory (503) */

typedef enum {
#define GW_AUTH_REASON_ENUM(name, label) GW_AUTH_REASON_##name,
    GW_AUTH_REASON_MAP(GW_AUTH_REASON_ENUM)
#undef GW_AUTH_REASON_ENUM
        GW_AUTH_REASON_COUNT_
} gw_auth_reason_t;

/* The reason's static label ("expired"); "?" out of range. Never NULL. */
const char *gw_auth_reason_name(gw_auth_reason_t reason);

/* Authenticates a request from its headers. Identity strings are allocated in the arena.
 * On failure *reason says why as a code (for metrics) and *why as static text (safe to log;
 * never the token); on success *reason is GW_AUTH_REASON_NONE. May block briefly: an unknown
 * kid waits for one JWKS refresh (at most 2 s), a hubgate token not in the cache is looked up
 * in PostgreSQL. */
gw_auth_result_t gw_auth_authenticate(gw_auth_t *auth, const gw_header_t *headers, size_t n,
                                      cmn_arena_t *arena, gw_identity_t *id,
                                      gw_auth_reason_t *reason, const char **why);

/* Extracts an identity from verified JWT claims (also used for token owner snapshots).
 * groups_claim is a dot path ("groups", "realm_access.roles"): a string or an array of strings.
 * The email is verified when "email_verified" is JSON true, or when the claim is absent and
 * email_verified_assumed is set (an issuer that never sends it); an explicit false always
 * stands. Returns 0; CMN_ERR_TOOBIG when the groups claim holds more than GW_MAX_GROUPS entries
 * (refuse the token: never truncate); CMN_ERR_PARSE when it is of another type or holds a
 * non-string; CMN_ERR_NOMEM. */
struct json_t;
int gw_identity_from_claims(const struct json_t *claims, const char *iss,
                            const char *groups_claim, int email_verified_assumed,
                            cmn_arena_t *arena, gw_identity_t *id);

/* The identity as a JSON object (for /-/whoami and token owner snapshots). New reference. */
struct json_t *gw_identity_to_json(const gw_identity_t *id);

/* "iss|sub": how one SSO subject is named in logs, audit events and token ownership. */
const char *gw_identity_principal(const gw_identity_t *id, cmn_arena_t *arena);

#endif
