/* `policy diff`, first stage: the finite sample both policies are evaluated on (the file
 * comment of policy/diff.c says why it covers every distinction they make). */
#include "policy/diff_collect.h"
#include "common/err.h"
#include "policy/match.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static char *lower_dup(const char *s)
{
    char *c = strdup(s);
    for (char *q = c; q && *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q + 32);
    return c;
}

static size_t org_index(diff_t *d, const char *name)
{
    for (size_t i = 0; i < d->norgs; i++) {
        if (strcasecmp(d->orgs[i], name) == 0)
            return i;
    }
    char **o = diff_grow(d, d->orgs, &d->orgs_cap, d->norgs, sizeof(char *));
    if (!o)
        return 0;
    d->orgs = o;
    d->orgs[d->norgs] = lower_dup(name);
    if (!d->orgs[d->norgs])
        d->oom = 1;
    return d->norgs++;
}

/* Wildcards become '~', which no namespace or repo name contains. */
static char *instantiate(const char *glob)
{
    char *c = strdup(glob);
    for (char *q = c; q && *q; q++)
        if (*q == '*' || *q == '?')
            *q = '~';
    return c;
}

static uint64_t sample_hash(pol_repo_type_t type, const char *ns, const char *name)
{
    char key[512];
    snprintf(key, sizeof(key), "%d|%s|%s", (int)type, ns, name ? name : "");
    return pol_hash_str(key, 1);
}

static uint64_t sample_hash_at(const diff_t *d, size_t i)
{
    const sample_t *s = &d->samples[i];
    return sample_hash(s->type, s->ns, s->name);
}

static uint64_t subject_hash_at(const diff_t *d, size_t i)
{
    return pol_key_hash(d->subjects[i].kind, d->subjects[i].value);
}

/* Makes room in an open-addressing set (slot: index + 1) for entry n, keeping it at most half
 * full: doubles it and re-inserts entries 0..n-1 by hash. Returns 0, or -1 (d->oom). */
static int set_room(diff_t *d, uint32_t **set, size_t *mask, size_t n,
                    uint64_t (*hash)(const diff_t *, size_t))
{
    if (n * 2 < *mask)
        return 0;
    size_t cap = *mask ? (*mask + 1) * 2 : 1024;
    uint32_t *bigger = calloc(cap, sizeof(*bigger));
    if (!bigger) {
        d->oom = 1;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t slot = (size_t)hash(d, i) & (cap - 1);
        while (bigger[slot])
            slot = (slot + 1) & (cap - 1);
        bigger[slot] = (uint32_t)i + 1;
    }
    free(*set);
    *set = bigger;
    *mask = cap - 1;
    return 0;
}

static size_t add_sample(diff_t *d, pol_repo_type_t type, const char *ns, const char *name,
                         const char *display)
{
    if (set_room(d, &d->set, &d->set_mask, d->nsamples, sample_hash_at) != 0)
        return 0;
    size_t slot = (size_t)sample_hash(type, ns, name) & d->set_mask;
    for (; d->set[slot]; slot = (slot + 1) & d->set_mask) {
        sample_t *s = &d->samples[d->set[slot] - 1];
        if (s->type == type && strcasecmp(s->ns, ns) == 0 &&
            ((!s->name && !name) || (s->name && name && strcasecmp(s->name, name) == 0)))
            return d->set[slot] - 1;
    }
    sample_t *arr = diff_grow(d, d->samples, &d->samples_cap, d->nsamples, sizeof(sample_t));
    if (!arr)
        return 0;
    d->samples = arr;
    sample_t *s = &d->samples[d->nsamples];
    s->type = type;
    s->ns = strdup(ns);
    s->name = name ? strdup(name) : NULL;
    s->display = strdup(display);
    if (!s->ns || (name && !s->name) || !s->display)
        d->oom = 1;
    d->set[slot] = (uint32_t)d->nsamples + 1;
    return d->nsamples++;
}

static const char *const type_plural[] = {"", "models", "datasets", "spaces", "kernels", "buckets"};

/* Appends idx to a list of indexes unless it is there already. */
static void push(diff_t *d, size_t **list, size_t *n, size_t *cap, size_t idx)
{
    for (size_t i = 0; i < *n; i++)
        if ((*list)[i] == idx)
            return;
    size_t *l = diff_grow(d, *list, cap, *n, sizeof(size_t));
    if (!l)
        return;
    *list = l;
    l[(*n)++] = idx;
}

/* One sample per repo type the pattern covers; appends their indexes to *list. */
static void add_pattern(diff_t *d, const pattern_t *p, size_t **list, size_t *n, size_t *cap)
{
    char *ns = instantiate(p->ns), *name = instantiate(p->name);
    if (!ns || !name) {
        d->oom = 1;
        goto out;
    }
    for (int t = POL_REPO_MODEL; t <= POL_REPO_BUCKET; t++) {
        if (!(p->types & (1u << t)))
            continue;
        char display[512];
        if (p->types == POL_TYPE_ALL)
            snprintf(display, sizeof(display), "%s/%s", type_plural[t], p->text + 2);
        else
            snprintf(display, sizeof(display), "%s", p->text);
        push(d, list, n, cap, add_sample(d, (pol_repo_type_t)t, ns, name, display));
    }
    /* a pattern covering every type and name covers the namespace itself */
    if (p->types == POL_TYPE_ALL && strcmp(p->name, "*") == 0) {
        char display[512];
        snprintf(display, sizeof(display), "%s (namespace)", p->ns);
        push(d, list, n, cap, add_sample(d, POL_REPO_NONE, ns, NULL, display));
    }
out:
    free(ns);
    free(name);
}

/* "other repos" of namespace ns for every type, and the namespace itself */
static void add_namespace(diff_t *d, const char *ns, const char *shown, size_t **list, size_t *n,
                          size_t *cap)
{
    for (int t = POL_REPO_MODEL; t <= POL_REPO_BUCKET; t++) {
        char display[512];
        snprintf(display, sizeof(display), "%s/%s/*", type_plural[t], shown);
        push(d, list, n, cap, add_sample(d, (pol_repo_type_t)t, ns, ANY_NAME, display));
    }
    char display[512];
    snprintf(display, sizeof(display), "%s (namespace)", shown);
    push(d, list, n, cap, add_sample(d, POL_REPO_NONE, ns, NULL, display));
}

static void add_net(diff_t *d, const pol_policy_t *p)
{
    for (size_t i = 0; i < p->nnets; i++) {
        int seen = 0;
        for (size_t k = 0; k < d->nnets; k++)
            seen |= pol_cidr_equal(&d->nets[k], &p->nets[i]);
        if (seen || d->nnets == POL_MAX_DIFF_NETS)
            continue;
        d->nets[d->nnets] = p->nets[i];
        d->nets_text[d->nnets++] = p->nets_text[i];
    }
}

static dsubject_t *subject_for(diff_t *d, who_kind_t kind, const char *value)
{
    if (set_room(d, &d->subject_set, &d->subject_set_mask, d->nsubjects, subject_hash_at) != 0)
        return NULL;
    size_t slot = (size_t)pol_key_hash(kind, value) & d->subject_set_mask;
    for (; d->subject_set[slot]; slot = (slot + 1) & d->subject_set_mask) {
        dsubject_t *s = &d->subjects[d->subject_set[slot] - 1];
        if (s->kind == kind && pol_who_equal(kind, s->value, value))
            return s;
    }
    dsubject_t *arr = diff_grow(d, d->subjects, &d->subjects_cap, d->nsubjects, sizeof(dsubject_t));
    if (!arr)
        return NULL;
    d->subjects = arr;
    dsubject_t *s = &d->subjects[d->nsubjects];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->value = value;
    d->subject_set[slot] = (uint32_t)d->nsubjects + 1;
    d->nsubjects++;
    return s;
}

static int subject_cmp(const void *x, const void *y)
{
    const dsubject_t *a = x, *b = y;
    if (a->kind != b->kind)
        return (int)a->kind - (int)b->kind;
    if (!a->value || !b->value)
        return a->value ? 1 : b->value ? -1 : 0;
    return strcmp(a->value, b->value);
}

static void collect_policy(diff_t *d, const pol_policy_t *p)
{
    /* subjects, with the orgs that name them, and every org's samples */
    for (size_t i = 0; i < p->norgs && !d->oom; i++) {
        const org_t *o = &p->orgs[i];
        size_t oi = org_index(d, o->name);
        for (size_t k = 0; k < o->nmembers; k++) {
            dsubject_t *s = subject_for(d, o->members[k].kind, o->members[k].value);
            if (s)
                push(d, &s->orgs, &s->norgs, &s->cap, oi);
            if (s && o->members[k].role == POL_ROLE_AUDITOR)
                s->reports = 1;
        }
    }
    for (size_t i = 0; i < p->nauditors && !d->oom; i++) {
        dsubject_t *s = subject_for(d, p->auditors[i].kind, p->auditors[i].value);
        if (s)
            s->reports = 1;
    }
    for (size_t i = 0; i < p->nrules && !d->oom; i++) {
        const rule_t *r = &p->rules[i];
        for (size_t k = 0; k < r->nsubjects; k++) {
            dsubject_t *sub = subject_for(d, r->subjects[k].kind, r->subjects[k].value);
            if (sub)
                sub->in_rules = 1;
        }
        for (size_t k = 0; k < r->nrepos; k++)
            add_pattern(d, &r->repos[k], &d->global, &d->nglobal, &d->global_cap);
    }
    for (size_t i = 0; i < p->nexternal && !d->oom; i++)
        add_namespace(d, p->external[i], p->external[i], &d->global, &d->nglobal, &d->global_cap);
    add_net(d, p);
}

static void org_samples(diff_t *d)
{
    d->org_samples = calloc(d->norgs ? d->norgs : 1, sizeof(size_t *));
    d->org_nsamples = calloc(d->norgs ? d->norgs : 1, sizeof(size_t));
    if (!d->org_samples || !d->org_nsamples) {
        d->oom = 1;
        return;
    }
    for (size_t i = 0; i < d->norgs && !d->oom; i++) {
        size_t cap = 0;
        add_namespace(d, d->orgs[i], d->orgs[i], &d->org_samples[i], &d->org_nsamples[i], &cap);
        const pol_policy_t *ps[2] = {d->a, d->b};
        for (int k = 0; k < 2; k++) {
            const org_t *o = pol_find_org(ps[k], d->orgs[i]);
            for (size_t g = 0; o && g < o->nrgroups; g++)
                for (size_t r = 0; r < o->rgroups[g].nrepos; r++)
                    add_pattern(d, &o->rgroups[g].repos[r], &d->org_samples[i], &d->org_nsamples[i],
                                &cap);
            for (size_t g = 0; o && g < o->nrepo_regions; g++)
                for (size_t r = 0; r < o->repo_regions[g].nrepos; r++)
                    add_pattern(d, &o->repo_regions[g].repos[r], &d->org_samples[i],
                                &d->org_nsamples[i], &cap);
        }
    }
}

int pol_diff_collect(diff_t *d)
{
    collect_policy(d, d->a);
    collect_policy(d, d->b);
    org_samples(d);
    /* the caller's own namespace: only "any authenticated user" is evaluated on it */
    size_t cap = 0;
    add_namespace(d, OWN_NS, "{own}", &d->own, &d->nown, &cap);
    if (d->oom)
        return CMN_ERR_NOMEM;
    if (d->nsubjects)
        qsort(d->subjects, d->nsubjects, sizeof(dsubject_t), subject_cmp);
    /* any authenticated user first */
    dsubject_t *arr = diff_grow(d, d->subjects, &d->subjects_cap, d->nsubjects, sizeof(dsubject_t));
    if (!arr)
        return CMN_ERR_NOMEM;
    d->subjects = arr;
    memmove(d->subjects + 1, d->subjects, d->nsubjects * sizeof(dsubject_t));
    memset(&d->subjects[0], 0, sizeof(dsubject_t));
    d->nsubjects++;
    return 0;
}

void pol_diff_collect_free(diff_t *d)
{
    for (size_t i = 0; i < d->norgs; i++) {
        free(d->orgs[i]);
        if (d->org_samples)
            free(d->org_samples[i]);
    }
    free(d->orgs);
    free(d->org_samples);
    free(d->org_nsamples);
    for (size_t i = 0; i < d->nsamples; i++) {
        free(d->samples[i].ns);
        free(d->samples[i].name);
        free(d->samples[i].display);
    }
    free(d->samples);
    free(d->set);
    free(d->global);
    free(d->own);
    for (size_t i = 0; i < d->nsubjects; i++)
        free(d->subjects[i].orgs);
    free(d->subjects);
    free(d->subject_set);
}
