/* report verify's small parsers (audit/report_verify_files.c): signatures in either base64
 * alphabet, the period's times, the file names a manifest may list. The verification itself
 * runs over real report directories in tests/integration/evidence/report_verify.test.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit/report_verify_files.c"

static void base64_either_alphabet(void **state)
{
    static const struct {
        const char *name, *in;
        size_t n;
        int ok;
    } cases[] = {
        {"standard, padded", "+/8=", 2, 1}, {"url-safe, unpadded", "-_8", 2, 1},
        {"too short", "+/8=", 3, 0},        {"too long", "+/8A", 2, 0},
        {"stray bits", "+/9=", 2, 0},       {"outside the alphabet", "+/*=", 2, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char out[8];
        int rc = b64_exact(cases[i].in, strlen(cases[i].in), out, cases[i].n);
        if ((rc == 0) != cases[i].ok)
            fail_msg("%s: %s", cases[i].name, rc == 0 ? "accepted" : "refused");
        if (rc == 0 && (out[0] != 0xfb || out[1] != 0xff))
            fail_msg("%s: decoded %02x%02x", cases[i].name, out[0], out[1]);
    }
}

static void period_times(void **state)
{
    static const struct {
        const char *in;
        int64_t us; /* -1: refused */
    } cases[] = {
        {"2026-05-01", 1777593600000000LL},
        {"2026-05-01T00:00:00Z", 1777593600000000LL},
        {"2026-05-01T00:00:00+00:00", 1777593600000000LL},
        {"2026-05-01T00:00:01.5Z", 1777593601500000LL},
        {"2026-05-01T00:00:01.123456Z", 1777593601123456LL},
        {"2026-05-01T00:00:01.1234567Z", -1},
        {"2026-05-01T00:00:01.Z", -1},
        {"2026-05-01T02:00:00+02:00", -1},
        {"2026-05-01T00:00:00", -1},
        {"2026-13-01", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t us = 0;
        int rc = parse_utc(cases[i].in, &us);
        if (cases[i].us < 0 ? rc == 0 : rc != 0 || us != cases[i].us)
            fail_msg("\"%s\": rc %d, %lld", cases[i].in, rc, (long long)us);
    }
}

static void manifest_file_names(void **state)
{
    assert_true(safe_file_name("report.json"));
    assert_true(safe_file_name("events-2.csv"));
    assert_false(safe_file_name(""));
    assert_false(safe_file_name(".hidden"));
    assert_false(safe_file_name("../report.json"));
    assert_false(safe_file_name("a/b"));
    assert_false(safe_file_name("a b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base64_either_alphabet),
        cmocka_unit_test(period_times),
        cmocka_unit_test(manifest_file_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
