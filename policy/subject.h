/* A subject written as JSON (policy/subject.c): in a policy's `tests` and in `policy explain
 * --subject` (pol_subject_parse, policy.h). */
#ifndef HUBGATE_POLICY_SUBJECT_H
#define HUBGATE_POLICY_SUBJECT_H

#include <jansson.h>

#include "common/arena.h"
#include "common/jdiag.h"
#include "policy/policy.h"

/* Reads the subject object obj (at JSON Pointer ptr) into *s, its strings copied into arena.
 * Records every problem in d. Returns 0, CMN_ERR_PARSE (recorded) or CMN_ERR_NOMEM. */
int pol_subject_read(cmn_jdiag_t *d, const char *ptr, json_t *obj, cmn_arena_t *arena,
                     pol_subject_t *s);

#endif
