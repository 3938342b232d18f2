/* Sealed egress URLs (DESIGN.md pipeline step 6).
 *
 * A URL in a response that hubgate cannot route as a Hub path (a storage or CDN URL, an LFS
 * upload href) is replaced by public_url/-/egress/<sealed>: the original URL, the method it
 * may be used with, the repo and action it was issued for, the caller, and an expiry,
 * encrypted and authenticated with AES-256-GCM under a key only hubgate holds. hubgate
 * forwards only URLs it sealed itself, for the caller they were sealed for, until they
 * expire, so clients need to reach nothing but hubgate and every byte is counted and audited
 * under the repo and action of the request that produced the URL. */
#ifndef HUBGATE_GATEWAY_EGRESS_H
#define HUBGATE_GATEWAY_EGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/arena.h"

#define GW_EGRESS_TTL_SECONDS 3600
#define GW_EGRESS_MAX_URL     4096

typedef struct {
    unsigned char key[32];
} gw_egress_key_t;

typedef struct {
    const char *url;     /* absolute http(s) URL to fetch */
    const char *method;  /* "GET" (HEAD implied), "PUT" or "POST" */
    const char *repo;    /* "models/acme/bert": what the transfer is audited under */
    const char *action;  /* "read", "write" */
    const char *caller;  /* the identity it was issued to ("" when anonymous) */
    const char *headers; /* extra request headers for the storage, "Name: value\n"… ("" none);
                            secrets the client never sees */
    int64_t expires;     /* unix seconds */
} gw_egress_claim_t;

/* A key from a file holding exactly 64 hex digits and an optional newline, private to its
 * owner (cmn_secret_read), or (path NULL) a fresh random one: URLs sealed by one process then
 * open only in that process. Returns 0; else CMN_ERR_NOTFOUND/IO/DENIED (the file's mode) /
 * PARSE / CRYPTO with a one-line reason naming the file in err, and key unchanged. Blocks. */
int gw_egress_key_load(gw_egress_key_t *key, const char *path, char *err, size_t errlen);

/* Seals a claim into a base64url token (arena-owned). NULL when out of memory or when a field
 * is too long or holds a NUL. */
const char *gw_egress_seal(const gw_egress_key_t *key, const gw_egress_claim_t *claim,
                           cmn_arena_t *arena);

/* Opens a token sealed by this key. Returns 0 with the claim's strings in the arena, or
 * CMN_ERR_PARSE (not ours, tampered) or CMN_ERR_TIMEOUT (expired at `now`). */
int gw_egress_open(const gw_egress_key_t *key, const char *token, time_t now, cmn_arena_t *arena,
                   gw_egress_claim_t *out);

#endif
