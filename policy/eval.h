/* Evaluation of one target (policy/eval.c), for the policy layer's own callers; the gateway
 * decides through policy.h. Not a public header. */
#ifndef HUBGATE_POLICY_EVAL_H
#define HUBGATE_POLICY_EVAL_H

#include "policy/internal.h"

/* Evaluation of one target, shared by pol_decide, pol_can_read and pol_diff. trace may be
 * NULL. Fills dec (effect, answer, rule, reason, org, role, region). source_region: the region
 * data comes from when the target is a destination, else NULL. Allocates nothing. */
void pol_eval_target(const pol_policy_t *p, const prepared_t *ps, const pol_target_t *t,
                     const pol_ip_t *ip, const char *source_region, trace_t *tr,
                     pol_decision_t *dec);

#endif
