/* SHA-256 (FIPS 180-4), so that policy/ can name the exact bytes of a policy file without
 * linking OpenSSL (policy/ links common and jansson only). Pure functions; no allocation. */
#ifndef HUBGATE_POLICY_SHA256_H
#define HUBGATE_POLICY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define POL_SHA256_BYTES 32
#define POL_SHA256_HEX   65 /* 64 hex digits and a NUL */

typedef struct {
    uint32_t h[8];
    uint64_t bytes; /* message length so far */
    uint8_t block[64];
    size_t fill; /* bytes waiting in block */
} pol_sha256_t;

void pol_sha256_init(pol_sha256_t *c);
void pol_sha256_update(pol_sha256_t *c, const void *data, size_t len);
void pol_sha256_final(pol_sha256_t *c, uint8_t out[POL_SHA256_BYTES]);

/* One-shot digest of data[0..len) as 64 lowercase hex digits, NUL-terminated. */
void pol_sha256_hex(const void *data, size_t len, char out[POL_SHA256_HEX]);

#endif
