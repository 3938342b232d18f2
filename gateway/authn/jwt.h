/* Verification of OIDC access tokens (JWS compact serialisation) with OpenSSL.
 *
 * Not libjwt: the Debian libjwt 1.10.2 refuses RFC 9068 access tokens (typ at+jwt), takes the
 * algorithm from the token header, checks no claims and re-parses its PEM key on every call.
 * Here the algorithm comes from the key and the issuer's
 * allow-list, never from the token alone: `none`, HS*, `crit` and any algorithm that does not
 * fit the key's type are refused; header and payload must be JSON objects without duplicate
 * keys; iss, aud, exp, nbf and iat are checked with a small leeway. */
#ifndef HUBGATE_GATEWAY_JWT_H
#define HUBGATE_GATEWAY_JWT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/limits.h"

typedef enum {
    GW_JWT_RS256, GW_JWT_RS384, GW_JWT_RS512,
    GW_JWT_PS256, GW_JWT_PS384, GW_JWT_PS512,
    GW_JWT_ES256, GW_JWT_ES384,
    GW_JWT_ALG_COUNT,
} gw_jwt_alg_t;

/* A token split and decoded, not yet trusted. */
typedef struct {
    json_t *header;  /* owned: json_decref via gw_jwt_free */
    json_t *payload; /* owned */
    const char *signing_input; /* "header.payload" as it appears in the token (borrowed) */
    size_t signing_input_len;
    unsigned char *signature; /* arena */
    size_t signature_len;
    const char *alg; /* header "alg" (borrowed from header) */
    const char *kid; /* header "kid" or NULL */
    const char *iss; /* payload "iss" or NULL: selects the issuer whose keys verify it */
} gw_jwt_t;

/* Splits and decodes a compact JWS: exactly three base64url segments, header and payload JSON
 * objects without duplicate keys, a non-empty signature, at most GW_MAX_JWT_BYTES. Returns 0,
 * or CMN_ERR_PARSE / CMN_ERR_TOOBIG with *reason set (static text). Pure. */
int gw_jwt_parse(const char *token, size_t len, cmn_arena_t *arena, gw_jwt_t *out,
                 const char **reason);

void gw_jwt_free(gw_jwt_t *jwt);

/* "RS256" → GW_JWT_RS256; -1 when unknown (including none and HS*). */
int gw_jwt_alg_parse(const char *name);

/* 1 when the algorithm can be used with this key: RS* and PS* need RSA of at least 2048 bits,
 * ES256 a P-256 key, ES384 a P-384 key. */
int gw_jwt_alg_fits_key(gw_jwt_alg_t alg, EVP_PKEY *key);

/* Checks the signature of a parsed token with `key` under `alg` (the caller has already
 * decided alg from its allow-list and the key). Returns 0 or CMN_ERR_CRYPTO. */
int gw_jwt_verify_signature(const gw_jwt_t *jwt, gw_jwt_alg_t alg, EVP_PKEY *key);

typedef struct {
    const char *issuer;   /* expected iss, exactly */
    const char *audience; /* must be aud, or in the aud array */
    int64_t now;          /* unix seconds */
    int leeway;           /* seconds, for exp, nbf and iat */
} gw_jwt_expect_t;

/* Which check a token failed (gw_jwt_check_claims). */
typedef enum {
    GW_JWT_CLAIMS_OK = 0,
    GW_JWT_CLAIMS_UNSUPPORTED,   /* typ other than JWT / at+jwt, or crit */
    GW_JWT_CLAIMS_ISSUER,        /* iss is not the expected issuer */
    GW_JWT_CLAIMS_AUDIENCE,      /* aud does not name the expected audience */
    GW_JWT_CLAIMS_EXPIRED,       /* exp passed (beyond the leeway) */
    GW_JWT_CLAIMS_NOT_YET_VALID, /* nbf or iat in the future (beyond the leeway) */
    GW_JWT_CLAIMS_MALFORMED,     /* exp missing, a date that is not a NumericDate, sub missing */
} gw_jwt_claims_t;

/* Checks the registered claims: typ (absent, "JWT" or "at+jwt"), no crit, iss, aud, exp
 * (required), nbf, iat (not in the future), sub. Returns GW_JWT_CLAIMS_OK (0), or the first
 * check that failed with *reason set (static text). Pure. */
gw_jwt_claims_t gw_jwt_check_claims(const gw_jwt_t *jwt, const gw_jwt_expect_t *expect,
                                    const char **reason);

#endif
