#include "audit/chain.h"
#include "common/err.h"
#include "common/json_escape.h"
#include "common/sha256.h"

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

static int digest(aud_hasher_t *h, const unsigned char *a, size_t alen, const void *b, size_t blen,
                  const void *c, size_t clen, const void *d, size_t dlen,
                  unsigned char out[AUD_HASH_BYTES])
{
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 ||
        (alen && EVP_DigestUpdate(h->ctx, a, alen) != 1) ||
        (blen && EVP_DigestUpdate(h->ctx, b, blen) != 1) ||
        (clen && EVP_DigestUpdate(h->ctx, c, clen) != 1) ||
        (dlen && EVP_DigestUpdate(h->ctx, d, dlen) != 1) ||
        EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != AUD_HASH_BYTES)
        return CMN_ERR_CRYPTO;
    return 0;
}

int aud_chain_version(const char *canonical, size_t len)
{
    static const char tail[] = "\"v\":2}";
    size_t tl = sizeof(tail) - 1;
    return len >= tl && memcmp(canonical + len - tl, tail, tl) == 0 ? 2 : 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Skips (out == NULL) or decodes the string starting at s[*i] == '"'; advances *i past it. */
static int json_string(const char *s, size_t n, size_t *i, char *out, size_t cap, size_t *outlen)
{
    size_t k = *i, ol = 0;
    if (k >= n || s[k] != '"')
        return CMN_ERR_PARSE;
    k++;
    for (;;) {
        if (k >= n)
            return CMN_ERR_PARSE;
        char ch = s[k];
        if (ch == '"')
            break;
        if (ch == '\\') {
            if (k + 1 >= n)
                return CMN_ERR_PARSE;
            char e = s[k + 1];
            k += 2;
            int short_esc = cmn_json_unescape(e);
            if (short_esc >= 0) {
                ch = (char)short_esc;
            } else if (e == 'u') {
                /* canonical form escapes only controls without a short form, as \u00xx */
                if (n - k < 4 || s[k] != '0' || s[k + 1] != '0' || hexval(s[k + 2]) < 0 ||
                    hexval(s[k + 3]) < 0)
                    return CMN_ERR_PARSE;
                ch = (char)(hexval(s[k + 2]) << 4 | hexval(s[k + 3]));
                k += 4;
            } else {
                return CMN_ERR_PARSE;
            }
        } else {
            k++;
        }
        if (out) {
            if (ol >= cap)
                return CMN_ERR_PARSE;
            out[ol] = ch;
        }
        ol++;
    }
    *i = k + 1;
    if (outlen)
        *outlen = ol;
    return 0;
}

int aud_chain_org(const char *canonical, size_t len, char org[AUD_CHAIN_MAX_ORG], size_t *orglen)
{
    /* In canonical form an unescaped '"' only delimits a string, and keys are [a-z0-9_]: the
     * first `"decision":{` is the top-level decision member (actor and client, the only keys
     * before it, hold no object named so), and its members are strings. */
    static const char key[] = "\"decision\":{";
    *orglen = 0;
    const char *d = memmem(canonical, len, key, sizeof(key) - 1);
    if (!d)
        return 0;
    size_t i = (size_t)(d - canonical) + sizeof(key) - 1;
    for (;;) {
        if (i < len && canonical[i] == '}')
            return 0;
        size_t ks = i + 1, kl;
        if (json_string(canonical, len, &i, NULL, 0, &kl) != 0 || i >= len || canonical[i] != ':')
            return CMN_ERR_PARSE;
        i++;
        if (kl == 3 && memcmp(canonical + ks, "org", 3) == 0)
            return json_string(canonical, len, &i, org, AUD_CHAIN_MAX_ORG, orglen);
        if (json_string(canonical, len, &i, NULL, 0, NULL) != 0 || i >= len)
            return CMN_ERR_PARSE;
        if (canonical[i] == ',')
            i++;
        else if (canonical[i] != '}')
            return CMN_ERR_PARSE;
    }
}

int aud_chain_commitment(aud_hasher_t *h, const char *canonical, size_t len,
                         unsigned char out[AUD_HASH_BYTES])
{
    return digest(h, NULL, 0, canonical, len, NULL, 0, NULL, 0, out);
}

int aud_chain_next_v2(aud_hasher_t *h, const unsigned char prev[AUD_HASH_BYTES], const char *org,
                      size_t orglen, const unsigned char commitment[AUD_HASH_BYTES],
                      unsigned char out[AUD_HASH_BYTES])
{
    if (orglen > AUD_CHAIN_MAX_ORG)
        return CMN_ERR_INVAL;
    unsigned char head[AUD_HASH_BYTES + 2];
    memcpy(head, prev, AUD_HASH_BYTES);
    head[AUD_HASH_BYTES] = (unsigned char)(orglen >> 8);
    head[AUD_HASH_BYTES + 1] = (unsigned char)(orglen & 0xff);
    unsigned char c[AUD_HASH_BYTES];
    memcpy(c, commitment, AUD_HASH_BYTES); /* out may alias it */
    return digest(h, head, sizeof(head), org, orglen, c, AUD_HASH_BYTES, NULL, 0, out);
}

int aud_chain_next(aud_hasher_t *h, const unsigned char prev[AUD_HASH_BYTES], const char *canonical,
                   size_t len, unsigned char out[AUD_HASH_BYTES])
{
    int rc;
    if (aud_chain_version(canonical, len) == 1) {
        rc = digest(h, prev, AUD_HASH_BYTES, canonical, len, NULL, 0, NULL, 0, out);
    } else {
        char org[AUD_CHAIN_MAX_ORG];
        size_t orglen = 0;
        unsigned char c[AUD_HASH_BYTES];
        rc = aud_chain_org(canonical, len, org, &orglen);
        if (rc == 0)
            rc = aud_chain_commitment(h, canonical, len, c);
        if (rc == 0)
            rc = aud_chain_next_v2(h, prev, org, orglen, c, out);
    }
    if (rc != 0)
        memset(out, 0, AUD_HASH_BYTES);
    return rc;
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

const char *aud_chain_hash_short(const unsigned char hash[AUD_HASH_BYTES], char out[17])
{
    cmn_hex(hash, 8, out);
    return out;
}

/* Hex digit values, 0xff for anything else: one table load per digit (report verify decodes
 * three hashes per event). */
static const unsigned char nibbles[256] = {
    ['0'] = 0,  ['1'] = 1,  ['2'] = 2,  ['3'] = 3,  ['4'] = 4,  ['5'] = 5,  ['6'] = 6,  ['7'] = 7,
    ['8'] = 8,  ['9'] = 9,  ['a'] = 10, ['b'] = 11, ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15,
    ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15};
static const unsigned char is_hex[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1};

int aud_unhex(const char *hex, size_t hexlen, unsigned char *out, size_t n)
{
    if (hexlen != 2 * n)
        return CMN_ERR_PARSE;
    const unsigned char *h = (const unsigned char *)hex;
    unsigned ok = 1;
    for (size_t i = 0; i < n; i++) {
        ok &= is_hex[h[2 * i]] & is_hex[h[2 * i + 1]];
        out[i] = (unsigned char)(nibbles[h[2 * i]] << 4 | nibbles[h[2 * i + 1]]);
    }
    return ok ? 0 : CMN_ERR_PARSE;
}
