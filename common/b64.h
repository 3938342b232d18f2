/* base64url without padding (RFC 4648 §5), as JWTs and hubgate's sealed URLs use it; and the
 * standard alphabet (§4) for decoding HTTP Basic credentials. */
#ifndef HUBGATE_COMMON_B64_H
#define HUBGATE_COMMON_B64_H

#include <stddef.h>

#include "common/arena.h"

/* Output length for n input bytes (without a NUL). */
size_t cmn_b64url_encoded_len(size_t n);

/* Encodes n bytes into out (capacity cmn_b64url_encoded_len(n) + 1; NUL-terminated). */
void cmn_b64url_encode(const unsigned char *in, size_t n, char *out);

/* Decodes len characters into out (capacity len * 3 / 4 + 1). Refuses padding, characters
 * outside the URL-safe alphabet, impossible lengths (len % 4 == 1) and non-canonical trailing
 * bits, so one byte string has exactly one encoding. Returns the byte count, or -1. */
long cmn_b64url_decode(const char *in, size_t len, unsigned char *out);

/* Decodes standard base64 (RFC 4648 §4, '+' and '/'; trailing '=' padding optional) as HTTP
 * Basic credentials carry it, into out (cap bytes). Lenient about bits past the last byte, as
 * clients' encoders differ there. Returns the byte count, or -1 for a character outside the
 * alphabet or an output longer than cap. */
long cmn_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap);

/* "<prefix><base64url of n random bytes>" (n ≤ 32, from the OS's CSPRNG through OpenSSL) in
 * arena: ids, codes and secrets hubgate makes. NULL when the randomness or the arena fails. */
char *cmn_b64url_random(cmn_arena_t *a, const char *prefix, size_t n);

#endif
