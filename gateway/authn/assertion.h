/* X-Hubgate-Identity: a short-lived ES256 JWT in which hubgate vouches, to the upstream hub,
 * for whom it forwards a request (sub, sub_iss, email, mfa, token_id) and under which grant (the
 * org, role and region the policy allowed it under). Its public key is served at /-/jwks.json
 * so a hub that wants to can verify it.
 *
 * Signed once per claim set, not per request: an ES256 signature costs ~20 µs of CPU, more than
 * the rest of a request's proxying. The claims carry nothing about one request (the request id
 * travels in X-Request-Id), so every request of a caller under one grant carries the same
 * assertion for GW_ASSERTION_REUSE_SECONDS, after which the next request gets a new one; a hub
 * always receives one with at least GW_ASSERTION_TTL_SECONDS - GW_ASSERTION_REUSE_SECONDS to
 * live. The cache and what makes reuse safe: authn/assertion_cache.h.
 *
 * Signed with OpenSSL on a key parsed once, not with libjwt: libjwt 1.10.2 re-parses its PEM
 * key on every call, 544 µs per ES256 assertion measured here against 28 µs (a deliberate,
 * measured departure from using libjwt everywhere). A unit test checks that libjwt itself
 * accepts the assertions. */
#ifndef HUBGATE_GATEWAY_ASSERTION_H
#define HUBGATE_GATEWAY_ASSERTION_H

#include <stdint.h>

#include "common/arena.h"
#include "gateway/authn/assertion_cache.h"
#include "gateway/authn/identity.h"
#include "gateway/limits.h"

#define GW_ASSERTION_TTL_SECONDS 60
/* Keys published beside the signing key (config: GW_CONFIG_MAX_EXTRA_KEYS). */
#define GW_ASSERTION_MAX_PUBLISHED 4
/* A signed assertion is handed out again while at most this old: half its lifetime. */
#define GW_ASSERTION_REUSE_SECONDS (GW_ASSERTION_TTL_SECONDS / 2)

typedef struct gw_assertion gw_assertion_t;

/* Loads a P-256 private key (PEM) from path, which must be private to its owner (no group or
 * other permission bits: cmn_secret_read), or generates one when path is NULL. issuer is
 * hubgate's public URL (the "iss" claim). The object starts with an empty reuse cache of its
 * own (GW_ASSERTION_CACHE_ENTRIES), so a new key never hands out what an old one signed.
 * Returns NULL with a log line on failure. Caller frees with gw_assertion_destroy. */
gw_assertion_t *gw_assertion_create(const char *path, const char *issuer);

/* The same, and the keys in published[0..n) (at most GW_ASSERTION_MAX_PUBLISHED; P-256 PEM
 * files, public keys or private keys, a private one refused unless private to its owner)
 * published at /-/jwks.json after the signing key and never used to sign: the next key before
 * it signs, the previous one until what it signed has expired (docs/runbook.md). */
gw_assertion_t *gw_assertion_create_keys(const char *path, const char *const *published,
                                         size_t n_published, const char *issuer);

/* The key ids (kid) the JWKS lists, the signing key's first, into ids[0..cap) (borrowed from
 * a). Returns how many. */
size_t gw_assertion_key_ids(const gw_assertion_t *a, const char **ids, size_t cap);

/* 1 when a and b publish the same keys and sign with the same one. */
int gw_assertion_same_keys(const gw_assertion_t *a, const gw_assertion_t *b);

/* Frees the key, the cache and the object; accepts NULL. No thread may still be minting. */
void gw_assertion_destroy(gw_assertion_t *a);

/* The assertion for one request: {"iss", "sub", "sub_iss", "email", "org", "role", "region",
 * "mfa", "email_verified", "token_id", "iat", "exp"} ("sub_iss", "email", "email_verified" and
 * "token_id" only when the identity has them; "sub" is "anonymous" for an anonymous caller).
 * org, role and region are what the request was allowed under: NULL (a JSON null) when the
 * decision names none — a namespace that is no org, a route about no repo. request_id is not a
 * claim (it travels in X-Request-Id) and is ignored; it stays in the signature for the callers
 * written before the assertion was reused, and may be NULL.
 *
 * Returns an assertion signed at most GW_ASSERTION_REUSE_SECONDS before now (and not after it)
 * for exactly these claims — one already signed when the cache holds one, else a new one,
 * stored for the next requests — as a compact JWT in the arena; NULL when out of memory, when
 * a claim is not valid UTF-8 (refused, as a JSON encoder would), or when signing fails.
 * Thread-safe; never blocks but on a cache set's mutex. */
const char *gw_assertion_mint(gw_assertion_t *a, const gw_identity_t *id, const char *org,
                              const char *role, const char *region, const char *request_id,
                              int64_t now, cmn_arena_t *arena);

/* The reuse cache's counters (hits, misses, evictions, ...), for metrics and tests. */
void gw_assertion_stats(gw_assertion_t *a, gw_assertion_cache_stats_t *out);

/* The public keys as a JWKS document ({"keys":[…]}), the signing key first, then the
 * published ones; static for the object's life. */
const char *gw_assertion_jwks(const gw_assertion_t *a);

#endif
