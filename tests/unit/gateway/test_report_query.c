/* The query of GET /-/reports/soc2 (gateway/http/report_query.c): from, to, org and format, each at
 * most once, percent-decoded, nothing unknown; dates and RFC 3339 times in UTC (offsets
 * converted, leap days checked); an empty or over-long period refused. Each failure prints the
 * case name. */
#include <stdio.h>
#include <string.h>

#include "support/testutil.h"

#include "common/err.h"
#include "gateway/http/report_query.h"

#define DAY   86400000000LL
#define T2024 19723LL /* 2024-01-01, days since the epoch */

/* clang-format off */
static const struct {
    const char *name;
    const char *target;
    int ok;
    int64_t from_us, to_us;  /* -1: absent */
    const char *org;         /* NULL: absent */
    gw_report_format_t format;
    const char *problem;     /* a part of the sentence, when refused */
} cases[] = {
    {"no query", "/-/reports/soc2", 1, -1, -1, NULL, GW_REPORT_JSON, NULL},
    {"empty query", "/-/reports/soc2?", 1, -1, -1, NULL, GW_REPORT_JSON, NULL},
    {"dates", "/-/reports/soc2?from=2024-01-01&to=2024-01-02", 1, T2024 * DAY, (T2024 + 1) * DAY,
     NULL, GW_REPORT_JSON, NULL},
    {"every parameter, any order", "/-/reports/soc2?format=csv&org=acme&to=2024-03-01&from=2024-02-28",
     1, (T2024 + 58) * DAY, (T2024 + 60) * DAY, "acme", GW_REPORT_CSV, NULL},
    {"leap day", "/-/reports/soc2?from=2024-02-29&to=2024-03-01", 1, (T2024 + 59) * DAY,
     (T2024 + 60) * DAY, NULL, GW_REPORT_JSON, NULL},
    {"html", "/-/reports/soc2?format=html", 1, -1, -1, NULL, GW_REPORT_HTML, NULL},
    {"json named", "/-/reports/soc2?format=json&", 1, -1, -1, NULL, GW_REPORT_JSON, NULL},
    {"rfc 3339 Z with fraction", "/-/reports/soc2?from=2024-01-01T12:30:15.25Z", 1,
     T2024 * DAY + (12 * 3600 + 30 * 60 + 15) * 1000000LL + 250000, -1, NULL, GW_REPORT_JSON, NULL},
    {"rfc 3339 six fractional digits, lowercase t and z",
     "/-/reports/soc2?from=2024-01-01t00:00:00.000001z", 1, T2024 * DAY + 1, -1, NULL,
     GW_REPORT_JSON, NULL},
    {"offset +02:00 (typed unencoded)", "/-/reports/soc2?from=2024-01-01T02:00:00+02:00", 1,
     T2024 * DAY, -1, NULL, GW_REPORT_JSON, NULL},
    {"offset encoded, colons encoded", "/-/reports/soc2?to=2023-12-31T19%3A00%3A00%2D05%3A00", 1,
     -1, T2024 * DAY, NULL, GW_REPORT_JSON, NULL},
    {"encoded space instead of T, as hubgate report soc2 reads it",
     "/-/reports/soc2?from=2024-01-01%2000:00:01Z", 1, T2024 * DAY + 1000000, -1, NULL,
     GW_REPORT_JSON, NULL},
    {"org percent-encoded", "/-/reports/soc2?org=%61cme", 1, -1, -1, "acme", GW_REPORT_JSON, NULL},
    {"period of exactly the maximum", "/-/reports/soc2?from=2024-01-01&to=2025-02-04", 1,
     T2024 * DAY, (T2024 + 400) * DAY, NULL, GW_REPORT_JSON, NULL},

    {"period one day over", "/-/reports/soc2?from=2024-01-01&to=2025-02-05", 0, 0, 0, NULL, 0,
     "longer than 400 days"},
    {"empty period", "/-/reports/soc2?from=2024-01-01&to=2024-01-01", 0, 0, 0, NULL, 0,
     "from must come before to"},
    {"reversed period", "/-/reports/soc2?from=2024-01-02&to=2024-01-01", 0, 0, 0, NULL, 0,
     "from must come before to"},
    {"unknown parameter", "/-/reports/soc2?from=2024-01-01&limit=5", 0, 0, 0, NULL, 0,
     "unknown query parameter \"limit\""},
    {"repeated from", "/-/reports/soc2?from=2024-01-01&from=2024-01-02", 0, 0, 0, NULL, 0,
     "from is given more than once"},
    {"repeated org", "/-/reports/soc2?org=acme&org=beta", 0, 0, 0, NULL, 0,
     "org is given more than once"},
    {"repeated format", "/-/reports/soc2?format=csv&format=json", 0, 0, 0, NULL, 0,
     "format is given more than once"},
    {"unknown format", "/-/reports/soc2?format=pdf", 0, 0, 0, NULL, 0,
     "expected json, html or csv"},
    {"empty value", "/-/reports/soc2?org=", 0, 0, 0, NULL, 0, "org is empty"},
    {"no value", "/-/reports/soc2?org", 0, 0, 0, NULL, 0, "each as name=value"},
    {"empty parameter", "/-/reports/soc2?org=acme&&format=csv", 0, 0, 0, NULL, 0, "empty parameter"},
    {"org with a slash", "/-/reports/soc2?org=acme%2Fbert", 0, 0, 0, NULL, 0, "expected an org name"},
    {"org with a space", "/-/reports/soc2?org=ac+me", 0, 0, 0, NULL, 0, "expected an org name"},
    {"control character", "/-/reports/soc2?org=acme%0a", 0, 0, 0, NULL, 0, "control characters"},
    {"NUL", "/-/reports/soc2?org=ac%00me", 0, 0, 0, NULL, 0, "control characters"},
    {"truncated escape", "/-/reports/soc2?org=acme%2", 0, 0, 0, NULL, 0, "%-escapes"},
    {"bad escape", "/-/reports/soc2?org=acme%zz", 0, 0, 0, NULL, 0, "%-escapes"},
    {"value too long", "/-/reports/soc2?org=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     0, 0, 0, NULL, 0, "at most 128 bytes"},
    {"org too long for a name", "/-/reports/soc2?org=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     0, 0, 0, NULL, 0, "expected an org name"},
    {"not a date", "/-/reports/soc2?from=yesterday", 0, 0, 0, NULL, 0, "expected a date"},
    {"february 30", "/-/reports/soc2?from=2024-02-30", 0, 0, 0, NULL, 0, "expected a date"},
    {"february 29 of a common year", "/-/reports/soc2?from=2023-02-29", 0, 0, 0, NULL, 0,
     "expected a date"},
    {"month 13", "/-/reports/soc2?from=2024-13-01", 0, 0, 0, NULL, 0, "expected a date"},
    {"before 1970", "/-/reports/soc2?from=1969-12-31", 0, 0, 0, NULL, 0, "from 1970 on"},
    {"offset reaching before 1970", "/-/reports/soc2?from=1970-01-01T00:00:00%2B01:00", 0, 0, 0,
     NULL, 0, "expected a date"},
    {"time without zone", "/-/reports/soc2?from=2024-01-01T00:00:00", 0, 0, 0, NULL, 0,
     "expected a date"},
    {"leap second", "/-/reports/soc2?from=2024-01-01T23:59:60Z", 0, 0, 0, NULL, 0,
     "expected a date"},
    {"seven fractional digits", "/-/reports/soc2?from=2024-01-01T00:00:00.0000001Z", 0, 0, 0, NULL,
     0, "expected a date"},
    {"empty fraction", "/-/reports/soc2?from=2024-01-01T00:00:00.Z", 0, 0, 0, NULL, 0,
     "expected a date"},
    {"trailing garbage", "/-/reports/soc2?from=2024-01-01Zx", 0, 0, 0, NULL, 0, "expected a date"},
    {"plus instead of T", "/-/reports/soc2?from=2024-01-01+00:00:00Z", 0, 0, 0, NULL, 0,
     "expected a date"},
    {"offset without colon", "/-/reports/soc2?from=2024-01-01T00:00:00+0200", 0, 0, 0, NULL, 0,
     "expected a date"},
    {"signed year", "/-/reports/soc2?from=+2024-01-01", 0, 0, 0, NULL, 0, "expected a date"},
};
/* clang-format on */

static void table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cmn_arena_t arena;
        cmn_arena_init(&arena, 1024, 1 << 20);
        gw_report_query_t q;
        char problem[384] = "";
        const char *t = cases[i].target;
        int rc = gw_report_query_parse(t, strlen(t), &arena, &q, problem, sizeof(problem));
        int bad = 0;
        if (cases[i].ok) {
            int64_t from = q.has_from ? q.from_us : -1, to = q.has_to ? q.to_us : -1;
            bad = rc != 0 || from != cases[i].from_us || to != cases[i].to_us ||
                  q.format != cases[i].format ||
                  (cases[i].org ? !q.org || strcmp(q.org, cases[i].org) != 0 : q.org != NULL);
            if (bad)
                print_error("case \"%s\": rc %d (%s), from %lld to %lld, org %s, format %d\n",
                            cases[i].name, rc, problem, (long long)from, (long long)to,
                            q.org ? q.org : "-", (int)q.format);
        } else {
            bad = rc != CMN_ERR_PARSE || !strstr(problem, cases[i].problem);
            if (bad)
                print_error("case \"%s\": rc %d, problem \"%s\", want \"%s\"\n", cases[i].name, rc,
                            problem, cases[i].problem);
        }
        cmn_arena_free(&arena);
        if (bad)
            fail();
    }
}

/* The target is read as given, without a terminating NUL. */
static void reads_only_len_bytes(void **state)
{
    (void)state;
    static const char t[] = "/-/reports/soc2?org=acme&format=csvXXXX";
    cmn_arena_t arena;
    cmn_arena_init(&arena, 1024, 1 << 20);
    gw_report_query_t q;
    char problem[384];
    assert_int_equal(gw_report_query_parse(t, strlen(t) - 4, &arena, &q, problem, sizeof(problem)),
                     0);
    assert_string_equal(q.org, "acme");
    assert_int_equal(q.format, GW_REPORT_CSV);
    cmn_arena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(reads_only_len_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
