/* The events of `hubgate audit verify`, read in parallel: contract in verify_read.h. */
#include "audit/verify_read.h"
#include "audit/db.h"
#include "audit/limits.h"
#include "common/array.h"
#include "common/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFIELDS 17

/* The columns, in the order each row's fields come. */
#define ROW_COLUMNS                                                                                \
    "seq, prev_hash, hash, canonical, kind, request_id, actor, org, repo, action, decision, "      \
    "rule, status, bytes_in, bytes_out, client_ip, ts"

/* A chunk of the plan: rows of stream_id from seq lo, below hi (hi < 0: to the end), plus the
 * row at hi (the next chunk's first). */
typedef struct {
    int64_t stream_id, lo, hi;
} chunk_t;

/* Where a chunk being read or waiting to be consumed keeps its rows. */
typedef struct {
    vfy_row_t *rows;
    size_t n, cap;
    vfy_row_t next;
    int has_next;
    int state; /* SLOT_FREE, SLOT_READING, SLOT_DONE */
    int rc;
    char err[300];
} slot_t;

enum { SLOT_FREE, SLOT_READING, SLOT_DONE };

/* What reading needs per thread: a connection in the snapshot, a hasher, a parse store. */
typedef struct {
    struct vfy_reader_pool *rp;
    PGconn *db;
    aud_hasher_t hasher;
    aud_parsed_t parsed;
    pthread_t thread;
} reader_t;

struct vfy_reader_pool {
    PGconn *db; /* the snapshot's connection: planning, and reading when no thread runs */
    chunk_t *plan;
    size_t n_plan, plan_cap;
    slot_t slots[AUD_VERIFY_WINDOW];
    reader_t *readers;
    int n_readers;
    reader_t inline_reader; /* the consumer's own, when n_readers == 0 */
    int inline_ready;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next_take; /* the next chunk a reader takes */
    size_t consumed;  /* chunks released by the consumer */
    int alive;        /* reader threads still taking chunks */
    int stop;
};

/* ---- one row ---- */

/* A row of ROW_COLUMNS, as the binary COPY reader splits it (audit/db.h). */
typedef aud_db_fields_t fields_t;
_Static_assert(NFIELDS <= AUD_DB_COPY_MAX_FIELDS, "a row fits the COPY reader");

static int text_eq(const fields_t *x, int i, const char *want)
{
    if (!want)
        return x->len[i] < 0;
    size_t wl = strlen(want);
    return x->len[i] >= 0 && (size_t)x->len[i] == wl && memcmp(x->f[i], want, wl) == 0;
}

static void show_text(const fields_t *x, int i, char *out, size_t cap)
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

/* Compares the columns with those the event yields. Returns 1 when one differs, with both
 * values shown in `detail`, else 0. */
static int columns_differ(const fields_t *x, const aud_columns_t *c, char *detail, size_t cap)
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
            return 1;
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
        return 1;
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
            return 1;
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
        return 1;
    }
    if (x->len[16] != 8 ||
        (int64_t)aud_rd64((const unsigned char *)x->f[16]) + AUD_PG_EPOCH_US != c->ts_us) {
        char ts[28];
        aud_time_format(c->ts_us, ts);
        snprintf(detail, cap, "column ts differs from the event (%s)", ts);
        return 1;
    }
    return 0;
}

/* An event's own checks into r: its hash, then (when it holds) its canonical form and columns.
 * Returns 0 or CMN_ERR_NOMEM. */
static int check_row(reader_t *rd, const fields_t *x, vfy_row_t *r)
{
    memset(r, 0, sizeof(*r));
    r->seq = (int64_t)aud_rd64((const unsigned char *)x->f[0]);
    memcpy(r->prev, x->f[1], AUD_HASH_BYTES);
    memcpy(r->hash, x->f[2], AUD_HASH_BYTES);
    int kl = x->len[4] < 0 ? 0 : x->len[4] > 31 ? 31 : x->len[4];
    memcpy(r->kind, x->f[4], (size_t)kl);
    r->kind[kl] = '\0';
    unsigned char computed[AUD_HASH_BYTES];
    aud_chain_next(&rd->hasher, r->prev, x->f[3], (size_t)x->len[3], computed);
    r->hash_ok = memcmp(computed, r->hash, AUD_HASH_BYTES) == 0;
    if (!r->hash_ok)
        return 0;
    char why[300];
    if (aud_event_parse(&rd->parsed, x->f[3], (size_t)x->len[3], why, 200) != 0) {
        r->content = VFY_CONTENT_NONCANONICAL;
    } else {
        aud_columns_t c;
        aud_event_columns(&rd->parsed.ev, &c);
        if (!columns_differ(x, &c, why, sizeof(why)))
            return 0;
        r->content = VFY_CONTENT_COLUMNS;
    }
    r->detail = strdup(why);
    return r->detail ? 0 : CMN_ERR_NOMEM;
}

/* ---- one chunk ---- */

static void slot_clear(slot_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->rows[i].detail);
    s->n = 0;
    s->has_next = 0;
    s->rc = 0;
    s->err[0] = '\0';
}

typedef struct {
    reader_t *rd;
    const chunk_t *ck;
    slot_t *s;
} read_t;

/* One row of a chunk: checked and kept, or, past the chunk, kept as the next one's first. */
static int read_row(void *ctx, const fields_t *x)
{
    read_t *rr = ctx;
    reader_t *rd = rr->rd;
    const chunk_t *ck = rr->ck;
    slot_t *s = rr->s;
    int rc = 0;
    int64_t seq = (int64_t)aud_rd64((const unsigned char *)x->f[0]);
    vfy_row_t *r = &s->next;
    if (ck->hi < 0 || seq < ck->hi) {
        if (cmn_array_room(&s->rows, &s->cap, s->n, sizeof(*s->rows), 1024)) {
            rc = CMN_ERR_NOMEM;
        } else {
            r = &s->rows[s->n++];
            rc = check_row(rd, x, r);
        }
    } else {
        /* The next chunk's first row: its link, and whether its text fits the hash of
         * the row before it, are all this chunk needs of it. */
        memset(r, 0, sizeof(*r));
        r->seq = seq;
        memcpy(r->prev, x->f[1], AUD_HASH_BYTES);
        memcpy(r->hash, x->f[2], AUD_HASH_BYTES);
        s->has_next = 1;
    }
    /* The row before, if its hash failed: is this row's text what it was? (swapped) */
    vfy_row_t *before = r == &s->next ? (s->n ? &s->rows[s->n - 1] : NULL)
                                      : (s->n > 1 ? &s->rows[s->n - 2] : NULL);
    if (!rc && before && !before->hash_ok) {
        unsigned char alt[AUD_HASH_BYTES];
        aud_chain_next(&rd->hasher, before->prev, x->f[3], (size_t)x->len[3], alt);
        before->next_fits = memcmp(alt, before->hash, AUD_HASH_BYTES) == 0;
    }
    if (rc == CMN_ERR_NOMEM)
        cmn_errf(s->err, sizeof(s->err), "out of memory");
    return rc;
}

/* Reads chunk ck into s on rd's connection. Returns 0 or an error with s->err set. */
static int read_chunk(reader_t *rd, const chunk_t *ck, slot_t *s)
{
    char sql[600];
    char upto[48] = "";
    if (ck->hi >= 0)
        snprintf(upto, sizeof(upto), " AND seq <= %lld", (long long)ck->hi);
    snprintf(sql, sizeof(sql),
             "COPY (SELECT " ROW_COLUMNS " FROM audit_event WHERE stream_id = %lld AND seq >= "
             "%lld%s ORDER BY seq) TO STDOUT (FORMAT binary)",
             (long long)ck->stream_id, (long long)ck->lo, upto);
    read_t r = {rd, ck, s};
    return aud_db_copy_out(rd->db, sql, NFIELDS, read_row, &r, "reading events", s->err,
                           sizeof(s->err));
}

/* ---- the pool ---- */

static int reader_init(reader_t *rd, vfy_reader_pool_t *rp, PGconn *db)
{
    memset(rd, 0, sizeof(*rd));
    rd->rp = rp;
    rd->db = db;
    return aud_hasher_init(&rd->hasher);
}

static void reader_free(reader_t *rd)
{
    aud_hasher_free(&rd->hasher);
    aud_parsed_free(&rd->parsed);
}

static void *reader_main(void *arg)
{
    reader_t *rd = arg;
    vfy_reader_pool_t *rp = rd->rp;
    pthread_mutex_lock(&rp->mu);
    for (;;) {
        while (!rp->stop && rp->next_take < rp->n_plan &&
               rp->next_take >= rp->consumed + AUD_VERIFY_WINDOW)
            pthread_cond_wait(&rp->cv, &rp->mu);
        if (rp->stop || rp->next_take >= rp->n_plan)
            break;
        size_t i = rp->next_take++;
        slot_t *s = &rp->slots[i % AUD_VERIFY_WINDOW];
        s->state = SLOT_READING;
        pthread_mutex_unlock(&rp->mu);
        slot_clear(s);
        int rc = read_chunk(rd, &rp->plan[i], s);
        pthread_mutex_lock(&rp->mu);
        s->rc = rc;
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&rp->cv);
        if (rc)
            break; /* this connection is of no more use; the consumer stops at this chunk */
    }
    rp->alive--;
    pthread_cond_broadcast(&rp->cv);
    pthread_mutex_unlock(&rp->mu);
    return NULL;
}

vfy_reader_pool_t *vfy_read_pool_new(PGconn *db)
{
    vfy_reader_pool_t *rp = calloc(1, sizeof(*rp));
    if (!rp)
        return NULL;
    rp->db = db;
    pthread_mutex_init(&rp->mu, NULL);
    pthread_cond_init(&rp->cv, NULL);
    return rp;
}

int vfy_read_plan(vfy_reader_pool_t *rp, int64_t stream_id, size_t *n_chunks, char *err,
                  size_t errlen)
{
    /* Each boundary is the first seq at or after the previous one plus the chunk size: one
     * probe of the primary key each. The last boundary stops short of bigint's end. */
    char id[24], size[24];
    snprintf(id, sizeof(id), "%lld", (long long)stream_id);
    snprintf(size, sizeof(size), "%d", AUD_VERIFY_CHUNK_EVENTS);
    const char *pv[2] = {id, size};
    PGresult *res = aud_db_rows(
        rp->db,
        "WITH RECURSIVE b(s) AS (SELECT min(seq) FROM audit_event WHERE stream_id = $1::bigint "
        "UNION ALL SELECT (SELECT min(seq) FROM audit_event WHERE stream_id = $1::bigint AND seq "
        ">= b.s + $2::bigint) FROM b WHERE b.s IS NOT NULL AND b.s <= 9223372036854775807 - "
        "$2::bigint) SELECT s FROM b WHERE s IS NOT NULL",
        2, pv, 0, "reading events", err, errlen);
    if (!res)
        return CMN_ERR_DB;
    int n = PQntuples(res), rc = 0;
    *n_chunks = 0;
    for (int i = 0; i < n; i++) {
        if (cmn_array_room(&rp->plan, &rp->plan_cap, rp->n_plan, sizeof(*rp->plan), 64)) {
            cmn_errf(err, errlen, "out of memory");
            rc = CMN_ERR_NOMEM;
            break;
        }
        chunk_t *ck = &rp->plan[rp->n_plan++];
        ck->stream_id = stream_id;
        ck->lo = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        ck->hi = i + 1 < n ? strtoll(PQgetvalue(res, i + 1, 0), NULL, 10) : -1;
        (*n_chunks)++;
    }
    PQclear(res);
    return rc;
}

void vfy_read_start(vfy_reader_pool_t *rp, const char *url, const char *snapshot, int n_threads)
{
    if (n_threads > AUD_VERIFY_MAX_READERS)
        n_threads = AUD_VERIFY_MAX_READERS;
    if (snapshot && n_threads > 0 && rp->n_plan > 1)
        rp->readers = calloc((size_t)n_threads, sizeof(*rp->readers));
    for (int i = 0; rp->readers && i < n_threads; i++) {
        char err[300], sql[160];
        PGconn *db = aud_db_snapshot(url, "hubgate audit verify", err, sizeof(err));
        snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT '%.100s'", snapshot);
        if (db && aud_db_exec(db, sql, NULL, err, sizeof(err)) != 0) {
            PQfinish(db);
            db = NULL;
        }
        reader_t *rd = &rp->readers[rp->n_readers];
        if (!db)
            break;
        if (reader_init(rd, rp, db) != 0) {
            reader_free(rd);
            PQfinish(db);
            break;
        }
        pthread_mutex_lock(&rp->mu);
        rp->alive++;
        pthread_mutex_unlock(&rp->mu);
        if (pthread_create(&rd->thread, NULL, reader_main, rd) != 0) {
            pthread_mutex_lock(&rp->mu);
            rp->alive--;
            pthread_mutex_unlock(&rp->mu);
            reader_free(rd);
            PQfinish(db);
            break;
        }
        rp->n_readers++;
    }
}

int vfy_read_next(vfy_reader_pool_t *rp, const vfy_row_t **rows, size_t *n, const vfy_row_t **next,
                  char *err, size_t errlen)
{
    size_t i = rp->consumed;
    if (i >= rp->n_plan) {
        cmn_errf(err, errlen, "reading events: no chunk left"); /* a caller's bug */
        return CMN_ERR_INVAL;
    }
    slot_t *s = &rp->slots[i % AUD_VERIFY_WINDOW];
    int rc;
    if (rp->n_readers == 0) {
        if (!rp->inline_ready) {
            if (reader_init(&rp->inline_reader, rp, rp->db) != 0) {
                cmn_errf(err, errlen, "out of memory");
                return CMN_ERR_NOMEM;
            }
            rp->inline_ready = 1;
        }
        slot_clear(s);
        rc = read_chunk(&rp->inline_reader, &rp->plan[i], s);
    } else {
        pthread_mutex_lock(&rp->mu);
        /* Until a reader has read it; none left to take it means they all stopped on errors
         * of their own (the first of which is in the slot of the chunk it failed). */
        while (!(i < rp->next_take && s->state == SLOT_DONE) && rp->alive > 0)
            pthread_cond_wait(&rp->cv, &rp->mu);
        rc = i < rp->next_take && s->state == SLOT_DONE ? s->rc : CMN_ERR_DB;
        const char *why = s->err;
        for (size_t k = rp->consumed; rc && !why[0] && k < rp->next_take; k++) {
            const slot_t *o = &rp->slots[k % AUD_VERIFY_WINDOW];
            if (o->state == SLOT_DONE && o->rc)
                why = o->err;
        }
        if (rc)
            cmn_errf(err, errlen, "%s", why[0] ? why : "reading events: a reader stopped");
        pthread_mutex_unlock(&rp->mu);
    }
    if (rc) {
        if (rp->n_readers == 0)
            cmn_errf(err, errlen, "%s", s->err);
        return rc;
    }
    *rows = s->rows;
    *n = s->n;
    *next = s->has_next ? &s->next : NULL;
    return 0;
}

void vfy_read_release(vfy_reader_pool_t *rp)
{
    pthread_mutex_lock(&rp->mu);
    slot_t *s = &rp->slots[rp->consumed % AUD_VERIFY_WINDOW];
    s->state = SLOT_FREE;
    rp->consumed++;
    pthread_cond_broadcast(&rp->cv);
    pthread_mutex_unlock(&rp->mu);
}

void vfy_read_pool_free(vfy_reader_pool_t *rp)
{
    if (!rp)
        return;
    pthread_mutex_lock(&rp->mu);
    rp->stop = 1;
    pthread_cond_broadcast(&rp->cv);
    pthread_mutex_unlock(&rp->mu);
    for (int i = 0; i < rp->n_readers; i++) {
        /* A reader in the middle of a COPY finishes its chunk first: at most one chunk. */
        pthread_join(rp->readers[i].thread, NULL);
        PQfinish(rp->readers[i].db);
        reader_free(&rp->readers[i]);
    }
    free(rp->readers);
    if (rp->inline_ready)
        reader_free(&rp->inline_reader);
    for (size_t i = 0; i < AUD_VERIFY_WINDOW; i++) {
        slot_clear(&rp->slots[i]);
        free(rp->slots[i].rows);
    }
    free(rp->plan);
    pthread_cond_destroy(&rp->cv);
    pthread_mutex_destroy(&rp->mu);
    free(rp);
}
