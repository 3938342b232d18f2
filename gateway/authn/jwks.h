/* OIDC issuers' signing keys: discovery → jwks_uri → JWKS, fetched with libcurl by one
 * background thread, parsed into OpenSSL keys once per fetch, and swapped in as an immutable,
 * reference-counted key set.
 *
 * Refreshed periodically, and on a token whose kid is unknown (single-flight: one fetch at a
 * time per issuer; rate limited: at most one such refresh per GW_JWKS_KID_REFRESH_SECONDS). The
 * last good set is kept while the IdP is down, up to jwks_max_stale_seconds; after that tokens
 * of that issuer are refused until a fetch succeeds. Every key-set change is logged (and
 * reported to an optional callback, for the audit log). */
#ifndef HUBGATE_GATEWAY_JWKS_H
#define HUBGATE_GATEWAY_JWKS_H

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/config/config.h"
#include "gateway/limits.h"

#define GW_JWKS_KID_REFRESH_SECONDS 10
#define GW_JWKS_FETCH_TIMEOUT_MS   5000

typedef struct {
    char *kid;
    EVP_PKEY *key;
    int alg; /* the JWK's "alg" as gw_jwt_alg_t, or -1 when the JWK names none */
} gw_jwk_t;

typedef struct {
    atomic_int refs;
    gw_jwk_t *keys;
    size_t n;
    uint64_t generation; /* increases with every fetch that changed the set */
} gw_keyset_t;

typedef struct gw_jwks gw_jwks_t;

/* Called (from the fetch thread) when an issuer's key set changed: summary lists the kids
 * added and removed; trigger says what made hubgate fetch them: "start" (the first fetch),
 * "unknown_kid" (a token named a key hubgate did not know), "retry" (after a failed fetch),
 * "schedule" (the periodic refresh). */
typedef void (*gw_jwks_change_cb)(void *ctx, const char *issuer, const char *summary,
                                  const char *trigger);

/* Starts the fetch thread for every issuer of the config (which must outlive it). Returns NULL
 * on failure. Does not wait for the first fetch. */
gw_jwks_t *gw_jwks_start(const gw_config_t *cfg, gw_jwks_change_cb on_change, void *ctx);

/* Stops the thread and frees every key set. Accepts NULL. Blocks until the thread ends. */
void gw_jwks_stop(gw_jwks_t *j);

/* 1 when every issuer has a key set that is not stale. */
int gw_jwks_ready(gw_jwks_t *j);

typedef enum {
    GW_JWKS_FOUND = 0,
    GW_JWKS_NO_KEYS,     /* no successful fetch yet: 503 */
    GW_JWKS_STALE,       /* keys older than the staleness bound: 503 */
    GW_JWKS_UNKNOWN_KID, /* not in the (refreshed) set: 401 */
} gw_jwks_result_t;

/* Finds issuer #issuer's key `kid`. An unknown kid triggers a refresh (single-flight, rate
 * limited) and waits for it up to wait_ms. On GW_JWKS_FOUND, *set holds a reference the caller
 * drops with gw_keyset_release, and *key points into it. Blocks up to wait_ms. */
gw_jwks_result_t gw_jwks_find(gw_jwks_t *j, size_t issuer, const char *kid, int wait_ms,
                              gw_keyset_t **set, const gw_jwk_t **key);

/* 1 when kid is in issuer #issuer's current set and that set is not stale. */
int gw_jwks_has_kid(gw_jwks_t *j, size_t issuer, const char *kid);

void gw_keyset_release(gw_keyset_t *set);

/* An issuer's sign-in endpoints, from the discovery document its keys were found with. */
typedef struct {
    const char *authorization; /* authorization_endpoint */
    const char *token;         /* token_endpoint */
    const char *end_session;   /* end_session_endpoint, or NULL */
    int iss_parameter; /* authorization_response_iss_parameter_supported: responses carry iss */
} gw_oidc_endpoints_t;

/* Issuer #issuer's endpoints, copied into arena. Returns 0, CMN_ERR_UNAVAILABLE until its
 * discovery document was read (with an authorization and a token endpoint hubgate may call: https,
 * or http to a loopback literal), CMN_ERR_NOTFOUND, CMN_ERR_NOMEM. Never blocks on the network. */
int gw_jwks_endpoints(gw_jwks_t *j, size_t issuer, cmn_arena_t *arena, gw_oidc_endpoints_t *out);

/* Parses a JWKS document into a key set. Keys that are unusable (kty other than RSA or EC, RSA
 * under 2048 bits, a curve other than P-256/P-384, a point off the curve, use other than sig,
 * a missing or duplicate kid) are skipped and described in `skipped` (may be NULL). Returns
 * NULL when the document is not a JWKS or nothing is usable. Pure apart from OpenSSL. */
gw_keyset_t *gw_jwks_parse(const char *text, size_t len, cmn_buf_t *skipped);

#endif
