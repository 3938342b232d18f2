#include "common/sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

static void broken(const char *what)
{
    fprintf(stderr, "hubgate: OpenSSL SHA-256 %s failed; cannot continue\n", what);
    abort();
}

void cmn_sha256_init(cmn_sha256_t *c)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        broken("init");
    c->ctx = ctx;
}

void cmn_sha256_update(cmn_sha256_t *c, const void *data, size_t len)
{
    if (len > 0 && EVP_DigestUpdate(c->ctx, data, len) != 1)
        broken("update");
}

void cmn_sha256_final(cmn_sha256_t *c, uint8_t out[CMN_SHA256_BYTES])
{
    unsigned n = 0;
    if (EVP_DigestFinal_ex(c->ctx, out, &n) != 1 || n != CMN_SHA256_BYTES)
        broken("final");
    EVP_MD_CTX_free(c->ctx);
    c->ctx = NULL;
}

void cmn_sha256(const void *data, size_t len, uint8_t out[CMN_SHA256_BYTES])
{
    unsigned n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != CMN_SHA256_BYTES)
        broken("digest");
}

void cmn_sha256_hex(const void *data, size_t len, char out[CMN_SHA256_HEX])
{
    uint8_t d[CMN_SHA256_BYTES];
    cmn_sha256(data, len, d);
    cmn_hex(d, sizeof d, out);
}

void cmn_hex(const void *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = bytes;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int cmn_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
