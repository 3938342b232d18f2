/* The listener's certificate, swapped on reload: contract in tls.h. */
#include "gateway/server/tls.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/sha256.h"
#include "gateway/server/check.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TLS_MAX_CHAIN 8

struct tls_set {
    gnutls_pcert_st chain[TLS_MAX_CHAIN];
    unsigned n;
    gnutls_privkey_t key;
    unsigned char digest[32]; /* of the two files' texts: "the same pair" */
    char describe[256];
    char id[17];             /* of the leaf certificate */
    struct tls_set *retired; /* the sets it replaced, kept for the sessions that hold them */
};
typedef struct tls_set tls_set_t;

static _Atomic(tls_set_t *) in_force;

static void set_free(tls_set_t *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->n; i++)
        gnutls_pcert_deinit(&s->chain[i]);
    if (s->key)
        gnutls_privkey_deinit(s->key);
    free(s);
}

static int on_handshake(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                        const gnutls_pk_algorithm_t *algos, int nalgos, gnutls_pcert_st **pcert,
                        unsigned int *pcert_length, gnutls_privkey_t *key)
{
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)algos;
    (void)nalgos;
    tls_set_t *s = atomic_load_explicit(&in_force, memory_order_acquire);
    if (!s)
        return -1;
    *pcert = s->chain;
    *pcert_length = s->n;
    *key = s->key;
    return 0;
}

void *gw_tls_callback(void)
{
    return (void *)on_handshake;
}

const char *gw_tls_describe(void)
{
    tls_set_t *s = atomic_load_explicit(&in_force, memory_order_acquire);
    return s ? s->describe : "";
}

/* 0 when key signs what the leaf certificate's public key verifies. */
static int key_matches(gnutls_privkey_t key, gnutls_pcert_st *leaf)
{
    static const unsigned char probe[] = "hubgate: does this key belong to this certificate?";
    gnutls_datum_t data = {(unsigned char *)probe, sizeof(probe)}, sig = {NULL, 0};
    gnutls_sign_algorithm_t algo = GNUTLS_SIGN_UNKNOWN;
    int pk = gnutls_privkey_get_pk_algorithm(key, NULL);
    if (pk == GNUTLS_PK_RSA)
        algo = GNUTLS_SIGN_RSA_SHA256;
    else if (pk == GNUTLS_PK_ECDSA)
        algo = GNUTLS_SIGN_ECDSA_SHA256;
    else if (pk == GNUTLS_PK_EDDSA_ED25519)
        algo = GNUTLS_SIGN_EDDSA_ED25519;
    else if (pk == GNUTLS_PK_RSA_PSS)
        algo = GNUTLS_SIGN_RSA_PSS_SHA256;
    if (algo == GNUTLS_SIGN_UNKNOWN || gnutls_privkey_sign_data2(key, algo, 0, &data, &sig) < 0)
        return -1;
    int rc = gnutls_pubkey_verify_data2(leaf->pubkey, algo, 0, &data, &sig) < 0 ? -1 : 0;
    gnutls_free(sig.data);
    return rc;
}

static void describe(tls_set_t *s, gnutls_x509_crt_t crt)
{
    char dn[160] = "";
    size_t dnlen = sizeof(dn);
    if (gnutls_x509_crt_get_dn(crt, dn, &dnlen) < 0)
        snprintf(dn, sizeof(dn), "(no subject)");
    time_t exp = gnutls_x509_crt_get_expiration_time(crt);
    struct tm tm;
    char when[32] = "?";
    if (exp != (time_t)-1 && gmtime_r(&exp, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(s->describe, sizeof(s->describe), "%s, expires %s", dn, when);
}

/* Parses the pair; NULL with the reason logged. */
static tls_set_t *parse(const char *cert_path, const cmn_buf_t *cert, const char *key_path,
                        const cmn_buf_t *key)
{
    tls_set_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    gnutls_datum_t cd = {(unsigned char *)cert->data, (unsigned)cert->len};
    gnutls_datum_t kd = {(unsigned char *)key->data, (unsigned)key->len};
    unsigned n = TLS_MAX_CHAIN;
    int rc = gnutls_pcert_list_import_x509_raw(s->chain, &n, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || n == 0) {
        cmn_log_error("tls", "%s: not a PEM certificate chain of at most %d certificates (%s)",
                      cert_path, TLS_MAX_CHAIN, rc < 0 ? gnutls_strerror(rc) : "none found");
        free(s);
        return NULL;
    }
    s->n = n;
    if ((rc = gnutls_privkey_init(&s->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(s->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        cmn_log_error("tls", "%s: not a PEM private key (%s)", key_path, gnutls_strerror(rc));
        set_free(s);
        return NULL;
    }
    if (key_matches(s->key, &s->chain[0]) != 0) {
        cmn_log_error("tls", "%s is not the private key of the certificate %s", key_path,
                      cert_path);
        set_free(s);
        return NULL;
    }
    unsigned char fp[32];
    cmn_sha256(s->chain[0].cert.data, s->chain[0].cert.size, fp);
    cmn_hex(fp, 8, s->id);
    gnutls_x509_crt_t crt;
    if (gnutls_pcert_export_x509(&s->chain[0], &crt) == 0) {
        describe(s, crt);
        gnutls_x509_crt_deinit(crt);
    }
    return s;
}

gw_tls_pair_t *gw_tls_read(const char *cert_path, const char *key_path)
{
    cmn_buf_t cert, key;
    if (gw_check_read_pem(cert_path, 0, &cert) != 0)
        return NULL;
    if (gw_check_read_pem(key_path, 1, &key) != 0) {
        cmn_buf_free(&cert);
        return NULL;
    }
    tls_set_t *s = parse(cert_path, &cert, key_path, &key);
    if (s) {
        cmn_sha256_t h;
        cmn_sha256_init(&h);
        cmn_sha256_update(&h, cert.data, cert.len);
        cmn_sha256_update(&h, "\n--\n", 4);
        cmn_sha256_update(&h, key.data, key.len);
        cmn_sha256_final(&h, s->digest);
    }
    OPENSSL_cleanse(key.data, key.cap);
    cmn_buf_free(&key);
    cmn_buf_free(&cert);
    return s;
}

int gw_tls_same(const gw_tls_pair_t *p)
{
    tls_set_t *cur = atomic_load(&in_force);
    return p && cur && memcmp(cur->digest, p->digest, sizeof(p->digest)) == 0;
}

const char *gw_tls_pair_id(const gw_tls_pair_t *p)
{
    return p ? p->id : "";
}

const char *gw_tls_in_force_id(void)
{
    return gw_tls_pair_id(atomic_load(&in_force));
}

void gw_tls_install(gw_tls_pair_t *p)
{
    tls_set_t *old = atomic_load(&in_force);
    p->retired = old;
    atomic_store_explicit(&in_force, p, memory_order_release);
    cmn_log_info("tls", "%s certificate %s (%s)", old ? "now presenting the" : "presenting the",
                 p->describe, p->id);
}

void gw_tls_discard(gw_tls_pair_t *p)
{
    set_free(p);
}

int gw_tls_load(const char *cert_path, const char *key_path)
{
    gw_tls_pair_t *p = gw_tls_read(cert_path, key_path);
    if (!p)
        return -1;
    gw_tls_install(p);
    return 0;
}

int gw_tls_check(const char *cert_path, const char *key_path)
{
    gw_tls_pair_t *p = gw_tls_read(cert_path, key_path);
    if (!p)
        return -1;
    cmn_log_info("tls", "certificate %s (%s)", p->describe, p->id);
    set_free(p);
    return 0;
}
