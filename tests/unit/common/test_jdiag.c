#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jdiag.h"
#include "support/json_doc.h"


static void diagnostics_read_file_line_col_path(void **state)
{
    cmn_jsonpos_t *idx = cmn_jsonpos_build(doc, strlen(doc));
    cmn_buf_t out;
    cmn_buf_init(&out, 4096);
    cmn_jdiag_t d = {.file = "policy.json", .pos = idx, .out = &out};
    cmn_jdiag_error(&d, "/orgs/acme/members/0/role", 0, "unknown role \"%s\"", "writer");
    cmn_jdiag_error(&d, "/orgs/a~1b~0c", 1, "odd key");
    cmn_jdiag_error(&d, "/nowhere", 0, "no position");
    cmn_jdiag_error(&d, "", 0, "at the root");
    cmn_jdiag_syntax(&d, 3, 7, "invalid token");
    assert_string_equal(out.data,
                        "policy.json:4:31: orgs.acme.members[0].role: unknown role \"writer\"\n"
                        "policy.json:7:5: orgs[\"a/b~c\"]: odd key\n"
                        "policy.json: nowhere: no position\n"
                        "policy.json:1:1: (top level): at the root\n"
                        "policy.json:3:7: invalid token\n");
    assert_int_equal(d.errors, 5);
    cmn_buf_free(&out);
    cmn_jsonpos_free(idx);
}

/* Whatever the file holds, one problem is one line. */
static void control_characters_stay_on_one_line(void **state)
{
    static const char text[] = "{\"a\\nb\": {\"x\\u0001\": 1}}";
    cmn_jsonpos_t *idx = cmn_jsonpos_build(text, strlen(text));
    cmn_buf_t out;
    cmn_buf_init(&out, 4096);
    cmn_jdiag_t d = {.file = "c.json", .pos = idx, .out = &out};
    cmn_jdiag_error(&d, "/a\nb/x\x01", 1, "unknown key \"%s\"", "x\x01");
    cmn_jdiag_syntax(&d, 2, 1, "bad\ttext\x7f");
    assert_string_equal(out.data, "c.json:1:11: [\"a\\nb\"][\"x\\x01\"]: unknown key \"x\\x01\"\n"
                                  "c.json:2:1: bad\\ttext\\x7f\n");
    cmn_buf_free(&out);
    cmn_jsonpos_free(idx);
}

/* Without a file (a JSON command-line argument): the path and the message only. */
static void without_a_file_path_and_message(void **state)
{
    static const char text[] = "{\"groups\": [\"a\", 7]}";
    cmn_jsonpos_t *idx = cmn_jsonpos_build(text, strlen(text));
    cmn_buf_t out;
    cmn_buf_init(&out, 4096);
    cmn_jdiag_t d = {.file = NULL, .pos = idx, .out = &out};
    cmn_jdiag_error(&d, "/groups/1", 0, "found %s", "an integer");
    cmn_jdiag_error(&d, "", 0, "missing \"sub\"");
    cmn_jdiag_syntax(&d, 1, 7, "unexpected token");
    assert_string_equal(out.data, "groups[1]: found an integer\n"
                                  "missing \"sub\"\n"
                                  "line 1, column 7: unexpected token\n");
    cmn_buf_free(&out);
    cmn_jsonpos_free(idx);
}

static void load_names_every_duplicate_key(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"a\": 1,\n \"b\": {\"x\": 1, \"x\": 2},\n \"a\": 3}",
         "f.json:2:16: b.x: duplicate key \"x\" (first at line 2, column 8; each key may appear "
         "once)\n"
         "f.json:3:2: a: duplicate key \"a\" (first at line 1, column 2; each key may appear "
         "once)\n"},
        /* the same key in two objects is no duplicate */
        {"[{\"k\": 1}, {\"k\": 2, \"k\": 3}]",
         "f.json:1:21: [1].k: duplicate key \"k\" (first at line 1, column 13; each key may "
         "appear once)\n"},
        /* a duplicate and another error: jansson's first error only */
        {"{\"a\": 1, \"a\": 2, }", "f.json:1:12: duplicate object key near '\"a\"'\n"},
        {"{\"a\": 1", "f.json:1:7: '}' expected near end of file\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cmn_buf_t out;
        cmn_buf_init(&out, 4096);
        cmn_jdiag_t d = {.file = "f.json", .out = &out};
        assert_null(cmn_jdiag_load(&d, cases[i].text, strlen(cases[i].text)));
        if (!out.data || strcmp(out.data, cases[i].want) != 0)
            fail_msg("case %zu: got\n%swant\n%s", i, out.data ? out.data : "", cases[i].want);
        assert_true(d.errors > 0);
        assert_null(d.pos);
        cmn_buf_free(&out);
    }
    cmn_buf_t out;
    cmn_buf_init(&out, 4096);
    cmn_jdiag_t d = {.file = "f.json", .out = &out};
    json_t *root = cmn_jdiag_load(&d, "{\"a\": [1]}", 10);
    assert_non_null(root);
    assert_int_equal(d.errors, 0);
    json_decref(root);
    cmn_buf_free(&out);
}

static void readers_say_what_was_found_and_expected(void **state)
{
    static const char text[] = "{\"on\": \"yes\", \"list\": {}, \"flag\": false, \"membrs\": 1}";
    json_t *root = json_loads(text, 0, NULL);
    cmn_jsonpos_t *idx = cmn_jsonpos_build(text, strlen(text));
    cmn_buf_t out;
    cmn_buf_init(&out, 4096);
    cmn_jdiag_t d = {.file = "r.json", .pos = idx, .out = &out};
    static const char *const keys[] = {"on", "list", "flag", "members", NULL};
    assert_int_equal(cmn_jdiag_keys(&d, "", root, keys), 1);
    assert_int_equal(cmn_jdiag_bool(&d, "", root, "on", 1), 1);
    assert_int_equal(cmn_jdiag_bool(&d, "", root, "flag", 1), 0);
    assert_int_equal(cmn_jdiag_bool(&d, "", root, "absent", 1), 1);
    assert_null(cmn_jdiag_get(&d, "", root, "list", JSON_ARRAY, 0, "an array of names"));
    assert_null(cmn_jdiag_get(&d, "", root, "name", JSON_STRING, 1, "a name"));
    assert_null(cmn_jdiag_get(&d, "", root, "absent", JSON_STRING, 0, "a name"));
    assert_non_null(cmn_jdiag_get(&d, "", root, "flag", JSON_TRUE, 1, "true or false"));
    assert_string_equal(out.data,
                        "r.json:1:42: membrs: unknown key \"membrs\" (expected one of: on, list, "
                        "flag, members; did you mean \"members\"?)\n"
                        "r.json:1:8: on: found a string, expected true or false\n"
                        "r.json:1:23: list: found an object, expected an array of names\n"
                        "r.json:1:1: (top level): missing required key \"name\" (expected a "
                        "name)\n");
    assert_int_equal(d.errors, 4);
    /* booleans are named by their value, like every other found value */
    json_t *t = json_true(), *n = json_null(), *r = json_real(1.5);
    assert_string_equal(cmn_jdiag_type(t), "true");
    assert_string_equal(cmn_jdiag_type(json_false()), "false");
    assert_string_equal(cmn_jdiag_type(n), "null");
    assert_string_equal(cmn_jdiag_type(r), "a number");
    json_decref(r);
    cmn_buf_free(&out);
    cmn_jsonpos_free(idx);
    json_decref(root);
}

static void pointers_join_and_stop_at_the_cap(void **state)
{
    char p[CMN_JDIAG_PTR_MAX], q[CMN_JDIAG_PTR_MAX];
    assert_string_equal(cmn_jdiag_join(p, "/orgs", "a/b~c"), "/orgs/a~1b~0c");
    assert_string_equal(cmn_jdiag_join_index(q, p, 12), "/orgs/a~1b~0c/12");
    char big[CMN_JDIAG_PTR_MAX + 10];
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_string_equal(cmn_jdiag_join(p, "/orgs", big), "/orgs");
    char words[64], hint[64];
    static const char *const list[] = {"read", "write", "admin", NULL};
    cmn_jdiag_words(list, words, sizeof(words));
    assert_string_equal(words, "read, write, admin");
    cmn_jdiag_hint("wrte", list, hint, sizeof(hint));
    assert_string_equal(hint, "; did you mean \"write\"?");
    cmn_jdiag_hint("owner", list, hint, sizeof(hint));
    assert_string_equal(hint, "");
}

static void read_says_why_a_file_cannot_be_read(void **state)
{
    static const struct {
        const char *path, *what;
        int rc;
    } cases[] = {
        {"/nonexistent/p.json", "policy", CMN_ERR_NOTFOUND},
        {"/dev/zero", "configuration", CMN_ERR_TOOBIG}, /* never ends: over any cap */
        {"/", "policy", CMN_ERR_IO},                    /* a folder: read() fails */
    };
    cmn_buf_t errors;
    cmn_buf_init(&errors, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cmn_buf_t text;
        cmn_buf_init(&text, 1 << 20);
        assert_int_equal(cmn_jdiag_read(&text, cases[i].path, cases[i].what, &errors), cases[i].rc);
        cmn_buf_free(&text);
    }
    assert_string_equal(errors.data,
                        "/nonexistent/p.json: cannot read: no such file\n"
                        "/dev/zero: cannot read: larger than the 1 MiB a configuration may be\n"
                        "/: cannot read: Is a directory\n");
    /* a file that can be read says nothing */
    char path[4096];
    const char *src = getenv("HUBGATE_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/common/jdiag.h", src ? src : ".");
    cmn_buf_t text;
    cmn_buf_init(&text, 1 << 20);
    cmn_buf_clear(&errors);
    assert_int_equal(cmn_jdiag_read(&text, path, "header", &errors), 0);
    assert_non_null(strstr(text.data, "cmn_jdiag_read"));
    assert_int_equal(errors.len, 0);
    cmn_buf_free(&text);
    cmn_buf_free(&errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(diagnostics_read_file_line_col_path),
        cmocka_unit_test(control_characters_stay_on_one_line),
        cmocka_unit_test(without_a_file_path_and_message),
        cmocka_unit_test(load_names_every_duplicate_key),
        cmocka_unit_test(readers_say_what_was_found_and_expected),
        cmocka_unit_test(pointers_join_and_stop_at_the_cap),
        cmocka_unit_test(read_says_why_a_file_cannot_be_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
