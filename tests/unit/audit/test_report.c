/* The evidence report's pure parts (audit/report*.c): period bounds, which checkpoints bound a
 * period, which events are in an org's scope, the counts per day with their spike flags, the
 * bounded tables, and the events.jsonl / events.csv lines. The database and the files as a
 * whole are exercised by integration.evidence.report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/report.h"
#include "audit/report_events.h"
#include "audit/report_files.h"
#include "audit/report_stream.h"
#include "audit/report_stats.h"
#include "audit/report_tally.h"
#include "common/err.h"

#define DAY (86400LL * 1000000LL)
#define T0  1714521600000000LL /* 2024-05-01T00:00:00Z */

static void period_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
        int64_t want;
    } cases[] = {
        {"2024-05-01", 1, T0},
        {"2024-05-01T00:00:00Z", 1, T0},
        {"2024-05-01t00:00:01z", 1, T0 + 1000000},
        {"2024-05-01 12:00:00Z", 1, T0 + 12 * 3600000000LL},
        {"2024-05-01T12:00:00.5Z", 1, T0 + 12 * 3600000000LL + 500000},
        {"2024-05-01T12:00:00.123456Z", 1, T0 + 12 * 3600000000LL + 123456},
        {"2024-05-01T14:00:00+02:00", 1, T0 + 12 * 3600000000LL},
        {"2024-04-30T22:00:00-02:00", 1, T0},
        {"2024-02-29", 1, T0 - 62 * DAY},
        {"2023-02-29", 0, 0},
        {"2024-04-31", 0, 0},
        {"2024-13-01", 0, 0},
        {"2024-05-01T24:00:00Z", 0, 0},
        {"2024-05-01T12:00Z", 0, 0},
        {"2024-05-01T12:00:00", 0, 0},
        {"2024-05-01T12:00:00.1234567Z", 0, 0},
        {"2024-05-01T12:00:00.Z", 0, 0},
        {"2024-05-01T12:00:00+0200", 0, 0},
        {"2024-05-01T12:00:00Z ", 0, 0},
        {"2024-5-1", 0, 0},
        {"yesterday", 0, 0},
        {"", 0, 0},
        {"1969-12-31", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        int64_t us = -1;
        int rc = aud_report_parse_time(cases[i].in, &us);
        if ((rc == 0) != cases[i].ok || (cases[i].ok && us != cases[i].want))
            fail_msg("case \"%s\": rc %d, %lld (want %s %lld)", cases[i].in, rc, (long long)us,
                     cases[i].ok ? "ok" : "refused", (long long)cases[i].want);
    }
}

static rpt_cp_t cp(int64_t seq, int64_t ts, int sig_ok)
{
    rpt_cp_t c;
    memset(&c, 0, sizeof(c));
    c.seq = seq;
    c.ts_us = ts;
    c.sig_ok = sig_ok;
    return c;
}

static void checkpoints_around_the_period(void **state)
{
    (void)state;
    /* A period [100, 200) whose events are seqs 11..20. */
    rpt_cp_t cps[] = {
        cp(5, 50, 1),    /* 0 */
        cp(10, 90, 1),   /* 1: the last before, covering only earlier events */
        cp(10, 95, 1),   /* 2: a heartbeat at the same seq, later: preferred */
        cp(12, 99, 1),   /* 3: signed before the period, but covers seq 11 of the period */
        cp(15, 150, 1),  /* 4: inside */
        cp(20, 199, 1),  /* 5: before the end */
        cp(20, 200, 0),  /* 6: at the end but its signature is bad */
        cp(20, 210, -1), /* 7: unknown key */
        cp(22, 205, 1),  /* 8: the first valid after */
        cp(21, 230, 1),  /* 9: lower seq, signed later: still the lowest seq wins */
        cp(30, 300, 1),  /* 10 */
    };
    size_t n = sizeof(cps) / sizeof(*cps);
    assert_int_equal(rpt_choose_start(cps, n, 100, 11), 2);
    assert_int_equal(rpt_choose_start(cps, n, 100, -1), 3); /* no event in the period */
    assert_int_equal(rpt_choose_start(cps, n, 40, 11), -1); /* genesis */
    assert_int_equal(rpt_choose_end(cps, n, 200, 20), 9);
    assert_int_equal(rpt_choose_end(cps, n, 200, 25), 10);
    assert_int_equal(rpt_choose_end(cps, n, 301, 0), -1); /* none yet */
}

/* A minimal parsed-looking event. */
static aud_event_t event(aud_kind_t kind, int64_t ts, const char *org)
{
    aud_event_t ev;
    aud_event_init(&ev, kind);
    ev.ts_us = ts;
    ev.decision.org = org;
    return ev;
}

static void scope_of_an_org(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        aud_kind_t kind;
        int64_t ts;
        const char *org, *scope;
        int want;
    } cases[] = {
        {"in period, every org", AUD_KIND_REQUEST, T0, "acme", NULL, 1},
        {"before the period", AUD_KIND_REQUEST, T0 - 1, "acme", NULL, 0},
        {"at its end (exclusive)", AUD_KIND_REQUEST, T0 + DAY, "acme", NULL, 0},
        {"the org's event", AUD_KIND_REQUEST, T0, "acme", "acme", 1},
        {"another org's", AUD_KIND_REQUEST, T0, "globex", "acme", 0},
        {"names are exact", AUD_KIND_REQUEST, T0, "ACME", "acme", 0},
        {"a request of no org", AUD_KIND_REQUEST, T0, NULL, "acme", 0},
        {"a token of no org", AUD_KIND_TOKEN_MINTED, T0, NULL, "acme", 0},
        {"a policy load", AUD_KIND_POLICY_LOADED, T0, NULL, "acme", 1},
        {"a rejected policy", AUD_KIND_POLICY_REJECTED, T0, NULL, "acme", 1},
        {"a start", AUD_KIND_GATEWAY_STARTED, T0, NULL, "acme", 1},
        {"a stop", AUD_KIND_GATEWAY_STOPPED, T0, NULL, "acme", 1},
        {"keys", AUD_KIND_KEYS_CHANGED, T0, NULL, "acme", 1},
        {"a spool episode", AUD_KIND_AUDIT_SPOOLED, T0, NULL, "acme", 1},
        {"an export naming an org", AUD_KIND_REPORT_EXPORTED, T0, "globex", "acme", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        aud_event_t ev = event(cases[i].kind, cases[i].ts, cases[i].org);
        if (aud_report_in_scope(&ev, T0, T0 + DAY, cases[i].scope) != cases[i].want)
            fail_msg("case \"%s\"", cases[i].name);
    }
}

static aud_event_t denial(int64_t ts, const char *stage, const char *why)
{
    aud_event_t ev = event(AUD_KIND_REQUEST, ts, "acme");
    ev.decision.effect = "deny";
    ev.decision.rule = strcmp(stage, "authentication") == 0 ? "authentication" : "default-deny";
    aud_event_detail_str(&ev, "refused_by", stage);
    if (why)
        aud_event_detail_str(&ev, "auth_failure", why);
    return ev;
}

static json_t *stats_json(aud_report_stats_t *s)
{
    json_t *r = json_object();
    assert_int_equal(aud_report_stats_json(s, r), 0);
    return r;
}

static const json_t *path(const json_t *o, const char *a, const char *b, const char *c)
{
    o = json_object_get(json_object_get(o, "criteria"), a);
    o = json_object_get(o, b);
    return c ? json_object_get(o, c) : o;
}

static void days_and_spikes(void **state)
{
    (void)state;
    /* Five days, the period starting at noon of the first: denials 1, 1, 4, 0, 1; auth
     * failures 0, 0, 0, 0, 2. Median denials 1 (flag above 3: day 3); median failures 0 (flag
     * above 0: day 5). */
    aud_report_stats_t *s = aud_report_stats_create(T0 + DAY / 2, T0 + 4 * DAY + 1, NULL);
    assert_non_null(s);
    const int den[] = {1, 1, 4, 0, 1};
    for (int d = 0; d < 5; d++) {
        for (int k = 0; k < den[d]; k++) {
            aud_event_t ev =
                denial(T0 + d * DAY + (d == 0 ? DAY / 2 : 0) + k, "authorization", NULL);
            assert_int_equal(aud_report_stats_add(s, "gw-1", 1, &ev), 0);
        }
    }
    for (int k = 0; k < 2; k++) {
        aud_event_t ev = denial(T0 + 4 * DAY, "authentication", k ? "expired" : "revoked");
        assert_int_equal(aud_report_stats_add(s, "gw-1", 1, &ev), 0);
    }
    /* Outside the period: not counted. */
    aud_event_t early = denial(T0, "authorization", NULL),
                late = denial(T0 + 4 * DAY + 1, "authorization", NULL);
    aud_report_stats_add(s, "gw-1", 1, &early);
    aud_report_stats_add(s, "gw-1", 1, &late);

    json_t *r = stats_json(s);
    const json_t *days = path(r, "CC7.2-CC7.3", "days", NULL);
    assert_int_equal(json_array_size(days), 5);
    const int want_den[] = {1, 1, 4, 0, 3}, want_auth[] = {0, 0, 0, 0, 2};
    const char *want_day[] = {"2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04", "2024-05-05"};
    for (int d = 0; d < 5; d++) {
        const json_t *x = json_array_get(days, (size_t)d);
        assert_string_equal(json_string_value(json_object_get(x, "day")), want_day[d]);
        if (json_integer_value(json_object_get(x, "denials")) != want_den[d] ||
            json_integer_value(json_object_get(x, "auth_failures")) != want_auth[d])
            fail_msg("day %d", d);
        assert_int_equal(json_is_true(json_object_get(x, "denials_flagged")), d == 2);
        assert_int_equal(json_is_true(json_object_get(x, "auth_failures_flagged")), d == 4);
    }
    assert_true(json_real_value(path(r, "CC7.2-CC7.3", "median", "denials")) == 1.0);
    assert_true(json_real_value(path(r, "CC7.2-CC7.3", "median", "auth_failures")) == 0.0);
    assert_int_equal(json_array_size(path(r, "CC7.2-CC7.3", "flagged_days", NULL)), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "totals"), "denied")),
                     9);
    assert_int_equal(json_integer_value(path(r, "CC6.1", "authentication", "failures")), 2);
    json_decref(r);
    aud_report_stats_destroy(s);

    /* Periods beyond the cap are refused; an empty one too. */
    assert_null(aud_report_stats_create(T0, T0 + (int64_t)AUD_REPORT_MAX_DAYS * DAY + DAY, NULL));
    assert_null(aud_report_stats_create(T0, T0, NULL));
}

static void tables_stay_bounded(void **state)
{
    (void)state;
    rpt_tally_t t;
    rpt_tally_init(&t, 2, 3, 1 << 20);
    const char *keys[][2] = {{"a", "x"}, {"b", NULL}, {"a", "x"}, {"c", ""},
                             {"d", "y"}, {"b", NULL}, {"e", "z"}};
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
        (*rpt_tally_get2(&t, keys[i][0], keys[i][1]))++;
    assert_int_equal(rpt_tally_count(&t), 3);
    size_t n;
    const rpt_entry_t **e = rpt_tally_sorted(&t, 0, &n);
    assert_int_equal(n, 4);
    assert_string_equal(e[0]->part[0], "a"); /* 2, then b 2 by key, then c 1 */
    assert_int_equal(e[0]->v[0], 2);
    assert_string_equal(e[1]->part[0], "b");
    assert_null(e[1]->part[1]); /* absent and empty are different keys */
    assert_string_equal(e[2]->part[1], "");
    assert_true(e[3]->other);
    assert_int_equal(e[3]->v[0], 2); /* d and e */
    free(e);
    rpt_tally_free(&t);

    /* Key text beyond its budget also goes to "(other)"; long parts are cut to RPT_PART_MAX. */
    rpt_tally_init(&t, 1, 100, 2 * RPT_PART_MAX + 4);
    char long1[RPT_PART_MAX + 50], long2[RPT_PART_MAX + 50];
    memset(long1, 'x', sizeof(long1) - 1);
    long1[sizeof(long1) - 1] = '\0';
    memcpy(long2, long1, sizeof(long2));
    long2[RPT_PART_MAX + 10] = 'y'; /* differs only after the cut: the same key */
    (*rpt_tally_get1(&t, long1))++;
    (*rpt_tally_get1(&t, long2))++;
    assert_int_equal(rpt_tally_count(&t), 1);
    (*rpt_tally_get1(&t, "short"))++;
    memset(long2, 'z', RPT_PART_MAX);
    (*rpt_tally_get1(&t, long2))++; /* another long key: over the byte budget */
    assert_int_equal(rpt_tally_count(&t), 2);
    assert_int_equal(t.overflowed, 1);
    rpt_tally_free(&t);
}

static char *read_all(const char *p)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void event_lines(void **state)
{
    (void)state;
    char dir[] = "/tmp/hubgate-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    rpt_sink_t s;
    char err[200], hex[65];
    assert_int_equal(rpt_sink_open(&s, dfd, "lines", err, sizeof(err)), 0);
    unsigned char prev[AUD_HASH_BYTES], hash[AUD_HASH_BYTES], com[AUD_HASH_BYTES];
    memset(prev, 0xab, sizeof(prev));
    memset(hash, 0x01, sizeof(hash));
    memset(com, 0xff, sizeof(com));
    const char canon[] = "{\"a\":\"q\\\"\\\\\\n\",\"b\":\"\x01\"}";
    rpt_jsonl_whole(&s, "gw-1", 7, 2, prev, hash, canon, strlen(canon), 1);
    rpt_jsonl_hidden(&s, "gw-1", 8, hash, prev, "o\"rg", com);
    /* A CSV row: quotes doubled, a formula defused. */
    aud_event_t ev = event(AUD_KIND_REQUEST, T0, "acme");
    ev.client.user_agent = "=HYPERLINK(\"x\")";
    ev.decision.reason = "a, b";
    rpt_csv_row(&s, "gw-1", 9, &ev, hash);
    assert_int_equal(rpt_sink_close(&s, hex, err, sizeof(err)), 0);
    char p[64];
    snprintf(p, sizeof(p), "%s/lines", dir);
    const char *text = read_all(p);
    char want[2048];
    snprintf(
        want, sizeof(want),
        "{\"canonical\":\"{\\\"a\\\":\\\"q\\\\\\\"\\\\\\\\\\\\n\\\",\\\"b\\\":\\\"\\u0001\\\"}\","
        "\"chain\":2,\"hash\":\"%s\",\"in_period\":true,\"prev_hash\":\"%s\",\"seq\":7,"
        "\"stream\":\"gw-1\"}\n",
        "0101010101010101010101010101010101010101010101010101010101010101",
        "abababababababababababababababababababababababababababababababab");
    assert_memory_equal(text, want, strlen(want));
    /* The whole line parses back to the canonical text. */
    json_t *line = json_loadb(text, strlen(want), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(line, "canonical")), canon);
    json_decref(line);
    const char *hidden = text + strlen(want);
    assert_int_equal(strncmp(hidden, "{\"chain\":2,\"commitment\":\"ffff", 29), 0);
    assert_non_null(strstr(hidden, "\"hidden\":true,\"org\":\"o\\\"rg\",\"prev_hash\":\"0101"));
    assert_non_null(strstr(hidden, "\"seq\":8,\"stream\":\"gw-1\"}\ngw-1,9,"));
    assert_non_null(strstr(text, ",\"'=HYPERLINK(\"\"x\"\")\","));
    assert_non_null(strstr(text, ",\"a, b\","));
    assert_non_null(strstr(text, "0101\r\n"));
    unlink(p);
    close(dfd);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(period_bounds),       cmocka_unit_test(checkpoints_around_the_period),
        cmocka_unit_test(scope_of_an_org),     cmocka_unit_test(days_and_spikes),
        cmocka_unit_test(tables_stay_bounded), cmocka_unit_test(event_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
