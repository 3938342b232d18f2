/* Why X-Hubgate-Identity is not signed with libjwt: ES256 signing cost of libjwt 1.10.2
 * (which re-parses its PEM key on every call) against OpenSSL on a key parsed once.
 *   bench_jwt_sign [iterations]   prints µs per signature for each */
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    char *pem;
    long pemlen = BIO_get_mem_data(bio, &pem);

    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        jwt_t *j = NULL;
        jwt_new(&j);
        jwt_add_grant(j, "sub", "alice");
        jwt_add_grant(j, "rid", "0123456789abcdef0123456789abcdef");
        jwt_add_grant_int(j, "exp", 1);
        jwt_set_alg(j, JWT_ALG_ES256, (unsigned char *)pem, (int)pemlen);
        char *s = jwt_encode_str(j);
        if (!s) {
            fprintf(stderr, "libjwt failed to sign\n");
            return 1;
        }
        free(s);
        jwt_free(j);
    }
    double libjwt = (now_us() - t0) / n;

    const char input[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";
    t0 = now_us();
    for (int i = 0; i < n; i++) {
        unsigned char sig[80];
        size_t sl = sizeof(sig);
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, key);
        EVP_DigestSign(c, sig, &sl, (const unsigned char *)input, sizeof(input) - 1);
        EVP_MD_CTX_free(c);
    }
    double openssl = (now_us() - t0) / n;
    printf("ES256 signature: libjwt %.1f us, OpenSSL on a parsed key %.1f us (%.1fx)\n", libjwt,
           openssl, libjwt / openssl);
    BIO_free(bio);
    EVP_PKEY_free(key);
    return 0;
}
