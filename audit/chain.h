/* The per-stream hash chain (docs/evidence-format.md "Chain v2"):
 *
 *     prev_hash(seq) = hash(seq − 1)
 *     prev_hash(1)   = genesis(stream) = SHA-256("hubgate-audit-genesis-v1\n" ‖ stream name)
 *
 *   an event whose canonical text says "v":1 (chain 1, every event written before v2):
 *     hash = SHA-256(prev_hash ‖ canonical)
 *   an event whose canonical text says "v":2 (chain 2):
 *     commitment = SHA-256(canonical)
 *     hash       = SHA-256(prev_hash ‖ be16(len(org)) ‖ org ‖ commitment)
 *   where org is the event's decision.org in UTF-8 ("" when absent, at most AUD_CHAIN_MAX_ORG
 *   bytes) and be16 its length as two big-endian bytes.
 *
 * seq runs from 1 without gaps. The genesis is stream-specific so that a chain cannot be
 * transplanted into another stream: its first link would break. A chain-1 input has '{' as its
 * 33rd byte, a chain-2 input a length's high byte (at most 0x10): the two never hash the same
 * bytes. Chain 2 lets an event be shown as its org and its commitment alone (an org-scoped
 * report proves its chain unbroken without disclosing other orgs' events); chain-1 events can
 * only be shown whole. The version is read from the canonical text itself, so every stream
 * may mix both and each event keeps verifying under the rule it was written with.
 *
 * Reproducible with coreutils:
 *     printf 'hubgate-audit-genesis-v1\n%s' gw-1 | sha256sum
 *     (printf '%s' "$PREV_HEX" | xxd -r -p; printf '%s' "$CANONICAL") | sha256sum       # v1
 *     c=$(printf '%s' "$CANONICAL" | sha256sum | cut -d' ' -f1)                           # v2,
 *     (printf '%s' "$PREV_HEX" | xxd -r -p; printf '\000\004acme'; printf '%s' "$c" | xxd -r -p) \
 *         | sha256sum                                                          # org "acme" */
#ifndef HUBGATE_AUDIT_CHAIN_H
#define HUBGATE_AUDIT_CHAIN_H

#include <stddef.h>

#include "audit/limits.h"

#define AUD_HASH_BYTES    32

/* A reusable SHA-256 context: one per thread (not thread-safe). */
typedef struct {
    void *ctx; /* EVP_MD_CTX */
    void *md;  /* EVP_MD, fetched once */
} aud_hasher_t;

/* Returns 0 or CMN_ERR_CRYPTO / CMN_ERR_NOMEM. */
int aud_hasher_init(aud_hasher_t *h);

/* Accepts a zeroed or freed hasher. */
void aud_hasher_free(aud_hasher_t *h);

/* The chain version of a canonical event: 2 when its text ends with "v":2} (in canonical form
 * "v" is the last top-level key), else 1. Any other text — a legacy event, or bytes that are
 * not an event at all — is hashed under chain 1, as it always was. */
int aud_chain_version(const char *canonical, size_t len);

/* Decodes the top-level decision.org of a canonical event into org (not NUL-terminated) and
 * sets *orglen (0 when the event has no decision or no org). Reads only what canonical form
 * allows there (an object of string members, escapes \" \\ \b \t \n \f \r \u00xx). Returns 0,
 * or CMN_ERR_PARSE when the decision object is malformed or org is longer than
 * AUD_CHAIN_MAX_ORG bytes. Does not block. */
int aud_chain_org(const char *canonical, size_t len, char org[AUD_CHAIN_MAX_ORG], size_t *orglen);

/* out = SHA-256(canonical[0..len)): a chain-2 event's commitment. Returns 0 or
 * CMN_ERR_CRYPTO. */
int aud_chain_commitment(aud_hasher_t *h, const char *canonical, size_t len,
                         unsigned char out[AUD_HASH_BYTES]);

/* The chain-2 link from an event's org and commitment (an event shown hidden):
 * out = SHA-256(prev ‖ be16(orglen) ‖ org ‖ commitment). out may alias prev or commitment.
 * Returns 0, CMN_ERR_INVAL when orglen > AUD_CHAIN_MAX_ORG, or CMN_ERR_CRYPTO. */
int aud_chain_next_v2(aud_hasher_t *h, const unsigned char prev[AUD_HASH_BYTES], const char *org,
                      size_t orglen, const unsigned char commitment[AUD_HASH_BYTES],
                      unsigned char out[AUD_HASH_BYTES]);

/* The hash of the event canonical[0..len) after prev, under the chain version its text names
 * (aud_chain_version): chain 1 or chain 2 with its decision.org. out may alias prev. Returns 0,
 * CMN_ERR_PARSE (a "v":2 text whose decision.org cannot be read: not a canonical event), or
 * CMN_ERR_CRYPTO; on error out is all zeros, which no stored hash equals. */
int aud_chain_next(aud_hasher_t *h, const unsigned char prev[AUD_HASH_BYTES], const char *canonical,
                   size_t len, unsigned char out[AUD_HASH_BYTES]);

/* The genesis prev_hash of a stream. */
void aud_chain_genesis(const char *stream, unsigned char out[AUD_HASH_BYTES]);

/* The first 8 bytes of a hash as 16 hex digits into out, for messages; returns out. */
const char *aud_chain_hash_short(const unsigned char hash[AUD_HASH_BYTES], char out[17]);


/* Decodes exactly 2n hex digits (either case) into n bytes. Returns 0 or CMN_ERR_PARSE (out then
 * holds garbage). */
int aud_unhex(const char *hex, size_t hexlen, unsigned char *out, size_t n);

#endif
