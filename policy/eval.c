/* Decisions (docs/policy.md). Reads the compiled policy only; allocates nothing:
 * the prepared subject and every temporary live on the stack, decisions in caller storage,
 * and the strings a decision points at belong to the policy or are static.
 *
 * The explain trace is produced by the same code as the decision (each step is traced only
 * when a trace buffer is given), so an explanation can never disagree with the decision it
 * explains. */
#include "common/err.h"
#include "policy/eval.h"
#include "policy/match.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TR(tr, ...)                                                                                \
    do {                                                                                           \
        if (tr)                                                                                    \
            cmn_buf_printf((tr)->trace, __VA_ARGS__);                                              \
    } while (0)

static void reason(pol_decision_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(pol_decision_t *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
    va_end(ap);
}

static void deny(pol_decision_t *d, pol_answer_t answer, const char *rule)
{
    d->effect = POL_DENY;
    d->answer = answer;
    d->rule = rule;
}

static void describe(const pol_target_t *t, char *out, size_t cap)
{
    if (t->type == POL_REPO_NONE)
        snprintf(out, cap, "namespace %s", t->namespace ? t->namespace : "");
    else if (t->namespace && *t->namespace)
        snprintf(out, cap, "%s %s/%s", pol_repo_type_name(t->type), t->namespace,
                 t->name ? t->name : "");
    else
        snprintf(out, cap, "%s %s", pol_repo_type_name(t->type), t->name ? t->name : "");
}

/* A namespace target (org settings, jobs, collections) is covered only by patterns that cover
 * every repo of the namespace: any type, this namespace (or a glob matching it), any name. */
static int covers(const pattern_t *p, const pol_target_t *t)
{
    if (t->type == POL_REPO_NONE)
        return p->types == POL_TYPE_ALL && strcmp(p->name, "*") == 0 &&
               pol_glob_match(p->ns, t->namespace ? t->namespace : "");
    return pol_pattern_match(p, t->type, t->namespace, t->name);
}

static const pattern_t *rule_covers(const rule_t *r, const pol_target_t *t)
{
    for (size_t i = 0; i < r->nrepos; i++) {
        if (covers(&r->repos[i], t))
            return &r->repos[i];
    }
    return NULL;
}

static int rule_names(const rule_t *r, const prepared_t *ps)
{
    if (!r->nsubjects)
        return 1;
    for (size_t i = 0; i < r->nsubjects; i++) {
        if (pol_prepared_has(ps, r->subjects[i].kind, r->subjects[i].value, r->subjects[i].hash,
                             r->deny))
            return 1;
    }
    return 0;
}

/* Does the condition hold? On failure *missing says what is missing. */
static int cond_holds(const cond_t *c, const prepared_t *ps, const pol_ip_t *ip, char *missing,
                      size_t cap)
{
    int mfa_ok = !c->mfa || ps->s->mfa;
    int net_ok = 1;
    if (c->nnets) {
        net_ok = 0;
        for (size_t i = 0; ip && i < c->nnets && !net_ok; i++)
            net_ok = pol_cidr_contains(&c->nets[i], ip);
    }
    if (mfa_ok && net_ok)
        return 1;
    if (!mfa_ok && !net_ok)
        snprintf(missing, cap, "MFA and a client address in %s", c->nets_text);
    else if (!mfa_ok)
        snprintf(missing, cap, "MFA");
    else
        snprintf(missing, cap, "a client address in %s%s", c->nets_text,
                 ip ? "" : " (the client address is unknown)");
    return 0;
}

static void cond_text(const cond_t *c, char *out, size_t cap)
{
    if (c->mfa && c->nnets)
        snprintf(out, cap, "with MFA from %s", c->nets_text);
    else if (c->mfa)
        snprintf(out, cap, "with MFA");
    else
        snprintf(out, cap, "from %s", c->nets_text);
}

/* Does require[key] gate action a? Role keys gate every action needing at least that role;
 * action keys gate that action; auditor gates report exports only. */
static int gates(req_key_t key, pol_action_t a)
{
    switch (key) {
    case REQ_READ:
        return 1;
    case REQ_WRITE:
        return pol_action_role(a) >= POL_ROLE_WRITE;
    case REQ_ADMIN:
        return pol_action_role(a) >= POL_ROLE_ADMIN;
    case REQ_CREATE:
        return a == POL_ACTION_CREATE;
    case REQ_DELETE:
        return a == POL_ACTION_DELETE;
    case REQ_AUDITOR:
    case REQ_COUNT:
        break;
    }
    return 0;
}

/* Where target t of org o lives: the first of the org's repo_regions whose patterns match it,
 * else the org's first region, else the default region. A namespace target (t NULL or type
 * NONE) is the org's first region. */
static const char *region_of(const pol_policy_t *p, const org_t *o, const pol_target_t *t)
{
    if (!o || !o->nregions)
        return p->default_region;
    for (size_t i = 0; t && t->type != POL_REPO_NONE && i < o->nrepo_regions; i++) {
        const repo_region_t *rr = &o->repo_regions[i];
        for (size_t k = 0; k < rr->nrepos; k++) {
            if (pol_pattern_match(&rr->repos[k], t->type, t->namespace, t->name))
                return rr->region;
        }
    }
    return o->regions[0];
}

const char *pol_repo_region(const pol_policy_t *p, const pol_target_t *t)
{
    return region_of(p, pol_find_org(p, t->namespace ? t->namespace : ""), t);
}

size_t pol_namespace_regions(const pol_policy_t *p, const char *ns, const char *const **out)
{
    const org_t *o = pol_find_org(p, ns ? ns : "");
    if (o && o->nregions) {
        *out = o->regions;
        return o->nregions;
    }
    *out = &p->default_region;
    return p->default_region ? 1 : 0;
}

static const char *who_text(const member_t *m)
{
    return m->kind == WHO_GROUP ? "group" : "email";
}

typedef struct {
    pol_role_t role;       /* highest role from matching entries */
    const member_t *entry; /* the entry that gave it */
    int member;            /* an org-wide entry names the subject (auditors included) */
    int auditor;           /* an org-wide auditor entry names the subject */
} grants_t;

static void grant(grants_t *g, const member_t *m)
{
    if (m->rgroup < 0) {
        g->member = 1;
        g->auditor |= m->role == POL_ROLE_AUDITOR;
    }
    if (m->role > g->role) {
        g->role = m->role;
        g->entry = m;
    }
}

static int entry_names(const member_t *m, const prepared_t *ps)
{
    return pol_prepared_has(ps, m->kind, m->value, m->hash, 0);
}

/* The first pattern of resource group rg that holds target t; NULL when none does, and for
 * t NULL or a namespace (a resource group holds repos only). */
static const pattern_t *rgroup_pattern(const rgroup_t *rg, const pol_target_t *t)
{
    for (size_t k = 0; t && t->type != POL_REPO_NONE && k < rg->nrepos; k++) {
        if (covers(&rg->repos[k], t))
            return &rg->repos[k];
    }
    return NULL;
}

/* The subject's grants in org o for target t (NULL: org-wide entries only). */
static void collect(const org_t *o, const prepared_t *ps, const pol_target_t *t, trace_t *tr,
                    grants_t *g)
{
    memset(g, 0, sizeof(*g));
    if (tr) {
        /* Explaining: walk every entry in file order and say why it counts or not. */
        for (size_t i = 0; i < o->nmembers; i++) {
            const member_t *m = &o->members[i];
            int named = entry_names(m, ps);
            if (m->rgroup < 0) {
                TR(tr, "    %s: %s %s, role %s: %s\n", m->path, who_text(m), m->value,
                   pol_role_name(m->role), named ? "names the subject" : "not the subject");
                if (named)
                    grant(g, m);
                continue;
            }
            const rgroup_t *rg = &o->rgroups[m->rgroup];
            const pattern_t *hit = rgroup_pattern(rg, t);
            if (!named)
                TR(tr, "    %s: %s %s, role %s: not the subject\n", m->path, who_text(m), m->value,
                   pol_role_name(m->role));
            else if (!hit)
                TR(tr,
                   "    %s: %s %s, role %s: names the subject, but resource group \"%s\" "
                   "does not hold this target\n",
                   m->path, who_text(m), m->value, pol_role_name(m->role), rg->name);
            else
                TR(tr,
                   "    %s: %s %s, role %s: names the subject, and resource group \"%s\" "
                   "holds it (%s)\n",
                   m->path, who_text(m), m->value, pol_role_name(m->role), rg->name, hit->text);
            if (named && hit)
                grant(g, m);
        }
        return;
    }
    /* Deciding: walk the smaller side. An org with fewer entries than the subject has groups
     * checks each entry against the subject's sorted keys; otherwise each key probes the org's
     * member table. */
    if (o->nmembers < ps->nkeys) {
        for (size_t i = 0; i < o->nmembers; i++) {
            const member_t *m = &o->members[i];
            if (entry_names(m, ps) && (m->rgroup < 0 || rgroup_pattern(&o->rgroups[m->rgroup], t)))
                grant(g, m);
        }
        return;
    }
    for (size_t k = 0; k < ps->nkeys; k++) {
        uint64_t h = ps->keys[k].hash;
        for (size_t s = (size_t)h & o->mtable_mask;; s = (s + 1) & o->mtable_mask) {
            uint32_t slot = o->mtable[s];
            if (!slot)
                break;
            const member_t *m = &o->members[slot - 1];
            if (m->hash == h && entry_names(m, ps) &&
                (m->rgroup < 0 || rgroup_pattern(&o->rgroups[m->rgroup], t)))
                grant(g, m);
        }
    }
}

void pol_eval_target(const pol_policy_t *p, const prepared_t *ps, const pol_target_t *t,
                     const pol_ip_t *ip, const char *source_region, trace_t *tr, pol_decision_t *d)
{
    char what[256], missing[512];
    const char *ns = t->namespace ? t->namespace : "";
    const org_t *o = pol_find_org(p, ns);
    const char *act = pol_action_name(t->action);
    describe(t, what, sizeof(what));
    d->effect = POL_DENY;
    d->answer = POL_ANSWER_NOT_FOUND;
    d->rule = "default-deny";
    d->reason[0] = '\0';
    d->org = o ? o->name : NULL;
    d->role = POL_ROLE_NONE;
    d->region = region_of(p, o, t);
    d->region_listed = o && o->nregions;
    TR(tr, "  %s, action %s\n", what, act);

    if (t->caller_namespace) {
        deny(d, POL_ANSWER_FORBIDDEN, "caller-namespace");
        reason(d,
               "the request names no namespace for %s (the upstream would use the gateway's "
               "own account): name the organization or user explicitly",
               what);
        TR(tr, "    caller-namespace: %s\n", d->reason);
        return;
    }

    /* What the subject holds here: decides visibility (404 or 403) and grants. */
    grants_t g = {0};
    if (o) {
        TR(tr, "    %s: org%s%s\n", o->path, o->nregions ? ", repos live in " : "",
           o->nregions ? o->regions[0] : "");
        collect(o, ps, t, tr, &g);
    }
    int external = !o && pol_is_external(p, ns);
    int own = !o && ps->own_ns && *ns && strcasecmp(ps->own_ns, ns) == 0;
    const rule_t *allow_rule = NULL;
    int allow_any = 0;
    for (size_t i = p->ndeny; i < p->nrules; i++) {
        const rule_t *r = &p->rules[i];
        if (!rule_names(r, ps) || !rule_covers(r, t))
            continue;
        allow_any = 1;
        if (!allow_rule && (r->actions & ACT_BIT(t->action)))
            allow_rule = r;
    }
    int visible = g.member || g.role > POL_ROLE_NONE || external || own || allow_any;
    d->role = g.role;
    pol_answer_t refuse = visible ? POL_ANSWER_FORBIDDEN : POL_ANSWER_NOT_FOUND;
    if (external)
        TR(tr, "    external: %s is an external namespace (read %s)\n", ns,
           p->external_read ? "allowed" : "disabled");
    if (own)
        TR(tr,
           "    personal_namespaces: %s is the subject's own namespace (read %s, write "
           "%s)\n",
           ns, p->personal_read ? "allowed" : "disabled",
           p->personal_write ? "allowed" : "disabled");

    /* 1. explicit deny rules win */
    for (size_t i = 0; i < p->ndeny; i++) {
        const rule_t *r = &p->rules[i];
        if (!(r->actions & ACT_BIT(t->action))) {
            TR(tr, "    %s: does not apply to %s\n", r->path, act);
            continue;
        }
        if (!rule_names(r, ps)) {
            TR(tr, "    %s: does not name the subject\n", r->path);
            continue;
        }
        const pattern_t *hit = rule_covers(r, t);
        if (!hit) {
            TR(tr, "    %s: no pattern covers %s\n", r->path, what);
            continue;
        }
        if (r->has_unless && cond_holds(&r->unless, ps, ip, missing, sizeof(missing))) {
            char c[512];
            cond_text(&r->unless, c, sizeof(c));
            TR(tr, "    %s: covers it (%s), but the exception holds (unless %s)\n", r->path,
               hit->text, c);
            continue;
        }
        deny(d, refuse, r->path);
        if (r->has_unless) {
            char c[512];
            cond_text(&r->unless, c, sizeof(c));
            reason(d, "%s on %s is denied by rule %s except %s", act, what, r->id, c);
        } else {
            reason(d, "%s on %s is denied by rule %s", act, what, r->id);
        }
        TR(tr, "    %s: covers it (%s) → deny\n", r->path, hit->text);
        return;
    }

    /* 2. a read-scoped token caps every grant at read */
    if (ps->s->read_only_token && t->action > POL_ACTION_READ) {
        deny(d, refuse, "token-scope");
        d->role = g.role;
        reason(d, "the hubgate token is read-only: %s on %s needs a write-scoped token", act, what);
        TR(tr, "    token-scope: %s\n", d->reason);
        return;
    }

    /* 3. grants */
    pol_role_t need = pol_action_role(t->action);
    const char *by = NULL;
    if (o && g.role >= need && g.role >= POL_ROLE_READ) {
        by = g.entry->path;
        d->role = g.role;
        reason(d, "role %s allows %s on %s", pol_role_name(g.role), act, what);
    } else if (allow_rule) {
        by = allow_rule->path;
        d->role = g.role;
        reason(d, "rule %s allows %s on %s", allow_rule->id, act, what);
    } else if (external && p->external_read && t->action == POL_ACTION_READ) {
        by = "external";
        d->role = POL_ROLE_READ;
        reason(d, "%s is an external namespace: read allowed", ns);
    } else if (own && (t->action == POL_ACTION_READ ? p->personal_read : p->personal_write)) {
        by = "personal_namespaces";
        d->role = p->personal_write ? POL_ROLE_ADMIN : POL_ROLE_READ;
        reason(d, "%s is the subject's own namespace: %s allowed", ns, act);
    }
    if (!by) {
        d->role = g.role;
        if (g.entry) {
            deny(d, refuse, g.entry->path);
            reason(d, "role %s (%s) does not allow %s on %s%s", pol_role_name(g.role),
                   g.entry->path, act, what,
                   g.role == POL_ROLE_AUDITOR ? ": auditors export reports and read nothing in "
                                                "the hub"
                                              : "");
        } else if (external) {
            deny(d, refuse, "external");
            reason(d,
                   p->external_read ? "%s is an external namespace: read only, not %s"
                                    : "%s is an external namespace and external.read is "
                                      "off: no %s",
                   ns, act);
        } else if (own) {
            deny(d, refuse, "personal_namespaces");
            reason(d, "personal namespaces do not allow %s (personal_namespaces.%s is off)", act,
                   t->action == POL_ACTION_READ ? "read" : "write");
        } else if (o) {
            deny(d, refuse, "default-deny");
            reason(d, "the subject holds no role on %s in org %s", what, o->name);
        } else {
            deny(d, refuse, "default-deny");
            reason(d,
                   "%s is not an org of this policy, an external namespace or the subject's "
                   "own: denied",
                   *ns ? ns : "a repo without a namespace");
        }
        TR(tr, "    %s → deny: %s\n", d->rule, d->reason);
        return;
    }
    TR(tr, "    grant: %s (%s)\n", d->reason, by);

    /* 4. the org's conditions on the action */
    for (int k = 0; o && k < REQ_COUNT; k++) {
        if (!o->require_path[k] || !gates((req_key_t)k, t->action))
            continue;
        if (!cond_holds(&o->require[k], ps, ip, missing, sizeof(missing))) {
            deny(d, POL_ANSWER_FORBIDDEN, o->require_path[k]);
            reason(d, "%s on %s requires %s (%s)", act, what, missing, o->require_path[k]);
            TR(tr, "    %s: not met → deny: needs %s\n", o->require_path[k], missing);
            return;
        }
        TR(tr, "    %s: met\n", o->require_path[k]);
    }

    /* 5. data residency: data brought into a namespace must come from a region it allows */
    if (source_region && d->region) {
        /* The data lands where the destination repo lives (its org's repo_regions, else the
         * org's first region): hubgate routes the repo there, and nowhere else. */
        const char *rule = o && o->nregions ? o->regions_path : "residency";
        if (strcmp(d->region, source_region) != 0) {
            char listed[256] = "";
            for (size_t i = 0; o && i < o->nregions; i++)
                snprintf(listed + strlen(listed), sizeof(listed) - strlen(listed), "%s%s",
                         i ? ", " : "", o->regions[i]);
            deny(d, POL_ANSWER_FORBIDDEN, rule);
            reason(d,
                   "data residency: %s lives in region %s (%s: %s); this request would place "
                   "repo data from region %s there",
                   what, d->region, o ? o->name : "this namespace",
                   *listed ? listed : d->region, source_region);
            TR(tr, "    %s: %s → deny\n", rule, d->reason);
            return;
        }
        TR(tr, "    %s: data from region %s may come here\n", rule, source_region);
    }

    d->effect = POL_ALLOW;
    d->answer = POL_ANSWER_ALLOW;
    d->rule = by;
    TR(tr, "    → allow by %s\n", by);
}

static void init_decision(pol_decision_t *d)
{
    d->effect = POL_DENY;
    d->answer = POL_ANSWER_NOT_FOUND;
    d->rule = "default-deny";
    d->reason[0] = '\0';
    d->org = NULL;
    d->role = POL_ROLE_NONE;
    d->region = NULL;
    d->region_listed = 0;
    d->target = -1;
}

/* ---- report exports ---------------------------------------------------------------------- */

/* The subject's text for traces when an entry names its email but the email is unverified. */
static int names_unverified(const member_t *m, const prepared_t *ps)
{
    return m->kind == WHO_EMAIL && ps->s->email_unverified &&
           pol_prepared_has(ps, m->kind, m->value, m->hash, 1);
}

/* The first entry of the policy's `auditors` naming the subject, or NULL. Traced entry by
 * entry when explaining. */
static const member_t *policy_auditor(const pol_policy_t *p, const prepared_t *ps, trace_t *tr)
{
    const member_t *hit = NULL;
    if (tr && p->nauditors == 0)
        TR(tr, "  auditors: none in this policy\n");
    for (size_t i = 0; i < p->nauditors && (tr || !hit); i++) {
        const member_t *a = &p->auditors[i];
        int named = entry_names(a, ps);
        TR(tr, "  %s: %s %s: %s\n", a->path, who_text(a), a->value,
           named                     ? "names the subject"
           : names_unverified(a, ps) ? "names the subject's email, which is unverified: grants "
                                       "nothing"
                                     : "not the subject");
        if (named && !hit)
            hit = a;
    }
    return hit;
}

/* The org-wide auditor entry of o naming the subject, or NULL. */
static const member_t *org_auditor(const org_t *o, const prepared_t *ps)
{
    for (size_t i = 0; i < o->norg_members; i++) {
        const member_t *m = &o->members[i];
        if (m->role == POL_ROLE_AUDITOR && entry_names(m, ps))
            return m;
    }
    return NULL;
}

/* o's require.auditor, when it has one: 1 when it holds, else 0 with the denial written. */
static int report_condition(const org_t *o, const prepared_t *ps, const pol_ip_t *ip, trace_t *tr,
                            pol_decision_t *out)
{
    char missing[512];
    if (!o->require_path[REQ_AUDITOR])
        return 1;
    const cond_t *c = &o->require[REQ_AUDITOR];
    char need[512];
    cond_text(c, need, sizeof(need));
    if (cond_holds(c, ps, ip, missing, sizeof(missing))) {
        TR(tr, "  %s: exports %s: holds\n", o->require_path[REQ_AUDITOR], need);
        return 1;
    }
    deny(out, POL_ANSWER_FORBIDDEN, o->require_path[REQ_AUDITOR]);
    out->org = o->name;
    reason(out, "exporting the reports of %s requires %s", o->name, missing);
    TR(tr, "  %s: exports %s: %s is missing → deny\n", o->require_path[REQ_AUDITOR], need, missing);
    return 0;
}

static void allow_report(pol_decision_t *out, const member_t *by)
{
    out->effect = POL_ALLOW;
    out->answer = POL_ANSWER_ALLOW;
    out->rule = by->path;
    out->role = POL_ROLE_AUDITOR;
}

/* The report of one org. */
static void report_org(const pol_policy_t *p, const prepared_t *ps, const org_t *o,
                       const member_t *global, const pol_ip_t *ip, trace_t *tr, pol_decision_t *out)
{
    grants_t g;
    TR(tr, "  %s: members of org %s\n", o->path, o->name);
    collect(o, ps, NULL, tr, &g);
    const member_t *local = org_auditor(o, ps);
    out->org = o->name;
    out->region = region_of(p, o, NULL);
    out->region_listed = o->nregions > 0;
    out->role = g.auditor ? POL_ROLE_AUDITOR : g.role;
    const member_t *by = local ? local : global;
    if (!by) {
        /* A member may know the org exists: 403 with why. Anyone else: as if it did not. */
        deny(out, g.member ? POL_ANSWER_FORBIDDEN : POL_ANSWER_NOT_FOUND,
             g.member ? g.entry->path : "default-deny");
        reason(out,
               "the reports of %s are for its auditors (role auditor) and the policy's "
               "auditors%s",
               o->name, g.member ? "; being a member, even an admin, is not enough" : "");
        TR(tr, "  %s → deny\n", out->reason);
        return;
    }
    if (!report_condition(o, ps, ip, tr, out))
        return;
    allow_report(out, by);
    reason(out, "%s (%s) may export the reports of %s",
           local ? "an auditor of the org" : "one of the policy's auditors", by->path, o->name);
    TR(tr, "  → allow by %s\n", by->path);
}

/* What is decided before any rule: an anonymous caller, and a subject with more groups than the
 * policy evaluates, are denied. Returns 1 with *ps prepared when the policy decides, 0 when
 * *out is decided already. */
static int admit(const pol_subject_t *s, prepared_t *ps, trace_t *tr, pol_decision_t *out)
{
    init_decision(out);
    if (s->anonymous) {
        out->rule = "anonymous";
        reason(out, "authentication required");
        TR(tr, "  anonymous: no credentials → deny (401)\n");
        return 0;
    }
    pol_prepare(s, ps);
    if (ps->too_many) {
        deny(out, POL_ANSWER_FORBIDDEN, "too-many-groups");
        reason(out, "the identity carries %zu groups, more than the %d the policy evaluates",
               s->ngroups, POL_MAX_SUBJECT_GROUPS);
        TR(tr, "  too-many-groups: %s → deny\n", out->reason);
        return 0;
    }
    return 1;
}

static void report_decide(const pol_policy_t *p, const pol_subject_t *s, const char *org,
                          const pol_ip_t *ip, trace_t *tr, pol_decision_t *out)
{
    prepared_t ps;
    if (!admit(s, &ps, tr, out))
        return;
    const member_t *global = policy_auditor(p, &ps, tr);
    if (org) {
        const org_t *o = pol_find_org(p, org);
        if (!o) {
            reason(out, "%s is not an org of this policy", org);
            TR(tr, "  %s → deny\n", out->reason);
            return;
        }
        report_org(p, &ps, o, global, ip, tr, out);
        return;
    }
    if (!global) {
        /* No org named: the one org the subject audits, if there is exactly one. */
        const org_t *only = NULL;
        size_t n = 0;
        for (size_t i = 0; i < p->norgs; i++) {
            if (org_auditor(&p->orgs[i], &ps)) {
                n++;
                only = only ? only : &p->orgs[i];
            }
        }
        if (n == 1) {
            TR(tr, "  no org named: the subject audits one org, %s\n", only->name);
            report_org(p, &ps, only, NULL, ip, tr, out);
            return;
        }
        if (n > 1) {
            deny(out, POL_ANSWER_FORBIDDEN, "default-deny");
            reason(out,
                   "a report of every org is for the policy's auditors; name one of the %zu "
                   "orgs whose auditor you are (org=…)",
                   n);
        } else {
            reason(out, "evidence reports are for auditors: an org's (role auditor) or the "
                        "policy's (auditors)");
        }
        TR(tr, "  no org named: %s → deny\n", out->reason);
        return;
    }
    TR(tr, "  no org named: the report of every org, for one of the policy's auditors\n");
    for (size_t i = 0; i < p->norgs; i++) {
        if (!report_condition(&p->orgs[i], &ps, ip, tr, out))
            return;
    }
    allow_report(out, global);
    reason(out, "one of the policy's auditors (%s) may export the reports of every org",
           global->path);
    TR(tr, "  → allow by %s\n", global->path);
}

void pol_decide_report(const pol_policy_t *p, const pol_subject_t *s, const char *org,
                       const pol_ip_t *ip, time_t now, pol_decision_t *out)
{
    (void)now;
    report_decide(p, s, org, ip, NULL, out);
}

static void decide(const pol_policy_t *p, const pol_subject_t *s, const pol_request_t *r,
                   const pol_ip_t *ip, trace_t *tr, pol_decision_t *out)
{
    if (r->report) {
        report_decide(p, s, r->report_org, ip, tr, out);
        return;
    }
    prepared_t ps;
    if (!admit(s, &ps, tr, out))
        return;
    if (r->unknown) {
        for (size_t i = 0; i < p->nrules; i++) {
            const rule_t *rule = &p->rules[i];
            if (!(rule->actions & ACT_UNKNOWN) || !rule_names(rule, &ps))
                continue;
            if (rule->deny) {
                deny(out, POL_ANSWER_NOT_FOUND, rule->path);
                reason(out, "unknown routes are denied by rule %s", rule->id);
            } else {
                out->effect = POL_ALLOW;
                out->answer = POL_ANSWER_ALLOW;
                out->rule = rule->path;
                reason(out, "rule %s allows routes the gateway does not know", rule->id);
            }
            TR(tr, "  %s: applies to unknown routes → %s\n", rule->path,
               pol_effect_name(out->effect));
            return;
        }
        deny(out, POL_ANSWER_NOT_FOUND, "unknown-route");
        reason(out, "not a known Hub API route");
        TR(tr, "  unknown-route: no rule allows unknown routes → deny\n");
        return;
    }
    if (r->ntargets == 0) {
        if (r->action <= POL_ACTION_READ) {
            out->effect = POL_ALLOW;
            out->answer = POL_ANSWER_ALLOW;
            out->rule = "authenticated";
            reason(out, "the route names no repo: allowed to authenticated callers (listings "
                        "are filtered per repo)");
        } else {
            deny(out, POL_ANSWER_FORBIDDEN, "no-target");
            reason(out, "the route would %s but names no repo or namespace to authorize",
                   pol_action_name(r->action));
        }
        TR(tr, "  %s: %s → %s\n", out->rule, out->reason, pol_effect_name(out->effect));
        return;
    }
    if (r->ntargets > POL_MAX_TARGETS) {
        deny(out, POL_ANSWER_FORBIDDEN, "default-deny");
        reason(out, "the request names too many repos");
        return;
    }

    /* The source of a move, duplicate or LFS copy: where its data comes from. */
    const pol_target_t *src = NULL;
    for (size_t i = 0; i < r->ntargets && !src; i++) {
        const pol_target_t *t = &r->targets[i];
        if (t->type != POL_REPO_NONE &&
            (t->action == POL_ACTION_READ || t->action == POL_ACTION_DELETE))
            src = t;
    }
    const char *origin = r->region;
    if (!origin && src)
        origin = pol_repo_region(p, src);

    pol_decision_t tmp;
    for (size_t i = 0; i < r->ntargets; i++) {
        const pol_target_t *t = &r->targets[i];
        int dest = t->type != POL_REPO_NONE && (t->action == POL_ACTION_CREATE ||
                                                (t->action == POL_ACTION_WRITE && src && src != t));
        pol_decision_t *d = i == 0 ? out : &tmp;
        pol_eval_target(p, &ps, t, ip, dest ? origin : NULL, tr, d);
        d->target = (int)i;
        if (d->effect == POL_DENY) {
            if (d != out)
                *out = *d;
            return;
        }
    }
    if (r->ntargets > 1)
        TR(tr, "  every target is allowed\n");
}

void pol_decide(const pol_policy_t *p, const pol_subject_t *s, const pol_request_t *r,
                const pol_ip_t *ip, time_t now, pol_decision_t *out)
{
    (void)now;
    decide(p, s, r, ip, NULL, out);
}

int pol_can_read(const pol_policy_t *p, const pol_subject_t *s, pol_repo_type_t type,
                 const char *ns, const char *name, const pol_ip_t *ip, time_t now)
{
    (void)now;
    if (s->anonymous || type == POL_REPO_NONE)
        return 0;
    prepared_t ps;
    pol_prepare(s, &ps);
    if (ps.too_many)
        return 0;
    pol_target_t t = {.type = type, .namespace = ns, .name = name, .action = POL_ACTION_READ};
    pol_decision_t d;
    pol_eval_target(p, &ps, &t, ip, NULL, NULL, &d);
    return d.effect == POL_ALLOW;
}

int pol_explain(const pol_policy_t *p, const pol_subject_t *s, const pol_request_t *r,
                const pol_ip_t *ip, time_t now, pol_decision_t *out, cmn_buf_t *text)
{
    (void)now;
    trace_t tr = {text};
    size_t before = text->len;
    decide(p, s, r, ip, &tr, out);
    int rc = cmn_buf_printf(text, "decision: %s (%s) by %s: %s\n", pol_effect_name(out->effect),
                            out->effect == POL_ALLOW && r->report ? "export the report"
                            : out->effect == POL_ALLOW            ? "forward"
                            : out->answer == POL_ANSWER_FORBIDDEN ? "answer 403"
                            : s->anonymous                        ? "answer 401"
                            : r->report                           ? "answer 404"
                                                                  : "answer 404 RepoNotFound",
                            out->rule, out->reason);
    if (rc == 0 && text->len == before)
        rc = CMN_ERR_NOMEM;
    return rc;
}

size_t pol_subject_orgs(const pol_policy_t *p, const pol_subject_t *s, pol_membership_t *out,
                        size_t max)
{
    if (s->anonymous)
        return 0;
    prepared_t ps;
    pol_prepare(s, &ps);
    if (ps.too_many)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < p->norgs; i++) {
        const org_t *o = &p->orgs[i];
        grants_t g;
        collect(o, &ps, NULL, NULL, &g);
        int rg_member = 0;
        for (size_t k = o->norg_members; k < o->nmembers && !g.member && !rg_member; k++)
            rg_member = entry_names(&o->members[k], &ps);
        if (!g.member && !rg_member)
            continue;
        if (n < max) {
            out[n].org = o->name;
            out[n].role = g.member ? g.role : POL_ROLE_READ;
            out[n].auditor = (unsigned)g.auditor;
        }
        n++;
    }
    return n;
}
