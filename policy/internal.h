/* The compiled form of a policy, types only: the parser (policy/parse*.c) builds it, eval.c only
 * reads it, as do suite.c and diff*.c. Not a public header: the gateway sees policy.h only. */
#ifndef HUBGATE_POLICY_INTERNAL_H
#define HUBGATE_POLICY_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/arena.h"
#include "policy/policy.h"
#include "common/sha256.h"

#define POL_TYPE_ALL 0x3eu /* bits 1..5: model, dataset, space, kernel, bucket */

/* An action bit: 1 << pol_action_t; ACT_UNKNOWN stands for unknown routes in rules. */
#define ACT_BIT(a)  (1u << (unsigned)(a))
#define ACT_UNKNOWN (1u << 7)

/* `require` keys: three roles (gating every action that needs at least that role), two actions
 * (gating that action only) and the auditor role (gating report exports). */
typedef enum {
    REQ_READ = 0,
    REQ_WRITE,
    REQ_CREATE,
    REQ_DELETE,
    REQ_ADMIN,
    REQ_AUDITOR,
    REQ_COUNT
} req_key_t;

/* A repo pattern "type/namespace/name", split once at compile time; namespace and name are
 * lowercase globs with '*' (any run, empty included) and '?' (one character). */
typedef struct {
    uint8_t types;    /* bits 1 << pol_repo_type_t */
    const char *ns;   /* lowercase */
    const char *name; /* lowercase */
    const char *text; /* as written */
} pattern_t;

/* Conditions: all that are set must hold. */
typedef struct {
    unsigned mfa : 1;
    pol_cidr_t *nets; /* any of them */
    size_t nnets;
    const char *nets_text; /* "10.0.0.0/8, 192.168.0.0/16" for reasons */
} cond_t;

typedef enum { WHO_GROUP = 1, WHO_EMAIL = 2 } who_kind_t;

/* A membership entry of an org or of one of its resource groups, or an entry of the policy's
 * top-level `auditors` (role auditor, rgroup -1, path "auditors[0]"). */
typedef struct {
    who_kind_t kind;
    const char *value; /* group as written; email lowercase */
    uint64_t hash;     /* key_hash(kind, value) */
    pol_role_t role;
    int rgroup;       /* -1: the org's `members`; else index into org->rgroups */
    const char *path; /* "orgs.acme.members[1]" */
} member_t;

typedef struct {
    const char *name;
    pattern_t *repos;
    size_t nrepos;
    const char *path; /* "orgs.acme.resource_groups[0]" */
} rgroup_t;

/* Which of an org's repos live in which of its regions: the first entry whose patterns match
 * a repo names its region; a repo no entry matches lives in the org's first region. */
typedef struct {
    pattern_t *repos;
    size_t nrepos;
    const char *region;
} repo_region_t;

typedef struct {
    const char *name;  /* as written */
    const char *lname; /* lowercase: the lookup key */
    const char *path;  /* "orgs.acme" */
    const char **regions;
    size_t nregions;
    const char *regions_path; /* "orgs.acme.regions" */
    repo_region_t *repo_regions;
    size_t nrepo_regions;
    member_t *members;        /* org members first, then each resource group's */
    size_t nmembers, norg_members;
    uint32_t *mtable; /* open addressing over members by hash: index + 1, 0 = empty */
    size_t mtable_mask;
    rgroup_t *rgroups;
    size_t nrgroups;
    cond_t require[REQ_COUNT];
    const char *require_path[REQ_COUNT]; /* NULL: no such key */
} org_t;

typedef struct {
    who_kind_t kind;
    const char *value;
    uint64_t hash;
} who_t;

typedef struct {
    const char *id;
    const char *path; /* "rules[no-deletes-from-outside]" */
    int deny;
    unsigned actions; /* ACT_BIT(...) | ACT_UNKNOWN */
    pattern_t *repos;
    size_t nrepos;
    who_t *subjects; /* NULL: every authenticated subject */
    size_t nsubjects;
    int has_unless;
    cond_t unless;
} rule_t;

typedef struct {
    const char *name;
    int line, col; /* of the test object */
    pol_subject_t subject;
    const char *method, *target;
    const char *body; /* NULL: none */
    size_t body_len;
    const char *content_type;
    int has_ip;
    pol_ip_t ip;
    const char *ip_text;
    const char *region;
    pol_effect_t expect;
    const char *expect_rule;    /* NULL: not checked */
    pol_answer_t expect_answer; /* POL_ANSWER_ALLOW: not checked (unless expect is allow) */
    int has_expect_answer;
} ptest_t;

struct pol_policy {
    atomic_int refs;
    cmn_arena_t arena;
    char sha256[CMN_SHA256_HEX];
    const char *name;
    const char *default_region;

    org_t *orgs;
    size_t norgs;
    uint32_t *otable; /* open addressing over orgs by lowercase name: index + 1 */
    size_t otable_mask;

    int external_read;
    const char **external; /* lowercase */
    size_t nexternal;
    uint32_t *etable;
    size_t etable_mask;

    int personal_read, personal_write;

    member_t *auditors; /* the policy's auditors: every org's reports */
    size_t nauditors;

    rule_t *rules;
    size_t nrules;
    size_t ndeny; /* deny rules come first in rules[] */

    ptest_t *tests;
    size_t ntests;

    /* every distinct network named (require, unless), for diff's contexts */
    pol_cidr_t *nets;
    const char **nets_text;
    size_t nnets;
};

/* Subject prepared once per decision: hashes of its groups and email in a small hash set. */
typedef struct {
    uint64_t hash;
    uint32_t index; /* into s->groups; UINT32_MAX for the email */
} who_hash_t;

#define PREP_SLOTS 1024 /* a power of two, at least twice POL_MAX_SUBJECT_GROUPS + 1 */

typedef struct {
    const pol_subject_t *s;
    who_hash_t keys[POL_MAX_SUBJECT_GROUPS + 1];
    size_t nkeys;
    uint16_t slots[PREP_SLOTS]; /* open addressing over keys by hash: index + 1, 0 = empty */
    const char *own_ns;         /* preferred_username, else sub; NULL when neither */
    int too_many;
} prepared_t;

/* An explanation being written (pol_explain); NULL when only deciding. */
typedef struct {
    cmn_buf_t *trace;
} trace_t;

#endif
