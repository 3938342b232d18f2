/* The policy versions in force in a report's period (CC8.1) and what each let whom hold
 * (CC6.2/CC6.3): the version each stream had loaded when the period began, then every version
 * loaded during it. Each version's text comes from policy_version and is parsed with the
 * policy library: its membership entries as written, its embedded tests run again, and its
 * diff against the version it replaced. */
#include "audit/report_policy.h"
#include "audit/db.h"
#include "audit/limits.h"
#include "audit/report_stats.h"
#include "common/buf.h"
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    aud_report_loaded_t l; /* its loads in the period (0: none, in force from before) */
    int at_start;          /* in force when the period began */
    json_t *start_loads;   /* [{stream, ts, trigger, git_*}] of the loads before the period */
    pol_policy_t *policy;  /* NULL: text not recorded or unreadable */
    json_t *problem;       /* why the text could not be used */
} version_t;

static version_t *find(version_t *v, size_t n, const char *sha)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].l.sha256, sha) == 0)
            return &v[i];
    return NULL;
}

/* The version l names, found among v[0..*n) or added (NULL when RPT_MAX_VERSIONS are known). */
static version_t *version(version_t *v, size_t *n, const aud_report_loaded_t *l)
{
    version_t *x = find(v, *n, l->sha256);
    if (x || *n >= RPT_MAX_VERSIONS)
        return x;
    x = &v[(*n)++];
    memset(x, 0, sizeof(*x));
    x->l = *l;
    x->l.loads = 0;
    return x;
}

/* The text of one version, parsed; NULL with v->problem set when it cannot be. */
static pol_policy_t *load_text(rpt_ctx_t *c, const char *sha, json_t **problem, char *err,
                               size_t errlen, int *db_failed)
{
    const char *p[1] = {sha};
    PGresult *r = aud_db_rows(c->db, "SELECT content FROM policy_version WHERE sha256 = $1", 1, p,
                              0, "reading policy_version", err, errlen);
    if (!r) {
        *db_failed = 1;
        return NULL;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        *problem = json_string("the policy text of this version is not in policy_version");
        return NULL;
    }
    const char *text = PQgetvalue(r, 0, 0);
    size_t len = (size_t)PQgetlength(r, 0, 0);
    char name[80];
    snprintf(name, sizeof(name), "policy %.12s", sha);
    cmn_buf_t errors;
    cmn_buf_init(&errors, 64 * 1024);
    pol_policy_t *pol = pol_policy_parse(text, len, name, c->o->policy_options, &errors);
    PQclear(r);
    if (!pol) {
        char line[300];
        snprintf(line, sizeof(line), "the recorded text does not parse: %.*s",
                 errors.data ? (int)strcspn(errors.data, "\n") : 0, errors.data ? errors.data : "");
        *problem = json_string(line);
    } else if (strcmp(pol_policy_sha256(pol), sha) != 0) {
        *problem = json_string("the recorded text does not hash to this version's SHA-256");
        pol_policy_unref(pol);
        pol = NULL;
    }
    cmn_buf_free(&errors);
    return pol;
}

static int grant_json(void *ctx, const pol_grant_t *g)
{
    json_t *arr = ctx;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "org", g->org, "role", pol_role_name(g->role),
                          g->kind, g->value, "path", g->path);
    if (!o)
        return CMN_ERR_NOMEM;
    if (g->resource_group) {
        json_t *repos = json_array();
        for (size_t i = 0; repos && i < g->nrepos; i++)
            json_array_append_new(repos, json_string(g->repos[i]));
        json_object_set_new(o, "resource_group", json_string(g->resource_group));
        json_object_set_new(o, "repos", repos ? repos : json_null());
    }
    return json_array_append_new(arr, o) == 0 ? 0 : CMN_ERR_NOMEM;
}

static json_t *tests_json(rpt_ctx_t *c, pol_policy_t *p)
{
    pol_stats_t st;
    pol_policy_stats(p, &st);
    if (!c->o->policy_route)
        return json_pack("{s:I, s:b}", "embedded", (json_int_t)st.tests, "run", 0);
    cmn_buf_t out;
    cmn_buf_init(&out, 256 * 1024);
    pol_test_result_t res = {0, 0};
    int rc = pol_policy_run_tests(p, c->o->policy_route, c->o->policy_route_ctx, 0, &out, &res);
    json_t *failures = json_array();
    const char *s = out.data ? out.data : "";
    for (int i = 0; *s && i < RPT_MAX_TEST_LINES && failures; i++) {
        size_t n = strcspn(s, "\n");
        json_array_append_new(failures, json_stringn(s, n));
        s += n + (s[n] == '\n');
    }
    cmn_buf_free(&out);
    return json_pack("{s:I, s:b, s:I, s:I, s:b, s:o}", "embedded", (json_int_t)st.tests, "run",
                     rc >= 0, "passed", (json_int_t)res.passed, "failed", (json_int_t)res.failed,
                     "ok", rc == 0, "failures", failures ? failures : json_array());
}

static json_t *diff_json(pol_policy_t *old, pol_policy_t *cur, const char *old_sha)
{
    cmn_buf_t out;
    cmn_buf_init(&out, 16 * 1024 * 1024);
    size_t changes = 0;
    json_t *res = NULL;
    if (pol_diff(old, cur, 1, &out, &changes) == 0 && out.data) {
        json_t *d = json_loads(out.data, 0, NULL);
        json_t *all = json_object_get(d, "changes");
        json_t *sample = json_array();
        for (size_t i = 0; sample && i < json_array_size(all) && i < RPT_MAX_DIFF_CHANGES; i++)
            json_array_append(sample, json_array_get(all, i));
        res = json_pack("{s:s, s:I, s:o, s:b}", "against", old_sha, "changes", (json_int_t)changes,
                        "sample", sample ? sample : json_array(), "truncated",
                        json_array_size(all) > RPT_MAX_DIFF_CHANGES);
        json_decref(d);
    } else {
        res = json_pack("{s:s, s:n, s:s}", "against", old_sha, "changes", "error",
                        "the diff could not be computed");
    }
    cmn_buf_free(&out);
    return res;
}

/* A stream of the period whose last load before it left the database with an archived
 * partition: the policy its last archive recorded (schema 009), marked "archived". */
static int archived_at_start(rpt_ctx_t *c, version_t *v, size_t *n, const char *const p[2],
                             char *err, size_t errlen)
{
    if (!c->has_retired) /* its table marks schema 009, which added the archive's policy */
        return 0;
    PGresult *r = aud_db_rows(
        c->db,
        "WITH active AS MATERIALIZED (SELECT DISTINCT stream_id FROM audit_event WHERE ts >= "
        "$1::timestamptz AND ts < $2::timestamptz) SELECT DISTINCT ON (a.stream_id) s.name, "
        "a.policy_sha256, (extract(epoch FROM a.policy_loaded_at) * 1000000)::bigint FROM "
        "audit_archive a JOIN audit_stream s ON s.id = a.stream_id WHERE a.stream_id IN (SELECT "
        "stream_id FROM active) AND a.policy_sha256 IS NOT NULL AND a.policy_loaded_at < "
        "$1::timestamptz AND NOT EXISTS (SELECT 1 FROM audit_event e WHERE e.stream_id = "
        "a.stream_id AND e.kind = 'policy.loaded' AND e.ts < $1::timestamptz) ORDER BY "
        "a.stream_id, a.last_seq DESC",
        2, p, 0, "reading archives", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    for (int i = 0; i < PQntuples(r); i++) {
        aud_report_loaded_t loaded;
        memset(&loaded, 0, sizeof(loaded));
        snprintf(loaded.sha256, sizeof(loaded.sha256), "%s", PQgetvalue(r, i, 1));
        loaded.first_ts_us = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        version_t *x = version(v, n, &loaded);
        if (!x)
            continue;
        if (!x->start_loads)
            x->start_loads = json_array();
        x->at_start = 1;
        char ts[28];
        aud_time_format(loaded.first_ts_us, ts);
        json_array_append_new(x->start_loads, json_pack("{s:s, s:s, s:b}", "stream",
                                                        PQgetvalue(r, i, 0), "ts", ts,
                                                        "archived", 1));
        if (loaded.first_ts_us < x->l.first_ts_us)
            x->l.first_ts_us = loaded.first_ts_us;
    }
    PQclear(r);
    return 0;
}

/* The loads before the period that were still in force at its start: each stream's last one,
 * for streams that wrote anything in the period. The streams of the period are found first, in
 * one scan of the period (BRIN on ts): asked per stream, PostgreSQL walks the stream from its
 * first event (schema/006_audit_event_indexes.sql). */
static int at_start(rpt_ctx_t *c, version_t *v, size_t *n, char *err, size_t errlen)
{
    char from[28], to[28];
    aud_time_format(c->o->from_us, from);
    aud_time_format(c->o->to_us, to);
    const char *p[2] = {from, to};
    PGresult *r = aud_db_rows(
        c->db,
        "WITH active AS MATERIALIZED (SELECT DISTINCT stream_id FROM audit_event WHERE ts >= "
        "$1::timestamptz AND ts < $2::timestamptz) SELECT DISTINCT ON (e.stream_id) s.name, "
        "e.canonical FROM audit_event e JOIN audit_stream s ON s.id = e.stream_id WHERE e.kind = "
        "'policy.loaded' AND e.ts < $1::timestamptz AND e.stream_id IN (SELECT stream_id FROM "
        "active) ORDER BY e.stream_id, e.ts DESC, e.seq DESC",
        2, p, 0, "reading policy loads", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    for (int i = 0; i < PQntuples(r); i++) {
        char why[200];
        if (aud_event_parse(&c->parsed, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), why,
                            sizeof(why)) != 0)
            continue; /* the integrity pass reports unreadable events of the period */
        const aud_event_t *ev = &c->parsed.ev;
        aud_report_loaded_t loaded;
        version_t *x = aud_report_loaded_read(ev, &loaded) == 0 ? version(v, n, &loaded) : NULL;
        if (!x)
            continue;
        if (!x->start_loads)
            x->start_loads = json_array();
        x->at_start = 1;
        char ts[28];
        aud_time_format(ev->ts_us, ts);
        json_t *l = json_pack("{s:s, s:s}", "stream", PQgetvalue(r, i, 0), "ts", ts);
        static const char *const keys[] = {"trigger", "git_commit", "git_author", "git_state"};
        for (size_t k = 0; l && k < sizeof(keys) / sizeof(*keys); k++)
            if (aud_event_detail_text(ev, keys[k]))
                json_object_set_new(l, keys[k], json_string(aud_event_detail_text(ev, keys[k])));
        if (l)
            json_array_append_new(x->start_loads, l);
        if (ev->ts_us < x->l.first_ts_us)
            x->l.first_ts_us = ev->ts_us;
    }
    PQclear(r);
    return archived_at_start(c, v, n, p, err, errlen);
}

int rpt_policy_sections(rpt_ctx_t *c, json_t *report, char *err, size_t errlen)
{
    version_t *v = calloc(RPT_MAX_VERSIONS, sizeof(*v));
    if (!v) {
        cmn_errf(err, errlen, "out of memory");
        return CMN_ERR_NOMEM;
    }
    size_t n = 0;
    int rc = at_start(c, v, &n, err, errlen);
    size_t nl = 0;
    const aud_report_loaded_t *loaded = aud_report_stats_loaded(c->stats, &nl);
    for (size_t i = 0; !rc && i < nl; i++) {
        version_t *x = version(v, &n, &loaded[i]);
        if (x)
            x->l.loads = loaded[i].loads;
    }

    json_t *policies = json_array(), *versions = json_array();
    int db_failed = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        version_t *x = &v[i];
        x->policy = load_text(c, x->l.sha256, &x->problem, err, errlen, &db_failed);
        if (db_failed) {
            rc = CMN_ERR_DB;
            break;
        }
        json_t *grants = NULL;
        if (x->policy) {
            grants = json_array();
            if (!grants || pol_policy_each_grant(x->policy, grant_json, grants) != 0) {
                rc = CMN_ERR_NOMEM;
                cmn_errf(err, errlen, "out of memory");
                json_decref(grants);
                break;
            }
        }
        json_array_append_new(policies,
                              json_pack("{s:s, s:b, s:o, s:O?}", "sha256", x->l.sha256, "recorded",
                                        x->policy != NULL, "grants", grants ? grants : json_null(),
                                        "problem", x->problem));

        /* The version it replaced: what its first load says, else the one listed before. */
        const char *prev = x->l.previous_sha256[0] ? x->l.previous_sha256
                           : i > 0                 ? v[i - 1].l.sha256
                                                   : NULL;
        json_t *diff = json_null();
        if (prev && x->policy) {
            version_t *pv = find(v, i, prev);
            pol_policy_t *pp = pv ? pol_policy_ref(pv->policy) : NULL;
            json_t *why = NULL;
            if (!pv)
                pp = load_text(c, prev, &why, err, errlen, &db_failed);
            if (db_failed) {
                rc = CMN_ERR_DB;
                break;
            }
            json_decref(diff);
            diff = pp ? diff_json(pp, x->policy, prev)
                      : json_pack("{s:s, s:n, s:s}", "against", prev, "changes", "error",
                                  "the text of the version before is not recorded");
            pol_policy_unref(pp);
            json_decref(why);
        }
        /* Who loaded it, when known: its first load in the period, else the one before. */
        json_t *first_load = NULL;
        json_t *loads = json_object_get(
            json_object_get(aud_report_criterion(report, "CC8.1"), "loads"), "items");
        for (size_t k = 0; !first_load && k < json_array_size(loads); k++) {
            json_t *l = json_array_get(loads, k);
            const char *lsha = json_string_value(json_object_get(l, "sha256"));
            if (lsha && strcmp(lsha, x->l.sha256) == 0)
                first_load = json_deep_copy(l);
        }
        if (!first_load && json_array_size(x->start_loads))
            first_load = json_deep_copy(json_array_get(x->start_loads, 0));
        char first[28];
        aud_time_format(x->l.first_ts_us, first);
        json_array_append_new(
            versions, json_pack("{s:s, s:b, s:s, s:o, s:I, s:o, s:o, s:o, s:o, s:b}", "sha256",
                                x->l.sha256, "in_force_at_start", x->at_start, "first_loaded",
                                first, "loaded_by", first_load ? first_load : json_null(),
                                "loads_in_period", (json_int_t)x->l.loads, "loads_before_period",
                                x->start_loads ? json_incref(x->start_loads) : json_array(),
                                "previous_sha256", prev ? json_string(prev) : json_null(), "diff",
                                diff, "tests", x->policy ? tests_json(c, x->policy) : json_null(),
                                "recorded", x->policy != NULL));
    }
    if (!rc) {
        json_object_set_new(aud_report_criterion(report, "CC6.2-CC6.3"), "policies", policies);
        json_object_set_new(aud_report_criterion(report, "CC8.1"), "versions", versions);
        policies = versions = NULL;
    }
    json_decref(policies);
    json_decref(versions);
    for (size_t i = 0; i < n; i++) {
        pol_policy_unref(v[i].policy);
        json_decref(v[i].problem);
        json_decref(v[i].start_loads);
    }
    free(v);
    return rc;
}
