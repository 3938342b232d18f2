/* Ed25519 keys: the instance's signing key (hubgate keygen) and the public keys checkpoints and
 * report manifests are verified with.
 *
 * Key id: the first 8 bytes of SHA-256(raw 32-byte public key), in hex. */
#ifndef HUBGATE_AUDIT_KEY_H
#define HUBGATE_AUDIT_KEY_H

#include <stddef.h>

#include "audit/limits.h"
#include "common/buf.h"

#define AUD_SIG_BYTES          64
#define AUD_KEY_ID_LEN         16

typedef struct aud_key aud_key_t;

/* Reads a PEM file holding an Ed25519 private key (PKCS#8, as `hubgate keygen` writes) or
 * public key (SubjectPublicKeyInfo). A private key's file must be private to its owner
 * (cmn_secret_check: no group or other permission bits), else it is refused. Returns the key
 * (caller frees with aud_key_free) or NULL with a one-line reason in err. Blocks (file I/O). */
aud_key_t *aud_key_load(const char *path, char *err, size_t errlen);

/* The same from PEM text in memory. */
aud_key_t *aud_key_from_pem(const char *pem, size_t len, char *err, size_t errlen);

/* A key the database registered under key id kid (PEM text): read, and checked to be the key
 * that id names. Returns the key (caller frees), or NULL with a one-line reason in why ("the
 * stream's key … is unreadable: …" or "… is in fact key …"). */
aud_key_t *aud_key_from_registered(const char *kid, const char *pem, char *why, size_t whylen);

/* A fresh Ed25519 key pair; NULL when the random source or OpenSSL fails. */
aud_key_t *aud_key_generate(void);

void aud_key_free(aud_key_t *key);

/* 1 when the key can sign. */
int aud_key_is_private(const aud_key_t *key);

/* The key id, 16 lowercase hex digits; owned by the key. */
const char *aud_key_id(const aud_key_t *key);

/* 1 when both hold the same public key. */
int aud_key_same_public(const aud_key_t *a, const aud_key_t *b);

/* Checks an Ed25519 signature over msg[0..len) (pure mode: what `openssl pkeyutl -verify
 * -rawin` checks) with key's public half. Returns 0, or CMN_ERR_CRYPTO when it does not
 * verify. Does not block. */
int aud_key_verify(const aud_key_t *key, const void *msg, size_t len,
                   const unsigned char sig[AUD_SIG_BYTES]);

/* Appends the public key as PEM (SubjectPublicKeyInfo). Returns 0, CMN_ERR_CRYPTO or the
 * buffer's error. */
int aud_key_public_pem(const aud_key_t *key, cmn_buf_t *out);

/* Writes the private key as PEM (PKCS#8) to path with mode 0600: into a temporary file in the
 * same folder, fsync'd, then linked into place, so path is never half-written. Refuses an
 * existing path unless overwrite. Returns 0, or CMN_ERR_CONFLICT (exists), CMN_ERR_IO,
 * CMN_ERR_CRYPTO, CMN_ERR_INVAL (not a private key) with a one-line reason in err. */
int aud_key_write_private(const aud_key_t *key, const char *path, int overwrite, char *err,
                          size_t errlen);

/* Writes the public key PEM to path the same way (mode 0644). */
int aud_key_write_public(const aud_key_t *key, const char *path, int overwrite, char *err,
                         size_t errlen);

/* Signs msg[0..len) (the whole message, Ed25519's pure mode: what `openssl pkeyutl -rawin`
 * verifies) with a private key. Returns 0, CMN_ERR_INVAL (public key only) or CMN_ERR_CRYPTO. */
int aud_key_sign(const aud_key_t *key, const void *msg, size_t len,
                 unsigned char sig[AUD_SIG_BYTES]);

#endif
