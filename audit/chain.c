#include "audit/chain.h"
#include "common/err.h"

#include <openssl/evp.h>
#include <string.h>

int aud_hasher_init(aud_hasher_t *h)
{
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (!h->md || !h->ctx) {
        aud_hasher_free(h);
        return CMN_ERR_CRYPTO;
    }
    return 0;
}

void aud_hasher_free(aud_hasher_t *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    h->ctx = NULL;
    h->md = NULL;
}

int aud_chain_next(aud_hasher_t *h, const unsigned char prev[AUD_HASH_BYTES], const char *canonical,
                   size_t len, unsigned char out[AUD_HASH_BYTES])
{
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 ||
        EVP_DigestUpdate(h->ctx, prev, AUD_HASH_BYTES) != 1 ||
        EVP_DigestUpdate(h->ctx, canonical, len) != 1 || EVP_DigestFinal_ex(h->ctx, out, &n) != 1 ||
        n != AUD_HASH_BYTES)
        return CMN_ERR_CRYPTO;
    return 0;
}

void aud_chain_genesis(const char *stream, unsigned char out[AUD_HASH_BYTES])
{
    static const char prefix[] = "hubgate-audit-genesis-v1\n";
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, prefix, sizeof(prefix) - 1) != 1 ||
        EVP_DigestUpdate(ctx, stream, strlen(stream)) != 1 || EVP_DigestFinal_ex(ctx, out, &n) != 1)
        memset(out, 0, AUD_HASH_BYTES); /* only when out of memory; every chain then breaks */
    EVP_MD_CTX_free(ctx);
}

void aud_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int aud_unhex(const char *hex, size_t hexlen, unsigned char *out, size_t n)
{
    if (hexlen != 2 * n)
        return CMN_ERR_PARSE;
    for (size_t i = 0; i < n; i++) {
        int a = nibble(hex[2 * i]), b = nibble(hex[2 * i + 1]);
        if (a < 0 || b < 0)
            return CMN_ERR_PARSE;
        out[i] = (unsigned char)(a << 4 | b);
    }
    return 0;
}
