/* Types only: why credentials were refused (authn/auth.h), a code the token store, the
 * metrics and the audit event share. */
#ifndef HUBGATE_GATEWAY_AUTHN_AUTH_T_H
#define HUBGATE_GATEWAY_AUTHN_AUTH_T_H

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
    X(INTERNAL, "internal")               /* out of memory (503) */                                \
    X(DEPROVISIONED, "deprovisioned")     /* the SCIM directory deactivated the person */

typedef enum {
#define GW_AUTH_REASON_ENUM(name, label) GW_AUTH_REASON_##name,
    GW_AUTH_REASON_MAP(GW_AUTH_REASON_ENUM)
#undef GW_AUTH_REASON_ENUM
        GW_AUTH_REASON_COUNT_
} gw_auth_reason_t;

#endif
