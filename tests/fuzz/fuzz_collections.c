/* layer: gateway */
/* A collections answer from the upstream is untrusted input: filter it for a caller or refuse
 * it, and never let through what the caller may not read. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/authz/collections.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_text[] =
    "{\"version\": 1, \"orgs\": {\"acme\": {\"members\": [{\"group\": \"staff\", \"role\": "
    "\"read\"}]}}, \"external\": {\"read\": true, \"namespaces\": [\"google\"]}}";

static pol_policy_t *policy(void)
{
    static pol_policy_t *p;
    if (!p) {
        static const char *const regions[] = {"us"};
        pol_options_t opts = {regions, 1, "us"};
        cmn_buf_t errors;
        cmn_buf_init(&errors, 1 << 16);
        p = pol_policy_parse(policy_text, strlen(policy_text), "fuzz.json", &opts, &errors);
        cmn_buf_free(&errors);
        if (!p)
            abort();
    }
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const groups[] = {"staff"};
    pol_subject_t s = {.sub = "s", .groups = groups, .ngroups = 1};
    char *out = NULL;
    gw_collections_stats_t st;
    gw_collections_result_t rc =
        gw_collections_filter(policy(), &s, NULL, (const char *)data, size, &out, &st);
    if ((rc == GW_COLLECTIONS_OK) != (out != NULL))
        abort();
    if (out) {
        /* what is left parses, and every collection left has an owner the caller may read */
        json_t *root = json_loads(out, 0, NULL);
        if (!root)
            abort();
        json_t *list = json_is_array(root) ? json_incref(root) : json_pack("[O]", root);
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c)
        {
            const char *owner =
                json_string_value(json_object_get(json_object_get(c, "owner"), "name"));
            const char *slug = json_string_value(json_object_get(c, "slug"));
            const char *ns = owner && *owner ? owner : slug;
            size_t n = ns ? (owner && *owner ? strlen(ns) : strcspn(ns, "/")) : 0;
            if (!ns || !((n == 4 && strncasecmp(ns, "acme", 4) == 0) ||
                         (n == 6 && strncasecmp(ns, "google", 6) == 0)))
                abort();
        }
        json_decref(list);
        json_decref(root);
        free(out);
    }
    return 0;
}
