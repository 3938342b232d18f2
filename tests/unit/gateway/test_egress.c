#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "gateway/egress.h"

static void seal_then_open(void **state)
{
    gw_egress_key_t k;
    assert_int_equal(gw_egress_key_load(&k, NULL), 0);
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    gw_egress_claim_t c = {.url = "http://127.0.0.1:9/lfs/ab/abcd?sig=x&exp=1",
                           .method = "GET",
                           .repo = "models/acme/bert",
                           .action = "read",
                           .caller = "https://idp|alice",
                           .headers = "",
                           .expires = 2000};
    const char *t = gw_egress_seal(&k, &c, &a);
    assert_non_null(t);
    assert_null(strstr(t, "127.0.0.1")); /* the URL is not readable in the token */
    for (const char *p = t; *p; p++)
        assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    gw_egress_claim_t o;
    assert_int_equal(gw_egress_open(&k, t, 1999, &a, &o), 0);
    assert_string_equal(o.url, c.url);
    assert_string_equal(o.method, "GET");
    assert_string_equal(o.repo, "models/acme/bert");
    assert_string_equal(o.caller, "https://idp|alice");
    assert_int_equal(o.expires, 2000);
    assert_int_equal(gw_egress_open(&k, t, 2001, &a, &o), CMN_ERR_TIMEOUT);
    cmn_arena_free(&a);
}

static void tampering_and_foreign_keys_fail(void **state)
{
    gw_egress_key_t k, other;
    assert_int_equal(gw_egress_key_load(&k, NULL), 0);
    assert_int_equal(gw_egress_key_load(&other, NULL), 0);
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    gw_egress_claim_t c = {"http://s/x", "PUT", "models/a/b", "write", "", "", 4000000000};
    const char *t = gw_egress_seal(&k, &c, &a);
    gw_egress_claim_t o;
    assert_int_equal(gw_egress_open(&other, t, 0, &a, &o), CMN_ERR_PARSE);
    char *bad = strdup(t);
    for (size_t i = 0; bad[i]; i++) {
        char saved = bad[i];
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_not_equal(gw_egress_open(&k, bad, 0, &a, &o), 0);
        bad[i] = saved;
    }
    free(bad);
    assert_int_equal(gw_egress_open(&k, "", 0, &a, &o), CMN_ERR_PARSE);
    assert_int_equal(gw_egress_open(&k, "not+base64", 0, &a, &o), CMN_ERR_PARSE);
    cmn_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seal_then_open),
        cmocka_unit_test(tampering_and_foreign_keys_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
