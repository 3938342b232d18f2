/* The per-stream hash chain (DESIGN.md "Audit log"):
 *
 *     hash(seq) = SHA-256(prev_hash ‖ canonical event bytes),  prev_hash(seq) = hash(seq − 1)
 *     prev_hash(1) = genesis(stream) = SHA-256("hubgate-audit-genesis-v1\n" ‖ stream name)
 *
 * seq runs from 1 without gaps. The genesis is stream-specific so that a chain cannot be
 * transplanted into another stream: its first link would break. Reproducible with coreutils:
 *     printf 'hubgate-audit-genesis-v1\n%s' gw-1 | sha256sum
 *     (printf '%s' "$PREV_HEX" | xxd -r -p; printf '%s' "$CANONICAL") | sha256sum */
#ifndef HUBGATE_AUDIT_CHAIN_H
#define HUBGATE_AUDIT_CHAIN_H

#include <stddef.h>

#define AUD_HASH_BYTES 32

/* A reusable SHA-256 context: one per thread (not thread-safe). */
typedef struct {
    void *ctx; /* EVP_MD_CTX */
    void *md;  /* EVP_MD, fetched once */
} aud_hasher_t;

/* Returns 0 or CMN_ERR_CRYPTO / CMN_ERR_NOMEM. */
int aud_hasher_init(aud_hasher_t *h);

/* Accepts a zeroed or freed hasher. */
void aud_hasher_free(aud_hasher_t *h);

/* out = SHA-256(prev ‖ canonical[0..len)). out may alias prev. Returns 0 or CMN_ERR_CRYPTO. */
int aud_chain_next(aud_hasher_t *h, const unsigned char prev[AUD_HASH_BYTES], const char *canonical,
                   size_t len, unsigned char out[AUD_HASH_BYTES]);

/* The genesis prev_hash of a stream. */
void aud_chain_genesis(const char *stream, unsigned char out[AUD_HASH_BYTES]);

/* Lowercase hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void aud_hex(const unsigned char *bytes, size_t n, char *out);

/* Decodes exactly 2n hex digits (either case) into n bytes. Returns 0 or CMN_ERR_PARSE. */
int aud_unhex(const char *hex, size_t hexlen, unsigned char *out, size_t n);

#endif
