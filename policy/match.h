/* Matching a subject and a repo against the compiled policy (policy/match.c): hashes, globs,
 * lookups of orgs and external namespaces, and the subject prepared once per decision. Not a
 * public header. */
#ifndef HUBGATE_POLICY_MATCH_H
#define HUBGATE_POLICY_MATCH_H

#include "policy/internal.h"

/* FNV-1a over lowercase ASCII (fold) or exact bytes. */
uint64_t pol_hash_str(const char *s, int fold);
uint64_t pol_key_hash(who_kind_t kind, const char *value);

/* 1 when a and b name the same group (exactly) or email (ignoring ASCII case). */
int pol_who_equal(who_kind_t kind, const char *a, const char *b);

/* Case-insensitive (ASCII) glob match of s against pat ('*', '?'). */
int pol_glob_match(const char *pat, const char *s);

/* 1 when pattern p matches repo (type, ns, name). */
int pol_pattern_match(const pattern_t *p, pol_repo_type_t type, const char *ns, const char *name);

/* The org named ns (case-insensitive), or NULL. */
const org_t *pol_find_org(const pol_policy_t *p, const char *ns);

/* 1 when ns (case-insensitive) is listed in `external`. */
int pol_is_external(const pol_policy_t *p, const char *ns);

/* The role an action needs (READ for read; WRITE for write, create; ADMIN for delete, admin). */
pol_role_t pol_action_role(pol_action_t a);

/* Prepares s into *ps (caller storage; no allocation): hashes of its groups and email. */
void pol_prepare(const pol_subject_t *s, prepared_t *ps);

/* 1 when the prepared subject is named by (kind, value, hash). denial: the naming would deny
 * (a deny rule's subjects), so an unverified email counts; otherwise it would grant, and only
 * a verified one does. */
int pol_prepared_has(const prepared_t *ps, who_kind_t kind, const char *value, uint64_t hash,
                     int denial);

#endif
