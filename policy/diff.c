/* `policy diff OLD NEW`: who gains or loses which action on which repo pattern.
 *
 * Policies are finite over what they name, so the diff evaluates both policies on a finite
 * sample that covers every distinction either file can make:
 *   subjects  — each group and email named anywhere (member entries, resource-group members,
 *               rule subjects), and "any authenticated user";
 *   repos     — for each org a subject is named in: each repo type's "other repos", the org
 *               itself and each resource-group pattern; for everyone: each rule pattern, each
 *               external namespace and the caller's own namespace. A pattern is instantiated
 *               by reading each wildcard as a character no repo name contains, so the
 *               instance matches exactly the patterns at least as broad as it;
 *   contexts  — with and without MFA, from outside every named network and from inside each.
 * A change a specific subject shares with "any authenticated user" is reported once, there.
 * Report exports are diffed too: for each subject an auditor entry names (an org's role
 * auditor, the policy's `auditors`), the reports of each org and of every org at once, in the
 * same contexts. */
#include "common/err.h"
#include "policy/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_NETS 31 /* 2 × (1 + nets) contexts fit a uint64_t */
#define OWN_NS   "~self~"
#define ANY_NAME "~"

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
    dsubject_t *subjects;
    size_t nsubjects, subjects_cap;
    uint32_t *subject_set; /* open addressing over subjects: index + 1 */
    size_t subject_set_mask;
    /* contexts */
    pol_cidr_t nets[MAX_NETS];
    const char *nets_text[MAX_NETS];
    size_t nnets;
    change_t *changes;
    size_t nchanges, changes_cap;
    rchange_t *rchanges; /* report exports */
    size_t nrchanges, rchanges_cap;
    int oom;
} diff_t;

static void *grow(diff_t *d, void *arr, size_t *cap, size_t n, size_t size)
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
    char **o = grow(d, d->orgs, &d->orgs_cap, d->norgs, sizeof(char *));
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

static size_t add_sample(diff_t *d, pol_repo_type_t type, const char *ns, const char *name,
                         const char *display)
{
    char key[512];
    snprintf(key, sizeof(key), "%d|%s|%s", (int)type, ns, name ? name : "");
    uint64_t h = pol_hash_str(key, 1);
    if (d->nsamples * 2 >= d->set_mask) {
        size_t cap = d->set_mask ? (d->set_mask + 1) * 2 : 1024;
        uint32_t *set = calloc(cap, sizeof(*set));
        if (!set) {
            d->oom = 1;
            return 0;
        }
        for (size_t i = 0; i < d->nsamples; i++) {
            sample_t *s = &d->samples[i];
            char k[512];
            snprintf(k, sizeof(k), "%d|%s|%s", (int)s->type, s->ns, s->name ? s->name : "");
            size_t slot = (size_t)pol_hash_str(k, 1) & (cap - 1);
            while (set[slot])
                slot = (slot + 1) & (cap - 1);
            set[slot] = (uint32_t)i + 1;
        }
        free(d->set);
        d->set = set;
        d->set_mask = cap - 1;
    }
    size_t slot = (size_t)h & d->set_mask;
    for (; d->set[slot]; slot = (slot + 1) & d->set_mask) {
        sample_t *s = &d->samples[d->set[slot] - 1];
        if (s->type == type && strcasecmp(s->ns, ns) == 0 &&
            ((!s->name && !name) || (s->name && name && strcasecmp(s->name, name) == 0)))
            return d->set[slot] - 1;
    }
    sample_t *arr = grow(d, d->samples, &d->samples_cap, d->nsamples, sizeof(sample_t));
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

/* Appends idx to a sample list unless it is there already. */
static void push(diff_t *d, size_t **list, size_t *n, size_t *cap, size_t idx)
{
    for (size_t i = 0; i < *n; i++)
        if ((*list)[i] == idx)
            return;
    size_t *l = grow(d, *list, cap, *n, sizeof(size_t));
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
            seen |= d->nets[k].bits == p->nets[i].bits &&
                    memcmp(d->nets[k].addr, p->nets[i].addr, 16) == 0;
        if (seen || d->nnets == MAX_NETS)
            continue;
        d->nets[d->nnets] = p->nets[i];
        d->nets_text[d->nnets++] = p->nets_text[i];
    }
}

static int subject_is(const dsubject_t *s, who_kind_t kind, const char *value)
{
    return s->kind == kind &&
           (kind == WHO_GROUP ? strcmp(s->value, value) == 0 : strcasecmp(s->value, value) == 0);
}

static dsubject_t *subject_for(diff_t *d, who_kind_t kind, const char *value)
{
    if (d->nsubjects * 2 >= d->subject_set_mask) {
        size_t cap = d->subject_set_mask ? (d->subject_set_mask + 1) * 2 : 1024;
        uint32_t *set = calloc(cap, sizeof(*set));
        if (!set) {
            d->oom = 1;
            return NULL;
        }
        for (size_t i = 0; i < d->nsubjects; i++) {
            size_t slot =
                (size_t)pol_key_hash(d->subjects[i].kind, d->subjects[i].value) & (cap - 1);
            while (set[slot])
                slot = (slot + 1) & (cap - 1);
            set[slot] = (uint32_t)i + 1;
        }
        free(d->subject_set);
        d->subject_set = set;
        d->subject_set_mask = cap - 1;
    }
    size_t slot = (size_t)pol_key_hash(kind, value) & d->subject_set_mask;
    for (; d->subject_set[slot]; slot = (slot + 1) & d->subject_set_mask) {
        dsubject_t *s = &d->subjects[d->subject_set[slot] - 1];
        if (subject_is(s, kind, value))
            return s;
    }
    dsubject_t *arr = grow(d, d->subjects, &d->subjects_cap, d->nsubjects, sizeof(dsubject_t));
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

static void subject_in_org(diff_t *d, dsubject_t *s, size_t org)
{
    for (size_t i = 0; i < s->norgs; i++)
        if (s->orgs[i] == org)
            return;
    size_t *o = grow(d, s->orgs, &s->cap, s->norgs, sizeof(size_t));
    if (!o)
        return;
    s->orgs = o;
    s->orgs[s->norgs++] = org;
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
                subject_in_org(d, s, oi);
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
        }
    }
}

/* Bit (mfa * (nnets + 1) + place) is set when the action is allowed in that context; place 0
 * is outside every named network, place i + 1 inside nets[i]. */
/* The synthetic subject for s, prepared without and with MFA. */
typedef struct {
    const char *group;
    pol_subject_t subject[2];
    prepared_t prepared[2];
} dprep_t;

static void prepare(const dsubject_t *s, dprep_t *dp)
{
    dp->group = s->kind == WHO_GROUP ? s->value : NULL;
    for (unsigned mfa = 0; mfa < 2; mfa++) {
        dp->subject[mfa] = (pol_subject_t){.sub = "~diff~",
                                           .preferred_username = OWN_NS,
                                           .email = s->kind == WHO_EMAIL ? s->value : NULL,
                                           .groups = dp->group ? &dp->group : NULL,
                                           .ngroups = dp->group ? 1 : 0,
                                           .mfa = mfa};
        pol_prepare(&dp->subject[mfa], &dp->prepared[mfa]);
    }
}

/* Bit (mfa * (nnets + 1) + place) is set when the action is allowed in that context; place 0
 * is outside every named network, place i + 1 inside nets[i]. */
static uint64_t allowed(const diff_t *d, const pol_policy_t *p, const dprep_t *dp,
                        const sample_t *smp, pol_action_t action)
{
    pol_target_t t = {.type = smp->type, .namespace = smp->ns, .name = smp->name, .action = action};
    uint64_t mask = 0;
    size_t places = d->nnets + 1;
    for (unsigned mfa = 0; mfa < 2; mfa++) {
        for (size_t place = 0; place < places; place++) {
            pol_ip_t ip;
            if (place)
                memcpy(ip.addr, d->nets[place - 1].addr, 16);
            pol_decision_t dec;
            pol_eval_target(p, &dp->prepared[mfa], &t, place ? &ip : NULL, NULL, NULL, &dec);
            if (dec.effect == POL_ALLOW)
                mask |= 1ull << (mfa * places + place);
        }
    }
    return mask;
}

static void add_change(diff_t *d, size_t subject, size_t sample, pol_action_t a, uint64_t o,
                       uint64_t n)
{
    if (d->nchanges) {
        change_t *last = &d->changes[d->nchanges - 1];
        if (last->subject == subject && last->sample == sample && last->old_mask == o &&
            last->new_mask == n) {
            last->actions |= ACT_BIT(a);
            return;
        }
    }
    change_t *c = grow(d, d->changes, &d->changes_cap, d->nchanges, sizeof(change_t));
    if (!c)
        return;
    d->changes = c;
    d->changes[d->nchanges++] = (change_t){subject, sample, ACT_BIT(a), o, n, 0, 0};
}

/* Like allowed(), for exporting the reports of org (NULL: of every org at once; an org
 * auditor's default of their one org does not count as that). */
static uint64_t report_allowed(const diff_t *d, const pol_policy_t *p, const dprep_t *dp,
                               const char *org)
{
    uint64_t mask = 0;
    size_t places = d->nnets + 1;
    for (unsigned mfa = 0; mfa < 2; mfa++) {
        for (size_t place = 0; place < places; place++) {
            pol_ip_t ip;
            if (place)
                memcpy(ip.addr, d->nets[place - 1].addr, 16);
            pol_decision_t dec;
            pol_decide_report(p, &dp->subject[mfa], org, place ? &ip : NULL, 0, &dec);
            if (dec.effect == POL_ALLOW && (org || !dec.org))
                mask |= 1ull << (mfa * places + place);
        }
    }
    return mask;
}

static void report_changes(diff_t *d, size_t si, const dprep_t *dp)
{
    for (long o = -1; o < (long)d->norgs && !d->oom; o++) {
        const char *org = o < 0 ? NULL : d->orgs[o];
        uint64_t om = report_allowed(d, d->a, dp, org), nm = report_allowed(d, d->b, dp, org);
        if (om == nm)
            continue;
        rchange_t *c = grow(d, d->rchanges, &d->rchanges_cap, d->nrchanges, sizeof(rchange_t));
        if (!c)
            return;
        d->rchanges = c;
        d->rchanges[d->nrchanges++] = (rchange_t){si, o, om, nm};
    }
}

/* The org as the newer policy that has it spells it, or "every org". */
static const char *report_scope(const diff_t *d, long o)
{
    if (o < 0)
        return "every org";
    const org_t *org = pol_find_org(d->b, d->orgs[o]);
    if (!org)
        org = pol_find_org(d->a, d->orgs[o]);
    return org ? org->name : d->orgs[o];
}

/* The any-user subject's masks on the global samples, to suppress repeats. */
typedef struct {
    uint64_t old_mask, new_mask;
} pair_t;

/* Evaluates subject si on list[pos[0..npos)] (all of list when pos is NULL). With base, a
 * change equal to base's for the same list position is skipped (already reported under "any
 * authenticated user"). With org_list, the list starts with the org's "other repos" of each
 * type: a pattern sample that changes exactly like the other repos of its type says nothing
 * more and is skipped. */
static void evaluate(diff_t *d, size_t si, const dprep_t *dp, const size_t *list, const size_t *pos,
                     size_t npos, const pair_t *base, pair_t *record, int org_list)
{
    pair_t generic[POL_REPO_BUCKET + 1][5];
    memset(generic, 0, sizeof(generic));
    for (size_t j = 0; j < npos; j++) {
        size_t i = pos ? pos[j] : j;
        const sample_t *smp = &d->samples[list[i]];
        int is_generic = org_list && smp->name && strcmp(smp->name, ANY_NAME) == 0;
        for (int a = POL_ACTION_READ; a <= POL_ACTION_ADMIN; a++) {
            uint64_t o = allowed(d, d->a, dp, smp, (pol_action_t)a);
            uint64_t nw = allowed(d, d->b, dp, smp, (pol_action_t)a);
            size_t k = i * 5 + (size_t)(a - 1);
            if (record)
                record[k] = (pair_t){o, nw};
            if (is_generic)
                generic[smp->type][a - 1] = (pair_t){o, nw};
            if (o == nw)
                continue;
            if (base && base[k].old_mask == o && base[k].new_mask == nw)
                continue;
            if (org_list && !is_generic && smp->type != POL_REPO_NONE &&
                generic[smp->type][a - 1].old_mask == o && generic[smp->type][a - 1].new_mask == nw)
                continue;
            add_change(d, si, list[i], (pol_action_t)a, o, nw);
        }
    }
}

static void where(const diff_t *d, uint64_t places, char *out, size_t cap)
{
    size_t all = (1ull << (d->nnets + 1)) - 1;
    if (places == all || (places & 1)) {
        snprintf(out, cap, "from anywhere");
        return;
    }
    snprintf(out, cap, "only from ");
    int first = 1;
    for (size_t i = 0; i < d->nnets; i++) {
        if (!(places & (1ull << (i + 1))))
            continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", first ? "" : ", ", d->nets_text[i]);
        first = 0;
    }
}

static void describe_mask(const diff_t *d, uint64_t mask, char *out, size_t cap)
{
    size_t places = d->nnets + 1;
    uint64_t all = (1ull << places) - 1;
    uint64_t without = mask & all, with = (mask >> places) & all;
    char w1[400], w2[400];
    if (mask == 0) {
        snprintf(out, cap, "never");
    } else if (without == all && with == all) {
        snprintf(out, cap, "always");
    } else if (without == with) {
        where(d, without, out, cap);
    } else if (without == 0) {
        where(d, with, w1, sizeof(w1));
        snprintf(out, cap, "with MFA%s%s", with == all ? "" : ", ", with == all ? "" : w1);
    } else {
        where(d, without, w1, sizeof(w1));
        where(d, with, w2, sizeof(w2));
        snprintf(out, cap, "without MFA %s; with MFA %s", w1, w2);
    }
}

static const char *change_kind(uint64_t o, uint64_t n)
{
    if (!o)
        return "gained";
    if (!n)
        return "lost";
    if ((n & o) == n)
        return "narrowed";
    if ((n & o) == o)
        return "widened";
    return "changed";
}

static void subject_text(const dsubject_t *s, char *out, size_t cap)
{
    if (!s->kind)
        snprintf(out, cap, "any authenticated user");
    else
        snprintf(out, cap, "%s %s", s->kind == WHO_GROUP ? "group" : "email", s->value);
}

static void actions_text(unsigned bits, char *out, size_t cap)
{
    out[0] = '\0';
    for (int a = POL_ACTION_READ; a <= POL_ACTION_ADMIN; a++) {
        if (!(bits & ACT_BIT(a)))
            continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", len ? ", " : "", pol_action_name((pol_action_t)a));
    }
}

/* The same change on every repo type of one namespace and name reads as one line, on
 * "*​/ns/name" (written without the zero-width space). */
static void merge_types(diff_t *d)
{
    /* changes come grouped by subject: merge within each group */
    for (size_t start = 0, end; start < d->nchanges; start = end) {
        for (end = start;
             end < d->nchanges && d->changes[end].subject == d->changes[start].subject;)
            end++;
        for (size_t i = start; i < end; i++) {
            change_t *c = &d->changes[i];
            const sample_t *a = &d->samples[c->sample];
            if (c->merged || a->type == POL_REPO_NONE)
                continue;
            c->types = 1u << a->type;
            for (size_t k = i + 1; k < end; k++) {
                const change_t *e = &d->changes[k];
                const sample_t *b = &d->samples[e->sample];
                if (!e->merged && b->type != POL_REPO_NONE && e->actions == c->actions &&
                    e->old_mask == c->old_mask && e->new_mask == c->new_mask &&
                    strcmp(a->ns, b->ns) == 0 && strcmp(a->name, b->name) == 0)
                    c->types |= 1u << b->type;
            }
            if ((c->types & POL_TYPE_ALL) != POL_TYPE_ALL)
                continue;
            int any_name = strcmp(a->name, ANY_NAME) == 0;
            for (size_t k = start; k < end; k++) {
                change_t *e = &d->changes[k];
                const sample_t *b = &d->samples[e->sample];
                if (k == i || e->merged || e->actions != c->actions || e->old_mask != c->old_mask ||
                    e->new_mask != c->new_mask || strcmp(a->ns, b->ns) != 0)
                    continue;
                if (b->type != POL_REPO_NONE && strcmp(a->name, b->name) == 0) {
                    e->merged = 1;
                } else if (b->type == POL_REPO_NONE && any_name) {
                    /* the namespace itself changes like all its repos: one line */
                    e->merged = 1;
                    c->types |= 1u << POL_REPO_NONE;
                }
            }
        }
    }
}

/* How a change names its repos: the sample's pattern, or every type at once. */
static void change_repo(const diff_t *d, const change_t *c, char *out, size_t cap)
{
    const char *display = d->samples[c->sample].display;
    const char *slash = strchr(display, '/');
    if ((c->types & POL_TYPE_ALL) != POL_TYPE_ALL || !slash) {
        snprintf(out, cap, "%s", display);
        return;
    }
    const char *end = strchr(slash + 1, '/');
    int nslen = end ? (int)(end - slash - 1) : (int)strlen(slash + 1);
    if (c->types & (1u << POL_REPO_NONE))
        snprintf(out, cap, "*%s and %.*s itself", slash, nslen, slash + 1);
    else
        snprintf(out, cap, "*%s", slash);
}

static int write_text(const diff_t *d, cmn_buf_t *out)
{
    size_t counts[5] = {0};
    static const char *const kinds[] = {"gained", "lost", "narrowed", "widened", "changed"};
    cmn_buf_printf(out, "policy diff: %s (sha256 %.12s) -> %s (sha256 %.12s)\n", d->a->name,
                   d->a->sha256, d->b->name, d->b->sha256);
    size_t last = (size_t)-1, lines = 0;
    for (size_t i = 0; i < d->nchanges; i++) {
        const change_t *c = &d->changes[i];
        char subj[512], acts[128], o[1024], n[1024], display[600];
        if (c->merged)
            continue;
        lines++;
        change_repo(d, c, display, sizeof(display));
        if (c->subject != last) {
            subject_text(&d->subjects[c->subject], subj, sizeof(subj));
            cmn_buf_printf(out, "%s:\n", subj);
            last = c->subject;
        }
        actions_text(c->actions, acts, sizeof(acts));
        describe_mask(d, c->old_mask, o, sizeof(o));
        describe_mask(d, c->new_mask, n, sizeof(n));
        const char *kind = change_kind(c->old_mask, c->new_mask);
        for (int k = 0; k < 5; k++)
            counts[k] += strcmp(kind, kinds[k]) == 0;
        if (!c->old_mask)
            cmn_buf_printf(out, "  + gains %s on %s (%s)\n", acts, display, n);
        else if (!c->new_mask)
            cmn_buf_printf(out, "  - loses %s on %s (was %s)\n", acts, display, o);
        else
            cmn_buf_printf(out, "  ~ %s %s on %s: %s -> %s\n", kind, acts, display, o, n);
    }
    last = (size_t)-1;
    for (size_t i = 0; i < d->nrchanges; i++) {
        const rchange_t *c = &d->rchanges[i];
        char subj[512], o[1024], n[1024];
        lines++;
        if (c->subject != last) {
            subject_text(&d->subjects[c->subject], subj, sizeof(subj));
            cmn_buf_printf(out, "%s (report exports):\n", subj);
            last = c->subject;
        }
        describe_mask(d, c->old_mask, o, sizeof(o));
        describe_mask(d, c->new_mask, n, sizeof(n));
        const char *kind = change_kind(c->old_mask, c->new_mask);
        for (int k = 0; k < 5; k++)
            counts[k] += strcmp(kind, kinds[k]) == 0;
        const char *scope = report_scope(d, c->org);
        if (!c->old_mask)
            cmn_buf_printf(out, "  + gains the reports of %s (%s)\n", scope, n);
        else if (!c->new_mask)
            cmn_buf_printf(out, "  - loses the reports of %s (was %s)\n", scope, o);
        else
            cmn_buf_printf(out, "  ~ %s the reports of %s: %s -> %s\n", kind, scope, o, n);
    }
    if (!lines)
        return cmn_buf_printf(out, "no access changes over %zu subjects and %zu repo patterns\n",
                              d->nsubjects, d->nsamples);
    cmn_buf_printf(out, "%zu change%s (", lines, lines == 1 ? "" : "s");
    int first = 1;
    for (int k = 0; k < 5; k++) {
        if (!counts[k])
            continue;
        cmn_buf_printf(out, "%s%zu %s", first ? "" : ", ", counts[k], kinds[k]);
        first = 0;
    }
    return cmn_buf_printf(out, ") over %zu subjects and %zu repo patterns\n", d->nsubjects,
                          d->nsamples);
}

static int write_json(const diff_t *d, cmn_buf_t *out)
{
    json_t *root = json_object(), *changes = json_array();
    if (!root || !changes) {
        json_decref(root);
        json_decref(changes);
        return CMN_ERR_NOMEM;
    }
    json_object_set_new(root, "old",
                        json_pack("{s:s, s:s}", "file", d->a->name, "sha256", d->a->sha256));
    json_object_set_new(root, "new",
                        json_pack("{s:s, s:s}", "file", d->b->name, "sha256", d->b->sha256));
    json_object_set_new(root, "subjects", json_integer((json_int_t)d->nsubjects));
    json_object_set_new(root, "repo_patterns", json_integer((json_int_t)d->nsamples));
    for (size_t i = 0; i < d->nchanges; i++) {
        const change_t *c = &d->changes[i];
        const dsubject_t *s = &d->subjects[c->subject];
        char o[1024], n[1024], display[600];
        if (c->merged)
            continue;
        change_repo(d, c, display, sizeof(display));
        describe_mask(d, c->old_mask, o, sizeof(o));
        describe_mask(d, c->new_mask, n, sizeof(n));
        json_t *acts = json_array();
        for (int a = POL_ACTION_READ; a <= POL_ACTION_ADMIN; a++)
            if (c->actions & ACT_BIT(a))
                json_array_append_new(acts, json_string(pol_action_name((pol_action_t)a)));
        json_t *subj = s->kind
                           ? json_pack("{s:s, s:s}", "kind",
                                       s->kind == WHO_GROUP ? "group" : "email", "value", s->value)
                           : json_pack("{s:s}", "kind", "any");
        json_array_append_new(changes,
                              json_pack("{s:o, s:s, s:o, s:s, s:s, s:s}", "subject", subj, "repo",
                                        display, "actions", acts, "change",
                                        change_kind(c->old_mask, c->new_mask), "old", o, "new", n));
    }
    json_object_set_new(root, "changes", changes);
    json_t *reports = json_array();
    for (size_t i = 0; reports && i < d->nrchanges; i++) {
        const rchange_t *c = &d->rchanges[i];
        const dsubject_t *s = &d->subjects[c->subject];
        char o[1024], n[1024];
        describe_mask(d, c->old_mask, o, sizeof(o));
        describe_mask(d, c->new_mask, n, sizeof(n));
        json_array_append_new(
            reports,
            json_pack("{s:{s:s, s:s}, s:o, s:s, s:s, s:s}", "subject", "kind",
                      s->kind == WHO_GROUP ? "group" : "email", "value", s->value, "org",
                      c->org < 0 ? json_null() : json_string(report_scope(d, c->org)), "change",
                      change_kind(c->old_mask, c->new_mask), "old", o, "new", n));
    }
    json_object_set_new(root, "report_exports", reports ? reports : json_array());
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return CMN_ERR_NOMEM;
    int rc = cmn_buf_printf(out, "%s\n", text);
    free(text);
    return rc;
}

/* Equality of compiled parts, to skip what cannot have changed: a subject's access to an
 * org's repos depends only on that org and the rules (external and personal namespaces never
 * name an org). */
static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int cond_eq(const cond_t *a, const cond_t *b)
{
    if (a->mfa != b->mfa || a->nnets != b->nnets)
        return 0;
    for (size_t i = 0; i < a->nnets; i++)
        if (a->nets[i].bits != b->nets[i].bits || memcmp(a->nets[i].addr, b->nets[i].addr, 16))
            return 0;
    return 1;
}

static int patterns_eq(const pattern_t *a, size_t na, const pattern_t *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].types != b[i].types || !str_eq(a[i].ns, b[i].ns) || !str_eq(a[i].name, b[i].name))
            return 0;
    return 1;
}

static int org_eq(const org_t *a, const org_t *b)
{
    if (!a || !b || a->nmembers != b->nmembers || a->nrgroups != b->nrgroups ||
        a->nregions != b->nregions || strcmp(a->lname, b->lname) != 0)
        return 0;
    for (size_t i = 0; i < a->nregions; i++)
        if (strcmp(a->regions[i], b->regions[i]) != 0)
            return 0;
    for (size_t i = 0; i < a->nmembers; i++) {
        const member_t *x = &a->members[i], *y = &b->members[i];
        if (x->kind != y->kind || x->role != y->role || x->rgroup != y->rgroup ||
            strcmp(x->value, y->value) != 0 || strcmp(x->path, y->path) != 0)
            return 0;
    }
    for (size_t i = 0; i < a->nrgroups; i++)
        if (!patterns_eq(a->rgroups[i].repos, a->rgroups[i].nrepos, b->rgroups[i].repos,
                         b->rgroups[i].nrepos))
            return 0;
    for (int k = 0; k < REQ_COUNT; k++)
        if (!str_eq(a->require_path[k], b->require_path[k]) ||
            !cond_eq(&a->require[k], &b->require[k]))
            return 0;
    return 1;
}

static int rules_eq(const pol_policy_t *a, const pol_policy_t *b)
{
    if (a->nrules != b->nrules || a->ndeny != b->ndeny)
        return 0;
    for (size_t i = 0; i < a->nrules; i++) {
        const rule_t *x = &a->rules[i], *y = &b->rules[i];
        if (strcmp(x->id, y->id) != 0 || x->deny != y->deny || x->actions != y->actions ||
            x->nsubjects != y->nsubjects || x->has_unless != y->has_unless ||
            !patterns_eq(x->repos, x->nrepos, y->repos, y->nrepos) ||
            (x->has_unless && !cond_eq(&x->unless, &y->unless)))
            return 0;
        for (size_t k = 0; k < x->nsubjects; k++)
            if (x->subjects[k].kind != y->subjects[k].kind ||
                strcmp(x->subjects[k].value, y->subjects[k].value) != 0)
                return 0;
    }
    return 1;
}

int pol_diff(const pol_policy_t *old_policy, const pol_policy_t *new_policy, int json,
             cmn_buf_t *out, size_t *nchanges)
{
    diff_t d;
    memset(&d, 0, sizeof(d));
    d.a = old_policy;
    d.b = new_policy;
    int rc = 0;
    pair_t *base = NULL;
    long *global_org = NULL;
    char *same = NULL;
    size_t *positions = NULL;
    dprep_t *dp = NULL;
    collect_policy(&d, old_policy);
    collect_policy(&d, new_policy);
    org_samples(&d);
    {
        /* the caller's own namespace: only "any authenticated user" is evaluated on it */
        size_t cap = 0;
        add_namespace(&d, OWN_NS, "{own}", &d.own, &d.nown, &cap);
    }
    if (d.oom)
        goto out;
    if (d.nsubjects)
        qsort(d.subjects, d.nsubjects, sizeof(dsubject_t), subject_cmp);
    /* any authenticated user first */
    dsubject_t *arr = grow(&d, d.subjects, &d.subjects_cap, d.nsubjects, sizeof(dsubject_t));
    if (!arr)
        goto out;
    d.subjects = arr;
    memmove(d.subjects + 1, d.subjects, d.nsubjects * sizeof(dsubject_t));
    memset(&d.subjects[0], 0, sizeof(dsubject_t));
    d.nsubjects++;

    base = calloc(d.nglobal ? d.nglobal * 5 : 1, sizeof(pair_t));
    if (!base) {
        d.oom = 1;
        goto out;
    }
    /* Which org (of the union) each global sample's namespace is, or -1: on other namespaces
     * a subject fares like any authenticated user unless a rule names it. */
    global_org = malloc((d.nglobal ? d.nglobal : 1) * sizeof(long));
    positions = malloc((d.nglobal ? d.nglobal : 1) * sizeof(size_t));
    dp = malloc(sizeof(*dp));
    if (!global_org || !positions || !dp) {
        d.oom = 1;
        goto out;
    }
    for (size_t i = 0; i < d.nglobal; i++) {
        global_org[i] = -1;
        for (size_t o = 0; o < d.norgs; o++)
            if (strcasecmp(d.samples[d.global[i]].ns, d.orgs[o]) == 0)
                global_org[i] = (long)o;
    }
    /* With the same rules, an org defined the same way in both files changes for nobody. */
    same = calloc(d.norgs ? d.norgs : 1, 1);
    if (!same) {
        d.oom = 1;
        goto out;
    }
    if (rules_eq(old_policy, new_policy))
        for (size_t o = 0; o < d.norgs; o++)
            same[o] = (char)org_eq(pol_find_org(old_policy, d.orgs[o]),
                                   pol_find_org(new_policy, d.orgs[o]));
    prepare(&d.subjects[0], dp);
    evaluate(&d, 0, dp, d.own, NULL, d.nown, NULL, NULL, 0);
    evaluate(&d, 0, dp, d.global, NULL, d.nglobal, NULL, base, 0);
    for (size_t s = 1; s < d.nsubjects && !d.oom; s++) {
        const dsubject_t *sub = &d.subjects[s];
        prepare(sub, dp);
        int changed = sub->in_rules;
        for (size_t k = 0; k < sub->norgs; k++) {
            size_t oi = sub->orgs[k];
            if (same[oi])
                continue;
            changed = 1;
            evaluate(&d, s, dp, d.org_samples[oi], NULL, d.org_nsamples[oi], NULL, NULL, 1);
        }
        if (!changed)
            continue; /* named only in orgs that did not change */
        size_t npos = 0;
        for (size_t i = 0; i < d.nglobal; i++) {
            int relevant = sub->in_rules;
            for (size_t k = 0; k < sub->norgs && !relevant; k++)
                relevant = global_org[i] == (long)sub->orgs[k] && !same[sub->orgs[k]];
            if (relevant)
                positions[npos++] = i;
        }
        evaluate(&d, s, dp, d.global, positions, npos, base, NULL, 0);
    }
    for (size_t s = 1; s < d.nsubjects && !d.oom; s++) {
        if (!d.subjects[s].reports)
            continue;
        prepare(&d.subjects[s], dp);
        report_changes(&d, s, dp);
    }
    if (d.oom)
        goto out;
    merge_types(&d);
    rc = json ? write_json(&d, out) : write_text(&d, out);
    if (nchanges) {
        *nchanges = 0;
        for (size_t i = 0; i < d.nchanges; i++)
            *nchanges += !d.changes[i].merged;
        *nchanges += d.nrchanges;
    }
out:
    if (d.oom)
        rc = CMN_ERR_NOMEM;
    free(base);
    free(global_org);
    free(same);
    free(positions);
    free(dp);
    for (size_t i = 0; i < d.norgs; i++) {
        free(d.orgs[i]);
        if (d.org_samples)
            free(d.org_samples[i]);
    }
    free(d.orgs);
    free(d.org_samples);
    free(d.org_nsamples);
    for (size_t i = 0; i < d.nsamples; i++) {
        free(d.samples[i].ns);
        free(d.samples[i].name);
        free(d.samples[i].display);
    }
    free(d.samples);
    free(d.set);
    free(d.global);
    free(d.own);
    for (size_t i = 0; i < d.nsubjects; i++)
        free(d.subjects[i].orgs);
    free(d.subjects);
    free(d.subject_set);
    free(d.changes);
    free(d.rchanges);
    return rc;
}
