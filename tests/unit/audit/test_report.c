/* The evidence report's pure parts (audit/report*.c): period bounds, which checkpoints bound a
 * period, which events are in an org's scope, the counts per day with their spike flags, the
 * bounded tables, the events.jsonl / events.csv lines, and how access begins and ends
 * (criteria."CC6.2-CC6.3".access_lifecycle, and its part of report.html). The database and the
 * files as a whole are exercised by integration.evidence.report. */
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
#include "audit/report_html.h"
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

/* ---- CC6.2 / CC6.3: access begins and ends ---- */

static const json_t *lifecycle(const json_t *r, const char *member)
{
    return path(r, "CC6.2-CC6.3", "access_lifecycle", member);
}

static int64_t int_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", key);
    return (int64_t)json_integer_value(v);
}

static const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A person as an event names them. */
static void as(aud_event_t *ev, const char *iss, const char *sub, const char *email)
{
    ev->actor.iss = iss;
    ev->actor.sub = sub;
    ev->actor.email = email;
}

#define IDP   "https://idp.example"
#define ALICE "alice@acme.example"
#define BOB   "bob@acme.example"

static void access_lifecycle_figures(void **state)
{
    (void)state;
    aud_report_stats_t *s = aud_report_stats_create(T0, T0 + DAY, NULL);
    assert_non_null(s);
    int64_t seq = 0, ts = T0;
    aud_event_t ev;
#define ADD() assert_int_equal(aud_report_stats_add(s, "gw-1", ++seq, &ev), 0)

    /* Sign-ins: alice twice, bob once, and a subject "alice" of another issuer: 3 people. */
    static const struct {
        const char *iss, *sub, *email;
    } people[] = {{IDP, "alice", ALICE},
                  {IDP, "bob", BOB},
                  {IDP, "alice", ALICE},
                  {"https://other.example", "alice", NULL}};
    for (size_t i = 0; i < sizeof(people) / sizeof(*people); i++) {
        ev = event(AUD_KIND_SESSION_STARTED, ts++, NULL);
        as(&ev, people[i].iss, people[i].sub, people[i].email);
        aud_event_detail_str(&ev, "session_id", "s-1");
        ADD();
    }
    /* Sessions ended: 2 logouts, 1 revoked, 1 deprovisioned, 1 other reason, 1 none: 6. */
    static const char *const reasons[] = {"logout",        "revoked", "logout",
                                          "deprovisioned", "expired", NULL};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(*reasons); i++) {
        ev = event(AUD_KIND_SESSION_ENDED, ts++, NULL);
        aud_event_detail_str(&ev, "session_id", "s-1");
        if (reasons[i])
            aud_event_detail_str(&ev, "reason", reasons[i]);
        ADD();
    }
    /* Device grants: three approved (read, write, read), one denied. */
    static const struct {
        aud_kind_t kind;
        const char *sub, *who, *grant, *scope;
    } devices[] = {
        {AUD_KIND_DEVICE_APPROVED, "alice", ALICE, "g-1", "read"},
        {AUD_KIND_DEVICE_APPROVED, "bob", BOB, "g-2", "write"},
        {AUD_KIND_DEVICE_DENIED, "bob", BOB, "g-3", NULL},
        {AUD_KIND_DEVICE_APPROVED, "alice", ALICE, "g-4", "read"},
    };
    for (size_t i = 0; i < sizeof(devices) / sizeof(*devices); i++) {
        ev = event(devices[i].kind, ts++, NULL);
        as(&ev, IDP, devices[i].sub, devices[i].who);
        aud_event_detail_str(&ev, "grant_id", devices[i].grant);
        aud_event_detail_str(&ev, "device_ip", "192.0.2.7");
        aud_event_detail_str(&ev, "device_user_agent", "huggingface_hub/1.28.0");
        aud_event_detail_str(&ev, "client_id", "cli");
        if (devices[i].scope)
            aud_event_detail_str(&ev, "scope", devices[i].scope);
        aud_event_detail_str(&ev, "session_id", "s-1");
        ADD();
    }
    /* Tokens: 2 by the API or the page, 1 device code, 2 refreshes, 1 of a grant unknown. */
    static const char *const grants[] = {NULL, "device_code",   "refresh_token",
                                         NULL, "refresh_token", "password"};
    for (size_t i = 0; i < sizeof(grants) / sizeof(*grants); i++) {
        ev = event(AUD_KIND_TOKEN_MINTED, ts++, NULL);
        as(&ev, IDP, "alice", ALICE);
        aud_event_detail_str(&ev, "token_id", "t-1");
        if (grants[i])
            aud_event_detail_str(&ev, "grant", grants[i]);
        ADD();
    }
    /* Revocations: one by the owner, one of a sign-in whose refresh token was replayed. */
    ev = event(AUD_KIND_TOKEN_REVOKED, ts++, NULL);
    as(&ev, IDP, "alice", ALICE);
    aud_event_detail_str(&ev, "token_id", "t-1");
    ADD();
    ev = event(AUD_KIND_TOKEN_REVOKED, ts++, NULL);
    aud_event_detail_str(&ev, "grant_id", "g-1");
    aud_event_detail_str(&ev, "reason", "refresh_token_replayed");
    int64_t replay_seq = seq + 1;
    ADD();
    /* The directory: a user created, one deactivated (deprovisioned, with what it revoked), one
     * deleted (deprovisioned, saying nothing of what it revoked), a group's members changed,
     * and a user replaced without ending access. */
    ev = event(AUD_KIND_DIRECTORY_CHANGED, ts++, NULL);
    aud_event_detail_str(&ev, "resource", "user");
    aud_event_detail_str(&ev, "operation", "create");
    aud_event_detail_str(&ev, "id", "u-1");
    aud_event_detail_bool(&ev, "active", 1);
    aud_event_detail_bool(&ev, "deprovisioned", 0);
    ADD();
    ev = event(AUD_KIND_DIRECTORY_CHANGED, ts++, NULL);
    aud_event_detail_str(&ev, "resource", "user");
    aud_event_detail_str(&ev, "operation", "patch");
    aud_event_detail_str(&ev, "id", "u-2");
    aud_event_detail_str(&ev, "user_name", "carol@acme.example");
    aud_event_detail_bool(&ev, "active", 0);
    aud_event_detail_bool(&ev, "deprovisioned", 1);
    /* what a detail can be named: never "revoked_tokens" (a word naming a credential) */
    assert_int_equal(aud_event_detail_int(&ev, "revoked_tokens", 9), CMN_ERR_INVAL);
    assert_int_equal(aud_event_detail_int(&ev, "revoked_token_count", 3), 0);
    assert_int_equal(aud_event_detail_int(&ev, "ended_session_count", 2), 0);
    assert_int_equal(aud_event_detail_int(&ev, "denied_device_count", 1), 0);
    assert_int_equal(aud_event_detail_int(&ev, "revoked_refresh_count", 4), 0);
    int64_t deprov_ts = ev.ts_us;
    ADD();
    ev = event(AUD_KIND_DIRECTORY_CHANGED, ts++, NULL);
    aud_event_detail_str(&ev, "resource", "user");
    aud_event_detail_str(&ev, "operation", "delete");
    aud_event_detail_str(&ev, "id", "u-3");
    aud_event_detail_bool(&ev, "deprovisioned", 1);
    ADD();
    /* the names the first SCIM writer gave the counts the encoder let through */
    ev = event(AUD_KIND_DIRECTORY_CHANGED, ts++, NULL);
    aud_event_detail_str(&ev, "resource", "user");
    aud_event_detail_str(&ev, "operation", "delete");
    aud_event_detail_str(&ev, "id", "u-4");
    aud_event_detail_bool(&ev, "deprovisioned", 1);
    assert_int_equal(aud_event_detail_int(&ev, "ended_sessions", 5), 0);
    assert_int_equal(aud_event_detail_int(&ev, "denied_devices", 6), 0);
    assert_int_equal(aud_event_detail_int(&ev, "revoked_refresh", 7), 0);
    ADD();
    ev = event(AUD_KIND_DIRECTORY_CHANGED, ts++, NULL);
    aud_event_detail_str(&ev, "resource", "group");
    aud_event_detail_str(&ev, "operation", "patch");
    aud_event_detail_str(&ev, "id", "grp-1");
    aud_event_detail_str(&ev, "display_name", "acme-ml");
    aud_event_detail_int(&ev, "added_member_count", 2);
    aud_event_detail_int(&ev, "removed_member_count", 1);
    ADD();
    ev = event(AUD_KIND_DIRECTORY_CHANGED, ts++, NULL);
    aud_event_detail_str(&ev, "resource", "user");
    aud_event_detail_str(&ev, "operation", "replace");
    aud_event_detail_str(&ev, "id", "u-1");
    aud_event_detail_bool(&ev, "active", 1);
    ADD();
    /* Outside the period: counted nowhere. */
    ev = event(AUD_KIND_SESSION_STARTED, T0 + DAY, NULL);
    as(&ev, IDP, "dave", "dave@acme.example");
    ADD();
    ev = event(AUD_KIND_DIRECTORY_CHANGED, T0 - 1, NULL);
    aud_event_detail_str(&ev, "resource", "user");
    aud_event_detail_str(&ev, "operation", "delete");
    aud_event_detail_bool(&ev, "deprovisioned", 1);
    ADD();
#undef ADD

    json_t *r = stats_json(s);
    assert_int_equal(int_at(lifecycle(r, NULL), "sign_ins"), 4);
    assert_int_equal(int_at(lifecycle(r, NULL), "people_signed_in"), 3);
    assert_int_equal(int_at(lifecycle(r, NULL), "sign_outs"), 6);
    const json_t *by = lifecycle(r, "sessions_ended_by");
    assert_int_equal(json_object_size(by), 3);
    assert_int_equal(int_at(by, "logout"), 2);
    assert_int_equal(int_at(by, "revoked"), 1);
    assert_int_equal(int_at(by, "deprovisioned"), 1);

    const json_t *dg = lifecycle(r, "device_grants");
    assert_int_equal(int_at(dg, "approved"), 3);
    assert_int_equal(int_at(dg, "denied"), 1);
    const json_t *scopes = json_object_get(dg, "by_scope");
    assert_int_equal(json_array_size(scopes), 2);
    assert_string_equal(str_at(json_array_get(scopes, 0), "scope"), "read"); /* largest first */
    assert_int_equal(int_at(json_array_get(scopes, 0), "count"), 2);
    assert_string_equal(str_at(json_array_get(scopes, 1), "scope"), "write");
    assert_int_equal(int_at(json_array_get(scopes, 1), "count"), 1);
    const json_t *dev = json_object_get(dg, "events");
    assert_int_equal(int_at(dev, "count"), 4);
    assert_false(json_is_true(json_object_get(dev, "truncated")));
    const json_t *items = json_object_get(dev, "items");
    assert_int_equal(json_array_size(items), 4);
    for (size_t i = 0; i < 4; i++) {
        const json_t *d = json_array_get(items, i);
        assert_string_equal(str_at(d, "actor"), devices[i].who);
        assert_string_equal(str_at(d, "grant_id"), devices[i].grant);
        assert_string_equal(str_at(d, "decision"),
                            devices[i].kind == AUD_KIND_DEVICE_APPROVED ? "approved" : "denied");
        assert_string_equal(str_at(d, "device_ip"), "192.0.2.7");
        assert_string_equal(str_at(d, "device_user_agent"), "huggingface_hub/1.28.0");
        assert_string_equal(str_at(d, "stream"), "gw-1");
        if (devices[i].scope)
            assert_string_equal(str_at(d, "scope"), devices[i].scope);
        else
            assert_null(json_object_get(d, "scope"));
        assert_null(json_object_get(d, "client_id")); /* not asked for */
    }
    assert_string_equal(str_at(json_array_get(items, 0), "ts"), "2024-05-01T00:00:00.000010Z");

    const json_t *tg = lifecycle(r, "tokens_by_grant");
    assert_int_equal(json_object_size(tg), 3);
    assert_int_equal(int_at(tg, "api_or_page"), 2);
    assert_int_equal(int_at(tg, "device_code"), 1);
    assert_int_equal(int_at(tg, "refresh_token"), 2);
    /* every token.minted is still a token minted, its grant known or not */
    assert_int_equal(int_at(path(r, "CC6.2-CC6.3", "tokens", NULL), "minted"), 6);
    assert_int_equal(int_at(path(r, "CC6.2-CC6.3", "tokens", NULL), "revoked"), 2);

    const json_t *rep = lifecycle(r, "replayed_refresh_revocations");
    assert_int_equal(int_at(rep, "count"), 1);
    const json_t *one = json_array_get(json_object_get(rep, "items"), 0);
    assert_string_equal(str_at(one, "grant_id"), "g-1");
    assert_int_equal(int_at(one, "seq"), replay_seq);
    assert_non_null(str_at(one, "ts"));

    const json_t *dir = lifecycle(r, "directory");
    assert_int_equal(int_at(dir, "changes"), 6);
    const json_t *ops = json_object_get(dir, "by_operation");
    static const struct {
        const char *resource, *operation;
        int count;
    } want_ops[] = {/* largest first, then by key: resource, then operation */
                    {"user", "delete", 2},
                    {"group", "patch", 1},
                    {"user", "create", 1},
                    {"user", "patch", 1},
                    {"user", "replace", 1}};
    assert_int_equal(json_array_size(ops), 5);
    for (size_t i = 0; i < 5; i++) {
        const json_t *o = json_array_get(ops, i);
        const char *res = str_at(o, "resource"), *op = str_at(o, "operation");
        if (!res || !op || strcmp(res, want_ops[i].resource) != 0 ||
            strcmp(op, want_ops[i].operation) != 0 || int_at(o, "count") != want_ops[i].count ||
            !json_is_false(json_object_get(o, "other")))
            fail_msg("by_operation[%zu]: %s %s", i, res ? res : "null", op ? op : "null");
    }
    const json_t *dep = json_object_get(dir, "deprovisionings");
    assert_int_equal(int_at(dep, "count"), 3);
    const json_t *d0 = json_array_get(json_object_get(dep, "items"), 0);
    char want_ts[28];
    aud_time_format(deprov_ts, want_ts);
    assert_string_equal(str_at(d0, "ts"), want_ts);
    assert_string_equal(str_at(d0, "id"), "u-2");
    assert_string_equal(str_at(d0, "user_name"), "carol@acme.example");
    assert_int_equal(int_at(d0, "revoked_tokens"), 3);
    assert_int_equal(int_at(d0, "ended_sessions"), 2);
    assert_int_equal(int_at(d0, "denied_devices"), 1);
    assert_int_equal(int_at(d0, "revoked_refresh"), 4);
    const json_t *d1 = json_array_get(json_object_get(dep, "items"), 1);
    assert_string_equal(str_at(d1, "id"), "u-3");
    /* what the event does not say stays absent: never a zero it did not record */
    assert_null(json_object_get(d1, "user_name"));
    assert_null(json_object_get(d1, "revoked_tokens"));
    assert_null(json_object_get(d1, "revoked_refresh"));
    const json_t *d2 = json_array_get(json_object_get(dep, "items"), 2);
    assert_string_equal(str_at(d2, "id"), "u-4");
    assert_null(json_object_get(d2, "revoked_tokens"));
    assert_int_equal(int_at(d2, "ended_sessions"), 5);
    assert_int_equal(int_at(d2, "denied_devices"), 6);
    assert_int_equal(int_at(d2, "revoked_refresh"), 7);

    /* Only the events in the period were counted. */
    assert_int_equal(int_at(json_object_get(r, "totals"), "events"), (int64_t)(ts - T0));
    json_decref(r);
    aud_report_stats_destroy(s);
}

static void access_lifecycle_without_events(void **state)
{
    (void)state;
    /* A period with traffic but none of the new kinds: zeros and empty lists, all there. */
    aud_report_stats_t *s = aud_report_stats_create(T0, T0 + DAY, NULL);
    assert_non_null(s);
    aud_event_t ev = denial(T0, "authorization", NULL);
    assert_int_equal(aud_report_stats_add(s, "gw-1", 1, &ev), 0);
    json_t *r = stats_json(s);
    const json_t *a = lifecycle(r, NULL);
    assert_non_null(a);
    char *text = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(
        text, "{\"device_grants\":{\"approved\":0,\"by_scope\":[],\"denied\":0,\"events\":{"
              "\"count\":0,\"items\":[],\"truncated\":false}},\"directory\":{\"by_operation\":[],"
              "\"changes\":0,\"deprovisionings\":{\"count\":0,\"items\":[],\"truncated\":false}},"
              "\"people_signed_in\":0,\"replayed_refresh_revocations\":{\"count\":0,\"items\":[],"
              "\"truncated\":false},\"sessions_ended_by\":{\"deprovisioned\":0,\"logout\":0,"
              "\"revoked\":0},\"sign_ins\":0,\"sign_outs\":0,\"tokens_by_grant\":{\"api_or_page\":"
              "0,\"device_code\":0,\"refresh_token\":0}}");
    free(text);
    json_decref(r);
    aud_report_stats_destroy(s);
}

static void access_lifecycle_stays_bounded(void **state)
{
    (void)state;
    /* More device decisions than a list keeps, each of its own scope: the list keeps the first
     * AUD_REPORT_MAX_LIST and says how many there were; the table keeps AUD_REPORT_MAX_KEYS
     * scopes and counts the rest under "(other)". */
    aud_report_stats_t *s = aud_report_stats_create(T0, T0 + DAY, NULL);
    assert_non_null(s);
    const int n = AUD_REPORT_MAX_KEYS + 5;
    char scope[32];
    for (int i = 0; i < n; i++) {
        aud_event_t ev = event(AUD_KIND_DEVICE_APPROVED, T0 + i, NULL);
        snprintf(scope, sizeof(scope), "scope-%05d", i);
        aud_event_detail_str(&ev, "scope", scope);
        aud_event_detail_str(&ev, "grant_id", scope);
        assert_int_equal(aud_report_stats_add(s, "gw-1", i + 1, &ev), 0);
    }
    json_t *r = stats_json(s);
    const json_t *dg = lifecycle(r, "device_grants");
    assert_int_equal(int_at(dg, "approved"), n);
    const json_t *list = json_object_get(dg, "events");
    assert_int_equal(int_at(list, "count"), n);
    assert_int_equal(json_array_size(json_object_get(list, "items")), AUD_REPORT_MAX_LIST);
    assert_true(json_is_true(json_object_get(list, "truncated")));
    assert_string_equal(
        str_at(json_array_get(json_object_get(list, "items"), AUD_REPORT_MAX_LIST - 1), "grant_id"),
        "scope-00999"); /* the first ones, in order */
    const json_t *scopes = json_object_get(dg, "by_scope");
    assert_int_equal(json_array_size(scopes), AUD_REPORT_MAX_KEYS + 1);
    const json_t *other = json_array_get(scopes, AUD_REPORT_MAX_KEYS);
    assert_true(json_is_true(json_object_get(other, "other")));
    assert_string_equal(str_at(other, "scope"), "(other)");
    assert_int_equal(int_at(other, "count"), 5);
    json_decref(r);
    aud_report_stats_destroy(s);
}

/* A file read whole (caller frees). */
static char *slurp(const char *p)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void access_lifecycle_in_html(void **state)
{
    (void)state;
    aud_report_stats_t *s = aud_report_stats_create(T0, T0 + DAY, NULL);
    assert_non_null(s);
    aud_event_t ev = event(AUD_KIND_DEVICE_APPROVED, T0, NULL);
    as(&ev, IDP, "mallory", "<b>mallory</b>@acme.example");
    aud_event_detail_str(&ev, "device_user_agent", "<script>alert(1)</script>");
    aud_event_detail_str(&ev, "grant_id", "g-9");
    aud_event_detail_str(&ev, "scope", "read");
    assert_int_equal(aud_report_stats_add(s, "gw-1", 1, &ev), 0);
    ev = event(AUD_KIND_DIRECTORY_CHANGED, T0 + 1, NULL);
    aud_event_detail_str(&ev, "resource", "user");
    aud_event_detail_str(&ev, "operation", "patch");
    aud_event_detail_str(&ev, "id", "u-\"7\"");
    aud_event_detail_str(&ev, "user_name", "o'brien&co@acme.example");
    aud_event_detail_bool(&ev, "deprovisioned", 1);
    aud_event_detail_int(&ev, "revoked_token_count", 12);
    aud_event_detail_int(&ev, "ended_session_count", 3);
    assert_int_equal(aud_report_stats_add(s, "gw-1", 2, &ev), 0);
    json_t *r = stats_json(s);
    json_object_set_new(r, "scope", json_pack("{s:n}", "org"));

    char dir[] = "/tmp/hubgate-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    rpt_sink_t out;
    char err[200], hex[65];
    assert_int_equal(rpt_sink_open(&out, dfd, "report.html", err, sizeof(err)), 0);
    rpt_html_write(&out, r);
    assert_int_equal(rpt_sink_close(&out, hex, err, sizeof(err)), 0);
    char p[64];
    snprintf(p, sizeof(p), "%s/report.html", dir);
    char *html = slurp(p);
    const char *part = strstr(html, "<h2>CC6.2 / CC6.3 — Access begins and ends</h2>");
    assert_non_null(part);
    assert_null(strstr(part, "an org's report counts none")); /* a report of every org */
    /* the figures: one approval, one deprovisioning with what it revoked */
    assert_non_null(strstr(part, "<tr><th>Device sign-ins approved</th><td class=\"n\">1</td>"));
    assert_non_null(strstr(part, "<tr><th>Deprovisionings (access ended by the directory)</th>"
                                 "<td class=\"n\">1</td>"));
    assert_non_null(strstr(part, "<td>u-&quot;7&quot;</td><td class=\"n\">12</td>"
                                 "<td class=\"n\">3</td><td>—</td><td>—</td>"));
    /* escaped like the rest: event text never becomes markup */
    assert_non_null(strstr(part, "o&#39;brien&amp;co@acme.example"));
    assert_non_null(strstr(part, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(part, "&lt;b&gt;mallory&lt;/b&gt;@acme.example"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<b>mallory"));
    free(html);
    unlink(p);

    /* An org's report says why it shows none of these. */
    json_object_set_new(r, "scope", json_pack("{s:s}", "org", "acme"));
    assert_int_equal(rpt_sink_open(&out, dfd, "report.html", err, sizeof(err)), 0);
    rpt_html_write(&out, r);
    assert_int_equal(rpt_sink_close(&out, hex, err, sizeof(err)), 0);
    html = slurp(p);
    assert_non_null(strstr(html, "These events name no org: an org's report counts none of them."));
    free(html);
    unlink(p);
    close(dfd);
    rmdir(dir);
    json_decref(r);
    aud_report_stats_destroy(s);
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
        cmocka_unit_test(period_bounds),
        cmocka_unit_test(checkpoints_around_the_period),
        cmocka_unit_test(scope_of_an_org),
        cmocka_unit_test(days_and_spikes),
        cmocka_unit_test(tables_stay_bounded),
        cmocka_unit_test(event_lines),
        cmocka_unit_test(access_lifecycle_figures),
        cmocka_unit_test(access_lifecycle_without_events),
        cmocka_unit_test(access_lifecycle_stays_bounded),
        cmocka_unit_test(access_lifecycle_in_html),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
