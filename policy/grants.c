/* Who could hold which role where: the membership entries of a compiled policy, as written,
 * for access reviews (evidence reports list them per policy version). */
#include "common/err.h"
#include "policy/internal.h"

#include <stdlib.h>

int pol_policy_each_grant(const pol_policy_t *p, pol_grant_fn fn, void *ctx)
{
    for (size_t o = 0; o < p->norgs; o++) {
        const org_t *org = &p->orgs[o];
        for (size_t i = 0; i < org->nmembers; i++) {
            const member_t *m = &org->members[i];
            pol_grant_t g = {
                .org = org->name,
                .kind = m->kind == WHO_GROUP ? "group" : "email",
                .value = m->value,
                .role = m->role,
                .path = m->path,
            };
            const char **repos = NULL;
            if (m->rgroup >= 0 && (size_t)m->rgroup < org->nrgroups) {
                const rgroup_t *rg = &org->rgroups[m->rgroup];
                g.resource_group = rg->name;
                repos = calloc(rg->nrepos + 1, sizeof(*repos));
                if (!repos)
                    return CMN_ERR_NOMEM;
                for (size_t k = 0; k < rg->nrepos; k++)
                    repos[k] = rg->repos[k].text;
                g.repos = repos;
                g.nrepos = rg->nrepos;
            }
            int rc = fn(ctx, &g);
            free(repos);
            if (rc)
                return rc;
        }
    }
    return 0;
}
