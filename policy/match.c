/* Lookups the compiled policy is built for: hashing, globs, the org and external-namespace
 * tables, and the prepared subject. Everything here runs on the request path: no allocation. */
#include "common/err.h"
#include "policy/match.h"

#include <string.h>

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

uint64_t pol_hash_str(const char *s, int fold_case)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        h ^= fold_case ? fold(*c) : *c;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t pol_key_hash(who_kind_t kind, const char *value)
{
    /* Emails compare case-insensitively, groups exactly; the kind keeps a group named like an
     * email apart from the email. */
    return pol_hash_str(value, kind == WHO_EMAIL) ^ ((uint64_t)kind * 0x9e3779b97f4a7c15ull);
}

int pol_glob_match(const char *pat, const char *s)
{
    /* Iterative matching with one backtrack point: linear in practice, never exponential. */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == '?' || (*pat && fold((unsigned char)*pat) == fold((unsigned char)*s))) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

int pol_pattern_match(const pattern_t *p, pol_repo_type_t type, const char *ns, const char *name)
{
    if (!(p->types & (1u << (unsigned)type)))
        return 0;
    return pol_glob_match(p->ns, ns ? ns : "") && pol_glob_match(p->name, name ? name : "");
}

static int eq_fold(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (fold((unsigned char)*a) != fold((unsigned char)*b))
            return 0;
    }
    return *a == *b;
}

int pol_who_equal(who_kind_t kind, const char *a, const char *b)
{
    return kind == WHO_EMAIL ? eq_fold(a, b) : strcmp(a, b) == 0;
}

const org_t *pol_find_org(const pol_policy_t *p, const char *ns)
{
    if (!ns || !p->otable)
        return NULL;
    uint64_t h = pol_hash_str(ns, 1);
    for (size_t i = (size_t)h & p->otable_mask;; i = (i + 1) & p->otable_mask) {
        uint32_t slot = p->otable[i];
        if (!slot)
            return NULL;
        const org_t *o = &p->orgs[slot - 1];
        if (eq_fold(o->lname, ns))
            return o;
    }
}

int pol_is_external(const pol_policy_t *p, const char *ns)
{
    if (!ns || !p->etable)
        return 0;
    uint64_t h = pol_hash_str(ns, 1);
    for (size_t i = (size_t)h & p->etable_mask;; i = (i + 1) & p->etable_mask) {
        uint32_t slot = p->etable[i];
        if (!slot)
            return 0;
        if (eq_fold(p->external[slot - 1], ns))
            return 1;
    }
}

pol_role_t pol_action_role(pol_action_t a)
{
    switch (a) {
    case POL_ACTION_READ:
        return POL_ROLE_READ;
    case POL_ACTION_WRITE:
    case POL_ACTION_CREATE:
        return POL_ROLE_WRITE;
    case POL_ACTION_DELETE:
    case POL_ACTION_ADMIN:
        return POL_ROLE_ADMIN;
    case POL_ACTION_NONE:
        break;
    }
    return POL_ROLE_READ;
}

static void prepared_add(prepared_t *ps, uint64_t hash, uint32_t index)
{
    size_t k = ps->nkeys++;
    ps->keys[k] = (who_hash_t){hash, index};
    size_t slot = (size_t)hash & (PREP_SLOTS - 1);
    while (ps->slots[slot])
        slot = (slot + 1) & (PREP_SLOTS - 1);
    ps->slots[slot] = (uint16_t)(k + 1);
}

void pol_prepare(const pol_subject_t *s, prepared_t *ps)
{
    ps->s = s;
    ps->nkeys = 0;
    ps->too_many = s->ngroups > POL_MAX_SUBJECT_GROUPS;
    ps->own_ns = s->preferred_username && *s->preferred_username ? s->preferred_username
                 : s->sub && *s->sub                             ? s->sub
                                                                 : NULL;
    memset(ps->slots, 0, sizeof(ps->slots));
    if (ps->too_many)
        return;
    for (size_t i = 0; i < s->ngroups; i++) {
        if (s->groups[i])
            prepared_add(ps, pol_key_hash(WHO_GROUP, s->groups[i]), (uint32_t)i);
    }
    if (s->email && *s->email)
        prepared_add(ps, pol_key_hash(WHO_EMAIL, s->email), UINT32_MAX);
}

int pol_prepared_has(const prepared_t *ps, who_kind_t kind, const char *value, uint64_t hash,
                     int denial)
{
    /* A hash match is confirmed on the string: a collision never grants anything. */
    for (size_t slot = (size_t)hash & (PREP_SLOTS - 1); ps->slots[slot];
         slot = (slot + 1) & (PREP_SLOTS - 1)) {
        const who_hash_t *k = &ps->keys[ps->slots[slot] - 1];
        if (k->hash != hash)
            continue;
        if (k->index == UINT32_MAX) {
            if (kind == WHO_EMAIL && (denial || !ps->s->email_unverified) &&
                eq_fold(ps->s->email, value))
                return 1;
        } else if (kind == WHO_GROUP && strcmp(ps->s->groups[k->index], value) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *const repo_type_names[] = {"none",  "model",  "dataset",
                                              "space", "kernel", "bucket"};
static const char *const action_names[] = {"none", "read", "write", "create", "delete", "admin"};
static const char *const role_names[] = {"none", "auditor", "read", "write", "admin"};

const char *pol_repo_type_name(pol_repo_type_t t)
{
    return (unsigned)t < sizeof(repo_type_names) / sizeof(*repo_type_names) ? repo_type_names[t]
                                                                            : "?";
}

const char *pol_action_name(pol_action_t a)
{
    return (unsigned)a < sizeof(action_names) / sizeof(*action_names) ? action_names[a] : "?";
}

const char *pol_role_name(pol_role_t r)
{
    return (unsigned)r < sizeof(role_names) / sizeof(*role_names) ? role_names[r] : "?";
}

const char *pol_effect_name(pol_effect_t e)
{
    return e == POL_ALLOW ? "allow" : e == POL_DENY ? "deny" : "?";
}

const char *pol_answer_name(pol_answer_t a)
{
    switch (a) {
    case POL_ANSWER_ALLOW:
        return "allow";
    case POL_ANSWER_NOT_FOUND:
        return "not_found";
    case POL_ANSWER_FORBIDDEN:
        return "forbidden";
    }
    return "?";
}
