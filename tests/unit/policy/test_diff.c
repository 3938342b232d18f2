/* `policy diff`: who gains or loses which action on which repo pattern, with conditions
 * (MFA, networks) described; identical policies show no change; JSON carries the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

static pol_policy_t *parse(const char *name, const char *text)
{
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    pol_policy_t *p = pol_policy_parse(text, strlen(text), name, NULL, &errors);
    if (!p)
        fail_msg("%s: %s", name, errors.data);
    cmn_buf_free(&errors);
    return p;
}

static const char old_text[] =
    "{\"version\": 1,\n"
    " \"orgs\": {\"acme\": {\"members\": [{\"group\": \"acme-ml\", \"role\": \"write\"},\n"
    "                                  {\"group\": \"acme-staff\", \"role\": \"read\"}]}},\n"
    " \"external\": {\"read\": true, \"namespaces\": [\"google\"]},\n"
    " \"rules\": [{\"id\": \"no-deletes-from-outside\", \"effect\": \"deny\", \"actions\": "
    "[\"delete\"],\n"
    "            \"repos\": [\"*/*/*\"], \"unless\": {\"networks\": [\"10.0.0.0/8\"]}}]\n"
    "}\n";

static const char new_text[] =
    "{\"version\": 1,\n"
    " \"orgs\": {\"acme\": {\"members\": [{\"group\": \"acme-ml\", \"role\": \"write\"},\n"
    "                                  {\"group\": \"acme-staff\", \"role\": \"read\"},\n"
    "                                  {\"email\": \"boss@acme.example\", \"role\": \"admin\"}],\n"
    "   \"resource_groups\": [{\"name\": \"ft\", \"repos\": [\"models/acme/ft-*\"],\n"
    "                        \"members\": [{\"group\": \"contractors\", \"role\": \"write\"}]}],\n"
    "   \"require\": {\"write\": {\"mfa\": true}}}},\n"
    " \"external\": {\"read\": false, \"namespaces\": [\"google\"]},\n"
    " \"rules\": [{\"id\": \"no-deletes-from-outside\", \"effect\": \"deny\", \"actions\": "
    "[\"delete\"],\n"
    "            \"repos\": [\"*/*/*\"], \"unless\": {\"networks\": [\"10.0.0.0/8\"]}}]\n"
    "}\n";

static void identical_policies(void **state)
{
    pol_policy_t *a = parse("a.json", old_text), *b = parse("b.json", old_text);
    cmn_buf_t out;
    cmn_buf_init(&out, 1 << 20);
    size_t changes = 99;
    assert_int_equal(pol_diff(a, b, 0, &out, &changes), 0);
    assert_int_equal(changes, 0);
    assert_non_null(strstr(out.data, "no access changes over 3 subjects"));
    pol_policy_unref(a);
    pol_policy_unref(b);
    cmn_buf_free(&out);
}

static void gains_losses_and_conditions(void **state)
{
    pol_policy_t *a = parse("old.json", old_text), *b = parse("new.json", new_text);
    cmn_buf_t out;
    cmn_buf_init(&out, 1 << 20);
    size_t changes = 0;
    assert_int_equal(pol_diff(a, b, 0, &out, &changes), 0);
    const char *body = strchr(out.data, '\n') + 1; /* after the header with the hashes */
    static const char want[] =
        "any authenticated user:\n"
        "  - loses read on */google/* and google itself (was always)\n"
        "group acme-ml:\n"
        "  ~ narrowed write, create on */acme/* and acme itself: always -> with MFA\n"
        "group contractors:\n"
        "  + gains read on models/acme/ft-* (always)\n"
        "  + gains write, create on models/acme/ft-* (with MFA)\n"
        "email boss@acme.example:\n"
        "  + gains read on */acme/* and acme itself (always)\n"
        "  + gains write, create on */acme/* and acme itself (with MFA)\n"
        "  + gains delete on */acme/* and acme itself (with MFA, only from 10.0.0.0/8)\n"
        "  + gains admin on */acme/* and acme itself (with MFA)\n"
        "8 changes (6 gained, 1 lost, 1 narrowed) over 5 subjects and 25 repo patterns\n";
    assert_string_equal(body, want);
    assert_int_equal(changes, 8);
    assert_memory_equal(out.data, "policy diff: old.json (sha256 ", 30);

    /* the same as JSON */
    cmn_buf_clear(&out);
    assert_int_equal(pol_diff(a, b, 1, &out, &changes), 0);
    json_error_t err;
    json_t *root = json_loads(out.data, 0, &err);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "new"), "sha256")),
                        pol_policy_sha256(b));
    json_t *list = json_object_get(root, "changes");
    assert_int_equal(json_array_size(list), 8);
    json_t *first = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(first, "change")), "lost");
    assert_string_equal(json_string_value(json_object_get(first, "repo")),
                        "*/google/* and google itself");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(first, "subject"), "kind")), "any");
    json_t *boss = json_array_get(list, 6);
    assert_string_equal(json_string_value(json_object_get(boss, "new")),
                        "with MFA, only from 10.0.0.0/8");
    assert_string_equal(json_string_value(json_array_get(json_object_get(boss, "actions"), 0)),
                        "delete");
    json_decref(root);
    pol_policy_unref(a);
    pol_policy_unref(b);
    cmn_buf_free(&out);
}

static void personal_namespaces_and_rules(void **state)
{
    pol_policy_t *a = parse("a.json", "{\"version\": 1, \"personal_namespaces\": {\"read\": true},"
                                      " \"rules\": [{\"id\": \"ro\", \"effect\": \"allow\","
                                      " \"actions\": [\"read\"], \"repos\": "
                                      "[\"datasets/pub/*\"]}]}");
    pol_policy_t *b = parse("b.json", "{\"version\": 1, \"personal_namespaces\": {\"read\": true, "
                                      "\"write\": true}, \"rules\": [{\"id\": \"ro\", "
                                      "\"effect\": \"allow\", \"actions\": [\"read\"], "
                                      "\"repos\": [\"datasets/pub/*\"], \"subjects\": "
                                      "[{\"group\": \"team\"}]}]}");
    cmn_buf_t out;
    cmn_buf_init(&out, 1 << 20);
    size_t changes = 0;
    assert_int_equal(pol_diff(a, b, 0, &out, &changes), 0);
    const char *body = strchr(out.data, '\n') + 1;
    static const char want[] =
        "any authenticated user:\n"
        "  + gains write, create, delete, admin on */{own}/* and {own} itself (always)\n"
        "  - loses read on datasets/pub/* (was always)\n"
        "2 changes (1 gained, 1 lost) over 2 subjects and 7 repo patterns\n";
    /* group team keeps its read: no line for it */
    assert_string_equal(body, want);
    pol_policy_unref(a);
    pol_policy_unref(b);
    cmn_buf_free(&out);
}

static void network_exceptions(void **state)
{
    pol_policy_t *a = parse("a.json", "{\"version\": 1, \"orgs\": {\"o\": {\"members\": "
                                      "[{\"group\": \"g\", \"role\": \"admin\"}]}}}");
    pol_policy_t *b = parse("b.json", "{\"version\": 1, \"orgs\": {\"o\": {\"members\": "
                                      "[{\"group\": \"g\", \"role\": \"admin\"}], \"require\": "
                                      "{\"admin\": {\"networks\": [\"10.0.0.0/8\", "
                                      "\"192.168.0.0/16\"]}}}}}");
    cmn_buf_t out;
    cmn_buf_init(&out, 1 << 20);
    size_t changes = 0;
    assert_int_equal(pol_diff(a, b, 0, &out, &changes), 0);
    assert_non_null(strstr(out.data, "group g:\n  ~ narrowed delete, admin on */o/* and o itself: "
                                     "always -> only from 10.0.0.0/8, 192.168.0.0/16\n"));
    assert_int_equal(changes, 1);
    cmn_buf_clear(&out);
    assert_int_equal(pol_diff(b, a, 0, &out, &changes), 0);
    assert_non_null(strstr(out.data, "~ widened delete, admin on */o/* and o itself: only from "
                                     "10.0.0.0/8, 192.168.0.0/16 -> always\n"));
    pol_policy_unref(a);
    pol_policy_unref(b);
    cmn_buf_free(&out);
}

/* Report exports: who gains or loses exporting which org's reports, or every org's at once,
 * under which conditions; org admins export nothing, before or after. */
static void report_exports(void **state)
{
    pol_policy_t *a =
        parse("a.json", "{\"version\": 1, \"orgs\": {\"acme\": {\"members\": [{\"email\": "
                        "\"aud@acme.example\", \"role\": \"auditor\"}, {\"group\": \"adm\", "
                        "\"role\": \"admin\"}]}, \"beta\": {}}}");
    pol_policy_t *b =
        parse("b.json", "{\"version\": 1, \"orgs\": {\"acme\": {\"members\": [{\"group\": "
                        "\"adm\", \"role\": \"admin\"}], \"require\": {\"auditor\": "
                        "{\"mfa\": true}}}, \"beta\": {}}, \"auditors\": [{\"group\": "
                        "\"corp-audit\"}]}");
    cmn_buf_t out;
    cmn_buf_init(&out, 1 << 20);
    size_t changes = 0;
    assert_int_equal(pol_diff(a, b, 0, &out, &changes), 0);
    static const char want[] = "group corp-audit (report exports):\n"
                               "  + gains the reports of every org (with MFA)\n"
                               "  + gains the reports of acme (with MFA)\n"
                               "  + gains the reports of beta (always)\n"
                               "email aud@acme.example (report exports):\n"
                               "  - loses the reports of acme (was always)\n"
                               "4 changes (3 gained, 1 lost)";
    if (!strstr(out.data, want))
        fail_msg("got:\n%s", out.data);
    assert_null(strstr(out.data, "group adm (report exports)"));
    assert_int_equal(changes, 4);
    cmn_buf_clear(&out);
    assert_int_equal(pol_diff(a, b, 1, &out, &changes), 0);
    json_t *j = json_loads(out.data, 0, NULL);
    json_t *r = json_object_get(j, "report_exports");
    assert_int_equal(json_array_size(r), 4);
    json_t *first = json_array_get(r, 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(first, "subject"), "value")),
        "corp-audit");
    assert_true(json_is_null(json_object_get(first, "org")));
    assert_string_equal(json_string_value(json_object_get(first, "change")), "gained");
    json_decref(j);
    cmn_buf_clear(&out);
    assert_int_equal(pol_diff(b, b, 0, &out, &changes), 0);
    assert_int_equal(changes, 0);
    pol_policy_unref(a);
    pol_policy_unref(b);
    cmn_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_policies),
        cmocka_unit_test(gains_losses_and_conditions),
        cmocka_unit_test(personal_namespaces_and_rules),
        cmocka_unit_test(network_exceptions),
        cmocka_unit_test(report_exports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
