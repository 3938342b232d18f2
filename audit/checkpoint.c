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

int aud_stream_name_like(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= max || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1;
}

int aud_stream_name_ok(const char *s)
{
    return aud_stream_name_like(s, AUD_STREAM_MAX);
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
    if (!aud_key_is_private(key) || !aud_stream_name_ok(cp->stream))
        return CMN_ERR_INVAL;
    int n = aud_checkpoint_message(cp, msg, sizeof(msg));
    if (n < 0)
        return CMN_ERR_INVAL;
    int rc = aud_key_sign(key, msg, (size_t)n, cp->sig);
    if (rc == 0)
        memcpy(cp->key_id, aud_key_id(key), sizeof(cp->key_id));
    return rc;
}

int aud_checkpoint_verify(const aud_checkpoint_t *cp, const aud_key_t *key)
{
    char msg[256];
    if (strcmp(cp->key_id, aud_key_id(key)) != 0)
        return CMN_ERR_CONFLICT;
    int n = aud_checkpoint_message(cp, msg, sizeof(msg));
    if (n < 0)
        return CMN_ERR_CRYPTO;
    return aud_key_verify(key, msg, (size_t)n, cp->sig);
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

int aud_checkpoint_file_read(const char *path, aud_checkpoint_line_fn fn, void *arg,
                             int64_t *lineno, char *why, size_t whylen)
{
    *lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return CMN_ERR_IO;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        ++*lineno;
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        size_t sp = 0;
        while (sp < len && (line[sp] == ' ' || line[sp] == '\t'))
            sp++;
        if (sp == len || line[sp] == '#')
            continue;
        aud_checkpoint_t cp;
        rc = aud_checkpoint_parse(line, len, &cp, why, whylen);
        if (rc == 0)
            rc = fn(arg, &cp, *lineno);
    }
    if (rc == 0 && ferror(f)) {
        *lineno = 0;
        rc = CMN_ERR_IO;
    }
    int saved = errno;
    free(line);
    fclose(f);
    errno = saved;
    return rc;
}
