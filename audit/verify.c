/* `hubgate audit verify`: contract in verify.h; how it is made, in verify_t.h. */
#include "audit/verify.h"
#include "audit/db.h"
#include "audit/limits.h"
#include "audit/verify_problem.h"
#include "audit/verify_read.h"
#include "audit/verify_stream.h"
#include "audit/verify_t.h"
#include "common/array.h"
#include "common/clock.h"
#include "common/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int add_file_cp(void *arg, const aud_checkpoint_t *cp, int64_t lineno)
{
    (void)lineno;
    vfy_ctx_t *v = arg;
    if (cmn_array_room(&v->file_cps, &v->file_cps_cap, v->n_file_cps, sizeof(*v->file_cps), 256))
        return CMN_ERR_NOMEM;
    v->file_cps[v->n_file_cps++] = *cp;
    return 0;
}

static int load_checkpoint_file(vfy_ctx_t *v, const char *path, char *err, size_t errlen)
{
    int64_t lineno;
    char why[200];
    int rc = aud_checkpoint_file_read(path, add_file_cp, v, &lineno, why, sizeof(why));
    if (rc == CMN_ERR_IO)
        cmn_errf(err, errlen, "%s: %s", path, strerror(errno));
    else if (rc == CMN_ERR_PARSE)
        cmn_errf(err, errlen, "%s:%lld: not a checkpoint: %s", path, (long long)lineno, why);
    else if (rc != 0)
        cmn_errf(err, errlen, "out of memory");
    if (rc == 0) {
        v->file_cp_stream_found = calloc(v->n_file_cps + 1, sizeof(int));
        if (!v->file_cp_stream_found) {
            cmn_errf(err, errlen, "out of memory");
            rc = CMN_ERR_NOMEM;
        }
    }
    return rc;
}

/* Reader threads: the caller's number, else one per CPU (each reader's connection keeps a
 * PostgreSQL backend busy about as long as the reader itself works on what it sends). */
static int readers_for(const aud_verify_options_t *o)
{
    long n = o->readers > 0 ? o->readers : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > AUD_VERIFY_MAX_READERS ? AUD_VERIFY_MAX_READERS : (int)n;
}

int aud_verify_run(const aud_verify_options_t *o, aud_verify_report_t *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    vfy_ctx_t v;
    memset(&v, 0, sizeof(v));
    v.o = o;
    v.r = r;
    v.max_problems = o->max_problems ? o->max_problems : 100;
    int64_t t0 = cmn_mono_us();
    int rc = 0;
    PGresult *streams = NULL, *keys = NULL;
    size_t *chunks = NULL; /* per stream */
    r->problems = calloc(v.max_problems, sizeof(aud_problem_t));
    if (!r->problems) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
    if ((rc = aud_keyring_load(&v.pinned, o->pubkey_files, o->n_pubkeys, err, errlen)))
        goto out;
    r->pinned = v.pinned.n > 0;
    if (o->checkpoint_file && (rc = load_checkpoint_file(&v, o->checkpoint_file, err, errlen)))
        goto out;

    /* One snapshot for everything, while writers may keep appending; exported, so that the
     * readers' connections see exactly what this one sees. */
    v.db = aud_db_snapshot(o->database_url, "hubgate audit verify", err, errlen);
    if (!v.db) {
        rc = CMN_ERR_DB;
        goto out;
    }
    char snapshot[128] = "";
    if (aud_db_snapshot_export(v.db, snapshot, sizeof(snapshot)) != 0) {
        /* Without one to share (a server that refuses to export), this connection reads
         * alone, in a snapshot of its own taken now. */
        PQfinish(v.db);
        v.db = aud_db_snapshot(o->database_url, "hubgate audit verify", err, errlen);
        if (!v.db) {
            rc = CMN_ERR_DB;
            goto out;
        }
    }
    v.reader = vfy_read_pool_new(v.db);
    if (!v.reader) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
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
    if ((v.has_archive = aud_db_has_table(v.db, "audit_archive", "reading archives", err,
                                          errlen)) < 0 ||
        (v.has_retired = aud_db_has_table(v.db, "audit_stream_retired", "reading retirements",
                                          err, errlen)) < 0) {
        rc = CMN_ERR_DB;
        goto out;
    }
    int ns = PQntuples(streams);
    r->streams = calloc((size_t)ns + 1, sizeof(aud_stream_report_t));
    chunks = calloc((size_t)ns + 1, sizeof(*chunks));
    if (!r->streams || !chunks) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
    /* Every stream's events cut into chunks first, so that the readers run ahead across
     * streams while each is walked in turn. */
    for (int i = 0; i < ns; i++)
        if ((rc = vfy_read_plan(v.reader, strtoll(PQgetvalue(streams, i, 0), NULL, 10), &chunks[i],
                                err, errlen)))
            goto out;
    vfy_read_start(v.reader, o->database_url, snapshot[0] ? snapshot : NULL, readers_for(o));
    for (int i = 0; i < ns; i++) {
        v.sr = &r->streams[r->n_streams++];
        rc = vfy_stream_run(&v, PQgetvalue(streams, i, 0), PQgetvalue(streams, i, 1),
                            PQgetvalue(streams, i, 2), PQgetvalue(streams, i, 3), keys, chunks[i],
                            err, errlen);
        if (rc)
            goto out;
        r->events += v.sr->events;
        r->checkpoints += v.sr->checkpoints;
    }
    v.sr = NULL;
    if (o->stream && ns == 0)
        vfy_problem(&v, o->stream, -1, "", "stream_missing", "stream %s is not in the database",
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
            vfy_problem(&v, v.file_cps[i].stream, v.file_cps[i].seq, "", "stream_missing",
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
                vfy_problem(&v, label, atoll(PQgetvalue(orphans, i, 2)), "", "orphan_events",
                            "%s events have stream id %s, which no registered stream has: they "
                            "were inserted by hand",
                            PQgetvalue(orphans, i, 1), PQgetvalue(orphans, i, 0));
            }
        }
        PQclear(orphans);
    }
    aud_db_exec(v.db, "COMMIT", NULL, NULL, 0);
    r->ok = r->total_problems == 0;
out:
    vfy_problems_sort(r);
    r->seconds = (double)(cmn_mono_us() - t0) / 1e6;
    PQclear(streams);
    PQclear(keys);
    if (v.db)
        PQfinish(v.db);
    aud_keyring_free(&v.pinned);
    free(v.file_cps);
    free(v.file_cp_stream_found);
    vfy_read_pool_free(v.reader);
    free(chunks);
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
        if (s->archived_seq)
            fprintf(out, ", seq 1..%lld archived %s (export manifest sha256 %s)",
                    (long long)s->archived_seq, s->archived_at, s->archived_manifest);
        if (s->retired_seq)
            fprintf(out, ", retired at seq %lld on %s", (long long)s->retired_seq, s->retired_at);
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
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:o}", "stream",
                      s->name, "events", (json_int_t)s->events, "first_seq",
                      (json_int_t)s->first_seq, "last_seq", (json_int_t)s->last_seq, "checkpoints",
                      (json_int_t)s->checkpoints, "file_checkpoints",
                      (json_int_t)s->file_checkpoints, "last_signed_seq",
                      (json_int_t)s->last_signed_seq, "unsigned_tail", (json_int_t)s->unsigned_tail,
                      "keys", keys, "problems", (json_int_t)s->problems, "archived",
                      s->archived_seq
                          ? json_pack("{s:I, s:s, s:s}", "to_seq", (json_int_t)s->archived_seq,
                                      "at", s->archived_at, "manifest_sha256", s->archived_manifest)
                          : json_null(),
                      "retired",
                      s->retired_seq ? json_pack("{s:I, s:s}", "seq", (json_int_t)s->retired_seq,
                                                 "at", s->retired_at)
                                     : json_null()));
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
