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
#include "policy/diff_collect.h"
#include "policy/diff_write.h"
#include "policy/eval.h"
#include "policy/match.h"

#include <string.h>
#include <strings.h>

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

/* Bit (mfa * (nnets + 1) + place) is set when the question is answered yes in that context;
 * place 0 is outside every named network, place i + 1 inside nets[i]. The question: may the
 * subject do action on smp, or with smp NULL, export the reports of org (NULL: of every org at
 * once; an org auditor's default of their one org does not count as that). */
static uint64_t allowed(const diff_t *d, const pol_policy_t *p, const dprep_t *dp,
                        const sample_t *smp, pol_action_t action, const char *org)
{
    pol_target_t t = {.type = smp ? smp->type : POL_REPO_NONE,
                      .namespace = smp ? smp->ns : NULL,
                      .name = smp ? smp->name : NULL,
                      .action = action};
    uint64_t mask = 0;
    size_t places = d->nnets + 1;
    for (unsigned mfa = 0; mfa < 2; mfa++) {
        for (size_t place = 0; place < places; place++) {
            pol_ip_t ip;
            if (place)
                memcpy(ip.addr, d->nets[place - 1].addr, sizeof(ip.addr));
            pol_decision_t dec;
            int yes;
            if (smp) {
                pol_eval_target(p, &dp->prepared[mfa], &t, place ? &ip : NULL, NULL, NULL, &dec);
                yes = dec.effect == POL_ALLOW;
            } else {
                pol_decide_report(p, &dp->subject[mfa], org, place ? &ip : NULL, 0, &dec);
                yes = dec.effect == POL_ALLOW && (org || !dec.org);
            }
            if (yes)
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
    change_t *c = diff_grow(d, d->changes, &d->changes_cap, d->nchanges, sizeof(change_t));
    if (!c)
        return;
    d->changes = c;
    d->changes[d->nchanges++] = (change_t){subject, sample, ACT_BIT(a), o, n, 0, 0};
}

static void report_changes(diff_t *d, size_t si, const dprep_t *dp)
{
    for (long o = -1; o < (long)d->norgs && !d->oom; o++) {
        const char *org = o < 0 ? NULL : d->orgs[o];
        uint64_t om = allowed(d, d->a, dp, NULL, POL_ACTION_NONE, org);
        uint64_t nm = allowed(d, d->b, dp, NULL, POL_ACTION_NONE, org);
        if (om == nm)
            continue;
        rchange_t *c = diff_grow(d, d->rchanges, &d->rchanges_cap, d->nrchanges, sizeof(rchange_t));
        if (!c)
            return;
        d->rchanges = c;
        d->rchanges[d->nrchanges++] = (rchange_t){si, o, om, nm};
    }
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
            uint64_t o = allowed(d, d->a, dp, smp, (pol_action_t)a, NULL);
            uint64_t nw = allowed(d, d->b, dp, smp, (pol_action_t)a, NULL);
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

/* What the evaluation of every subject needs besides d. */
typedef struct {
    pair_t *base;      /* any authenticated user's masks on the global samples */
    long *global_org;  /* per global sample: the org (of the union) it is in, or -1 */
    char *same;        /* per org: defined alike in both files, with the same rules */
    size_t *positions; /* scratch: the global samples one subject is evaluated on */
    dprep_t *dp;       /* scratch: the subject being evaluated, prepared */
} plan_t;

/* Any authenticated user on its own namespace and the global samples; each named subject on
 * the samples of the orgs naming it that changed, and on the global samples where it can fare
 * otherwise than any user (its orgs' namespaces, everything when a rule names it); then the
 * report exports of each auditor. */
static void evaluate_subjects(diff_t *d, const plan_t *pl)
{
    dprep_t *dp = pl->dp;
    prepare(&d->subjects[0], dp);
    evaluate(d, 0, dp, d->own, NULL, d->nown, NULL, NULL, 0);
    evaluate(d, 0, dp, d->global, NULL, d->nglobal, NULL, pl->base, 0);
    for (size_t s = 1; s < d->nsubjects && !d->oom; s++) {
        const dsubject_t *sub = &d->subjects[s];
        prepare(sub, dp);
        int changed = sub->in_rules;
        for (size_t k = 0; k < sub->norgs; k++) {
            size_t oi = sub->orgs[k];
            if (pl->same[oi])
                continue;
            changed = 1;
            evaluate(d, s, dp, d->org_samples[oi], NULL, d->org_nsamples[oi], NULL, NULL, 1);
        }
        if (!changed)
            continue; /* named only in orgs that did not change */
        size_t npos = 0;
        for (size_t i = 0; i < d->nglobal; i++) {
            int relevant = sub->in_rules;
            for (size_t k = 0; k < sub->norgs && !relevant; k++)
                relevant = pl->global_org[i] == (long)sub->orgs[k] && !pl->same[sub->orgs[k]];
            if (relevant)
                pl->positions[npos++] = i;
        }
        evaluate(d, s, dp, d->global, pl->positions, npos, pl->base, NULL, 0);
    }
    for (size_t s = 1; s < d->nsubjects && !d->oom; s++) {
        if (!d->subjects[s].reports)
            continue;
        prepare(&d->subjects[s], dp);
        report_changes(d, s, dp);
    }
}

/* Each org's repos whose region differs between the policies: where they are routed, and
 * where data brought into them may come from. */
static void region_changes(diff_t *d)
{
    for (size_t o = 0; o < d->norgs && !d->oom; o++) {
        for (size_t k = 0; k < d->org_nsamples[o] && !d->oom; k++) {
            const sample_t *s = &d->samples[d->org_samples[o][k]];
            pol_target_t t = {.type = s->type, .namespace = s->ns, .name = s->name,
                              .action = POL_ACTION_READ};
            const char *ra = pol_repo_region(d->a, &t), *rb = pol_repo_region(d->b, &t);
            if (str_eq(ra, rb))
                continue;
            regchange_t *c = diff_grow(d, d->regchanges, &d->regchanges_cap, d->nregchanges,
                                       sizeof(regchange_t));
            if (!c)
                return;
            d->regchanges = c;
            d->regchanges[d->nregchanges++] =
                (regchange_t){d->org_samples[o][k], ra, rb};
        }
    }
}

int pol_diff(const pol_policy_t *old_policy, const pol_policy_t *new_policy, int json,
             cmn_buf_t *out, size_t *nchanges)
{
    diff_t d;
    memset(&d, 0, sizeof(d));
    d.a = old_policy;
    d.b = new_policy;
    int rc = 0;
    plan_t pl = {NULL, NULL, NULL, NULL, NULL};
    if (pol_diff_collect(&d) != 0)
        goto out;
    size_t nglobal = d.nglobal ? d.nglobal : 1, norgs = d.norgs ? d.norgs : 1;
    pl.base = calloc(nglobal * 5, sizeof(pair_t));
    pl.global_org = malloc(nglobal * sizeof(long));
    pl.positions = malloc(nglobal * sizeof(size_t));
    pl.same = calloc(norgs, 1);
    pl.dp = malloc(sizeof(*pl.dp));
    if (!pl.base || !pl.global_org || !pl.positions || !pl.same || !pl.dp) {
        d.oom = 1;
        goto out;
    }
    /* On namespaces outside the orgs a subject fares like any authenticated user unless a rule
     * names it. */
    for (size_t i = 0; i < d.nglobal; i++) {
        pl.global_org[i] = -1;
        for (size_t o = 0; o < d.norgs; o++)
            if (strcasecmp(d.samples[d.global[i]].ns, d.orgs[o]) == 0)
                pl.global_org[i] = (long)o;
    }
    /* With the same rules, an org defined the same way in both files changes for nobody. */
    if (rules_eq(old_policy, new_policy))
        for (size_t o = 0; o < d.norgs; o++)
            pl.same[o] = (char)org_eq(pol_find_org(old_policy, d.orgs[o]),
                                      pol_find_org(new_policy, d.orgs[o]));
    evaluate_subjects(&d, &pl);
    region_changes(&d);
    if (d.oom)
        goto out;
    merge_types(&d);
    rc = json ? pol_diff_write_json(&d, out) : pol_diff_write_text(&d, out);
    if (nchanges) {
        *nchanges = 0;
        for (size_t i = 0; i < d.nchanges; i++)
            *nchanges += !d.changes[i].merged;
        *nchanges += d.nrchanges + d.nregchanges;
    }
out:
    if (d.oom)
        rc = CMN_ERR_NOMEM;
    free(pl.base);
    free(pl.global_org);
    free(pl.same);
    free(pl.positions);
    free(pl.dp);
    pol_diff_collect_free(&d);
    free(d.changes);
    free(d.rchanges);
    free(d.regchanges);
    return rc;
}
