/* SHA-256 and lowercase hex, the one place every layer hashes through (OpenSSL's libcrypto
 * underneath: its SHA extensions make a 1 KiB digest ~4× cheaper than portable C here).
 * Streaming for files and pipes, one-shot for everything else. No function here can fail
 * short of OpenSSL itself being broken, which aborts the process: a digest that silently came
 * out wrong would break the audit chain and every cache keyed by it. */
#ifndef HUBGATE_COMMON_SHA256_H
#define HUBGATE_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define CMN_SHA256_BYTES 32
#define CMN_SHA256_HEX   65 /* 64 hex digits and a NUL */

typedef struct {
    void *ctx; /* OpenSSL's EVP_MD_CTX, owned until cmn_sha256_final */
} cmn_sha256_t;

/* Streaming digest: init, update any number of times, final (which releases the context;
 * every init must be followed by a final). */
void cmn_sha256_init(cmn_sha256_t *c);
void cmn_sha256_update(cmn_sha256_t *c, const void *data, size_t len);
void cmn_sha256_final(cmn_sha256_t *c, uint8_t out[CMN_SHA256_BYTES]);

/* One-shot digest of data[0..len). */
void cmn_sha256(const void *data, size_t len, uint8_t out[CMN_SHA256_BYTES]);

/* One-shot digest as 64 lowercase hex digits, NUL-terminated. */
void cmn_sha256_hex(const void *data, size_t len, char out[CMN_SHA256_HEX]);

/* bytes[0..n) as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void cmn_hex(const void *bytes, size_t n, char *out);

/* The value of one hex digit (either case), or -1 for any other character. */
int cmn_hex_value(int c);

#endif
