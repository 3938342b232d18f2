/* Policy evaluation on requests built directly (the data-driven JSON cases under cases/ go
 * through the route classifier via `hubgate policy test`): namespace targets, body-less
 * caller namespaces, unknown and repo-less routes, anonymous and over-grouped subjects,
 * allow rules, residency with an explicit region, multi-target requests, the decision's
 * org/role/region, the listing filter, whoami memberships, report exports, explain agreeing
 * with decide, and no heap allocation per decision. Each failure prints the case name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

/* Counting allocator, to prove decisions allocate nothing. Interposed only without ASan,
 * whose own allocator must stay in charge. */
#if defined(__SANITIZE_ADDRESS__)
#define COUNTING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNTING 0
#endif
#endif
#ifndef COUNTING
#define COUNTING 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static volatile size_t allocations;
void *malloc(size_t n)
{
    allocations++;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
    allocations++;
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
    allocations++;
    return __libc_realloc(p, n);
}
#endif

static const char policy_text[] =
    "{\"version\": 1,\n"
    " \"orgs\": {\n"
    "  \"acme\": {\"regions\": [\"eu\"],\n"
    "           \"members\": [{\"group\": \"admins\", \"role\": \"admin\"},\n"
    "                       {\"group\": \"ml\", \"role\": \"write\"},\n"
    "                       {\"group\": \"staff\", \"role\": \"read\"},\n"
    "                       {\"email\": \"aud@acme.example\", \"role\": \"auditor\"}],\n"
    "           \"resource_groups\": [{\"name\": \"ft\", \"repos\": [\"models/acme/ft-*\"],\n"
    "                  \"members\": [{\"group\": \"contractors\", \"role\": \"write\"}]}],\n"
    "           \"require\": {\"admin\": {\"mfa\": true},\n"
    "                       \"auditor\": {\"networks\": [\"10.0.0.0/8\"]}}},\n"
    "  \"us-org\": {\"regions\": [\"us\"], \"members\": [{\"group\": \"admins\", \"role\": "
    "\"admin\"}, {\"group\": \"audit\", \"role\": \"auditor\"}]},\n"
    "  \"beta\": {\"members\": [{\"group\": \"staff\", \"role\": \"admin\"},\n"
    "                       {\"group\": \"audit\", \"role\": \"auditor\"}]}\n"
    " },\n"
    " \"auditors\": [{\"group\": \"corp-audit\"}, {\"email\": \"Chief@corp.example\"}],\n"
    " \"external\": {\"read\": true, \"namespaces\": [\"google\"]},\n"
    " \"personal_namespaces\": {\"read\": true, \"write\": false},\n"
    " \"rules\": [\n"
    "  {\"id\": \"no-beta-deletes\", \"effect\": \"deny\", \"actions\": [\"delete\"],\n"
    "   \"repos\": [\"*/beta/*\"]},\n"
    "  {\"id\": \"partners\", \"effect\": \"allow\", \"actions\": [\"read\", \"write\"],\n"
    "   \"repos\": [\"datasets/partnerco/*\"], \"subjects\": [{\"group\": \"partners\"}]}\n"
    " ]\n"
    "}\n";

static pol_policy_t *policy;

static int setup(void **state)
{
    static const char *const regions[] = {"us", "eu"};
    pol_options_t opts = {regions, 2, "us"};
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    policy = pol_policy_parse(policy_text, strlen(policy_text), "eval.json", &opts, &errors);
    if (!policy)
        fprintf(stderr, "%s", errors.data);
    cmn_buf_free(&errors);
    return policy ? 0 : -1;
}

static int teardown(void **state)
{
    pol_policy_unref(policy);
    return 0;
}

/* Subjects by name. */
static const char *const g_admins[] = {"admins"};
static const char *const g_ml[] = {"ml"};
static const char *const g_staff[] = {"staff"};
static const char *const g_contractors[] = {"contractors"};
static const char *const g_partners[] = {"partners"};
static const char *const g_audit[] = {"audit"};
static const char *const g_corp_audit[] = {"corp-audit"};
static const char *const g_staff_corp_audit[] = {"staff", "corp-audit"};

static const struct {
    const char *who;
    pol_subject_t s; /* sub is who, unless anonymous */
} named[] = {
    {"admin", {.groups = g_admins, .ngroups = 1}},
    {"admin-mfa", {.groups = g_admins, .ngroups = 1, .mfa = 1}},
    {"ml", {.groups = g_ml, .ngroups = 1}},
    {"staff", {.groups = g_staff, .ngroups = 1}},
    {"contractor", {.groups = g_contractors, .ngroups = 1}},
    {"partner", {.groups = g_partners, .ngroups = 1}},
    {"auditor", {.email = "aud@acme.example"}},
    {"multi-auditor", {.groups = g_audit, .ngroups = 1}},     /* an auditor of us-org and beta */
    {"corp-auditor", {.groups = g_corp_audit, .ngroups = 1}}, /* one of the policy's auditors */
    {"staff-corp-auditor", {.groups = g_staff_corp_audit, .ngroups = 2}},
    {"chief", {.email = "chief@CORP.example"}},
    {"chief-unverified", {.email = "chief@corp.example", .email_unverified = 1}},
    {"anonymous", {.anonymous = 1}},
};

/* The subject named who; any other name is a subject with no group and no email. */
static pol_subject_t subject(const char *who)
{
    pol_subject_t s = {.sub = who};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (strcmp(who, named[i].who) == 0) {
            s = named[i].s;
            s.sub = s.anonymous ? NULL : who;
        }
    }
    return s;
}

static pol_action_t action_of(const char *s)
{
    static const char *const names[] = {"none", "read", "write", "create", "delete", "admin"};
    for (int i = 0; i < 6; i++)
        if (strcmp(s, names[i]) == 0)
            return (pol_action_t)i;
    fail_msg("bad action %s", s);
    return POL_ACTION_NONE;
}

/* A request for "model:acme/bert=write dataset:gpt2=read ns:acme=admin model:@caller/x=create"
 * ("": no target); its strings point into storage. */
static void targets(pol_request_t *r, const char *spec, char *storage)
{
    memset(r, 0, sizeof(*r));
    strcpy(storage, spec);
    for (char *save = NULL, *tok = strtok_r(storage, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        pol_target_t *t = &r->targets[r->ntargets++];
        char *colon = strchr(tok, ':'), *eq = strchr(tok, '=');
        *colon = '\0';
        *eq = '\0';
        t->action = action_of(eq + 1);
        if (t->action > r->action)
            r->action = t->action;
        char *id = colon + 1;
        if (strcmp(tok, "ns") == 0) {
            t->type = POL_REPO_NONE;
            t->namespace = id;
            continue;
        }
        t->type = strcmp(tok, "model") == 0     ? POL_REPO_MODEL
                  : strcmp(tok, "dataset") == 0 ? POL_REPO_DATASET
                  : strcmp(tok, "space") == 0   ? POL_REPO_SPACE
                                                : POL_REPO_BUCKET;
        char *slash = strchr(id, '/');
        if (!slash) {
            t->namespace = "";
            t->name = id;
        } else {
            *slash = '\0';
            t->namespace = id;
            t->name = slash + 1;
            if (strcmp(id, "@caller") == 0) {
                t->namespace = "";
                t->caller_namespace = 1;
            }
        }
    }
}

typedef struct {
    const char *name;
    const char *who;
    const char *targets;  /* "" for none; "?" for an unknown route */
    const char *headline; /* for requests without targets */
    const char *ip;
    const char *region;
    pol_effect_t effect;
    const char *rule;
    pol_answer_t answer;
    const char *org; /* NULL: not checked */
    pol_role_t role;
    int target;
} eval_case_t;

#define ALLOW     POL_ALLOW, NULL, POL_ANSWER_ALLOW
#define NOTFOUND  POL_ANSWER_NOT_FOUND
#define FORBIDDEN POL_ANSWER_FORBIDDEN

/* clang-format off */
static const eval_case_t cases[] = {
    {"namespace admin needs MFA", "admin", "ns:acme=admin", NULL, NULL, NULL, POL_DENY, "orgs.acme.require.admin", FORBIDDEN, "acme", POL_ROLE_ADMIN, 0},
    {"namespace admin with MFA", "admin-mfa", "ns:acme=admin", NULL, NULL, NULL, POL_ALLOW, "orgs.acme.members[0]", POL_ANSWER_ALLOW, "acme", POL_ROLE_ADMIN, 0},
    {"namespace read for staff", "staff", "ns:acme=read", NULL, NULL, NULL, POL_ALLOW, "orgs.acme.members[2]", POL_ANSWER_ALLOW, "acme", POL_ROLE_READ, 0},
    {"resource group gives nothing on the namespace", "contractor", "ns:acme=read", NULL, NULL, NULL, POL_DENY, "default-deny", NOTFOUND, "acme", POL_ROLE_NONE, 0},
    {"resource group repo", "contractor", "model:acme/ft-7=write", NULL, NULL, NULL, POL_ALLOW, "orgs.acme.resource_groups[0].members[0]", POL_ANSWER_ALLOW, "acme", POL_ROLE_WRITE, 0},
    {"caller namespace is refused", "admin-mfa", "model:@caller/x=create", NULL, NULL, NULL, POL_DENY, "caller-namespace", FORBIDDEN, NULL, POL_ROLE_NONE, 0},
    {"unknown route", "admin-mfa", "?", NULL, NULL, NULL, POL_DENY, "unknown-route", NOTFOUND, NULL, POL_ROLE_NONE, -1},
    {"no target, read", "staff", "", "read", NULL, NULL, POL_ALLOW, "authenticated", POL_ANSWER_ALLOW, NULL, POL_ROLE_NONE, -1},
    {"no target, action none", "staff", "", "none", NULL, NULL, POL_ALLOW, "authenticated", POL_ANSWER_ALLOW, NULL, POL_ROLE_NONE, -1},
    {"no target, admin", "admin-mfa", "", "admin", NULL, NULL, POL_DENY, "no-target", FORBIDDEN, NULL, POL_ROLE_NONE, -1},
    {"anonymous", "anonymous", "model:google/bert=read", NULL, NULL, NULL, POL_DENY, "anonymous", NOTFOUND, NULL, POL_ROLE_NONE, -1},
    {"allow rule read", "partner", "dataset:partnerco/ds=read", NULL, NULL, NULL, POL_ALLOW, "rules[partners]", POL_ANSWER_ALLOW, NULL, POL_ROLE_NONE, 0},
    {"allow rule write", "partner", "dataset:partnerco/ds=write", NULL, NULL, NULL, POL_ALLOW, "rules[partners]", POL_ANSWER_ALLOW, NULL, POL_ROLE_NONE, 0},
    {"allow rule makes the repo visible", "partner", "dataset:partnerco/ds=delete", NULL, NULL, NULL, POL_DENY, "default-deny", FORBIDDEN, NULL, POL_ROLE_NONE, 0},
    {"allow rule type mismatch", "partner", "model:partnerco/m=read", NULL, NULL, NULL, POL_DENY, "default-deny", NOTFOUND, NULL, POL_ROLE_NONE, 0},
    {"allow rule names its subjects", "staff", "dataset:partnerco/ds=read", NULL, NULL, NULL, POL_DENY, "default-deny", NOTFOUND, NULL, POL_ROLE_NONE, 0},
    {"create with a foreign region", "ml", "model:acme/x=create", NULL, NULL, "us", POL_DENY, "orgs.acme.regions", FORBIDDEN, "acme", POL_ROLE_WRITE, 0},
    {"create with the org's region", "ml", "model:acme/x=create", NULL, NULL, "eu", POL_ALLOW, "orgs.acme.members[1]", POL_ANSWER_ALLOW, "acme", POL_ROLE_WRITE, 0},
    {"second target decides", "admin-mfa", "model:acme/a=read model:us-org/b=create", NULL, NULL, NULL, POL_DENY, "orgs.us-org.regions", FORBIDDEN, "us-org", POL_ROLE_ADMIN, 1},
    {"first target decides the allow", "admin-mfa", "model:acme/a=read model:acme/b=create", NULL, NULL, NULL, POL_ALLOW, "orgs.acme.members[0]", POL_ANSWER_ALLOW, "acme", POL_ROLE_ADMIN, 0},
    {"deny rule on a namespace-wide pattern", "staff", "model:beta/m=delete", NULL, NULL, NULL, POL_DENY, "rules[no-beta-deletes]", FORBIDDEN, "beta", POL_ROLE_ADMIN, 0},
    {"deny rule covers the namespace target", "staff", "ns:beta=delete", NULL, NULL, NULL, POL_DENY, "rules[no-beta-deletes]", FORBIDDEN, "beta", POL_ROLE_ADMIN, 0},
    {"deny rule does not cover other actions", "staff", "ns:beta=admin", NULL, NULL, NULL, POL_ALLOW, "orgs.beta.members[0]", POL_ANSWER_ALLOW, "beta", POL_ROLE_ADMIN, 0},
    {"legacy id is nobody's", "admin-mfa", "model:gpt2=read", NULL, NULL, NULL, POL_DENY, "default-deny", NOTFOUND, NULL, POL_ROLE_NONE, 0},
    {"personal read", "zoe", "model:zoe/m=read", NULL, NULL, NULL, POL_ALLOW, "personal_namespaces", POL_ANSWER_ALLOW, NULL, POL_ROLE_READ, 0},
    {"personal write off", "zoe", "model:zoe/m=write", NULL, NULL, NULL, POL_DENY, "personal_namespaces", FORBIDDEN, NULL, POL_ROLE_NONE, 0},
    {"auditor is a member, so 403", "auditor", "model:acme/bert=read", NULL, NULL, NULL, POL_DENY, "orgs.acme.members[3]", FORBIDDEN, "acme", POL_ROLE_AUDITOR, 0},
    {"external read", "staff", "model:google/gemma=read", NULL, "10.0.0.1", NULL, POL_ALLOW, "external", POL_ANSWER_ALLOW, NULL, POL_ROLE_READ, 0},
};
/* clang-format on */

static void fill_request(const eval_case_t *c, pol_request_t *r, char *storage)
{
    int unknown = strcmp(c->targets, "?") == 0;
    targets(r, unknown ? "" : c->targets, storage);
    r->unknown = unknown;
    if (c->headline)
        r->action = action_of(c->headline);
    r->region = c->region;
}

static void table(void **state)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const eval_case_t *c = &cases[i];
        pol_subject_t s = subject(c->who);
        pol_request_t r;
        char storage[512];
        fill_request(c, &r, storage);
        pol_ip_t ip;
        if (c->ip)
            assert_int_equal(pol_ip_parse(c->ip, &ip), 0);
        pol_decision_t d;
        pol_decide(policy, &s, &r, c->ip ? &ip : NULL, 0, &d);
        const char *rule = c->rule ? c->rule : d.rule;
        if (d.effect != c->effect || strcmp(d.rule, rule) != 0 || d.answer != c->answer ||
            (c->org && (!d.org || strcmp(d.org, c->org) != 0)) || (!c->org && d.org) ||
            d.role != c->role || d.target != c->target) {
            print_error("case \"%s\": got %s by %s, answer %s, org %s, role %s, target %d (%s)\n",
                        c->name, pol_effect_name(d.effect), d.rule, pol_answer_name(d.answer),
                        d.org ? d.org : "-", pol_role_name(d.role), d.target, d.reason);
            failures++;
        }
        if (!d.reason[0]) {
            print_error("case \"%s\": no reason\n", c->name);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* pol_decide for s on a request for spec (see targets()), from no known address. */
static pol_decision_t decide(const pol_subject_t *s, const char *spec)
{
    pol_request_t r;
    char storage[512];
    targets(&r, spec, storage);
    pol_decision_t d;
    pol_decide(policy, s, &r, NULL, 0, &d);
    return d;
}

static void decision_region(void **state)
{
    pol_subject_t s = subject("staff");
    pol_decision_t d = decide(&s, "model:acme/bert=read");
    assert_int_equal(d.effect, POL_ALLOW);
    assert_string_equal(d.region, "eu");
    d = decide(&s, "model:beta/m=read");
    assert_string_equal(d.region, "us"); /* beta has no regions: the default */
}

static void too_many_groups(void **state)
{
    static const char *groups[POL_MAX_SUBJECT_GROUPS + 1];
    for (size_t i = 0; i < POL_MAX_SUBJECT_GROUPS + 1; i++)
        groups[i] = "admins";
    pol_subject_t s = {.sub = "x", .groups = groups, .ngroups = POL_MAX_SUBJECT_GROUPS + 1};
    pol_decision_t d = decide(&s, "model:acme/bert=read");
    assert_int_equal(d.effect, POL_DENY);
    assert_string_equal(d.rule, "too-many-groups");
    s.ngroups = POL_MAX_SUBJECT_GROUPS; /* at the cap: evaluated */
    d = decide(&s, "model:acme/bert=read");
    assert_int_equal(d.effect, POL_ALLOW);
    assert_int_equal(pol_can_read(policy, &s, POL_REPO_MODEL, "acme", "bert", NULL, 0), 1);
}

/* An email the IdP did not verify makes the subject a member of nothing. */
static void unverified_email(void **state)
{
    pol_subject_t s = subject("auditor");
    pol_membership_t m[4];
    assert_int_equal(pol_subject_orgs(policy, &s, m, 4), 1);
    assert_string_equal(m[0].org, "acme");
    s.email_unverified = 1;
    assert_int_equal(pol_subject_orgs(policy, &s, m, 4), 0);
    pol_ip_t ip;
    assert_int_equal(pol_ip_parse("10.1.1.1", &ip), 0);
    pol_decision_t d;
    pol_decide_report(policy, &s, "acme", &ip, 0, &d);
    assert_int_equal(d.effect, POL_DENY);
    s.email_unverified = 0;
    pol_decide_report(policy, &s, "acme", &ip, 0, &d);
    assert_int_equal(d.effect, POL_ALLOW);
}

static void listing_filter(void **state)
{
    static const struct {
        const char *who;
        pol_repo_type_t type;
        const char *ns, *name;
        int readable;
    } rows[] = {
        {"staff", POL_REPO_MODEL, "acme", "bert", 1},
        {"staff", POL_REPO_DATASET, "ACME", "ds", 1},
        {"contractor", POL_REPO_MODEL, "acme", "ft-1", 1},
        {"contractor", POL_REPO_MODEL, "acme", "bert", 0},
        {"contractor", POL_REPO_DATASET, "acme", "ft-1", 0},
        {"auditor", POL_REPO_MODEL, "acme", "bert", 0},
        {"anonymous", POL_REPO_MODEL, "google", "bert", 0},
        {"zoe", POL_REPO_MODEL, "google", "bert", 1},
        {"zoe", POL_REPO_MODEL, "zoe", "m", 1},
        {"zoe", POL_REPO_MODEL, "other", "m", 0},
        {"partner", POL_REPO_DATASET, "partnerco", "ds", 1},
        {"staff", POL_REPO_NONE, "acme", NULL, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        pol_subject_t s = subject(rows[i].who);
        int got = pol_can_read(policy, &s, rows[i].type, rows[i].ns, rows[i].name, NULL, 0);
        if (got != rows[i].readable) {
            print_error("row %zu: %s reading %s/%s: got %d\n", i, rows[i].who, rows[i].ns,
                        rows[i].name ? rows[i].name : "", got);
            fail();
        }
    }
}

static void memberships(void **state)
{
    pol_membership_t m[4];
    pol_subject_t s = subject("staff");
    assert_int_equal(pol_subject_orgs(policy, &s, m, 4), 2);
    assert_string_equal(m[0].org, "acme");
    assert_int_equal(m[0].role, POL_ROLE_READ);
    assert_string_equal(m[1].org, "beta");
    assert_int_equal(m[1].role, POL_ROLE_ADMIN);
    assert_int_equal(pol_subject_orgs(policy, &s, m, 1), 2); /* count beyond max */
    s = subject("admin");
    assert_int_equal(pol_subject_orgs(policy, &s, m, 4), 2);
    assert_string_equal(m[1].org, "us-org");
    s = subject("contractor");
    assert_int_equal(pol_subject_orgs(policy, &s, m, 4), 1);
    assert_int_equal(m[0].role, POL_ROLE_READ);
    assert_false(m[0].auditor);
    s = subject("auditor");
    assert_int_equal(pol_subject_orgs(policy, &s, m, 4), 1);
    assert_int_equal(m[0].role, POL_ROLE_AUDITOR);
    assert_true(m[0].auditor);
    s = subject("zoe");
    assert_int_equal(pol_subject_orgs(policy, &s, m, 4), 0);
    s = subject("anonymous");
    assert_int_equal(pol_subject_orgs(policy, &s, m, 4), 0);
}

/* Who may export which report: an org's auditors that org, the policy's auditors every org,
 * nobody else (org admins included); each org's require.auditor applies to both kinds; no org
 * named means the subject's one audited org, or every org for the policy's auditors. */
static void report_exports(void **state)
{
    static const struct {
        const char *name, *who, *org, *ip;
        pol_effect_t effect;
        pol_answer_t answer;
        const char *rule, *org_out; /* org_out "-": NULL */
    } rows[] = {
        {"org auditor, own org", "auditor", "acme", "10.2.3.4", POL_ALLOW, POL_ANSWER_ALLOW,
         "orgs.acme.members[3]", "acme"},
        {"org auditor, org in any case", "auditor", "ACME", "10.2.3.4", POL_ALLOW,
         POL_ANSWER_ALLOW, "orgs.acme.members[3]", "acme"},
        {"org auditor outside require.auditor networks", "auditor", "acme", "192.0.2.1", POL_DENY,
         POL_ANSWER_FORBIDDEN, "orgs.acme.require.auditor", "acme"},
        {"org auditor, unknown address", "auditor", "acme", NULL, POL_DENY, POL_ANSWER_FORBIDDEN,
         "orgs.acme.require.auditor", "acme"},
        {"org auditor, another org", "auditor", "beta", "10.2.3.4", POL_DENY,
         POL_ANSWER_NOT_FOUND, "default-deny", "beta"},
        {"org auditor, no org: defaults to it", "auditor", NULL, "10.2.3.4", POL_ALLOW,
         POL_ANSWER_ALLOW, "orgs.acme.members[3]", "acme"},
        {"org auditor, no org, condition unmet", "auditor", NULL, "192.0.2.1", POL_DENY,
         POL_ANSWER_FORBIDDEN, "orgs.acme.require.auditor", "acme"},
        {"member, not auditor", "staff", "acme", "10.2.3.4", POL_DENY, POL_ANSWER_FORBIDDEN,
         "orgs.acme.members[2]", "acme"},
        {"org admin is no auditor", "staff", "beta", "10.2.3.4", POL_DENY, POL_ANSWER_FORBIDDEN,
         "orgs.beta.members[0]", "beta"},
        {"admin of several orgs, no org", "admin", NULL, "10.2.3.4", POL_DENY,
         POL_ANSWER_NOT_FOUND, "default-deny", "-"},
        {"auditor of two orgs, no org", "multi-auditor", NULL, "10.2.3.4", POL_DENY,
         POL_ANSWER_FORBIDDEN, "default-deny", "-"},
        {"auditor of two orgs, one named", "multi-auditor", "beta", NULL, POL_ALLOW,
         POL_ANSWER_ALLOW, "orgs.beta.members[1]", "beta"},
        {"auditor of two orgs, the other", "multi-auditor", "us-org", NULL, POL_ALLOW,
         POL_ANSWER_ALLOW, "orgs.us-org.members[1]", "us-org"},
        {"auditor of two orgs, a third", "multi-auditor", "acme", "10.2.3.4", POL_DENY,
         POL_ANSWER_NOT_FOUND, "default-deny", "acme"},
        {"policy auditor, every org", "corp-auditor", NULL, "10.2.3.4", POL_ALLOW,
         POL_ANSWER_ALLOW, "auditors[0]", "-"},
        {"policy auditor, every org, acme's condition unmet", "corp-auditor", NULL, "192.0.2.1",
         POL_DENY, POL_ANSWER_FORBIDDEN, "orgs.acme.require.auditor", "acme"},
        {"policy auditor, one org", "corp-auditor", "acme", "10.2.3.4", POL_ALLOW,
         POL_ANSWER_ALLOW, "auditors[0]", "acme"},
        {"policy auditor, org without conditions", "corp-auditor", "beta", "192.0.2.1", POL_ALLOW,
         POL_ANSWER_ALLOW, "auditors[0]", "beta"},
        {"policy auditor and member of acme", "staff-corp-auditor", "acme", "10.2.3.4",
         POL_ALLOW, POL_ANSWER_ALLOW, "auditors[0]", "acme"},
        {"policy auditor, unknown org", "corp-auditor", "nowhere", "10.2.3.4", POL_DENY,
         POL_ANSWER_NOT_FOUND, "default-deny", "-"},
        {"policy auditor by email, any case", "chief", NULL, "10.2.3.4", POL_ALLOW,
         POL_ANSWER_ALLOW, "auditors[1]", "-"},
        {"policy auditor's email unverified", "chief-unverified", NULL, "10.2.3.4", POL_DENY,
         POL_ANSWER_NOT_FOUND, "default-deny", "-"},
        {"nobody in particular", "zoe", NULL, "10.2.3.4", POL_DENY, POL_ANSWER_NOT_FOUND,
         "default-deny", "-"},
        {"anonymous", "anonymous", "acme", "10.2.3.4", POL_DENY, POL_ANSWER_NOT_FOUND,
         "anonymous", "-"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        pol_subject_t s = subject(rows[i].who);
        pol_ip_t ip;
        if (rows[i].ip)
            assert_int_equal(pol_ip_parse(rows[i].ip, &ip), 0);
        pol_decision_t d, e, x;
        pol_decide_report(policy, &s, rows[i].org, rows[i].ip ? &ip : NULL, 0, &d);
        /* the same through pol_decide and pol_explain (policy tests, `policy explain`) */
        pol_request_t r = {.report = 1, .report_org = rows[i].org};
        pol_decide(policy, &s, &r, rows[i].ip ? &ip : NULL, 0, &e);
        cmn_buf_t text;
        cmn_buf_init(&text, 1 << 20);
        assert_int_equal(pol_explain(policy, &s, &r, rows[i].ip ? &ip : NULL, 0, &x, &text), 0);
        const char *org_out = strcmp(rows[i].org_out, "-") == 0 ? NULL : rows[i].org_out;
        int org_ok = org_out ? d.org && strcmp(d.org, org_out) == 0 : d.org == NULL;
        if (d.effect != rows[i].effect || d.answer != rows[i].answer ||
            strcmp(d.rule, rows[i].rule) != 0 || !org_ok || !d.reason[0] ||
            (d.effect == POL_ALLOW && d.role != POL_ROLE_AUDITOR)) {
            print_error("case \"%s\": got %s (%s) by %s, org %s: %s\n", rows[i].name,
                        pol_effect_name(d.effect), pol_answer_name(d.answer), d.rule,
                        d.org ? d.org : "-", d.reason);
            fail();
        }
        if (e.effect != d.effect || strcmp(e.rule, d.rule) != 0 || x.effect != d.effect ||
            strcmp(x.rule, d.rule) != 0 || strcmp(x.reason, d.reason) != 0 ||
            !strstr(text.data, d.rule)) {
            print_error("case \"%s\": pol_decide / pol_explain disagree with pol_decide_report:\n%s",
                        rows[i].name, text.data);
            fail();
        }
        cmn_buf_free(&text);
    }
}

/* pol_explain's trace of s making r from ip, which must read want. */
static void assert_explains(const pol_subject_t *s, const pol_request_t *r, const pol_ip_t *ip,
                            const char *want)
{
    cmn_buf_t text;
    cmn_buf_init(&text, 1 << 20);
    pol_decision_t d;
    assert_int_equal(pol_explain(policy, s, r, ip, 0, &d, &text), 0);
    assert_string_equal(text.data, want);
    cmn_buf_free(&text);
}

/* explain names each auditor entry and condition it considered. */
static void explain_report_trace(void **state)
{
    pol_subject_t s = subject("chief-unverified");
    pol_request_t r = {.report = 1};
    static const char want[] =
        "  auditors[0]: group corp-audit: not the subject\n"
        "  auditors[1]: email chief@corp.example: names the subject's email, which is "
        "unverified: grants nothing\n"
        "  no org named: evidence reports are for auditors: an org's (role auditor) or the "
        "policy's (auditors) → deny\n"
        "decision: deny (answer 404) by default-deny: evidence reports are for auditors: an "
        "org's (role auditor) or the policy's (auditors)\n";
    assert_explains(&s, &r, NULL, want);

    s = subject("corp-auditor");
    pol_ip_t ip;
    assert_int_equal(pol_ip_parse("10.9.9.9", &ip), 0);
    static const char want2[] =
        "  auditors[0]: group corp-audit: names the subject\n"
        "  auditors[1]: email chief@corp.example: not the subject\n"
        "  no org named: the report of every org, for one of the policy's auditors\n"
        "  orgs.acme.require.auditor: exports from 10.0.0.0/8: holds\n"
        "  → allow by auditors[0]\n"
        "decision: allow (export the report) by auditors[0]: one of the policy's auditors "
        "(auditors[0]) may export the reports of every org\n";
    assert_explains(&s, &r, &ip, want2);
}

/* explain decides with the same code: the decisions must be identical, and the trace names
 * the determining rule. */
static void explain_agrees_with_decide(void **state)
{
    static const char *const whos[] = {"admin",   "admin-mfa", "ml",  "staff",    "contractor",
                                       "partner", "auditor",   "zoe", "anonymous"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t w = 0; w < sizeof(whos) / sizeof(whos[0]); w++) {
            pol_subject_t s = subject(whos[w]);
            pol_request_t r;
            char storage[512];
            fill_request(&cases[i], &r, storage);
            pol_decision_t a, b;
            cmn_buf_t text;
            cmn_buf_init(&text, 1 << 20);
            pol_decide(policy, &s, &r, NULL, 0, &a);
            assert_int_equal(pol_explain(policy, &s, &r, NULL, 0, &b, &text), 0);
            if (a.effect != b.effect || a.answer != b.answer || strcmp(a.rule, b.rule) != 0 ||
                strcmp(a.reason, b.reason) != 0 || a.target != b.target || a.role != b.role) {
                print_error("case \"%s\" as %s: decide %s by %s, explain %s by %s\n", cases[i].name,
                            whos[w], pol_effect_name(a.effect), a.rule, pol_effect_name(b.effect),
                            b.rule);
                fail();
            }
            if (!strstr(text.data, b.rule) || !strstr(text.data, "decision: ")) {
                print_error("case \"%s\": trace lacks the rule:\n%s", cases[i].name, text.data);
                fail();
            }
            cmn_buf_free(&text);
        }
    }
}

static void explain_trace(void **state)
{
    pol_subject_t s = subject("contractor");
    pol_request_t r;
    char storage[128];
    targets(&r, "model:acme/bert=read", storage);
    static const char want[] =
        "  model acme/bert, action read\n"
        "    orgs.acme: org, repos live in eu\n"
        "    orgs.acme.members[0]: group admins, role admin: not the subject\n"
        "    orgs.acme.members[1]: group ml, role write: not the subject\n"
        "    orgs.acme.members[2]: group staff, role read: not the subject\n"
        "    orgs.acme.members[3]: email aud@acme.example, role auditor: not the subject\n"
        "    orgs.acme.resource_groups[0].members[0]: group contractors, role write: names the "
        "subject, but resource group \"ft\" does not hold this target\n"
        "    rules[no-beta-deletes]: does not apply to read\n"
        "    default-deny → deny: the subject holds no role on model acme/bert in org acme\n"
        "decision: deny (answer 404 RepoNotFound) by default-deny: the subject holds no role on "
        "model acme/bert in org acme\n";
    assert_explains(&s, &r, NULL, want);
}

static void decisions_allocate_nothing(void **state)
{
#if COUNTING
    pol_subject_t subjects[] = {subject("admin-mfa"), subject("staff"), subject("contractor"),
                                subject("partner"), subject("zoe")};
    pol_request_t reqs[sizeof(cases) / sizeof(cases[0])];
    static char storage[sizeof(cases) / sizeof(cases[0])][512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        fill_request(&cases[i], &reqs[i], storage[i]);
    pol_ip_t ip;
    assert_int_equal(pol_ip_parse("10.1.1.1", &ip), 0);
    pol_membership_t m[4];
    /* the counter sees allocations made inside the libraries */
    size_t probe = allocations;
    cmn_buf_t b;
    cmn_buf_init(&b, 64);
    assert_int_equal(cmn_buf_puts(&b, "x"), 0);
    cmn_buf_free(&b);
    assert_true(allocations > probe);
    size_t before = allocations;
    for (int round = 0; round < 100; round++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            for (size_t w = 0; w < sizeof(subjects) / sizeof(subjects[0]); w++) {
                pol_decision_t d;
                pol_decide(policy, &subjects[w], &reqs[i], round % 2 ? &ip : NULL, 0, &d);
                (void)pol_can_read(policy, &subjects[w], POL_REPO_MODEL, "acme", "ft-1", &ip, 0);
                (void)pol_subject_orgs(policy, &subjects[w], m, 4);
                pol_decide_report(policy, &subjects[w], "acme", &ip, 0, &d);
            }
        }
    }
    assert_int_equal(allocations - before, 0);
#else
    skip();
#endif
}

static void names(void **state)
{
    assert_string_equal(pol_action_name(POL_ACTION_CREATE), "create");
    assert_string_equal(pol_action_name((pol_action_t)42), "?");
    assert_string_equal(pol_role_name(POL_ROLE_AUDITOR), "auditor");
    assert_string_equal(pol_repo_type_name(POL_REPO_BUCKET), "bucket");
    assert_string_equal(pol_effect_name(POL_ALLOW), "allow");
    assert_string_equal(pol_answer_name(POL_ANSWER_NOT_FOUND), "not_found");
    assert_string_equal(pol_answer_name((pol_answer_t)9), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(decision_region),
        cmocka_unit_test(too_many_groups),
        cmocka_unit_test(unverified_email),
        cmocka_unit_test(listing_filter),
        cmocka_unit_test(memberships),
        cmocka_unit_test(report_exports),
        cmocka_unit_test(explain_report_trace),
        cmocka_unit_test(explain_agrees_with_decide),
        cmocka_unit_test(explain_trace),
        cmocka_unit_test(decisions_allocate_nothing),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
