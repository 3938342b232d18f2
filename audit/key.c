/* Ed25519 keys: contract in key.h. */
#include "audit/key.h"
#include "common/err.h"
#include "common/file.h"
#include "common/secret.h"
#include "common/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct aud_key {
    EVP_PKEY *pkey;
    int is_private;
    unsigned char raw[32]; /* public key */
    char id[AUD_KEY_ID_LEN + 1];
};

static aud_key_t *wrap(EVP_PKEY *pkey, int is_private, char *err, size_t errlen)
{
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        cmn_errf(err, errlen, "not an Ed25519 key (make one with hubgate keygen)");
        EVP_PKEY_free(pkey);
        return NULL;
    }
    aud_key_t *k = calloc(1, sizeof(*k));
    size_t n = sizeof(k->raw);
    if (!k || EVP_PKEY_get_raw_public_key(pkey, k->raw, &n) != 1 || n != 32) {
        cmn_errf(err, errlen, "cannot read the public key");
        EVP_PKEY_free(pkey);
        free(k);
        return NULL;
    }
    k->pkey = pkey;
    k->is_private = is_private;
    unsigned char md[CMN_SHA256_BYTES];
    cmn_sha256(k->raw, 32, md);
    cmn_hex(md, AUD_KEY_ID_LEN / 2, k->id);
    return k;
}

aud_key_t *aud_key_from_pem(const char *pem, size_t len, char *err, size_t errlen)
{
    if (len > AUD_MAX_KEY_FILE_BYTES) {
        cmn_errf(err, errlen, "key file larger than %d bytes", AUD_MAX_KEY_FILE_BYTES);
        return NULL;
    }
    int is_private = memmem(pem, len, "PRIVATE KEY-----", 16) != NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) {
        cmn_errf(err, errlen, "out of memory");
        return NULL;
    }
    EVP_PKEY *pkey = is_private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                                : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!pkey) {
        cmn_errf(err, errlen, "not a PEM %s key", is_private ? "private" : "public");
        return NULL;
    }
    return wrap(pkey, is_private, err, errlen);
}

aud_key_t *aud_key_load(const char *path, char *err, size_t errlen)
{
    cmn_buf_t b;
    cmn_buf_init(&b, AUD_MAX_KEY_FILE_BYTES);
    int rc = cmn_buf_read_file(&b, path);
    if (rc != 0) {
        cmn_errf(err, errlen, "%s: %s", path,
                 rc == CMN_ERR_NOTFOUND ? "no such file"
                 : rc == CMN_ERR_TOOBIG ? "too large for a key file"
                                        : strerror(errno));
        cmn_buf_free(&b);
        return NULL;
    }
    char why[200];
    aud_key_t *k = aud_key_from_pem(b.data ? b.data : "", b.len, why, sizeof(why));
    if (b.data)
        memset(b.data, 0, b.len); /* private key material does not linger in freed memory */
    cmn_buf_free(&b);
    if (!k) {
        cmn_errf(err, errlen, "%s: %s", path, why);
        return NULL;
    }
    /* A private key others can read is no longer private: refused, as ssh refuses one. */
    if (k->is_private && cmn_secret_check(-1, path, why, sizeof(why)) != 0) {
        cmn_errf(err, errlen, "%s", why);
        aud_key_free(k);
        return NULL;
    }
    return k;
}

aud_key_t *aud_key_from_registered(const char *kid, const char *pem, char *why, size_t whylen)
{
    char reason[200];
    aud_key_t *k = aud_key_from_pem(pem, strlen(pem), reason, sizeof(reason));
    if (!k) {
        cmn_errf(why, whylen, "the stream's key %s is unreadable: %s", kid, reason);
        return NULL;
    }
    if (strcmp(k->id, kid) != 0) {
        cmn_errf(why, whylen, "the stream's key registered as %s is in fact key %s", kid, k->id);
        aud_key_free(k);
        return NULL;
    }
    return k;
}

aud_key_t *aud_key_generate(void)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pkey)
        return NULL;
    return wrap(pkey, 1, NULL, 0);
}

void aud_key_free(aud_key_t *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

int aud_key_is_private(const aud_key_t *key)
{
    return key->is_private;
}

const char *aud_key_id(const aud_key_t *key)
{
    return key->id;
}

int aud_key_same_public(const aud_key_t *a, const aud_key_t *b)
{
    return memcmp(a->raw, b->raw, 32) == 0;
}

int aud_key_verify(const aud_key_t *key, const void *msg, size_t len,
                   const unsigned char sig[AUD_SIG_BYTES])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, AUD_SIG_BYTES, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : CMN_ERR_CRYPTO;
}

static int bio_to_buf(BIO *bio, cmn_buf_t *out)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0)
        return CMN_ERR_CRYPTO;
    return cmn_buf_append(out, data, (size_t)n);
}

int aud_key_public_pem(const aud_key_t *key, cmn_buf_t *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return CMN_ERR_NOMEM;
    int rc = PEM_write_bio_PUBKEY(bio, key->pkey) == 1 ? bio_to_buf(bio, out) : CMN_ERR_CRYPTO;
    BIO_free(bio);
    return rc;
}

/* Writes data into a fresh temporary file beside path, fsyncs it, then links it to path
 * (refusing an existing one unless overwrite, in which case it renames over it) and fsyncs the
 * folder: path is complete or absent, never half-written. */
int aud_key_write_private(const aud_key_t *key, const char *path, int overwrite, char *err,
                          size_t errlen)
{
    if (!key->is_private) {
        cmn_errf(err, errlen, "not a private key");
        return CMN_ERR_INVAL;
    }
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio) {
        cmn_errf(err, errlen, "out of memory");
        return CMN_ERR_NOMEM;
    }
    int rc;
    char *data = NULL;
    long n;
    if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
        (n = BIO_get_mem_data(bio, &data)) <= 0) {
        cmn_errf(err, errlen, "cannot encode the key");
        rc = CMN_ERR_CRYPTO;
    } else {
        rc = cmn_file_write_atomic(path, data, (size_t)n, 0600, overwrite,
                                   "refusing to replace a key", err, errlen);
        OPENSSL_cleanse(data, (size_t)n);
    }
    BIO_free(bio);
    return rc;
}

int aud_key_write_public(const aud_key_t *key, const char *path, int overwrite, char *err,
                         size_t errlen)
{
    cmn_buf_t b;
    cmn_buf_init(&b, AUD_MAX_KEY_FILE_BYTES);
    int rc = aud_key_public_pem(key, &b);
    if (rc != 0)
        cmn_errf(err, errlen, "cannot encode the public key");
    else
        rc = cmn_file_write_atomic(path, b.data, b.len, 0644, overwrite,
                                   "refusing to replace a key", err, errlen);
    cmn_buf_free(&b);
    return rc;
}

int aud_key_sign(const aud_key_t *key, const void *msg, size_t len,
                 unsigned char sig[AUD_SIG_BYTES])
{
    if (!key->is_private)
        return CMN_ERR_INVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t siglen = AUD_SIG_BYTES;
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 && siglen == AUD_SIG_BYTES;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : CMN_ERR_CRYPTO;
}
