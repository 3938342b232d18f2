/* The policy engine (docs/policy.md; step 3 of docs/architecture.md): parse and validate an
 * admin-edited JSON policy into an immutable, reference-counted compiled policy, then decide
 * requests against it as a pure function of (policy, subject, request, client address, time).
 *
 * Decision order, per (repo, action) target of a request:
 *   1. explicit `deny` rules win (unless their `unless` conditions all hold);
 *   2. a read-scoped hubgate token caps every grant at read;
 *   3. grants: the highest role from org membership (`members`) or a resource group whose
 *      repos match; `allow` rules; `external` namespaces (read only); the caller's own
 *      namespace (`personal_namespaces`); otherwise deny;
 *   4. the org's `require` conditions (MFA, networks) for the action;
 *   5. data residency: data brought into an org (create, move, duplicate, LFS copy) must come
 *      from a region the destination org lists in `regions`.
 * A request is allowed only when every target is. Routes that name no repo and change nothing
 * (whoami, listings) are allowed to authenticated callers; the gateway filters listings with
 * pol_can_read. Unknown routes are denied unless an allow rule names the action "unknown".
 *
 * Namespaces, repo names and emails compare ASCII-case-insensitively (the Hub resolves repo
 * ids that way, so a case-sensitive deny rule would be a bypass); groups compare exactly.
 *
 * The file (docs/policy.md; every key below is checked, any other key is an error):
 *   version                 1
 *   orgs.NAME.regions       ["eu", ...]: where the org's repos live (first = its region);
 *                           absent: the default region
 *   orgs.NAME.members       [{"group"|"email": …, "role": read|write|admin|auditor}]
 *   orgs.NAME.resource_groups [{"name", "repos": ["models/NAME/ft-*", "models/NAME/x?"],
 *                           "members": [{"group"|"email", "role": read|write|admin}]}];
 *                           patterns stay inside the org's namespace
 *   orgs.NAME.require.KEY   {"mfa": true, "networks": ["10.0.0.0/8"]}: KEY read, write or
 *                           admin gates every action needing at least that role; create or
 *                           delete gates that action; auditor gates exports of the org's
 *                           reports (by its auditors and by the policy's `auditors` alike)
 *   auditors                [{"group"|"email": …}]: the policy's auditors, who may export the
 *                           reports of every org (and of what no org owns); they read nothing
 *                           in the hub by themselves
 *   external                {"read": bool, "namespaces": [...]}: namespaces outside the orgs
 *   personal_namespaces     {"read": bool, "write": bool}: the caller's own namespace
 *                           (write: every action there)
 *   rules                   [{"id", "effect": deny|allow, "actions": [read|write|create|
 *                           delete|admin|unknown], "repos": [patterns] (absent: everything,
 *                           namespaces included), "subjects": [{"group"|"email"}] (absent:
 *                           everyone), "unless": {"mfa", "networks"} (deny rules only: the
 *                           rule does not apply when all of these hold)}]
 *                           An "email" grants (members, allow rules) only when the subject's
 *                           email is verified; a deny rule names verified and unverified alike
 *   tests                   [{"name", "subject": {...as pol_subject_parse}, "request":
 *                           "METHOD /path" (a report export: "GET /-/reports/soc2?org=acme"),
 *                           "body": JSON or string, "content_type", "ip",
 *                           "region", "expect": allow|deny, "rule": expected determining rule,
 *                           "answer": not_found|forbidden}]
 * Patterns are "type/namespace/name" with type models|datasets|spaces|kernels|buckets|*, and
 * '*' / '?' wildcards in namespace and name ('*' also matches a legacy id's empty namespace).
 *
 * policy/ knows nothing of HTTP: the gateway converts its classified route into a
 * pol_request_t. Evaluation allocates nothing: decisions are written into caller storage and
 * every string a decision points at belongs to the policy (or is static). Thread-safe: a
 * compiled policy is never modified after pol_policy_parse returns. */
#ifndef HUBGATE_POLICY_POLICY_H
#define HUBGATE_POLICY_POLICY_H

#include <stddef.h>
#include <time.h>

#include "common/arena.h"
#include "common/buf.h"
#include "policy/cidr.h"
#include "policy/limits.h"

typedef enum {
    POL_REPO_NONE = 0, /* a target that is a namespace itself (org settings, jobs, collections) */
    POL_REPO_MODEL,
    POL_REPO_DATASET,
    POL_REPO_SPACE,
    POL_REPO_KERNEL,
    POL_REPO_BUCKET,
} pol_repo_type_t;

/* Ordered by privilege. Roles grant: read → read; write → read, write, create;
 * admin → everything. */
typedef enum {
    POL_ACTION_NONE = 0,
    POL_ACTION_READ,
    POL_ACTION_WRITE,
    POL_ACTION_CREATE,
    POL_ACTION_DELETE,
    POL_ACTION_ADMIN,
} pol_action_t;

/* Ordered: the highest role a subject holds wins. An auditor is a member of its org (denials
 * say 403, not 404) who may export the org's reports but reads nothing in the hub. */
typedef enum {
    POL_ROLE_NONE = 0,
    POL_ROLE_AUDITOR,
    POL_ROLE_READ,
    POL_ROLE_WRITE,
    POL_ROLE_ADMIN,
} pol_role_t;

typedef enum { POL_DENY = 0, POL_ALLOW = 1 } pol_effect_t;

/* How the gateway answers a denial. NOT_FOUND: the caller holds nothing on the repo, so its
 * existence is not leaked (404 RepoNotFound; 401 when anonymous). FORBIDDEN: the caller may
 * know the repo but a condition or an explicit rule refused (403 with the reason). */
typedef enum {
    POL_ANSWER_ALLOW = 0,
    POL_ANSWER_NOT_FOUND,
    POL_ANSWER_FORBIDDEN,
} pol_answer_t;

/* Who is asking. Every pointer is borrowed for the duration of the call. */
typedef struct {
    const char *iss;                /* issuer; informative only */
    const char *sub;                /* subject id; the personal namespace when no username */
    const char *email;              /* NULL when unknown */
    const char *preferred_username; /* the personal namespace; NULL: sub is */
    const char *const *groups;      /* ngroups group names from the IdP */
    size_t ngroups;
    unsigned mfa : 1;             /* a second factor was used (amr/acr) */
    unsigned read_only_token : 1; /* a read-scoped hubgate token: grants capped at read */
    unsigned anonymous : 1;       /* no credentials: everything is denied (answered 401) */
    unsigned email_unverified : 1; /* the IdP did not vouch for the email: it can bring a deny
                                      rule onto the subject, never a grant (membership, resource
                                      group, allow rule) */
} pol_subject_t;

/* One (repo, action) pair the request needs, or the namespace itself (type NONE, name NULL)
 * for routes that act on an org or user rather than on a repo. */
typedef struct {
    pol_repo_type_t type;
    const char *namespace; /* "" for a legacy one-segment repo id ("gpt2") */
    const char *name;      /* NULL for a namespace target */
    pol_action_t action;
    unsigned caller_namespace : 1; /* the body named no namespace: upstream would use its own
                                      account's, so the target is refused */
} pol_target_t;

typedef struct {
    pol_target_t targets[POL_MAX_TARGETS]; /* the first is the repo the route is about */
    size_t ntargets;                       /* 0: the route names no repo nor namespace */
    pol_action_t action;                   /* headline: the route's highest action */
    unsigned unknown : 1;                  /* the classifier did not recognise the route */
    const char *region; /* the region where the data a request creates or copies will live:
                           a create's "region"; NULL: the source repo's region for a move,
                           duplicate or LFS copy (served by the source region's upstream),
                           unchecked for a plain create (it lands in the org's region) */
    unsigned report : 1;    /* an evidence report export (GET /-/reports/soc2): decided as
                               pol_decide_report(report_org); targets and action unused */
    const char *report_org; /* the report's org= (NULL: none given) */
} pol_request_t;

typedef struct {
    pol_effect_t effect;
    pol_answer_t answer;
    const char *rule;            /* the determining rule: "rules[no-deletes-from-outside]",
                                    "orgs.acme.members[1]", "orgs.acme.require.write",
                                    "orgs.acme.regions", "external", "personal_namespaces",
                                    "authenticated", "anonymous", "unknown-route", "token-scope",
                                    "caller-namespace", "no-target", "too-many-groups",
                                    "default-deny". Static or owned by the policy; never NULL. */
    char reason[POL_REASON_MAX]; /* one human sentence, safe to send in X-Error-Message */
    const char *org;             /* the org of the determining target (as spelled in the policy);
                                    NULL when its namespace is no org */
    pol_role_t role;             /* the subject's role on the determining target */
    const char *region;          /* where the determining target's repo lives; NULL when unknown */
    int region_listed;           /* region is one its org's `regions` names (not the default) */
    int target;                  /* index of the determining target; -1 when none */
} pol_decision_t;

/* What the caller knows about its deployment. */
typedef struct {
    const char *const *regions; /* the config's region names; NULL: `regions` unchecked */
    size_t nregions;
    const char *default_region; /* where repos outside orgs (and orgs without `regions`) live;
                                   NULL when unknown (then residency is checked only between
                                   orgs that list regions) */
} pol_options_t;

typedef struct pol_policy pol_policy_t;

/* Parses and validates text[0..len) (the exact bytes of the file; `name` is how errors name
 * it) and compiles it. Returns a policy with one reference, or NULL with at least one line
 * "name:line:col: json.path: what was found (what was expected)" per problem appended to
 * `errors` (borrowed; nothing is skipped: unknown keys, roles, regions, bad globs, CIDRs,
 * duplicate keys, duplicate rule ids and test names are all errors). opts may be NULL.
 * Never blocks. */
pol_policy_t *pol_policy_parse(const char *text, size_t len, const char *name,
                               const pol_options_t *opts, cmn_buf_t *errors);

/* Reads `path` (at most POL_MAX_POLICY_BYTES) and parses it, naming it `path` in errors.
 * Same returns as pol_policy_parse; a read error is one line in `errors`. Blocks on I/O. */
pol_policy_t *pol_policy_load(const char *path, const pol_options_t *opts, cmn_buf_t *errors);

/* Takes one more reference (returns p). Thread-safe (atomic). */
pol_policy_t *pol_policy_ref(pol_policy_t *p);

/* Drops one reference; the last one frees the policy. Accepts NULL. Thread-safe. Decisions
 * still pointing into the policy must not be used after the caller's reference is dropped. */
void pol_policy_unref(pol_policy_t *p);

/* SHA-256 of the exact bytes parsed, 64 lowercase hex digits. Owned by the policy. */
const char *pol_policy_sha256(const pol_policy_t *p);

/* The name given to pol_policy_parse. Owned by the policy. */
const char *pol_policy_name(const pol_policy_t *p);

typedef struct {
    size_t orgs, members, resource_groups, rules, tests, external_namespaces, auditors;
} pol_stats_t;

void pol_policy_stats(const pol_policy_t *p, pol_stats_t *out);

/* Decides a request. ip is the client address (NULL when unknown: network conditions then
 * fail), now the decision time (no condition of format version 1 depends on it; it is part
 * of the input so that recorded decisions stay reproducible when one does). Always fills
 * *out; never fails, never allocates, never blocks. */
void pol_decide(const pol_policy_t *p, const pol_subject_t *s, const pol_request_t *r,
                const pol_ip_t *ip, time_t now, pol_decision_t *out);

/* 1 when s may read the repo (type, ns/name), else 0: the per-repo check for filtering
 * listing responses. Same rules as pol_decide for a single read target. */
int pol_can_read(const pol_policy_t *p, const pol_subject_t *s, pol_repo_type_t type,
                 const char *ns, const char *name, const pol_ip_t *ip, time_t now);

/* The region where target t's repo lives: the first of its org's `repo_regions` whose patterns
 * match it, else the org's first region, else the default region given at parse time (NULL
 * when none). Route the request to that region's upstream. */
const char *pol_repo_region(const pol_policy_t *p, const pol_target_t *t);

/* The regions where namespace ns's repos may live: its org's `regions`, else the default region
 * alone. Returns how many (0 when the namespace is no org that lists regions and no default
 * region was given); *out is the policy's. */
size_t pol_namespace_regions(const pol_policy_t *p, const char *ns, const char *const **out);

typedef struct {
    const char *org; /* owned by the policy */
    pol_role_t role; /* org-wide role; READ for a member of resource groups only */
    unsigned auditor : 1;
} pol_membership_t;

/* The orgs where s holds a membership entry (for whoami-v2's orgs/roleInOrg), in policy
 * order. Writes at most max entries; returns how many there are (may exceed max). */
size_t pol_subject_orgs(const pol_policy_t *p, const pol_subject_t *s, pol_membership_t *out,
                        size_t max);

/* Decides whether s may export the evidence reports of `org`. Only auditors may: a member of
 * the org with role auditor gets that org; an entry of the policy's top-level `auditors` gets
 * any org, and the report of every org at once; anyone else, org admins included, nothing (the
 * people whose actions a report is evidence of do not produce it). An email grants only when
 * verified. The org's `require.auditor` conditions apply to either kind of auditor, and a
 * report of every org must meet every org's.
 * org NULL: the subject's default scope — every org for the policy's auditors (out->org NULL),
 * else the one org whose auditor s is (out->org names it); an auditor of several orgs must
 * name one (FORBIDDEN). A denial is NOT_FOUND when s holds nothing in the org (or audits
 * nothing at all), FORBIDDEN when s is a member who is no auditor or a condition is unmet.
 * out->rule names the entry that decided ("orgs.acme.members[3]", "auditors[0]",
 * "orgs.acme.require.auditor", "default-deny", "anonymous", "too-many-groups"). Never fails,
 * never allocates, never blocks. */
void pol_decide_report(const pol_policy_t *p, const pol_subject_t *s, const char *org,
                       const pol_ip_t *ip, time_t now, pol_decision_t *out);

/* pol_decide, plus the chain of what was considered — each deny rule, membership entry,
 * resource group, allow rule, condition and residency check (for a report export: each
 * auditor entry and condition) — and why the determining one decided, appended to `trace` as lines of text. *out equals what pol_decide gives.
 * Returns 0, or CMN_ERR_TOOBIG / CMN_ERR_NOMEM from the buffer (the decision is still
 * filled). Allocates (the trace); for admins and tests, not the request path. */
int pol_explain(const pol_policy_t *p, const pol_subject_t *s, const pol_request_t *r,
                const pol_ip_t *ip, time_t now, pol_decision_t *out, cmn_buf_t *trace);

/* Parses a subject written as JSON — {"sub", "iss", "email", "preferred_username", "groups",
 * "mfa", "read_only_token", "anonymous", "email_verified" (default true)} — as in a policy's
 * tests and `policy explain
 * --subject`. Strings are copied into `arena`. Returns 0, or CMN_ERR_PARSE with one line
 * of explanation in err, or CMN_ERR_NOMEM. */
int pol_subject_parse(const char *json, size_t len, cmn_arena_t *arena, pol_subject_t *out,
                      char *err, size_t errlen);

/* Turns "METHOD TARGET" (with an optional body) into a request: the caller's route
 * classifier, so that policy/ stays free of gateway code. Fill *out (strings may live in
 * `arena`) and return 0, or return non-zero with a one-line reason in err. */
typedef int (*pol_route_fn)(void *ctx, const char *method, const char *target, const char *body,
                            size_t body_len, const char *content_type, cmn_arena_t *arena,
                            pol_request_t *out, char *err, size_t errlen);

typedef struct {
    size_t passed, failed;
} pol_test_result_t;

/* Runs the policy's embedded `tests` through `route`. For each failure appends one line
 * "name:line:col: tests[i] \"test name\": expected …, got … by RULE (reason)" to `report`
 * (with verbose, one "ok" line per passing test too). Returns 0 when every test passed, 1
 * when some failed, CMN_ERR_NOMEM. Allocates temporarily; not for the request path. */
int pol_policy_run_tests(const pol_policy_t *p, pol_route_fn route, void *ctx, int verbose,
                         cmn_buf_t *report, pol_test_result_t *result);

/* Who gains or loses which action on which repo pattern between two policies, over the
 * subjects and repos the two files name: each group and email named anywhere (one synthetic
 * subject per member entry), and any authenticated user; each org's repos of every type,
 * each resource-group and rule pattern, each external namespace and the caller's own
 * namespace; evaluated with and without MFA, from outside every named network and from
 * inside each; and, for each subject an auditor entry names, who gains or loses exporting the
 * reports of each org and of every org at once (JSON: "report_exports"). With json, writes one
 * JSON object; else human text. *changes (may be NULL)
 * receives the number of changed (subject, repo, actions) lines. Returns 0, CMN_ERR_NOMEM or
 * CMN_ERR_TOOBIG (output buffer). Allocates; not for the request path. */
int pol_diff(const pol_policy_t *old_policy, const pol_policy_t *new_policy, int json,
             cmn_buf_t *out, size_t *changes);

/* One membership entry: `who` may hold `role` in `org` (over the whole org, or over a resource
 * group's repos). Strings belong to the policy: the org, group and patterns as written, an
 * email lowercased (as it is matched). */
typedef struct {
    const char *org;
    const char *kind;  /* "group" | "email" */
    const char *value; /* the group or email */
    pol_role_t role;
    const char *resource_group; /* NULL: an org-wide `members` entry */
    const char *const *repos;   /* the resource group's patterns; valid during the call only */
    size_t nrepos;
    const char *path; /* "orgs.acme.members[1]", "orgs.acme.resource_groups[0].members[0]" */
} pol_grant_t;

/* Returns 0 to go on; anything else stops the walk and is returned by pol_policy_each_grant. */
typedef int (*pol_grant_fn)(void *ctx, const pol_grant_t *grant);

/* Calls fn for every membership entry of every org, in policy order (org members first, then
 * each resource group's). Returns 0, fn's first non-zero result, or CMN_ERR_NOMEM. Allocates
 * briefly (the pattern list); not for the request path. */
int pol_policy_each_grant(const pol_policy_t *p, pol_grant_fn fn, void *ctx);

/* Static names: "model", "write", "admin", "allow", "not_found"; "?" when out of range. */
const char *pol_repo_type_name(pol_repo_type_t t);
const char *pol_action_name(pol_action_t a);
const char *pol_role_name(pol_role_t r);
const char *pol_effect_name(pol_effect_t e);
const char *pol_answer_name(pol_answer_t a);

#endif
