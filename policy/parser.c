/* The readers the policy's section parsers share (policy/parser.h). */
#include "policy/parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void *pol_parser_alloc(pol_parser_t *ps, size_t n)
{
    void *m = cmn_arena_alloc(&ps->p->arena, n ? n : 1);
    if (!m)
        ps->oom = 1;
    else
        memset(m, 0, n ? n : 1);
    return m;
}

char *pol_parser_dup(pol_parser_t *ps, const char *s)
{
    char *c = cmn_arena_strndup(&ps->p->arena, s, strlen(s));
    if (!c)
        ps->oom = 1;
    return c;
}

char *pol_parser_dup_lower(pol_parser_t *ps, const char *s)
{
    char *c = pol_parser_dup(ps, s);
    for (char *q = c; q && *q; q++) {
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q + 32);
    }
    return c;
}

char *pol_parser_printf(pol_parser_t *ps, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return pol_parser_dup(ps, buf);
}

const char *pol_parser_string(pol_parser_t *ps, const char *ptr, json_t *obj, const char *key,
                              int required, size_t max, const char *expected)
{
    char p[CMN_JDIAG_PTR_MAX];
    json_t *v = cmn_jdiag_get(&ps->diag, ptr, obj, key, JSON_STRING, required, expected);
    if (!v)
        return NULL;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > max) {
        ERR(ps, cmn_jdiag_join(p, ptr, key), 0, "found %s string, expected %s (1 to %zu bytes)",
            n ? "a too long" : "an empty", expected, max);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            ERR(ps, cmn_jdiag_join(p, ptr, key), 0, "found a control character, expected %s",
                expected);
            return NULL;
        }
    }
    return s;
}

json_t *pol_parser_array(pol_parser_t *ps, const char *ptr, json_t *obj, const char *key,
                         int required, const char *expected, const char *one, char *p)
{
    json_t *arr = cmn_jdiag_get(&ps->diag, ptr, obj, key, JSON_ARRAY, required, expected);
    cmn_jdiag_join(p, ptr, key);
    if (arr && json_array_size(arr) == 0)
        ERR(ps, p, 0, "found an empty array, expected at least one %s", one);
    return arr;
}

int pol_parser_word_valid(const char *s, size_t n, size_t max, const char *extra)
{
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || (c && strchr(extra, c))))
            return 0;
    }
    return 1;
}

int pol_parser_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (!pol_parser_word_valid(s, n, 96, "") || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' ||
        s[n - 1] == '-')
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] == '.' || s[i] == '-') && s[i - 1] == s[i])
            return 0;
    }
    return 1;
}

static int email_valid(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const char *c = s; *c; c++) {
        if (*c == ' ' || (unsigned char)*c < 0x21 || *c == 0x7f)
            return 0;
    }
    return 1;
}

static const char *const type_words[] = {"models",  "datasets", "spaces",
                                         "kernels", "buckets",  NULL};

/* Parses "type/namespace/name". On error returns a static explanation. */
static const char *pattern_parse(pol_parser_t *ps, const char *text, pattern_t *out)
{
    const char *a = strchr(text, '/');
    const char *b = a ? strchr(a + 1, '/') : NULL;
    if (!a || !b || strchr(b + 1, '/'))
        return "expected three parts type/namespace/name, e.g. \"models/acme/*\"";
    size_t tl = (size_t)(a - text);
    out->types = 0;
    if (tl == 1 && text[0] == '*') {
        out->types = POL_TYPE_ALL;
    } else {
        for (size_t i = 0; type_words[i]; i++) {
            if (strlen(type_words[i]) == tl && strncmp(text, type_words[i], tl) == 0)
                out->types = (uint8_t)(1u << (i + 1));
        }
        if (!out->types)
            return "the type must be models, datasets, spaces, kernels, buckets or *";
    }
    size_t nl = (size_t)(b - a - 1), ml = strlen(b + 1);
    if (!pol_parser_word_valid(a + 1, nl, 96, "*?"))
        return "the namespace must be 1-96 of A-Z a-z 0-9 _ . - with * and ? wildcards";
    if (!pol_parser_word_valid(b + 1, ml, 96, "*?"))
        return "the name must be 1-96 of A-Z a-z 0-9 _ . - with * and ? wildcards";
    char ns[128];
    snprintf(ns, sizeof(ns), "%.*s", (int)nl, a + 1);
    out->ns = pol_parser_dup_lower(ps, ns);
    out->name = pol_parser_dup_lower(ps, b + 1);
    out->text = pol_parser_dup(ps, text);
    return out->ns && out->name && out->text ? NULL : "out of memory";
}

pattern_t *pol_parser_patterns(pol_parser_t *ps, const char *ptr, json_t *obj, const char *key,
                               int required, const char *org_ns, size_t *n)
{
    char p[CMN_JDIAG_PTR_MAX], q[CMN_JDIAG_PTR_MAX];
    *n = 0;
    json_t *arr =
        pol_parser_array(ps, ptr, obj, key, required,
                         "an array of repo patterns \"type/namespace/name\"", "repo pattern", p);
    if (!arr || json_array_size(arr) == 0)
        return NULL;
    pattern_t *pats = pol_parser_alloc(ps, json_array_size(arr) * sizeof(*pats));
    if (!pats)
        return NULL;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        cmn_jdiag_join_index(q, p, i);
        if (!json_is_string(v)) {
            ERR(ps, q, 0, "found %s, expected a repo pattern string like \"models/acme/*\"",
                cmn_jdiag_type(v));
            continue;
        }
        const char *text = json_string_value(v);
        const char *why = pattern_parse(ps, text, &pats[*n]);
        if (why) {
            ERR(ps, q, 0, "bad repo pattern \"%s\": %s", text, why);
            continue;
        }
        if (org_ns && strcasecmp(pats[*n].ns, org_ns) != 0) {
            ERR(ps, q, 0,
                "bad repo pattern \"%s\": it may name repos of its own org only "
                "(expected namespace \"%s\")",
                text, org_ns);
            continue;
        }
        for (size_t k = 0; k < *n; k++) {
            if (strcmp(pats[k].text, text) == 0) {
                ERR(ps, q, 0, "duplicate repo pattern \"%s\" (already %s[%zu])", text, key, k);
                goto next;
            }
        }
        (*n)++;
    next:;
    }
    return pats;
}

static void remember_net(pol_parser_t *ps, const pol_cidr_t *c, const char *text)
{
    pol_policy_t *p = ps->p;
    for (size_t i = 0; i < p->nnets; i++)
        if (pol_cidr_equal(&p->nets[i], c))
            return;
    if ((p->nnets & (p->nnets - 1)) == 0) { /* grow at powers of two */
        size_t cap = p->nnets ? p->nnets * 2 : 4;
        pol_cidr_t *n = pol_parser_alloc(ps, cap * sizeof(*n));
        const char **t = pol_parser_alloc(ps, cap * sizeof(*t));
        if (!n || !t)
            return;
        if (p->nnets) {
            memcpy(n, p->nets, p->nnets * sizeof(*n));
            memcpy(t, p->nets_text, p->nnets * sizeof(*t));
        }
        p->nets = n;
        p->nets_text = t;
    }
    p->nets[p->nnets] = *c;
    p->nets_text[p->nnets++] = pol_parser_dup(ps, text);
}

void pol_parser_cond(pol_parser_t *ps, const char *ptr, json_t *obj, cond_t *c)
{
    static const char *const keys[] = {"mfa", "networks", NULL};
    char p[CMN_JDIAG_PTR_MAX], q[CMN_JDIAG_PTR_MAX];
    cmn_jdiag_keys(&ps->diag, ptr, obj, keys);
    c->mfa = (unsigned)cmn_jdiag_bool(&ps->diag, ptr, obj, "mfa", 0);
    json_t *nets = pol_parser_array(ps, ptr, obj, "networks", 0,
                                    "an array of networks like \"10.0.0.0/8\"", "network", p);
    if (!json_object_get(obj, "mfa") && !json_object_get(obj, "networks")) {
        ERR(ps, ptr, 0, "found an empty condition, expected \"mfa\" and/or \"networks\"");
        return;
    }
    if (!nets) {
        if (json_object_get(obj, "networks") == NULL && json_is_false(json_object_get(obj, "mfa")))
            ERR(ps, cmn_jdiag_join(p, ptr, "mfa"), 0,
                "found false with no networks: this condition requires nothing (expected "
                "\"mfa\": true or \"networks\")");
        return;
    }
    size_t n = json_array_size(nets);
    if (n == 0)
        return;
    c->nets = pol_parser_alloc(ps, n * sizeof(*c->nets));
    if (!c->nets)
        return;
    char text[4096] = "";
    size_t i;
    json_t *v;
    json_array_foreach(nets, i, v)
    {
        const char *s = json_string_value(v);
        cmn_jdiag_join_index(q, p, i);
        if (!s || pol_cidr_parse(s, &c->nets[c->nnets]) != 0) {
            if (s)
                ERR(ps, q, 0,
                    "\"%s\" is not a network (expected CIDR like \"10.0.0.0/8\" or "
                    "\"2001:db8::/32\" with zero host bits)",
                    s);
            else
                ERR(ps, q, 0,
                    "found %s, expected a network in CIDR form like \"10.0.0.0/8\" (a string)",
                    cmn_jdiag_type(v));
            continue;
        }
        for (size_t k = 0; k < c->nnets; k++) {
            if (pol_cidr_equal(&c->nets[k], &c->nets[c->nnets])) {
                ERR(ps, q, 0, "duplicate network \"%s\" (already networks[%zu])", s, k);
                goto next;
            }
        }
        remember_net(ps, &c->nets[c->nnets], s);
        strncat(text, c->nnets ? ", " : "", sizeof(text) - strlen(text) - 1);
        strncat(text, s, sizeof(text) - strlen(text) - 1);
        c->nnets++;
    next:;
    }
    c->nets_text = pol_parser_dup(ps, text);
}

static const char *const role_words[] = {"read", "write", "admin", "auditor", NULL};
static const char *const rg_role_words[] = {"read", "write", "admin", NULL};

static pol_role_t role_parse(const char *s)
{
    if (strcmp(s, "read") == 0)
        return POL_ROLE_READ;
    if (strcmp(s, "write") == 0)
        return POL_ROLE_WRITE;
    if (strcmp(s, "admin") == 0)
        return POL_ROLE_ADMIN;
    if (strcmp(s, "auditor") == 0)
        return POL_ROLE_AUDITOR;
    return POL_ROLE_NONE;
}

/* The "role" of a member entry; POL_ROLE_NONE after recording. */
static pol_role_t parse_role(pol_parser_t *ps, const char *ptr, json_t *e, int in_rgroup)
{
    char p[CMN_JDIAG_PTR_MAX], expected[128], hint[128];
    const char *const *words = in_rgroup ? rg_role_words : role_words;
    cmn_jdiag_words(words, expected, sizeof(expected));
    const char *r = pol_parser_string(ps, ptr, e, "role", 1, 32, expected);
    if (!r)
        return POL_ROLE_NONE;
    pol_role_t role = role_parse(r);
    if (in_rgroup && role == POL_ROLE_AUDITOR) {
        ERR(ps, cmn_jdiag_join(p, ptr, "role"), 0,
            "role \"auditor\" is org-wide, it has no meaning in a resource group (expected %s)",
            expected);
        return POL_ROLE_NONE;
    }
    if (role == POL_ROLE_NONE) {
        cmn_jdiag_hint(r, words, hint, sizeof(hint));
        ERR(ps, cmn_jdiag_join(p, ptr, "role"), 0, "unknown role \"%s\" (expected %s%s)", r,
            expected, hint);
    }
    return role;
}

int pol_parser_who(pol_parser_t *ps, const char *ptr, json_t *e, int with_role, int in_rgroup,
                   pol_who_entry_t *out)
{
    static const char *const keys_role[] = {"group", "email", "role", NULL};
    static const char *const keys_plain[] = {"group", "email", NULL};
    char p[CMN_JDIAG_PTR_MAX];
    *out = (pol_who_entry_t){WHO_GROUP, NULL, POL_ROLE_NONE};
    if (!json_is_object(e)) {
        ERR(ps, ptr, 0, "found %s, expected an object like {\"group\": \"acme-ml\"%s}",
            cmn_jdiag_type(e), with_role ? ", \"role\": \"write\"" : "");
        return -1;
    }
    int bad = cmn_jdiag_keys(&ps->diag, ptr, e, with_role ? keys_role : keys_plain);
    json_t *g = json_object_get(e, "group"), *m = json_object_get(e, "email");
    if (g && m) {
        ERR(ps, cmn_jdiag_join(p, ptr, "email"), 1,
            "found both \"group\" and \"email\", expected one of them per entry");
        return -1;
    }
    if (!g && !m) {
        ERR(ps, ptr, 0, "missing \"group\" or \"email\" (expected one of them)");
        bad = 1;
    }
    const char *v = NULL;
    if (g) {
        v = pol_parser_string(ps, ptr, e, "group", 1, POL_MAX_GROUP_BYTES, "a group name");
    } else if (m) {
        v = pol_parser_string(ps, ptr, e, "email", 1, POL_MAX_EMAIL_BYTES, "an email address");
        out->kind = WHO_EMAIL;
        if (v && !email_valid(v)) {
            ERR(ps, cmn_jdiag_join(p, ptr, "email"), 0,
                "\"%s\" is not an email address (expected local@domain, no spaces)", v);
            v = NULL;
        }
    }
    if (with_role) {
        out->role = parse_role(ps, ptr, e, in_rgroup);
        if (out->role == POL_ROLE_NONE)
            return -1;
    }
    if (!v || bad)
        return -1;
    out->value = v;
    return 0;
}

const char *pol_parser_who_value(pol_parser_t *ps, who_kind_t kind, const char *value)
{
    return kind == WHO_EMAIL ? pol_parser_dup_lower(ps, value) : pol_parser_dup(ps, value);
}

int pol_parser_region(pol_parser_t *ps, const char *ptr, const char *region)
{
    const pol_options_t *op = ps->opts;
    if (!op || !op->regions)
        return 1;
    char expected[1024] = "";
    for (size_t k = 0; k < op->nregions; k++) {
        if (strcmp(op->regions[k], region) == 0)
            return 1;
        strncat(expected, k ? ", " : "", sizeof(expected) - strlen(expected) - 1);
        strncat(expected, op->regions[k], sizeof(expected) - strlen(expected) - 1);
    }
    ERR(ps, ptr, 0, "unknown region \"%s\" (expected one of the configuration's regions: %s)",
        region, expected);
    return 0;
}
