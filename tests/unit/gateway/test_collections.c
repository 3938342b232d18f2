/* gw_collections_filter: a collections answer made for the service account, cut down to what
 * one caller may read. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/testutil.h"

#include "gateway/authz/collections.h"

static const char policy_text[] =
    "{\"version\": 1,\n"
    " \"orgs\": {\"acme\": {\"members\": [{\"group\": \"staff\", \"role\": \"read\"}],\n"
    "                      \"resource_groups\": [{\"name\": \"ft\", \"repos\": "
    "[\"models/acme/ft-*\"],\n"
    "                         \"members\": [{\"group\": \"contractors\", \"role\": \"read\"}]}]},\n"
    "          \"secret\": {\"members\": [{\"group\": \"secret-team\", \"role\": \"read\"}]}},\n"
    " \"external\": {\"read\": true, \"namespaces\": [\"google\"]},\n"
    " \"rules\": [{\"id\": \"no-gemma\", \"effect\": \"deny\", \"actions\": [\"read\"],\n"
    "            \"repos\": [\"models/google/gemma-*\"]}]\n"
    "}\n";

static pol_policy_t *policy;

static int setup(void **state)
{
    (void)state;
    static const char *const regions[] = {"us"};
    pol_options_t opts = {regions, 1, "us"};
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    policy = pol_policy_parse(policy_text, strlen(policy_text), "c.json", &opts, &errors);
    if (!policy)
        fprintf(stderr, "%s", errors.data);
    cmn_buf_free(&errors);
    return policy ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pol_policy_unref(policy);
    return 0;
}

static const char *const staff_groups[] = {"staff"};
static const char *const contractor_groups[] = {"contractors"};

/* One collection as the hub shows it to its service account. */
#define COLLECTION(owner, items)                                                                   \
    "{\"slug\": \"" owner "/favs-1\", \"title\": \"Favs\", \"owner\": {\"name\": \"" owner         \
    "\", \"type\": \"org\", \"isUserFollowing\": true}, \"isUpvotedByUser\": true, "               \
    "\"gating\": {\"mode\": \"manual\", \"notifications\": {\"mode\": \"bulk\", \"email\": "       \
    "\"admin@" owner ".example\"}}, \"items\": [" items "]}"

#define ITEMS                                                                                      \
    "{\"type\": \"model\", \"id\": \"acme/bert\", \"isLikedByUser\": true},"                       \
    "{\"type\": \"model\", \"id\": \"acme/ft-llama\"},"                                            \
    "{\"type\": \"dataset\", \"id\": \"secret/ds\"},"                                              \
    "{\"type\": \"model\", \"id\": \"google/gemma-7b\"},"                                          \
    "{\"type\": \"model\", \"id\": \"google/t5\"},"                                                \
    "{\"type\": \"space\", \"id\": \"nobody/app\"},"                                               \
    "{\"type\": \"paper\", \"id\": \"2401.00001\"},"                                               \
    "{\"type\": \"collection\", \"id\": \"66ab\", \"slug\": \"secret/inner-2\"},"                  \
    "{\"type\": \"collection\", \"id\": \"66ac\", \"slug\": \"acme/inner-3\"},"                    \
    "{\"type\": \"kernel\", \"id\": \"acme/k\"},"                                                  \
    "{\"id\": \"acme/bert\"}"

static const struct {
    const char *name;
    const char *who; /* staff, contractor */
    const char *body;
    gw_collections_result_t want;
    const char *kept_ids; /* items left, comma-separated, per collection separated by '|' */
} cases[] = {
    {"listing: collections of unreadable owners go, items are cut", "staff",
     "[" COLLECTION("acme", ITEMS) "," COLLECTION("secret", ITEMS) "," COLLECTION("google",
                                                                                  ITEMS) "]",
     GW_COLLECTIONS_OK,
     "acme/bert,acme/ft-llama,google/t5,2401.00001,66ac|acme/bert,acme/ft-llama,google/t5,"
     "2401.00001,66ac"},
    {"a resource group member sees its repos, not the org's collections", "contractor",
     "[" COLLECTION("acme", ITEMS) "]", GW_COLLECTIONS_OK, ""},
    {"one collection of a readable owner", "staff", COLLECTION("acme", ITEMS), GW_COLLECTIONS_OK,
     "acme/bert,acme/ft-llama,google/t5,2401.00001,66ac"},
    {"one collection of an unreadable owner is hidden", "staff", COLLECTION("secret", ITEMS),
     GW_COLLECTIONS_HIDDEN, NULL},
    {"owner from the slug when the owner object is missing", "staff",
     "[{\"slug\": \"acme/x-1\", \"items\": []}, {\"slug\": \"secret/y-2\", \"items\": []}]",
     GW_COLLECTIONS_OK, ""},
    {"no owner at all: hidden", "staff", "[{\"title\": \"x\", \"items\": []}]", GW_COLLECTIONS_OK,
     NULL},
    {"items that are not an array: emptied", "staff",
     "{\"owner\": {\"name\": \"acme\"}, \"items\": {\"type\": \"model\"}}", GW_COLLECTIONS_OK, ""},
    {"an empty listing", "staff", "[]", GW_COLLECTIONS_OK, NULL},
    {"not JSON", "staff", "<html>", GW_COLLECTIONS_UNPARSABLE, NULL},
    {"gzip bytes", "staff", "\x1f\x8b\x08\x00", GW_COLLECTIONS_UNPARSABLE, NULL},
    {"a scalar", "staff", "42", GW_COLLECTIONS_UNPARSABLE, NULL},
    {"duplicate keys", "staff", "{\"owner\": {\"name\": \"acme\"}, \"owner\": {}}",
     GW_COLLECTIONS_UNPARSABLE, NULL},
};

static void kept_ids(json_t *root, char *out, size_t cap)
{
    out[0] = '\0';
    json_t *list = json_is_array(root) ? root : json_pack("[O]", root);
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        if (i)
            strncat(out, "|", cap - strlen(out) - 1);
        size_t k;
        json_t *item;
        json_array_foreach(json_object_get(c, "items"), k, item)
        {
            if (k)
                strncat(out, ",", cap - strlen(out) - 1);
            strncat(out, json_string_value(json_object_get(item, "id")), cap - strlen(out) - 1);
        }
    }
    if (list != root)
        json_decref(list);
}

static void filters_each_answer(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pol_subject_t s = {.sub = cases[i].who};
        if (strcmp(cases[i].who, "staff") == 0)
            s.groups = staff_groups, s.ngroups = 1;
        else
            s.groups = contractor_groups, s.ngroups = 1;
        char *out = NULL;
        gw_collections_stats_t st;
        gw_collections_result_t got = gw_collections_filter(policy, &s, NULL, cases[i].body,
                                                            strlen(cases[i].body), &out, &st);
        if (got != cases[i].want)
            fail_msg("case \"%s\": result %d, want %d", cases[i].name, got, cases[i].want);
        if (got != GW_COLLECTIONS_OK) {
            if (out)
                fail_msg("case \"%s\": output without success", cases[i].name);
            continue;
        }
        json_t *root = json_loads(out, 0, NULL);
        if (!root)
            fail_msg("case \"%s\": output is not JSON: %s", cases[i].name, out);
        if (cases[i].kept_ids) {
            char ids[1024];
            kept_ids(root, ids, sizeof(ids));
            if (strcmp(ids, cases[i].kept_ids) != 0)
                fail_msg("case \"%s\": items \"%s\", want \"%s\"", cases[i].name, ids,
                         cases[i].kept_ids);
        }
        /* nothing the hub computed for the service account is left */
        if (strstr(out, "true") || strstr(out, "admin@"))
            fail_msg("case \"%s\": service account's view left in %s", cases[i].name, out);
        json_decref(root);
        free(out);
    }
}

static void counts_what_it_hides(void **state)
{
    (void)state;
    pol_subject_t s = {.sub = "s", .groups = staff_groups, .ngroups = 1};
    const char *body = "[" COLLECTION("acme", ITEMS) "," COLLECTION("secret", ITEMS) "]";
    char *out = NULL;
    gw_collections_stats_t st;
    assert_int_equal(gw_collections_filter(policy, &s, NULL, body, strlen(body), &out, &st),
                     GW_COLLECTIONS_OK);
    assert_int_equal(st.kept, 1);
    assert_int_equal(st.hidden_collections, 1);
    assert_int_equal(st.hidden_items, 6);
    free(out);
    /* an anonymous subject reads nothing */
    pol_subject_t nobody = {.anonymous = 1};
    assert_int_equal(gw_collections_filter(policy, &nobody, NULL, body, strlen(body), &out, &st),
                     GW_COLLECTIONS_OK);
    assert_string_equal(out, "[]");
    free(out);
    assert_int_equal(gw_collections_can_read_namespace(policy, &s, "acme", NULL), 1);
    assert_int_equal(gw_collections_can_read_namespace(policy, &s, "google", NULL), 1);
    assert_int_equal(gw_collections_can_read_namespace(policy, &s, "secret", NULL), 0);
    assert_int_equal(gw_collections_can_read_namespace(policy, &s, "", NULL), 0);
    assert_int_equal(gw_collections_can_read_namespace(policy, &s, NULL, NULL), 0);
}

static void refuses_deep_json(void **state)
{
    (void)state;
    pol_subject_t s = {.sub = "s", .groups = staff_groups, .ngroups = 1};
    char body[512] = "";
    for (int i = 0; i < 40; i++)
        strcat(body, "[");
    for (int i = 0; i < 40; i++)
        strcat(body, "]");
    char *out = NULL;
    assert_int_equal(gw_collections_filter(policy, &s, NULL, body, strlen(body), &out, NULL),
                     GW_COLLECTIONS_UNPARSABLE);
    assert_null(out);
    assert_int_equal(gw_collections_filter(policy, &s, NULL, NULL, 0, &out, NULL),
                     GW_COLLECTIONS_UNPARSABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(filters_each_answer),
        cmocka_unit_test(counts_what_it_hides),
        cmocka_unit_test(refuses_deep_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
