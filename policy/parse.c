/* Parse, validate and compile a policy file (docs/policy.md).
 *
 * Validation never stops at the first problem and never skips one: every unknown key, role,
 * region, action, malformed pattern or network, duplicate key, duplicate member, rule id or
 * test name becomes one line "file:line:col: json.path: found … (expected …)" (common/jdiag.h),
 * and a policy with any error is refused whole. One section parser per top-level key reads its
 * part (policy/parse_*.c, sharing policy/parser.h); then the lookup tables are built. The
 * compiled policy lives in one arena; after pol_policy_parse returns nothing writes to it
 * again, so any number of threads may evaluate it. */
#include "policy/parse_auditors.h"
#include "policy/parse_namespaces.h"
#include "policy/parse_orgs.h"
#include "policy/parse_rules.h"
#include "policy/parse_tests.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (64 * 1024)

/* An open-addressing table for n entries (slot: index + 1, 0: empty), at most half full. */
static uint32_t *build_table(pol_parser_t *ps, size_t n, size_t *mask)
{
    size_t cap = 8;
    while (cap < n * 2)
        cap *= 2;
    *mask = cap - 1;
    return pol_parser_alloc(ps, cap * sizeof(uint32_t));
}

static void table_put(uint32_t *table, size_t mask, uint64_t hash, size_t index)
{
    size_t s = (size_t)hash & mask;
    while (table[s])
        s = (s + 1) & mask;
    table[s] = (uint32_t)index + 1;
}

/* The hash tables evaluation looks orgs, external namespaces and members up in. */
static void compile_tables(pol_parser_t *ps)
{
    pol_policy_t *p = ps->p;
    p->otable = build_table(ps, p->norgs, &p->otable_mask);
    for (size_t i = 0; p->otable && i < p->norgs; i++)
        table_put(p->otable, p->otable_mask, pol_hash_str(p->orgs[i].lname, 1), i);
    p->etable = build_table(ps, p->nexternal, &p->etable_mask);
    for (size_t i = 0; p->etable && i < p->nexternal; i++)
        table_put(p->etable, p->etable_mask, pol_hash_str(p->external[i], 1), i);
    for (size_t i = 0; i < p->norgs; i++) {
        org_t *o = &p->orgs[i];
        o->mtable = build_table(ps, o->nmembers, &o->mtable_mask);
        for (size_t k = 0; o->mtable && k < o->nmembers; k++)
            table_put(o->mtable, o->mtable_mask, o->members[k].hash, k);
    }
}

static void parse_root(pol_parser_t *ps, json_t *root)
{
    static const char *const keys[] = {"version", "orgs",     "external", "personal_namespaces",
                                       "rules",   "auditors", "tests",    NULL};
    cmn_jdiag_keys(&ps->diag, "", root, keys);
    json_t *v = json_object_get(root, "version");
    if (!v)
        ERR(ps, "", 0, "missing required key \"version\" (expected \"version\": 1)");
    else if (!json_is_integer(v))
        ERR(ps, "/version", 0, "found %s, expected 1 (the only policy format version)",
            cmn_jdiag_type(v));
    else if (json_integer_value(v) != 1)
        ERR(ps, "/version", 0,
            "found %" JSON_INTEGER_FORMAT ", expected 1 (the only policy format version)",
            json_integer_value(v));
    pol_parse_orgs(ps, root);
    pol_parse_namespaces(ps, root); /* after the orgs: an external namespace is none of them */
    pol_parse_auditors(ps, root);
    pol_parse_rules(ps, root);
    pol_parse_tests(ps, root);
}

pol_policy_t *pol_policy_parse(const char *text, size_t len, const char *name,
                               const pol_options_t *opts, cmn_buf_t *errors)
{
    pol_policy_t *p = calloc(1, sizeof(*p));
    if (!p) {
        cmn_buf_printf(errors, "%s: out of memory\n", name);
        return NULL;
    }
    atomic_init(&p->refs, 1);
    cmn_arena_init(&p->arena, ARENA_BLOCK, POL_MAX_ARENA_BYTES);
    pol_parser_t ps = {
        .diag = {.file = name, .pos = NULL, .out = errors, .errors = 0}, .p = p, .opts = opts};
    cmn_jsonpos_t *pos = NULL;
    json_t *root = NULL;
    cmn_sha256_hex(text, len, p->sha256);
    p->name = pol_parser_dup(&ps, name);
    if (opts && opts->default_region)
        p->default_region = pol_parser_dup(&ps, opts->default_region);
    if (len > POL_MAX_POLICY_BYTES) {
        cmn_buf_printf(errors, "%s: %zu bytes, larger than the %d MiB a policy may be\n", name, len,
                       POL_MAX_POLICY_BYTES >> 20);
        ps.diag.errors++;
        goto out;
    }
    root = cmn_jdiag_load(&ps.diag, text, len);
    if (!root)
        goto out;
    if (!json_is_object(root)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "found %s, expected the policy object {\"version\": 1, ...}",
                 cmn_jdiag_type(root));
        cmn_jdiag_syntax(&ps.diag, 1, 1, msg);
        goto out;
    }
    pos = cmn_jsonpos_build(text, len);
    ps.diag.pos = pos;
    parse_root(&ps, root);
    if (!ps.diag.errors && !ps.oom)
        compile_tables(&ps);
out:
    json_decref(root);
    cmn_jsonpos_free(pos);
    if (ps.oom && !ps.diag.errors) {
        cmn_buf_printf(errors, "%s: out of memory while compiling the policy\n", name);
        ps.diag.errors++;
    }
    if (ps.diag.errors) {
        cmn_arena_free(&p->arena);
        free(p);
        return NULL;
    }
    return p;
}

pol_policy_t *pol_policy_load(const char *path, const pol_options_t *opts, cmn_buf_t *errors)
{
    cmn_buf_t text;
    cmn_buf_init(&text, POL_MAX_POLICY_BYTES);
    pol_policy_t *p = NULL;
    if (cmn_jdiag_read(&text, path, "policy", errors) == 0)
        p = pol_policy_parse(text.data ? text.data : "", text.len, path, opts, errors);
    cmn_buf_free(&text);
    return p;
}
