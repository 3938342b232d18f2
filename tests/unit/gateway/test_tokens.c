#include <string.h>

#include "support/testutil.h"

#include "gateway/authn/tokens.h"

/* A token's name is checked before anything happens: what is refused, and why. */
static void names(void **state)
{
    (void)state;
    static char long_name[GW_MAX_TOKEN_NAME + 2];
    memset(long_name, 'x', GW_MAX_TOKEN_NAME + 1);
    static char max_name[GW_MAX_TOKEN_NAME + 1];
    memset(max_name, 'x', GW_MAX_TOKEN_NAME);
    static const struct {
        const char *name;
        const char *value;
        const char *want; /* a substring of the problem, NULL when accepted */
    } cases[] = {
        {"a plain name", "laptop", NULL},
        {"every punctuation allowed", "CI/CD (acme) #2: build-bot_1.0, nightly; a@b+c", NULL},
        {"128 characters", max_name, NULL},
        {"hf_ and a few characters is a name", "hf_laptop", NULL},
        {"129 characters", long_name, "1 to 128 characters"},
        {"empty", "", "1 to 128 characters"},
        {"a Hub token", "hf_abcdefghijklmnopqrstuvwxyz", "looks like a credential"},
        {"a hubgate token", "hf_gw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "looks like a credential"},
        {"a bearer value", "Bearer x", "looks like a credential"},
        {"a bearer value in another case", "BEARER abc", "looks like a credential"},
        {"a basic value", "Basic dXNlcg", "looks like a credential"},
        {"a JWT", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig", "looks like a credential"},
        {"a newline", "a\nb", "may hold only"},
        {"a tab", "a\tb", "may hold only"},
        {"a quote", "a\"b", "may hold only"},
        {"a backslash", "a\\b", "may hold only"},
        {"UTF-8", "caf\xc3\xa9", "may hold only"},
        {"a bidi override",
         "a\xe2\x80\xae"
         "b",
         "may hold only"},
        {"a leading space", " a", "must not start or end with a space"},
        {"a trailing space", "a ", "must not start or end with a space"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = gw_tokens_name_problem(cases[i].value);
        if (!cases[i].want && got)
            fail_msg("case \"%s\": refused: %s", cases[i].name, got);
        if (cases[i].want && (!got || !strstr(got, cases[i].want)))
            fail_msg("case \"%s\": want \"%s\", got %s", cases[i].name, cases[i].want,
                     got ? got : "(accepted)");
    }
    assert_non_null(gw_tokens_name_problem(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
