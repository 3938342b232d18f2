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
#include "audit/report_line.h"
#include "audit/report_stats.h"
#include "common/clock.h"
#include "common/sha256.h"
#include "common/buf.h"
#include "common/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
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
    int64_t next_seq;                        /* the seq the next line must have */
    unsigned char head[AUD_HASH_BYTES];      /* the hash at next_seq - 1 */
    int64_t gap_line, gap_expected, gap_seq; /* a seq skipped at gap_line, not yet reported */
    int saw_in_period;
    int64_t pending_hidden_line, pending_hidden_seq; /* a hidden line after an in-period one */
    size_t fcp_next, fcp_end;                        /* this stream's --checkpoint entries */
} sstate_t;

/* What a worker finds in one line of events.jsonl: everything that depends on the line alone.
 * The sequencer then checks, in line order, what depends on the lines before it. */
typedef struct {
    const char *bad_line; /* NULL, or what the line lacks (static) */
    int hidden, chain, in_period_flag;
    int64_t seq;
    char stream[AUD_STREAM_MAX + 1];
    unsigned char hash[AUD_HASH_BYTES], prev[AUD_HASH_BYTES];
    unsigned char computed[AUD_HASH_BYTES]; /* the hash recomputed after the stated prev_hash */
    int computed_ok;
    int noncanonical; /* whole: it does not parse as a canonical event (why) */
    int version;      /* whole: the chain its text names */
    int in_period;    /* whole: ts in [from, to) */
    int64_t ts_us;
    int disclosed;    /* whole, org-scoped report: another org's v2 event (org in why) */
    int own_org;      /* hidden, org-scoped report: of the report's org */
    const char *kind; /* whole: its kind (static) */
    int in_scope; /* whole: counted in report.json (audit/report_stats.h); the event as parsed is
                     the batch's parsed[i] */
    char why[160];
} res_t;

typedef struct {
    const aud_report_verify_options_t *o;
    aud_report_verify_result_t *r;
    keyref_t keys[AUD_REPORT_VERIFY_MAX_KEYS];
    size_t n_keys;
    fcp_t *fcps;
    size_t n_fcps;
    sstate_t *ss;
    aud_hasher_t hasher;
    int64_t lines; /* of events.jsonl, sequenced */
    /* step 4: the counts recomputed from the events in scope, compared with report.json's */
    json_t *report_json;
    aud_report_stats_t *stats;
    int stats_failed;
    /* manifest */
    char listed[AUD_REPORT_VERIFY_MAX_FILES][128];
    unsigned char listed_hash[AUD_REPORT_VERIFY_MAX_FILES][AUD_HASH_BYTES];
    size_t n_listed;
    int events_listed; /* index in listed, -1: not listed */
    int manifest_read; /* manifest.json has the manifest's shape */
} rv_t;

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
    cmn_hex(h, 8, out);
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
        cmn_errf(err, errlen,
                "at least one --pubkey is needed: the keys you trust to have signed "
                "the checkpoints and the manifest");
        return CMN_ERR_INVAL;
    }
    if (v->o->n_pubkeys > AUD_REPORT_VERIFY_MAX_KEYS) {
        cmn_errf(err, errlen, "more than %d --pubkey files", AUD_REPORT_VERIFY_MAX_KEYS);
        return CMN_ERR_INVAL;
    }
    for (size_t i = 0; i < v->o->n_pubkeys; i++) {
        char why[300];
        aud_key_t *k = aud_key_load(v->o->pubkey_files[i], why, sizeof(why));
        if (!k) {
            cmn_errf(err, errlen, "--pubkey %s", why);
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
            cmn_errf(err, errlen, "--checkpoint %s: %s", path, strerror(errno));
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
                cmn_errf(err, errlen, "--checkpoint %s:%lld: not a checkpoint: %s", path,
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
                    cmn_errf(err, errlen, "--checkpoint files hold more than %d checkpoints",
                            AUD_REPORT_VERIFY_MAX_FILE_CPS);
                    rc = CMN_ERR_TOOBIG;
                    break;
                }
                cap = cap ? cap * 2 : 1024;
                fcp_t *nc = realloc(v->fcps, cap * sizeof(*nc));
                if (!nc) {
                    cmn_errf(err, errlen, "out of memory");
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
        problem(v, "manifest_signature", F_MANIFEST, 0, NULL, -1,
                "manifest.sig does not verify over manifest.json with key %s: manifest.json or "
                "manifest.sig was altered, or another key signed it",
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
    /* key_id is absent from the manifest of a report exported without --key */
    json_t *kid = json_object_get(root, "key_id");
    const char *key_id = json_string_value(kid);
    if (!root || !json_is_object(files) || !json_is_integer(format) ||
        !json_is_string(json_object_get(root, "generated")) || (kid && !key_id) ||
        json_object_size(root) != (key_id ? 4u : 3u)) {
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
    snprintf(v->r->manifest_key_id, sizeof(v->r->manifest_key_id), "%s", key_id ? key_id : "");
    v->manifest_read = 1;
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
    if (key_id)
        check_manifest_signature(v, &m, key_id);
    else
        problem(v, "manifest_unsigned", F_MANIFEST, 0, NULL, -1,
                "manifest.json names no key and is not signed: nothing says who exported these "
                "files (the report was made without --key)");
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
            char a[2 * AUD_HASH_BYTES + 1], b[2 * AUD_HASH_BYTES + 1];
            cmn_hex(h, AUD_HASH_BYTES, a);
            cmn_hex(v->listed_hash[i], AUD_HASH_BYTES, b);
            problem(v, "file_hash", v->listed[i], 0, NULL, -1,
                    "%s has SHA-256 %s, but manifest.json says %s: the file was changed",
                    v->listed[i], a, b);
        }
    }
    if (v->manifest_read) {
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
    /* step 4: the same accumulator as report soc2's, fed the whole events in scope */
    v->stats = aud_report_stats_create(r->from_us, r->to_us, r->scoped ? r->org : NULL);
    if (!v->stats)
        problem(v, "count", F_REPORT, 0, NULL, -1,
                "report.json's counts cannot be recounted: the period is longer than %d days",
                AUD_REPORT_MAX_DAYS);
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
    if (r->n_streams > 1)
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
    v->report_json = root; /* kept for step 4 */
    root = NULL;
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

/* ---- step 2 and 3: events.jsonl ----
 *
 * A pipeline, so that a large report verifies at the speed of the machine's cores: the main
 * thread reads the file in batches of whole lines (and hashes it for the manifest), workers
 * check each batch's lines on their own (decode, parse, re-encode, recompute the hash after the
 * line's prev_hash), and the main thread then sequences the results in line order (seqs,
 * links, end checkpoints, problems). Batches in flight are bounded: memory stays flat. */

#define BATCH_BYTES (1 << 20)
#define MAX_WORKERS 16

enum { B_FREE, B_FILLED, B_TAKEN, B_DONE };

typedef struct {
    char *buf;
    size_t len, cap; /* buf[0..len) holds whole lines, each ending with '\n' */
    res_t *res;
    size_t n_res, res_cap;
    int short_of_memory;   /* the worker could not hold a result for every line */
    aud_parsed_t **parsed; /* per line: the event as the worker parsed it, for step 4 (each
allocated once: its event points into itself) */
    int state;
} batch_t;

struct pipe;

typedef struct {
    struct pipe *p;
    pthread_t thread;
    int started;
    aud_hasher_t hasher;
    char *decode;
    size_t decode_cap;
} worker_t;

typedef struct pipe {
    rv_t *v;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    batch_t *batches;
    size_t n_batches;
    size_t next_fill, next_take, next_seq; /* counters; a batch is batches[i % n_batches] */
    int stop;
    worker_t workers[MAX_WORKERS];
    size_t n_workers;
} pipe_t;

/* Checks one line on its own (worker side). Reads only what never changes during the pass. */
static void work_line(worker_t *w, aud_parsed_t *parsed, const char *text, size_t n, res_t *r)
{
    const aud_report_verify_result_t *rr = w->p->v->r;
    memset(r, 0, offsetof(res_t, why));
    r->why[0] = '\0';
    if (w->decode_cap < n) {
        char *d = realloc(w->decode, n);
        if (!d) {
            r->bad_line = "memory to decode it (out of memory)";
            return;
        }
        w->decode = d;
        w->decode_cap = n;
    }
    aud_report_line_t l;
    if (aud_report_line_parse(text, n, w->decode, &l, &r->bad_line) != 0)
        return;
    r->bad_line = NULL;
    r->hidden = l.hidden;
    r->chain = l.chain;
    r->in_period_flag = l.in_period;
    r->seq = l.seq;
    memcpy(r->stream, l.stream, sizeof(r->stream));
    memcpy(r->hash, l.hash, AUD_HASH_BYTES);
    memcpy(r->prev, l.prev, AUD_HASH_BYTES);
    int rc = l.hidden ? aud_chain_next_v2(&w->hasher, l.prev, l.text, l.text_len, l.commitment,
                                          r->computed)
                      : aud_chain_next(&w->hasher, l.prev, l.text, l.text_len, r->computed);
    r->computed_ok = rc == 0;
    if (l.hidden) {
        r->own_org =
            rr->scoped && l.text_len == strlen(rr->org) && memcmp(l.text, rr->org, l.text_len) == 0;
        return;
    }
    /* The parser accepts only the canonical form: what it parses re-encodes to the same bytes
     * (audit/event.h; fuzz.audit_event checks exactly that), so no re-encoding here. */
    if (aud_event_parse(parsed, l.text, l.text_len, r->why, sizeof(r->why)) != 0) {
        r->noncanonical = 1;
        return;
    }
    const aud_event_t *ev = &parsed->ev;
    r->version = aud_chain_version(l.text, l.text_len);
    r->ts_us = ev->ts_us;
    r->in_period = ev->ts_us >= rr->from_us && ev->ts_us < rr->to_us;
    r->kind = aud_kind_name(ev->kind);
    r->in_scope = aud_report_in_scope(ev, rr->from_us, rr->to_us, rr->scoped ? rr->org : NULL);
    if (rr->scoped && r->version == 2) {
        const char *org = ev->decision.org ? ev->decision.org : "";
        if (strcmp(org, rr->org) != 0 &&
            (org[0] || !aud_report_kind_concerns_every_org(aud_kind_name(ev->kind)))) {
            r->disclosed = 1;
            snprintf(r->why, sizeof(r->why), "%.60s", org);
        }
    }
}

/* Checks every line of b into b->res (the worker owns b until it is done). Out of memory,
 * b->n_res stops short and b->short_of_memory says so (the sequencer stops there). */
static void work_batch(worker_t *w, batch_t *b)
{
    const char *at = b->buf, *end = b->buf + b->len;
    b->n_res = 0;
    b->short_of_memory = 0;
    while (at < end) {
        if (b->n_res == b->res_cap) {
            /* a real line is hundreds of bytes: this rarely grows past the first guess */
            size_t cap = b->res_cap ? 2 * b->res_cap : b->len / 256 + 64;
            res_t *nr = realloc(b->res, cap * sizeof(res_t));
            if (nr)
                b->res = nr;
            aud_parsed_t **np = nr ? realloc(b->parsed, cap * sizeof(*np)) : NULL;
            if (!np) {
                b->short_of_memory = 1;
                return;
            }
            b->parsed = np;
            memset(np + b->res_cap, 0, (cap - b->res_cap) * sizeof(*np));
            b->res_cap = cap;
        }
        size_t i = b->n_res;
        if (!b->parsed[i] && !(b->parsed[i] = calloc(1, sizeof(aud_parsed_t)))) {
            b->short_of_memory = 1;
            return;
        }
        const char *nl = memchr(at, '\n', (size_t)(end - at));
        work_line(w, b->parsed[i], at, (size_t)(nl - at), &b->res[i]);
        b->n_res++;
        at = nl + 1;
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    pipe_t *p = w->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->next_take == p->next_fill)
            pthread_cond_wait(&p->cv_work, &p->mu);
        if (p->next_take == p->next_fill)
            break; /* stopped, nothing left */
        batch_t *b = &p->batches[p->next_take++ % p->n_batches];
        b->state = B_TAKEN;
        pthread_mutex_unlock(&p->mu);
        work_batch(w, b);
        pthread_mutex_lock(&p->mu);
        b->state = B_DONE;
        pthread_cond_broadcast(&p->cv_done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
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

/* Step 3 for an event shown whole, in line order. */
/* Step 4: counts an event in scope as report soc2 did. */
static void count_event(rv_t *v, sstate_t *s, const batch_t *b, const res_t *r)
{
    if (!v->stats || v->stats_failed)
        return;
    if (aud_report_stats_add(v->stats, s->out->name, r->seq, &b->parsed[r - b->res]->ev) != 0)
        v->stats_failed = 1;
}

static void seq_whole(rv_t *v, sstate_t *s, const batch_t *b, const res_t *r, int64_t lineno)
{
    const aud_report_verify_result_t *rr = v->r;
    if (r->noncanonical) {
        stream_problem(v, s, "noncanonical", lineno, r->seq,
                       "event seq %lld is not a canonical hubgate event (%s)", (long long)r->seq,
                       r->why);
        return;
    }
    if (r->chain != r->version)
        stream_problem(v, s, "chain_version", lineno, r->seq,
                       "event seq %lld says \"chain\":%d, but its canonical text is of chain %d",
                       (long long)r->seq, r->chain, r->version);
    if (r->in_period != r->in_period_flag) {
        char ts[28];
        aud_time_format(r->ts_us, ts);
        stream_problem(v, s, "in_period", lineno, r->seq,
                       "event seq %lld has ts %s, %s the period, but says \"in_period\":%s",
                       (long long)r->seq, ts, r->in_period ? "inside" : "outside",
                       r->in_period_flag ? "true" : "false");
    }
    if (r->disclosed)
        stream_problem(v, s, "disclosed", lineno, r->seq,
                       "event seq %lld (org \"%s\", kind %s) is shown whole in a report scoped to "
                       "org \"%.60s\": it should be hidden",
                       (long long)r->seq, r->why, r->kind, rr->org);
    if (r->in_period) {
        s->out->in_period++;
        if (!rr->scoped && s->pending_hidden_line) {
            stream_problem(v, s, "hidden_in_period", s->pending_hidden_line, s->pending_hidden_seq,
                           "event seq %lld is hidden, but lies between events of the period "
                           "(seq %lld is in it): a report of every org shows those whole",
                           (long long)s->pending_hidden_seq, (long long)r->seq);
            s->pending_hidden_line = 0;
        }
        s->saw_in_period = 1;
    }
    if (r->in_scope)
        count_event(v, s, b, r);
}

static void seq_hidden(rv_t *v, sstate_t *s, const res_t *r, int64_t lineno)
{
    const aud_report_verify_result_t *rr = v->r;
    if (r->own_org)
        stream_problem(v, s, "hidden_own_org", lineno, r->seq,
                       "event seq %lld of org \"%.60s\" is hidden in a report of that org: it "
                       "must be shown whole",
                       (long long)r->seq, rr->org);
    if (!rr->scoped && s->saw_in_period && !s->pending_hidden_line) {
        s->pending_hidden_line = lineno;
        s->pending_hidden_seq = r->seq;
    }
}

/* Reports a skipped seq that turned out not to be a swap. */
static void flush_gap(rv_t *v, sstate_t *s)
{
    if (!s->gap_line)
        return;
    stream_problem(v, s, "deleted", s->gap_line, s->gap_expected,
                   s->gap_seq - s->gap_expected == 1
                       ? "event seq %lld is missing: the line has seq %lld"
                       : "events from seq %lld are missing: the line has seq %lld",
                   (long long)s->gap_expected, (long long)s->gap_seq);
    s->gap_line = 0;
}

/* Step 2 for one line, in line order. */
static void seq_line(rv_t *v, const batch_t *b, const res_t *r, int64_t lineno)
{
    v->r->events++;
    if (r->bad_line) {
        problem(v, "line", F_EVENTS, lineno, NULL, -1,
                "line %lld is not an events.jsonl line: expected %s", (long long)lineno,
                r->bad_line);
        return;
    }
    sstate_t *s = find_state(v, r->stream);
    if (!s) {
        problem(v, "stream_unknown", F_EVENTS, lineno, r->stream, r->seq,
                "event seq %lld is of stream %s, which report.json's integrity section does not "
                "name: nothing proves it",
                (long long)r->seq, r->stream);
        return;
    }
    s->out->events++;
    if (r->hidden)
        s->out->hidden++;
    else
        s->out->whole++;
    if (s->gap_line) {
        /* the seq skipped on the line before, found here: two lines in each other's place */
        if (r->seq == s->gap_expected && s->gap_seq == r->seq + 1 && s->gap_line == lineno - 1) {
            stream_problem(v, s, "swapped", lineno, r->seq,
                           "events seq %lld and %lld are in each other's place (lines %lld and "
                           "%lld): reordered",
                           (long long)r->seq, (long long)s->gap_seq, (long long)s->gap_line,
                           (long long)lineno);
            s->gap_line = 0;
            return;
        }
        flush_gap(v, s);
    }
    if (s->has_end && r->seq > s->end.seq) {
        stream_problem(v, s, "beyond_end", lineno, r->seq,
                       "event seq %lld comes after the end checkpoint (seq %lld): it was added",
                       (long long)r->seq, (long long)s->end.seq);
        return;
    }
    if (r->seq < s->next_seq) {
        stream_problem(v, s, "out_of_order", lineno, r->seq,
                       "event seq %lld comes after seq %lld: an event was added, repeated or "
                       "moved",
                       (long long)r->seq, (long long)(s->next_seq - 1));
        return;
    }
    if (r->seq > s->next_seq) {
        /* told once the next line shows whether it is a removal or a swap */
        s->gap_line = lineno;
        s->gap_expected = s->next_seq;
        s->gap_seq = r->seq;
    } else if (memcmp(r->prev, s->head, AUD_HASH_BYTES) != 0) {
        char x[17], y[17];
        stream_problem(v, s, "chain_break", lineno, r->seq,
                       "event seq %lld has prev_hash %s…, but the chain has %s… before it: an "
                       "event before it was removed, added or replaced",
                       (long long)r->seq, short_hex(r->prev, x), short_hex(s->head, y));
    }
    /* the hash was recomputed after the line's own prev_hash: equal to the chain's head unless
     * a problem was just told, so that each tampering is named once, where it is */
    int holds = r->computed_ok && memcmp(r->computed, r->hash, AUD_HASH_BYTES) == 0;
    if (!holds)
        stream_problem(v, s, "modified", lineno, r->seq,
                       "event seq %lld does not hash to its hash: %s", (long long)r->seq,
                       r->hidden ? "its org or commitment was altered" : "its content was altered");
    file_checkpoints_at(v, s, r->seq, lineno, r->computed);
    memcpy(s->head, holds ? r->computed : r->hash, AUD_HASH_BYTES);
    s->next_seq = r->seq + 1;
    if (r->hidden)
        seq_hidden(v, s, r, lineno);
    else
        seq_whole(v, s, b, r, lineno);
}

/* Returns -1 when the batch could not be checked whole: the pass stops there (fail closed). */
static int seq_batch(rv_t *v, const batch_t *b)
{
    for (size_t i = 0; i < b->n_res; i++)
        seq_line(v, b, &b->res[i], ++v->lines);
    if (b->short_of_memory) {
        problem(v, "line", F_EVENTS, v->lines + 1, NULL, -1,
                "out of memory checking events.jsonl from line %lld on", (long long)(v->lines + 1));
        return -1;
    }
    return 0;
}

static void worker_free(worker_t *w)
{
    aud_hasher_free(&w->hasher);
    free(w->decode);
}

static size_t worker_count(const aud_report_verify_options_t *o)
{
    long n = o->threads > 0 ? (long)o->threads : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (size_t)n;
}

/* Fills b with the carried partial line and more of the file, up to whole lines; what follows
 * the last '\n' is carried into the next batch. Returns 1 at the end of the file, 0, or -1
 * after a problem (I/O, a line over the cap). */
static int fill_batch(rv_t *v, int fd, EVP_MD_CTX *fctx, batch_t *b, cmn_buf_t *carry)
{
    b->len = 0;
    if (carry->len) {
        if (b->cap < carry->len + BATCH_BYTES) {
            char *nb = realloc(b->buf, carry->len + BATCH_BYTES);
            if (!nb)
                goto nomem;
            b->buf = nb;
            b->cap = carry->len + BATCH_BYTES;
        }
        memcpy(b->buf, carry->data, carry->len);
        b->len = carry->len;
        cmn_buf_clear(carry);
    }
    int eof = 0;
    for (;;) {
        while (b->len < b->cap) {
            ssize_t n = read(fd, b->buf + b->len, b->cap - b->len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                problem(v, "file_hash", F_EVENTS, 0, NULL, -1, "events.jsonl: %s", strerror(errno));
                return -1;
            }
            if (n == 0) {
                eof = 1;
                break;
            }
            EVP_DigestUpdate(fctx, b->buf + b->len, (size_t)n);
            b->len += (size_t)n;
        }
        char *last = b->len ? memrchr(b->buf, '\n', b->len) : NULL;
        if (last || eof) {
            size_t keep = last ? (size_t)(last - b->buf) + 1 : 0;
            if (cmn_buf_append(carry, b->buf + keep, b->len - keep) != 0)
                goto nomem;
            b->len = keep;
            break;
        }
        /* not one whole line yet: a long line */
        if (b->cap >= (size_t)AUD_REPORT_VERIFY_MAX_LINE) {
            problem(v, "line", F_EVENTS, v->lines + 1, NULL, -1,
                    "a line of events.jsonl is longer than %d bytes", AUD_REPORT_VERIFY_MAX_LINE);
            return -1;
        }
        char *nb = realloc(b->buf, b->cap * 2);
        if (!nb)
            goto nomem;
        b->buf = nb;
        b->cap *= 2;
    }
    return eof;
nomem:
    problem(v, "line", F_EVENTS, v->lines + 1, NULL, -1, "out of memory reading events.jsonl");
    return -1;
}

/* Reads events.jsonl through the pipeline, hashing the file as it goes. */
static void read_events(rv_t *v)
{
    int fd = open_in(v->o->dir, F_EVENTS);
    if (fd < 0) {
        problem(v, errno == ENOENT ? "file_missing" : "file_hash", F_EVENTS, 0, NULL, -1,
                "events.jsonl cannot be read: %s", strerror(errno));
        return;
    }
    pipe_t p;
    memset(&p, 0, sizeof(p));
    p.v = v;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv_work, NULL);
    pthread_cond_init(&p.cv_done, NULL);
    cmn_buf_t carry;
    cmn_buf_init(&carry, AUD_REPORT_VERIFY_MAX_LINE);
    EVP_MD_CTX *fctx = EVP_MD_CTX_new();
    size_t want = worker_count(v->o);
    /* one worker on the main thread when alone; else threads, the main one reading */
    p.n_batches = want > 1 ? 2 * want + 2 : 1;
    p.batches = calloc(p.n_batches, sizeof(batch_t));
    int ok = fctx && p.batches && EVP_DigestInit_ex(fctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < p.n_batches; i++) {
        p.batches[i].buf = malloc(BATCH_BYTES);
        p.batches[i].cap = BATCH_BYTES;

        ok = p.batches[i].buf != NULL;
    }
    for (size_t i = 0; ok && i < want; i++) {
        worker_t *w = &p.workers[p.n_workers];
        w->p = &p;
        if (aud_hasher_init(&w->hasher) != 0) {
            ok = 0;
            break;
        }
        p.n_workers++;
        if (want > 1) {
            w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
            if (!w->started)
                break; /* fewer threads: the ones started do the work */
        }
    }
    int inline_work = p.n_workers > 0 && !p.workers[0].started;
    if (p.n_workers == 0)
        ok = 0;
    if (!ok)
        problem(v, "line", F_EVENTS, 0, NULL, -1, "out of memory reading events.jsonl");
    int eof = !ok, failed = !ok;
    while (ok) {
        /* fill every free batch, then sequence the oldest when it is done */
        while (!eof && p.next_fill - p.next_seq < p.n_batches) {
            batch_t *b = &p.batches[p.next_fill % p.n_batches];
            int rc = fill_batch(v, fd, fctx, b, &carry);
            if (rc < 0) {
                eof = failed = 1;
                break;
            }
            eof = rc;
            if (inline_work) {
                work_batch(&p.workers[0], b);
                b->state = B_DONE;
                p.next_fill++;
                p.next_take++;
            } else {
                pthread_mutex_lock(&p.mu);
                b->state = B_FILLED;
                p.next_fill++;
                pthread_cond_signal(&p.cv_work);
                pthread_mutex_unlock(&p.mu);
            }
        }
        if (p.next_seq == p.next_fill)
            break;
        batch_t *b = &p.batches[p.next_seq % p.n_batches];
        pthread_mutex_lock(&p.mu);
        while (b->state != B_DONE)
            pthread_cond_wait(&p.cv_done, &p.mu);
        pthread_mutex_unlock(&p.mu);
        int rc = seq_batch(v, b);
        b->state = B_FREE;
        p.next_seq++;
        if (rc != 0) {
            failed = 1;
            break;
        }
    }
    pthread_mutex_lock(&p.mu);
    p.stop = 1;
    pthread_cond_broadcast(&p.cv_work);
    pthread_mutex_unlock(&p.mu);
    for (size_t i = 0; i < p.n_workers; i++) {
        if (p.workers[i].started)
            pthread_join(p.workers[i].thread, NULL);
        worker_free(&p.workers[i]);
    }
    if (!failed && carry.len)
        problem(v, "line", F_EVENTS, v->lines + 1, NULL, -1,
                "the last line of events.jsonl has no newline: the file was cut");
    unsigned char h[AUD_HASH_BYTES];
    unsigned int hl = 0;
    if (!failed && v->events_listed >= 0 && EVP_DigestFinal_ex(fctx, h, &hl) == 1 &&
        memcmp(h, v->listed_hash[v->events_listed], AUD_HASH_BYTES) != 0) {
        char a[2 * AUD_HASH_BYTES + 1], b[2 * AUD_HASH_BYTES + 1];
        cmn_hex(h, AUD_HASH_BYTES, a);
        cmn_hex(v->listed_hash[v->events_listed], AUD_HASH_BYTES, b);
        problem(v, "file_hash", F_EVENTS, 0, NULL, -1,
                "events.jsonl has SHA-256 %s, but manifest.json says %s: the file was changed",
                a, b);
    }
    for (size_t i = 0; p.batches && i < p.n_batches; i++) {
        free(p.batches[i].buf);
        for (size_t k = 0; p.batches[i].parsed && k < p.batches[i].res_cap; k++) {
            aud_parsed_free(p.batches[i].parsed[k]);
            free(p.batches[i].parsed[k]);
        }
        free(p.batches[i].parsed);
        free(p.batches[i].res);
    }
    free(p.batches);
    cmn_buf_free(&carry);
    EVP_MD_CTX_free(fctx);
    pthread_cond_destroy(&p.cv_work);
    pthread_cond_destroy(&p.cv_done);
    pthread_mutex_destroy(&p.mu);
    close(fd);
}

/* JSON equality where numbers are compared by value (4 and 4.0 are one number in JSON, and a
 * report may pass through tools that print either). */
static int json_same(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_same(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a) && json_is_object(b)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)a, k, x)
        {
            if (!json_same(x, json_object_get(b, k)))
                return 0;
        }
        return 1;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

/* Compares the members recounted (got) with report.json's (want), recursing into objects so
 * that only what comes from events is compared; path names the member for the message. */
static void compare_counts(rv_t *v, const json_t *got, const json_t *want, char *path, size_t cap)
{
    if (json_is_object(got) && json_is_object(want)) {
        const char *k;
        json_t *g;
        size_t l = strlen(path);
        json_object_foreach((json_t *)got, k, g)
        {
            snprintf(path + l, cap - l, "%s%s", l ? "." : "", k);
            compare_counts(v, g, json_object_get(want, k), path, cap);
            path[l] = '\0';
        }
        return;
    }
    if (want && json_same(got, want))
        return;
    char *a = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
    char *b = want ? json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    problem(v, "count", F_REPORT, 0, NULL, -1,
            "report.json's %s is %.120s%s, but the events of events.jsonl in scope count "
            "%.120s%s: report.json was changed after the events",
            path, b ? b : "missing", b && strlen(b) > 120 ? "…" : "", a ? a : "?",
            a && strlen(a) > 120 ? "…" : "");
    free(a);
    free(b);
}

/* Step 4: every count of report.json that comes from events, recounted. */
static void check_counts(rv_t *v)
{
    if (!v->stats || !v->report_json)
        return;
    if (v->stats_failed) {
        problem(v, "count", F_REPORT, 0, NULL, -1,
                "report.json's counts could not be recounted (out of memory)");
        return;
    }
    json_t *fresh = json_object();
    char path[512] = "";
    if (!fresh || aud_report_stats_json(v->stats, fresh) != 0)
        problem(v, "count", F_REPORT, 0, NULL, -1,
                "report.json's counts could not be recounted (out of memory)");
    else
        compare_counts(v, fresh, v->report_json, path, sizeof(path));
    json_decref(fresh);
}

/* After the last line: each stream must have reached its end checkpoint, exactly. */
static void finish_streams(rv_t *v)
{
    for (size_t i = 0; i < v->r->n_streams; i++) {
        sstate_t *s = &v->ss[i];
        flush_gap(v, s);
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

int aud_report_verify_run(const aud_report_verify_options_t *o, aud_report_verify_result_t *r,
                          char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    rv_t v;
    memset(&v, 0, sizeof(v));
    v.o = o;
    v.r = r;
    int64_t t0 = cmn_mono_us();
    int rc = 0;
    struct stat st;
    if (!o->dir || stat(o->dir, &st) != 0) {
        cmn_errf(err, errlen, "%s: %s", o->dir ? o->dir : "(no directory)",
                o->dir ? strerror(errno) : "missing");
        rc = CMN_ERR_IO;
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        cmn_errf(err, errlen, "%s: not a directory", o->dir);
        rc = CMN_ERR_IO;
        goto out;
    }
    if (aud_hasher_init(&v.hasher) != 0) {
        cmn_errf(err, errlen, "out of memory");
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
        check_counts(&v);
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
    r->seconds = (double)(cmn_mono_us() - t0) / 1e6;
    for (size_t i = 0; i < v.n_keys; i++)
        aud_key_free(v.keys[i].key);
    free(v.fcps);
    free(v.ss);
    json_decref(v.report_json);
    aud_report_stats_destroy(v.stats);
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
