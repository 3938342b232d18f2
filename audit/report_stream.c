/* One audit stream of a report: the signed checkpoints that bound the period, every event
 * between them read once from the database (a binary COPY, so memory stays flat), its chain
 * recomputed, and each event written to events.jsonl — whole, or as its org and commitment —
 * and, when in scope, to events.csv and the counts. */
#include "audit/report_stream.h"
#include "audit/db.h"
#include "audit/keyring.h"
#include "audit/report_events.h"
#include "audit/report_files.h"
#include "common/b64.h"
#include "common/sha256.h"
#include "common/array.h"
#include "common/err.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

/* ---- choosing the checkpoints ---- */

long rpt_choose_start(const rpt_cp_t *cps, size_t n, int64_t from_us, int64_t first_seq)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        const rpt_cp_t *c = &cps[i];
        if (c->sig_ok != 1 || c->ts_us > from_us || (first_seq >= 0 && c->seq >= first_seq))
            continue;
        if (best < 0 || c->seq > cps[best].seq ||
            (c->seq == cps[best].seq && c->ts_us > cps[best].ts_us))
            best = (long)i;
    }
    return best;
}

long rpt_choose_end(const rpt_cp_t *cps, size_t n, int64_t to_us, int64_t min_seq)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        const rpt_cp_t *c = &cps[i];
        if (c->sig_ok != 1 || c->ts_us < to_us || c->seq < min_seq)
            continue;
        if (best < 0 || c->seq < cps[best].seq ||
            (c->seq == cps[best].seq && c->ts_us < cps[best].ts_us))
            best = (long)i;
    }
    return best;
}

/* ---- checkpoint files ---- */

static rpt_file_stream_t *file_stream(rpt_ctx_t *c, const char *name, int create)
{
    for (size_t i = 0; i < c->nfstreams; i++)
        if (strcmp(c->fstreams[i].stream, name) == 0)
            return &c->fstreams[i];
    if (!create)
        return NULL;
    rpt_file_stream_t *n = realloc(c->fstreams, (c->nfstreams + 1) * sizeof(*n));
    if (!n)
        return NULL;
    c->fstreams = n;
    rpt_file_stream_t *f = &n[c->nfstreams++];
    memset(f, 0, sizeof(*f));
    snprintf(f->stream, sizeof(f->stream), "%s", name);
    return f;
}

static void cp_from(rpt_cp_t *d, const aud_checkpoint_t *s, int from_file)
{
    memset(d, 0, sizeof(*d));
    d->seq = s->seq;
    memcpy(d->hash, s->hash, AUD_HASH_BYTES);
    d->ts_us = s->ts_us;
    memcpy(d->key_id, s->key_id, sizeof(d->key_id));
    memcpy(d->sig, s->sig, AUD_SIG_BYTES);
    d->from_file = from_file;
    d->sig_ok = -1;
}

/* The signed checkpoint of stream that cp is. */
static void cp_to(aud_checkpoint_t *d, const char *stream, const rpt_cp_t *cp)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->stream, sizeof(d->stream), "%s", stream);
    d->seq = cp->seq;
    memcpy(d->hash, cp->hash, AUD_HASH_BYTES);
    d->ts_us = cp->ts_us;
    memcpy(d->key_id, cp->key_id, sizeof(d->key_id));
    memcpy(d->sig, cp->sig, AUD_SIG_BYTES);
}

/* Keeps the RPT_FILE_CANDIDATES checkpoints with the highest (high) or lowest seqs. */
static void keep_candidate(rpt_cp_t *set, size_t *n, const rpt_cp_t *cp, int high)
{
    if (*n < RPT_FILE_CANDIDATES) {
        set[(*n)++] = *cp;
        return;
    }
    size_t worst = 0;
    for (size_t i = 1; i < *n; i++)
        if (high ? set[i].seq < set[worst].seq : set[i].seq > set[worst].seq)
            worst = i;
    if (high ? cp->seq > set[worst].seq : cp->seq < set[worst].seq)
        set[worst] = *cp;
}

static int cmp_cp(const void *a, const void *b)
{
    const rpt_cp_t *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return (x->ts_us > y->ts_us) - (x->ts_us < y->ts_us);
}

/* Keeps one checkpoint of a file where it can matter for the period (rpt_file_stream_t). */
static int keep_file_cp(void *arg, const aud_checkpoint_t *cp, int64_t lineno)
{
    (void)lineno;
    rpt_ctx_t *c = arg;
    rpt_file_stream_t *fs = file_stream(c, cp->stream, 1);
    if (!fs)
        return CMN_ERR_NOMEM;
    fs->lines++;
    rpt_cp_t r;
    cp_from(&r, cp, 1);
    if (r.ts_us <= c->o->from_us)
        keep_candidate(fs->before, &fs->nbefore, &r, 1);
    if (r.ts_us >= c->o->to_us)
        keep_candidate(fs->after, &fs->nafter, &r, 0);
    if (r.ts_us > c->o->from_us && r.ts_us < c->o->to_us) {
        size_t total = 0;
        for (size_t i = 0; i < c->nfstreams; i++)
            total += c->fstreams[i].nmid;
        if (total >= RPT_MAX_FILE_MID) {
            c->file_mid_skipped++;
            return 0;
        }
        if (cmn_array_room(&fs->mid, &fs->capmid, fs->nmid, sizeof(*fs->mid), 64) != 0)
            return CMN_ERR_NOMEM;
        fs->mid[fs->nmid++] = r;
    }
    return 0;
}

int rpt_checkpoint_file_load(rpt_ctx_t *c, const char *path, char *err, size_t errlen)
{
    int64_t lineno;
    char why[200];
    int rc = aud_checkpoint_file_read(path, keep_file_cp, c, &lineno, why, sizeof(why));
    if (rc == CMN_ERR_IO)
        cmn_errf(err, errlen, "--checkpoint %s: %s", path, strerror(errno));
    else if (rc == CMN_ERR_PARSE)
        cmn_errf(err, errlen, "--checkpoint %s:%lld: not a checkpoint line: %s", path,
                 (long long)lineno, why);
    else if (rc != 0)
        cmn_errf(err, errlen, "out of memory");
    for (size_t i = 0; i < c->nfstreams; i++) {
        if (c->fstreams[i].nmid > 1) /* qsort must not see a NULL array, even empty */
            qsort(c->fstreams[i].mid, c->fstreams[i].nmid, sizeof(rpt_cp_t), cmp_cp);
    }
    return rc;
}

void rpt_checkpoint_files_free(rpt_ctx_t *c)
{
    for (size_t i = 0; i < c->nfstreams; i++)
        free(c->fstreams[i].mid);
    free(c->fstreams);
    c->fstreams = NULL;
    c->nfstreams = 0;
}

/* ---- one stream ---- */

typedef struct {
    rpt_ctx_t *c;
    const char *name;
    aud_keyring_t keys; /* registered for the stream */
    json_t *problems;
    int64_t nproblems;
    /* the pass */
    int64_t expect;
    unsigned char last[AUD_HASH_BYTES];
    int64_t first_in, last_in, in_period, listed, hidden;
    int64_t span_first, span_last; /* first and last seq whose ts column is in the period */
    const rpt_file_stream_t *fs;
    size_t mid_next;
    int64_t file_checked;
} stream_t;

static void problem(stream_t *s, int64_t seq, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(stream_t *s, int64_t seq, const char *code, const char *fmt, ...)
{
    s->nproblems++;
    if (json_array_size(s->problems) >= RPT_MAX_PROBLEMS)
        return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(s->problems, json_pack("{s:o, s:s, s:s}", "seq",
                                                 seq >= 0 ? json_integer(seq) : json_null(),
                                                 "problem", code, "message", msg));
}

static void note_bad_signature(stream_t *s, const rpt_cp_t *cp)
{
    char ts[28];
    aud_time_format(cp->ts_us, ts);
    if (cp->sig_ok == 0)
        problem(s, cp->seq, "checkpoint_signature",
                "the %s checkpoint at seq %lld (%s) does not verify with key %s: altered or "
                "forged",
                cp->from_file ? "checkpoint file's" : "database's", (long long)cp->seq, ts,
                cp->key_id);
    else if (cp->sig_ok < 0)
        problem(s, cp->seq, "checkpoint_key",
                "the %s checkpoint at seq %lld (%s) is signed by key %s, not registered for this "
                "stream",
                cp->from_file ? "checkpoint file's" : "database's", (long long)cp->seq, ts,
                cp->key_id);
}

/* Checks cp's signature with the stream's keys; a bad one is a problem. */
static void sig_check(stream_t *s, rpt_cp_t *cp)
{
    aud_checkpoint_t m;
    cp_to(&m, s->name, cp);
    cp->sig_ok = aud_keyring_check(&s->keys, &m);
    if (cp->sig_ok != 1)
        note_bad_signature(s, cp);
}

static void add_key(stream_t *s, const char *kid, const char *pem)
{
    char why[400];
    aud_key_t *k = aud_key_from_registered(kid, pem, why, sizeof(why));
    if (!k)
        problem(s, -1, "stream_key", "%s", why);
    else
        aud_keyring_add(&s->keys, k);
}

/* Up to RPT_FILE_CANDIDATES checkpoints of the database, binary columns seq, hash, ts, key_id,
 * signature, appended to cps. */
static int db_checkpoints(stream_t *s, const char *sql, const char *const *params, int nparams,
                          rpt_cp_t *cps, size_t *n, char *err, size_t errlen)
{
    PGresult *r =
        aud_db_rows(s->c->db, sql, nparams, params, 1, "reading checkpoints", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    for (int i = 0; i < PQntuples(r) && *n < 2 * RPT_FILE_CANDIDATES + 2; i++) {
        rpt_cp_t *cp = &cps[(*n)++];
        aud_checkpoint_t m;
        aud_db_checkpoint(r, i, s->name, &m);
        cp_from(cp, &m, 0);
        sig_check(s, cp);
    }
    PQclear(r);
    return 0;
}

static json_t *cp_json(const rpt_cp_t *cp)
{
    char hash[2 * AUD_HASH_BYTES + 1], ts[28];
    unsigned char b64[4 * ((AUD_SIG_BYTES + 2) / 3) + 1];
    cmn_hex(cp->hash, AUD_HASH_BYTES, hash);
    aud_time_format(cp->ts_us, ts);
    EVP_EncodeBlock(b64, cp->sig, AUD_SIG_BYTES);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "seq", (json_int_t)cp->seq, "hash", hash,
                     "ts", ts, "key_id", cp->key_id, "signature", (const char *)b64, "source",
                     cp->from_file ? "checkpoint_file" : "database");
}

/* ---- the pass over the events ---- */

/* One row of the binary COPY: seq, ts, prev_hash, hash, canonical. */
typedef struct {
    int64_t seq;
    const unsigned char *prev, *hash;
    const char *canonical;
    size_t len;
} row_t;

/* The row of pass's COPY: seq, ts, prev_hash, hash, canonical. 1, or -1 when malformed. */
static int parse_row(const aud_db_fields_t *x, row_t *row)
{
    for (int i = 0; i < 5; i++) {
        if (x->len[i] < 0)
            return -1;
    }
    if (x->len[0] != 8 || x->len[1] != 8 || x->len[2] != AUD_HASH_BYTES ||
        x->len[3] != AUD_HASH_BYTES)
        return -1;
    row->seq = (int64_t)aud_rd64((const unsigned char *)x->f[0]);
    row->prev = (const unsigned char *)x->f[2];
    row->hash = (const unsigned char *)x->f[3];
    row->canonical = x->f[4];
    row->len = (size_t)x->len[4];
    return 1;
}

/* Compares the checkpoint-file lines at this seq with the chain's hash there. */
static void file_checkpoints_at(stream_t *s, int64_t seq, const unsigned char hash[AUD_HASH_BYTES])
{
    if (!s->fs)
        return;
    while (s->mid_next < s->fs->nmid && s->fs->mid[s->mid_next].seq <= seq) {
        const rpt_cp_t *cp = &s->fs->mid[s->mid_next++];
        if (cp->seq < seq)
            continue; /* its event is missing: reported as a gap */
        s->file_checked++;
        if (memcmp(cp->hash, hash, AUD_HASH_BYTES) != 0) {
            char ts[28];
            aud_time_format(cp->ts_us, ts);
            problem(s, seq, "checkpoint_hash",
                    "the checkpoint file's checkpoint at seq %lld (%s) signed another hash than "
                    "the chain has there: events up to it were rewritten",
                    (long long)seq, ts);
        }
    }
}

static int one_event(stream_t *s, const row_t *x)
{
    rpt_ctx_t *c = s->c;
    const aud_report_options_t *o = c->o;
    if (x->seq != s->expect) {
        c->gaps++;
        if (x->seq > s->expect)
            problem(s, s->expect, "deleted",
                    "events %lld..%lld are missing: the chain resumes at seq %lld",
                    (long long)s->expect, (long long)(x->seq - 1), (long long)x->seq);
        else
            problem(s, x->seq, "reordered", "event seq %lld comes after seq %lld",
                    (long long)x->seq, (long long)(s->expect - 1));
    } else if (memcmp(x->prev, s->last, AUD_HASH_BYTES) != 0) {
        c->gaps++;
        problem(s, x->seq, "chain_break",
                "event seq %lld does not follow the one before it (its prev_hash is not that "
                "event's hash)",
                (long long)x->seq);
    }
    int version = aud_chain_version(x->canonical, x->len);
    char why[200];
    int parsed = aud_event_parse(&c->parsed, x->canonical, x->len, why, sizeof(why)) == 0;
    if (!parsed)
        problem(s, x->seq, "noncanonical", "event seq %lld is not a canonical event: %s",
                (long long)x->seq, why);
    const aud_event_t *ev = &c->parsed.ev;
    const char *org = parsed ? ev->decision.org : NULL;
    unsigned char commitment[AUD_HASH_BYTES], computed[AUD_HASH_BYTES];
    int hashed;
    if (version == 2 && parsed)
        hashed = aud_chain_commitment(&c->hasher, x->canonical, x->len, commitment) == 0 &&
                 aud_chain_next_v2(&c->hasher, x->prev, org ? org : "", org ? strlen(org) : 0,
                                   commitment, computed) == 0;
    else
        hashed = aud_chain_next(&c->hasher, x->prev, x->canonical, x->len, computed) == 0;
    if (!hashed || memcmp(computed, x->hash, AUD_HASH_BYTES) != 0)
        problem(s, x->seq, "modified",
                "event seq %lld does not hash to its stored hash: it was modified",
                (long long)x->seq);

    int in_period = parsed && aud_report_in_period(ev, o->from_us, o->to_us);
    int in_scope = parsed && aud_report_in_scope(ev, o->from_us, o->to_us, o->org);
    if (in_period) {
        s->in_period++;
        if (s->first_in < 0)
            s->first_in = x->seq;
        s->last_in = x->seq;
    }
    /* What is shown whole (docs/evidence-format.md "events.jsonl"): a chain-1 event, or one
     * that cannot be read, always; in an org's report, the org's events and those of no org
     * that concern every org, whatever their time; in a report of every org, the events from
     * the period's first to its last. Any other chain-2 event is shown as its org and
     * commitment. */
    int whole = 1;
    if (version == 2 && parsed && hashed) {
        if (o->org)
            whole = org ? strcmp(org, o->org) == 0
                        : aud_report_kind_concerns_every_org(aud_kind_name(ev->kind));
        else
            whole = in_period ||
                    (s->span_first >= 0 && x->seq >= s->span_first && x->seq <= s->span_last);
    }
    if (whole) {
        rpt_jsonl_whole(&c->jsonl, s->name, x->seq, version, x->prev, x->hash, x->canonical, x->len,
                        in_period);
    } else {
        rpt_jsonl_hidden(&c->jsonl, s->name, x->seq, x->prev, x->hash, org, commitment);
        s->hidden++;
    }
    s->listed++;
    if (in_scope) {
        rpt_csv_row(&c->csv, s->name, x->seq, ev, x->hash);
        int rc = aud_report_stats_add(c->stats, s->name, x->seq, ev);
        if (rc)
            return rc;
    }
    file_checkpoints_at(s, x->seq, x->hash);
    memcpy(s->last, x->hash, AUD_HASH_BYTES);
    s->expect = x->seq < INT64_MAX ? x->seq + 1 : INT64_MAX; /* a forged INT64_MAX: saturate */
    return 0;
}

typedef struct {
    stream_t *s;
    char *err;
    size_t errlen;
} pass_t;

static int pass_row(void *ctx, const aud_db_fields_t *x)
{
    pass_t *ps = ctx;
    row_t row;
    if (parse_row(x, &row) < 0) {
        cmn_errf(ps->err, ps->errlen, "reading events: malformed row");
        return CMN_ERR_DB;
    }
    return one_event(ps->s, &row);
}

/* Streams events [from_seq, to_seq] of the stream through one_event. */
static int pass(stream_t *s, const char *id, int64_t from_seq, int64_t to_seq, char *err,
                size_t errlen)
{
    char sql[300];
    snprintf(sql, sizeof(sql),
             "COPY (SELECT seq, ts, prev_hash, hash, canonical FROM audit_event WHERE stream_id = "
             "%lld AND seq BETWEEN %lld AND %lld ORDER BY seq) TO STDOUT (FORMAT binary)",
             (long long)strtoll(id, NULL, 10), (long long)from_seq, (long long)to_seq);
    pass_t ps = {s, err, errlen};
    return aud_db_copy_out(s->c->db, sql, 5, pass_row, &ps, "reading events", err, errlen);
}

static int query_i64s(PGconn *db, const char *sql, const char *const *params, int nparams,
                      int64_t *out, int nout, char *err, size_t errlen)
{
    PGresult *r = aud_db_rows(db, sql, nparams, params, 0, "reading events", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    if (PQntuples(r) != 1) {
        cmn_errf(err, errlen, "reading events: %d rows where one was expected", PQntuples(r));
        PQclear(r);
        return CMN_ERR_DB;
    }
    for (int i = 0; i < nout; i++)
        out[i] = PQgetisnull(r, 0, i) ? -1 : strtoll(PQgetvalue(r, 0, i), NULL, 10);
    PQclear(r);
    return 0;
}

/* The stream's last archive (audit_archive, schema 008): the seq and hash up to which its
 * events left the database with a verified export, and that export's manifest. seq 0: none. */
typedef struct {
    int64_t seq;
    unsigned char hash[AUD_HASH_BYTES];
    char manifest[65];
    char at[28];
} anchor_t;

static int read_anchor(const rpt_ctx_t *c, const char *id, anchor_t *a, char *err,
                       size_t errlen)
{
    memset(a, 0, sizeof(*a));
    if (!c->has_archive)
        return 0;
    const char *p[1] = {id};
    PGresult *r = aud_db_rows(
        c->db,
        "SELECT last_seq, encode(last_hash, 'hex'), manifest_sha256, "
        "to_char(archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "FROM audit_archive WHERE stream_id = $1::bigint ORDER BY last_seq DESC LIMIT 1",
        1, p, 0, "reading archives", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    if (PQntuples(r) == 1 &&
        aud_unhex(PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1), a->hash, AUD_HASH_BYTES) ==
            0) {
        a->seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(a->manifest, sizeof(a->manifest), "%s", PQgetvalue(r, 0, 2));
        snprintf(a->at, sizeof(a->at), "%s", PQgetvalue(r, 0, 3));
    }
    PQclear(r);
    return 0;
}

/* The stream's retirement (audit_stream_retired, schema 009): the seq of its stream.retired
 * event, the stream's last. seq 0: not retired. */
typedef struct {
    int64_t seq;
    char at[28];
    char by[64];
} retired_t;

static int read_retired(const rpt_ctx_t *c, const char *id, retired_t *t, char *err,
                        size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if (!c->has_retired)
        return 0;
    const char *p[1] = {id};
    PGresult *r = aud_db_rows(c->db,
                    "SELECT seq, to_char(retired_at AT TIME ZONE 'UTC', "
                    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), retired_by FROM audit_stream_retired "
                    "WHERE stream_id = $1::bigint",
                    1, p, 0, "reading retirements", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    if (PQntuples(r) == 1) {
        t->seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(t->at, sizeof(t->at), "%s", PQgetvalue(r, 0, 1));
        snprintf(t->by, sizeof(t->by), "%s", PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return 0;
}

int rpt_stream_run(rpt_ctx_t *c, const char *id, const char *name, const char *pem,
                   const char *key_id, json_t *integrity, char *err, size_t errlen)
{
    const aud_report_options_t *o = c->o;
    stream_t s;
    memset(&s, 0, sizeof(s));
    s.c = c;
    s.name = name;
    s.first_in = s.last_in = -1;
    s.problems = json_array();
    json_t *entry = NULL, *key_ids = json_array();
    int rc = 0;
    if (!s.problems || !key_ids) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }

    /* The stream's keys: the one it was created with and any registered since. */
    add_key(&s, key_id, pem);
    json_array_append_new(key_ids, json_string(key_id));
    for (int i = 0; i < PQntuples(c->stream_keys); i++) {
        if (strcmp(PQgetvalue(c->stream_keys, i, 0), id) != 0)
            continue;
        const char *kid = PQgetvalue(c->stream_keys, i, 1);
        if (strcmp(kid, key_id) == 0)
            continue;
        add_key(&s, kid, PQgetvalue(c->stream_keys, i, 2));
        json_array_append_new(key_ids, json_string(kid));
    }

    /* Where the period lies in the stream (by the ts column: the events' own ts decide what
     * is in the period, but the range read is bounded by checkpoints anyway). */
    char from[28], to[28];
    aud_time_format(o->from_us, from);
    aud_time_format(o->to_us, to);
    int64_t span[3], head;
    const char *p3[3] = {id, from, to};
    if ((rc = query_i64s(c->db,
                         "SELECT min(seq), max(seq), count(*) FROM audit_event WHERE stream_id = "
                         "$1::bigint AND ts >= $2::timestamptz AND ts < $3::timestamptz",
                         p3, 3, span, 3, err, errlen)) ||
        (rc = query_i64s(c->db, "SELECT max(seq) FROM audit_event WHERE stream_id = $1::bigint", p3,
                         1, &head, 1, err, errlen)))
        goto out;
    if (head < 0)
        head = 0;
    s.span_first = span[0];
    s.span_last = span[1];

    /* A retired stream ends at its stream.retired event (R): the period's start is taken
     * below R, so that the event is listed and proves the end; once R itself is archived, the
     * stream has nothing more to prove and is left out. */
    retired_t retired;
    anchor_t anchor;
    if ((rc = read_retired(c, id, &retired, err, errlen)) ||
        (rc = read_anchor(c, id, &anchor, err, errlen)))
        goto out;
    if (retired.seq > 0 && anchor.seq >= retired.seq)
        goto out;

    /* The checkpoints around the period: the database's, then the auditor's files'. */
    rpt_cp_t before[2 * RPT_FILE_CANDIDATES + 2], after[2 * RPT_FILE_CANDIDATES + 2];
    size_t nb = 0, na = 0;
    char first[24];
    int64_t below = span[0] >= 0 ? span[0] : retired.seq > 0 ? retired.seq : -1;
    snprintf(first, sizeof(first), "%lld", (long long)below);
    const char *pb[3] = {id, from, below >= 0 ? first : NULL};
    if ((rc = db_checkpoints(&s,
                             "SELECT seq, hash, ts, key_id, signature FROM audit_checkpoint WHERE "
                             "stream_id = $1::bigint AND ts <= $2::timestamptz AND ($3::bigint IS "
                             "NULL OR seq < $3::bigint) ORDER BY seq DESC, ts DESC LIMIT 16",
                             pb, 3, before, &nb, err, errlen)))
        goto out;
    s.fs = file_stream(c, name, 0);
    for (size_t i = 0; s.fs && i < s.fs->nbefore && nb < sizeof(before) / sizeof(*before); i++) {
        before[nb] = s.fs->before[i];
        sig_check(&s, &before[nb]);
        nb++;
    }
    long bi = rpt_choose_start(before, nb, o->from_us, below);
    rpt_cp_t start;
    memset(&start, 0, sizeof(start));
    if (bi >= 0)
        start = before[bi];
    else
        aud_chain_genesis(name, start.hash);
    /* Events up to the stream's last archive are no longer in the database: a start before it
     * becomes the archive's anchor, which its export proves (report verify names it). */
    int archived = anchor.seq > 0 && start.seq < anchor.seq;
    if (archived) {
        bi = -1;
        memset(&start, 0, sizeof(start));
        start.seq = anchor.seq;
        memcpy(start.hash, anchor.hash, AUD_HASH_BYTES);
    }
    /* (a stream with every event archived has its head there, not at 0) */
    if (head < anchor.seq)
        head = anchor.seq;

    int64_t min_end = span[1] >= 0 ? span[1] : start.seq;
    char minseq[24];
    snprintf(minseq, sizeof(minseq), "%lld", (long long)min_end);
    const char *pa[3] = {id, to, minseq};
    if ((rc = db_checkpoints(&s,
                             "SELECT seq, hash, ts, key_id, signature FROM audit_checkpoint WHERE "
                             "stream_id = $1::bigint AND ts >= $2::timestamptz AND seq >= "
                             "$3::bigint ORDER BY seq, ts LIMIT 16",
                             pa, 3, after, &na, err, errlen)))
        goto out;
    for (size_t i = 0; s.fs && i < s.fs->nafter && na < sizeof(after) / sizeof(*after); i++) {
        after[na] = s.fs->after[i];
        sig_check(&s, &after[na]);
        na++;
    }
    long ai = rpt_choose_end(after, na, o->to_us, min_end);
    if (ai < 0 && retired.seq > 0 && na < sizeof(after) / sizeof(*after)) {
        /* No checkpoint after the period: the one over the retirement closes it, since no
         * event follows (report verify accepts it for that reason only). */
        char rs[24];
        snprintf(rs, sizeof(rs), "%lld", (long long)retired.seq);
        const char *pr[2] = {id, rs};
        size_t before_na = na;
        if ((rc = db_checkpoints(&s,
                                 "SELECT seq, hash, ts, key_id, signature FROM audit_checkpoint "
                                 "WHERE stream_id = $1::bigint AND seq = $2::bigint ORDER BY ts "
                                 "LIMIT 1",
                                 pr, 2, after, &na, err, errlen)))
            goto out;
        if (na > before_na && after[before_na].sig_ok == 1)
            ai = (long)before_na;
    }
    int64_t end_seq = ai >= 0 ? after[ai].seq : head;

    /* The database's checkpoints inside the range must name the chain's hashes. */
    char a[24], b[24];
    snprintf(a, sizeof(a), "%lld", (long long)start.seq);
    snprintf(b, sizeof(b), "%lld", (long long)end_seq);
    const char *pm[3] = {id, a, b};
    PGresult *r = aud_db_rows(
        c->db,
        "SELECT c.seq, count(*) OVER (), (SELECT count(*) FROM audit_checkpoint k WHERE "
        "k.stream_id = $1::bigint AND k.seq > $2::bigint AND k.seq <= $3::bigint) FROM "
        "audit_checkpoint c JOIN audit_event e ON e.stream_id = c.stream_id AND e.seq = c.seq "
        "WHERE c.stream_id = $1::bigint AND c.seq > $2::bigint AND c.seq <= $3::bigint AND "
        "c.hash <> e.hash ORDER BY c.seq LIMIT 10",
        3, pm, 0, "reading checkpoints", err, errlen);
    if (!r) {
        rc = CMN_ERR_DB;
        goto out;
    }
    for (int i = 0; i < PQntuples(r); i++)
        problem(&s, strtoll(PQgetvalue(r, i, 0), NULL, 10), "checkpoint_hash",
                "the database's checkpoint at seq %s signed another hash than the event there "
                "has: events up to it were rewritten",
                PQgetvalue(r, i, 0));
    PQclear(r);
    int64_t db_cps_in_range = 0;
    const char *pc[3] = {id, a, b};
    if ((rc = query_i64s(c->db,
                         "SELECT count(*) FROM audit_checkpoint WHERE stream_id = $1::bigint AND "
                         "seq > $2::bigint AND seq <= $3::bigint",
                         pc, 3, &db_cps_in_range, 1, err, errlen)))
        goto out;

    /* The events. */
    s.expect = start.seq + 1;
    memcpy(s.last, start.hash, AUD_HASH_BYTES);
    if (end_seq > start.seq && (rc = pass(&s, id, start.seq + 1, end_seq, err, errlen)))
        goto out;
    if (bi >= 0 && start.seq > head) {
        c->gaps++;
        problem(&s, head + 1, "truncated",
                "the stream ends at seq %lld, but the checkpoint opening the period signs seq "
                "%lld: events were removed",
                (long long)head, (long long)start.seq);
    } else if (s.expect <= end_seq) {
        c->gaps++;
        problem(&s, s.expect, "truncated",
                ai >= 0 ? "the stream ends at seq %lld, but the checkpoint closing the period "
                          "signs seq %lld: events were removed"
                        : "the stream ends at seq %lld before seq %lld",
                (long long)(s.expect - 1), (long long)end_seq);
    } else if (ai >= 0 && memcmp(s.last, after[ai].hash, AUD_HASH_BYTES) != 0) {
        problem(&s, end_seq, "checkpoint_hash",
                "the chain's hash at seq %lld is not the one the checkpoint closing the period "
                "signed: events were rewritten",
                (long long)end_seq);
    }

    int ok = s.nproblems == 0;
    int complete = ok && ai >= 0;
    if (!complete)
        c->complete = 0;
    if (s.in_period)
        c->streams_with_period_events++;
    json_t *start_j;
    if (bi >= 0) {
        start_j = cp_json(&start);
    } else if (archived) {
        char h[2 * AUD_HASH_BYTES + 1];
        cmn_hex(start.hash, AUD_HASH_BYTES, h);
        start_j =
            json_pack("{s:b, s:I, s:s, s:s, s:s}", "archived", 1, "seq", (json_int_t)start.seq,
                      "hash", h, "manifest_sha256", anchor.manifest, "archived_at", anchor.at);
    } else {
        char g[2 * AUD_HASH_BYTES + 1];
        cmn_hex(start.hash, AUD_HASH_BYTES, g);
        start_j = json_pack("{s:b, s:i, s:s}", "genesis", 1, "seq", 0, "hash", g);
    }
    entry = json_pack(
        "{s:s, s:O, s:o, s:o, s:o, s:o, s:I, s:{s:I, s:I}, s:I, s:I, s:{s:b, s:s, s:I, s:I, "
        "s:I, s:I, s:O, s:I}, s:b}",
        "stream", name, "key_ids", key_ids, "start", start_j, "end",
        ai >= 0 ? cp_json(&after[ai]) : json_null(), "first_seq",
        s.first_in >= 0 ? json_integer(s.first_in) : json_null(), "last_seq",
        s.last_in >= 0 ? json_integer(s.last_in) : json_null(), "events_in_period",
        (json_int_t)s.in_period, "range", "from_seq", (json_int_t)(start.seq + 1), "to_seq",
        (json_int_t)end_seq, "events_listed", (json_int_t)s.listed, "events_hidden",
        (json_int_t)s.hidden, "verification", "ok", ok, "keys", "registered in the database",
        "events_checked", (json_int_t)s.listed, "database_checkpoints_in_range",
        (json_int_t)db_cps_in_range, "file_checkpoints_in_range", (json_int_t)s.file_checked,
        "file_lines", (json_int_t)(s.fs ? s.fs->lines : 0), "problems", s.problems,
        "problems_total", (json_int_t)s.nproblems, "complete", complete);
    if (entry && retired.seq > 0)
        json_object_set_new(entry, "retired",
                            json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)retired.seq, "at",
                                      retired.at, "by", retired.by));
    if (!entry || json_array_append_new(integrity, entry) != 0) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
    }
out:
    aud_keyring_free(&s.keys);
    json_decref(s.problems);
    json_decref(key_ids);
    return rc;
}
