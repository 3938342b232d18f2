/* The `rules` section: deny and allow rules over actions, repo patterns and subjects. Deny
 * rules are kept first, each kind in file order, because the first matching deny rule decides
 * (policy/eval.c). */
#include "policy/parse_rules.h"

#include <stdlib.h>
#include <string.h>

static const char *const action_words[] = {"read",  "write",   "create", "delete",
                                           "admin", "unknown", NULL};

/* The rule's id, unique among ids[0..index); NULL (recorded) when missing or invalid. */
static const char *parse_id(pol_parser_t *ps, const char *ptr, json_t *obj, size_t index,
                            const char **ids)
{
    char p[CMN_JDIAG_PTR_MAX];
    const char *id = pol_parser_string(ps, ptr, obj, "id", 1, POL_MAX_RULE_ID_BYTES,
                                       "a rule id like \"no-deletes-from-outside\"");
    if (!id)
        return NULL;
    if (!pol_parser_word_valid(id, strlen(id), POL_MAX_RULE_ID_BYTES, "")) {
        ERR(ps, cmn_jdiag_join(p, ptr, "id"), 0,
            "\"%s\" is not a rule id (expected 1-64 of A-Z a-z 0-9 _ . -)", id);
        return NULL;
    }
    for (size_t k = 0; k < index; k++) {
        if (ids[k] && strcmp(ids[k], id) == 0) {
            ERR(ps, cmn_jdiag_join(p, ptr, "id"), 0,
                "duplicate rule id \"%s\" (already rules[%zu])", id, k);
            return NULL;
        }
    }
    return id;
}

/* "deny" or "allow"; NULL (recorded) otherwise. */
static const char *parse_effect(pol_parser_t *ps, const char *ptr, json_t *obj)
{
    static const char *const eff[] = {"deny", "allow", NULL};
    char p[CMN_JDIAG_PTR_MAX], hint[64];
    const char *effect = pol_parser_string(ps, ptr, obj, "effect", 1, 16, "\"deny\" or \"allow\"");
    if (!effect || strcmp(effect, "deny") == 0 || strcmp(effect, "allow") == 0)
        return effect;
    cmn_jdiag_hint(effect, eff, hint, sizeof(hint));
    ERR(ps, cmn_jdiag_join(p, ptr, "effect"), 0, "unknown effect \"%s\" (expected deny, allow%s)",
        effect, hint);
    return effect;
}

static unsigned parse_actions(pol_parser_t *ps, const char *ptr, json_t *obj)
{
    char p[CMN_JDIAG_PTR_MAX], q[CMN_JDIAG_PTR_MAX];
    unsigned actions = 0;
    json_t *acts =
        pol_parser_array(ps, ptr, obj, "actions", 1,
                         "an array of read, write, create, delete, admin, unknown", "action", p);
    if (!acts)
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(acts, i, v)
    {
        cmn_jdiag_join_index(q, p, i);
        const char *s = json_string_value(v);
        unsigned bit = 0;
        for (size_t k = 0; s && action_words[k]; k++) {
            if (strcmp(s, action_words[k]) == 0)
                bit = k == 5 ? ACT_UNKNOWN : ACT_BIT(k + 1);
        }
        if (!bit) {
            char hint[64] = "";
            if (s)
                cmn_jdiag_hint(s, action_words, hint, sizeof(hint));
            ERR(ps, q, 0,
                "unknown action %s%s%s (expected read, write, create, delete, admin, "
                "unknown%s)",
                s ? "\"" : "", s ? s : cmn_jdiag_type(v), s ? "\"" : "", hint);
            continue;
        }
        if (actions & bit) {
            ERR(ps, q, 0, "duplicate action \"%s\" (each action once)", s);
            continue;
        }
        actions |= bit;
    }
    return actions;
}

static void parse_subjects(pol_parser_t *ps, const char *ptr, json_t *obj, rule_t *r)
{
    char p[CMN_JDIAG_PTR_MAX], q[CMN_JDIAG_PTR_MAX];
    json_t *subs = pol_parser_array(ps, ptr, obj, "subjects", 0,
                                    "an array of {\"group\": …} or {\"email\": …} entries",
                                    "subject (or no \"subjects\": everyone)", p);
    if (!subs)
        return;
    size_t n = json_array_size(subs);
    r->subjects = pol_parser_alloc(ps, (n ? n : 1) * sizeof(who_t));
    size_t i;
    json_t *v;
    json_array_foreach(subs, i, v)
    {
        pol_who_entry_t w;
        if (!r->subjects || pol_parser_who(ps, cmn_jdiag_join_index(q, p, i), v, 0, 0, &w) != 0)
            continue;
        r->subjects[r->nsubjects++] = (who_t){w.kind, pol_parser_who_value(ps, w.kind, w.value),
                                              pol_key_hash(w.kind, w.value)};
    }
}

static void parse_unless(pol_parser_t *ps, const char *ptr, json_t *obj, const char *effect,
                         rule_t *r)
{
    char p[CMN_JDIAG_PTR_MAX];
    json_t *unless = json_object_get(obj, "unless");
    if (!unless)
        return;
    cmn_jdiag_join(p, ptr, "unless");
    if (!r->deny && effect) {
        ERR(ps, p, 1,
            "\"unless\" applies to deny rules only (expected no \"unless\" in an allow "
            "rule; the org's \"require\" sets conditions on grants)");
    } else if (!json_is_object(unless)) {
        ERR(ps, p, 0, "found %s, expected a condition like {\"networks\": [\"10.0.0.0/8\"]}",
            cmn_jdiag_type(unless));
    } else {
        r->has_unless = 1;
        pol_parser_cond(ps, p, unless, &r->unless);
    }
}

/* rules[index] into *r; its id (when valid) into ids[index] for the duplicate check. */
static void parse_rule(pol_parser_t *ps, size_t index, json_t *obj, rule_t *r, const char **ids)
{
    static const char *const keys[] = {"id",       "effect", "actions", "repos",
                                       "subjects", "unless", NULL};
    char ptr[CMN_JDIAG_PTR_MAX];
    cmn_jdiag_join_index(ptr, "/rules", index);
    if (!json_is_object(obj)) {
        ERR(ps, ptr, 0, "found %s, expected a rule object with id, effect, actions, repos",
            cmn_jdiag_type(obj));
        return;
    }
    cmn_jdiag_keys(&ps->diag, ptr, obj, keys);
    ids[index] = parse_id(ps, ptr, obj, index, ids);
    r->id = ids[index] ? pol_parser_dup(ps, ids[index]) : "";
    r->path = pol_parser_printf(ps, "rules[%s]", r->id ? r->id : "");
    const char *effect = parse_effect(ps, ptr, obj);
    r->deny = effect && strcmp(effect, "deny") == 0;
    r->actions = parse_actions(ps, ptr, obj);
    if (json_object_get(obj, "repos")) {
        r->repos = pol_parser_patterns(ps, ptr, obj, "repos", 0, NULL, &r->nrepos);
    } else {
        /* no "repos": every repo, and every namespace */
        r->repos = pol_parser_alloc(ps, sizeof(pattern_t));
        if (r->repos) {
            r->repos[0] = (pattern_t){POL_TYPE_ALL, "*", "*", "*/*/*"};
            r->nrepos = 1;
        }
    }
    parse_subjects(ps, ptr, obj, r);
    parse_unless(ps, ptr, obj, effect, r);
}

void pol_parse_rules(pol_parser_t *ps, json_t *root)
{
    json_t *rules =
        cmn_jdiag_get(&ps->diag, "", root, "rules", JSON_ARRAY, 0, "an array of rule objects");
    if (!rules)
        return;
    size_t n = json_array_size(rules);
    pol_policy_t *p = ps->p;
    rule_t *tmp = calloc(n ? n : 1, sizeof(rule_t));
    const char **ids = calloc(n ? n : 1, sizeof(char *));
    p->rules = pol_parser_alloc(ps, (n ? n : 1) * sizeof(rule_t));
    if (!tmp || !ids || !p->rules) {
        ps->oom = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        parse_rule(ps, i, json_array_get(rules, i), &tmp[i], ids);
    /* deny rules first, each kind in file order: the first matching deny rule decides */
    for (int pass = 1; pass >= 0; pass--) {
        for (size_t i = 0; i < n; i++) {
            if (tmp[i].deny == pass)
                p->rules[p->nrules++] = tmp[i];
        }
        if (pass == 1)
            p->ndeny = p->nrules;
    }
out:
    free(tmp);
    free(ids);
}
