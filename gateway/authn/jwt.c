#include "gateway/authn/jwt.h"
#include "common/b64.h"
#include "common/err.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <string.h>
#include <strings.h>

static const char *const alg_names[GW_JWT_ALG_COUNT] = {"RS256", "RS384", "RS512", "PS256",
                                                        "PS384", "PS512", "ES256", "ES384"};

int gw_jwt_alg_parse(const char *name)
{
    for (int i = 0; name && i < GW_JWT_ALG_COUNT; i++) {
        if (strcmp(name, alg_names[i]) == 0)
            return i;
    }
    return -1;
}

static json_t *decode_object(const char *seg, size_t len, cmn_arena_t *a)
{
    unsigned char *raw = cmn_arena_alloc(a, len * 3 / 4 + 1);
    if (!raw)
        return NULL;
    long n = cmn_b64url_decode(seg, len, raw);
    if (n <= 0)
        return NULL;
    json_t *v = json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

int gw_jwt_parse(const char *token, size_t len, cmn_arena_t *arena, gw_jwt_t *out,
                 const char **reason)
{
    memset(out, 0, sizeof(*out));
    if (len > GW_MAX_JWT_BYTES) {
        *reason = "token too large";
        return CMN_ERR_TOOBIG;
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
        *reason = "not a JWS in compact form (three segments)";
        return CMN_ERR_PARSE;
    }
    size_t hlen = (size_t)(dot1 - token), plen = (size_t)(dot2 - dot1 - 1);
    size_t slen = len - (size_t)(dot2 + 1 - token);
    if (!hlen || !plen || !slen) {
        *reason = "empty JWS segment";
        return CMN_ERR_PARSE;
    }
    out->header = decode_object(token, hlen, arena);
    out->payload = out->header ? decode_object(dot1 + 1, plen, arena) : NULL;
    if (!out->header || !out->payload) {
        gw_jwt_free(out);
        *reason = "JWS header or payload is not a base64url JSON object without duplicate keys";
        return CMN_ERR_PARSE;
    }
    out->signature = cmn_arena_alloc(arena, slen * 3 / 4 + 1);
    long sn = out->signature ? cmn_b64url_decode(dot2 + 1, slen, out->signature) : -1;
    if (sn <= 0) {
        gw_jwt_free(out);
        *reason = "JWS signature is not base64url";
        return CMN_ERR_PARSE;
    }
    out->signature_len = (size_t)sn;
    out->signing_input = token;
    out->signing_input_len = (size_t)(dot2 - token);
    out->alg = json_string_value(json_object_get(out->header, "alg"));
    json_t *kid = json_object_get(out->header, "kid");
    out->kid = json_string_value(kid);
    out->iss = json_string_value(json_object_get(out->payload, "iss"));
    if (!out->alg || (kid && !out->kid)) {
        gw_jwt_free(out);
        *reason = "JWS header lacks a string alg, or kid is not a string";
        return CMN_ERR_PARSE;
    }
    return 0;
}

void gw_jwt_free(gw_jwt_t *jwt)
{
    json_decref(jwt->header);
    json_decref(jwt->payload);
    jwt->header = jwt->payload = NULL;
}

static int ec_curve_bits(EVP_PKEY *key)
{
    char group[64];
    size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1)
        return 0;
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
        return 256;
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
        return 384;
    return 0;
}

int gw_jwt_alg_fits_key(gw_jwt_alg_t alg, EVP_PKEY *key)
{
    switch (alg) {
    case GW_JWT_RS256:
    case GW_JWT_RS384:
    case GW_JWT_RS512:
    case GW_JWT_PS256:
    case GW_JWT_PS384:
    case GW_JWT_PS512:
        return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 2048;
    case GW_JWT_ES256:
        return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && ec_curve_bits(key) == 256;
    case GW_JWT_ES384:
        return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && ec_curve_bits(key) == 384;
    default:
        return 0;
    }
}

static const EVP_MD *digest_of(gw_jwt_alg_t alg)
{
    switch (alg) {
    case GW_JWT_RS256:
    case GW_JWT_PS256:
    case GW_JWT_ES256: return EVP_sha256();
    case GW_JWT_RS384:
    case GW_JWT_PS384:
    case GW_JWT_ES384: return EVP_sha384();
    default: return EVP_sha512();
    }
}

/* JWS ECDSA signatures are r‖s of fixed width; OpenSSL wants DER. */
static unsigned char *ecdsa_to_der(const unsigned char *sig, size_t len, size_t width,
                                   size_t *der_len)
{
    if (len != 2 * width)
        return NULL;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)width, NULL);
    BIGNUM *v = BN_bin2bn(sig + width, (int)width, NULL);
    unsigned char *der = NULL;
    if (s && r && v && ECDSA_SIG_set0(s, r, v) == 1) {
        r = v = NULL; /* owned by s now */
        int n = i2d_ECDSA_SIG(s, &der);
        *der_len = n > 0 ? (size_t)n : 0;
        if (n <= 0)
            der = NULL;
    }
    BN_free(r);
    BN_free(v);
    ECDSA_SIG_free(s);
    return der;
}

int gw_jwt_verify_signature(const gw_jwt_t *jwt, gw_jwt_alg_t alg, EVP_PKEY *key)
{
    if (!gw_jwt_alg_fits_key(alg, key))
        return CMN_ERR_CRYPTO;
    const unsigned char *sig = jwt->signature;
    size_t sig_len = jwt->signature_len;
    unsigned char *der = NULL;
    if (alg == GW_JWT_ES256 || alg == GW_JWT_ES384) {
        der = ecdsa_to_der(sig, sig_len, alg == GW_JWT_ES256 ? 32 : 48, &sig_len);
        if (!der)
            return CMN_ERR_CRYPTO;
        sig = der;
    }
    int ok = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (ctx && EVP_DigestVerifyInit(ctx, &pctx, digest_of(alg), NULL, key) == 1) {
        int pss = alg == GW_JWT_PS256 || alg == GW_JWT_PS384 || alg == GW_JWT_PS512;
        int setup = 1;
        if (pss)
            setup = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
        else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
            setup = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
        ok = setup && EVP_DigestVerify(ctx, sig, sig_len,
                                       (const unsigned char *)jwt->signing_input,
                                       jwt->signing_input_len) == 1;
    }
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok ? 0 : CMN_ERR_CRYPTO;
}

/* A NumericDate: an integer, or a real with an integral value (some IdPs emit 1.7e9). */
static int numeric_date(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v) && json_real_value(v) > 0 && json_real_value(v) < 1e13) {
        *out = (int64_t)json_real_value(v);
        return 0;
    }
    return -1;
}

gw_jwt_claims_t gw_jwt_check_claims(const gw_jwt_t *jwt, const gw_jwt_expect_t *e,
                                    const char **reason)
{
    json_t *typ = json_object_get(jwt->header, "typ");
    if (typ && (!json_is_string(typ) || (strcasecmp(json_string_value(typ), "JWT") != 0 &&
                                         strcasecmp(json_string_value(typ), "at+jwt") != 0 &&
                                         strcasecmp(json_string_value(typ),
                                                    "application/at+jwt") != 0))) {
        *reason = "unexpected token type";
        return GW_JWT_CLAIMS_UNSUPPORTED;
    }
    if (json_object_get(jwt->header, "crit")) {
        *reason = "critical JWS extensions are not supported";
        return GW_JWT_CLAIMS_UNSUPPORTED;
    }
    if (!jwt->iss || strcmp(jwt->iss, e->issuer) != 0) {
        *reason = "wrong issuer";
        return GW_JWT_CLAIMS_ISSUER;
    }
    json_t *aud = json_object_get(jwt->payload, "aud");
    int aud_ok = json_is_string(aud) && strcmp(json_string_value(aud), e->audience) == 0;
    if (json_is_array(aud)) {
        size_t i;
        json_t *a;
        json_array_foreach(aud, i, a) aud_ok |=
            json_is_string(a) && strcmp(json_string_value(a), e->audience) == 0;
    }
    if (!aud_ok) {
        *reason = "wrong or missing audience";
        return GW_JWT_CLAIMS_AUDIENCE;
    }
    int64_t exp, t;
    if (numeric_date(json_object_get(jwt->payload, "exp"), &exp) != 0) {
        *reason = "missing or malformed exp";
        return GW_JWT_CLAIMS_MALFORMED;
    }
    if (e->now > exp + e->leeway) {
        *reason = "token expired";
        return GW_JWT_CLAIMS_EXPIRED;
    }
    json_t *nbf = json_object_get(jwt->payload, "nbf");
    if (nbf && numeric_date(nbf, &t) != 0) {
        *reason = "malformed nbf";
        return GW_JWT_CLAIMS_MALFORMED;
    }
    if (nbf && e->now + e->leeway < t) {
        *reason = "token not yet valid";
        return GW_JWT_CLAIMS_NOT_YET_VALID;
    }
    json_t *iat = json_object_get(jwt->payload, "iat");
    if (iat && numeric_date(iat, &t) != 0) {
        *reason = "malformed iat";
        return GW_JWT_CLAIMS_MALFORMED;
    }
    if (iat && e->now + e->leeway < t) {
        *reason = "token issued in the future";
        return GW_JWT_CLAIMS_NOT_YET_VALID;
    }
    json_t *sub = json_object_get(jwt->payload, "sub");
    if (!json_is_string(sub) || json_string_length(sub) == 0) {
        *reason = "missing sub";
        return GW_JWT_CLAIMS_MALFORMED;
    }
    return GW_JWT_CLAIMS_OK;
}
