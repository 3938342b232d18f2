/* Step 4 of `hubgate report verify`: contract in report_verify_counts.h. */
#include "audit/report_verify_counts.h"
#include "audit/report_verify_problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rvf_counts_add(rvf_ctx_t *v, const char *stream, int64_t seq, const aud_event_t *ev)
{
    if (!v->stats || v->stats_failed)
        return;
    if (aud_report_stats_add(v->stats, stream, seq, ev) != 0)
        v->stats_failed = 1;
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
static void compare_counts(rvf_ctx_t *v, const json_t *got, const json_t *want, char *path,
                           size_t cap)
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
    rvf_problem(v, "count", RVF_REPORT, 0, NULL, -1,
                "report.json's %s is %.120s%s, but the events of events.jsonl in scope count "
                "%.120s%s: report.json was changed after the events",
                path, b ? b : "missing", b && strlen(b) > 120 ? "…" : "", a ? a : "?",
                a && strlen(a) > 120 ? "…" : "");
    free(a);
    free(b);
}

/* A report.json of format 1 was written before criteria."CC6.2-CC6.3".access_lifecycle existed
 * (docs/evidence-format.md, "report.json's format"): when it has no such member, the recount's
 * is not compared. One that has it is compared whatever its format says, so that a format
 * changed after the fact cannot hide a changed figure. */
static void drop_newer_members(json_t *fresh, const json_t *report)
{
    const json_t *format = json_object_get(report, "format");
    if (!json_is_integer(format) || json_integer_value(format) >= 2)
        return;
    const json_t *had = json_object_get(
        json_object_get(json_object_get(report, "criteria"), "CC6.2-CC6.3"), "access_lifecycle");
    json_t *c = json_object_get(json_object_get(fresh, "criteria"), "CC6.2-CC6.3");
    if (c && !had)
        json_object_del(c, "access_lifecycle");
}

void rvf_counts_check(rvf_ctx_t *v)
{
    if (!v->stats || !v->report_json)
        return;
    if (v->stats_failed) {
        rvf_problem(v, "count", RVF_REPORT, 0, NULL, -1,
                    "report.json's counts could not be recounted (out of memory)");
        return;
    }
    json_t *fresh = json_object();
    char path[512] = "";
    if (!fresh || aud_report_stats_json(v->stats, fresh) != 0) {
        rvf_problem(v, "count", RVF_REPORT, 0, NULL, -1,
                    "report.json's counts could not be recounted (out of memory)");
    } else {
        drop_newer_members(fresh, v->report_json);
        compare_counts(v, fresh, v->report_json, path, sizeof(path));
    }
    json_decref(fresh);
}
