/* A report's own files: contract in report_verify_files.h. */
#include "audit/report_verify_files.h"
#include "audit/report_verify_problem.h"
#include "audit/report_verify_seq.h"
#include "common/b64.h"
#include "common/err.h"
#include "common/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (4 << 20)
#define HEX_LEN    (2 * AUD_HASH_BYTES)

/* ---- small parsers ---- */

/* Decodes base64 in either alphabet, padded or not, into exactly n bytes (at most 64). A
 * signature is checked cryptographically afterwards, so accepting both spellings gives nothing
 * away. */
static int b64_exact(const char *s, size_t len, unsigned char *out, size_t n)
{
    while (len > 0 && s[len - 1] == '=')
        len--;
    char url[128];
    unsigned char bytes[sizeof(url) * 3 / 4 + 1];
    if (len > sizeof(url) || n > 64)
        return -1;
    for (size_t i = 0; i < len; i++)
        url[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
    if (cmn_b64url_decode(url, len, bytes) != (long)n)
        return -1;
    memcpy(out, bytes, n);
    return 0;
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
    return s[0] != '.' && aud_stream_name_like(s, 100);
}

/* ---- reading the files ---- */

int rvf_files_open(const char *dir, const char *name)
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
    int fd = rvf_files_open(dir, name);
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

int rvf_files_hash(rvf_ctx_t *v, const char *name, unsigned char out[AUD_HASH_BYTES])
{
    int fd = rvf_files_open(v->o->dir, name);
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

/* ---- step 1: the manifest ---- */

static int hex32(const char *s, unsigned char out[AUD_HASH_BYTES])
{
    return s && strlen(s) == HEX_LEN && aud_unhex(s, HEX_LEN, out, AUD_HASH_BYTES) == 0 ? 0 : -1;
}

static void check_manifest_signature(rvf_ctx_t *v, const cmn_buf_t *manifest, const char *key_id)
{
    const char *dir = v->o->dir;
    cmn_buf_t sig;
    cmn_buf_init(&sig, 1024);
    if (read_whole(dir, RVF_SIG, &sig) != 0) {
        if (errno == ENOENT)
            rvf_problem(
                v, "manifest_unsigned", RVF_SIG, 0, NULL, -1,
                "manifest.sig is missing: nothing says who exported these files (the report "
                "was made without --key)");
        else
            rvf_problem(v, "manifest_signature", RVF_SIG, 0, NULL, -1, "manifest.sig: %s",
                        strerror(errno));
        goto out;
    }
    unsigned char raw[AUD_SIG_BYTES];
    size_t n = sig.len;
    if (n == 0 || sig.data[n - 1] != '\n' || b64_exact(sig.data, n - 1, raw, sizeof(raw)) != 0) {
        rvf_problem(v, "manifest_signature", RVF_SIG, 1, NULL, -1,
                    "manifest.sig is not one line of base64 holding a 64-byte Ed25519 signature");
        goto out;
    }
    aud_key_t *k = aud_keyring_find(&v->keys, key_id);
    if (!k) {
        rvf_problem(v, "manifest_key", RVF_MANIFEST, 0, NULL, -1,
                    "manifest.json names key %s, which is not one of the --pubkey keys", key_id);
        goto out;
    }
    if (aud_key_verify(k, manifest->data, manifest->len, raw) != 0)
        rvf_problem(v, "manifest_signature", RVF_MANIFEST, 0, NULL, -1,
                    "manifest.sig does not verify over manifest.json with key %s: manifest.json or "
                    "manifest.sig was altered, or another key signed it",
                    key_id);
out:
    cmn_buf_free(&sig);
}

void rvf_files_manifest(rvf_ctx_t *v)
{
    v->events_listed = -1;
    cmn_buf_t m;
    cmn_buf_init(&m, AUD_REPORT_VERIFY_MAX_MANIFEST);
    json_t *root = NULL;
    if (read_whole(v->o->dir, RVF_MANIFEST, &m) != 0) {
        rvf_problem(v, "manifest", RVF_MANIFEST, 0, NULL, -1, "manifest.json: %s", strerror(errno));
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
        rvf_problem(
            v, "manifest", RVF_MANIFEST, root ? 0 : je.line, NULL, -1,
            "manifest.json is not {\"files\":{…},\"format\":1,\"generated\":…,\"key_id\":…}%s%s",
            root ? "" : ": ", root ? "" : je.text);
        goto out;
    }
    if (json_integer_value(format) != 1) {
        rvf_problem(v, "manifest", RVF_MANIFEST, 0, NULL, -1,
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
        if (!safe_file_name(name) || strcmp(name, RVF_MANIFEST) == 0 ||
            strcmp(name, RVF_SIG) == 0 || hex32(json_string_value(val), h) != 0) {
            rvf_problem(
                v, "manifest", RVF_MANIFEST, 0, NULL, -1,
                "manifest.json lists \"%.80s\" with \"%.80s\": not a file name of the report "
                "and a SHA-256 in hex",
                name, json_string_value(val) ? json_string_value(val) : "(not a string)");
            continue;
        }
        if (v->n_listed >= AUD_REPORT_VERIFY_MAX_FILES) {
            rvf_problem(v, "manifest", RVF_MANIFEST, 0, NULL, -1,
                        "manifest.json lists more than %d files", AUD_REPORT_VERIFY_MAX_FILES);
            break;
        }
        snprintf(v->listed[v->n_listed], sizeof(v->listed[0]), "%s", name);
        memcpy(v->listed_hash[v->n_listed], h, AUD_HASH_BYTES);
        if (strcmp(name, RVF_EVENTS) == 0)
            v->events_listed = (int)v->n_listed;
        v->n_listed++;
    }
    if (key_id)
        check_manifest_signature(v, &m, key_id);
    else
        rvf_problem(v, "manifest_unsigned", RVF_MANIFEST, 0, NULL, -1,
                    "manifest.json names no key and is not signed: nothing says who exported these "
                    "files (the report was made without --key)");
out:
    json_decref(root);
    cmn_buf_free(&m);
}

void rvf_files_check(rvf_ctx_t *v)
{
    const char *dir = v->o->dir;
    int listed_report = 0;
    for (size_t i = 0; i < v->n_listed; i++) {
        if (strcmp(v->listed[i], RVF_REPORT) == 0)
            listed_report = 1;
        if ((int)i == v->events_listed)
            continue;
        unsigned char h[AUD_HASH_BYTES];
        if (rvf_files_hash(v, v->listed[i], h) != 0) {
            rvf_problem(v, errno == ENOENT ? "file_missing" : "file_hash", v->listed[i], 0, NULL,
                        -1, "%s is listed in manifest.json but cannot be read: %s", v->listed[i],
                        strerror(errno));
            continue;
        }
        if (memcmp(h, v->listed_hash[i], AUD_HASH_BYTES) != 0) {
            char a[2 * AUD_HASH_BYTES + 1], b[2 * AUD_HASH_BYTES + 1];
            cmn_hex(h, AUD_HASH_BYTES, a);
            cmn_hex(v->listed_hash[i], AUD_HASH_BYTES, b);
            rvf_problem(v, "file_hash", v->listed[i], 0, NULL, -1,
                        "%s has SHA-256 %s, but manifest.json says %s: the file was changed",
                        v->listed[i], a, b);
        }
    }
    if (v->manifest_read) {
        if (v->events_listed < 0)
            rvf_problem(v, "manifest", RVF_MANIFEST, 0, NULL, -1, "manifest.json does not list %s",
                        RVF_EVENTS);
        if (!listed_report)
            rvf_problem(v, "manifest", RVF_MANIFEST, 0, NULL, -1, "manifest.json does not list %s",
                        RVF_REPORT);
    }
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, RVF_MANIFEST) == 0 ||
            strcmp(n, RVF_SIG) == 0)
            continue;
        int found = 0;
        for (size_t i = 0; i < v->n_listed && !found; i++)
            found = strcmp(v->listed[i], n) == 0;
        if (!found)
            rvf_problem(
                v, "file_unlisted", n, 0, NULL, -1,
                "%.200s is in the report directory but not in manifest.json: nothing vouches "
                "for it",
                n);
    }
    closedir(d);
}

/* ---- report.json: period, scope, integrity ---- */

/* *genesis: RVF_START_GENESIS, RVF_START_ARCHIVED (an archive's anchor: {archived, seq, hash,
 * manifest_sha256, archived_at}), else 0 (a signed checkpoint). */
static int parse_report_cp(const json_t *o, aud_checkpoint_t *cp, int *genesis)
{
    memset(cp, 0, sizeof(*cp));
    *genesis = json_is_true(json_object_get(o, "genesis"))    ? RVF_START_GENESIS
               : json_is_true(json_object_get(o, "archived")) ? RVF_START_ARCHIVED
                                                              : 0;
    json_t *seq = json_object_get(o, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) < 0 ||
        hex32(json_string_value(json_object_get(o, "hash")), cp->hash) != 0)
        return -1;
    cp->seq = json_integer_value(seq);
    if (*genesis == RVF_START_GENESIS)
        return cp->seq == 0 ? 0 : -1;
    if (*genesis == RVF_START_ARCHIVED) {
        const char *m = json_string_value(json_object_get(o, "manifest_sha256"));
        const char *at = json_string_value(json_object_get(o, "archived_at"));
        unsigned char mh[AUD_HASH_BYTES];
        return cp->seq >= 1 && m && hex32(m, mh) == 0 && at && strlen(at) < 28 ? 0 : -1;
    }
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

/* Checks the start (end 0) or end checkpoint of s: its signature with the pinned keys, then
 * that it was signed at or before the period's start (at or after its end), or it would not
 * prove the events of the period on that side. */
static void check_bound(rvf_ctx_t *v, rvf_stream_t *s, const aud_checkpoint_t *cp, int end)
{
    const char *which = end ? "end" : "start";
    int ok = aud_keyring_check(&v->keys, cp);
    if (ok < 0) {
        rvf_stream_problem(v, s, "checkpoint_key", 0, cp->seq,
                           "the %s checkpoint (seq %lld) is signed by key %s, which is not one of "
                           "the --pubkey keys",
                           which, (long long)cp->seq, cp->key_id);
        return;
    }
    if (ok == 0) {
        rvf_stream_problem(v, s, "checkpoint_signature", 0, cp->seq,
                           "the %s checkpoint (seq %lld) has a signature that does not verify with "
                           "key %s: report.json's checkpoint was altered or forged",
                           which, (long long)cp->seq, cp->key_id);
        return;
    }
    if (end ? cp->ts_us >= v->r->to_us : cp->ts_us <= v->r->from_us)
        return;
    if (end) {
        s->end_early = 1; /* judged once the events are read */
        return;
    }
    char ts[28];
    aud_time_format(cp->ts_us, ts);
    rvf_stream_problem(v, s, "checkpoint_period", 0, cp->seq,
                       "the %s checkpoint (seq %lld) was signed at %s, %s the period's %s: events "
                       "%s it in the period would not be proven",
                       which, (long long)cp->seq, ts, end ? "before" : "after", which,
                       end ? "after" : "before");
}

static int cmp_state(const void *a, const void *b)
{
    return strcmp(((const rvf_stream_t *)a)->out->name, ((const rvf_stream_t *)b)->out->name);
}

int rvf_files_report(rvf_ctx_t *v)
{
    aud_report_verify_result_t *r = v->r;
    cmn_buf_t b;
    cmn_buf_init(&b, AUD_REPORT_VERIFY_MAX_REPORT_JSON);
    json_t *root = NULL;
    int rc = -1;
    if (read_whole(v->o->dir, RVF_REPORT, &b) != 0) {
        rvf_problem(v, "report_json", RVF_REPORT, 0, NULL, -1, "report.json: %s", strerror(errno));
        goto out;
    }
    json_error_t je;
    root = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        rvf_problem(v, "report_json", RVF_REPORT, je.line, NULL, -1, "report.json is not JSON: %s",
                    je.text);
        goto out;
    }
    json_t *period = json_object_get(root, "period");
    const char *from = json_string_value(json_object_get(period, "from"));
    const char *to = json_string_value(json_object_get(period, "to"));
    if (!from || !to || parse_utc(from, &r->from_us) != 0 || parse_utc(to, &r->to_us) != 0 ||
        r->to_us <= r->from_us) {
        rvf_problem(v, "report_json", RVF_REPORT, 0, NULL, -1,
                    "report.json's period is not {\"from\": T, \"to\": T} with RFC 3339 UTC times, "
                    "from before to");
        goto out;
    }
    json_t *scope = json_object_get(root, "scope");
    json_t *org = json_object_get(scope, "org");
    if (!json_is_object(scope) || (org && !json_is_null(org) && !json_is_string(org)) ||
        (json_is_string(org) && (json_string_length(org) > AUD_CHAIN_MAX_ORG ||
                                 strlen(json_string_value(org)) != json_string_length(org)))) {
        rvf_problem(v, "report_json", RVF_REPORT, 0, NULL, -1,
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
        rvf_problem(v, "count", RVF_REPORT, 0, NULL, -1,
                    "report.json's counts cannot be recounted: the period is longer than %d days",
                    AUD_REPORT_MAX_DAYS);
    json_t *integrity = json_object_get(root, "integrity");
    json_t *streams = json_is_array(integrity) ? integrity : json_object_get(integrity, "streams");
    if (!json_is_array(streams) || json_array_size(streams) > AUD_REPORT_VERIFY_MAX_STREAMS) {
        rvf_problem(v, "report_json", RVF_REPORT, 0, NULL, -1,
                    "report.json has no integrity section (integrity.streams: one entry per stream "
                    "with its start and end checkpoints)");
        goto out;
    }
    size_t n = json_array_size(streams);
    r->streams = calloc(n + 1, sizeof(*r->streams));
    v->ss = calloc(n + 1, sizeof(*v->ss));
    if (!r->streams || !v->ss) {
        rvf_problem(v, "report_json", RVF_REPORT, 0, NULL, -1, "out of memory");
        goto out;
    }
    size_t i;
    json_t *e;
    json_array_foreach(streams, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "stream"));
        json_t *start = json_object_get(e, "start"), *end = json_object_get(e, "end");
        rvf_stream_t *s = &v->ss[r->n_streams];
        aud_report_verify_stream_t *out = &r->streams[r->n_streams];
        int end_genesis = 0;
        if (!name || !aud_stream_name_ok(name) || !json_is_object(start) ||
            (end && !json_is_null(end) && !json_is_object(end)) ||
            parse_report_cp(start, &s->start, &s->genesis) != 0 ||
            (json_is_object(end) &&
             (parse_report_cp(end, &s->end, &end_genesis) != 0 || end_genesis))) {
            rvf_problem(v, "report_json", RVF_REPORT, 0,
                        name && aud_stream_name_ok(name) ? name : NULL, -1,
                        "report.json's integrity entry %zu is not {stream, start: checkpoint or "
                        "genesis, end: checkpoint or null}",
                        i);
            continue;
        }
        for (size_t k = 0; k < r->n_streams; k++) {
            if (strcmp(r->streams[k].name, name) == 0) {
                rvf_problem(v, "report_json", RVF_REPORT, 0, name, -1,
                            "report.json's integrity names stream %s twice", name);
                name = NULL;
                break;
            }
        }
        if (!name)
            continue;
        snprintf(out->name, sizeof(out->name), "%s", name);
        /* what the checkpoints sign names the stream */
        memcpy(s->start.stream, out->name, sizeof(s->start.stream));
        memcpy(s->end.stream, out->name, sizeof(s->end.stream));
        s->out = out;
        s->has_end = json_is_object(end);
        out->start_seq = s->start.seq;
        if (s->genesis == RVF_START_ARCHIVED) {
            snprintf(out->archived_manifest, sizeof(out->archived_manifest), "%s",
                     json_string_value(json_object_get(start, "manifest_sha256")));
            snprintf(out->archived_at, sizeof(out->archived_at), "%s",
                     json_string_value(json_object_get(start, "archived_at")));
        }
        out->end_seq = s->has_end ? s->end.seq : -1;
        r->n_streams++;
    }
    /* out pointers are stable (r->streams is not moved); sort the states by name */
    if (r->n_streams > 1)
        qsort(v->ss, r->n_streams, sizeof(rvf_stream_t), cmp_state);
    for (i = 0; i < r->n_streams; i++) {
        rvf_stream_t *s = &v->ss[i];
        const char *name = s->out->name;
        if (s->genesis == RVF_START_ARCHIVED) {
            /* the premise is named in the output; its export proves it (archive.h) */
        } else if (s->genesis) {
            unsigned char g[AUD_HASH_BYTES];
            aud_chain_genesis(name, g);
            if (memcmp(g, s->start.hash, AUD_HASH_BYTES) != 0)
                rvf_stream_problem(
                    v, s, "checkpoint_hash", 0, 0,
                    "the start is said to be the stream's genesis, but its hash is not "
                    "the genesis of stream %s",
                    name);
        } else {
            check_bound(v, s, &s->start, 0);
        }
        if (!s->has_end) {
            rvf_stream_problem(
                v, s, "incomplete", 0, -1,
                "no checkpoint signed at or after the period's end: the period cannot "
                "be proven complete for stream %s",
                name);
        } else {
            check_bound(v, s, &s->end, 1);
            if (s->end.seq < s->start.seq)
                rvf_stream_problem(
                    v, s, "checkpoint_period", 0, s->end.seq,
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
        rvf_seq_file_checkpoints(v, s, s->start.seq, 0, s->start.hash);
    }
    rc = 0;
    v->report_json = root; /* kept for step 4 */
    root = NULL;
out:
    json_decref(root);
    cmn_buf_free(&b);
    return rc;
}
