#include <string.h>

#include "support/testutil.h"

#include "common/b64.h"

static const struct {
    const char *name, *raw, *enc;
} cases[] = {
    {"empty", "", ""},
    {"one byte", "f", "Zg"},
    {"two bytes", "fo", "Zm8"},
    {"three bytes", "foo", "Zm9v"},
    {"rfc vector", "foobar", "Zm9vYmFy"},
    {"url-safe chars", "\xfb\xff\xbf", "-_-_"},
    {"jwt header", "{\"alg\":\"RS256\"}", "eyJhbGciOiJSUzI1NiJ9"},
};

static void round_trips(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char enc[64];
        unsigned char dec[64];
        size_t n = strlen(cases[i].raw);
        assert_int_equal(cmn_b64url_encoded_len(n), strlen(cases[i].enc));
        cmn_b64url_encode((const unsigned char *)cases[i].raw, n, enc);
        if (strcmp(enc, cases[i].enc) != 0)
            fail_msg("case \"%s\": encoded %s", cases[i].name, enc);
        long d = cmn_b64url_decode(cases[i].enc, strlen(cases[i].enc), dec);
        if (d != (long)n || memcmp(dec, cases[i].raw, n) != 0)
            fail_msg("case \"%s\": decode", cases[i].name);
    }
}

static void refuses_non_canonical(void **state)
{
    unsigned char out[16];
    assert_int_equal(cmn_b64url_decode("Zg==", 4, out), -1);  /* padding */
    assert_int_equal(cmn_b64url_decode("Zm9v+", 5, out), -1); /* impossible length */
    assert_int_equal(cmn_b64url_decode("Zh", 2, out), -1);    /* non-zero trailing bits */
    assert_int_equal(cmn_b64url_decode("Zm+v", 4, out), -1);  /* standard alphabet */
    assert_int_equal(cmn_b64url_decode("Zm/v", 4, out), -1);
    assert_int_equal(cmn_b64url_decode("Z m9", 4, out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips),
        cmocka_unit_test(refuses_non_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
