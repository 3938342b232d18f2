/* The `auditors` section: [{"group": …} | {"email": …}], the policy's auditors, who may export
 * the reports of every org. No role: every entry is an auditor of every org. An empty list says
 * "nobody" explicitly. */
#include "policy/parse_auditors.h"

void pol_parse_auditors(pol_parser_t *ps, json_t *root)
{
    json_t *arr = cmn_jdiag_get(&ps->diag, "", root, "auditors", JSON_ARRAY, 0,
                                "an array of {\"group\": …} or {\"email\": …} entries");
    if (!arr)
        return;
    pol_policy_t *p = ps->p;
    size_t n = json_array_size(arr);
    p->auditors = pol_parser_alloc(ps, (n ? n : 1) * sizeof(member_t));
    if (!p->auditors)
        return;
    char q[CMN_JDIAG_PTR_MAX];
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        cmn_jdiag_join_index(q, "/auditors", i);
        json_t *entry = json_incref(e);
        if (json_is_object(e) && json_object_get(e, "role")) {
            /* Said once, with what to do instead, rather than as one more unknown key. */
            char p2[CMN_JDIAG_PTR_MAX];
            ERR(ps, cmn_jdiag_join(p2, q, "role"), 1,
                "the policy's auditors carry no role, each may export the reports of every org "
                "(expected {\"group\": …} or {\"email\": …}; an auditor of one org is a "
                "member of it with role \"auditor\")");
            json_decref(entry);
            entry = json_copy(e);
            if (!entry) {
                ps->oom = 1;
                return;
            }
            json_object_del(entry, "role");
        }
        pol_who_entry_t w;
        int bad = pol_parser_who(ps, q, entry, 0, 0, &w) != 0;
        const char *value = bad ? NULL : pol_parser_dup(ps, w.value); /* entry may be a copy */
        json_decref(entry);
        if (!value)
            continue;
        const char *what = w.kind == WHO_GROUP ? "group" : "email";
        int dupl = 0;
        for (size_t k = 0; k < p->nauditors && !dupl; k++) {
            const member_t *a = &p->auditors[k];
            dupl = a->kind == w.kind && pol_who_equal(w.kind, a->value, value);
            if (dupl)
                ERR(ps, q, 0, "duplicate auditor %s \"%s\" (already %s; one entry per %s)", what,
                    value, a->path, what);
        }
        if (dupl)
            continue;
        p->auditors[p->nauditors++] = (member_t){.kind = w.kind,
                                                 .value = pol_parser_who_value(ps, w.kind, value),
                                                 .hash = pol_key_hash(w.kind, value),
                                                 .role = POL_ROLE_AUDITOR,
                                                 .rgroup = -1,
                                                 .path = pol_parser_printf(ps, "auditors[%zu]", i)};
    }
}
