/* The `external` section (namespaces outside the policy's orgs, readable when "read" is true)
 * and the `personal_namespaces` section (what a caller may do in their own namespace). */
#include "policy/parse_namespaces.h"

#include <strings.h>

static void parse_external(pol_parser_t *ps, json_t *root)
{
    static const char *const keys[] = {"read", "namespaces", NULL};
    char p[CMN_JDIAG_PTR_MAX], q[CMN_JDIAG_PTR_MAX];
    pol_policy_t *pol = ps->p;
    json_t *ext = cmn_jdiag_get(&ps->diag, "", root, "external", JSON_OBJECT, 0,
                                "an object like {\"read\": true, \"namespaces\": [\"google\"]}");
    if (!ext)
        return;
    cmn_jdiag_keys(&ps->diag, "/external", ext, keys);
    pol->external_read = cmn_jdiag_bool(&ps->diag, "/external", ext, "read", 0);
    json_t *arr = cmn_jdiag_get(&ps->diag, "/external", ext, "namespaces", JSON_ARRAY, 0,
                                "an array of namespaces outside this policy's orgs");
    if (!arr)
        return;
    cmn_jdiag_join(p, "/external", "namespaces");
    pol->external =
        pol_parser_alloc(ps, (json_array_size(arr) ? json_array_size(arr) : 1) * sizeof(char *));
    if (!pol->external)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        cmn_jdiag_join_index(q, p, i);
        const char *s = json_string_value(v);
        if (!s || !pol_parser_name_valid(s)) {
            ERR(ps, q, 0, "%s%s%s is not a namespace (expected 1-96 of A-Z a-z 0-9 _ . -)",
                s ? "\"" : "", s ? s : cmn_jdiag_type(v), s ? "\"" : "");
            continue;
        }
        /* the org table is not built yet: compare by hand */
        int bad = 0;
        for (size_t k = 0; k < pol->norgs && !bad; k++) {
            if (strcasecmp(pol->orgs[k].name, s) == 0) {
                ERR(ps, q, 0,
                    "\"%s\" is an org of this policy (expected namespaces outside its orgs; "
                    "members of %s are given by orgs.%s)",
                    s, pol->orgs[k].name, pol->orgs[k].name);
                bad = 1;
            }
        }
        for (size_t k = 0; k < pol->nexternal && !bad; k++) {
            if (strcasecmp(pol->external[k], s) == 0) {
                ERR(ps, q, 0, "duplicate namespace \"%s\" (already namespaces[%zu])", s, k);
                bad = 1;
            }
        }
        if (!bad)
            pol->external[pol->nexternal++] = pol_parser_dup_lower(ps, s);
    }
}

static void parse_personal(pol_parser_t *ps, json_t *root)
{
    static const char *const keys[] = {"read", "write", NULL};
    json_t *pn = cmn_jdiag_get(&ps->diag, "", root, "personal_namespaces", JSON_OBJECT, 0,
                               "an object like {\"read\": true, \"write\": false}");
    if (!pn)
        return;
    cmn_jdiag_keys(&ps->diag, "/personal_namespaces", pn, keys);
    ps->p->personal_read = cmn_jdiag_bool(&ps->diag, "/personal_namespaces", pn, "read", 0);
    ps->p->personal_write = cmn_jdiag_bool(&ps->diag, "/personal_namespaces", pn, "write", 0);
    if (ps->p->personal_write)
        ps->p->personal_read = 1; /* whoever may write may read */
}

void pol_parse_namespaces(pol_parser_t *ps, json_t *root)
{
    parse_external(ps, root);
    parse_personal(ps, root);
}
