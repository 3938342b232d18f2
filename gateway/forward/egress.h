/* Sealed egress URLs (docs/egress.md).
 *
 * A URL in a response that is not a Hub route (a storage or CDN URL, an LFS upload href, a
 * storage path on the upstream's own origin) is replaced by public_url/-/egress/<sealed>: the
 * original URL, the method it may be used with, the repo and action it was issued for, who it
 * was issued to and under which decision (org, role, region, rule, policy), and an expiry,
 * encrypted and authenticated with AES-256-GCM under a key only hubgate holds. hubgate forwards
 * only URLs it sealed itself, for the caller they were sealed for, until they expire, so clients
 * need to reach nothing but hubgate, and every byte is counted and audited under the caller, repo,
 * action and decision of the request that produced the URL, even when the link is used without
 * credentials (git-lfs and redirect followers often send none). */
#ifndef HUBGATE_GATEWAY_FORWARD_EGRESS_H
#define HUBGATE_GATEWAY_FORWARD_EGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/arena.h"
#include "gateway/forward/egress-t.h"
#include "gateway/limits.h"

#define GW_EGRESS_TTL_SECONDS 3600

/* A key from a file holding exactly 64 hex digits and an optional newline, private to its
 * owner (cmn_secret_read), or (path NULL) a fresh random one: URLs sealed by one process then
 * open only in that process. Returns 0; else CMN_ERR_NOTFOUND/IO/DENIED (the file's mode) /
 * PARSE / CRYPTO with a one-line reason naming the file in err, and key unchanged. Blocks. */
int gw_egress_key_load(gw_egress_key_t *key, const char *path, char *err, size_t errlen);

/* The current key from `current` (gw_egress_key_load: NULL draws a random one) and each of
 * previous[0..n) (files, n <= GW_EGRESS_MAX_PREVIOUS_KEYS). Returns 0, else the first
 * failure's code with its one-line reason in err, and keys unchanged. Blocks. */
int gw_egress_keys_load(gw_egress_keys_t *keys, const char *current, const char *const *previous,
                        size_t n, char *err, size_t errlen);

/* The same into a new allocation (free with gw_egress_keys_free): NULL with the reason in err
 * (or "out of memory"). Blocks. */
gw_egress_keys_t *gw_egress_keys_new(const char *current, const char *const *previous, size_t n,
                                     char *err, size_t errlen);

/* Wipes and frees keys from gw_egress_keys_new; accepts NULL. */
void gw_egress_keys_free(gw_egress_keys_t *keys);

/* A key's id for logs and audit events: 16 hex digits of a SHA-256 over a label and the key,
 * which tells keys apart and reveals nothing of them. */
void gw_egress_key_id(const gw_egress_key_t *key, char out[17]);

/* 1 when a and b hold the same keys in the same roles (constant time over the keys). */
int gw_egress_keys_equal(const gw_egress_keys_t *a, const gw_egress_keys_t *b);

/* Seals a claim under keys->current into a base64url token (arena-owned) of at most
 * GW_EGRESS_MAX_TOKEN characters. NULL when out of memory, when a field is NULL or over its
 * cap, or when the fields together exceed GW_EGRESS_MAX_PLAIN. */
const char *gw_egress_seal(const gw_egress_keys_t *keys, const gw_egress_claim_t *claim,
                           cmn_arena_t *arena);

/* Opens a token sealed under the current key or one of the previous keys, tried in that order
 * (AES-GCM's tag fails cleanly under a wrong key). Each key tried before the right one costs a
 * failed open: 0.8-0.9 µs for a 916-character link against 1.9 µs for the whole open (OpenSSL
 * 3.0, AMD EPYC; a link sealed under the fifth key against the first, best of 20 rounds of
 * 50,000), and only during a rotation, for links sealed before it. Returns 0 with the claim's
 * strings in the arena, or CMN_ERR_PARSE (not ours, tampered, sealed by an older version or by a
 * key no longer listed, longer than GW_EGRESS_MAX_TOKEN) or CMN_ERR_EXPIRED (expired at `now`). */
int gw_egress_open(const gw_egress_keys_t *keys, const char *token, time_t now, cmn_arena_t *arena,
                   gw_egress_claim_t *out);

/* The same for hubgate's Xet tokens (docs/xet-storage.md): a claim whose url is the upstream's CAS
 * and whose headers carry the upstream's Xet token, sealed under other associated data, so
 * that a Xet token never opens as a link, nor a link as a Xet token. */
const char *gw_egress_seal_xet_token(const gw_egress_keys_t *keys, const gw_egress_claim_t *claim,
                                     cmn_arena_t *arena);
int gw_egress_open_xet_token(const gw_egress_keys_t *keys, const char *token, time_t now,
                             cmn_arena_t *arena, gw_egress_claim_t *out);

/* The same for a browser sign-in in flight (admin/login.h): its state, nonce and PKCE verifier
 * in `headers`, the page to return to in `url`, method "LOGIN", sealed into the pre-login
 * cookie under associated data of its own (never a link, nor a link one of these). Sealed
 * with the egress key, so that any instance sharing it can finish a sign-in another began. */
const char *gw_egress_seal_login(const gw_egress_keys_t *keys, const gw_egress_claim_t *claim,
                                 cmn_arena_t *arena);
int gw_egress_open_login(const gw_egress_keys_t *keys, const char *token, time_t now,
                         cmn_arena_t *arena, gw_egress_claim_t *out);

#endif
