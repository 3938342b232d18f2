/* Signed checkpoints (docs/audit.md); the keys that sign them are audit/key.h.
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
 * */
#ifndef HUBGATE_AUDIT_CHECKPOINT_H
#define HUBGATE_AUDIT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "audit/key.h"
#include "audit/limits.h"
#include "common/buf.h"


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

/* 1 when s is 1 to max characters of those a stream name may hold ([A-Za-z0-9._-]): a stream
 * name, or a file name of a report. */
int aud_stream_name_like(const char *s, size_t max);

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

/* Called for each checkpoint of a file, with its 1-based line number; a non-zero return stops
 * the reading and is returned by aud_checkpoint_file_read. */
typedef int (*aud_checkpoint_line_fn)(void *arg, const aud_checkpoint_t *cp, int64_t lineno);

/* Reads a checkpoint file (the format above: blank and '#' lines skipped) and calls fn for each
 * checkpoint, in file order; only its form is checked, not its signature. Returns 0; CMN_ERR_IO
 * when path cannot be opened or read (errno kept); CMN_ERR_PARSE when a line is not a
 * checkpoint (*lineno is its number, why says why); or fn's non-zero return. Blocks (disk). */
int aud_checkpoint_file_read(const char *path, aud_checkpoint_line_fn fn, void *arg,
                             int64_t *lineno, char *why, size_t whylen);

#endif
