#include "audit/checkpoint.h"
#include "audit/event.h"
#include "common/b64.h"
#include "common/sha256.h"
#include "common/err.h"
#include "common/log.h"
#include "common/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
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
static int write_atomically(const char *path, const char *data, size_t len, mode_t mode,
                            int overwrite, char *err, size_t errlen)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    char *dircopy = strdup(path);
    if (tmp)
        tmp[0] = '\0'; /* nothing to remove until mkstemp made it */
    int rc = 0, fd = -1;
    if (!tmp || !dircopy) {
        rc = CMN_ERR_NOMEM;
        cmn_errf(err, errlen, "out of memory");
        goto out;
    }
    if (!overwrite && access(path, F_OK) == 0) {
        rc = CMN_ERR_CONFLICT;
        cmn_errf(err, errlen, "%s already exists (refusing to replace a key)", path);
        goto out;
    }
    snprintf(tmp, pl + 16, "%s.tmp-XXXXXX", path);
    fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) {
        rc = CMN_ERR_IO;
        cmn_errf(err, errlen, "%s: cannot create a file there: %s", path, strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = CMN_ERR_IO;
            cmn_errf(err, errlen, "%s: write: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        rc = CMN_ERR_IO;
        cmn_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (overwrite ? rename(tmp, path) != 0 : link(tmp, path) != 0) {
        rc = errno == EEXIST ? CMN_ERR_CONFLICT : CMN_ERR_IO;
        cmn_errf(err, errlen, "%s: %s", path,
                errno == EEXIST ? "already exists (refusing to replace a key)" : strerror(errno));
        goto out;
    }
    if (!overwrite)
        unlink(tmp);
    tmp[0] = '\0';
    int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    if (fd >= 0)
        close(fd);
    if (tmp && tmp[0])
        unlink(tmp);
    free(tmp);
    free(dircopy);
    return rc;
}

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
        rc = write_atomically(path, data, (size_t)n, 0600, overwrite, err, errlen);
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
        rc = write_atomically(path, b.data, b.len, 0644, overwrite, err, errlen);
    cmn_buf_free(&b);
    return rc;
}

/* ---- checkpoints ---- */

int aud_stream_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > AUD_STREAM_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int aud_checkpoint_message(const aud_checkpoint_t *cp, char *out, size_t cap)
{
    char hash[2 * AUD_HASH_BYTES + 1], ts[28];
    cmn_hex(cp->hash, AUD_HASH_BYTES, hash);
    aud_time_format(cp->ts_us, ts);
    int n = snprintf(out, cap, "hubgate-audit-checkpoint-v1\nstream=%s\nseq=%lld\nhash=%s\nts=%s\n",
                     cp->stream, (long long)cp->seq, hash, ts);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int aud_checkpoint_sign(aud_checkpoint_t *cp, const aud_key_t *key)
{
    char msg[256];
    if (!key->is_private || !aud_stream_name_ok(cp->stream))
        return CMN_ERR_INVAL;
    int n = aud_checkpoint_message(cp, msg, sizeof(msg));
    if (n < 0)
        return CMN_ERR_INVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t siglen = AUD_SIG_BYTES;
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
             EVP_DigestSign(ctx, cp->sig, &siglen, (const unsigned char *)msg, (size_t)n) == 1 &&
             siglen == AUD_SIG_BYTES;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return CMN_ERR_CRYPTO;
    memcpy(cp->key_id, key->id, sizeof(cp->key_id));
    return 0;
}

int aud_checkpoint_verify(const aud_checkpoint_t *cp, const aud_key_t *key)
{
    char msg[256];
    if (strcmp(cp->key_id, key->id) != 0)
        return CMN_ERR_CONFLICT;
    int n = aud_checkpoint_message(cp, msg, sizeof(msg));
    if (n < 0)
        return CMN_ERR_CRYPTO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok =
        ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
        EVP_DigestVerify(ctx, cp->sig, AUD_SIG_BYTES, (const unsigned char *)msg, (size_t)n) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : CMN_ERR_CRYPTO;
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

int aud_checkpoint_format(const aud_checkpoint_t *cp, char *out, size_t cap)
{
    char hash[2 * AUD_HASH_BYTES + 1], ts[28], sig[90];
    cmn_hex(cp->hash, AUD_HASH_BYTES, hash);
    aud_time_format(cp->ts_us, ts);
    cmn_b64url_encode(cp->sig, AUD_SIG_BYTES, sig);
    int n =
        snprintf(out, cap,
                 "{\"hash\":\"%s\",\"key_id\":\"%s\",\"seq\":%lld,\"sig\":\"%s\",\"stream\":\"%s\","
                 "\"ts\":\"%s\",\"v\":1}\n",
                 hash, cp->key_id, (long long)cp->seq, sig, cp->stream, ts);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static int why_set(char *why, size_t whylen, const char *msg)
{
    cmn_errf(why, whylen, "%s", msg);
    return CMN_ERR_PARSE;
}

int aud_checkpoint_parse(const char *line, size_t len, aud_checkpoint_t *cp, char *why,
                         size_t whylen)
{
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > AUD_CHECKPOINT_MAX_LINE)
        return why_set(why, whylen, "line too long for a checkpoint");
    if (memchr(line, '\n', len))
        return why_set(why, whylen, "more than one line");
    json_error_t jerr;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = CMN_ERR_PARSE;
    if (!o || !json_is_object(o)) {
        cmn_errf(why, whylen, "not a JSON object%s%s", o ? "" : ": ", o ? "" : jerr.text);
        goto out;
    }
    memset(cp, 0, sizeof(*cp));
    const char *key;
    json_t *v;
    int have = 0;
    json_object_foreach(o, key, v)
    {
        const char *s = json_string_value(v);
        size_t sl = s ? json_string_length(v) : 0;
        if (strcmp(key, "v") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) != 1) {
                why_set(why, whylen, "v: unsupported version (expected 1)");
                goto out;
            }
            have |= 1;
        } else if (strcmp(key, "stream") == 0) {
            if (!s || sl != strlen(s) || !aud_stream_name_ok(s)) {
                why_set(why, whylen, "stream: expected [A-Za-z0-9._-]{1,64}");
                goto out;
            }
            memcpy(cp->stream, s, sl + 1);
            have |= 2;
        } else if (strcmp(key, "seq") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                why_set(why, whylen, "seq: expected a non-negative integer");
                goto out;
            }
            cp->seq = json_integer_value(v);
            have |= 4;
        } else if (strcmp(key, "hash") == 0) {
            if (!s || aud_unhex(s, sl, cp->hash, AUD_HASH_BYTES) != 0) {
                why_set(why, whylen, "hash: expected 64 hex digits");
                goto out;
            }
            have |= 8;
        } else if (strcmp(key, "ts") == 0) {
            if (!s || aud_time_parse(s, sl, &cp->ts_us) != 0) {
                why_set(why, whylen, "ts: expected YYYY-MM-DDTHH:MM:SS.ffffffZ");
                goto out;
            }
            have |= 16;
        } else if (strcmp(key, "key_id") == 0) {
            unsigned char tmp[AUD_KEY_ID_LEN / 2];
            if (!s || aud_unhex(s, sl, tmp, sizeof(tmp)) != 0) {
                why_set(why, whylen, "key_id: expected 16 hex digits");
                goto out;
            }
            cmn_hex(tmp, sizeof(tmp), cp->key_id); /* lowercase, as key ids are compared */
            have |= 32;
        } else if (strcmp(key, "sig") == 0) {
            unsigned char tmp[AUD_SIG_BYTES + 3];
            if (!s || sl != 86 || cmn_b64url_decode(s, sl, tmp) != AUD_SIG_BYTES) {
                why_set(why, whylen, "sig: expected 64 bytes in base64url (86 characters)");
                goto out;
            }
            memcpy(cp->sig, tmp, AUD_SIG_BYTES);
            have |= 64;
        } else {
            cmn_errf(why, whylen, "unknown key \"%.40s\"", key);
            goto out;
        }
    }
    if (have != 127) {
        why_set(why, whylen, "missing keys (expected hash, key_id, seq, sig, stream, ts, v)");
        goto out;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int aud_checkpoint_append(int fd, const aud_checkpoint_t *cp, int sync)
{
    char line[AUD_CHECKPOINT_MAX_LINE];
    int n = aud_checkpoint_format(cp, line, sizeof(line));
    if (n < 0)
        return CMN_ERR_INVAL;
    /* One write: a reader never sees two checkpoints interleaved. */
    ssize_t w;
    do {
        w = write(fd, line, (size_t)n);
    } while (w < 0 && errno == EINTR);
    if (w != n || (sync && fdatasync(fd) != 0))
        return CMN_ERR_IO;
    return 0;
}
