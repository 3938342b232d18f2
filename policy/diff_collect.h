/* `policy diff`, first stage (policy/diff_collect.c): what both policies are evaluated on. */
#ifndef HUBGATE_POLICY_DIFF_COLLECT_H
#define HUBGATE_POLICY_DIFF_COLLECT_H

#include "policy/diff_internal.h"

/* Fills d (zeroed, with d->a and d->b set) with the union of org names, the subjects either
 * policy names (subjects[0]: any authenticated user; the rest sorted), the samples (per org,
 * global, the caller's own namespace) and the named networks. Returns 0 or CMN_ERR_NOMEM; in
 * both cases pol_diff_collect_free releases what it holds. */
int pol_diff_collect(diff_t *d);

/* Frees what pol_diff_collect filled (not the changes). */
void pol_diff_collect_free(diff_t *d);

#endif
