/* Ed25519 keys and signed checkpoints (docs/audit.md).
 *
 * A checkpoint says "stream S had, at time ts, seq N with chain hash H", signed with the
 * instance's Ed25519 key. The signed message is this text (LF line ends, no trailing
 * spaces), so that an auditor can check one with nothing but openssl:
 *
 *     hubgate-audit-checkpoint-v1
 *     stream=gw-1
 *     seq=1234
 *     hash=<64 lowercase hex digits>
 *     ts=2024-05-01T12:34:56.123456Z
 *
 *     openssl pkeyutl -verify -pubin -inkey audit.pub -rawin -in msg.txt -sigfile sig.bin
 *
 * Checkpoint file (the copy an auditor keeps off the database; the writer appends one line per
 * checkpoint, fsync'd at least once a second): JSON Lines, one object per line with exactly these
 * keys, in this order as the writer produces them:
 *     {"hash":"<hex>","key_id":"<16 hex>","seq":1234,"sig":"<base64url, 86 chars>",
 *      "stream":"gw-1","ts":"2024-05-01T12:34:56.123456Z","v":1}
 * Blank lines and lines starting with '#' are ignored by readers.
 *
 * Key id: the first 8 bytes of SHA-256(raw 32-byte public key), in hex. */
#ifndef HUBGATE_AUDIT_CHECKPOINT_H
#define HUBGATE_AUDIT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "common/buf.h"

#define AUD_SIG_BYTES           64
#define AUD_KEY_ID_LEN          16
#define AUD_STREAM_MAX          64
#define AUD_CHECKPOINT_MAX_LINE 512
#define AUD_MAX_KEY_FILE_BYTES  (64 * 1024)

typedef struct aud_key aud_key_t;

/* Reads a PEM file holding an Ed25519 private key (PKCS#8, as `hubgate keygen` writes) or
 * public key (SubjectPublicKeyInfo). A private key's file must be private to its owner
 * (cmn_secret_check: no group or other permission bits), else it is refused. Returns the key
 * (caller frees with aud_key_free) or NULL with a one-line reason in err. Blocks (file I/O). */
aud_key_t *aud_key_load(const char *path, char *err, size_t errlen);

/* The same from PEM text in memory. */
aud_key_t *aud_key_from_pem(const char *pem, size_t len, char *err, size_t errlen);

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

typedef struct {
    char stream[AUD_STREAM_MAX + 1];
    int64_t seq;
    unsigned char hash[AUD_HASH_BYTES];
    int64_t ts_us;
    char key_id[AUD_KEY_ID_LEN + 1];
    unsigned char sig[AUD_SIG_BYTES];
} aud_checkpoint_t;

/* 1 when s is a valid stream name: [A-Za-z0-9._-]{1,64}. */
int aud_stream_name_ok(const char *s);

/* Writes the signed message (see above) into out; returns its length, or -1 if cap is too
 * small (256 bytes always suffice). */
int aud_checkpoint_message(const aud_checkpoint_t *cp, char *out, size_t cap);

/* Signs cp (stream, seq, hash, ts) with a private key; sets key_id and sig. Returns 0,
 * CMN_ERR_INVAL (public key only, bad stream name) or CMN_ERR_CRYPTO. */
int aud_checkpoint_sign(aud_checkpoint_t *cp, const aud_key_t *key);

/* Checks cp's signature with key. Returns 0; CMN_ERR_CONFLICT when cp names another key id;
 * CMN_ERR_CRYPTO when the signature does not verify. */
int aud_checkpoint_verify(const aud_checkpoint_t *cp, const aud_key_t *key);

/* The file line for cp, with its '\n'. Returns the length, or -1 when cap is too small
 * (AUD_CHECKPOINT_MAX_LINE always suffices). */
int aud_checkpoint_format(const aud_checkpoint_t *cp, char *out, size_t cap);

/* Parses one line (without or with its '\n'). Returns 0, or CMN_ERR_PARSE with a reason in
 * why (may be NULL). Checks the form only, not the signature. */
int aud_checkpoint_parse(const char *line, size_t len, aud_checkpoint_t *cp, char *why,
                         size_t whylen);

/* Appends cp's line to the open file descriptor fd (opened O_APPEND) in one write, then
 * fdatasyncs it when sync. Returns 0 or CMN_ERR_IO (errno kept). Blocks (disk). */
int aud_checkpoint_append(int fd, const aud_checkpoint_t *cp, int sync);

#endif
