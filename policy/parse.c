/* Parse, validate and compile a policy file (docs/policy.md).
 *
 * Validation never stops at the first problem and never skips one: every unknown key, role,
 * region, action, malformed pattern or network, duplicate key, duplicate member, rule id or
 * test name becomes one line "file:line:col: json.path: found … (expected …)", and a policy
 * with any error is refused whole. Positions come from common/jsonpos (jansson gives them
 * only for syntax errors). The compiled policy lives in one arena; after pol_policy_parse
 * returns nothing writes to it again, so any number of threads may evaluate it. */
#include "common/err.h"
#include "common/jsonpos.h"
#include "policy/internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PTR_MAX          1024
#define MAX_RULE_ID      64
#define MAX_GROUP_BYTES  256
#define MAX_EMAIL_BYTES  320
#define MAX_TARGET_BYTES 8192
#define MAX_NAME_BYTES   200
#define ARENA_BLOCK      (64 * 1024)
#define ARENA_MAX        (512u * 1024 * 1024)

typedef struct {
    cmn_jdiag_t diag;
    pol_policy_t *p;
    const pol_options_t *opts;
    int oom;
} parser_t;

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                    */

static const char *join(char *dst, const char *base, const char *key)
{
    snprintf(dst, PTR_MAX, "%s", base);
    (void)cmn_jsonpos_push(dst, PTR_MAX, key);
    return dst;
}

static const char *join_index(char *dst, const char *base, size_t i)
{
    char seg[32];
    snprintf(seg, sizeof(seg), "%zu", i);
    return join(dst, base, seg);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* Copies src into dst (cap bytes) with control characters written as \n, \t or \xNN, so that
 * every problem stays on one line whatever the file holds. */
static void escape_controls(const char *src, char *dst, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)src; *c && n + 5 < cap; c++) {
        if (*c >= 0x20 && *c != 0x7f) {
            dst[n++] = (char)*c;
        } else if (*c == '\n' || *c == '\t' || *c == '\r') {
            dst[n++] = '\\';
            dst[n++] = *c == '\n' ? 'n' : *c == '\t' ? 't' : 'r';
        } else {
            n += (size_t)snprintf(dst + n, cap - n, "\\x%02x", *c);
        }
    }
    dst[n] = '\0';
}

static int has_controls(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Every semantic error goes through here: one line "file:line:col: path: message". */
static void report(parser_t *ps, const char *ptr, int key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(parser_t *ps, const char *ptr, int key, const char *fmt, ...)
{
    char raw[2048], msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    escape_controls(raw, msg, sizeof(msg));
    if (!has_controls(ptr)) {
        cmn_jdiag_error(&ps->diag, ptr, key, "%s", msg);
        return;
    }
    /* A key holding control characters: common/jsonpos would print it raw. */
    char path[4096] = "", seg[1024], shown[2048];
    size_t len = 0;
    for (const char *c = ptr; *c == '/' && len + 1 < sizeof(path);) {
        const char *end = strchr(c + 1, '/');
        size_t n = end ? (size_t)(end - c - 1) : strlen(c + 1), k = 0;
        for (size_t i = 0; i < n && k + 1 < sizeof(seg); i++) {
            char ch = c[1 + i];
            if (ch == '~' && i + 1 < n) {
                ch = c[2 + i] == '1' ? '/' : '~';
                i++;
            }
            seg[k++] = ch;
        }
        seg[k] = '\0';
        escape_controls(seg, shown, sizeof(shown));
        snprintf(path + len, sizeof(path) - len, "[\"%s\"]", shown);
        len = strlen(path);
        c = end ? end : c + 1 + n;
    }
    int line, col;
    if (cmn_jsonpos_find(ps->diag.pos, ptr, key, &line, &col) == 0)
        cmn_buf_printf(ps->diag.out, "%s:%d:%d: %s: %s\n", ps->diag.file, line, col, path, msg);
    else
        cmn_buf_printf(ps->diag.out, "%s: %s: %s\n", ps->diag.file, path, msg);
    ps->diag.errors++;
}

#define ERR(ps, ptr, key, ...) report((ps), (ptr), (key), __VA_ARGS__)

static void *alloc(parser_t *ps, size_t n)
{
    void *m = cmn_arena_alloc(&ps->p->arena, n ? n : 1);
    if (!m)
        ps->oom = 1;
    else
        memset(m, 0, n ? n : 1);
    return m;
}

static char *dup(parser_t *ps, const char *s)
{
    char *c = cmn_arena_strndup(&ps->p->arena, s, strlen(s));
    if (!c)
        ps->oom = 1;
    return c;
}

static char *dup_lower(parser_t *ps, const char *s)
{
    char *c = dup(ps, s);
    for (char *q = c; q && *q; q++) {
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q + 32);
    }
    return c;
}

static char *printf_arena(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *printf_arena(parser_t *ps, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return dup(ps, buf);
}

/* Display path segment as common/jsonpos prints it: .key when plain, ["key"] otherwise. */
static int plain_segment(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static const char *disp_key(parser_t *ps, const char *base, const char *key)
{
    if (plain_segment(key))
        return printf_arena(ps, "%s%s%s", base, *base ? "." : "", key);
    return printf_arena(ps, "%s[\"%s\"]", base, key);
}

static size_t levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t sub = prev + (a[i - 1] != b[j - 1]);
            size_t del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    return row[lb];
}

/* "a, b, c" from a NULL-terminated list. */
static void list_text(const char *const *words, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; words[i]; i++) {
        strncat(out, i ? ", " : "", cap - strlen(out) - 1);
        strncat(out, words[i], cap - strlen(out) - 1);
    }
}

/* ", did you mean "x"?" when a word is within two edits of the found one. */
static void suggestion(const char *found, const char *const *words, char *out, size_t cap)
{
    out[0] = '\0';
    size_t best = 3;
    for (size_t i = 0; words[i]; i++) {
        size_t d = levenshtein(found, words[i]);
        if (d < best) {
            best = d;
            snprintf(out, cap, "; did you mean \"%s\"?", words[i]);
        }
    }
}

/* Reports every key of obj not in `allowed`. Returns the number of unknown keys. */
static int check_keys(parser_t *ps, const char *ptr, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    int unknown = 0;
    json_object_foreach(obj, key, v)
    {
        int known = 0;
        for (size_t i = 0; allowed[i]; i++)
            known |= strcmp(key, allowed[i]) == 0;
        if (known)
            continue;
        char expected[512], hint[128], p[PTR_MAX];
        list_text(allowed, expected, sizeof(expected));
        suggestion(key, allowed, hint, sizeof(hint));
        ERR(ps, join(p, ptr, key), 1, "unknown key \"%s\" (expected one of: %s%s)", key, expected,
            hint);
        unknown++;
    }
    return unknown;
}

/* obj[key] when it has the wanted JSON type; NULL (reported) when of another type; NULL
 * (reported when required) when absent. */
static json_t *get_typed(parser_t *ps, const char *ptr, json_t *obj, const char *key,
                         json_type type, int required, const char *expected)
{
    char p[PTR_MAX];
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            ERR(ps, ptr, 0, "missing required key \"%s\" (expected %s)", key, expected);
        return NULL;
    }
    int ok = json_typeof(v) == type || (type == JSON_TRUE && (json_is_true(v) || json_is_false(v)));
    if (!ok) {
        ERR(ps, join(p, ptr, key), 0, "found %s, expected %s", type_name(v), expected);
        return NULL;
    }
    return v;
}

/* A boolean member: def when absent; def (reported) when of another type. */
static int get_bool(parser_t *ps, const char *ptr, json_t *obj, const char *key, int def)
{
    json_t *v = get_typed(ps, ptr, obj, key, JSON_TRUE, 0, "true or false");
    return v ? json_is_true(v) : def;
}

/* A string member with no control characters, 1..max bytes. NULL when absent or invalid. */
static const char *get_string(parser_t *ps, const char *ptr, json_t *obj, const char *key,
                              int required, size_t max, const char *expected)
{
    char p[PTR_MAX];
    json_t *v = get_typed(ps, ptr, obj, key, JSON_STRING, required, expected);
    if (!v)
        return NULL;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > max) {
        ERR(ps, join(p, ptr, key), 0, "found %s string, expected %s (1 to %zu bytes)",
            n ? "a too long" : "an empty", expected, max);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            ERR(ps, join(p, ptr, key), 0, "found a control character, expected %s", expected);
            return NULL;
        }
    }
    return s;
}

/* A namespace or repo name segment as the Hub accepts it (its REPO_ID_REGEX). */
static int segment_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 96 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
        if (i && (c == '.' || c == '-') && s[i - 1] == c)
            return 0;
    }
    return 1;
}

/* The same alphabet with '*' and '?' wildcards. */
static int glob_segment_valid(const char *s, size_t n)
{
    if (n == 0 || n > 96)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '*' || c == '?'))
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
static const char *pattern_parse(parser_t *ps, const char *text, pattern_t *out)
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
    if (!glob_segment_valid(a + 1, nl))
        return "the namespace must be 1-96 of A-Z a-z 0-9 _ . - with * and ? wildcards";
    if (!glob_segment_valid(b + 1, ml))
        return "the name must be 1-96 of A-Z a-z 0-9 _ . - with * and ? wildcards";
    char *ns = cmn_arena_strndup(&ps->p->arena, a + 1, nl);
    if (!ns) {
        ps->oom = 1;
        return "out of memory";
    }
    for (char *q = ns; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q + 32);
    out->ns = ns;
    out->name = dup_lower(ps, b + 1);
    out->text = dup(ps, text);
    return NULL;
}

/* An array of patterns at obj[key]; *n = 0 and NULL when absent. */
static pattern_t *get_patterns(parser_t *ps, const char *ptr, json_t *obj, const char *key,
                               int required, const char *org_ns, size_t *n)
{
    char p[PTR_MAX], q[PTR_MAX];
    *n = 0;
    json_t *arr = get_typed(ps, ptr, obj, key, JSON_ARRAY, required,
                            "an array of repo patterns \"type/namespace/name\"");
    if (!arr)
        return NULL;
    join(p, ptr, key);
    if (json_array_size(arr) == 0) {
        ERR(ps, p, 0, "found an empty array, expected at least one repo pattern");
        return NULL;
    }
    pattern_t *pats = alloc(ps, json_array_size(arr) * sizeof(*pats));
    if (!pats)
        return NULL;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        join_index(q, p, i);
        if (!json_is_string(v)) {
            ERR(ps, q, 0, "found %s, expected a repo pattern string like \"models/acme/*\"",
                type_name(v));
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
                "bad repo pattern \"%s\": a resource group holds repos of its own org only "
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

static int cidr_equal(const pol_cidr_t *a, const pol_cidr_t *b)
{
    return a->bits == b->bits && memcmp(a->addr, b->addr, 16) == 0;
}

static void remember_net(parser_t *ps, const pol_cidr_t *c, const char *text)
{
    pol_policy_t *p = ps->p;
    for (size_t i = 0; i < p->nnets; i++)
        if (cidr_equal(&p->nets[i], c))
            return;
    if ((p->nnets & (p->nnets - 1)) == 0) { /* grow at powers of two */
        size_t cap = p->nnets ? p->nnets * 2 : 4;
        pol_cidr_t *n = alloc(ps, cap * sizeof(*n));
        const char **t = alloc(ps, cap * sizeof(*t));
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
    p->nets_text[p->nnets++] = dup(ps, text);
}

/* {"mfa": bool, "networks": [CIDR...]} */
static void parse_cond(parser_t *ps, const char *ptr, json_t *obj, cond_t *c)
{
    static const char *const keys[] = {"mfa", "networks", NULL};
    char p[PTR_MAX], q[PTR_MAX];
    check_keys(ps, ptr, obj, keys);
    c->mfa = (unsigned)get_bool(ps, ptr, obj, "mfa", 0);
    json_t *nets = get_typed(ps, ptr, obj, "networks", JSON_ARRAY, 0,
                             "an array of networks like \"10.0.0.0/8\"");
    if (!json_object_get(obj, "mfa") && !json_object_get(obj, "networks")) {
        ERR(ps, ptr, 0, "found an empty condition, expected \"mfa\" and/or \"networks\"");
        return;
    }
    if (!nets) {
        if (json_object_get(obj, "networks") == NULL && json_is_false(json_object_get(obj, "mfa")))
            ERR(ps, join(p, ptr, "mfa"), 0,
                "found false with no networks: this condition requires nothing (expected "
                "\"mfa\": true or \"networks\")");
        return;
    }
    join(p, ptr, "networks");
    size_t n = json_array_size(nets);
    if (n == 0) {
        ERR(ps, p, 0, "found an empty array, expected at least one network");
        return;
    }
    c->nets = alloc(ps, n * sizeof(*c->nets));
    if (!c->nets)
        return;
    char text[4096] = "";
    size_t i;
    json_t *v;
    json_array_foreach(nets, i, v)
    {
        const char *s = json_string_value(v);
        join_index(q, p, i);
        if (!s || pol_cidr_parse(s, &c->nets[c->nnets]) != 0) {
            if (s)
                ERR(ps, q, 0,
                    "\"%s\" is not a network (expected CIDR like \"10.0.0.0/8\" or "
                    "\"2001:db8::/32\" with zero host bits)",
                    s);
            else
                ERR(ps, q, 0,
                    "found %s, expected a network in CIDR form like \"10.0.0.0/8\" (a string)",
                    type_name(v));
            continue;
        }
        for (size_t k = 0; k < c->nnets; k++) {
            if (cidr_equal(&c->nets[k], &c->nets[c->nnets])) {
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
    c->nets_text = dup(ps, text);
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

/* Reads {"group": …} or {"email": …} from an entry object; with_role also reads "role".
 * Returns 0 and fills kind/value (and *role), or -1 after reporting. */
static int parse_who(parser_t *ps, const char *ptr, json_t *e, int with_role, int rgroup,
                     who_kind_t *kind, const char **value, pol_role_t *role)
{
    static const char *const keys_role[] = {"group", "email", "role", NULL};
    static const char *const keys_plain[] = {"group", "email", NULL};
    char p[PTR_MAX];
    if (!json_is_object(e)) {
        ERR(ps, ptr, 0, "found %s, expected an object like {\"group\": \"acme-ml\"%s}",
            type_name(e), with_role ? ", \"role\": \"write\"" : "");
        return -1;
    }
    int bad = check_keys(ps, ptr, e, with_role ? keys_role : keys_plain);
    json_t *g = json_object_get(e, "group"), *m = json_object_get(e, "email");
    if (g && m) {
        ERR(ps, join(p, ptr, "email"), 1,
            "found both \"group\" and \"email\", expected one of them per entry");
        return -1;
    }
    if (!g && !m) {
        ERR(ps, ptr, 0, "missing \"group\" or \"email\" (expected one of them)");
        bad = 1;
    }
    const char *v = NULL;
    if (g) {
        v = get_string(ps, ptr, e, "group", 1, MAX_GROUP_BYTES, "a group name");
        *kind = WHO_GROUP;
    } else if (m) {
        v = get_string(ps, ptr, e, "email", 1, MAX_EMAIL_BYTES, "an email address");
        *kind = WHO_EMAIL;
        if (v && !email_valid(v)) {
            ERR(ps, join(p, ptr, "email"), 0,
                "\"%s\" is not an email address (expected local@domain, no spaces)", v);
            v = NULL;
        }
    }
    if (with_role) {
        const char *const *words = rgroup ? rg_role_words : role_words;
        char expected[128];
        list_text(words, expected, sizeof(expected));
        const char *r = get_string(ps, ptr, e, "role", 1, 32, expected);
        *role = POL_ROLE_NONE;
        if (r) {
            *role = role_parse(r);
            if (rgroup && *role == POL_ROLE_AUDITOR) {
                ERR(ps, join(p, ptr, "role"), 0,
                    "role \"auditor\" is org-wide, it has no meaning in a resource group "
                    "(expected %s)",
                    expected);
                return -1;
            }
            if (*role == POL_ROLE_NONE) {
                char hint[128];
                suggestion(r, words, hint, sizeof(hint));
                ERR(ps, join(p, ptr, "role"), 0, "unknown role \"%s\" (expected %s%s)", r, expected,
                    hint);
                return -1;
            }
        } else {
            return -1;
        }
    }
    if (!v || bad)
        return -1;
    *value = v;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* orgs                                                                                       */

static void parse_members(parser_t *ps, org_t *o, const char *ptr, json_t *arr, int rgroup,
                          const char *disp, member_t *out, size_t *n)
{
    char q[PTR_MAX];
    size_t first = *n;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        join_index(q, ptr, i);
        who_kind_t kind = WHO_GROUP;
        const char *value = NULL;
        pol_role_t role = POL_ROLE_NONE;
        if (parse_who(ps, q, e, 1, rgroup >= 0, &kind, &value, &role) != 0)
            continue;
        int dupl = 0;
        for (size_t k = first; k < *n; k++) {
            if (out[k].kind == kind && (kind == WHO_GROUP ? strcmp(out[k].value, value) == 0
                                                          : strcasecmp(out[k].value, value) == 0)) {
                ERR(ps, q, 0, "duplicate member %s \"%s\" (already %s, role %s; one entry per %s)",
                    kind == WHO_GROUP ? "group" : "email", value, out[k].path,
                    pol_role_name(out[k].role), kind == WHO_GROUP ? "group" : "email");
                dupl = 1;
                break;
            }
        }
        if (dupl)
            continue;
        member_t *m = &out[(*n)++];
        m->kind = kind;
        m->value = kind == WHO_EMAIL ? dup_lower(ps, value) : dup(ps, value);
        m->hash = pol_key_hash(kind, value);
        m->role = role;
        m->rgroup = rgroup;
        m->path = printf_arena(ps, "%s[%zu]", disp, i);
    }
    (void)o;
}

static const char *const req_words[] = {"read",  "write",   "create", "delete",
                                        "admin", "auditor", NULL};

static void parse_org(parser_t *ps, const char *name, json_t *obj, org_t *o)
{
    static const char *const keys[] = {"regions", "members", "resource_groups", "require", NULL};
    char ptr[PTR_MAX], p[PTR_MAX], q[PTR_MAX];
    join(ptr, "/orgs", name);
    o->name = dup(ps, name);
    o->lname = dup_lower(ps, name);
    o->path = disp_key(ps, "orgs", name);
    if (!json_is_object(obj)) {
        ERR(ps, ptr, 0, "found %s, expected an object with %s", type_name(obj),
            "regions, members, resource_groups, require");
        return;
    }
    check_keys(ps, ptr, obj, keys);

    /* regions */
    o->regions_path = printf_arena(ps, "%s.regions", o->path);
    json_t *regions = get_typed(ps, ptr, obj, "regions", JSON_ARRAY, 0,
                                "an array of region names from the configuration");
    if (regions) {
        join(p, ptr, "regions");
        size_t n = json_array_size(regions);
        if (n == 0)
            ERR(ps, p, 0,
                "found an empty array, expected at least one region (or no "
                "\"regions\": the default region)");
        o->regions = alloc(ps, (n ? n : 1) * sizeof(char *));
        size_t i;
        json_t *v;
        json_array_foreach(regions, i, v)
        {
            join_index(q, p, i);
            const char *r = json_string_value(v);
            if (!r || !*r) {
                ERR(ps, q, 0, "found %s, expected a region name",
                    r ? "an empty string" : type_name(v));
                continue;
            }
            const pol_options_t *op = ps->opts;
            if (op && op->regions) {
                int known = 0;
                char expected[1024] = "";
                for (size_t k = 0; k < op->nregions; k++) {
                    known |= strcmp(op->regions[k], r) == 0;
                    strncat(expected, k ? ", " : "", sizeof(expected) - strlen(expected) - 1);
                    strncat(expected, op->regions[k], sizeof(expected) - strlen(expected) - 1);
                }
                if (!known) {
                    ERR(ps, q, 0,
                        "unknown region \"%s\" (expected one of the configuration's "
                        "regions: %s)",
                        r, expected);
                    continue;
                }
            }
            int dupl = 0;
            for (size_t k = 0; k < o->nregions; k++)
                dupl |= strcmp(o->regions[k], r) == 0;
            if (dupl) {
                ERR(ps, q, 0, "duplicate region \"%s\" (each region once)", r);
                continue;
            }
            if (o->regions)
                o->regions[o->nregions++] = dup(ps, r);
        }
    }

    /* members and resource groups: one member array for both */
    json_t *members = get_typed(ps, ptr, obj, "members", JSON_ARRAY, 0,
                                "an array of {\"group\"|\"email\", \"role\"} entries");
    json_t *rgs = get_typed(ps, ptr, obj, "resource_groups", JSON_ARRAY, 0,
                            "an array of {\"name\", \"repos\", \"members\"} objects");
    size_t cap = members ? json_array_size(members) : 0;
    size_t nrg = rgs ? json_array_size(rgs) : 0;
    for (size_t i = 0; i < nrg; i++) {
        json_t *m = json_object_get(json_array_get(rgs, i), "members");
        cap += json_is_array(m) ? json_array_size(m) : 0;
    }
    o->members = alloc(ps, (cap ? cap : 1) * sizeof(member_t));
    o->rgroups = alloc(ps, (nrg ? nrg : 1) * sizeof(rgroup_t));
    if (!o->members || !o->rgroups)
        return;
    if (members) {
        join(p, ptr, "members");
        const char *disp = printf_arena(ps, "%s.members", o->path);
        parse_members(ps, o, p, members, -1, disp ? disp : "", o->members, &o->nmembers);
    }
    o->norg_members = o->nmembers;
    for (size_t i = 0; i < nrg; i++) {
        static const char *const rkeys[] = {"name", "repos", "members", NULL};
        join_index(p, join(q, ptr, "resource_groups"), i);
        json_t *rg = json_array_get(rgs, i);
        if (!json_is_object(rg)) {
            ERR(ps, p, 0, "found %s, expected an object with name, repos, members", type_name(rg));
            continue;
        }
        check_keys(ps, p, rg, rkeys);
        rgroup_t *g = &o->rgroups[o->nrgroups];
        g->path = printf_arena(ps, "%s.resource_groups[%zu]", o->path, i);
        g->name = get_string(ps, p, rg, "name", 1, MAX_NAME_BYTES, "a resource group name");
        if (g->name) {
            for (size_t k = 0; k < o->nrgroups; k++) {
                if (strcmp(o->rgroups[k].name, g->name) == 0) {
                    ERR(ps, join(q, p, "name"), 0,
                        "duplicate resource group name \"%s\" (already %s)", g->name,
                        o->rgroups[k].path);
                    g->name = NULL;
                    break;
                }
            }
        }
        g->name = g->name ? dup(ps, g->name) : "";
        g->repos = get_patterns(ps, p, rg, "repos", 1, o->lname, &g->nrepos);
        json_t *rm = get_typed(ps, p, rg, "members", JSON_ARRAY, 1,
                               "an array of {\"group\"|\"email\", \"role\"} entries");
        if (rm) {
            join(q, p, "members");
            const char *disp = printf_arena(ps, "%s.members", g->path);
            parse_members(ps, o, q, rm, (int)o->nrgroups, disp ? disp : "", o->members,
                          &o->nmembers);
        }
        o->nrgroups++;
    }

    /* require */
    json_t *req = get_typed(ps, ptr, obj, "require", JSON_OBJECT, 0,
                            "an object like {\"write\": {\"mfa\": true}}");
    if (req) {
        join(p, ptr, "require");
        check_keys(ps, p, req, req_words);
        for (int k = 0; k < REQ_COUNT; k++) {
            json_t *c = json_object_get(req, req_words[k]);
            if (!c)
                continue;
            join(q, p, req_words[k]);
            if (!json_is_object(c)) {
                ERR(ps, q, 0,
                    "found %s, expected a condition like {\"mfa\": true, "
                    "\"networks\": [\"10.0.0.0/8\"]}",
                    type_name(c));
                continue;
            }
            parse_cond(ps, q, c, &o->require[k]);
            o->require_path[k] = printf_arena(ps, "%s.require.%s", o->path, req_words[k]);
        }
    }
}

static void parse_orgs(parser_t *ps, json_t *root)
{
    json_t *orgs = get_typed(ps, "", root, "orgs", JSON_OBJECT, 0,
                             "an object mapping org names to their settings");
    if (!orgs)
        return;
    size_t n = json_object_size(orgs);
    pol_policy_t *p = ps->p;
    p->orgs = alloc(ps, (n ? n : 1) * sizeof(org_t));
    if (!p->orgs)
        return;
    /* json_object_foreach iterates in insertion order (jansson ≥ 2.8): file order. */
    const char *name;
    json_t *v;
    json_object_foreach(orgs, name, v)
    {
        char ptr[PTR_MAX];
        join(ptr, "/orgs", name);
        if (!segment_valid(name)) {
            ERR(ps, ptr, 1,
                "\"%s\" is not an org name (expected 1-96 of A-Z a-z 0-9 _ . -, not starting "
                "or ending with . or -, no -- or ..)",
                name);
            continue;
        }
        int dupl = 0;
        for (size_t k = 0; k < p->norgs; k++) {
            if (strcasecmp(p->orgs[k].name, name) == 0) {
                ERR(ps, ptr, 1,
                    "org \"%s\" is the same namespace as \"%s\" (namespaces compare "
                    "case-insensitively)",
                    name, p->orgs[k].name);
                dupl = 1;
            }
        }
        if (dupl)
            continue;
        parse_org(ps, name, v, &p->orgs[p->norgs++]);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* external, personal namespaces                                                              */

static void parse_external(parser_t *ps, json_t *root)
{
    static const char *const keys[] = {"read", "namespaces", NULL};
    char p[PTR_MAX], q[PTR_MAX];
    pol_policy_t *pol = ps->p;
    json_t *ext = get_typed(ps, "", root, "external", JSON_OBJECT, 0,
                            "an object like {\"read\": true, \"namespaces\": [\"google\"]}");
    if (!ext)
        return;
    check_keys(ps, "/external", ext, keys);
    pol->external_read = get_bool(ps, "/external", ext, "read", 0);
    json_t *arr = get_typed(ps, "/external", ext, "namespaces", JSON_ARRAY, 0,
                            "an array of namespaces outside this policy's orgs");
    if (!arr)
        return;
    join(p, "/external", "namespaces");
    pol->external = alloc(ps, (json_array_size(arr) ? json_array_size(arr) : 1) * sizeof(char *));
    if (!pol->external)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        join_index(q, p, i);
        const char *s = json_string_value(v);
        if (!s || !segment_valid(s)) {
            ERR(ps, q, 0, "%s%s%s is not a namespace (expected 1-96 of A-Z a-z 0-9 _ . -)",
                s ? "\"" : "", s ? s : type_name(v), s ? "\"" : "");
            continue;
        }
        /* the org table is not built yet: compare by hand */
        int bad = 0;
        for (size_t k = 0; k < pol->norgs && !bad; k++) {
            if (strcasecmp(pol->orgs[k].name, s) == 0) {
                ERR(ps, q, 0,
                    "\"%s\" is an org of this policy (expected namespaces outside its orgs; "
                    "members of %s are given by orgs.%s)",
                    s, pol->orgs[k].name, pol->orgs[k].name);
                bad = 1;
            }
        }
        for (size_t k = 0; k < pol->nexternal && !bad; k++) {
            if (strcasecmp(pol->external[k], s) == 0) {
                ERR(ps, q, 0, "duplicate namespace \"%s\" (already namespaces[%zu])", s, k);
                bad = 1;
            }
        }
        if (!bad)
            pol->external[pol->nexternal++] = dup_lower(ps, s);
    }
}

static void parse_personal(parser_t *ps, json_t *root)
{
    static const char *const keys[] = {"read", "write", NULL};
    json_t *pn = get_typed(ps, "", root, "personal_namespaces", JSON_OBJECT, 0,
                           "an object like {\"read\": true, \"write\": false}");
    if (!pn)
        return;
    check_keys(ps, "/personal_namespaces", pn, keys);
    ps->p->personal_read = get_bool(ps, "/personal_namespaces", pn, "read", 0);
    ps->p->personal_write = get_bool(ps, "/personal_namespaces", pn, "write", 0);
    if (ps->p->personal_write)
        ps->p->personal_read = 1; /* whoever may write may read */
}

/* ------------------------------------------------------------------------------------------ */
/* auditors                                                                                   */

/* The policy's auditors: [{"group": …} | {"email": …}], no role (every entry is an auditor of
 * every org). An empty list says "nobody" explicitly. */
static void parse_auditors(parser_t *ps, json_t *root)
{
    json_t *arr = get_typed(ps, "", root, "auditors", JSON_ARRAY, 0,
                            "an array of {\"group\": …} or {\"email\": …} entries");
    if (!arr)
        return;
    pol_policy_t *p = ps->p;
    size_t n = json_array_size(arr);
    p->auditors = alloc(ps, (n ? n : 1) * sizeof(member_t));
    if (!p->auditors)
        return;
    char q[PTR_MAX];
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        join_index(q, "/auditors", i);
        who_kind_t kind = WHO_GROUP;
        const char *value = NULL;
        json_t *entry = json_incref(e);
        if (json_is_object(e) && json_object_get(e, "role")) {
            /* Said once, with what to do instead, rather than as one more unknown key. */
            char p2[PTR_MAX];
            ERR(ps, join(p2, q, "role"), 1,
                "the policy's auditors carry no role, each may export the reports of every org "
                "(expected {\"group\": …} or {\"email\": …}; an auditor of one org is a "
                "member of it with role \"auditor\")");
            json_decref(entry);
            entry = json_copy(e);
            if (!entry) {
                ps->oom = 1;
                return;
            }
            json_object_del(entry, "role");
        }
        int bad = parse_who(ps, q, entry, 0, 0, &kind, &value, NULL) != 0;
        if (!bad)
            value = dup(ps, value); /* entry may be a copy, released below */
        json_decref(entry);
        if (bad || !value)
            continue;
        int dupl = 0;
        for (size_t k = 0; k < p->nauditors && !dupl; k++) {
            const member_t *a = &p->auditors[k];
            dupl = a->kind == kind && (kind == WHO_GROUP ? strcmp(a->value, value) == 0
                                                         : strcasecmp(a->value, value) == 0);
            if (dupl)
                ERR(ps, q, 0, "duplicate auditor %s \"%s\" (already %s; one entry per %s)",
                    kind == WHO_GROUP ? "group" : "email", value, a->path,
                    kind == WHO_GROUP ? "group" : "email");
        }
        if (dupl)
            continue;
        member_t *a = &p->auditors[p->nauditors++];
        a->kind = kind;
        a->value = kind == WHO_EMAIL ? dup_lower(ps, value) : dup(ps, value);
        a->hash = pol_key_hash(kind, value);
        a->role = POL_ROLE_AUDITOR;
        a->rgroup = -1;
        a->path = printf_arena(ps, "auditors[%zu]", i);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* rules                                                                                      */

static const char *const action_words[] = {"read",  "write",   "create", "delete",
                                           "admin", "unknown", NULL};

static int rule_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_RULE_ID)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static void parse_rule(parser_t *ps, size_t index, json_t *obj, rule_t *r, const char **ids,
                       int *ok)
{
    static const char *const keys[] = {"id",       "effect", "actions", "repos",
                                       "subjects", "unless", NULL};
    char ptr[PTR_MAX], p[PTR_MAX], q[PTR_MAX];
    join_index(ptr, "/rules", index);
    *ok = 0;
    if (!json_is_object(obj)) {
        ERR(ps, ptr, 0, "found %s, expected a rule object with id, effect, actions, repos",
            type_name(obj));
        return;
    }
    int errors = ps->diag.errors;
    check_keys(ps, ptr, obj, keys);
    const char *id = get_string(ps, ptr, obj, "id", 1, MAX_RULE_ID,
                                "a rule id like \"no-deletes-from-outside\"");
    if (id && !rule_id_valid(id)) {
        ERR(ps, join(p, ptr, "id"), 0,
            "\"%s\" is not a rule id (expected 1-64 of A-Z a-z 0-9 _ . -)", id);
        id = NULL;
    }
    if (id) {
        for (size_t k = 0; k < index; k++) {
            if (ids[k] && strcmp(ids[k], id) == 0) {
                ERR(ps, join(p, ptr, "id"), 0, "duplicate rule id \"%s\" (already rules[%zu])", id,
                    k);
                id = NULL;
                break;
            }
        }
    }
    ids[index] = id;
    r->id = id ? dup(ps, id) : "";
    r->path = printf_arena(ps, "rules[%s]", r->id);

    const char *effect = get_string(ps, ptr, obj, "effect", 1, 16, "\"deny\" or \"allow\"");
    if (effect && strcmp(effect, "deny") != 0 && strcmp(effect, "allow") != 0) {
        static const char *const eff[] = {"deny", "allow", NULL};
        char hint[64];
        suggestion(effect, eff, hint, sizeof(hint));
        ERR(ps, join(p, ptr, "effect"), 0, "unknown effect \"%s\" (expected deny, allow%s)", effect,
            hint);
    }
    r->deny = effect && strcmp(effect, "deny") == 0;

    json_t *acts = get_typed(ps, ptr, obj, "actions", JSON_ARRAY, 1,
                             "an array of read, write, create, delete, admin, unknown");
    if (acts) {
        join(p, ptr, "actions");
        if (json_array_size(acts) == 0)
            ERR(ps, p, 0, "found an empty array, expected at least one action");
        size_t i;
        json_t *v;
        json_array_foreach(acts, i, v)
        {
            join_index(q, p, i);
            const char *s = json_string_value(v);
            unsigned bit = 0;
            for (size_t k = 0; s && action_words[k]; k++) {
                if (strcmp(s, action_words[k]) == 0)
                    bit = k == 5 ? ACT_UNKNOWN : ACT_BIT(k + 1);
            }
            if (!bit) {
                char hint[64] = "";
                if (s)
                    suggestion(s, action_words, hint, sizeof(hint));
                ERR(ps, q, 0,
                    "unknown action %s%s%s (expected read, write, create, delete, admin, "
                    "unknown%s)",
                    s ? "\"" : "", s ? s : type_name(v), s ? "\"" : "", hint);
                continue;
            }
            if (r->actions & bit) {
                ERR(ps, q, 0, "duplicate action \"%s\" (each action once)", s);
                continue;
            }
            r->actions |= bit;
        }
    }

    if (json_object_get(obj, "repos")) {
        r->repos = get_patterns(ps, ptr, obj, "repos", 0, NULL, &r->nrepos);
    } else {
        /* no "repos": every repo, and every namespace */
        r->repos = alloc(ps, sizeof(pattern_t));
        if (r->repos) {
            r->repos[0] = (pattern_t){POL_TYPE_ALL, "*", "*", "*/*/*"};
            r->nrepos = 1;
        }
    }

    json_t *subs = get_typed(ps, ptr, obj, "subjects", JSON_ARRAY, 0,
                             "an array of {\"group\": …} or {\"email\": …} entries");
    if (subs) {
        join(p, ptr, "subjects");
        size_t n = json_array_size(subs);
        if (n == 0)
            ERR(ps, p, 0,
                "found an empty array, expected at least one subject (or no "
                "\"subjects\": everyone)");
        r->subjects = alloc(ps, (n ? n : 1) * sizeof(who_t));
        size_t i;
        json_t *v;
        json_array_foreach(subs, i, v)
        {
            join_index(q, p, i);
            who_kind_t kind = WHO_GROUP;
            const char *value = NULL;
            if (!r->subjects || parse_who(ps, q, v, 0, 0, &kind, &value, NULL) != 0)
                continue;
            who_t *w = &r->subjects[r->nsubjects++];
            w->kind = kind;
            w->value = kind == WHO_EMAIL ? dup_lower(ps, value) : dup(ps, value);
            w->hash = pol_key_hash(kind, value);
        }
    }

    json_t *unless = json_object_get(obj, "unless");
    if (unless) {
        join(p, ptr, "unless");
        if (!r->deny && effect) {
            ERR(ps, p, 1,
                "\"unless\" applies to deny rules only (expected no \"unless\" in an allow "
                "rule; the org's \"require\" sets conditions on grants)");
        } else if (!json_is_object(unless)) {
            ERR(ps, p, 0, "found %s, expected a condition like {\"networks\": [\"10.0.0.0/8\"]}",
                type_name(unless));
        } else {
            r->has_unless = 1;
            parse_cond(ps, p, unless, &r->unless);
        }
    }
    *ok = ps->diag.errors == errors;
}

static void parse_rules(parser_t *ps, json_t *root)
{
    json_t *rules = get_typed(ps, "", root, "rules", JSON_ARRAY, 0, "an array of rule objects");
    if (!rules)
        return;
    size_t n = json_array_size(rules);
    pol_policy_t *p = ps->p;
    rule_t *tmp = calloc(n ? n : 1, sizeof(rule_t));
    const char **ids = calloc(n ? n : 1, sizeof(char *));
    p->rules = alloc(ps, (n ? n : 1) * sizeof(rule_t));
    if (!tmp || !ids || !p->rules) {
        ps->oom = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int ok;
        parse_rule(ps, i, json_array_get(rules, i), &tmp[i], ids, &ok);
    }
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

/* ------------------------------------------------------------------------------------------ */
/* subjects (tests, explain)                                                                  */

typedef void (*subj_err_fn)(void *ctx, const char *ptr, int key, const char *msg);

/* Parses a subject object; strings are copied into arena. Returns the number of errors. */
static int subject_from_json(json_t *obj, const char *ptr, cmn_arena_t *arena, pol_subject_t *s,
                             subj_err_fn err, void *ctx)
{
    static const char *const keys[] = {"iss",
                                       "sub",
                                       "email",
                                       "preferred_username",
                                       "groups",
                                       "mfa",
                                       "read_only_token",
                                       "anonymous",
                                       "email_verified",
                                       NULL};
    char p[PTR_MAX], q[PTR_MAX], msg[512];
    int errors = 0;
    memset(s, 0, sizeof(*s));
    if (!json_is_object(obj)) {
        snprintf(msg, sizeof(msg),
                 "found %s, expected a subject object like {\"sub\": "
                 "\"alice\", \"groups\": [\"acme-ml\"]}",
                 type_name(obj));
        err(ctx, ptr, 0, msg);
        return 1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int known = 0;
        for (size_t i = 0; keys[i]; i++)
            known |= strcmp(key, keys[i]) == 0;
        join(p, ptr, key);
        if (!known) {
            char expected[256], hint[128];
            list_text(keys, expected, sizeof(expected));
            suggestion(key, keys, hint, sizeof(hint));
            snprintf(msg, sizeof(msg), "unknown key \"%s\" (expected one of: %s%s)", key, expected,
                     hint);
            err(ctx, p, 1, msg);
            errors++;
            continue;
        }
        if (strcmp(key, "mfa") == 0 || strcmp(key, "read_only_token") == 0 ||
            strcmp(key, "anonymous") == 0 || strcmp(key, "email_verified") == 0) {
            if (!json_is_boolean(v)) {
                snprintf(msg, sizeof(msg), "found %s, expected true or false", type_name(v));
                err(ctx, p, 0, msg);
                errors++;
                continue;
            }
            if (key[0] == 'm')
                s->mfa = json_is_true(v);
            else if (key[0] == 'e') /* absent: verified, as a test usually means it */
                s->email_unverified = !json_is_true(v);
            else if (key[0] == 'r')
                s->read_only_token = json_is_true(v);
            else
                s->anonymous = json_is_true(v);
            continue;
        }
        if (strcmp(key, "groups") == 0) {
            if (!json_is_array(v) || json_array_size(v) > POL_MAX_SUBJECT_GROUPS) {
                snprintf(msg, sizeof(msg),
                         "found %s, expected an array of at most %d group "
                         "names",
                         json_is_array(v) ? "a longer array" : type_name(v),
                         POL_MAX_SUBJECT_GROUPS);
                err(ctx, p, 0, msg);
                errors++;
                continue;
            }
            size_t n = json_array_size(v);
            const char **g = cmn_arena_alloc(arena, (n ? n : 1) * sizeof(char *));
            if (!g)
                return errors + 1;
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                if (!json_is_string(e) || json_string_length(e) == 0) {
                    join_index(q, p, i);
                    snprintf(msg, sizeof(msg), "found %s, expected a group name",
                             json_is_string(e) ? "an empty string" : type_name(e));
                    err(ctx, q, 0, msg);
                    errors++;
                    continue;
                }
                g[s->ngroups++] =
                    cmn_arena_strndup(arena, json_string_value(e), json_string_length(e));
            }
            s->groups = g;
            continue;
        }
        if (!json_is_string(v) || json_string_length(v) == 0) {
            snprintf(msg, sizeof(msg), "found %s, expected a non-empty string",
                     json_is_string(v) ? "an empty string" : type_name(v));
            err(ctx, p, 0, msg);
            errors++;
            continue;
        }
        const char *c = cmn_arena_strndup(arena, json_string_value(v), json_string_length(v));
        if (strcmp(key, "iss") == 0)
            s->iss = c;
        else if (strcmp(key, "sub") == 0)
            s->sub = c;
        else if (strcmp(key, "email") == 0)
            s->email = c;
        else
            s->preferred_username = c;
    }
    if (s->anonymous && (s->sub || s->email || s->ngroups)) {
        err(ctx, join(p, ptr, "anonymous"), 1,
            "an anonymous subject has no sub, email or groups (expected either \"anonymous\": "
            "true alone, or an identity)");
        errors++;
    }
    if (!s->anonymous && !s->sub) {
        err(ctx, ptr, 0,
            "missing required key \"sub\" (expected the subject's id, or "
            "\"anonymous\": true)");
        errors++;
    }
    return errors;
}

typedef struct {
    char *out;
    size_t cap;
    int done;
} first_err_t;

static void first_err(void *ctx, const char *ptr, int key, const char *msg)
{
    first_err_t *f = ctx;
    if (f->done)
        return;
    f->done = 1;
    /* display as a path: /groups/1 → groups[1] */
    char path[PTR_MAX] = "";
    size_t len = 0;
    const char *s = ptr;
    while (*s == '/' && len + 1 < sizeof(path)) {
        const char *e = strchr(s + 1, '/');
        int n = (int)(e ? (size_t)(e - s - 1) : strlen(s + 1));
        int digits = n > 0;
        for (int i = 0; i < n; i++)
            digits &= s[1 + i] >= '0' && s[1 + i] <= '9';
        if (digits)
            snprintf(path + len, sizeof(path) - len, "[%.*s]", n, s + 1);
        else
            snprintf(path + len, sizeof(path) - len, "%s%.*s", len ? "." : "", n, s + 1);
        len = strlen(path);
        s = e ? e : s + 1 + n;
    }
    (void)key;
    char raw[4096];
    snprintf(raw, sizeof(raw), "%s%s%s", path, *path ? ": " : "", msg);
    escape_controls(raw, f->out, f->cap);
}

int pol_subject_parse(const char *json, size_t len, cmn_arena_t *arena, pol_subject_t *out,
                      char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char text_safe[JSON_ERROR_TEXT_LENGTH * 4];
        escape_controls(jerr.text, text_safe, sizeof(text_safe));
        snprintf(err, errlen, "line %d, column %d: %s", jerr.line, jerr.column, text_safe);
        return CMN_ERR_PARSE;
    }
    first_err_t f = {err, errlen, 0};
    int errors = subject_from_json(root, "", arena, out, first_err, &f);
    json_decref(root);
    return errors ? CMN_ERR_PARSE : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* tests                                                                                      */

static void diag_err(void *ctx, const char *ptr, int key, const char *msg)
{
    parser_t *ps = ctx;
    ERR(ps, ptr, key, "%s", msg);
}

static int request_valid(const char *s, const char **why)
{
    const char *sp = strchr(s, ' ');
    if (!sp || sp == s || sp - s > 16) {
        *why = "expected \"METHOD /path\", e.g. \"GET /acme/bert/resolve/main/config.json\"";
        return 0;
    }
    for (const char *c = s; c < sp; c++) {
        if (*c < 'A' || *c > 'Z') {
            *why = "the method must be upper-case letters (GET, HEAD, POST, PUT, PATCH, DELETE)";
            return 0;
        }
    }
    if (sp[1] != '/') {
        *why = "the request-target must start with '/' after one space";
        return 0;
    }
    for (const char *c = sp + 1; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
            *why = "the request-target must be printable ASCII without spaces "
                   "(percent-encode the rest, as clients do)";
            return 0;
        }
    }
    return 1;
}

static void parse_tests(parser_t *ps, json_t *root, const cmn_jsonpos_t *pos)
{
    static const char *const keys[] = {"name",         "subject", "request", "body",
                                       "content_type", "ip",      "region",  "expect",
                                       "rule",         "answer",  NULL};
    char ptr[PTR_MAX], p[PTR_MAX];
    pol_policy_t *pol = ps->p;
    json_t *tests = get_typed(ps, "", root, "tests", JSON_ARRAY, 0, "an array of test objects");
    if (!tests)
        return;
    size_t n = json_array_size(tests);
    pol->tests = alloc(ps, (n ? n : 1) * sizeof(ptest_t));
    if (!pol->tests)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(tests, i);
        join_index(ptr, "/tests", i);
        if (!json_is_object(t)) {
            ERR(ps, ptr, 0,
                "found %s, expected a test object with name, subject, request, "
                "expect",
                type_name(t));
            continue;
        }
        int errors = ps->diag.errors;
        check_keys(ps, ptr, t, keys);
        ptest_t *pt = &pol->tests[pol->ntests];
        memset(pt, 0, sizeof(*pt));
        (void)cmn_jsonpos_find(pos, ptr, 0, &pt->line, &pt->col);
        const char *name = get_string(ps, ptr, t, "name", 1, MAX_NAME_BYTES, "a test name");
        if (name) {
            for (size_t k = 0; k < pol->ntests; k++) {
                if (strcmp(pol->tests[k].name, name) == 0) {
                    ERR(ps, join(p, ptr, "name"), 0,
                        "duplicate test name \"%s\" (already at line %d; names identify "
                        "failures)",
                        name, pol->tests[k].line);
                    break;
                }
            }
            pt->name = dup(ps, name);
        }
        json_t *subj = json_object_get(t, "subject");
        if (!subj)
            ERR(ps, ptr, 0,
                "missing required key \"subject\" (expected an object like "
                "{\"sub\": \"alice\", \"groups\": [\"acme-ml\"]})");
        else
            subject_from_json(subj, join(p, ptr, "subject"), &pol->arena, &pt->subject, diag_err,
                              ps);

        const char *req =
            get_string(ps, ptr, t, "request", 1, MAX_TARGET_BYTES, "\"METHOD /path\"");
        const char *why = NULL;
        if (req && !request_valid(req, &why)) {
            ERR(ps, join(p, ptr, "request"), 0, "bad request \"%s\": %s", req, why);
        } else if (req) {
            const char *sp = strchr(req, ' ');
            pt->method = cmn_arena_strndup(&pol->arena, req, (size_t)(sp - req));
            pt->target = dup(ps, sp + 1);
        }
        json_t *body = json_object_get(t, "body");
        if (body) {
            if (json_is_string(body)) {
                pt->body = cmn_arena_strndup(&pol->arena, json_string_value(body),
                                             json_string_length(body));
                pt->body_len = json_string_length(body);
            } else if (json_is_object(body) || json_is_array(body)) {
                char *text = json_dumps(body, JSON_COMPACT);
                if (text) {
                    pt->body = dup(ps, text);
                    pt->body_len = strlen(text);
                    free(text);
                } else {
                    ps->oom = 1;
                }
            } else {
                ERR(ps, join(p, ptr, "body"), 0,
                    "found %s, expected the request body as a JSON object, array or string",
                    type_name(body));
            }
        }
        pt->content_type = get_string(ps, ptr, t, "content_type", 0, 256, "a media type");
        if (pt->content_type && !body)
            ERR(ps, join(p, ptr, "content_type"), 1,
                "\"content_type\" without a \"body\" (expected both or neither)");
        pt->content_type = pt->content_type ? dup(ps, pt->content_type)
                           : body           ? "application/json"
                                            : NULL;
        const char *ip = get_string(ps, ptr, t, "ip", 0, 64, "an IPv4 or IPv6 address");
        if (ip) {
            if (pol_ip_parse(ip, &pt->ip) != 0)
                ERR(ps, join(p, ptr, "ip"), 0,
                    "\"%s\" is not an IP address (expected e.g. \"10.1.2.3\" or \"2001:db8::1\")",
                    ip);
            pt->has_ip = 1;
            pt->ip_text = dup(ps, ip);
        }
        const char *region = get_string(ps, ptr, t, "region", 0, 64, "a region name");
        if (region && ps->opts && ps->opts->regions) {
            int known = 0;
            char expected[1024] = "";
            for (size_t k = 0; k < ps->opts->nregions; k++) {
                known |= strcmp(ps->opts->regions[k], region) == 0;
                strncat(expected, k ? ", " : "", sizeof(expected) - strlen(expected) - 1);
                strncat(expected, ps->opts->regions[k], sizeof(expected) - strlen(expected) - 1);
            }
            if (!known)
                ERR(ps, join(p, ptr, "region"), 0,
                    "unknown region \"%s\" (expected one of the configuration's regions: %s)",
                    region, expected);
        }
        pt->region = region ? dup(ps, region) : NULL;
        const char *expect = get_string(ps, ptr, t, "expect", 1, 16, "\"allow\" or \"deny\"");
        if (expect && strcmp(expect, "allow") != 0 && strcmp(expect, "deny") != 0)
            ERR(ps, join(p, ptr, "expect"), 0, "found \"%s\", expected \"allow\" or \"deny\"",
                expect);
        pt->expect = expect && strcmp(expect, "allow") == 0 ? POL_ALLOW : POL_DENY;
        const char *rule = get_string(ps, ptr, t, "rule", 0, 512, "the expected rule id");
        pt->expect_rule = rule ? dup(ps, rule) : NULL;
        const char *answer =
            get_string(ps, ptr, t, "answer", 0, 16, "\"not_found\" or \"forbidden\"");
        if (answer) {
            if (strcmp(answer, "not_found") == 0)
                pt->expect_answer = POL_ANSWER_NOT_FOUND;
            else if (strcmp(answer, "forbidden") == 0)
                pt->expect_answer = POL_ANSWER_FORBIDDEN;
            else
                ERR(ps, join(p, ptr, "answer"), 0,
                    "found \"%s\", expected \"not_found\" or \"forbidden\"", answer);
            pt->has_expect_answer = 1;
            if (expect && pt->expect == POL_ALLOW)
                ERR(ps, join(p, ptr, "answer"), 1,
                    "\"answer\" describes a denial (expected no \"answer\" when \"expect\" is "
                    "\"allow\")");
        }
        if (ps->diag.errors == errors)
            pol->ntests++;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* duplicate keys: jansson names the key and line but not the path; find every one           */

typedef struct {
    const char *p, *end;
    int line, col;
    parser_t *ps;
    char path[PTR_MAX];
    int found;
} dscan_t;

typedef struct {
    const char *key;
    size_t len;
    int line, col;
} dkey_t;

static void ds_advance(dscan_t *d)
{
    unsigned char c = (unsigned char)*d->p++;
    if (c == '\n') {
        d->line++;
        d->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        d->col++;
    }
}

static void ds_ws(dscan_t *d)
{
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
        ds_advance(d);
}

/* Skips a string at '"'; returns its raw content span. */
static void ds_string(dscan_t *d, const char **start, size_t *len)
{
    ds_advance(d);
    *start = d->p;
    while (d->p < d->end && *d->p != '"') {
        if (*d->p == '\\' && d->p + 1 < d->end)
            ds_advance(d);
        ds_advance(d);
    }
    *len = (size_t)(d->p - *start);
    if (d->p < d->end)
        ds_advance(d);
}

static void ds_value(dscan_t *d, int depth);

static void ds_container(dscan_t *d, int depth)
{
    char open = *d->p, close = open == '{' ? '}' : ']';
    size_t base = strlen(d->path);
    dkey_t *keys = NULL;
    size_t nkeys = 0, cap = 0;
    long index = 0;
    ds_advance(d);
    for (;;) {
        ds_ws(d);
        if (d->p >= d->end)
            break;
        if (*d->p == close) {
            ds_advance(d);
            break;
        }
        if (*d->p == ',' || (open == '{' && *d->p != '"')) {
            ds_advance(d);
            continue;
        }
        if (open == '{') {
            int kl = d->line, kc = d->col;
            const char *k;
            size_t kn;
            ds_string(d, &k, &kn);
            char seg[256];
            snprintf(seg, sizeof(seg), "%.*s", (int)(kn < 200 ? kn : 200), k);
            if (plain_segment(seg))
                snprintf(d->path + base, sizeof(d->path) - base, "%s%s", base ? "." : "", seg);
            else
                snprintf(d->path + base, sizeof(d->path) - base, "[\"%s\"]", seg);
            for (size_t i = 0; i < nkeys; i++) {
                if (keys[i].len == kn && memcmp(keys[i].key, k, kn) == 0) {
                    cmn_buf_printf(d->ps->diag.out,
                                   "%s:%d:%d: %s: duplicate key \"%s\" (first at line %d, "
                                   "column %d; each key may appear once)\n",
                                   d->ps->diag.file, kl, kc, d->path, seg, keys[i].line,
                                   keys[i].col);
                    d->ps->diag.errors++;
                    d->found++;
                    break;
                }
            }
            if (nkeys == cap) {
                cap = cap ? cap * 2 : 16;
                dkey_t *nk = realloc(keys, cap * sizeof(*nk));
                if (!nk)
                    break;
                keys = nk;
            }
            keys[nkeys++] = (dkey_t){k, kn, kl, kc};
            ds_ws(d);
            if (d->p < d->end && *d->p == ':')
                ds_advance(d);
        } else {
            snprintf(d->path + base, sizeof(d->path) - base, "[%ld]", index++);
        }
        ds_value(d, depth + 1);
        d->path[base] = '\0';
    }
    free(keys);
}

static void ds_value(dscan_t *d, int depth)
{
    ds_ws(d);
    if (d->p >= d->end || depth > 256)
        return;
    if (*d->p == '{' || *d->p == '[') {
        ds_container(d, depth);
    } else if (*d->p == '"') {
        const char *s;
        size_t n;
        ds_string(d, &s, &n);
    } else {
        do {
            ds_advance(d);
        } while (d->p < d->end && !memchr(",]} \t\r\n", *d->p, 7));
    }
}

/* ------------------------------------------------------------------------------------------ */
/* compile                                                                                    */

static uint32_t *build_table(parser_t *ps, size_t n, size_t *mask)
{
    size_t cap = 8;
    while (cap < n * 2)
        cap *= 2;
    *mask = cap - 1;
    return alloc(ps, cap * sizeof(uint32_t));
}

static void compile_tables(parser_t *ps)
{
    pol_policy_t *p = ps->p;
    p->otable = build_table(ps, p->norgs, &p->otable_mask);
    for (size_t i = 0; p->otable && i < p->norgs; i++) {
        size_t s = (size_t)pol_hash_str(p->orgs[i].lname, 1) & p->otable_mask;
        while (p->otable[s])
            s = (s + 1) & p->otable_mask;
        p->otable[s] = (uint32_t)i + 1;
    }
    p->etable = build_table(ps, p->nexternal, &p->etable_mask);
    for (size_t i = 0; p->etable && i < p->nexternal; i++) {
        size_t s = (size_t)pol_hash_str(p->external[i], 1) & p->etable_mask;
        while (p->etable[s])
            s = (s + 1) & p->etable_mask;
        p->etable[s] = (uint32_t)i + 1;
    }
    for (size_t i = 0; i < p->norgs; i++) {
        org_t *o = &p->orgs[i];
        o->mtable = build_table(ps, o->nmembers, &o->mtable_mask);
        for (size_t k = 0; o->mtable && k < o->nmembers; k++) {
            size_t s = (size_t)o->members[k].hash & o->mtable_mask;
            while (o->mtable[s])
                s = (s + 1) & o->mtable_mask;
            o->mtable[s] = (uint32_t)k + 1;
        }
    }
}

static void parse_root(parser_t *ps, json_t *root, const cmn_jsonpos_t *pos)
{
    static const char *const keys[] = {"version", "orgs",     "external", "personal_namespaces",
                                       "rules",   "auditors", "tests",    NULL};
    check_keys(ps, "", root, keys);
    json_t *v = json_object_get(root, "version");
    if (!v)
        ERR(ps, "", 0, "missing required key \"version\" (expected \"version\": 1)");
    else if (!json_is_integer(v))
        ERR(ps, "/version", 0, "found %s, expected 1 (the only policy format version)",
            type_name(v));
    else if (json_integer_value(v) != 1)
        ERR(ps, "/version", 0,
            "found %" JSON_INTEGER_FORMAT ", expected 1 (the only policy format version)",
            json_integer_value(v));
    parse_orgs(ps, root);
    parse_external(ps, root);
    parse_personal(ps, root);
    parse_auditors(ps, root);
    parse_rules(ps, root);
    parse_tests(ps, root, pos);
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
    cmn_arena_init(&p->arena, ARENA_BLOCK, ARENA_MAX);
    parser_t ps = {
        .diag = {.file = name, .pos = NULL, .out = errors, .errors = 0}, .p = p, .opts = opts};
    cmn_jsonpos_t *pos = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    cmn_sha256_hex(text, len, p->sha256);
    p->name = dup(&ps, name);
    if (opts && opts->default_region)
        p->default_region = dup(&ps, opts->default_region);
    if (len > POL_MAX_POLICY_BYTES) {
        cmn_buf_printf(errors, "%s: %zu bytes, larger than the %d MiB a policy may be\n", name, len,
                       POL_MAX_POLICY_BYTES >> 20);
        ps.diag.errors++;
        goto out;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (strstr(jerr.text, "duplicate object key")) {
            /* Name every duplicate with its path, not just jansson's first one. */
            dscan_t d = {text, text + len, 1, 1, &ps, "", 0};
            json_t *loose = json_loadb(text, len, 0, NULL);
            if (loose)
                ds_value(&d, 0);
            json_decref(loose);
            if (d.found)
                goto out;
        }
        char text_safe[JSON_ERROR_TEXT_LENGTH * 4];
        escape_controls(jerr.text, text_safe, sizeof(text_safe));
        cmn_jdiag_syntax(&ps.diag, jerr.line, jerr.column, text_safe);
        goto out;
    }
    if (!json_is_object(root)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "found %s, expected the policy object {\"version\": 1, ...}",
                 type_name(root));
        cmn_jdiag_syntax(&ps.diag, 1, 1, msg);
        goto out;
    }
    pos = cmn_jsonpos_build(text, len);
    ps.diag.pos = pos;
    parse_root(&ps, root, pos);
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
    int rc = cmn_buf_read_file(&text, path);
    if (rc) {
        cmn_buf_printf(errors, "%s: cannot read: %s\n", path,
                       rc == CMN_ERR_IO         ? strerror(errno)
                       : rc == CMN_ERR_TOOBIG   ? "larger than the 16 MiB a policy may be"
                       : rc == CMN_ERR_NOTFOUND ? "no such file"
                                                : cmn_err_str(rc));
        goto out;
    }
    p = pol_policy_parse(text.data ? text.data : "", text.len, path, opts, errors);
out:
    cmn_buf_free(&text);
    return p;
}

pol_policy_t *pol_policy_ref(pol_policy_t *p)
{
    if (p)
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void pol_policy_unref(pol_policy_t *p)
{
    if (!p)
        return;
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    cmn_arena_free(&p->arena);
    free(p);
}

const char *pol_policy_sha256(const pol_policy_t *p)
{
    return p->sha256;
}

const char *pol_policy_name(const pol_policy_t *p)
{
    return p->name;
}

void pol_policy_stats(const pol_policy_t *p, pol_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->orgs = p->norgs;
    for (size_t i = 0; i < p->norgs; i++) {
        out->members += p->orgs[i].nmembers;
        out->resource_groups += p->orgs[i].nrgroups;
    }
    out->rules = p->nrules;
    out->tests = p->ntests;
    out->external_namespaces = p->nexternal;
    out->auditors = p->nauditors;
}
