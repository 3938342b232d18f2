#include "audit/verify.h"
#include "audit/chain.h"
#include "audit/db.h"
#include "audit/event.h"
#include "common/clock.h"
#include "common/sha256.h"
#include "common/buf.h"
#include "common/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NFIELDS  17
#define MAX_KEYS 64

typedef struct {
    int64_t seq;
    unsigned char hash[AUD_HASH_BYTES];
    int64_t ts_us;
    char key_id[AUD_KEY_ID_LEN + 1];
    unsigned char sig[AUD_SIG_BYTES];
    int from_file;
    int in_db;   /* a file checkpoint that the database also holds */
    int sig_ok;  /* 1 valid, 0 invalid, -1 unknown key */
    int checked; /* compared with the chain */
} cp_t;

typedef struct {
    char id[AUD_KEY_ID_LEN + 1];
    aud_key_t *key;
} keyref_t;

/* One row of the COPY: pointers into the message buffer (owned by `buf`). */
typedef struct {
    char *buf;
    const char *f[NFIELDS];
    int len[NFIELDS]; /* -1: NULL */
    int64_t seq;
} row_t;

typedef struct {
    const aud_verify_options_t *o;
    aud_verify_report_t *r;
    size_t max_problems;
    PGconn *db;
    aud_hasher_t hasher;
    aud_parsed_t parsed;
    keyref_t pinned[MAX_KEYS];
    size_t n_pinned;
    aud_checkpoint_t *file_cps;
    size_t n_file_cps;
    int *file_cp_stream_found;
    /* per stream */
    aud_stream_report_t *sr;
    keyref_t keys[MAX_KEYS];
    size_t n_keys;
    cp_t *cps;
    size_t n_cps, cp_next;
    unsigned char genesis[AUD_HASH_BYTES];
} vctx_t;

static void problem(vctx_t *v, const char *stream, int64_t seq, const char *kind, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void problem(vctx_t *v, const char *stream, int64_t seq, const char *kind, const char *code,
                    const char *fmt, ...)
{
    aud_verify_report_t *r = v->r;
    r->total_problems++;
    if (v->sr)
        v->sr->problems++;
    if (r->n_problems >= v->max_problems)
        return;
    aud_problem_t *p = &r->problems[r->n_problems++];
    snprintf(p->stream, sizeof(p->stream), "%s", stream);
    p->seq = seq;
    snprintf(p->kind, sizeof(p->kind), "%s", kind ? kind : "");
    p->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
}

static const char *short_hex(const unsigned char *h, char out[17])
{
    cmn_hex(h, 8, out);
    return out;
}

/* ---- keys ---- */

static aud_key_t *find_key(keyref_t *keys, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].id, id) == 0)
            return keys[i].key;
    return NULL;
}

static void add_key_id(aud_stream_report_t *sr, const char *id)
{
    if (strstr(sr->keys, id))
        return;
    size_t l = strlen(sr->keys);
    if (l + strlen(id) + 2 < sizeof(sr->keys))
        snprintf(sr->keys + l, sizeof(sr->keys) - l, "%s%s", l ? "," : "", id);
}

/* The key that must have signed a checkpoint with this key id: a pinned one when keys are
 * pinned, else one the database registered for the stream. */
static aud_key_t *signing_key(vctx_t *v, const char *id)
{
    if (v->n_pinned)
        return find_key(v->pinned, v->n_pinned, id);
    return find_key(v->keys, v->n_keys, id);
}

static void check_signature(vctx_t *v, cp_t *c)
{
    aud_checkpoint_t cp;
    memset(&cp, 0, sizeof(cp));
    snprintf(cp.stream, sizeof(cp.stream), "%s", v->sr->name);
    cp.seq = c->seq;
    memcpy(cp.hash, c->hash, AUD_HASH_BYTES);
    cp.ts_us = c->ts_us;
    memcpy(cp.key_id, c->key_id, sizeof(cp.key_id));
    memcpy(cp.sig, c->sig, AUD_SIG_BYTES);
    aud_key_t *k = signing_key(v, c->key_id);
    if (!k)
        c->sig_ok = -1;
    else
        c->sig_ok = aud_checkpoint_verify(&cp, k) == 0;
}

static void report_cp_signature(vctx_t *v, const cp_t *c, const char *kind)
{
    char ts[28];
    aud_time_format(c->ts_us, ts);
    if (c->sig_ok == 0)
        problem(v, v->sr->name, c->seq, kind, "checkpoint_signature",
                "the %s checkpoint at seq %lld (%s) has a signature that does not verify with "
                "key %s: the checkpoint was altered or forged",
                c->from_file ? "checkpoint file's" : "database's", (long long)c->seq, ts,
                c->key_id);
    else if (c->sig_ok < 0)
        problem(v, v->sr->name, c->seq, kind, "checkpoint_key",
                "the %s checkpoint at seq %lld (%s) is signed by key %s, which is %s",
                c->from_file ? "checkpoint file's" : "database's", (long long)c->seq, ts, c->key_id,
                v->n_pinned ? "not one of the --pubkey keys" : "not registered for this stream");
}

/* ---- reading rows ---- */

static int parse_row(row_t *row, char *buf, int len)
{
    const unsigned char *p = (const unsigned char *)buf, *end = p + len;
    row->buf = buf;
    if (end - p < 2)
        return -1;
    int n = (int16_t)((p[0] << 8) | p[1]);
    p += 2;
    if (n == -1)
        return 0; /* trailer */
    if (n != NFIELDS)
        return -1;
    for (int i = 0; i < NFIELDS; i++) {
        if (end - p < 4)
            return -1;
        int32_t l = (int32_t)aud_rd32(p);
        p += 4;
        if (l < 0) {
            row->f[i] = NULL;
            row->len[i] = -1;
            continue;
        }
        if (end - p < l)
            return -1;
        row->f[i] = (const char *)p;
        row->len[i] = l;
        p += l;
    }
    if (row->len[0] != 8 || row->len[1] != AUD_HASH_BYTES || row->len[2] != AUD_HASH_BYTES ||
        row->len[3] < 0)
        return -1;
    row->seq = (int64_t)aud_rd64((const unsigned char *)row->f[0]);
    return 1;
}

/* Reads the next row of the COPY. Returns 1, 0 at the end, -1 on error. */
static int next_row(vctx_t *v, row_t *row, int *header_done, char *err, size_t errlen)
{
    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(v->db, &buf, 0);
        if (n == -1)
            return 0;
        if (n < 0) {
            aud_db_oneline(err, errlen, "reading events: ", PQerrorMessage(v->db));
            return -1;
        }
        char *p = buf;
        if (!*header_done) {
            if (n < 19 || memcmp(p, "PGCOPY\n\377\r\n\0", 11) != 0) {
                PQfreemem(buf);
                cmn_errf(err, errlen, "reading events: not a binary COPY stream");
                return -1;
            }
            p += 19;
            n -= 19;
            *header_done = 1;
            if (n == 0) {
                PQfreemem(buf);
                continue;
            }
        }
        int rc = parse_row(row, p, n);
        row->buf = buf;
        if (rc < 0) {
            PQfreemem(buf);
            cmn_errf(err, errlen, "reading events: malformed row");
            return -1;
        }
        if (rc == 0) {
            PQfreemem(buf);
            continue; /* the trailer; the end follows */
        }
        return 1;
    }
}

/* ---- one stream ---- */

static int text_eq(const row_t *x, int i, const char *want)
{
    if (!want)
        return x->len[i] < 0;
    return x->len[i] >= 0 && (size_t)x->len[i] == strlen(want) &&
           memcmp(x->f[i], want, (size_t)x->len[i]) == 0;
}

static void show_text(const row_t *x, int i, char *out, size_t cap)
{
    if (x->len[i] < 0)
        snprintf(out, cap, "NULL");
    else
        snprintf(out, cap, "\"%.*s\"", x->len[i] > 60 ? 60 : x->len[i], x->f[i]);
}

static void show_want(const char *want, char *out, size_t cap)
{
    if (!want)
        snprintf(out, cap, "NULL");
    else
        snprintf(out, cap, "\"%.60s\"", want);
}

/* Compares the columns with those the event yields. Returns the first column that differs,
 * or NULL, with both values shown in `detail`. */
static const char *columns_differ(const row_t *x, const aud_columns_t *c, char *detail, size_t cap)
{
    static const char *const names[] = {"kind", "request_id", "actor",    "org",
                                        "repo", "action",     "decision", "rule"};
    const char *want[] = {c->kind, c->request_id, c->actor,    c->org,
                          c->repo, c->action,     c->decision, c->rule};
    char a[80], b[80];
    for (int i = 0; i < 8; i++) {
        if (!text_eq(x, 4 + i, want[i])) {
            show_text(x, 4 + i, a, sizeof(a));
            show_want(want[i], b, sizeof(b));
            snprintf(detail, cap, "column %s is %s but the event says %s", names[i], a, b);
            return names[i];
        }
    }
    int status_ok =
        c->status == AUD_ABSENT
            ? x->len[12] < 0
            : x->len[12] == 4 && (int32_t)aud_rd32((const unsigned char *)x->f[12]) == c->status;
    if (!status_ok) {
        snprintf(detail, cap, "column status is %s but the event says %d",
                 x->len[12] == 4 ? "set" : "NULL", c->status);
        if (x->len[12] == 4)
            snprintf(detail, cap, "column status is %d but the event says %d",
                     (int)(int32_t)aud_rd32((const unsigned char *)x->f[12]), c->status);
        return "status";
    }
    const int64_t nums[2] = {c->bytes_in, c->bytes_out};
    for (int i = 0; i < 2; i++) {
        int fi = 13 + i;
        int ok =
            nums[i] == AUD_ABSENT
                ? x->len[fi] < 0
                : x->len[fi] == 8 && (int64_t)aud_rd64((const unsigned char *)x->f[fi]) == nums[i];
        if (!ok) {
            snprintf(detail, cap, "column %s differs from the event (%lld)",
                     i ? "bytes_out" : "bytes_in", (long long)nums[i]);
            return i ? "bytes_out" : "bytes_in";
        }
    }
    int ip_ok;
    if (!c->ip_family) {
        ip_ok = x->len[15] < 0;
    } else {
        int nb = c->ip_family == 4 ? 4 : 16;
        const unsigned char *q = (const unsigned char *)x->f[15];
        ip_ok = x->len[15] == 4 + nb && q[0] == (c->ip_family == 4 ? 2 : 3) && q[1] == nb * 8 &&
                q[3] == nb && memcmp(q + 4, c->ip, (size_t)nb) == 0;
    }
    if (!ip_ok) {
        snprintf(detail, cap, "column client_ip differs from the event (%s)",
                 c->client_ip ? c->client_ip : "none");
        return "client_ip";
    }
    if (x->len[16] != 8 ||
        (int64_t)aud_rd64((const unsigned char *)x->f[16]) + AUD_PG_EPOCH_US != c->ts_us) {
        char ts[28];
        aud_time_format(c->ts_us, ts);
        snprintf(detail, cap, "column ts differs from the event (%s)", ts);
        return "ts";
    }
    return NULL;
}

typedef struct {
    int64_t expect_seq;
    unsigned char m1[AUD_HASH_BYTES]; /* stored hash of the previous row (genesis at first) */
    unsigned char m2[AUD_HASH_BYTES]; /* of the row before it */
    int have_m2;
    char m1_kind[32];
    int suppress_link, suppress_content;
    int after_swap;
    unsigned char swap_hash[AUD_HASH_BYTES];
} pass_t;

static void row_kind(const row_t *x, char out[32])
{
    int l = x->len[4] < 0 ? 0 : x->len[4] > 31 ? 31 : x->len[4];
    memcpy(out, x->f[4], (size_t)l);
    out[l] = '\0';
}

/* Checks the checkpoints at x's seq against x's stored hash. */
static void checkpoints_at(vctx_t *v, const row_t *x, const char *kind)
{
    while (v->cp_next < v->n_cps && v->cps[v->cp_next].seq <= x->seq) {
        cp_t *c = &v->cps[v->cp_next++];
        if (c->seq < x->seq)
            continue; /* its event is missing: reported as deleted */
        c->checked = 1;
        report_cp_signature(v, c, kind);
        if (memcmp(c->hash, x->f[2], AUD_HASH_BYTES) != 0) {
            char ts[28], a[17], b[17];
            aud_time_format(c->ts_us, ts);
            problem(v, v->sr->name, x->seq, kind, "checkpoint_hash",
                    "the %s checkpoint at seq %lld (%s) signed hash %s…, but the chain has %s… "
                    "there: events up to this seq were rewritten since it was signed",
                    c->from_file ? "checkpoint file's" : "database's", (long long)c->seq, ts,
                    short_hex(c->hash, a), short_hex((const unsigned char *)x->f[2], b));
        } else if (c->sig_ok == 1 && x->seq > v->sr->last_signed_seq) {
            v->sr->last_signed_seq = x->seq;
        }
    }
}

static void analyze(vctx_t *v, pass_t *ps, const row_t *x, const row_t *next)
{
    const char *sname = v->sr->name;
    char kind[32];
    row_kind(x, kind);
    const unsigned char *prev = (const unsigned char *)x->f[1];
    const unsigned char *hash = (const unsigned char *)x->f[2];
    const char *canon = x->f[3];
    size_t clen = (size_t)x->len[3];
    unsigned char computed[AUD_HASH_BYTES];
    aud_chain_next(&v->hasher, prev, canon, clen, computed);

    int link_ok = memcmp(prev, ps->m1, AUD_HASH_BYTES) == 0;
    if (x->seq != ps->expect_seq) {
        if (x->seq > ps->expect_seq)
            problem(v, sname, ps->expect_seq, "", "deleted",
                    x->seq - ps->expect_seq == 1
                        ? "event seq %lld is missing (deleted); the chain resumes at seq %lld"
                        : "events from seq %lld are missing (deleted); the chain resumes at seq "
                          "%lld",
                    (long long)ps->expect_seq, (long long)x->seq);
    } else if (!link_ok && !ps->suppress_link) {
        if (next && memcmp(next->f[1], ps->m1, AUD_HASH_BYTES) == 0 &&
            memcmp(prev, next->f[2], AUD_HASH_BYTES) == 0) {
            problem(v, sname, x->seq, kind, "swapped",
                    "events seq %lld and %lld are in each other's place (reordered)",
                    (long long)x->seq, (long long)next->seq);
            ps->suppress_link = 2; /* this row and the next */
            ps->after_swap = 2;
            memcpy(ps->swap_hash, hash, AUD_HASH_BYTES);
        } else if (ps->have_m2 && memcmp(prev, ps->m2, AUD_HASH_BYTES) == 0) {
            problem(v, sname, x->seq - 1, ps->m1_kind, "inserted",
                    "event seq %lld is not part of the chain: seq %lld follows seq %lld directly "
                    "(an event was inserted)",
                    (long long)(x->seq - 1), (long long)x->seq, (long long)(x->seq - 2));
        } else {
            problem(v, sname, x->seq, kind, "chain_break",
                    "event seq %lld does not follow seq %lld (its prev_hash is not that event's "
                    "hash): an event before it was removed, inserted or replaced",
                    (long long)x->seq, (long long)(x->seq - 1));
        }
    }
    if (memcmp(computed, hash, AUD_HASH_BYTES) != 0) {
        unsigned char alt[AUD_HASH_BYTES];
        if (ps->suppress_content) {
            /* reported with its neighbour */
        } else if (next && (aud_chain_next(&v->hasher, prev, next->f[3], (size_t)next->len[3], alt),
                            memcmp(alt, hash, AUD_HASH_BYTES) == 0)) {
            problem(v, sname, x->seq, kind, "swapped",
                    "the contents of events seq %lld and %lld were exchanged", (long long)x->seq,
                    (long long)next->seq);
            ps->suppress_content = 2;
        } else {
            problem(v, sname, x->seq, kind, "modified",
                    "event seq %lld was modified: its content does not hash to its stored hash",
                    (long long)x->seq);
        }
    } else {
        char why[200];
        if (aud_event_parse(&v->parsed, canon, clen, why, sizeof(why)) != 0) {
            problem(v, sname, x->seq, kind, "noncanonical",
                    "event seq %lld is not a canonical hubgate event (%s): it was not written by "
                    "a hubgate writer",
                    (long long)x->seq, why);
        } else {
            aud_columns_t c;
            char detail[300];
            aud_event_columns(&v->parsed.ev, &c);
            if (columns_differ(x, &c, detail, sizeof(detail)))
                problem(v, sname, x->seq, kind, "column_mismatch",
                        "event seq %lld: %s (a column was edited)", (long long)x->seq, detail);
        }
    }
    checkpoints_at(v, x, kind);

    if (ps->suppress_link)
        ps->suppress_link--;
    if (ps->suppress_content)
        ps->suppress_content--;
    memcpy(ps->m2, ps->m1, AUD_HASH_BYTES);
    ps->have_m2 = 1;
    if (ps->after_swap == 1)
        memcpy(ps->m1, ps->swap_hash, AUD_HASH_BYTES); /* the pair's first row came last */
    else
        memcpy(ps->m1, hash, AUD_HASH_BYTES);
    if (ps->after_swap)
        ps->after_swap--;
    memcpy(ps->m1_kind, kind, sizeof(kind));
    ps->expect_seq = x->seq + 1;
    v->sr->events++;
    if (!v->sr->first_seq)
        v->sr->first_seq = x->seq;
    v->sr->last_seq = x->seq;
}

static int cmp_cp(const void *a, const void *b)
{
    const cp_t *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    if (x->ts_us != y->ts_us)
        return x->ts_us < y->ts_us ? -1 : 1;
    return x->from_file - y->from_file;
}

static int verify_stream(vctx_t *v, const char *id, const char *name, const char *pem,
                         const char *key_id, PGresult *extra_keys, char *err, size_t errlen)
{
    int rc = 0;
    PGresult *res = NULL;
    aud_stream_report_t *sr = v->sr;
    snprintf(sr->name, sizeof(sr->name), "%s", name);
    sr->last_signed_seq = -1;
    aud_chain_genesis(name, v->genesis);

    /* The stream's keys, each checked against its id. */
    v->n_keys = 0;
    for (int i = -1; i < PQntuples(extra_keys); i++) {
        const char *kid = key_id, *kpem = pem;
        if (i >= 0) {
            if (strcmp(PQgetvalue(extra_keys, i, 0), id) != 0)
                continue;
            kid = PQgetvalue(extra_keys, i, 1);
            kpem = PQgetvalue(extra_keys, i, 2);
        }
        char why[200];
        aud_key_t *k = aud_key_from_pem(kpem, strlen(kpem), why, sizeof(why));
        if (!k) {
            problem(v, name, -1, "", "stream_key", "the stream's key %s is unreadable: %s", kid,
                    why);
            continue;
        }
        if (strcmp(aud_key_id(k), kid) != 0) {
            problem(v, name, -1, "", "stream_key",
                    "the stream's key registered as %s is in fact key %s", kid, aud_key_id(k));
            aud_key_free(k);
            continue;
        }
        aud_key_t *pinned = find_key(v->pinned, v->n_pinned, kid);
        if (pinned && !aud_key_same_public(pinned, k))
            problem(v, name, -1, "", "stream_key",
                    "the database holds another public key under the pinned key id %s", kid);
        if (v->n_keys < MAX_KEYS) {
            snprintf(v->keys[v->n_keys].id, sizeof(v->keys[v->n_keys].id), "%s", kid);
            v->keys[v->n_keys++].key = k;
        } else {
            aud_key_free(k);
        }
    }

    /* Checkpoints: the database's, then the file's for this stream. */
    const char *sv[1] = {id};
    res = PQexecParams(v->db,
                       "SELECT seq, hash, ts, key_id, signature FROM audit_checkpoint WHERE "
                       "stream_id = $1::bigint ORDER BY seq, ts",
                       1, NULL, sv, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        aud_db_oneline(err, errlen, "reading checkpoints: ", PQresultErrorMessage(res));
        rc = CMN_ERR_DB;
        goto out;
    }
    size_t ndb = (size_t)PQntuples(res), nfile = 0;
    for (size_t i = 0; i < v->n_file_cps; i++)
        nfile += strcmp(v->file_cps[i].stream, name) == 0;
    v->cps = calloc(ndb + nfile + 1, sizeof(cp_t));
    if (!v->cps) {
        rc = CMN_ERR_NOMEM;
        cmn_errf(err, errlen, "out of memory");
        goto out;
    }
    v->n_cps = 0;
    v->cp_next = 0;
    for (size_t i = 0; i < ndb; i++) {
        cp_t *c = &v->cps[v->n_cps++];
        c->seq = (int64_t)aud_rd64((const unsigned char *)PQgetvalue(res, (int)i, 0));
        if (PQgetlength(res, (int)i, 1) == AUD_HASH_BYTES)
            memcpy(c->hash, PQgetvalue(res, (int)i, 1), AUD_HASH_BYTES);
        c->ts_us =
            (int64_t)aud_rd64((const unsigned char *)PQgetvalue(res, (int)i, 2)) + AUD_PG_EPOCH_US;
        snprintf(c->key_id, sizeof(c->key_id), "%.*s", PQgetlength(res, (int)i, 3),
                 PQgetvalue(res, (int)i, 3));
        if (PQgetlength(res, (int)i, 4) == AUD_SIG_BYTES)
            memcpy(c->sig, PQgetvalue(res, (int)i, 4), AUD_SIG_BYTES);
        check_signature(v, c);
        add_key_id(sr, c->key_id);
    }
    sr->checkpoints = (int64_t)ndb;
    PQclear(res);
    res = NULL;
    for (size_t i = 0; i < v->n_file_cps; i++) {
        const aud_checkpoint_t *f = &v->file_cps[i];
        if (strcmp(f->stream, name) != 0)
            continue;
        v->file_cp_stream_found[i] = 1;
        /* The same checkpoint as a database row: the row speaks for both. */
        int dup = 0;
        for (size_t j = 0; j < ndb; j++) {
            cp_t *c = &v->cps[j];
            if (c->seq == f->seq && c->ts_us == f->ts_us) {
                dup = 1;
                c->in_db = 1;
                if (memcmp(c->sig, f->sig, AUD_SIG_BYTES) != 0 ||
                    memcmp(c->hash, f->hash, AUD_HASH_BYTES) != 0) {
                    dup = 0; /* they differ: check the file's on its own too */
                }
                break;
            }
        }
        sr->file_checkpoints++;
        if (dup)
            continue;
        cp_t *c = &v->cps[v->n_cps++];
        c->seq = f->seq;
        memcpy(c->hash, f->hash, AUD_HASH_BYTES);
        c->ts_us = f->ts_us;
        memcpy(c->key_id, f->key_id, sizeof(c->key_id));
        memcpy(c->sig, f->sig, AUD_SIG_BYTES);
        c->from_file = 1;
        check_signature(v, c);
        add_key_id(sr, c->key_id);
        int in_db = 0;
        for (size_t j = 0; j < ndb; j++)
            if (v->cps[j].seq == f->seq && v->cps[j].ts_us == f->ts_us)
                in_db = 1;
        if (!in_db && c->sig_ok == 1) {
            char ts[28];
            aud_time_format(c->ts_us, ts);
            problem(v, name, c->seq, "", "checkpoint_missing",
                    "the checkpoint file's checkpoint at seq %lld (%s) is not in the database: "
                    "checkpoints were removed",
                    (long long)c->seq, ts);
        }
    }
    qsort(v->cps, v->n_cps, sizeof(cp_t), cmp_cp);

    /* Checkpoints of the empty chain (heartbeats before the first event). */
    while (v->cp_next < v->n_cps && v->cps[v->cp_next].seq <= 0) {
        cp_t *c = &v->cps[v->cp_next++];
        c->checked = 1;
        report_cp_signature(v, c, "");
        if (c->seq < 0 || memcmp(c->hash, v->genesis, AUD_HASH_BYTES) != 0)
            problem(v, name, c->seq, "", "checkpoint_hash",
                    "a checkpoint at seq %lld does not name the stream's genesis",
                    (long long)c->seq);
        else if (c->sig_ok == 1 && sr->last_signed_seq < 0)
            sr->last_signed_seq = 0;
    }

    /* The events, in seq order, streamed. */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "COPY (SELECT seq, prev_hash, hash, canonical, kind, request_id, actor, org, repo, "
             "action, decision, rule, status, bytes_in, bytes_out, client_ip, ts FROM "
             "audit_event WHERE stream_id = %lld ORDER BY seq) TO STDOUT (FORMAT binary)",
             atoll(id));
    res = PQexec(v->db, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        aud_db_oneline(err, errlen, "reading events: ", PQresultErrorMessage(res));
        rc = CMN_ERR_DB;
        goto out;
    }
    PQclear(res);
    res = NULL;
    pass_t ps;
    memset(&ps, 0, sizeof(ps));
    ps.expect_seq = 1;
    memcpy(ps.m1, v->genesis, AUD_HASH_BYTES);
    row_t a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    row_t *pending = &a, *cur = &b;
    int have = 0, header = 0, n;
    while ((n = next_row(v, cur, &header, err, errlen)) == 1) {
        if (have) {
            analyze(v, &ps, pending, cur);
            PQfreemem(pending->buf);
        }
        row_t *t = pending;
        pending = cur;
        cur = t;
        have = 1;
    }
    if (have) {
        if (n >= 0)
            analyze(v, &ps, pending, NULL);
        PQfreemem(pending->buf);
    }
    /* the COPY's final result */
    while ((res = PQgetResult(v->db)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && n >= 0) {
            aud_db_oneline(err, errlen, "reading events: ", PQresultErrorMessage(res));
            n = -1;
        }
        PQclear(res);
    }
    if (n < 0) {
        rc = CMN_ERR_DB;
        goto out;
    }

    /* Checkpoints beyond the last event: its tail was removed. */
    for (; v->cp_next < v->n_cps; v->cp_next++) {
        cp_t *c = &v->cps[v->cp_next];
        report_cp_signature(v, c, "");
        if (c->sig_ok != 1)
            continue;
        char ts[28];
        aud_time_format(c->ts_us, ts);
        problem(v, name, sr->last_seq + 1, "", "truncated",
                "the stream ends at seq %lld, but the %s checkpoint signed at %s covers seq %lld: "
                "events %lld..%lld were removed",
                (long long)sr->last_seq, c->from_file ? "checkpoint file's" : "database's", ts,
                (long long)c->seq, (long long)(sr->last_seq + 1), (long long)c->seq);
        break; /* one is enough: the others say the same */
    }
    sr->unsigned_tail = sr->last_seq - (sr->last_signed_seq < 0 ? 0 : sr->last_signed_seq);
    if (sr->unsigned_tail < 0)
        sr->unsigned_tail = 0;
out:
    PQclear(res);
    for (size_t i = 0; i < v->n_keys; i++)
        aud_key_free(v->keys[i].key);
    v->n_keys = 0;
    free(v->cps);
    v->cps = NULL;
    return rc;
}

/* ---- inputs ---- */

static int load_checkpoint_file(vctx_t *v, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cmn_errf(err, errlen, "%s: %s", path, strerror(errno));
        return CMN_ERR_IO;
    }
    size_t cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
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
        if (v->n_file_cps == cap) {
            cap = cap ? cap * 2 : 256;
            aud_checkpoint_t *nc = realloc(v->file_cps, cap * sizeof(*nc));
            if (!nc) {
                rc = CMN_ERR_NOMEM;
                cmn_errf(err, errlen, "out of memory");
                break;
            }
            v->file_cps = nc;
        }
        char why[200];
        if (aud_checkpoint_parse(line, len, &v->file_cps[v->n_file_cps], why, sizeof(why)) != 0) {
            cmn_errf(err, errlen, "%s:%d: not a checkpoint: %s", path, lineno, why);
            rc = CMN_ERR_PARSE;
            break;
        }
        v->n_file_cps++;
    }
    free(line);
    fclose(f);
    if (rc == 0) {
        v->file_cp_stream_found = calloc(v->n_file_cps + 1, sizeof(int));
        if (!v->file_cp_stream_found) {
            cmn_errf(err, errlen, "out of memory");
            rc = CMN_ERR_NOMEM;
        }
    }
    return rc;
}

static int problem_rank(const char *code)
{
    return strncmp(code, "checkpoint_", 11) == 0 || strcmp(code, "truncated") == 0;
}

static int exec_ok(PGconn *db, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(db, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        aud_db_oneline(err, errlen, "", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : CMN_ERR_DB;
}

int aud_verify_run(const aud_verify_options_t *o, aud_verify_report_t *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    vctx_t v;
    memset(&v, 0, sizeof(v));
    v.o = o;
    v.r = r;
    v.max_problems = o->max_problems ? o->max_problems : 100;
    int64_t t0 = cmn_mono_us();
    int rc = 0;
    PGresult *streams = NULL, *keys = NULL;
    r->problems = calloc(v.max_problems, sizeof(aud_problem_t));
    if (!r->problems || aud_hasher_init(&v.hasher) != 0) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < o->n_pubkeys; i++) {
        char why[300];
        aud_key_t *k = aud_key_load(o->pubkey_files[i], why, sizeof(why));
        if (!k) {
            cmn_errf(err, errlen, "--pubkey %s", why);
            rc = CMN_ERR_IO;
            goto out;
        }
        if (v.n_pinned >= MAX_KEYS) {
            aud_key_free(k);
            continue;
        }
        snprintf(v.pinned[v.n_pinned].id, sizeof(v.pinned[0].id), "%s", aud_key_id(k));
        v.pinned[v.n_pinned++].key = k;
    }
    r->pinned = v.n_pinned > 0;
    if (o->checkpoint_file && (rc = load_checkpoint_file(&v, o->checkpoint_file, err, errlen)))
        goto out;

    v.db = aud_db_connect(o->database_url, "hubgate audit verify", err, errlen);
    if (!v.db) {
        rc = CMN_ERR_DB;
        goto out;
    }
    /* One snapshot for everything, while writers may keep appending. */
    if ((rc = exec_ok(v.db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen)))
        goto out;
    const char *sv[1] = {o->stream};
    streams = PQexecParams(v.db,
                           "SELECT id, name, public_key, key_id FROM audit_stream WHERE $1::text "
                           "IS NULL OR name = $1 ORDER BY name",
                           1, NULL, sv, NULL, NULL, 0);
    keys = PQexec(v.db, "SELECT stream_id, key_id, public_key FROM audit_stream_key ORDER BY 1, 2");
    if (PQresultStatus(streams) != PGRES_TUPLES_OK || PQresultStatus(keys) != PGRES_TUPLES_OK) {
        aud_db_oneline(
            err, errlen, "reading streams (is the database migrated?): ",
            PQresultErrorMessage(PQresultStatus(streams) != PGRES_TUPLES_OK ? streams : keys));
        rc = CMN_ERR_DB;
        goto out;
    }
    int ns = PQntuples(streams);
    r->streams = calloc((size_t)ns + 1, sizeof(aud_stream_report_t));
    if (!r->streams) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < ns; i++) {
        v.sr = &r->streams[r->n_streams++];
        rc = verify_stream(&v, PQgetvalue(streams, i, 0), PQgetvalue(streams, i, 1),
                           PQgetvalue(streams, i, 2), PQgetvalue(streams, i, 3), keys, err, errlen);
        if (rc)
            goto out;
        r->events += v.sr->events;
        r->checkpoints += v.sr->checkpoints;
    }
    v.sr = NULL;
    if (o->stream && ns == 0)
        problem(&v, o->stream, -1, "", "stream_missing", "stream %s is not in the database",
                o->stream);
    /* Checkpoint-file streams the database does not have at all. */
    for (size_t i = 0; i < v.n_file_cps; i++) {
        if (v.file_cp_stream_found[i] ||
            (o->stream && strcmp(o->stream, v.file_cps[i].stream) != 0))
            continue;
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= !v.file_cp_stream_found[j] &&
                    strcmp(v.file_cps[j].stream, v.file_cps[i].stream) == 0;
        if (!seen && (!o->stream || ns > 0))
            problem(&v, v.file_cps[i].stream, v.file_cps[i].seq, "", "stream_missing",
                    "the checkpoint file signs stream %s up to seq %lld, but the database has "
                    "no such stream: it was removed",
                    v.file_cps[i].stream, (long long)v.file_cps[i].seq);
    }
    /* Events that belong to no registered stream. */
    if (!o->stream) {
        PGresult *orphans =
            PQexec(v.db, "SELECT stream_id, count(*), min(seq) FROM audit_event e "
                         "WHERE NOT EXISTS (SELECT 1 FROM audit_stream s WHERE s.id = "
                         "e.stream_id) GROUP BY stream_id ORDER BY stream_id");
        if (PQresultStatus(orphans) == PGRES_TUPLES_OK) {
            for (int i = 0; i < PQntuples(orphans); i++) {
                char label[40];
                snprintf(label, sizeof(label), "(stream id %s)", PQgetvalue(orphans, i, 0));
                problem(&v, label, atoll(PQgetvalue(orphans, i, 2)), "", "orphan_events",
                        "%s events have stream id %s, which no registered stream has: they "
                        "were inserted by hand",
                        PQgetvalue(orphans, i, 1), PQgetvalue(orphans, i, 0));
            }
        }
        PQclear(orphans);
    }
    exec_ok(v.db, "COMMIT", NULL, 0);
    r->ok = r->total_problems == 0;
out:
    /* Problems in stream order, then seq, events before checkpoints at the same seq (a
     * forged event explains the checkpoint that no longer matches), else as found. */
    for (size_t i = 1; r->problems && i < r->n_problems; i++) {
        aud_problem_t p = r->problems[i];
        size_t j = i;
        while (j > 0 && strcmp(r->problems[j - 1].stream, p.stream) == 0 &&
               (r->problems[j - 1].seq > p.seq ||
                (r->problems[j - 1].seq == p.seq &&
                 problem_rank(r->problems[j - 1].code) > problem_rank(p.code)))) {
            r->problems[j] = r->problems[j - 1];
            j--;
        }
        r->problems[j] = p;
    }
    r->seconds = (double)(cmn_mono_us() - t0) / 1e6;
    PQclear(streams);
    PQclear(keys);
    if (v.db)
        PQfinish(v.db);
    for (size_t i = 0; i < v.n_pinned; i++)
        aud_key_free(v.pinned[i].key);
    free(v.file_cps);
    free(v.file_cp_stream_found);
    aud_parsed_free(&v.parsed);
    aud_hasher_free(&v.hasher);
    if (rc)
        r->ok = 0;
    return rc;
}

void aud_verify_report_free(aud_verify_report_t *r)
{
    if (!r)
        return;
    free(r->streams);
    free(r->problems);
    r->streams = NULL;
    r->problems = NULL;
}

/* ---- output ---- */

void aud_verify_print_text(const aud_verify_report_t *r, FILE *out)
{
    for (size_t i = 0; i < r->n_streams; i++) {
        const aud_stream_report_t *s = &r->streams[i];
        fprintf(out, "stream %s: %lld events", s->name, (long long)s->events);
        if (s->events)
            fprintf(out, " (seq %lld..%lld)", (long long)s->first_seq, (long long)s->last_seq);
        fprintf(out, ", %lld checkpoints", (long long)s->checkpoints);
        if (s->file_checkpoints)
            fprintf(out, " (+%lld in the checkpoint file)", (long long)s->file_checkpoints);
        if (s->last_signed_seq >= 0)
            fprintf(out, ", signed up to seq %lld", (long long)s->last_signed_seq);
        else
            fprintf(out, ", no valid checkpoint");
        if (s->unsigned_tail)
            fprintf(out, ", %lld events after the last checkpoint", (long long)s->unsigned_tail);
        if (s->keys[0])
            fprintf(out, ", key %s", s->keys);
        fprintf(out, ": %s\n", s->problems ? "FAILED" : "ok");
    }
    for (size_t i = 0; i < r->n_problems; i++) {
        const aud_problem_t *p = &r->problems[i];
        fprintf(out, "  %s", p->stream);
        if (p->seq >= 0)
            fprintf(out, " seq %lld", (long long)p->seq);
        if (p->kind[0])
            fprintf(out, " (%s)", p->kind);
        fprintf(out, ": %s: %s\n", p->code, p->message);
    }
    if (r->total_problems > r->n_problems)
        fprintf(out, "  … and %zu more problems\n", r->total_problems - r->n_problems);
    if (!r->pinned)
        fprintf(out, "note: signatures were checked with the keys stored in the database; pass "
                     "--pubkey FILE to check them against a key you hold\n");
    double rate = r->seconds > 0 ? (double)r->events / r->seconds : 0;
    if (r->ok) {
        fprintf(out,
                "verify: OK: %zu streams, %lld events, %lld checkpoints in %.2f s (%.0f "
                "events/s)\n",
                r->n_streams, (long long)r->events, (long long)r->checkpoints, r->seconds, rate);
    } else if (r->n_problems) {
        const aud_problem_t *p = &r->problems[0];
        fprintf(out, "verify: FAILED: %zu problems; first: stream %s", r->total_problems,
                p->stream);
        if (p->seq >= 0)
            fprintf(out, " seq %lld", (long long)p->seq);
        fprintf(out, " kind %s: %s\n", p->kind[0] ? p->kind : "-", p->code);
    } else {
        fprintf(out, "verify: FAILED\n");
    }
}

static json_t *problem_json(const aud_problem_t *p)
{
    return json_pack("{s:s, s:o, s:o, s:s, s:s}", "stream", p->stream, "seq",
                     p->seq >= 0 ? json_integer(p->seq) : json_null(), "kind",
                     p->kind[0] ? json_string(p->kind) : json_null(), "problem", p->code, "message",
                     p->message);
}

void aud_verify_print_json(const aud_verify_report_t *r, FILE *out)
{
    json_t *streams = json_array(), *problems = json_array();
    for (size_t i = 0; i < r->n_streams; i++) {
        const aud_stream_report_t *s = &r->streams[i];
        json_t *keys = json_array();
        char buf[sizeof(s->keys)];
        snprintf(buf, sizeof(buf), "%s", s->keys);
        for (char *save = NULL, *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save))
            json_array_append_new(keys, json_string(k));
        json_array_append_new(
            streams,
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I}", "stream", s->name,
                      "events", (json_int_t)s->events, "first_seq", (json_int_t)s->first_seq,
                      "last_seq", (json_int_t)s->last_seq, "checkpoints",
                      (json_int_t)s->checkpoints, "file_checkpoints",
                      (json_int_t)s->file_checkpoints, "last_signed_seq",
                      (json_int_t)s->last_signed_seq, "unsigned_tail", (json_int_t)s->unsigned_tail,
                      "keys", keys, "problems", (json_int_t)s->problems));
    }
    for (size_t i = 0; i < r->n_problems; i++)
        json_array_append_new(problems, problem_json(&r->problems[i]));
    json_t *o =
        json_pack("{s:b, s:I, s:I, s:f, s:b, s:o, s:o, s:o, s:I}", "ok", r->ok, "events",
                  (json_int_t)r->events, "checkpoints", (json_int_t)r->checkpoints, "seconds",
                  r->seconds, "pinned_keys", r->pinned, "first_problem",
                  r->n_problems ? problem_json(&r->problems[0]) : json_null(), "streams", streams,
                  "problems", problems, "problems_total", (json_int_t)r->total_problems);
    json_dumpf(o, out, JSON_COMPACT);
    fputc('\n', out);
    json_decref(o);
}
