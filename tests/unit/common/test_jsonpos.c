#include <string.h>

#include "unit/testutil.h"

#include "common/jsonpos.h"

static const char doc[] = "{\n"
                          "  \"orgs\": {\n"
                          "    \"acme\": {\"members\": [\n"
                          "      {\"group\": \"ml\", \"role\": \"writer\"},\n"
                          "      {\"email\": \"é@x\", \"rôle\": 1}\n"
                          "    ]},\n"
                          "    \"a/b~c\": true\n"
                          "  }\n"
                          "}\n";

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
    assert_int_equal(cmn_jsonpos_find(idx, "/orgs/acme/members/1/r\xc3\xb4le", 0, &line, &col), 0);
    assert_int_equal(line, 5);
    assert_int_equal(col, 32);
    /* RFC 6901 escaping of / and ~ */
    assert_int_equal(cmn_jsonpos_find(idx, "/orgs/a~1b~0c", 0, &line, &col), 0);
    assert_int_equal(line, 7);
    assert_int_not_equal(cmn_jsonpos_find(idx, "/orgs/missing", 0, &line, &col), 0);
    cmn_jsonpos_free(idx);
}

static void diagnostics_read_file_line_col_path(void **state)
{
    cmn_jsonpos_t *idx = cmn_jsonpos_build(doc, strlen(doc));
    cmn_buf_t out;
    cmn_buf_init(&out, 4096);
    cmn_jdiag_t d = {.file = "policy.json", .pos = idx, .out = &out};
    cmn_jdiag_error(&d, "/orgs/acme/members/0/role", 0, "unknown role \"%s\"", "writer");
    cmn_jdiag_error(&d, "/orgs/a~1b~0c", 1, "odd key");
    cmn_jdiag_error(&d, "/nowhere", 0, "no position");
    cmn_jdiag_syntax(&d, 3, 7, "invalid token");
    assert_string_equal(out.data,
                        "policy.json:4:31: orgs.acme.members[0].role: unknown role \"writer\"\n"
                        "policy.json:7:5: orgs[\"a/b~c\"]: odd key\n"
                        "policy.json: nowhere: no position\n"
                        "policy.json:3:7: invalid token\n");
    assert_int_equal(d.errors, 4);
    cmn_buf_free(&out);
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
        cmocka_unit_test(diagnostics_read_file_line_col_path),
        cmocka_unit_test(survives_garbage_and_deep_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
