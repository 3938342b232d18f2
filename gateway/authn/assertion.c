#include "gateway/authn/assertion.h"
#include "common/b64.h"
#include "common/json_escape.h"
#include "common/sha256.h"

#include "common/err.h"
#include "common/log.h"
#include "common/secret.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_assertion {
    EVP_PKEY *key;
    char *issuer;
    char kid[32];
    char published_kids[GW_ASSERTION_MAX_PUBLISHED][32]; /* published beside it, never signing */
    size_t n_published;
    char *jwks;
    char *header_b64; /* {"alg":"ES256","kid":…,"typ":"JWT"}, encoded once */
    size_t header_b64_len;
    gw_assertion_cache_t *cache;
};

static char *b64(const unsigned char *p, size_t n)
{
    char *out = malloc(cmn_b64url_encoded_len(n) + 1);
    if (out)
        cmn_b64url_encode(p, n, out);
    return out;
}

/* A P-256 key's public JWK ({kty, crv, x, y, kid, alg, use}) and its kid: the RFC 7638
 * thumbprint of the public JWK, truncated. NULL (with kid "") when the key is not P-256. */
static json_t *public_jwk(EVP_PKEY *key, char kid[32])
{
    unsigned char pub[65];
    size_t publen = 0, glen = 0;
    char group[32] = "";
    kid[0] = '\0';
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1 ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0))
        return NULL;
    int got = EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
                                              &publen);
    if (got != 1 || publen != 65)
        return NULL;
    char thumb_in[256];
    char *xs = b64(pub + 1, 32), *ys = b64(pub + 33, 32);
    json_t *jwk = NULL;
    if (xs && ys) {
        snprintf(thumb_in, sizeof(thumb_in),
                 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", xs, ys);
        unsigned char digest[CMN_SHA256_BYTES];
        cmn_sha256(thumb_in, strlen(thumb_in), digest);
        cmn_b64url_encode(digest, 16, kid);
        jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", xs,
                        "y", ys, "kid", kid, "alg", "ES256", "use", "sig");
    }
    free(xs);
    free(ys);
    return jwk;
}

/* A key to publish: a public key PEM, or a private one (then a secret file, like the signing
 * key: cmn_secret_read refuses it when group or others may read it). NULL with a log line. */
static EVP_PKEY *read_published(const char *path)
{
    cmn_buf_t pem;
    cmn_buf_init(&pem, GW_ASSERTION_MAX_KEY_FILE);
    EVP_PKEY *key = NULL;
    int rc = cmn_buf_read_file(&pem, path);
    if (rc != 0) {
        cmn_log_error("assertion", "identity.assertion_published_keys: cannot read %s: %s", path,
                      rc == CMN_ERR_IO ? strerror(errno) : cmn_err_str(rc));
    } else if (memmem(pem.data, pem.len, "PRIVATE KEY", 11)) {
        char why[512];
        OPENSSL_cleanse(pem.data, pem.cap);
        cmn_buf_free(&pem);
        cmn_buf_init(&pem, GW_ASSERTION_MAX_KEY_FILE);
        if (cmn_secret_read(&pem, path, why, sizeof(why)) != 0) {
            cmn_log_error("assertion", "identity.assertion_published_keys: %s", why);
        } else {
            BIO *bio = BIO_new_mem_buf(pem.data, (int)pem.len);
            key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
            BIO_free(bio);
        }
    } else {
        BIO *bio = BIO_new_mem_buf(pem.data, (int)pem.len);
        key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    }
    if (rc == 0 && !key)
        cmn_log_error("assertion", "identity.assertion_published_keys: no P-256 key in %s", path);
    if (pem.data)
        OPENSSL_cleanse(pem.data, pem.cap);
    cmn_buf_free(&pem);
    return key;
}

gw_assertion_t *gw_assertion_create(const char *path, const char *issuer)
{
    return gw_assertion_create_keys(path, NULL, 0, issuer);
}

gw_assertion_t *gw_assertion_create_keys(const char *path, const char *const *published,
                                         size_t n_published, const char *issuer)
{
    if (n_published > GW_ASSERTION_MAX_PUBLISHED) {
        cmn_log_error("assertion", "%zu published keys, at most %d", n_published,
                      GW_ASSERTION_MAX_PUBLISHED);
        return NULL;
    }
    gw_assertion_t *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    if (path) {
        /* A secret file: refused when group or others may read or write it. */
        cmn_buf_t pem;
        cmn_buf_init(&pem, GW_ASSERTION_MAX_KEY_FILE);
        char why[512];
        if (cmn_secret_read(&pem, path, why, sizeof(why)) != 0) {
            cmn_log_error("assertion", "identity.assertion_key: %s", why);
        } else {
            BIO *bio = BIO_new_mem_buf(pem.data, (int)pem.len);
            a->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
            BIO_free(bio);
            if (!a->key)
                cmn_log_error("assertion", "cannot read the P-256 private key %s", path);
        }
        if (pem.data)
            OPENSSL_cleanse(pem.data, pem.cap);
        cmn_buf_free(&pem);
    } else {
        a->key = EVP_EC_gen("P-256");
    }
    json_t *jwks = json_pack("{s:[]}", "keys");
    json_t *jwk = a->key ? public_jwk(a->key, a->kid) : NULL;
    if (!a->key || !jwk || !jwks || json_array_append_new(json_object_get(jwks, "keys"), jwk)) {
        if (a->key && !jwk)
            cmn_log_error("assertion", "the identity assertion key must be an EC P-256 key");
        json_decref(jwks);
        gw_assertion_destroy(a);
        return NULL;
    }
    /* The published keys after the signing key; one equal to it (or to another) once. */
    for (size_t i = 0; i < n_published; i++) {
        EVP_PKEY *pk = read_published(published[i]);
        char kid[32];
        json_t *pj = pk ? public_jwk(pk, kid) : NULL;
        EVP_PKEY_free(pk);
        if (pk && !pj)
            cmn_log_error("assertion", "identity.assertion_published_keys: %s is not P-256",
                          published[i]);
        if (!pj) {
            json_decref(jwks);
            gw_assertion_destroy(a);
            return NULL;
        }
        int seen = strcmp(kid, a->kid) == 0;
        for (size_t k = 0; k < a->n_published; k++)
            seen |= strcmp(kid, a->published_kids[k]) == 0;
        if (seen) {
            json_decref(pj);
            continue;
        }
        memcpy(a->published_kids[a->n_published++], kid, sizeof(kid));
        json_array_append_new(json_object_get(jwks, "keys"), pj);
    }
    a->jwks = json_dumps(jwks, JSON_COMPACT);
    json_decref(jwks);
    char header[128];
    snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", a->kid);
    a->header_b64 = b64((const unsigned char *)header, strlen(header));
    a->header_b64_len = a->header_b64 ? strlen(a->header_b64) : 0;
    a->issuer = strdup(issuer);
    a->cache = gw_assertion_cache_create(GW_ASSERTION_CACHE_ENTRIES, GW_ASSERTION_REUSE_SECONDS);
    if (!a->jwks || !a->header_b64 || !a->issuer || !a->cache) {
        gw_assertion_destroy(a);
        return NULL;
    }
    return a;
}

size_t gw_assertion_key_ids(const gw_assertion_t *a, const char **ids, size_t cap)
{
    size_t n = 0;
    if (n < cap)
        ids[n++] = a->kid;
    for (size_t i = 0; i < a->n_published && n < cap; i++)
        ids[n++] = a->published_kids[i];
    return n;
}

int gw_assertion_same_keys(const gw_assertion_t *a, const gw_assertion_t *b)
{
    /* The JWKS lists every key by its public half, the signing key first. */
    return strcmp(a->jwks, b->jwks) == 0;
}

void gw_assertion_destroy(gw_assertion_t *a)
{
    if (!a)
        return;
    EVP_PKEY_free(a->key);
    free(a->issuer);
    free(a->jwks);
    free(a->header_b64);
    gw_assertion_cache_destroy(a->cache);
    free(a);
}

const char *gw_assertion_jwks(const gw_assertion_t *a)
{
    return a->jwks;
}

void gw_assertion_stats(gw_assertion_t *a, gw_assertion_cache_stats_t *out)
{
    gw_assertion_cache_stats(a->cache, out);
}

/* ---- the claims, as JSON text written by hand -------------------------------------------- */
/* Written here rather than with jansson: json_pack and json_dumps cost microseconds and a dozen
 * allocations, on every request, where a cached assertion costs less than one. The text is the
 * one jansson would write for these strings (UTF-8 as is; `"`, `\` and controls escaped), and
 * refused where jansson would refuse it: a string that is not valid UTF-8. Keys in a fixed order
 * and every string escaped make it injective — two claim sets give the same bytes only when
 * they are the same — which is what lets the cache key on these bytes. */

typedef struct {
    char *p;  /* where to write; NULL to count only */
    size_t n; /* bytes written (or counted) */
    int bad;  /* a string was not valid UTF-8 */
} writer_t;

static void put(writer_t *w, const char *s, size_t n)
{
    if (w->p)
        memcpy(w->p + w->n, s, n);
    w->n += n;
}

#define PUT_LIT(w, lit) put((w), (lit), sizeof(lit) - 1)

/* The length of the UTF-8 sequence starting at s (NUL-terminated), or 0 when it is not a
 * valid one: overlong forms, surrogates and code points past U+10FFFF are refused, as jansson
 * refuses them. */
static size_t utf8_sequence(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

static void put_string(writer_t *w, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    PUT_LIT(w, "\"");
    while (*s) {
        /* a run that needs no escape, copied at once */
        const unsigned char *run = s;
        while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        put(w, (const char *)run, (size_t)(s - run));
        if (!*s)
            break;
        if (*s < 0x80) {
            char esc[7];
            put(w, esc, cmn_json_escape(*s, esc));
            s++;
            continue;
        }
        size_t n = utf8_sequence(s);
        if (n == 0) {
            w->bad = 1;
            return;
        }
        put(w, (const char *)s, n);
        s += n;
    }
    PUT_LIT(w, "\"");
}

static void put_nullable(writer_t *w, const char *s)
{
    if (s)
        put_string(w, s);
    else
        PUT_LIT(w, "null");
}

static void put_bool(writer_t *w, int b)
{
    if (b)
        PUT_LIT(w, "true");
    else
        PUT_LIT(w, "false");
}

/* Everything the assertion says but its times: the payload's text up to "iat", without the
 * closing brace. org, role and region are always present, null when the decision names none:
 * a hub reading the claims can tell "no org" from a gateway that did not say. */
static void write_claims(writer_t *w, const gw_assertion_t *a, const gw_identity_t *id,
                         const char *org, const char *role, const char *region)
{
    const char *sub = id->kind == GW_ID_ANONYMOUS ? "anonymous" : id->sub;
    PUT_LIT(w, "{\"iss\":");
    put_string(w, a->issuer);
    if (sub) {
        PUT_LIT(w, ",\"sub\":");
        put_string(w, sub);
    }
    if (id->iss) {
        PUT_LIT(w, ",\"sub_iss\":");
        put_string(w, id->iss);
    }
    if (id->email) {
        PUT_LIT(w, ",\"email\":");
        put_string(w, id->email);
    }
    PUT_LIT(w, ",\"org\":");
    put_nullable(w, org);
    PUT_LIT(w, ",\"role\":");
    put_nullable(w, role);
    PUT_LIT(w, ",\"region\":");
    put_nullable(w, region);
    PUT_LIT(w, ",\"mfa\":");
    put_bool(w, id->mfa);
    if (id->email) { /* a hub relying on the email learns whether it was verified */
        PUT_LIT(w, ",\"email_verified\":");
        put_bool(w, id->email_verified);
    }
    if (id->token_id) {
        PUT_LIT(w, ",\"token_id\":");
        put_string(w, id->token_id);
    }
}

/* ,"iat":…,"exp":…} at its longest */
#define TIMES_MAX (sizeof(",\"iat\":,\"exp\":}") - 1 + 2 * 20)

static size_t put_int(char *p, int64_t v)
{
    char digits[20];
    size_t k = 0, n = 0;
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do {
        digits[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        p[n++] = '-';
    while (k)
        p[n++] = digits[--k];
    return n;
}

/* Signs the claims at claims[0..len) (whose buffer has TIMES_MAX bytes to spare, where the
 * times are written) as issued at now. Returns the compact JWT in the arena and its length in
 * *jwt_len, or NULL. */
static char *sign(const gw_assertion_t *a, char *claims, size_t len, int64_t now,
                  cmn_arena_t *arena, size_t *jwt_len)
{
    size_t n = len;
    memcpy(claims + n, ",\"iat\":", 7);
    n += 7;
    n += put_int(claims + n, now);
    memcpy(claims + n, ",\"exp\":", 7);
    n += 7;
    n += put_int(claims + n, now + GW_ASSERTION_TTL_SECONDS);
    claims[n++] = '}';

    /* header.payload, then .signature, in one buffer */
    size_t input_len = a->header_b64_len + 1 + cmn_b64url_encoded_len(n);
    size_t total = input_len + 1 + cmn_b64url_encoded_len(64);
    char *out = cmn_arena_alloc(arena, total + 1);
    if (!out)
        return NULL;
    memcpy(out, a->header_b64, a->header_b64_len);
    out[a->header_b64_len] = '.';
    cmn_b64url_encode((const unsigned char *)claims, n, out + a->header_b64_len + 1);

    unsigned char der[80];
    size_t derlen = sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, a->key) == 1 &&
             EVP_DigestSign(ctx, der, &derlen, (const unsigned char *)out, input_len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return NULL;
    /* DER → JOSE r‖s */
    const unsigned char *dp = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
    unsigned char rs[64];
    ok = sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) == 32 &&
         BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    if (!ok)
        return NULL;
    out[input_len] = '.';
    cmn_b64url_encode(rs, 64, out + input_len + 1);
    *jwt_len = total;
    return out;
}

const char *gw_assertion_mint(gw_assertion_t *a, const gw_identity_t *id, const char *org,
                              const char *role, const char *region, const char *request_id,
                              int64_t now, cmn_arena_t *arena)
{
    (void)request_id; /* not a claim: see the header */
    if (now < 0 || now > INT64_MAX - GW_ASSERTION_TTL_SECONDS)
        return NULL;
    /* counted, then written: the exact size, however long the IdP's strings are */
    writer_t w = {0};
    write_claims(&w, a, id, org, role, region);
    if (w.bad)
        return NULL;
    size_t len = w.n;
    char *claims = cmn_arena_alloc(arena, len + TIMES_MAX);
    if (!claims)
        return NULL;
    w = (writer_t){.p = claims};
    write_claims(&w, a, id, org, role, region);

    uint64_t hash = gw_assertion_cache_hash(a->cache, claims, len);
    const char *jwt = NULL;
    int rc = gw_assertion_cache_lookup(a->cache, hash, claims, len, now, arena, &jwt);
    if (rc != 0)
        return rc == 1 ? jwt : NULL;
    size_t jwt_len = 0;
    char *signed_jwt = sign(a, claims, len, now, arena, &jwt_len);
    /* A claim set too large for a slot is not stored: its assertions are signed per request. */
    if (signed_jwt)
        (void)gw_assertion_cache_insert(a->cache, hash, claims, len, signed_jwt, jwt_len, now);
    return signed_jwt;
}
