/* What the policy parser's stages share: the parse context and the readers of the values the
 * grammar repeats (bounded strings, names, repo patterns, conditions, group/email entries,
 * regions). The driver (parse.c) runs one section parser per top-level key (parse_orgs.c,
 * parse_namespaces.c, parse_auditors.c, parse_rules.c, parse_tests.c); each reads its part of
 * the JSON into the policy's arena and records every problem it finds, never stopping at the
 * first. Not a public header: the gateway sees policy.h only.
 *
 * Every reader below records its problems in ps->diag and sets ps->oom when the arena is
 * exhausted; strings it returns live in the policy's arena unless said otherwise. */
#ifndef HUBGATE_POLICY_PARSER_H
#define HUBGATE_POLICY_PARSER_H

#include <jansson.h>

#include "common/jdiag.h"
#include "policy/internal.h"
#include "policy/match.h"

typedef struct {
    cmn_jdiag_t diag;
    pol_policy_t *p;           /* being built */
    const pol_options_t *opts; /* borrowed; may be NULL */
    int oom;
} pol_parser_t;

/* Records one problem about the value at JSON Pointer ptr (its key when key != 0). */
#define ERR(ps, ptr, key, ...) cmn_jdiag_error(&(ps)->diag, (ptr), (key), __VA_ARGS__)

/* n zeroed bytes (at least 1) of the policy's arena; NULL when out of memory. */
void *pol_parser_alloc(pol_parser_t *ps, size_t n);

/* s copied (lowercased: ASCII) into the arena; NULL when out of memory. */
char *pol_parser_dup(pol_parser_t *ps, const char *s);
char *pol_parser_dup_lower(pol_parser_t *ps, const char *s);

/* printf into the arena (truncated at 2 KiB); NULL when out of memory. */
char *pol_parser_printf(pol_parser_t *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The string member obj[key]: 1..max bytes, no control characters. Borrowed from obj; NULL
 * when absent (recorded when required) or invalid (recorded). */
const char *pol_parser_string(pol_parser_t *ps, const char *ptr, json_t *obj, const char *key,
                              int required, size_t max, const char *expected);

/* The array member obj[key] (borrowed), its JSON Pointer written into p (CMN_JDIAG_PTR_MAX
 * bytes). NULL when absent (recorded when required) or not an array (recorded); an empty array
 * is returned after recording "found an empty array, expected at least one <one>". */
json_t *pol_parser_array(pol_parser_t *ps, const char *ptr, json_t *obj, const char *key,
                         int required, const char *expected, const char *one, char *p);

/* 1 when s[0..n) is 1..max of A-Z a-z 0-9 _ . - and the characters of `extra`. */
int pol_parser_word_valid(const char *s, size_t n, size_t max, const char *extra);

/* 1 when s is a namespace or repo name as the Hub accepts it (its REPO_ID_REGEX). */
int pol_parser_name_valid(const char *s);

/* The array of repo patterns at obj[key] ("type/namespace/name"); with org_ns, each must stay
 * in that namespace. Sets *n to the valid ones; NULL and *n = 0 when absent or not an array. */
pattern_t *pol_parser_patterns(pol_parser_t *ps, const char *ptr, json_t *obj, const char *key,
                               int required, const char *org_ns, size_t *n);

/* A condition {"mfa": bool, "networks": [CIDR...]} at ptr into *c; every network is also
 * remembered in the policy's list of networks (diff's contexts). */
void pol_parser_cond(pol_parser_t *ps, const char *ptr, json_t *obj, cond_t *c);

/* An entry as read: a group or an email, and its role when the entry carries one. */
typedef struct {
    who_kind_t kind;
    const char *value; /* borrowed from the JSON */
    pol_role_t role;   /* POL_ROLE_NONE when not read */
} pol_who_entry_t;

/* An entry {"group": …} or {"email": …} at ptr; with_role, also "role" (read, write, admin,
 * and auditor unless in_rgroup). Returns 0 with *out set, or -1 after recording. */
int pol_parser_who(pol_parser_t *ps, const char *ptr, json_t *e, int with_role, int in_rgroup,
                   pol_who_entry_t *out);

/* How an entry's value is kept: a group as written, an email lowercased (arena). */
const char *pol_parser_who_value(pol_parser_t *ps, who_kind_t kind, const char *value);

/* 1 when region is one of the configuration's (or the options list none); otherwise records
 * an error at ptr and returns 0. */
int pol_parser_region(pol_parser_t *ps, const char *ptr, const char *region);

#endif
