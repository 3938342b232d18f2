#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonpos.h"
#include "support/json_doc.h"


static void finds_values_and_keys(void **state)
{
    cmn_jsonpos_t *idx = cmn_jsonpos_build(doc, strlen(doc));
    assert_non_null(idx);
    int line, col;
    assert_int_equal(cmn_jsonpos_find(idx, "", 0, &line, &col), 0);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
    assert_int_equal(cmn_jsonpos_find(idx, "/orgs/acme/members/0/role", 0, &line, &col), 0);
    assert_int_equal(line, 4);
    assert_int_equal(col, 31);
    assert_int_equal(cmn_jsonpos_find(idx, "/orgs/acme/members/0/role", 1, &line, &col), 0);
    assert_int_equal(col, 23);
    /* columns count code points, like jansson: "é" is one column */
    assert_int_equal(cmn_jsonpos_find(idx, "/orgs/acme/members/1/r\xc3\xb4le", 0, &line, &col),
                     0);
    assert_int_equal(line, 5);
    assert_int_equal(col, 32);
    /* RFC 6901 escaping of / and ~ */
    assert_int_equal(cmn_jsonpos_find(idx, "/orgs/a~1b~0c", 0, &line, &col), 0);
    assert_int_equal(line, 7);
    assert_int_not_equal(cmn_jsonpos_find(idx, "/orgs/missing", 0, &line, &col), 0);
    cmn_jsonpos_free(idx);
}

static void tells_indexes_and_duplicate_keys(void **state)
{
    static const char text[] = "{\"a\": [{\"0\": 1, \"0\": 2}],\n \"a\": 3, \"b\": {\"a\": 4}}";
    cmn_jsonpos_t *idx = cmn_jsonpos_build(text, strlen(text));
    assert_non_null(idx);
    assert_true(cmn_jsonpos_is_index(idx, "/a/0", 4));
    assert_false(cmn_jsonpos_is_index(idx, "/a/0/0", 6));
    assert_false(cmn_jsonpos_is_index(idx, "/a", 2));
    const char *pointer;
    int line, col, fl, fc;
    assert_int_equal(cmn_jsonpos_duplicate(idx, 0, &pointer, &line, &col, &fl, &fc), 0);
    assert_string_equal(pointer, "/a/0/0");
    assert_int_equal(line, 1);
    assert_int_equal(col, 17);
    assert_int_equal(fl, 1);
    assert_int_equal(fc, 9);
    assert_int_equal(cmn_jsonpos_duplicate(idx, 1, &pointer, &line, &col, &fl, &fc), 0);
    assert_string_equal(pointer, "/a");
    assert_int_equal(line, 2);
    assert_int_equal(col, 2);
    assert_int_equal(fl, 1);
    assert_int_equal(fc, 2);
    /* "a" inside "b" repeats no sibling */
    assert_int_equal(cmn_jsonpos_duplicate(idx, 2, &pointer, &line, &col, &fl, &fc),
                     CMN_ERR_NOTFOUND);
    cmn_jsonpos_free(idx);
}

static void survives_garbage_and_deep_nesting(void **state)
{
    const char *bad[] = {"", "{", "{\"a\"", "[[[[", "\"\\u12", "{\"a\":\"\\ud800\\u\"}", "}}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cmn_jsonpos_free(cmn_jsonpos_build(bad[i], strlen(bad[i])));
    char deep[3000];
    memset(deep, '[', sizeof(deep));
    cmn_jsonpos_t *idx = cmn_jsonpos_build(deep, sizeof(deep));
    assert_non_null(idx);
    cmn_jsonpos_free(idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_values_and_keys),
        cmocka_unit_test(tells_indexes_and_duplicate_keys),
        cmocka_unit_test(survives_garbage_and_deep_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
