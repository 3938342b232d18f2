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

#include "common/sha256.h"
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

/* pol_diff of old_text (old.json) against new_text (new.json), text or JSON, into out (emptied
 * first). Returns the number of changes. */
static size_t diff(const char *old_text, const char *new_text, int json, cmn_buf_t *out)
{
    pol_policy_t *a = parse("old.json", old_text), *b = parse("new.json", new_text);
    cmn_buf_clear(out);
    size_t changes = 99;
    assert_int_equal(pol_diff(a, b, json, out, &changes), 0);
    pol_policy_unref(a);
    pol_policy_unref(b);
    return changes;
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
    cmn_buf_t out;
    cmn_buf_init(&out, 1 << 20);
    assert_int_equal(diff(old_text, old_text, 0, &out), 0);
    assert_non_null(strstr(out.data, "no access changes over 3 subjects"));
    cmn_buf_free(&out);
}

static void gains_losses_and_conditions(void **state)
{
    cmn_buf_t out;
    cmn_buf_init(&out, 1 << 20);
    size_t changes = diff(old_text, new_text, 0, &out);
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
    assert_int_equal(diff(old_text, new_text, 1, &out), 8);
    json_error_t err;
    json_t *root = json_loads(out.data, 0, &err);
    assert_non_null(root);
    char sha[CMN_SHA256_HEX];
    cmn_sha256_hex(new_text, strlen(new_text), sha);
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "new"), "sha256")),
                        sha);
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
    cmn_buf_free(&out);
}

static const char personal_a[] = "{\"version\": 1, \"personal_namespaces\": {\"read\": true},"
                                 " \"rules\": [{\"id\": \"ro\", \"effect\": \"allow\","
                                 " \"actions\": [\"read\"], \"repos\": [\"datasets/pub/*\"]}]}";
static const char personal_b[] =
    "{\"version\": 1, \"personal_namespaces\": {\"read\": true, \"write\": true}, "
    "\"rules\": [{\"id\": \"ro\", \"effect\": \"allow\", \"actions\": [\"read\"], "
    "\"repos\": [\"datasets/pub/*\"], \"subjects\": [{\"group\": \"team\"}]}]}";
static const char nets_a[] = "{\"version\": 1, \"orgs\": {\"o\": {\"members\": "
                             "[{\"group\": \"g\", \"role\": \"admin\"}]}}}";
static const char nets_b[] = "{\"version\": 1, \"orgs\": {\"o\": {\"members\": "
                             "[{\"group\": \"g\", \"role\": \"admin\"}], \"require\": "
                             "{\"admin\": {\"networks\": [\"10.0.0.0/8\", \"192.168.0.0/16\"]}}}}}";
/* Report exports: who gains or loses exporting which org's reports, or every org's at once,
 * under which conditions; org admins export nothing, before or after. */
static const char reports_a[] =
    "{\"version\": 1, \"orgs\": {\"acme\": {\"members\": [{\"email\": \"aud@acme.example\", "
    "\"role\": \"auditor\"}, {\"group\": \"adm\", \"role\": \"admin\"}]}, \"beta\": {}}}";
static const char reports_b[] =
    "{\"version\": 1, \"orgs\": {\"acme\": {\"members\": [{\"group\": \"adm\", \"role\": "
    "\"admin\"}], \"require\": {\"auditor\": {\"mfa\": true}}}, \"beta\": {}}, "
    "\"auditors\": [{\"group\": \"corp-audit\"}]}";

/* Text diffs: the report after its header line is want (exact), or contains it; never holds
 * `never` when set. */
static const struct {
    const char *name, *old_text, *new_text;
    size_t changes;
    int exact;
    const char *want, *never;
} cases[] = {
    /* group team keeps its read: no line for it */
    {"personal namespace and rule subjects", personal_a, personal_b, 2, 1,
     "any authenticated user:\n"
     "  + gains write, create, delete, admin on */{own}/* and {own} itself (always)\n"
     "  - loses read on datasets/pub/* (was always)\n"
     "2 changes (1 gained, 1 lost) over 2 subjects and 7 repo patterns\n",
     "group team"},
    {"networks required", nets_a, nets_b, 1, 0,
     "group g:\n  ~ narrowed delete, admin on */o/* and o itself: "
     "always -> only from 10.0.0.0/8, 192.168.0.0/16\n",
     NULL},
    {"networks no longer required", nets_b, nets_a, 1, 0,
     "~ widened delete, admin on */o/* and o itself: only from "
     "10.0.0.0/8, 192.168.0.0/16 -> always\n",
     NULL},
    {"report exports", reports_a, reports_b, 4, 0,
     "group corp-audit (report exports):\n"
     "  + gains the reports of every org (with MFA)\n"
     "  + gains the reports of acme (with MFA)\n"
     "  + gains the reports of beta (always)\n"
     "email aud@acme.example (report exports):\n"
     "  - loses the reports of acme (was always)\n"
     "4 changes (3 gained, 1 lost)",
     "group adm (report exports)"},
    {"report exports unchanged", reports_b, reports_b, 0, 0, "no access changes", NULL},
};

static void text_cases(void **state)
{
    cmn_buf_t out;
    cmn_buf_init(&out, 1 << 20);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t changes = diff(cases[i].old_text, cases[i].new_text, 0, &out);
        const char *body = strchr(out.data, '\n') + 1; /* after the header with the hashes */
        int ok = cases[i].exact ? strcmp(body, cases[i].want) == 0 : !!strstr(body, cases[i].want);
        if (changes != cases[i].changes || !ok ||
            (cases[i].never && strstr(out.data, cases[i].never)))
            fail_msg("case \"%s\": %zu changes:\n%s", cases[i].name, changes, out.data);
    }
    cmn_buf_free(&out);
}

static void report_exports_as_json(void **state)
{
    cmn_buf_t out;
    cmn_buf_init(&out, 1 << 20);
    assert_int_equal(diff(reports_a, reports_b, 1, &out), 4);
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
    cmn_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_policies),
        cmocka_unit_test(gains_losses_and_conditions),
        cmocka_unit_test(text_cases),
        cmocka_unit_test(report_exports_as_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
