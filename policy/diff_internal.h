/* What the stages of `policy diff` share (policy/diff.c drives them): the sample of subjects
 * and repos both policies are evaluated on (policy/diff_collect.c), the changes found
 * (policy/diff.c) and their rendering (policy/diff_write.c). Not a public header. */
#ifndef HUBGATE_POLICY_DIFF_INTERNAL_H
#define HUBGATE_POLICY_DIFF_INTERNAL_H

#include <stdlib.h>

#include "policy/internal.h"

#define OWN_NS   "~self~" /* the evaluated subject's own namespace */
#define ANY_NAME "~"      /* a repo name no pattern names: "the other repos" */

/* One repo (or namespace, name NULL) to evaluate. */
typedef struct {
    pol_repo_type_t type;
    char *ns, *name; /* instances */
    char *display;   /* the pattern as written ("models/acme/ft-x"), or "acme (namespace)" */
} sample_t;

typedef struct {
    who_kind_t kind; /* 0: any authenticated user */
    const char *value;
    size_t *orgs; /* indexes into the union of org names */
    size_t norgs, cap;
    int in_rules; /* named by a rule's subjects */
    int reports;  /* named by an auditor entry: report exports are diffed for it */
} dsubject_t;

/* Bit (mfa * (nnets + 1) + place) of a mask is set when the action is allowed in that
 * context; place 0 is outside every named network, place i + 1 inside nets[i]. */
typedef struct {
    size_t subject, sample;
    unsigned actions; /* ACT_BIT set */
    uint64_t old_mask, new_mask;
    unsigned types; /* after merging: repo types sharing this change (bits 1 << type) */
    int merged;     /* folded into an earlier change */
} change_t;

/* Who gains or loses exporting which reports. */
typedef struct {
    size_t subject;
    long org; /* index into the union of org names; -1: every org at once */
    uint64_t old_mask, new_mask;
} rchange_t;

/* A repo whose region (where its requests go, where its data may come from) changes. */
typedef struct {
    size_t sample;
    const char *old_region, *new_region; /* the policies' strings; NULL: none */
} regchange_t;

typedef struct {
    const pol_policy_t *a, *b;
    /* union of org names (lowercase) */
    char **orgs;
    size_t norgs, orgs_cap;
    /* samples with a hash set for dedupe */
    sample_t *samples;
    size_t nsamples, samples_cap;
    uint32_t *set;
    size_t set_mask;
    size_t **org_samples; /* per org: sample indexes */
    size_t *org_nsamples;
    size_t *global; /* samples every subject is evaluated on */
    size_t nglobal, global_cap;
    size_t *own; /* the own-namespace samples (any user only) */
    size_t nown;
    dsubject_t *subjects; /* subjects[0]: any authenticated user */
    size_t nsubjects, subjects_cap;
    uint32_t *subject_set; /* open addressing over subjects: index + 1 */
    size_t subject_set_mask;
    /* contexts */
    pol_cidr_t nets[POL_MAX_DIFF_NETS];
    const char *nets_text[POL_MAX_DIFF_NETS];
    size_t nnets;
    change_t *changes;
    size_t nchanges, changes_cap;
    rchange_t *rchanges; /* report exports */
    size_t nrchanges, rchanges_cap;
    regchange_t *regchanges; /* repo regions */
    size_t nregchanges, regchanges_cap;
    int oom;
} diff_t;

/* arr with room for element n (of size bytes), grown by doubling; NULL and d->oom set when out
 * of memory (arr is then still valid). */
static inline void *diff_grow(diff_t *d, void *arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return arr;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(arr, c * size);
    if (!p) {
        d->oom = 1;
        return NULL;
    }
    *cap = c;
    return p;
}

#endif
