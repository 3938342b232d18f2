/* JWT parsing and verification (gateway/authn/jwt.c), JWKS parsing (gateway/authn/jwks.c) and the
 * X-Hubgate-Identity assertion (gateway/authn/assertion.c), which libjwt itself must accept. */
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/testutil.h"

#include "common/b64.h"
#include "common/err.h"
#include "gateway/authn/assertion.h"
#include "gateway/authn/jwks.h"
#include "gateway/authn/jwt.h"

static EVP_PKEY *rsa2048, *rsa1024, *p256, *p384;

static char *b64s(const char *s)
{
    char *out = malloc(cmn_b64url_encoded_len(strlen(s)) + 1);
    cmn_b64url_encode((const unsigned char *)s, strlen(s), out);
    return out;
}

/* Signs header.payload with key as alg (RS/PS/ES) and returns the compact token. */
static char *sign(EVP_PKEY *key, const char *alg, const char *header, const char *payload)
{
    char *h = b64s(header), *p = b64s(payload);
    char *input = malloc(strlen(h) + strlen(p) + 2);
    sprintf(input, "%s.%s", h, p);
    const EVP_MD *md = strstr(alg, "384")   ? EVP_sha384()
                       : strstr(alg, "512") ? EVP_sha512()
                                            : EVP_sha256();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char sig[1024];
    size_t sl = sizeof(sig);
    assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md, NULL, key), 1);
    if (alg[0] == 'P') {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    assert_int_equal(EVP_DigestSign(ctx, sig, &sl, (unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(ctx);
    unsigned char raw[128];
    const unsigned char *s = sig;
    size_t rawlen = sl;
    if (alg[0] == 'E') { /* DER → r‖s */
        size_t w = strstr(alg, "384") ? 48 : 32;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &s, (long)sl);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)w);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + w, (int)w);
        ECDSA_SIG_free(es);
        s = raw;
        rawlen = 2 * w;
    } else {
        s = sig;
    }
    char *sig64 = malloc(cmn_b64url_encoded_len(rawlen) + 1);
    cmn_b64url_encode(s, rawlen, sig64);
    char *tok = malloc(strlen(input) + strlen(sig64) + 2);
    sprintf(tok, "%s.%s", input, sig64);
    free(h);
    free(p);
    free(input);
    free(sig64);
    return tok;
}

static int setup(void **state)
{
    rsa2048 = EVP_RSA_gen(2048);
    rsa1024 = EVP_RSA_gen(1024);
    p256 = EVP_EC_gen("P-256");
    p384 = EVP_EC_gen("P-384");
    return rsa2048 && rsa1024 && p256 && p384 ? 0 : -1;
}

static int teardown(void **state)
{
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    return 0;
}

static const char claims_ok[] =
    "{\"iss\":\"https://"
    "idp\",\"aud\":[\"x\",\"hubgate\"],\"sub\":\"alice\",\"exp\":2000,\"iat\":1000}";

static int verify(const char *token, int alg, EVP_PKEY *key)
{
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    gw_jwt_t jwt;
    const char *why = NULL;
    int rc = gw_jwt_parse(token, strlen(token), &a, &jwt, &why);
    if (rc == 0) {
        rc = gw_jwt_verify_signature(&jwt, (gw_jwt_alg_t)alg, key);
        gw_jwt_free(&jwt);
    }
    cmn_arena_free(&a);
    return rc;
}

static void signatures(void **state)
{
    static const struct {
        const char *alg;
        EVP_PKEY **signer, **verifier;
        int want;
    } cases[] = {
        {"RS256", &rsa2048, &rsa2048, 0},
        {"RS384", &rsa2048, &rsa2048, 0},
        {"RS512", &rsa2048, &rsa2048, 0},
        {"PS256", &rsa2048, &rsa2048, 0},
        {"ES256", &p256, &p256, 0},
        {"ES384", &p384, &p384, 0},
        {"RS256", &rsa1024, &rsa1024, -1}, /* short RSA refused even when valid */
        {"ES256", &p384, &p384, -1},       /* curve does not fit the alg */
        {"ES384", &p256, &p256, -1},
        {"RS256", &rsa2048, &p256, -1}, /* key type does not fit */
        {"ES256", &p256, &rsa2048, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char header[64];
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"k\"}", cases[i].alg);
        char *tok = sign(*cases[i].signer, cases[i].alg, header, claims_ok);
        int rc = verify(tok, gw_jwt_alg_parse(cases[i].alg), *cases[i].verifier);
        if ((rc == 0) != (cases[i].want == 0))
            fail_msg("case %zu (%s): rc %d", i, cases[i].alg, rc);
        if (rc == 0) { /* one flipped bit anywhere in the signed part fails */
            tok[5] ^= 1;
            assert_int_not_equal(verify(tok, gw_jwt_alg_parse(cases[i].alg), *cases[i].verifier),
                                 0);
        }
        free(tok);
    }
}

static void parse_refusals(void **state)
{
    static const char *const bad[] = {
        "",
        "a.b",
        "a.b.c.d",
        "..",
        "eyJhbGciOiJub25lIn0.e30.",                        /* empty signature */
        "eyJhbGciOiJSUzI1NiJ9.W10.c2ln",                   /* payload is an array */
        "eyJhbGciOiJSUzI1NiIsImFsZyI6Im5vbmUifQ.e30.c2ln", /* duplicate alg */
        "eyJhbGciOjF9.e30.c2ln",                           /* alg not a string */
        "eyJhbGciOiJSUzI1NiIsImtpZCI6MX0.e30.c2ln",        /* kid not a string */
        "eyJhbGciOiJSUzI1NiJ9.e30.c2ln=",                  /* padding */
        "eyJhbGciOiJSUzI1NiJ9+.e30.c2ln",                  /* standard alphabet */
    };
    cmn_arena_t *a = *state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gw_jwt_t jwt;
        const char *why = NULL;
        if (gw_jwt_parse(bad[i], strlen(bad[i]), a, &jwt, &why) == 0) {
            gw_jwt_free(&jwt);
            fail_msg("accepted %s", bad[i]);
        }
        assert_non_null(why);
    }
    char *big = malloc(GW_MAX_JWT_BYTES + 10);
    memset(big, 'a', GW_MAX_JWT_BYTES + 9);
    big[GW_MAX_JWT_BYTES + 9] = '\0';
    gw_jwt_t jwt;
    const char *why;
    assert_int_equal(gw_jwt_parse(big, strlen(big), a, &jwt, &why), CMN_ERR_TOOBIG);
    free(big);
    assert_int_equal(gw_jwt_alg_parse("none"), -1);
    assert_int_equal(gw_jwt_alg_parse("HS256"), -1);
    assert_int_equal(gw_jwt_alg_parse("rs256"), -1);
}

static void claims(void **state)
{
    static const struct {
        const char *name, *header, *payload, *want; /* want NULL: accepted */
        gw_jwt_claims_t code;
    } cases[] = {
        {"ok", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", claims_ok, NULL, GW_JWT_CLAIMS_OK},
        {"aud string", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp\",\"aud\":\"hubgate\",\"sub\":\"a\",\"exp\":2000}", NULL,
         GW_JWT_CLAIMS_OK},
        {"exp within leeway", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp\",\"aud\":\"hubgate\",\"sub\":\"a\",\"exp\":1450}", NULL,
         GW_JWT_CLAIMS_OK},
        {"expired", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp\",\"aud\":\"hubgate\",\"sub\":\"a\",\"exp\":1400}",
         "token expired", GW_JWT_CLAIMS_EXPIRED},
        {"no exp", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp\",\"aud\":\"hubgate\",\"sub\":\"a\"}", "missing or malformed exp",
         GW_JWT_CLAIMS_MALFORMED},
        {"exp string", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp\",\"aud\":\"hubgate\",\"sub\":\"a\",\"exp\":\"2000\"}",
         "missing or malformed exp", GW_JWT_CLAIMS_MALFORMED},
        {"nbf future", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp\",\"aud\":\"hubgate\",\"sub\":\"a\",\"exp\":2000,\"nbf\":1600}",
         "token not yet valid", GW_JWT_CLAIMS_NOT_YET_VALID},
        {"nbf not a date", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp\",\"aud\":\"hubgate\",\"sub\":\"a\",\"exp\":2000,\"nbf\":\"x\"}",
         "malformed nbf", GW_JWT_CLAIMS_MALFORMED},
        {"iat future", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp\",\"aud\":\"hubgate\",\"sub\":\"a\",\"exp\":2000,\"iat\":1600}",
         "token issued in the future", GW_JWT_CLAIMS_NOT_YET_VALID},
        {"wrong iss", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp/\",\"aud\":\"hubgate\",\"sub\":\"a\",\"exp\":2000}",
         "wrong issuer", GW_JWT_CLAIMS_ISSUER},
        {"wrong aud", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp\",\"aud\":[\"x\"],\"sub\":\"a\",\"exp\":2000}",
         "wrong or missing audience", GW_JWT_CLAIMS_AUDIENCE},
        {"no sub", "{\"alg\":\"RS256\"}",
         "{\"iss\":\"https://idp\",\"aud\":\"hubgate\",\"exp\":2000}", "missing sub",
         GW_JWT_CLAIMS_MALFORMED},
        {"crit", "{\"alg\":\"RS256\",\"crit\":[\"b64\"]}", claims_ok,
         "critical JWS extensions are not supported", GW_JWT_CLAIMS_UNSUPPORTED},
        {"typ JWE", "{\"alg\":\"RS256\",\"typ\":\"JOSE+JSON\"}", claims_ok, "unexpected token type",
         GW_JWT_CLAIMS_UNSUPPORTED},
    };
    gw_jwt_expect_t e = {"https://idp", "hubgate", 1500, 60};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *tok = sign(rsa2048, "RS256", cases[i].header, cases[i].payload);
        cmn_arena_t a;
        cmn_arena_init(&a, 4096, 1 << 20);
        gw_jwt_t jwt;
        const char *why = NULL;
        assert_int_equal(gw_jwt_parse(tok, strlen(tok), &a, &jwt, &why), 0);
        gw_jwt_claims_t rc = gw_jwt_check_claims(&jwt, &e, &why);
        if (cases[i].want ? (rc == 0 || strcmp(why, cases[i].want) != 0) : rc != 0)
            fail_msg("case \"%s\": rc %d (%s)", cases[i].name, rc, why ? why : "-");
        if (rc != cases[i].code)
            fail_msg("case \"%s\": code %d, want %d", cases[i].name, rc, cases[i].code);
        gw_jwt_free(&jwt);
        cmn_arena_free(&a);
        free(tok);
    }
}

static void jwks_parsing(void **state)
{
    /* n, e of our 2048 and 1024 RSA keys as base64url */
    char doc[8192];
    BIGNUM *n = NULL, *n1 = NULL;
    EVP_PKEY_get_bn_param(rsa2048, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(rsa1024, OSSL_PKEY_PARAM_RSA_N, &n1);
    unsigned char nb[256], nb1[128];
    BN_bn2bin(n, nb);
    BN_bn2bin(n1, nb1);
    char n64[400], n164[200];
    cmn_b64url_encode(nb, 256, n64);
    cmn_b64url_encode(nb1, 128, n164);
    snprintf(doc, sizeof(doc),
             "{\"keys\":["
             "{\"kty\":\"RSA\",\"kid\":\"good\",\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\"%s\","
             "\"e\":\"AQAB\"},"
             "{\"kty\":\"RSA\",\"kid\":\"short\",\"n\":\"%s\",\"e\":\"AQAB\"},"
             "{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"%s\",\"e\":\"AQAB\"},"
             "{\"kty\":\"RSA\",\"kid\":\"good\",\"n\":\"%s\",\"e\":\"AQAB\"},"
             "{\"kty\":\"oct\",\"kid\":\"hmac\",\"k\":\"c2VjcmV0\"},"
             "{\"kty\":\"EC\",\"kid\":\"offcurve\",\"crv\":\"P-256\",\"x\":"
             "\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":"
             "\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},"
             "{\"kty\":\"RSA\",\"kid\":\"badalg\",\"alg\":\"ES256\",\"n\":\"%s\",\"e\":\"AQAB\"},"
             "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}"
             "]}",
             n64, n164, n64, n64, n64, n64);
    BN_free(n);
    BN_free(n1);
    cmn_buf_t skipped;
    cmn_buf_init(&skipped, 4096);
    gw_keyset_t *set = gw_jwks_parse(doc, strlen(doc), &skipped);
    assert_non_null(set);
    assert_int_equal(set->n, 1);
    assert_string_equal(set->keys[0].kid, "good");
    assert_int_equal(set->keys[0].alg, GW_JWT_RS256);
    for (const char *w = "short: RSA key shorter than 2048 bits"; w; w = NULL)
        assert_non_null(strstr(skipped.data, w));
    assert_non_null(strstr(skipped.data, "enc: use is not sig"));
    assert_non_null(strstr(skipped.data, "good: duplicate kid"));
    assert_non_null(strstr(skipped.data, "hmac: kty is not RSA or EC"));
    assert_non_null(strstr(skipped.data, "offcurve: malformed or off-curve EC key"));
    assert_non_null(strstr(skipped.data, "badalg: alg does not fit the key"));
    assert_non_null(strstr(skipped.data, "(no kid): missing or oversized kid"));
    gw_keyset_release(set);
    cmn_buf_free(&skipped);
    assert_null(gw_jwks_parse("{\"keys\":[]}", 11, NULL));
    assert_null(gw_jwks_parse("[]", 2, NULL));
}

static void assertion_is_accepted_by_libjwt(void **state)
{
    gw_assertion_t *as = gw_assertion_create(NULL, "https://gw.example");
    assert_non_null(as);
    cmn_arena_t *a = *state;
    const char *groups[] = {"acme-ml"};
    gw_identity_t id = {.kind = GW_ID_SSO,
                        .iss = "https://idp",
                        .sub = "alice",
                        .email = "alice@acme.example",
                        .groups = groups,
                        .ngroups = 1,
                        .mfa = 1};
    int64_t now = (int64_t)time(NULL);
    const char *tok = gw_assertion_mint(as, &id, "acme", "write", "eu", "rid123", now, a);
    assert_non_null(tok);

    /* the public key from /-/jwks.json, as PEM for libjwt */
    json_t *jwks = json_loads(gw_assertion_jwks(as), 0, NULL);
    json_t *k = json_array_get(json_object_get(jwks, "keys"), 0);
    unsigned char x[32], y[32], pt[65] = {4};
    assert_int_equal(cmn_b64url_decode(json_string_value(json_object_get(k, "x")), 43, x), 32);
    assert_int_equal(cmn_b64url_decode(json_string_value(json_object_get(k, "y")), 43, y), 32);
    memcpy(pt + 1, x, 32);
    memcpy(pt + 33, y, 32);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, 65),
                           OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pub = NULL;
    EVP_PKEY_fromdata_init(ctx);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pub);
    char *pem;
    long pemlen = BIO_get_mem_data(bio, &pem);

    jwt_t *jwt = NULL;
    assert_int_equal(jwt_decode(&jwt, tok, (unsigned char *)pem, (int)pemlen), 0);
    assert_int_equal(jwt_get_alg(jwt), JWT_ALG_ES256);
    assert_string_equal(jwt_get_grant(jwt, "sub"), "alice");
    assert_null(jwt_get_grant(jwt, "rid")); /* the request id is no claim: X-Request-Id */
    assert_string_equal(jwt_get_grant(jwt, "org"), "acme");
    assert_string_equal(jwt_get_grant(jwt, "role"), "write");
    assert_string_equal(jwt_get_grant(jwt, "region"), "eu");
    assert_int_equal(jwt_get_grant_int(jwt, "exp") - jwt_get_grant_int(jwt, "iat"), 60);
    jwt_free(jwt);
    /* and a tampered one is refused */
    char *bad = strdup(tok);
    bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
    assert_int_not_equal(jwt_decode(&jwt, bad, (unsigned char *)pem, (int)pemlen), 0);
    free(bad);
    BIO_free(bio);
    EVP_PKEY_free(pub);
    json_decref(jwks);
    gw_assertion_destroy(as);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signatures),
        testutil_arena_test(parse_refusals),
        cmocka_unit_test(claims),
        cmocka_unit_test(jwks_parsing),
        testutil_arena_test(assertion_is_accepted_by_libjwt),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
