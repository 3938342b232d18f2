/* Offline verification of a report directory (audit/report_verify.h; the format is
 * docs/evidence-format.md). One pass over events.jsonl, with a state per stream of report.json's
 * integrity section, so that memory stays flat and the order of the streams does not matter.
 *
 * After a problem the pass resynchronises on what the line says (its seq, its stored hash), so
 * that each tampering is named once, where it is, instead of cascading over every later line;
 * the verdict is already "failed". */
#include "audit/report_verify.h"
#include "audit/chain.h"
#include "audit/event.h"
#include "common/buf.h"
#include "common/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (4 << 20)
#define HEX_LEN    (2 * AUD_HASH_BYTES)

static const char F_EVENTS[] = "events.jsonl";
static const char F_REPORT[] = "report.json";
static const char F_MANIFEST[] = "manifest.json";
static const char F_SIG[] = "manifest.sig";

/* Kinds of event that concern every org: an org-scoped report shows them whole. */
static const char *const GLOBAL_KINDS[] = {"policy.loaded",   "policy.rejected", "gateway.started",
                                           "gateway.stopped", "keys.changed",    "audit.spooled"};

typedef struct {
    char id[AUD_KEY_ID_LEN + 1];
    aud_key_t *key;
} keyref_t;

/* A signed checkpoint as report.json or a checkpoint file gives it. */
typedef struct {
    int64_t seq;
    unsigned char hash[AUD_HASH_BYTES];
    int64_t ts_us;
    char key_id[AUD_KEY_ID_LEN + 1];
    unsigned char sig[AUD_SIG_BYTES];
} rcp_t;

/* A checkpoint of a --checkpoint file whose signature verified. */
typedef struct {
    char stream[AUD_STREAM_MAX + 1];
    int64_t seq;
    int64_t ts_us;
    unsigned char hash[AUD_HASH_BYTES];
    const char *file; /* borrowed from the options */
    int64_t line;
} fcp_t;

typedef struct {
    aud_report_verify_stream_t *out;
    int genesis;
    rcp_t start, end;
    int has_end;
    int64_t next_seq;                   /* the seq the next line must have */
    unsigned char head[AUD_HASH_BYTES]; /* the hash at next_seq - 1 */
    int saw_in_period;
    int64_t pending_hidden_line, pending_hidden_seq; /* a hidden line after an in-period one */
    size_t fcp_next, fcp_end;                        /* this stream's --checkpoint entries */
} sstate_t;

/* One line of events.jsonl, decoded. Strings point into the line buffer or `text`. */
typedef struct {
    int hidden;
    int chain;
    int in_period;
    int64_t seq;
    char stream[AUD_STREAM_MAX + 1];
    unsigned char hash[AUD_HASH_BYTES], prev[AUD_HASH_BYTES], commitment[AUD_HASH_BYTES];
    char *text; /* decoded canonical (whole) or org (hidden); not NUL-terminated */
    size_t text_len;
} line_t;

typedef struct {
    const aud_report_verify_options_t *o;
    aud_report_verify_result_t *r;
    keyref_t keys[AUD_REPORT_VERIFY_MAX_KEYS];
    size_t n_keys;
    fcp_t *fcps;
    size_t n_fcps;
    sstate_t *ss;
    aud_hasher_t hasher;
    aud_parsed_t parsed;
    cmn_buf_t enc;
    char *decode; /* decoding buffer for a line's string */
    size_t decode_cap;
    /* manifest */
    char listed[AUD_REPORT_VERIFY_MAX_FILES][128];
    unsigned char listed_hash[AUD_REPORT_VERIFY_MAX_FILES][AUD_HASH_BYTES];
    size_t n_listed;
    int events_listed; /* index in listed, -1: not listed */
} rv_t;

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void problem(rv_t *v, const char *code, const char *file, int64_t line, const char *stream,
                    int64_t seq, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Records a problem: the first of its kind in full, the others as a count. */
static void problem(rv_t *v, const char *code, const char *file, int64_t line, const char *stream,
                    int64_t seq, const char *fmt, ...)
{
    aud_report_verify_result_t *r = v->r;
    r->total_problems++;
    for (size_t i = 0; i < r->n_problems; i++) {
        if (strcmp(r->problems[i].code, code) == 0) {
            r->problems[i].count++;
            return;
        }
    }
    if (r->n_problems >= AUD_REPORT_VERIFY_MAX_PROBLEM_KINDS)
        return;
    aud_report_verify_problem_t *p = &r->problems[r->n_problems++];
    memset(p, 0, sizeof(*p));
    p->code = code;
    snprintf(p->file, sizeof(p->file), "%s", file ? file : "");
    p->line = line;
    snprintf(p->stream, sizeof(p->stream), "%s", stream ? stream : "");
    p->seq = seq;
    p->count = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
}

static void stream_problem(rv_t *v, sstate_t *s, const char *code, int64_t line, int64_t seq,
                           const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void stream_problem(rv_t *v, sstate_t *s, const char *code, int64_t line, int64_t seq,
                           const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s->out->problems++;
    problem(v, code, line > 0 ? F_EVENTS : F_REPORT, line, s->out->name, seq, "%s", msg);
}

static const char *short_hex(const unsigned char *h, char out[17])
{
    aud_hex(h, 8, out);
    return out;
}

/* ---- small parsers ---- */

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes base64 in either alphabet, padded or not, into exactly n bytes. A signature is
 * checked cryptographically afterwards, so accepting both spellings gives nothing away. */
static int b64_exact(const char *s, size_t len, unsigned char *out, size_t n)
{
    while (len > 0 && s[len - 1] == '=')
        len--;
    size_t got = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int x = b64val((unsigned char)s[i]);
        if (x < 0)
            return -1;
        acc = acc << 6 | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (got >= n)
                return -1;
            out[got++] = (unsigned char)(acc >> bits);
        }
    }
    return got == n && (acc & ((1u << bits) - 1)) == 0 ? 0 : -1;
}

/* RFC 3339 in UTC: "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM:SS" with 0 to 6 fractional digits and
 * "Z" or "+00:00". */
static int parse_utc(const char *s, int64_t *us)
{
    char norm[28];
    size_t n = strlen(s);
    if (n == 10) {
        snprintf(norm, sizeof(norm), "%.10sT00:00:00.000000Z", s);
        return aud_time_parse(norm, 27, us);
    }
    if (n < 20 || s[10] != 'T')
        return CMN_ERR_PARSE;
    const char *tz = s + n - 1;
    if (n >= 25 && strcmp(s + n - 6, "+00:00") == 0)
        tz = s + n - 6;
    else if (*tz != 'Z')
        return CMN_ERR_PARSE;
    size_t frac = 0;
    if (tz > s + 19) {
        if (s[19] != '.')
            return CMN_ERR_PARSE;
        frac = (size_t)(tz - (s + 20));
        if (frac < 1 || frac > 6)
            return CMN_ERR_PARSE;
    } else if (tz != s + 19) {
        return CMN_ERR_PARSE;
    }
    memcpy(norm, s, 19);
    norm[19] = '.';
    memset(norm + 20, '0', 6);
    if (frac)
        memcpy(norm + 20, s + 20, frac);
    norm[26] = 'Z';
    norm[27] = '\0';
    return aud_time_parse(norm, 27, us);
}

static int safe_file_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 100 || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static aud_key_t *pinned_key(rv_t *v, const char *id)
{
    for (size_t i = 0; i < v->n_keys; i++)
        if (strcmp(v->keys[i].id, id) == 0)
            return v->keys[i].key;
    return NULL;
}

/* ---- files ---- */

/* Opens DIR/name for reading, refusing a symbolic link (a report is plain files). */
static int open_in(const char *dir, const char *name)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* Reads DIR/name whole into b (capped). Returns 0, or -1 with errno (EFBIG over the cap). */
static int read_whole(const char *dir, const char *name, cmn_buf_t *b)
{
    int fd = open_in(dir, name);
    if (fd < 0)
        return -1;
    char chunk[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -1;
            break;
        }
        int e = cmn_buf_append(b, chunk, (size_t)n);
        if (e != 0) {
            errno = e == CMN_ERR_TOOBIG ? EFBIG : ENOMEM;
            rc = -1;
            break;
        }
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* SHA-256 of DIR/name, streamed. Returns 0 or -1 with errno. */
static int hash_file(rv_t *v, const char *dir, const char *name, unsigned char out[AUD_HASH_BYTES])
{
    int fd = open_in(dir, name);
    if (fd < 0)
        return -1;
    EVP_MD_CTX *ctx = v->hasher.ctx;
    unsigned int mdlen = 0;
    int rc = EVP_DigestInit_ex2(ctx, v->hasher.md, NULL) == 1 ? 0 : -1;
    char *chunk = malloc(READ_CHUNK);
    if (!chunk) {
        errno = ENOMEM;
        rc = -1;
    }
    ssize_t n;
    while (rc == 0 && (n = read(fd, chunk, READ_CHUNK)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1)
            rc = -1;
    }
    if (rc == 0 && EVP_DigestFinal_ex(ctx, out, &mdlen) != 1)
        rc = -1;
    int saved = errno;
    free(chunk);
    close(fd);
    errno = saved;
    return rc;
}

/* ---- the auditor's inputs ---- */

static int load_keys(rv_t *v, char *err, size_t errlen)
{
    if (v->o->n_pubkeys == 0) {
        set_err(err, errlen,
                "at least one --pubkey is needed: the keys you trust to have signed "
                "the checkpoints and the manifest");
        return CMN_ERR_INVAL;
    }
    if (v->o->n_pubkeys > AUD_REPORT_VERIFY_MAX_KEYS) {
        set_err(err, errlen, "more than %d --pubkey files", AUD_REPORT_VERIFY_MAX_KEYS);
        return CMN_ERR_INVAL;
    }
    for (size_t i = 0; i < v->o->n_pubkeys; i++) {
        char why[300];
        aud_key_t *k = aud_key_load(v->o->pubkey_files[i], why, sizeof(why));
        if (!k) {
            set_err(err, errlen, "--pubkey %s", why);
            return CMN_ERR_IO;
        }
        snprintf(v->keys[v->n_keys].id, sizeof(v->keys[0].id), "%s", aud_key_id(k));
        v->keys[v->n_keys++].key = k;
    }
    return 0;
}

static int cmp_fcp(const void *a, const void *b)
{
    const fcp_t *x = a, *y = b;
    int c = strcmp(x->stream, y->stream);
    if (c)
        return c;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->ts_us < y->ts_us ? -1 : x->ts_us > y->ts_us;
}

/* Reads the --checkpoint files. A checkpoint whose signature does not verify with a pinned key
 * is a problem (the file is the auditor's own copy) and is left out of the comparisons. */
static int load_checkpoint_files(rv_t *v, char *err, size_t errlen)
{
    size_t cap = 0;
    int rc = 0;
    char *line = NULL;
    size_t lcap = 0;
    for (size_t fi = 0; fi < v->o->n_checkpoint_files && rc == 0; fi++) {
        const char *path = v->o->checkpoint_files[fi];
        FILE *f = fopen(path, "r");
        if (!f) {
            set_err(err, errlen, "--checkpoint %s: %s", path, strerror(errno));
            rc = CMN_ERR_IO;
            break;
        }
        ssize_t n;
        int64_t lineno = 0;
        while ((n = getline(&line, &lcap, f)) >= 0) {
            lineno++;
            size_t len = (size_t)n;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                len--;
            size_t sp = 0;
            while (sp < len && (line[sp] == ' ' || line[sp] == '\t'))
                sp++;
            if (sp == len || line[sp] == '#')
                continue;
            aud_checkpoint_t cp;
            char why[200];
            if (len > AUD_CHECKPOINT_MAX_LINE ||
                aud_checkpoint_parse(line, len, &cp, why, sizeof(why)) != 0) {
                set_err(err, errlen, "--checkpoint %s:%lld: not a checkpoint: %s", path,
                        (long long)lineno, len > AUD_CHECKPOINT_MAX_LINE ? "line too long" : why);
                rc = CMN_ERR_PARSE;
                break;
            }
            aud_key_t *k = pinned_key(v, cp.key_id);
            if (!k) {
                problem(v, "checkpoint_key", path, lineno, cp.stream, cp.seq,
                        "the checkpoint at seq %lld is signed by key %s, which is not one of the "
                        "--pubkey keys",
                        (long long)cp.seq, cp.key_id);
                continue;
            }
            if (aud_checkpoint_verify(&cp, k) != 0) {
                problem(v, "checkpoint_signature", path, lineno, cp.stream, cp.seq,
                        "the checkpoint at seq %lld has a signature that does not verify with key "
                        "%s: the file was altered",
                        (long long)cp.seq, cp.key_id);
                continue;
            }
            if (v->n_fcps == cap) {
                if (cap >= AUD_REPORT_VERIFY_MAX_FILE_CPS) {
                    set_err(err, errlen, "--checkpoint files hold more than %d checkpoints",
                            AUD_REPORT_VERIFY_MAX_FILE_CPS);
                    rc = CMN_ERR_TOOBIG;
                    break;
                }
                cap = cap ? cap * 2 : 1024;
                fcp_t *nc = realloc(v->fcps, cap * sizeof(*nc));
                if (!nc) {
                    set_err(err, errlen, "out of memory");
                    rc = CMN_ERR_NOMEM;
                    break;
                }
                v->fcps = nc;
            }
            fcp_t *c = &v->fcps[v->n_fcps++];
            snprintf(c->stream, sizeof(c->stream), "%s", cp.stream);
            c->seq = cp.seq;
            c->ts_us = cp.ts_us;
            memcpy(c->hash, cp.hash, AUD_HASH_BYTES);
            c->file = path;
            c->line = lineno;
        }
        fclose(f);
    }
    free(line);
    if (rc == 0 && v->n_fcps)
        qsort(v->fcps, v->n_fcps, sizeof(fcp_t), cmp_fcp);
    return rc;
}

/* ---- step 1: the manifest ---- */

static int hex32(const char *s, unsigned char out[AUD_HASH_BYTES])
{
    return s && strlen(s) == HEX_LEN && aud_unhex(s, HEX_LEN, out, AUD_HASH_BYTES) == 0 ? 0 : -1;
}

static void check_manifest_signature(rv_t *v, const cmn_buf_t *manifest, const char *key_id)
{
    const char *dir = v->o->dir;
    cmn_buf_t sig;
    cmn_buf_init(&sig, 1024);
    if (read_whole(dir, F_SIG, &sig) != 0) {
        if (errno == ENOENT)
            problem(v, "manifest_unsigned", F_SIG, 0, NULL, -1,
                    "manifest.sig is missing: nothing says who exported these files (the report "
                    "was made without --key)");
        else
            problem(v, "manifest_signature", F_SIG, 0, NULL, -1, "manifest.sig: %s",
                    strerror(errno));
        goto out;
    }
    unsigned char raw[AUD_SIG_BYTES];
    size_t n = sig.len;
    if (n == 0 || sig.data[n - 1] != '\n' || b64_exact(sig.data, n - 1, raw, sizeof(raw)) != 0) {
        problem(v, "manifest_signature", F_SIG, 1, NULL, -1,
                "manifest.sig is not one line of base64 holding a 64-byte Ed25519 signature");
        goto out;
    }
    aud_key_t *k = pinned_key(v, key_id);
    if (!k) {
        problem(v, "manifest_key", F_MANIFEST, 0, NULL, -1,
                "manifest.json names key %s, which is not one of the --pubkey keys", key_id);
        goto out;
    }
    if (aud_key_verify(k, manifest->data, manifest->len, raw) != 0)
        problem(v, "manifest_signature", F_SIG, 1, NULL, -1,
                "manifest.sig does not verify over manifest.json with key %s: the manifest was "
                "altered, or signed by another key",
                key_id);
out:
    cmn_buf_free(&sig);
}

/* Reads and checks manifest.json and its signature, and lists what it hashes. The files
 * themselves are hashed by check_files (events.jsonl during the pass). */
static void load_manifest(rv_t *v)
{
    v->events_listed = -1;
    cmn_buf_t m;
    cmn_buf_init(&m, AUD_REPORT_VERIFY_MAX_MANIFEST);
    json_t *root = NULL;
    if (read_whole(v->o->dir, F_MANIFEST, &m) != 0) {
        problem(v, "manifest", F_MANIFEST, 0, NULL, -1, "manifest.json: %s", strerror(errno));
        goto out;
    }
    json_error_t je;
    root = json_loadb(m.data ? m.data : "", m.len, JSON_REJECT_DUPLICATES, &je);
    json_t *files = json_object_get(root, "files");
    json_t *format = json_object_get(root, "format");
    const char *key_id = json_string_value(json_object_get(root, "key_id"));
    if (!root || !json_is_object(files) || !json_is_integer(format) ||
        !json_is_string(json_object_get(root, "generated")) || !key_id ||
        json_object_size(root) != 4) {
        problem(
            v, "manifest", F_MANIFEST, root ? 0 : je.line, NULL, -1,
            "manifest.json is not {\"files\":{…},\"format\":1,\"generated\":…,\"key_id\":…}%s%s",
            root ? "" : ": ", root ? "" : je.text);
        goto out;
    }
    if (json_integer_value(format) != 1) {
        problem(v, "manifest", F_MANIFEST, 0, NULL, -1,
                "manifest.json has format %lld; this hubgate reads format 1",
                (long long)json_integer_value(format));
        goto out;
    }
    snprintf(v->r->manifest_key_id, sizeof(v->r->manifest_key_id), "%s", key_id);
    const char *name;
    json_t *val;
    json_object_foreach(files, name, val)
    {
        unsigned char h[AUD_HASH_BYTES];
        if (!safe_file_name(name) || strcmp(name, F_MANIFEST) == 0 || strcmp(name, F_SIG) == 0 ||
            hex32(json_string_value(val), h) != 0) {
            problem(v, "manifest", F_MANIFEST, 0, NULL, -1,
                    "manifest.json lists \"%.80s\" with \"%.80s\": not a file name of the report "
                    "and a SHA-256 in hex",
                    name, json_string_value(val) ? json_string_value(val) : "(not a string)");
            continue;
        }
        if (v->n_listed >= AUD_REPORT_VERIFY_MAX_FILES) {
            problem(v, "manifest", F_MANIFEST, 0, NULL, -1,
                    "manifest.json lists more than %d files", AUD_REPORT_VERIFY_MAX_FILES);
            break;
        }
        snprintf(v->listed[v->n_listed], sizeof(v->listed[0]), "%s", name);
        memcpy(v->listed_hash[v->n_listed], h, AUD_HASH_BYTES);
        if (strcmp(name, F_EVENTS) == 0)
            v->events_listed = (int)v->n_listed;
        v->n_listed++;
    }
    check_manifest_signature(v, &m, key_id);
out:
    json_decref(root);
    cmn_buf_free(&m);
}

/* Every file of DIR must be listed (or be the manifest and its signature); every listed file
 * other than events.jsonl must hash as listed. */
static void check_files(rv_t *v)
{
    const char *dir = v->o->dir;
    int listed_report = 0;
    for (size_t i = 0; i < v->n_listed; i++) {
        if (strcmp(v->listed[i], F_REPORT) == 0)
            listed_report = 1;
        if ((int)i == v->events_listed)
            continue;
        unsigned char h[AUD_HASH_BYTES];
        if (hash_file(v, dir, v->listed[i], h) != 0) {
            problem(v, errno == ENOENT ? "file_missing" : "file_hash", v->listed[i], 0, NULL, -1,
                    "%s is listed in manifest.json but cannot be read: %s", v->listed[i],
                    strerror(errno));
            continue;
        }
        if (memcmp(h, v->listed_hash[i], AUD_HASH_BYTES) != 0) {
            char a[17], b[17];
            problem(v, "file_hash", v->listed[i], 0, NULL, -1,
                    "%s has SHA-256 %s…, but manifest.json says %s…: the file was changed",
                    v->listed[i], short_hex(h, a), short_hex(v->listed_hash[i], b));
        }
    }
    if (v->r->manifest_key_id[0]) {
        if (v->events_listed < 0)
            problem(v, "manifest", F_MANIFEST, 0, NULL, -1, "manifest.json does not list %s",
                    F_EVENTS);
        if (!listed_report)
            problem(v, "manifest", F_MANIFEST, 0, NULL, -1, "manifest.json does not list %s",
                    F_REPORT);
    }
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, F_MANIFEST) == 0 ||
            strcmp(n, F_SIG) == 0)
            continue;
        int found = 0;
        for (size_t i = 0; i < v->n_listed && !found; i++)
            found = strcmp(v->listed[i], n) == 0;
        if (!found)
            problem(v, "file_unlisted", n, 0, NULL, -1,
                    "%.200s is in the report directory but not in manifest.json: nothing vouches "
                    "for it",
                    n);
    }
    closedir(d);
}

/* ---- report.json: period, scope, integrity ---- */

static int parse_report_cp(const json_t *o, rcp_t *cp, int *genesis)
{
    memset(cp, 0, sizeof(*cp));
    *genesis = json_is_true(json_object_get(o, "genesis"));
    json_t *seq = json_object_get(o, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) < 0 ||
        hex32(json_string_value(json_object_get(o, "hash")), cp->hash) != 0)
        return -1;
    cp->seq = json_integer_value(seq);
    if (*genesis)
        return cp->seq == 0 ? 0 : -1;
    const char *ts = json_string_value(json_object_get(o, "ts"));
    const char *kid = json_string_value(json_object_get(o, "key_id"));
    const char *sig = json_string_value(json_object_get(o, "signature"));
    if (!ts || aud_time_parse(ts, strlen(ts), &cp->ts_us) != 0 || !kid ||
        strlen(kid) != AUD_KEY_ID_LEN || !sig ||
        b64_exact(sig, strlen(sig), cp->sig, AUD_SIG_BYTES) != 0)
        return -1;
    memcpy(cp->key_id, kid, AUD_KEY_ID_LEN + 1);
    return 0;
}

/* Checks a start or end checkpoint's signature with the pinned keys. Returns 1 when it holds. */
static int check_report_cp(rv_t *v, sstate_t *s, const rcp_t *cp, const char *which)
{
    aud_key_t *k = pinned_key(v, cp->key_id);
    if (!k) {
        stream_problem(v, s, "checkpoint_key", 0, cp->seq,
                       "the %s checkpoint (seq %lld) is signed by key %s, which is not one of the "
                       "--pubkey keys",
                       which, (long long)cp->seq, cp->key_id);
        return 0;
    }
    aud_checkpoint_t c;
    memset(&c, 0, sizeof(c));
    snprintf(c.stream, sizeof(c.stream), "%s", s->out->name);
    c.seq = cp->seq;
    memcpy(c.hash, cp->hash, AUD_HASH_BYTES);
    c.ts_us = cp->ts_us;
    memcpy(c.key_id, cp->key_id, sizeof(c.key_id));
    memcpy(c.sig, cp->sig, AUD_SIG_BYTES);
    if (aud_checkpoint_verify(&c, k) != 0) {
        stream_problem(v, s, "checkpoint_signature", 0, cp->seq,
                       "the %s checkpoint (seq %lld) has a signature that does not verify with key "
                       "%s: report.json's checkpoint was altered or forged",
                       which, (long long)cp->seq, cp->key_id);
        return 0;
    }
    return 1;
}

static int cmp_state(const void *a, const void *b)
{
    return strcmp(((const sstate_t *)a)->out->name, ((const sstate_t *)b)->out->name);
}

static const fcp_t *fcp_at(rv_t *v, sstate_t *s, int64_t seq, size_t *from)
{
    while (*from < s->fcp_end && v->fcps[*from].seq < seq)
        (*from)++;
    return *from < s->fcp_end && v->fcps[*from].seq == seq ? &v->fcps[*from] : NULL;
}

/* Compares the --checkpoint entries at seq with the chain's hash there. */
static void file_checkpoints_at(rv_t *v, sstate_t *s, int64_t seq, int64_t line,
                                const unsigned char hash[AUD_HASH_BYTES])
{
    const fcp_t *c;
    while ((c = fcp_at(v, s, seq, &s->fcp_next)) != NULL) {
        s->out->file_checkpoints++;
        if (memcmp(c->hash, hash, AUD_HASH_BYTES) != 0) {
            char a[17], b[17];
            s->out->problems++;
            problem(v, "checkpoint_hash", F_EVENTS, line, s->out->name, seq,
                    "the checkpoint of %s line %lld signed hash %s… at seq %lld, but the chain "
                    "recomputed from events.jsonl has %s… there: events up to this seq differ "
                    "from those that were signed",
                    c->file, (long long)c->line, short_hex(c->hash, a), (long long)seq,
                    short_hex(hash, b));
        }
        s->fcp_next++;
    }
}

static int load_report(rv_t *v)
{
    aud_report_verify_result_t *r = v->r;
    cmn_buf_t b;
    cmn_buf_init(&b, AUD_REPORT_VERIFY_MAX_REPORT_JSON);
    json_t *root = NULL;
    int rc = -1;
    if (read_whole(v->o->dir, F_REPORT, &b) != 0) {
        problem(v, "report_json", F_REPORT, 0, NULL, -1, "report.json: %s", strerror(errno));
        goto out;
    }
    json_error_t je;
    root = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        problem(v, "report_json", F_REPORT, je.line, NULL, -1, "report.json is not JSON: %s",
                je.text);
        goto out;
    }
    json_t *period = json_object_get(root, "period");
    const char *from = json_string_value(json_object_get(period, "from"));
    const char *to = json_string_value(json_object_get(period, "to"));
    if (!from || !to || parse_utc(from, &r->from_us) != 0 || parse_utc(to, &r->to_us) != 0 ||
        r->to_us <= r->from_us) {
        problem(v, "report_json", F_REPORT, 0, NULL, -1,
                "report.json's period is not {\"from\": T, \"to\": T} with RFC 3339 UTC times, "
                "from before to");
        goto out;
    }
    json_t *scope = json_object_get(root, "scope");
    json_t *org = json_object_get(scope, "org");
    if (!json_is_object(scope) || (org && !json_is_null(org) && !json_is_string(org)) ||
        (json_is_string(org) && (json_string_length(org) > AUD_CHAIN_MAX_ORG ||
                                 strlen(json_string_value(org)) != json_string_length(org)))) {
        problem(v, "report_json", F_REPORT, 0, NULL, -1,
                "report.json's scope is not {\"org\": null or a name}");
        goto out;
    }
    if (json_is_string(org)) {
        r->scoped = 1;
        snprintf(r->org, sizeof(r->org), "%s", json_string_value(org));
    }
    json_t *integrity = json_object_get(root, "integrity");
    json_t *streams = json_is_array(integrity) ? integrity : json_object_get(integrity, "streams");
    if (!json_is_array(streams) || json_array_size(streams) > AUD_REPORT_VERIFY_MAX_STREAMS) {
        problem(v, "report_json", F_REPORT, 0, NULL, -1,
                "report.json has no integrity section (integrity.streams: one entry per stream "
                "with its start and end checkpoints)");
        goto out;
    }
    size_t n = json_array_size(streams);
    r->streams = calloc(n + 1, sizeof(*r->streams));
    v->ss = calloc(n + 1, sizeof(*v->ss));
    if (!r->streams || !v->ss) {
        problem(v, "report_json", F_REPORT, 0, NULL, -1, "out of memory");
        goto out;
    }
    size_t i;
    json_t *e;
    json_array_foreach(streams, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "stream"));
        json_t *start = json_object_get(e, "start"), *end = json_object_get(e, "end");
        sstate_t *s = &v->ss[r->n_streams];
        aud_report_verify_stream_t *out = &r->streams[r->n_streams];
        int end_genesis = 0;
        if (!name || !aud_stream_name_ok(name) || !json_is_object(start) ||
            (end && !json_is_null(end) && !json_is_object(end)) ||
            parse_report_cp(start, &s->start, &s->genesis) != 0 ||
            (json_is_object(end) &&
             (parse_report_cp(end, &s->end, &end_genesis) != 0 || end_genesis))) {
            problem(v, "report_json", F_REPORT, 0, name && aud_stream_name_ok(name) ? name : NULL,
                    -1,
                    "report.json's integrity entry %zu is not {stream, start: checkpoint or "
                    "genesis, end: checkpoint or null}",
                    i);
            continue;
        }
        for (size_t k = 0; k < r->n_streams; k++) {
            if (strcmp(r->streams[k].name, name) == 0) {
                problem(v, "report_json", F_REPORT, 0, name, -1,
                        "report.json's integrity names stream %s twice", name);
                name = NULL;
                break;
            }
        }
        if (!name)
            continue;
        snprintf(out->name, sizeof(out->name), "%s", name);
        s->out = out;
        s->has_end = json_is_object(end);
        out->start_seq = s->start.seq;
        out->end_seq = s->has_end ? s->end.seq : -1;
        r->n_streams++;
    }
    /* out pointers are stable (r->streams is not moved); sort the states by name */
    qsort(v->ss, r->n_streams, sizeof(sstate_t), cmp_state);
    for (i = 0; i < r->n_streams; i++) {
        sstate_t *s = &v->ss[i];
        const char *name = s->out->name;
        char ts[28];
        if (s->genesis) {
            unsigned char g[AUD_HASH_BYTES];
            aud_chain_genesis(name, g);
            if (memcmp(g, s->start.hash, AUD_HASH_BYTES) != 0)
                stream_problem(v, s, "checkpoint_hash", 0, 0,
                               "the start is said to be the stream's genesis, but its hash is not "
                               "the genesis of stream %s",
                               name);
        } else if (check_report_cp(v, s, &s->start, "start") && s->start.ts_us > r->from_us) {
            aud_time_format(s->start.ts_us, ts);
            stream_problem(v, s, "checkpoint_period", 0, s->start.seq,
                           "the start checkpoint (seq %lld) was signed at %s, after the period's "
                           "start: events before it in the period would not be proven",
                           (long long)s->start.seq, ts);
        }
        if (!s->has_end) {
            stream_problem(v, s, "incomplete", 0, -1,
                           "no checkpoint signed at or after the period's end: the period cannot "
                           "be proven complete for stream %s",
                           name);
        } else {
            if (check_report_cp(v, s, &s->end, "end") && s->end.ts_us < r->to_us) {
                aud_time_format(s->end.ts_us, ts);
                stream_problem(v, s, "checkpoint_period", 0, s->end.seq,
                               "the end checkpoint (seq %lld) was signed at %s, before the "
                               "period's end: events after it in the period would not be proven",
                               (long long)s->end.seq, ts);
            }
            if (s->end.seq < s->start.seq)
                stream_problem(v, s, "checkpoint_period", 0, s->end.seq,
                               "the end checkpoint (seq %lld) comes before the start (seq %lld)",
                               (long long)s->end.seq, (long long)s->start.seq);
        }
        s->next_seq = s->start.seq + 1;
        memcpy(s->head, s->start.hash, AUD_HASH_BYTES);
        /* this stream's --checkpoint entries; the one at the start seq names the start hash */
        size_t lo = 0;
        while (lo < v->n_fcps && strcmp(v->fcps[lo].stream, name) < 0)
            lo++;
        size_t hi = lo;
        while (hi < v->n_fcps && strcmp(v->fcps[hi].stream, name) == 0)
            hi++;
        s->fcp_next = lo;
        s->fcp_end = hi;
        file_checkpoints_at(v, s, s->start.seq, 0, s->start.hash);
    }
    rc = 0;
out:
    json_decref(root);
    cmn_buf_free(&b);
    return rc;
}

/* Streams that the --checkpoint files show active in the period must be in the report. */
static void check_missing_streams(rv_t *v)
{
    const aud_report_verify_result_t *r = v->r;
    for (size_t i = 0; i < v->n_fcps;) {
        size_t j = i;
        int64_t before_seq = -1, after_seq = -1;
        int inside = 0;
        for (; j < v->n_fcps && strcmp(v->fcps[j].stream, v->fcps[i].stream) == 0; j++) {
            const fcp_t *c = &v->fcps[j];
            if (c->ts_us >= r->from_us && c->ts_us < r->to_us)
                inside = 1;
            else if (c->ts_us < r->from_us && c->seq > before_seq)
                before_seq = c->seq;
            else if (c->ts_us >= r->to_us && (after_seq < 0 || c->seq < after_seq))
                after_seq = c->seq;
        }
        int active = inside || (before_seq >= 0 && after_seq > before_seq);
        int found = 0;
        for (size_t k = 0; k < r->n_streams && !found; k++)
            found = strcmp(r->streams[k].name, v->fcps[i].stream) == 0;
        if (active && !found)
            problem(v, "stream_missing", v->fcps[i].file, v->fcps[i].line, v->fcps[i].stream, -1,
                    "the checkpoint file shows stream %s writing events in the period, but the "
                    "report has no such stream: its events were left out",
                    v->fcps[i].stream);
        i = j;
    }
}

/* ---- step 2 and 3: events.jsonl ---- */

static int lit(const char **p, const char *end, const char *w, size_t n)
{
    if ((size_t)(end - *p) < n || memcmp(*p, w, n) != 0)
        return -1;
    *p += n;
    return 0;
}

#define LIT(p, end, w) lit(p, end, w, sizeof(w) - 1)

static int hex_field(const char **p, const char *end, unsigned char out[AUD_HASH_BYTES])
{
    if ((size_t)(end - *p) < HEX_LEN + 2 || (*p)[0] != '"' || (*p)[HEX_LEN + 1] != '"' ||
        aud_unhex(*p + 1, HEX_LEN, out, AUD_HASH_BYTES) != 0)
        return -1;
    *p += HEX_LEN + 2;
    return 0;
}

static int int_field(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    int64_t x = 0;
    size_t nd = 0;
    while (s + nd < end && s[nd] >= '0' && s[nd] <= '9' && nd < 16)
        x = x * 10 + (s[nd++] - '0');
    if (nd == 0 || (s[0] == '0' && nd > 1) || (s + nd < end && s[nd] >= '0' && s[nd] <= '9'))
        return -1;
    *out = x;
    *p += nd;
    return 0;
}

static int utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        x = x << 4 | (uint32_t)d;
    }
    *out = x;
    return 0;
}

/* Decodes the JSON string at *p into dst (capacity: the string's encoded length). Any JSON
 * escape is accepted: what the bytes must be is checked afterwards (the event re-encodes the
 * same, the org hashes into the chain). */
static int string_field(const char **p, const char *end, char *dst, size_t *outlen)
{
    const char *s = *p;
    if (s >= end || *s != '"')
        return -1;
    s++;
    size_t n = 0;
    for (;;) {
        const char *q = s;
        while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
            q++;
        memcpy(dst + n, s, (size_t)(q - s));
        n += (size_t)(q - s);
        s = q;
        if (s >= end || (unsigned char)*s < 0x20)
            return -1;
        if (*s == '"')
            break;
        if (end - s < 2)
            return -1;
        char e = s[1];
        s += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            dst[n++] = e;
            break;
        case 'b':
            dst[n++] = '\b';
            break;
        case 'f':
            dst[n++] = '\f';
            break;
        case 'n':
            dst[n++] = '\n';
            break;
        case 'r':
            dst[n++] = '\r';
            break;
        case 't':
            dst[n++] = '\t';
            break;
        case 'u': {
            uint32_t cp, lo;
            if (end - s < 4 || hex4(s, &cp) != 0)
                return -1;
            s += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (end - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) != 0 ||
                    lo < 0xdc00 || lo >= 0xe000)
                    return -1;
                s += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return -1;
            }
            n += (size_t)utf8_put(dst + n, cp);
            break;
        }
        default:
            return -1;
        }
    }
    *p = s + 1;
    *outlen = n;
    return 0;
}

static int stream_field(const char **p, const char *end, char out[AUD_STREAM_MAX + 1])
{
    const char *s = *p;
    if (s >= end || *s != '"')
        return -1;
    const char *q = memchr(s + 1, '"', (size_t)(end - s - 1));
    if (!q || q - s - 1 > AUD_STREAM_MAX || q - s - 1 < 1)
        return -1;
    memcpy(out, s + 1, (size_t)(q - s - 1));
    out[q - s - 1] = '\0';
    if (!aud_stream_name_ok(out))
        return -1;
    *p = q + 1;
    return 0;
}

/* Parses one line of events.jsonl in exactly one of its two forms (keys sorted, no
 * whitespace). Returns 0 or -1 with what was expected in *why. */
static int parse_line(rv_t *v, const char *s, size_t n, line_t *l, const char **why)
{
    const char *p = s, *end = s + n;
    memset(l, 0, offsetof(line_t, text));
    if (v->decode_cap < n) {
        char *d = realloc(v->decode, n);
        if (!d) {
            *why = "out of memory";
            return -1;
        }
        v->decode = d;
        v->decode_cap = n;
    }
    l->text = v->decode;
    if (LIT(&p, end, "{\"canonical\":") == 0) {
        *why = "\"canonical\" (a JSON string)";
        if (string_field(&p, end, l->text, &l->text_len) != 0)
            return -1;
        *why = "\"chain\": 1 or 2";
        if (LIT(&p, end, ",\"chain\":") != 0 || p >= end || (*p != '1' && *p != '2'))
            return -1;
        l->chain = *p++ - '0';
        *why = "\"hash\" (64 hex digits)";
        if (LIT(&p, end, ",\"hash\":") != 0 || hex_field(&p, end, l->hash) != 0)
            return -1;
        *why = "\"in_period\": true or false";
        if (LIT(&p, end, ",\"in_period\":") != 0)
            return -1;
        if (LIT(&p, end, "true") == 0)
            l->in_period = 1;
        else if (LIT(&p, end, "false") != 0)
            return -1;
    } else if (LIT(&p, end, "{\"chain\":2,\"commitment\":") == 0) {
        l->hidden = 1;
        l->chain = 2;
        *why = "\"commitment\" (64 hex digits)";
        if (hex_field(&p, end, l->commitment) != 0)
            return -1;
        *why = "\"hash\" (64 hex digits)";
        if (LIT(&p, end, ",\"hash\":") != 0 || hex_field(&p, end, l->hash) != 0)
            return -1;
        *why = "\"hidden\":true then \"org\" (a JSON string)";
        if (LIT(&p, end, ",\"hidden\":true,\"org\":") != 0 ||
            string_field(&p, end, l->text, &l->text_len) != 0 || l->text_len > AUD_CHAIN_MAX_ORG)
            return -1;
    } else {
        *why = "{\"canonical\":… (an event shown whole) or {\"chain\":2,\"commitment\":… (an "
               "event shown hidden)";
        return -1;
    }
    *why = "\"prev_hash\" (64 hex digits)";
    if (LIT(&p, end, ",\"prev_hash\":") != 0 || hex_field(&p, end, l->prev) != 0)
        return -1;
    *why = "\"seq\" (a positive integer)";
    if (LIT(&p, end, ",\"seq\":") != 0 || int_field(&p, end, &l->seq) != 0 || l->seq < 1)
        return -1;
    *why = "\"stream\" (a stream name) and the end of the object";
    if (LIT(&p, end, ",\"stream\":") != 0 || stream_field(&p, end, l->stream) != 0 ||
        LIT(&p, end, "}") != 0 || p != end)
        return -1;
    return 0;
}

static sstate_t *find_state(rv_t *v, const char *name)
{
    size_t lo = 0, hi = v->r->n_streams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, v->ss[mid].out->name);
        if (c == 0)
            return &v->ss[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static int is_global_kind(aud_kind_t kind)
{
    const char *k = aud_kind_name(kind);
    for (size_t i = 0; k && i < sizeof(GLOBAL_KINDS) / sizeof(GLOBAL_KINDS[0]); i++)
        if (strcmp(k, GLOBAL_KINDS[i]) == 0)
            return 1;
    return 0;
}

/* Step 3 for an event shown whole. */
static void check_whole(rv_t *v, sstate_t *s, const line_t *l, int64_t lineno)
{
    const aud_report_verify_result_t *r = v->r;
    char why[200];
    if (aud_event_parse(&v->parsed, l->text, l->text_len, why, sizeof(why)) != 0) {
        stream_problem(v, s, "noncanonical", lineno, l->seq,
                       "event seq %lld is not a canonical hubgate event (%s)", (long long)l->seq,
                       why);
        return;
    }
    cmn_buf_clear(&v->enc);
    if (aud_event_encode(&v->parsed.ev, &v->enc) != 0 || v->enc.len != l->text_len ||
        memcmp(v->enc.data, l->text, l->text_len) != 0) {
        stream_problem(v, s, "noncanonical", lineno, l->seq,
                       "event seq %lld does not re-encode to the same bytes", (long long)l->seq);
        return;
    }
    const aud_event_t *ev = &v->parsed.ev;
    int version = aud_chain_version(l->text, l->text_len);
    if (l->chain != version)
        stream_problem(v, s, "chain_version", lineno, l->seq,
                       "event seq %lld says \"chain\":%d, but its canonical text is of chain %d",
                       (long long)l->seq, l->chain, version);
    int in = ev->ts_us >= r->from_us && ev->ts_us < r->to_us;
    if (in != l->in_period) {
        char ts[28];
        aud_time_format(ev->ts_us, ts);
        stream_problem(v, s, "in_period", lineno, l->seq,
                       "event seq %lld has ts %s, %s the period, but says \"in_period\":%s",
                       (long long)l->seq, ts, in ? "inside" : "outside",
                       l->in_period ? "true" : "false");
    }
    if (r->scoped && version == 2) {
        const char *org = ev->decision.org ? ev->decision.org : "";
        if (strcmp(org, r->org) != 0 && (org[0] || !is_global_kind(ev->kind)))
            stream_problem(v, s, "disclosed", lineno, l->seq,
                           "event seq %lld (org \"%.60s\", kind %s) is shown whole in a report "
                           "scoped to org \"%.60s\": it should be hidden",
                           (long long)l->seq, org, aud_kind_name(ev->kind), r->org);
    }
    if (in) {
        s->out->in_period++;
        if (!r->scoped && s->pending_hidden_line) {
            stream_problem(v, s, "hidden_in_period", s->pending_hidden_line, s->pending_hidden_seq,
                           "event seq %lld is hidden, but lies between events of the period "
                           "(seq %lld is in it): a report of every org shows those whole",
                           (long long)s->pending_hidden_seq, (long long)l->seq);
            s->pending_hidden_line = 0;
        }
        s->saw_in_period = 1;
    }
}

static void check_hidden(rv_t *v, sstate_t *s, const line_t *l, int64_t lineno)
{
    const aud_report_verify_result_t *r = v->r;
    if (r->scoped && l->text_len == strlen(r->org) && memcmp(l->text, r->org, l->text_len) == 0)
        stream_problem(v, s, "hidden_own_org", lineno, l->seq,
                       "event seq %lld of org \"%.60s\" is hidden in a report of that org: it "
                       "must be shown whole",
                       (long long)l->seq, r->org);
    if (!r->scoped && s->saw_in_period && !s->pending_hidden_line) {
        s->pending_hidden_line = lineno;
        s->pending_hidden_seq = l->seq;
    }
}

static void check_line(rv_t *v, const char *text, size_t n, int64_t lineno)
{
    line_t l;
    const char *why = "";
    v->r->events++;
    if (parse_line(v, text, n, &l, &why) != 0) {
        problem(v, "line", F_EVENTS, lineno, NULL, -1,
                "line %lld is not an events.jsonl line: expected %s", (long long)lineno, why);
        return;
    }
    sstate_t *s = find_state(v, l.stream);
    if (!s) {
        problem(v, "stream_unknown", F_EVENTS, lineno, l.stream, l.seq,
                "event seq %lld is of stream %s, which report.json's integrity section does not "
                "name: nothing proves it",
                (long long)l.seq, l.stream);
        return;
    }
    s->out->events++;
    if (l.hidden)
        s->out->hidden++;
    else
        s->out->whole++;
    if (s->has_end && l.seq > s->end.seq) {
        stream_problem(v, s, "beyond_end", lineno, l.seq,
                       "event seq %lld comes after the end checkpoint (seq %lld): it was added",
                       (long long)l.seq, (long long)s->end.seq);
        return;
    }
    if (l.seq < s->next_seq) {
        stream_problem(v, s, "out_of_order", lineno, l.seq,
                       "event seq %lld comes after seq %lld: an event was added, repeated or "
                       "moved",
                       (long long)l.seq, (long long)(s->next_seq - 1));
        return;
    }
    const unsigned char *prev = s->head;
    if (l.seq > s->next_seq) {
        stream_problem(v, s, "deleted", lineno, s->next_seq,
                       l.seq - s->next_seq == 1
                           ? "event seq %lld is missing: the line has seq %lld"
                           : "events from seq %lld are missing: the line has seq %lld",
                       (long long)s->next_seq, (long long)l.seq);
        prev = l.prev; /* resynchronise */
    } else if (memcmp(l.prev, s->head, AUD_HASH_BYTES) != 0) {
        char a[17], b[17];
        stream_problem(v, s, "chain_break", lineno, l.seq,
                       "event seq %lld has prev_hash %s…, but the chain has %s… before it: an "
                       "event before it was removed, added or replaced",
                       (long long)l.seq, short_hex(l.prev, a), short_hex(s->head, b));
        prev = l.prev;
    }
    unsigned char h[AUD_HASH_BYTES];
    int rc = l.hidden ? aud_chain_next_v2(&v->hasher, prev, l.text, l.text_len, l.commitment, h)
                      : aud_chain_next(&v->hasher, prev, l.text, l.text_len, h);
    if (rc != 0 || memcmp(h, l.hash, AUD_HASH_BYTES) != 0)
        stream_problem(v, s, "modified", lineno, l.seq,
                       "event seq %lld does not hash to its hash: %s", (long long)l.seq,
                       l.hidden ? "its org or commitment was altered" : "its content was altered");
    file_checkpoints_at(v, s, l.seq, lineno, h);
    memcpy(s->head, rc == 0 && memcmp(h, l.hash, AUD_HASH_BYTES) == 0 ? h : l.hash, AUD_HASH_BYTES);
    s->next_seq = l.seq + 1;
    if (l.hidden)
        check_hidden(v, s, &l, lineno);
    else
        check_whole(v, s, &l, lineno);
}

/* Reads events.jsonl line by line, hashing the file as it goes. */
static void read_events(rv_t *v)
{
    int fd = open_in(v->o->dir, F_EVENTS);
    if (fd < 0) {
        problem(v, errno == ENOENT ? "file_missing" : "file_hash", F_EVENTS, 0, NULL, -1,
                "events.jsonl cannot be read: %s", strerror(errno));
        return;
    }
    EVP_MD_CTX *fctx = EVP_MD_CTX_new();
    size_t cap = READ_CHUNK, len = 0, at = 0;
    char *buf = malloc(cap);
    int64_t lineno = 0;
    int ok = fctx && buf && EVP_DigestInit_ex(fctx, EVP_sha256(), NULL) == 1;
    int eof = 0;
    while (ok && !eof) {
        /* keep the partial line, read more behind it */
        if (at > 0) {
            memmove(buf, buf + at, len - at);
            len -= at;
            at = 0;
        }
        if (len == cap) {
            if (cap >= (size_t)AUD_REPORT_VERIFY_MAX_LINE + READ_CHUNK) {
                problem(v, "line", F_EVENTS, lineno + 1, NULL, -1,
                        "line %lld is longer than %d bytes", (long long)(lineno + 1),
                        AUD_REPORT_VERIFY_MAX_LINE);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            problem(v, "file_hash", F_EVENTS, lineno, NULL, -1, "events.jsonl: %s",
                    strerror(errno));
            ok = 0;
            break;
        }
        if (n == 0) {
            eof = 1;
        } else {
            EVP_DigestUpdate(fctx, buf + len, (size_t)n);
            len += (size_t)n;
        }
        for (;;) {
            char *nl = memchr(buf + at, '\n', len - at);
            if (!nl)
                break;
            check_line(v, buf + at, (size_t)(nl - (buf + at)), ++lineno);
            at = (size_t)(nl - buf) + 1;
        }
        if (eof && at < len)
            problem(v, "line", F_EVENTS, lineno + 1, NULL, -1,
                    "the last line of events.jsonl has no newline: the file was cut");
    }
    unsigned char h[AUD_HASH_BYTES];
    unsigned int hl = 0;
    if (ok && eof && v->events_listed >= 0 && EVP_DigestFinal_ex(fctx, h, &hl) == 1 &&
        memcmp(h, v->listed_hash[v->events_listed], AUD_HASH_BYTES) != 0) {
        char a[17], b[17];
        problem(v, "file_hash", F_EVENTS, 0, NULL, -1,
                "events.jsonl has SHA-256 %s…, but manifest.json says %s…: the file was changed",
                short_hex(h, a), short_hex(v->listed_hash[v->events_listed], b));
    }
    if (!buf || !fctx)
        problem(v, "file_hash", F_EVENTS, 0, NULL, -1, "out of memory");
    EVP_MD_CTX_free(fctx);
    free(buf);
    close(fd);
}

/* After the last line: each stream must have reached its end checkpoint, exactly. */
static void finish_streams(rv_t *v)
{
    for (size_t i = 0; i < v->r->n_streams; i++) {
        sstate_t *s = &v->ss[i];
        if (!s->has_end)
            continue;
        int64_t last = s->next_seq - 1;
        if (last < s->end.seq) {
            stream_problem(v, s, "truncated", 0, last + 1,
                           "events.jsonl stops at seq %lld of stream %s, but the end checkpoint "
                           "is at seq %lld: events %lld..%lld are missing",
                           (long long)last, s->out->name, (long long)s->end.seq,
                           (long long)(last + 1), (long long)s->end.seq);
        } else if (memcmp(s->head, s->end.hash, AUD_HASH_BYTES) != 0) {
            char a[17], b[17];
            stream_problem(v, s, "end_hash", 0, s->end.seq,
                           "the chain recomputed from events.jsonl has %s… at seq %lld, but the "
                           "end checkpoint signed %s…: the events differ from those written",
                           short_hex(s->head, a), (long long)s->end.seq, short_hex(s->end.hash, b));
        }
    }
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int aud_report_verify_run(const aud_report_verify_options_t *o, aud_report_verify_result_t *r,
                          char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    rv_t v;
    memset(&v, 0, sizeof(v));
    v.o = o;
    v.r = r;
    cmn_buf_init(&v.enc, AUD_MAX_EVENT_BYTES);
    int64_t t0 = mono_us();
    int rc = 0;
    struct stat st;
    if (!o->dir || stat(o->dir, &st) != 0) {
        set_err(err, errlen, "%s: %s", o->dir ? o->dir : "(no directory)",
                o->dir ? strerror(errno) : "missing");
        rc = CMN_ERR_IO;
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "%s: not a directory", o->dir);
        rc = CMN_ERR_IO;
        goto out;
    }
    if (aud_hasher_init(&v.hasher) != 0) {
        set_err(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
    if ((rc = load_keys(&v, err, errlen)) != 0 || (rc = load_checkpoint_files(&v, err, errlen)))
        goto out;
    load_manifest(&v);
    check_files(&v);
    if (load_report(&v) == 0) {
        read_events(&v);
        finish_streams(&v);
        check_missing_streams(&v);
    } else if (v.events_listed >= 0) {
        /* still say whether events.jsonl is the file the manifest lists */
        unsigned char h[AUD_HASH_BYTES];
        if (hash_file(&v, o->dir, F_EVENTS, h) != 0 ||
            memcmp(h, v.listed_hash[v.events_listed], AUD_HASH_BYTES) != 0)
            problem(&v, "file_hash", F_EVENTS, 0, NULL, -1,
                    "events.jsonl does not have the SHA-256 manifest.json lists");
    }
    r->ok = r->total_problems == 0;
out:
    r->seconds = (double)(mono_us() - t0) / 1e6;
    for (size_t i = 0; i < v.n_keys; i++)
        aud_key_free(v.keys[i].key);
    free(v.fcps);
    free(v.ss);
    free(v.decode);
    cmn_buf_free(&v.enc);
    aud_parsed_free(&v.parsed);
    aud_hasher_free(&v.hasher);
    if (rc)
        r->ok = 0;
    return rc;
}

void aud_report_verify_result_free(aud_report_verify_result_t *r)
{
    if (!r)
        return;
    free(r->streams);
    r->streams = NULL;
    r->n_streams = 0;
}

/* ---- output ---- */

static void print_problem(const aud_report_verify_problem_t *p, FILE *out)
{
    fprintf(out, "  %s", p->file[0] ? p->file : "-");
    if (p->line > 0)
        fprintf(out, ":%lld", (long long)p->line);
    if (p->stream[0])
        fprintf(out, ": stream %s", p->stream);
    if (p->seq >= 0)
        fprintf(out, " seq %lld", (long long)p->seq);
    fprintf(out, ": %s: %s", p->code, p->message);
    if (p->count > 1)
        fprintf(out, " (and %zu more of this kind)", p->count - 1);
    fputc('\n', out);
}

void aud_report_verify_print_text(const aud_report_verify_result_t *r, FILE *out)
{
    for (size_t i = 0; i < r->n_streams; i++) {
        const aud_report_verify_stream_t *s = &r->streams[i];
        fprintf(out, "stream %s: seq %lld..", s->name, (long long)s->start_seq);
        if (s->end_seq >= 0)
            fprintf(out, "%lld", (long long)s->end_seq);
        else
            fprintf(out, "(no end checkpoint)");
        fprintf(out, ", %lld events (%lld in the period, %lld hidden)", (long long)s->events,
                (long long)s->in_period, (long long)s->hidden);
        if (s->file_checkpoints)
            fprintf(out, ", %lld checkpoints of --checkpoint files matched",
                    (long long)s->file_checkpoints);
        fprintf(out, ": %s\n", s->problems ? "FAILED" : "ok");
    }
    for (size_t i = 0; i < r->n_problems; i++)
        print_problem(&r->problems[i], out);
    double rate = r->seconds > 0 ? (double)r->events / r->seconds : 0;
    if (r->ok) {
        fprintf(out,
                "report verify: OK: %zu streams, %lld events in %.2f s (%.0f events/s); the "
                "manifest is signed by key %s\n",
                r->n_streams, (long long)r->events, r->seconds, rate, r->manifest_key_id);
    } else if (r->n_problems) {
        const aud_report_verify_problem_t *p = &r->problems[0];
        fprintf(out, "report verify: FAILED: %zu problems; first: %s", r->total_problems,
                p->file[0] ? p->file : "-");
        if (p->line > 0)
            fprintf(out, " line %lld", (long long)p->line);
        if (p->stream[0])
            fprintf(out, " stream %s", p->stream);
        if (p->seq >= 0)
            fprintf(out, " seq %lld", (long long)p->seq);
        fprintf(out, ": %s\n", p->code);
    } else {
        fprintf(out, "report verify: FAILED\n");
    }
}

static json_t *problem_json(const aud_report_verify_problem_t *p)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:I}", "problem", p->code, "file", p->file,
                     "line", p->line > 0 ? json_integer(p->line) : json_null(), "stream",
                     p->stream[0] ? json_string(p->stream) : json_null(), "seq",
                     p->seq >= 0 ? json_integer(p->seq) : json_null(), "message", p->message,
                     "count", (json_int_t)p->count);
}

void aud_report_verify_print_json(const aud_report_verify_result_t *r, FILE *out)
{
    json_t *streams = json_array(), *problems = json_array();
    for (size_t i = 0; i < r->n_streams; i++) {
        const aud_report_verify_stream_t *s = &r->streams[i];
        json_array_append_new(
            streams, json_pack("{s:s, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "stream", s->name,
                               "start_seq", (json_int_t)s->start_seq, "end_seq",
                               s->end_seq >= 0 ? json_integer(s->end_seq) : json_null(), "events",
                               (json_int_t)s->events, "whole", (json_int_t)s->whole, "hidden",
                               (json_int_t)s->hidden, "in_period", (json_int_t)s->in_period,
                               "file_checkpoints", (json_int_t)s->file_checkpoints, "problems",
                               (json_int_t)s->problems));
    }
    for (size_t i = 0; i < r->n_problems; i++)
        json_array_append_new(problems, problem_json(&r->problems[i]));
    char from[28] = "", to[28] = "";
    if (r->to_us > r->from_us) {
        aud_time_format(r->from_us, from);
        aud_time_format(r->to_us, to);
    }
    json_t *o = json_pack(
        "{s:b, s:I, s:f, s:f, s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:o, s:I}", "ok", r->ok, "events",
        (json_int_t)r->events, "seconds", r->seconds, "events_per_second",
        r->seconds > 0 ? (double)r->events / r->seconds : 0.0, "period", "from", from, "to", to,
        "org", r->scoped ? json_string(r->org) : json_null(), "manifest_key_id",
        r->manifest_key_id[0] ? json_string(r->manifest_key_id) : json_null(), "streams", streams,
        "first_problem", r->n_problems ? problem_json(&r->problems[0]) : json_null(), "problems",
        problems, "problems_total", (json_int_t)r->total_problems);
    json_dumpf(o, out, JSON_COMPACT);
    fputc('\n', out);
    json_decref(o);
}
