#include "gateway/authn/assertion.h"
#include "common/b64.h"
#include "common/sha256.h"

#include "common/log.h"
#include "common/secret.h"

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
    char *jwks;
    char *header_b64; /* {"alg":"ES256","kid":…,"typ":"JWT"}, encoded once */
};

static char *b64(cmn_arena_t *arena, const unsigned char *p, size_t n)
{
    char *out = arena ? cmn_arena_alloc(arena, cmn_b64url_encoded_len(n) + 1)
                      : malloc(cmn_b64url_encoded_len(n) + 1);
    if (out)
        cmn_b64url_encode(p, n, out);
    return out;
}

gw_assertion_t *gw_assertion_create(const char *path, const char *issuer)
{
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
    unsigned char x[32], y[32], pub[65];
    size_t publen = 0;
    char group[32] = "";
    size_t glen = 0;
    if (!a->key ||
        EVP_PKEY_get_utf8_string_param(a->key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1 ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0) ||
        EVP_PKEY_get_octet_string_param(a->key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
                                        &publen) != 1 ||
        publen != 65) {
        if (a->key)
            cmn_log_error("assertion", "the identity assertion key must be an EC P-256 key");
        gw_assertion_destroy(a);
        return NULL;
    }
    memcpy(x, pub + 1, 32);
    memcpy(y, pub + 33, 32);
    /* kid: RFC 7638 thumbprint of the public JWK, truncated */
    char thumb_in[256];
    char *xs = b64(NULL, x, 32), *ys = b64(NULL, y, 32);
    snprintf(thumb_in, sizeof(thumb_in), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
             xs, ys);
    unsigned char digest[CMN_SHA256_BYTES];
    cmn_sha256(thumb_in, strlen(thumb_in), digest);
    cmn_b64url_encode(digest, 16, a->kid);
    json_t *jwks = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:s}]}", "keys", "kty", "EC",
                             "crv", "P-256", "x", xs, "y", ys, "kid", a->kid, "alg", "ES256", "use",
                             "sig");
    free(xs);
    free(ys);
    a->jwks = jwks ? json_dumps(jwks, JSON_COMPACT) : NULL;
    json_decref(jwks);
    char header[128];
    snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", a->kid);
    a->header_b64 = b64(NULL, (const unsigned char *)header, strlen(header));
    a->issuer = strdup(issuer);
    if (!a->jwks || !a->header_b64 || !a->issuer) {
        gw_assertion_destroy(a);
        return NULL;
    }
    return a;
}

void gw_assertion_destroy(gw_assertion_t *a)
{
    if (!a)
        return;
    EVP_PKEY_free(a->key);
    free(a->issuer);
    free(a->jwks);
    free(a->header_b64);
    free(a);
}

const char *gw_assertion_jwks(const gw_assertion_t *a)
{
    return a->jwks;
}

const char *gw_assertion_mint(gw_assertion_t *a, const gw_identity_t *id, const char *org,
                              const char *role, const char *region, const char *request_id,
                              int64_t now, cmn_arena_t *arena)
{
    /* org, role and region are always present, null when the decision names none: a hub
     * reading the claims can tell "no org" from a gateway that did not say. */
    json_t *claims = json_pack(
        "{s:s, s:s?, s:s?, s:s?, s:o, s:o, s:o, s:s, s:I, s:I, s:b}", "iss", a->issuer, "sub",
        id->sub, "sub_iss", id->iss, "email", id->email, "org",
        org ? json_string(org) : json_null(), "role", role ? json_string(role) : json_null(),
        "region", region ? json_string(region) : json_null(), "rid", request_id, "iat",
        (json_int_t)now, "exp", (json_int_t)(now + GW_ASSERTION_TTL_SECONDS), "mfa", id->mfa);
    if (claims && id->kind == GW_ID_ANONYMOUS)
        json_object_set_new(claims, "sub", json_string("anonymous"));
    if (claims && id->email) /* a hub relying on the email learns whether it was verified */
        json_object_set_new(claims, "email_verified", json_boolean(id->email_verified));
    if (claims && id->token_id)
        json_object_set_new(claims, "token_id", json_string(id->token_id));
    char *payload = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    if (!payload)
        return NULL;
    char *p64 = b64(arena, (const unsigned char *)payload, strlen(payload));
    free(payload);
    char *input = p64 ? cmn_arena_printf(arena, "%s.%s", a->header_b64, p64) : NULL;
    if (!input)
        return NULL;

    unsigned char der[80];
    size_t derlen = sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, a->key) == 1 &&
             EVP_DigestSign(ctx, der, &derlen, (const unsigned char *)input, strlen(input)) == 1;
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
    char *s64 = b64(arena, rs, 64);
    return s64 ? cmn_arena_printf(arena, "%s.%s", input, s64) : NULL;
}
