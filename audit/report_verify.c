/* Offline verification of a report directory (audit/report_verify.h; the format is
 * docs/evidence-format.md); how it is made, in report_verify_t.h. One pass over events.jsonl,
 * with a state per stream of report.json's integrity section, so that memory stays flat and
 * the order of the streams does not matter. */
#include "audit/report_verify.h"
#include "audit/report_verify_counts.h"
#include "audit/report_verify_events.h"
#include "audit/report_verify_files.h"
#include "audit/report_verify_problem.h"
#include "audit/report_verify_seq.h"
#include "audit/report_verify_t.h"
#include "common/clock.h"
#include "common/array.h"
#include "common/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the auditor's inputs ---- */

static int load_keys(rvf_ctx_t *v, char *err, size_t errlen)
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
    return aud_keyring_load(&v->keys, v->o->pubkey_files, v->o->n_pubkeys, err, errlen);
}

static int cmp_fcp(const void *a, const void *b)
{
    const rvf_fcp_t *x = a, *y = b;
    int c = strcmp(x->stream, y->stream);
    if (c)
        return c;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->ts_us < y->ts_us ? -1 : x->ts_us > y->ts_us;
}

/* One --checkpoint file being read. */
typedef struct {
    rvf_ctx_t *v;
    const char *path;
    char *err;
    size_t errlen;
} cp_file_t;

/* Keeps a checkpoint of a --checkpoint file. One whose signature does not verify with a pinned
 * key is a problem (the file is the auditor's own copy) and is left out of the comparisons. */
static int keep_file_cp(void *arg, const aud_checkpoint_t *cp, int64_t lineno)
{
    cp_file_t *f = arg;
    rvf_ctx_t *v = f->v;
    int ok = aud_keyring_check(&v->keys, cp);
    if (ok < 0) {
        rvf_problem(v, "checkpoint_key", f->path, lineno, cp->stream, cp->seq,
                    "the checkpoint at seq %lld is signed by key %s, which is not one of the "
                    "--pubkey keys",
                    (long long)cp->seq, cp->key_id);
        return 0;
    }
    if (ok == 0) {
        rvf_problem(v, "checkpoint_signature", f->path, lineno, cp->stream, cp->seq,
                    "the checkpoint at seq %lld has a signature that does not verify with key "
                    "%s: the file was altered",
                    (long long)cp->seq, cp->key_id);
        return 0;
    }
    if (v->n_fcps == v->fcps_cap && v->fcps_cap >= AUD_REPORT_VERIFY_MAX_FILE_CPS) {
        cmn_errf(f->err, f->errlen, "--checkpoint files hold more than %d checkpoints",
                 AUD_REPORT_VERIFY_MAX_FILE_CPS);
        return CMN_ERR_TOOBIG;
    }
    if (cmn_array_room(&v->fcps, &v->fcps_cap, v->n_fcps, sizeof(*v->fcps), 1024) != 0) {
        cmn_errf(f->err, f->errlen, "out of memory");
        return CMN_ERR_NOMEM;
    }
    rvf_fcp_t *c = &v->fcps[v->n_fcps++];
    memcpy(c->stream, cp->stream, sizeof(c->stream));
    c->seq = cp->seq;
    c->ts_us = cp->ts_us;
    memcpy(c->hash, cp->hash, AUD_HASH_BYTES);
    c->file = f->path;
    c->line = lineno;
    return 0;
}

static int load_checkpoint_files(rvf_ctx_t *v, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t fi = 0; fi < v->o->n_checkpoint_files && rc == 0; fi++) {
        cp_file_t f = {v, v->o->checkpoint_files[fi], err, errlen};
        int64_t lineno;
        char why[200];
        rc = aud_checkpoint_file_read(f.path, keep_file_cp, &f, &lineno, why, sizeof(why));
        if (rc == CMN_ERR_IO)
            cmn_errf(err, errlen, "--checkpoint %s: %s", f.path, strerror(errno));
        else if (rc == CMN_ERR_PARSE)
            cmn_errf(err, errlen, "--checkpoint %s:%lld: not a checkpoint: %s", f.path,
                     (long long)lineno, why);
    }
    if (rc == 0 && v->n_fcps)
        qsort(v->fcps, v->n_fcps, sizeof(rvf_fcp_t), cmp_fcp);
    return rc;
}

/* Streams that the --checkpoint files show active in the period must be in the report. */
static void check_missing_streams(rvf_ctx_t *v)
{
    const aud_report_verify_result_t *r = v->r;
    for (size_t i = 0; i < v->n_fcps;) {
        size_t j = i;
        int64_t before_seq = -1, after_seq = -1;
        int inside = 0;
        for (; j < v->n_fcps && strcmp(v->fcps[j].stream, v->fcps[i].stream) == 0; j++) {
            const rvf_fcp_t *c = &v->fcps[j];
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
            rvf_problem(v, "stream_missing", v->fcps[i].file, v->fcps[i].line, v->fcps[i].stream,
                        -1,
                        "the checkpoint file shows stream %s writing events in the period, but the "
                        "report has no such stream: its events were left out",
                        v->fcps[i].stream);
        i = j;
    }
}

int aud_report_verify_run(const aud_report_verify_options_t *o, aud_report_verify_result_t *r,
                          char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    rvf_ctx_t v;
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
    rvf_files_manifest(&v);
    rvf_files_check(&v);
    if (rvf_files_report(&v) == 0) {
        rvf_events_read(&v);
        rvf_seq_finish(&v);
        check_missing_streams(&v);
        rvf_counts_check(&v);
    } else if (v.events_listed >= 0) {
        /* still say whether events.jsonl is the file the manifest lists */
        unsigned char h[AUD_HASH_BYTES];
        if (rvf_files_hash(&v, RVF_EVENTS, h) != 0 ||
            memcmp(h, v.listed_hash[v.events_listed], AUD_HASH_BYTES) != 0)
            rvf_problem(&v, "file_hash", RVF_EVENTS, 0, NULL, -1,
                        "events.jsonl does not have the SHA-256 manifest.json lists");
    }
    r->ok = r->total_problems == 0;
out:
    r->seconds = (double)(cmn_mono_us() - t0) / 1e6;
    aud_keyring_free(&v.keys);
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

/* Where p is: its file, then its line, stream and seq when it has them, each after its
 * separator ("FILE:LINE: stream S seq N" in a list, "FILE line LINE stream S seq N" in the
 * verdict). */
static void print_place(const aud_report_verify_problem_t *p, const char *line_sep,
                        const char *stream_sep, FILE *out)
{
    fputs(p->file[0] ? p->file : "-", out);
    if (p->line > 0)
        fprintf(out, "%s%lld", line_sep, (long long)p->line);
    if (p->stream[0])
        fprintf(out, "%sstream %s", stream_sep, p->stream);
    if (p->seq >= 0)
        fprintf(out, " seq %lld", (long long)p->seq);
}

static void print_problem(const aud_report_verify_problem_t *p, FILE *out)
{
    fputs("  ", out);
    print_place(p, ":", ": ", out);
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
        if (s->archived_manifest[0])
            fprintf(out, ", seq 1..%lld archived %s (export manifest sha256 %s)",
                    (long long)s->start_seq, s->archived_at, s->archived_manifest);
        if (s->retired)
            fprintf(out, ", retired at seq %lld", (long long)s->end_seq);
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
        fprintf(out, "report verify: FAILED: %zu problems; first: ", r->total_problems);
        print_place(p, " line ", " ", out);
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
            streams, json_pack("{s:s, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:b}", "stream",
                               s->name, "start_seq", (json_int_t)s->start_seq, "end_seq",
                               s->end_seq >= 0 ? json_integer(s->end_seq) : json_null(), "events",
                               (json_int_t)s->events, "whole", (json_int_t)s->whole, "hidden",
                               (json_int_t)s->hidden, "in_period", (json_int_t)s->in_period,
                               "file_checkpoints", (json_int_t)s->file_checkpoints, "problems",
                               (json_int_t)s->problems, "archived",
                               s->archived_manifest[0]
                                   ? json_pack("{s:s, s:s}", "manifest_sha256",
                                               s->archived_manifest, "at", s->archived_at)
                                   : json_null(),
                               "retired", s->retired));
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
