/* The compiled policy as an object: reference counting (a generation lives while a request
 * uses it) and what it tells about itself. pol_policy_parse (policy/parse.c) makes one. */
#include "policy/internal.h"

#include <stdlib.h>
#include <string.h>

pol_policy_t *pol_policy_ref(pol_policy_t *p)
{
    if (p)
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void pol_policy_unref(pol_policy_t *p)
{
    if (!p)
        return;
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    cmn_arena_free(&p->arena);
    free(p);
}

const char *pol_policy_sha256(const pol_policy_t *p)
{
    return p->sha256;
}

const char *pol_policy_name(const pol_policy_t *p)
{
    return p->name;
}

void pol_policy_stats(const pol_policy_t *p, pol_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->orgs = p->norgs;
    for (size_t i = 0; i < p->norgs; i++) {
        out->members += p->orgs[i].nmembers;
        out->resource_groups += p->orgs[i].nrgroups;
    }
    out->rules = p->nrules;
    out->tests = p->ntests;
    out->external_namespaces = p->nexternal;
    out->auditors = p->nauditors;
}
