#include "gateway/forward/egress.h"
#include "common/sha256.h"
#include "common/b64.h"

#include "common/err.h"
#include "common/secret.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE 12
#define TAG   16
/* The associated data names what a token is for: a link never opens as a Xet token, nor the
 * other way round. */
static const char link_aad[] = "hubgate-egress-v4";
static const char xet_aad[] = "hubgate-xet-token-v1";
static const char login_aad[] = "hubgate-login-v1";

int gw_egress_key_load(gw_egress_key_t *key, const char *path, char *err, size_t errlen)
{
    if (!path) {
        if (RAND_bytes(key->key, sizeof(key->key)) == 1)
            return 0;
        snprintf(err, errlen, "cannot draw a random egress key");
        return CMN_ERR_CRYPTO;
    }
    cmn_buf_t b;
    cmn_buf_init(&b, 256);
    int rc = cmn_secret_read(&b, path, err, errlen);
    /* Exactly 64 hex digits and at most one newline: anything else is a mistake (a truncated
     * copy, a key of another kind), and a partial key must never be padded into a weak one. */
    if (rc == 0 && !(b.len == 64 || (b.len == 65 && b.data[64] == '\n'))) {
        snprintf(err, errlen,
                 "%s must hold exactly 64 hex digits (32 bytes, e.g. from openssl rand -hex 32) "
                 "and an optional newline",
                 path);
        rc = CMN_ERR_PARSE;
    }
    unsigned char k[32];
    for (size_t i = 0; rc == 0 && i < 32; i++) {
        int hi = cmn_hex_value(b.data[2 * i]), lo = cmn_hex_value(b.data[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(err, errlen, "%s must hold exactly 64 hex digits (found another character "
                                  "at offset %zu)",
                     path, hi < 0 ? 2 * i : 2 * i + 1);
            rc = CMN_ERR_PARSE;
        } else {
            k[i] = (unsigned char)(hi << 4 | lo);
        }
    }
    if (rc == 0)
        memcpy(key->key, k, sizeof(k));
    OPENSSL_cleanse(k, sizeof(k));
    if (b.data)
        OPENSSL_cleanse(b.data, b.cap);
    cmn_buf_free(&b);
    return rc;
}

int gw_egress_keys_load(gw_egress_keys_t *keys, const char *current, const char *const *previous,
                        size_t n, char *err, size_t errlen)
{
    if (n > GW_EGRESS_MAX_PREVIOUS_KEYS) {
        snprintf(err, errlen, "%zu previous egress keys, at most %d", n,
                 GW_EGRESS_MAX_PREVIOUS_KEYS);
        return CMN_ERR_INVAL;
    }
    gw_egress_keys_t k = {.n_previous = n};
    int rc = gw_egress_key_load(&k.current, current, err, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = gw_egress_key_load(&k.previous[i], previous[i], err, errlen);
    if (rc == 0)
        *keys = k;
    OPENSSL_cleanse(&k, sizeof(k));
    return rc;
}

gw_egress_keys_t *gw_egress_keys_new(const char *current, const char *const *previous, size_t n,
                                     char *err, size_t errlen)
{
    gw_egress_keys_t *keys = malloc(sizeof(*keys));
    if (!keys) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (gw_egress_keys_load(keys, current, previous, n, err, errlen) != 0) {
        free(keys);
        return NULL;
    }
    return keys;
}

void gw_egress_keys_free(gw_egress_keys_t *keys)
{
    if (!keys)
        return;
    OPENSSL_cleanse(keys, sizeof(*keys));
    free(keys);
}

void gw_egress_key_id(const gw_egress_key_t *key, char out[17])
{
    /* The label keeps the id from being any other digest of the key. */
    static const char label[] = "hubgate-egress-key-id-v1";
    unsigned char in[sizeof(label) + sizeof(key->key)], digest[CMN_SHA256_BYTES];
    memcpy(in, label, sizeof(label));
    memcpy(in + sizeof(label), key->key, sizeof(key->key));
    cmn_sha256(in, sizeof(in), digest);
    OPENSSL_cleanse(in, sizeof(in));
    cmn_hex(digest, 8, out);
}

int gw_egress_keys_equal(const gw_egress_keys_t *a, const gw_egress_keys_t *b)
{
    if (a->n_previous != b->n_previous)
        return 0;
    int diff = CRYPTO_memcmp(a->current.key, b->current.key, sizeof(a->current.key));
    for (size_t i = 0; i < a->n_previous; i++)
        diff |= CRYPTO_memcmp(a->previous[i].key, b->previous[i].key, sizeof(a->previous[i].key));
    return diff == 0;
}

/* Plaintext: the version, then every field NUL-terminated, in the order of seal's fields[]. The
 * version is also in the associated data, so a link sealed by an older layout never opens. */
#define NFIELDS    18
#define B64_LEN(n) (((n)*4 + 2) / 3)
_Static_assert(B64_LEN(NONCE + GW_EGRESS_MAX_PLAIN + TAG) <= GW_EGRESS_MAX_TOKEN,
               "a sealed link of the largest claim must fit GW_EGRESS_MAX_TOKEN");

static size_t field_cap(size_t i)
{
    return i == 3 ? GW_EGRESS_MAX_URL : i == 4 ? GW_EGRESS_MAX_HEADERS : GW_EGRESS_MAX_FIELD;
}

static const char *seal(const gw_egress_keys_t *keys, const gw_egress_claim_t *c, const char *aad,
                        cmn_arena_t *arena)
{
    const gw_egress_key_t *key = &keys->current;
    char exp[24];
    snprintf(exp, sizeof(exp), "%lld", (long long)c->expires);
    const char *fields[NFIELDS] = {
        "v4",    exp,       c->method, c->url,  c->headers,      c->repo_type,
        c->repo, c->action, c->iss,    c->sub,  c->email,        c->token_id,
        c->org,  c->role,   c->region, c->rule, c->policy_sha256, c->object};
    size_t n = 0;
    for (size_t i = 0; i < NFIELDS; i++) {
        if (!fields[i] || strlen(fields[i]) > field_cap(i))
            return NULL;
        n += strlen(fields[i]) + 1;
    }
    if (n > GW_EGRESS_MAX_PLAIN)
        return NULL;
    unsigned char *plain = cmn_arena_alloc(arena, n);
    unsigned char *sealed = cmn_arena_alloc(arena, NONCE + n + TAG);
    char *out = sealed ? cmn_arena_alloc(arena, cmn_b64url_encoded_len(NONCE + n + TAG) + 1)
                       : NULL;
    if (!plain || !out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < NFIELDS; i++) {
        size_t l = strlen(fields[i]) + 1;
        memcpy(plain + o, fields[i], l);
        o += l;
    }
    const char *ret = NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    if (ctx && RAND_bytes(sealed, NONCE) == 1 &&
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->key, sealed) == 1 &&
        EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
        EVP_EncryptUpdate(ctx, sealed + NONCE, &len, plain, (int)n) == 1 &&
        EVP_EncryptFinal_ex(ctx, sealed + NONCE + len, &fin) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG, sealed + NONCE + n) == 1) {
        cmn_b64url_encode(sealed, NONCE + n + TAG, out);
        ret = out;
    }
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(plain, n);
    return ret;
}

/* Decrypts raw (nonce, ciphertext of n bytes, tag) under key into plain. Returns 1 when the
 * tag holds: a wrong key fails here, having written nothing the caller reads. */
static int decrypt(const gw_egress_key_t *key, const unsigned char *raw, size_t n, const char *aad,
                   char *plain)
{
    int ok = 0, len = 0, fin = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->key, raw) == 1 &&
        EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
        EVP_DecryptUpdate(ctx, (unsigned char *)plain, &len, raw + NONCE, (int)n) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(raw + NONCE + n)) == 1 &&
        EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + len, &fin) == 1)
        ok = 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

static int open_token(const gw_egress_keys_t *keys, const char *token, time_t now, const char *aad,
                      cmn_arena_t *arena, gw_egress_claim_t *out)
{
    size_t tlen = strlen(token);
    if (tlen > GW_EGRESS_MAX_TOKEN)
        return CMN_ERR_PARSE;
    unsigned char *raw = cmn_arena_alloc(arena, tlen * 3 / 4 + 1);
    if (!raw)
        return CMN_ERR_NOMEM;
    long rn = cmn_b64url_decode(token, tlen, raw);
    if (rn < NONCE + TAG + NFIELDS)
        return CMN_ERR_PARSE;
    size_t n = (size_t)rn - NONCE - TAG;
    char *plain = cmn_arena_alloc(arena, n + 1);
    if (!plain)
        return CMN_ERR_NOMEM;
    /* The current key first: every token sealed since the rotation opens at the first try. */
    int ok = decrypt(&keys->current, raw, n, aad, plain);
    for (size_t i = 0; !ok && i < keys->n_previous && i < GW_EGRESS_MAX_PREVIOUS_KEYS; i++)
        ok = decrypt(&keys->previous[i], raw, n, aad, plain);
    if (!ok)
        return CMN_ERR_PARSE;
    plain[n] = '\0';
    const char *f[NFIELDS];
    size_t o = 0;
    for (int i = 0; i < NFIELDS; i++) {
        /* each field ends with its own NUL inside the plaintext */
        if (o >= n || !memchr(plain + o, '\0', n - o))
            return CMN_ERR_PARSE;
        f[i] = plain + o;
        o += strlen(plain + o) + 1;
    }
    if (o != n || strcmp(f[0], "v4") != 0)
        return CMN_ERR_PARSE;
    char *end = NULL;
    errno = 0;
    long long exp = strtoll(f[1], &end, 10);
    if (errno || !end || *end || end == f[1])
        return CMN_ERR_PARSE;
    *out = (gw_egress_claim_t){.method = f[2],
                               .url = f[3],
                               .headers = f[4],
                               .repo_type = f[5],
                               .repo = f[6],
                               .action = f[7],
                               .iss = f[8],
                               .sub = f[9],
                               .email = f[10],
                               .token_id = f[11],
                               .org = f[12],
                               .role = f[13],
                               .region = f[14],
                               .rule = f[15],
                               .policy_sha256 = f[16],
                               .object = f[17],
                               .expires = exp};
    return exp < (long long)now ? CMN_ERR_EXPIRED : 0;
}

const char *gw_egress_seal(const gw_egress_keys_t *keys, const gw_egress_claim_t *claim,
                           cmn_arena_t *arena)
{
    return seal(keys, claim, link_aad, arena);
}

int gw_egress_open(const gw_egress_keys_t *keys, const char *token, time_t now, cmn_arena_t *arena,
                   gw_egress_claim_t *out)
{
    return open_token(keys, token, now, link_aad, arena, out);
}

const char *gw_egress_seal_xet_token(const gw_egress_keys_t *keys, const gw_egress_claim_t *claim,
                                     cmn_arena_t *arena)
{
    return seal(keys, claim, xet_aad, arena);
}

int gw_egress_open_xet_token(const gw_egress_keys_t *keys, const char *token, time_t now,
                             cmn_arena_t *arena, gw_egress_claim_t *out)
{
    return open_token(keys, token, now, xet_aad, arena, out);
}

const char *gw_egress_seal_login(const gw_egress_keys_t *keys, const gw_egress_claim_t *claim,
                                 cmn_arena_t *arena)
{
    return seal(keys, claim, login_aad, arena);
}

int gw_egress_open_login(const gw_egress_keys_t *keys, const char *token, time_t now,
                         cmn_arena_t *arena, gw_egress_claim_t *out)
{
    return open_token(keys, token, now, login_aad, arena, out);
}
