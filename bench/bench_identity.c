/* Cost of verifying SSO access tokens: cold RS256 and ES256 verification (parse, signature
 * with a key parsed once per JWKS fetch, claims) and a cached one (SHA-256 lookup of a token
 * verified before), through the same gw_auth_authenticate the gateway calls. A throwaway IdP
 * (libmicrohttpd) serves discovery and the JWKS on loopback.
 *   bench_identity [iterations]       prints one line per case: median and mean µs */
#include <microhttpd.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/b64.h"
#include "gateway/authn/identity.h"
#include "gateway/authn/jwks.h"
#include "gateway/authn/auth.h"

static char jwks_doc[8192], discovery[512];

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url, const char *m,
                             const char *v, const char *d, size_t *s, void **p)
{
    (void)cls, (void)m, (void)v, (void)d, (void)s, (void)p;
    const char *body = strcmp(url, "/jwks") == 0 ? jwks_doc : discovery;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static void b64(const unsigned char *p, size_t n, char *out)
{
    cmn_b64url_encode(p, n, out);
}

static char *sign(EVP_PKEY *key, int ec, const char *kid, const char *iss, int serial)
{
    char header[128], payload[512], h64[256], p64[1024], input[1400];
    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
             ec ? "ES256" : "RS256", kid);
    long now = (long)time(NULL);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"%s\",\"aud\":\"hubgate\",\"sub\":\"alice\",\"jti\":\"%d\",\"iat\":%ld,"
             "\"exp\":%ld,\"groups\":[\"acme-ml\",\"acme-staff\"],\"amr\":[\"pwd\",\"mfa\"],"
             "\"email\":\"alice@acme.example\"}",
             iss, serial, now, now + 3600);
    b64((unsigned char *)header, strlen(header), h64);
    b64((unsigned char *)payload, strlen(payload), p64);
    snprintf(input, sizeof(input), "%s.%s", h64, p64);
    unsigned char sig[512], raw[64];
    size_t sl = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key);
    EVP_DigestSign(ctx, sig, &sl, (unsigned char *)input, strlen(input));
    EVP_MD_CTX_free(ctx);
    const unsigned char *s = sig;
    if (ec) {
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &s, (long)sl);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
        ECDSA_SIG_free(es);
        s = raw;
        sl = 64;
    }
    char s64[800];
    b64(s, sl, s64);
    char *tok = malloc(strlen(input) + strlen(s64) + 2);
    sprintf(tok, "%s.%s", input, s64);
    return tok;
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *t, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += t[i];
    qsort(t, (size_t)n, sizeof(double), cmp);
    printf("%-34s median %7.1f us   mean %7.1f us   (%d runs)\n", name, t[n / 2], sum / n, n);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    BIGNUM *bn = NULL;
    EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &bn);
    unsigned char nb[256], pub[65];
    BN_bn2binpad(bn, nb, 256);
    BN_free(bn);
    size_t pl = 0;
    EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &pl);
    char n64[400], x64[64], y64[64];
    b64(nb, 256, n64);
    b64(pub + 1, 32, x64);
    b64(pub + 33, 32, y64);
    snprintf(jwks_doc, sizeof(jwks_doc),
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rs\",\"alg\":\"RS256\",\"n\":\"%s\",\"e\":"
             "\"AQAB\"},{\"kty\":\"EC\",\"kid\":\"es\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
             n64, x64, y64);

    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, serve,
                                            NULL, MHD_OPTION_END);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char issuer[64];
    snprintf(issuer, sizeof(issuer), "http://127.0.0.1:%u", info->port);
    snprintf(discovery, sizeof(discovery), "{\"issuer\":\"%s\",\"jwks_uri\":\"%s/jwks\"}", issuer,
             issuer);

    gw_issuer_t iss = {.issuer = issuer, .audience = "hubgate", .groups_claim = "groups",
                       .algorithms = {"RS256", "ES256"}, .n_algorithms = 2};
    gw_config_t cfg = {.issuers = &iss, .n_issuers = 1, .jwks_refresh_seconds = 3600,
                       .jwks_max_stale_seconds = 86400, .leeway_seconds = 60};
    gw_jwks_t *jwks = gw_jwks_start(&cfg, NULL, NULL);
    while (!gw_jwks_ready(jwks))
        usleep(1000);
    gw_auth_t *auth = gw_auth_create(&cfg, jwks, NULL);

    double *t = malloc(sizeof(double) * (size_t)n);
    for (int kind = 0; kind < 3; kind++) {
        int ec_kind = kind == 1;
        char **toks = malloc(sizeof(char *) * (size_t)n);
        for (int i = 0; i < n; i++)
            toks[i] = kind == 2 && i > 0 ? toks[0]
                                         : sign(ec_kind ? ec : rsa, ec_kind, ec_kind ? "es" : "rs",
                                                issuer, i);
        for (int i = 0; i < n; i++) {
            char value[2048];
            snprintf(value, sizeof(value), "Bearer %s", toks[i]);
            gw_header_t h = {"Authorization", 13, value, strlen(value)};
            cmn_arena_t a;
            cmn_arena_init(&a, 8192, 1 << 20);
            gw_identity_t id;
            const char *why = NULL;
            gw_auth_reason_t reason;
            double t0 = now_us();
            int r = gw_auth_authenticate(auth, &h, 1, &a, &id, &reason, &why);
            t[i] = now_us() - t0;
            cmn_arena_free(&a);
            if (r != 0) {
                fprintf(stderr, "bench: token refused: %s\n", why);
                return 1;
            }
        }
        report(kind == 0 ? "RS256 cold (verify every token)" : kind == 1 ? "ES256 cold (verify every token)"
                                                                         : "cached (token seen before)",
               t, n);
        for (int i = 0; i < n; i++)
            if (!(kind == 2 && i > 0))
                free(toks[i]);
        free(toks);
    }
    free(t);
    gw_auth_destroy(auth);
    gw_jwks_stop(jwks);
    MHD_stop_daemon(d);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    return 0;
}
