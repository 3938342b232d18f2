/* One stream of `hubgate audit verify`: contract in verify_stream.h. */
#include "audit/verify_stream.h"
#include "audit/db.h"
#include "audit/verify_problem.h"
#include "audit/verify_read.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static const char *source(const vfy_cp_t *c)
{
    return c->from_file ? "checkpoint file's" : "database's";
}

static void add_key_id(aud_stream_report_t *sr, const char *id)
{
    if (strstr(sr->keys, id))
        return;
    size_t l = strlen(sr->keys);
    if (l + strlen(id) + 2 < sizeof(sr->keys))
        snprintf(sr->keys + l, sizeof(sr->keys) - l, "%s%s", l ? "," : "", id);
}

/* The signature's verdict, with a pinned key when keys are pinned, else with one the database
 * registered for the stream. */
static void check_signature(vfy_ctx_t *v, vfy_cp_t *c)
{
    c->sig_ok = aud_keyring_check(v->pinned.n ? &v->pinned : &v->keys, &c->cp);
}

static void report_cp_signature(vfy_ctx_t *v, const vfy_cp_t *c, const char *kind)
{
    char ts[28];
    aud_time_format(c->cp.ts_us, ts);
    if (c->sig_ok == 0)
        vfy_problem(v, v->sr->name, c->cp.seq, kind, "checkpoint_signature",
                    "the %s checkpoint at seq %lld (%s) has a signature that does not verify with "
                    "key %s: the checkpoint was altered or forged",
                    source(c), (long long)c->cp.seq, ts, c->cp.key_id);
    else if (c->sig_ok < 0)
        vfy_problem(v, v->sr->name, c->cp.seq, kind, "checkpoint_key",
                    "the %s checkpoint at seq %lld (%s) is signed by key %s, which is %s",
                    source(c), (long long)c->cp.seq, ts, c->cp.key_id,
                    v->pinned.n ? "not one of the --pubkey keys"
                                : "not registered for this stream");
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

/* Checks the checkpoints at x's seq against x's stored hash. */
static void checkpoints_at(vfy_ctx_t *v, const vfy_row_t *x, const char *kind)
{
    while (v->cp_next < v->n_cps && v->cps[v->cp_next].cp.seq <= x->seq) {
        vfy_cp_t *c = &v->cps[v->cp_next++];
        if (c->cp.seq < x->seq)
            continue; /* its event is missing: reported as deleted */
        c->checked = 1;
        report_cp_signature(v, c, kind);
        if (memcmp(c->cp.hash, x->hash, AUD_HASH_BYTES) != 0) {
            char ts[28], a[17], b[17];
            aud_time_format(c->cp.ts_us, ts);
            vfy_problem(v, v->sr->name, x->seq, kind, "checkpoint_hash",
                        "the %s checkpoint at seq %lld (%s) signed hash %s…, but the chain has %s… "
                        "there: events up to this seq were rewritten since it was signed",
                        source(c), (long long)c->cp.seq, ts, aud_chain_hash_short(c->cp.hash, a),
                        aud_chain_hash_short(x->hash, b));
        } else if (c->sig_ok == 1 && x->seq > v->sr->last_signed_seq) {
            v->sr->last_signed_seq = x->seq;
        }
    }
}

/* The walk's step for event x (its own checks done by a reader), next the event after it in
 * seq order (NULL at the end of the stream). */
static void analyze(vfy_ctx_t *v, pass_t *ps, const vfy_row_t *x, const vfy_row_t *next)
{
    const char *sname = v->sr->name;
    const char *kind = x->kind;
    const unsigned char *prev = x->prev;
    const unsigned char *hash = x->hash;

    int link_ok = memcmp(prev, ps->m1, AUD_HASH_BYTES) == 0;
    if (x->seq != ps->expect_seq) {
        if (x->seq > ps->expect_seq)
            vfy_problem(
                v, sname, ps->expect_seq, "", "deleted",
                x->seq - ps->expect_seq == 1
                    ? "event seq %lld is missing (deleted); the chain resumes at seq %lld"
                    : "events from seq %lld are missing (deleted); the chain resumes at seq "
                      "%lld",
                (long long)ps->expect_seq, (long long)x->seq);
    } else if (!link_ok && !ps->suppress_link) {
        if (next && memcmp(next->prev, ps->m1, AUD_HASH_BYTES) == 0 &&
            memcmp(prev, next->hash, AUD_HASH_BYTES) == 0) {
            vfy_problem(v, sname, x->seq, kind, "swapped",
                        "events seq %lld and %lld are in each other's place (reordered)",
                        (long long)x->seq, (long long)next->seq);
            ps->suppress_link = 2; /* this row and the next */
            ps->after_swap = 2;
            memcpy(ps->swap_hash, hash, AUD_HASH_BYTES);
        } else if (ps->have_m2 && memcmp(prev, ps->m2, AUD_HASH_BYTES) == 0) {
            vfy_problem(
                v, sname, x->seq - 1, ps->m1_kind, "inserted",
                "event seq %lld is not part of the chain: seq %lld follows seq %lld directly "
                "(an event was inserted)",
                (long long)(x->seq - 1), (long long)x->seq, (long long)(x->seq - 2));
        } else {
            vfy_problem(
                v, sname, x->seq, kind, "chain_break",
                "event seq %lld does not follow seq %lld (its prev_hash is not that event's "
                "hash): an event before it was removed, inserted or replaced",
                (long long)x->seq, (long long)(x->seq - 1));
        }
    }
    if (!x->hash_ok) {
        if (ps->suppress_content) {
            /* reported with its neighbour */
        } else if (next && x->next_fits) {
            vfy_problem(v, sname, x->seq, kind, "swapped",
                        "the contents of events seq %lld and %lld were exchanged",
                        (long long)x->seq, (long long)next->seq);
            ps->suppress_content = 2;
        } else {
            vfy_problem(v, sname, x->seq, kind, "modified",
                        "event seq %lld was modified: its content does not hash to its stored hash",
                        (long long)x->seq);
        }
    } else if (x->content == VFY_CONTENT_NONCANONICAL) {
        vfy_problem(v, sname, x->seq, kind, "noncanonical",
                    "event seq %lld is not a canonical hubgate event (%s): it was not written by "
                    "a hubgate writer",
                    (long long)x->seq, x->detail ? x->detail : "");
    } else if (x->content == VFY_CONTENT_COLUMNS) {
        vfy_problem(v, sname, x->seq, kind, "column_mismatch",
                    "event seq %lld: %s (a column was edited)", (long long)x->seq,
                    x->detail ? x->detail : "");
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
    memcpy(ps->m1_kind, kind, sizeof(ps->m1_kind));
    /* saturating: a forged seq of INT64_MAX leaves nothing that could follow it */
    ps->expect_seq = x->seq < INT64_MAX ? x->seq + 1 : INT64_MAX;
    v->sr->events++;
    if (!v->sr->first_seq)
        v->sr->first_seq = x->seq;
    v->sr->last_seq = x->seq;
}

/* The stream's archives (audit_archive, schema 008), oldest first: they must follow one
 * another from seq 1; the last one's (seq, hash) is where the chain is taken up. Returns 0 (no
 * archive: *seq 0), or CMN_ERR_DB. */
static int read_anchor(vfy_ctx_t *v, const char *id, int64_t *seq,
                       unsigned char hash[AUD_HASH_BYTES], char *err, size_t errlen)
{
    aud_stream_report_t *sr = v->sr;
    *seq = 0;
    if (!v->has_archive)
        return 0;
    const char *sv[1] = {id};
    PGresult *res = aud_db_rows(v->db,
                      "SELECT first_seq::text, last_seq::text, last_hash, partition, "
                      "to_char(archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                      "manifest_sha256 FROM audit_archive WHERE stream_id = $1::bigint "
                      "ORDER BY first_seq",
                      1, sv, 1, "reading archives", err, errlen);
    if (!res)
        return CMN_ERR_DB;
    /* binary format: the text casts keep the numbers readable */
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t first = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        int64_t last = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        if (first != *seq + 1 || last < first || PQgetlength(res, i, 2) != AUD_HASH_BYTES) {
            vfy_problem(v, sr->name, *seq + 1, "", "archive_gap",
                        "the archive of %.*s records seq %lld..%lld, but the stream's archives "
                        "before it end at seq %lld: events are missing between archives",
                        PQgetlength(res, i, 3), PQgetvalue(res, i, 3), (long long)first,
                        (long long)last, (long long)*seq);
            if (last <= *seq || PQgetlength(res, i, 2) != AUD_HASH_BYTES)
                continue;
        }
        *seq = last;
        memcpy(hash, PQgetvalue(res, i, 2), AUD_HASH_BYTES);
        snprintf(sr->archived_at, sizeof(sr->archived_at), "%.*s", PQgetlength(res, i, 4),
                 PQgetvalue(res, i, 4));
        snprintf(sr->archived_manifest, sizeof(sr->archived_manifest), "%.*s",
                 PQgetlength(res, i, 5), PQgetvalue(res, i, 5));
    }
    PQclear(res);
    sr->archived_seq = *seq;
    return 0;
}

/* A retired stream (audit_stream_retired, schema 009): its row must name its last event, a
 * stream.retired event with the row's hash (unless archived), and no event may follow. */
static int check_retired(vfy_ctx_t *v, const char *id, int64_t last, int64_t anchor, char *err,
                         size_t errlen)
{
    aud_stream_report_t *sr = v->sr;
    if (!v->has_retired)
        return 0;
    const char *sv[1] = {id};
    PGresult *res = aud_db_rows(v->db,
                      "SELECT r.seq::text, r.hash = e.hash, e.kind, e.seq IS NULL, "
                      "to_char(r.retired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                      "FROM audit_stream_retired r LEFT JOIN audit_event e ON e.stream_id = "
                      "r.stream_id AND e.seq = r.seq WHERE r.stream_id = $1::bigint",
                      1, sv, 0, "reading retirements", err, errlen);
    if (!res)
        return CMN_ERR_DB;
    if (PQntuples(res) == 1) {
        int64_t seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        sr->retired_seq = seq;
        snprintf(sr->retired_at, sizeof(sr->retired_at), "%s", PQgetvalue(res, 0, 4));
        int missing = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        if (last > seq)
            vfy_problem(v, sr->name, seq + 1, "", "after_retirement",
                        "the stream was retired at seq %lld, but it goes on to seq %lld: events "
                        "were added after its retirement",
                        (long long)seq, (long long)last);
        else if (missing ? seq > anchor
                         : strcmp(PQgetvalue(res, 0, 2), "stream.retired") != 0 ||
                               strcmp(PQgetvalue(res, 0, 1), "t") != 0)
            vfy_problem(v, sr->name, seq, missing ? "" : PQgetvalue(res, 0, 2), "retirement",
                        "audit_stream_retired names seq %lld, which is not the stream's "
                        "stream.retired event: the record or the event was altered",
                        (long long)seq);
    }
    PQclear(res);
    return 0;
}

static int cmp_cp(const void *a, const void *b)
{
    const vfy_cp_t *x = a, *y = b;
    if (x->cp.seq != y->cp.seq)
        return x->cp.seq < y->cp.seq ? -1 : 1;
    if (x->cp.ts_us != y->cp.ts_us)
        return x->cp.ts_us < y->cp.ts_us ? -1 : 1;
    return x->from_file - y->from_file;
}

int vfy_stream_run(vfy_ctx_t *v, const char *id, const char *name, const char *pem,
                   const char *key_id, const PGresult *extra_keys, size_t n_chunks, char *err,
                   size_t errlen)
{
    int rc = 0;
    PGresult *res = NULL;
    aud_stream_report_t *sr = v->sr;
    snprintf(sr->name, sizeof(sr->name), "%s", name);
    sr->last_signed_seq = -1;
    aud_chain_genesis(name, v->genesis);

    /* The stream's keys, each checked against its id. */
    aud_keyring_free(&v->keys);
    for (int i = -1; i < PQntuples(extra_keys); i++) {
        const char *kid = key_id, *kpem = pem;
        if (i >= 0) {
            if (strcmp(PQgetvalue(extra_keys, i, 0), id) != 0)
                continue;
            kid = PQgetvalue(extra_keys, i, 1);
            kpem = PQgetvalue(extra_keys, i, 2);
        }
        char why[400];
        aud_key_t *k = aud_key_from_registered(kid, kpem, why, sizeof(why));
        if (!k) {
            vfy_problem(v, name, -1, "", "stream_key", "%s", why);
            continue;
        }
        aud_key_t *pinned = aud_keyring_find(&v->pinned, kid);
        if (pinned && !aud_key_same_public(pinned, k))
            vfy_problem(v, name, -1, "", "stream_key",
                        "the database holds another public key under the pinned key id %s", kid);
        aud_keyring_add(&v->keys, k);
    }

    /* Checkpoints: the database's, then the file's for this stream. */
    const char *sv[1] = {id};
    res = aud_db_rows(v->db,
                      "SELECT seq, hash, ts, key_id, signature FROM audit_checkpoint WHERE "
                      "stream_id = $1::bigint ORDER BY seq, ts",
                      1, sv, 1, "reading checkpoints", err, errlen);
    if (!res) {
        rc = CMN_ERR_DB;
        goto out;
    }
    size_t ndb = (size_t)PQntuples(res), nfile = 0;
    for (size_t i = 0; i < v->n_file_cps; i++)
        nfile += strcmp(v->file_cps[i].stream, name) == 0;
    v->cps = calloc(ndb + nfile + 1, sizeof(vfy_cp_t));
    if (!v->cps) {
        rc = CMN_ERR_NOMEM;
        cmn_errf(err, errlen, "out of memory");
        goto out;
    }
    v->n_cps = 0;
    v->cp_next = 0;
    for (size_t i = 0; i < ndb; i++) {
        vfy_cp_t *c = &v->cps[v->n_cps++];
        aud_db_checkpoint(res, (int)i, name, &c->cp);
        check_signature(v, c);
        add_key_id(sr, c->cp.key_id);
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
            vfy_cp_t *c = &v->cps[j];
            if (c->cp.seq == f->seq && c->cp.ts_us == f->ts_us) {
                dup = 1;
                c->in_db = 1;
                if (memcmp(c->cp.sig, f->sig, AUD_SIG_BYTES) != 0 ||
                    memcmp(c->cp.hash, f->hash, AUD_HASH_BYTES) != 0) {
                    dup = 0; /* they differ: check the file's on its own too */
                }
                break;
            }
        }
        sr->file_checkpoints++;
        if (dup)
            continue;
        vfy_cp_t *c = &v->cps[v->n_cps++];
        c->cp = *f;
        c->from_file = 1;
        check_signature(v, c);
        add_key_id(sr, c->cp.key_id);
        int in_db = 0;
        for (size_t j = 0; j < ndb; j++)
            if (v->cps[j].cp.seq == f->seq && v->cps[j].cp.ts_us == f->ts_us)
                in_db = 1;
        if (!in_db && c->sig_ok == 1) {
            char ts[28];
            aud_time_format(c->cp.ts_us, ts);
            vfy_problem(v, name, c->cp.seq, "", "checkpoint_missing",
                        "the checkpoint file's checkpoint at seq %lld (%s) is not in the database: "
                        "checkpoints were removed",
                        (long long)c->cp.seq, ts);
        }
    }
    qsort(v->cps, v->n_cps, sizeof(vfy_cp_t), cmp_cp);

    /* Checkpoints of the empty chain (heartbeats before the first event). */
    while (v->cp_next < v->n_cps && v->cps[v->cp_next].cp.seq <= 0) {
        vfy_cp_t *c = &v->cps[v->cp_next++];
        c->checked = 1;
        report_cp_signature(v, c, "");
        if (c->cp.seq < 0 || memcmp(c->cp.hash, v->genesis, AUD_HASH_BYTES) != 0)
            vfy_problem(v, name, c->cp.seq, "", "checkpoint_hash",
                        "a checkpoint at seq %lld does not name the stream's genesis",
                        (long long)c->cp.seq);
        else if (c->sig_ok == 1 && sr->last_signed_seq < 0)
            sr->last_signed_seq = 0;
    }

    /* Archived events: the chain is taken up where the archives end. The checkpoints below
     * are proven by the archives' exports; one at the anchor must sign its hash. */
    int64_t anchor = 0;
    unsigned char anchor_hash[AUD_HASH_BYTES];
    if ((rc = read_anchor(v, id, &anchor, anchor_hash, err, errlen)) != 0)
        goto out;
    while (anchor && v->cp_next < v->n_cps && v->cps[v->cp_next].cp.seq <= anchor) {
        vfy_cp_t *c = &v->cps[v->cp_next++];
        if (c->cp.seq < anchor)
            continue;
        c->checked = 1;
        report_cp_signature(v, c, "");
        if (memcmp(c->cp.hash, anchor_hash, AUD_HASH_BYTES) != 0)
            vfy_problem(v, name, c->cp.seq, "", "checkpoint_hash",
                        "the %s checkpoint at seq %lld does not sign the hash the archive "
                        "recorded for that seq",
                        source(c), (long long)c->cp.seq);
        else if (c->sig_ok == 1 && sr->last_signed_seq < anchor)
            sr->last_signed_seq = anchor;
    }

    /* The events, in seq order, as the readers checked them (verify_read.h). */
    pass_t ps;
    memset(&ps, 0, sizeof(ps));
    ps.expect_seq = anchor + 1;
    memcpy(ps.m1, anchor ? anchor_hash : v->genesis, AUD_HASH_BYTES);
    for (size_t k = 0; k < n_chunks; k++) {
        const vfy_row_t *rows, *after;
        size_t n;
        if ((rc = vfy_read_next(v->reader, &rows, &n, &after, err, errlen)) != 0)
            goto out;
        for (size_t i = 0; i < n; i++)
            analyze(v, &ps, &rows[i], i + 1 < n ? &rows[i + 1] : after);
        vfy_read_release(v->reader);
    }

    /* Checkpoints beyond the last event: its tail was removed. */
    int64_t last = sr->events ? sr->last_seq : anchor; /* every event archived: the anchor */
    for (; v->cp_next < v->n_cps; v->cp_next++) {
        vfy_cp_t *c = &v->cps[v->cp_next];
        report_cp_signature(v, c, "");
        if (c->sig_ok != 1)
            continue;
        char ts[28];
        aud_time_format(c->cp.ts_us, ts);
        vfy_problem(
            v, name, last + 1, "", "truncated",
            "the stream ends at seq %lld, but the %s checkpoint signed at %s covers seq %lld: "
            "events %lld..%lld were removed",
            (long long)last, source(c), ts, (long long)c->cp.seq, (long long)(last + 1),
            (long long)c->cp.seq);
        break; /* one is enough: the others say the same */
    }
    /* the archived events were proven by their export */
    sr->unsigned_tail = last - (sr->last_signed_seq < anchor ? anchor : sr->last_signed_seq);
    if (sr->unsigned_tail < 0)
        sr->unsigned_tail = 0;
    rc = check_retired(v, id, last, anchor, err, errlen);
out:
    PQclear(res);
    aud_keyring_free(&v->keys);
    free(v->cps);
    v->cps = NULL;
    return rc;
}
