/* X-Hubgate-Identity: a short-lived ES256 JWT in which hubgate vouches, to the upstream hub,
 * for whom it forwards a request (sub, email, request id) and under which grant (the org, role
 * and region the policy allowed it under). Its public key is served
 * at /-/jwks.json so a hub that wants to can verify it.
 *
 * Signed with OpenSSL on a key parsed once, not with libjwt: libjwt 1.10.2 re-parses its PEM
 * key on every call, 544 µs per ES256 assertion measured here against 28 µs (a deliberate,
 * measured departure from using libjwt everywhere). A unit test checks that libjwt itself
 * accepts the assertions. */
#ifndef HUBGATE_GATEWAY_ASSERTION_H
#define HUBGATE_GATEWAY_ASSERTION_H

#include <stdint.h>

#include "common/arena.h"
#include "gateway/authn/identity.h"
#include "gateway/limits.h"

#define GW_ASSERTION_TTL_SECONDS 60

typedef struct gw_assertion gw_assertion_t;

/* Loads a P-256 private key (PEM) from path, which must be private to its owner (no group or
 * other permission bits: cmn_secret_read), or generates one when path is NULL. issuer is
 * hubgate's public URL (the "iss" claim). Returns NULL with a log line on failure. */
gw_assertion_t *gw_assertion_create(const char *path, const char *issuer);
void gw_assertion_destroy(gw_assertion_t *a);

/* Mints the assertion for one request. org, role and region are what the request was allowed
 * under: NULL (a JSON null) when the decision names none — a namespace that is no org, a route
 * about no repo. Returns the compact JWT from the arena, or NULL on failure. Thread-safe. */
const char *gw_assertion_mint(gw_assertion_t *a, const gw_identity_t *id, const char *org,
                              const char *role, const char *region, const char *request_id,
                              int64_t now, cmn_arena_t *arena);

/* The public key as a JWKS document ({"keys":[…]}), static for the object's life. */
const char *gw_assertion_jwks(const gw_assertion_t *a);

#endif
