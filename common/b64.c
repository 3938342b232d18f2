#include "common/b64.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t cmn_b64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void cmn_b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
}

static int value_of(char c, int std)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (std ? '+' : '-'))
        return 62;
    if (c == (std ? '/' : '_'))
        return 63;
    return -1;
}

/* Decodes len characters of either alphabet into out; the byte count, or -1 for a character
 * outside it. *leftover: the bits past the last whole byte. */
static long decode(const char *in, size_t len, unsigned char *out, size_t cap, int std,
                   unsigned *leftover)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = value_of(in[i], std);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *leftover = acc;
    return (long)o;
}

long cmn_b64url_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4 == 1)
        return -1;
    unsigned leftover = 0;
    long n = decode(in, len, out, len, 0, &leftover);
    if (leftover != 0)
        return -1; /* leftover bits must be zero: one canonical encoding */
    return n;
}

long cmn_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    unsigned leftover = 0;
    while (len && in[len - 1] == '=')
        len--;
    return decode(in, len, out, cap, 1, &leftover);
}

char *cmn_b64url_random(cmn_arena_t *a, const char *prefix, size_t n)
{
    unsigned char raw[32];
    char enc[48];
    if (n > sizeof(raw) || RAND_bytes(raw, (int)n) != 1)
        return NULL;
    cmn_b64url_encode(raw, n, enc);
    char *out = cmn_arena_printf(a, "%s%s", prefix, enc);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(enc, sizeof(enc));
    return out;
}
