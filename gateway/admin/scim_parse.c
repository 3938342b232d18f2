/* SCIM 2.0 bodies, filters and answers (see scim_parse.h). Reading is lenient where Okta and
 * Entra differ from RFC 7644 (op case, string booleans, path-less dotted keys, member removal
 * by value array) and strict where a misread would leave someone with access: a deactivation
 * or a membership change hubgate cannot read is an error the directory sees and retries, never
 * a success that changed nothing. */
#include "gateway/admin/scim_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/err.h"
#include "common/jdiag.h"

#define URN_USER          "urn:ietf:params:scim:schemas:core:2.0:User"
#define URN_GROUP         "urn:ietf:params:scim:schemas:core:2.0:Group"
#define URN_LIST          "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define URN_ERROR         "urn:ietf:params:scim:api:messages:2.0:Error"
#define URN_SPC           "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define URN_RESOURCE_TYPE "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
#define URN_SCHEMA        "urn:ietf:params:scim:schemas:core:2.0:Schema"

/* =========================================================================================
 * Reasons and strings
 * ========================================================================================= */

/* A one-line reason, made in the arena; `fallback` (static) when the arena is full. Text from
 * the request goes in only through shown(). */
__attribute__((format(printf, 3, 4))) static const char *whyf(cmn_arena_t *a, const char *fallback,
                                                              const char *fmt, ...)
{
    char line[320];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return fallback;
    const char *s = cmn_arena_strndup(a, line, strlen(line));
    return s ? s : fallback;
}

/* Request text fit for a reason: at most 40 bytes of printable ASCII, anything else '?', so a
 * reason stays one line of valid UTF-8 whatever was sent. */
static const char *shown(const char *s, size_t n, char out[48])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 40; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    if (n > 40) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

/* 1 when s[0..n) holds a control character: C0, DEL, or C1 (U+0080..U+009F, UTF-8 C2 80..9F). */
static int has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 1;
        if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9f)
            return 1;
    }
    return 0;
}

/* Checks a string hubgate keeps (at most GW_SCIM_MAX_STRING_BYTES, no control character) and
 * copies it into the arena. `what` names it in the reason. */
static int keep_bytes(cmn_arena_t *a, const char *s, size_t n, const char *what, const char **out,
                      const char **why)
{
    if (n > GW_SCIM_MAX_STRING_BYTES) {
        *why = whyf(a, "a value is too long", "%s: longer than %d bytes", what,
                    GW_SCIM_MAX_STRING_BYTES);
        return CMN_ERR_PARSE;
    }
    if (has_control(s, n)) {
        *why = whyf(a, "a value holds a control character", "%s: holds a control character", what);
        return CMN_ERR_PARSE;
    }
    *out = cmn_arena_strndup(a, s, n);
    return *out ? 0 : CMN_ERR_NOMEM;
}

/* JSON null counts as absent: Entra sends "title": null for what it has no value of. */
static int present(const json_t *v)
{
    return v && !json_is_null(v);
}

/* A string value hubgate keeps, or NULL when absent, null or "" (optional attributes). */
static int keep_optional(cmn_arena_t *a, const json_t *v, const char *what, const char **out,
                         const char **why)
{
    *out = NULL;
    if (!present(v))
        return 0;
    if (!json_is_string(v)) {
        *why = whyf(a, "a value is not a string", "%s: expected a string, found %s", what,
                    cmn_jdiag_type(v));
        return CMN_ERR_PARSE;
    }
    if (json_string_length(v) == 0)
        return 0;
    return keep_bytes(a, json_string_value(v), json_string_length(v), what, out, why);
}

/* A string value that must be there and non-empty (userName, a group's displayName). */
static int keep_required(cmn_arena_t *a, const json_t *v, const char *what, const char **out,
                         const char **why)
{
    int rc = keep_optional(a, v, what, out, why);
    if (rc == 0 && !*out) {
        *why = whyf(a, "a required value is missing", "%s: required (a non-empty string)", what);
        return CMN_ERR_PARSE;
    }
    return rc;
}

/* A boolean as Okta (true/false) or Entra ("True", "False") sends it. */
static int read_bool(cmn_arena_t *a, const json_t *v, const char *what, int *out, const char **why)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v) && strcasecmp(json_string_value(v), "true") == 0) {
        *out = 1;
        return 0;
    }
    if (json_is_string(v) && strcasecmp(json_string_value(v), "false") == 0) {
        *out = 0;
        return 0;
    }
    if (json_is_string(v)) {
        char buf[48];
        *why = whyf(a, "a value is not a boolean", "%s: expected true or false, found \"%s\"", what,
                    shown(json_string_value(v), json_string_length(v), buf));
    } else {
        *why = whyf(a, "a value is not a boolean", "%s: expected true or false, found %s", what,
                    v ? cmn_jdiag_type(v) : "nothing");
    }
    return CMN_ERR_PARSE;
}

/* =========================================================================================
 * Bodies and attribute names
 * ========================================================================================= */

/* Parses a body into its top-level object (*root, a new reference). */
static int load(const char *body, size_t len, cmn_arena_t *a, json_t **root, const char **why)
{
    *root = NULL;
    if (!body || len == 0) {
        *why = "the body is empty";
        return CMN_ERR_PARSE;
    }
    if (len > GW_SCIM_MAX_BODY_BYTES) {
        *why = whyf(a, "the body is too large", "the body is larger than %d bytes",
                    GW_SCIM_MAX_BODY_BYTES);
        return CMN_ERR_TOOBIG;
    }
    json_error_t e;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    if (!v) {
        if (json_error_code(&e) == json_error_out_of_memory)
            return CMN_ERR_NOMEM;
        if (json_error_code(&e) == json_error_duplicate_key)
            *why = whyf(a, "the body names a key twice",
                        "the body names a key twice (line %d, column %d)", e.line, e.column);
        else
            *why = whyf(a, "the body is not JSON", "the body is not JSON (line %d, column %d)",
                        e.line, e.column);
        return CMN_ERR_PARSE;
    }
    if (!json_is_object(v)) {
        *why = whyf(a, "the body is not a JSON object", "the body is %s, not a JSON object",
                    cmn_jdiag_type(v));
        json_decref(v);
        return CMN_ERR_PARSE;
    }
    *root = v;
    return 0;
}

/* The attribute a key or path names once the core schema's URN is taken off
 * ("urn:…:core:2.0:User:userName" is "userName"); NULL when it names another schema's
 * attribute (an extension, which hubgate ignores). */
static const char *unqualified(const char *name, const char *urn)
{
    if (!urn || strncasecmp(name, "urn:", 4) != 0)
        return name;
    size_t n = strlen(urn);
    if (strncasecmp(name, urn, n) == 0 && name[n] == ':')
        return name + n + 1;
    return NULL;
}

typedef struct {
    const char *name;
    json_t *value; /* borrowed; NULL when absent */
} field_t;

/* Finds obj's members named fields[i].name in any case (RFC 7643 §2.1), qualified by urn or
 * not; the rest are ignored. A name given twice (in two cases) is refused: which one a reader
 * would take is a guess. `where` prefixes names in reasons ("name.", "emails[0]."). */
static int pick(cmn_arena_t *a, json_t *obj, const char *urn, field_t *fields, size_t n,
                const char *where, const char **why)
{
    for (size_t i = 0; i < n; i++)
        fields[i].value = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const char *name = unqualified(key, urn);
        if (!name)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (strcasecmp(name, fields[i].name) != 0)
                continue;
            if (fields[i].value) {
                *why = whyf(a, "an attribute is given twice", "%s%s: given twice", where,
                            fields[i].name);
                return CMN_ERR_PARSE;
            }
            fields[i].value = v;
        }
    }
    return 0;
}

/* =========================================================================================
 * Users
 * ========================================================================================= */

/* A name.{formatted,givenName,familyName} object into its three strings. */
static int read_name(cmn_arena_t *a, json_t *name, const char *parts[3], const char **why)
{
    parts[0] = parts[1] = parts[2] = NULL;
    if (!present(name))
        return 0;
    if (!json_is_object(name)) {
        *why = whyf(a, "name is not an object", "name: expected an object, found %s",
                    cmn_jdiag_type(name));
        return CMN_ERR_PARSE;
    }
    field_t f[] = {{"formatted", NULL}, {"givenName", NULL}, {"familyName", NULL}};
    int rc = pick(a, name, NULL, f, 3, "name.", why);
    if (rc == 0)
        rc = keep_optional(a, f[0].value, "name.formatted", &parts[0], why);
    if (rc == 0)
        rc = keep_optional(a, f[1].value, "name.givenName", &parts[1], why);
    if (rc == 0)
        rc = keep_optional(a, f[2].value, "name.familyName", &parts[2], why);
    return rc;
}

/* "given family", or whichever of the two there is (NULL for neither). */
static int join_name(cmn_arena_t *a, const char *given, const char *family, const char **out,
                     const char **why)
{
    *out = NULL;
    if (!given || !family) {
        *out = given ? given : family;
        return 0;
    }
    if (strlen(given) + 1 + strlen(family) > GW_SCIM_MAX_STRING_BYTES) {
        *why = whyf(a, "the name is too long",
                    "name: givenName and familyName together longer than %d bytes",
                    GW_SCIM_MAX_STRING_BYTES);
        return CMN_ERR_PARSE;
    }
    char *s = cmn_arena_printf(a, "%s %s", given, family);
    *out = s;
    return s ? 0 : CMN_ERR_NOMEM;
}

/* The address kept from an emails value: one email object, or an array of them. Every address
 * is checked; the kept one is the first primary, else the first. *has_primary tells whether a
 * primary was among them. */
static int read_emails(cmn_arena_t *a, json_t *v, const char *what, const char **out,
                       int *has_primary, const char **why)
{
    *out = NULL;
    *has_primary = 0;
    if (!present(v))
        return 0;
    if (!json_is_array(v) && !json_is_object(v)) {
        *why = whyf(a, "emails is not an array", "%s: expected an array of emails, found %s", what,
                    cmn_jdiag_type(v));
        return CMN_ERR_PARSE;
    }
    size_t count = json_is_array(v) ? json_array_size(v) : 1;
    const char *first = NULL;
    for (size_t i = 0; i < count; i++) {
        json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        char where[64];
        snprintf(where, sizeof(where), "%s[%zu].", what, i);
        if (!json_is_object(item)) {
            *why = whyf(a, "an email is not an object", "%s[%zu]: expected an object, found %s",
                        what, i, cmn_jdiag_type(item));
            return CMN_ERR_PARSE;
        }
        field_t f[] = {{"value", NULL}, {"primary", NULL}};
        int rc = pick(a, item, NULL, f, 2, where, why);
        const char *value = NULL;
        int primary = 0;
        char value_what[80];
        snprintf(value_what, sizeof(value_what), "%svalue", where);
        if (rc == 0)
            rc = keep_optional(a, f[0].value, value_what, &value, why);
        if (rc == 0 && present(f[1].value)) {
            snprintf(value_what, sizeof(value_what), "%sprimary", where);
            rc = read_bool(a, f[1].value, value_what, &primary, why);
        }
        if (rc != 0)
            return rc;
        if (!value)
            continue;
        if (!first)
            first = value;
        if (primary && !*has_primary) {
            *has_primary = 1;
            *out = value;
        }
    }
    if (!*has_primary)
        *out = first;
    return 0;
}

int gw_scim_user_parse(const char *body, size_t len, cmn_arena_t *a, gw_scim_user_t *out,
                       const char **why)
{
    memset(out, 0, sizeof(*out));
    out->active = 1;
    *why = NULL;
    gw_scim_user_t u = {NULL, NULL, NULL, NULL, 1};
    json_t *root = NULL;
    int rc = load(body, len, a, &root, why);
    if (rc != 0)
        return rc;
    field_t f[] = {{"userName", NULL}, {"externalId", NULL}, {"displayName", NULL},
                   {"name", NULL},     {"emails", NULL},     {"active", NULL}};
    const char *name[3], *joined = NULL;
    int has_primary;
    rc = pick(a, root, URN_USER, f, 6, "", why);
    if (rc == 0)
        rc = keep_required(a, f[0].value, "userName", &u.user_name, why);
    if (rc == 0)
        rc = keep_optional(a, f[1].value, "externalId", &u.external_id, why);
    if (rc == 0)
        rc = keep_optional(a, f[2].value, "displayName", &u.display_name, why);
    if (rc == 0)
        rc = read_name(a, f[3].value, name, why);
    if (rc == 0 && !u.display_name && !name[0])
        rc = join_name(a, name[1], name[2], &joined, why);
    if (rc == 0)
        rc = read_emails(a, f[4].value, "emails", &u.email, &has_primary, why);
    if (rc == 0 && present(f[5].value))
        rc = read_bool(a, f[5].value, "active", &u.active, why);
    if (rc == 0) {
        if (!u.display_name)
            u.display_name = name[0] ? name[0] : joined;
        *out = u;
    }
    json_decref(root);
    return rc;
}

/* ---- Paths ------------------------------------------------------------------------ */

enum { OP_ADD, OP_REPLACE, OP_REMOVE };

/* A path split as attr[filter].sub (RFC 7644 §3.5.2 PATH): spans of the path string. */
typedef struct {
    const char *attr;
    size_t attr_len;
    const char *filter; /* inside the brackets, or NULL */
    size_t filter_len;
    const char *sub; /* after the dot, or NULL */
    size_t sub_len;
} path_t;

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '$';
}

static size_t name_span(const char *s)
{
    size_t n = 0;
    while (name_char(s[n]))
        n++;
    return n;
}

/* Where the ']' closing a filter that starts at s is, quotes and escapes skipped; NULL when
 * none. */
static const char *closing_bracket(const char *s)
{
    int quoted = 0;
    for (; *s; s++) {
        if (quoted && *s == '\\' && s[1])
            s++;
        else if (*s == '"')
            quoted = !quoted;
        else if (!quoted && *s == ']')
            return s;
    }
    return NULL;
}

/* Splits path (qualified by urn or not). Returns 0, 1 when it names another schema's attribute
 * (ignored), or CMN_ERR_PARSE when it is no path. */
static int split_path(const char *path, const char *urn, path_t *p)
{
    memset(p, 0, sizeof(*p));
    const char *s = unqualified(path, urn);
    if (!s)
        return 1;
    p->attr = s;
    p->attr_len = name_span(s);
    if (p->attr_len == 0)
        return CMN_ERR_PARSE;
    s += p->attr_len;
    if (*s == '[') {
        const char *end = closing_bracket(s + 1);
        if (!end)
            return CMN_ERR_PARSE;
        p->filter = s + 1;
        p->filter_len = (size_t)(end - p->filter);
        s = end + 1;
    }
    if (*s == '.') {
        p->sub = s + 1;
        p->sub_len = name_span(p->sub);
        if (p->sub_len == 0)
            return CMN_ERR_PARSE;
        s = p->sub + p->sub_len;
    }
    return *s ? CMN_ERR_PARSE : 0;
}

static int span_is(const char *s, size_t n, const char *word)
{
    return s && strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* ---- Filter terms (shared by filter= and by paths' [filters]) ---------------------- */

typedef struct {
    const char *attr; /* span in the filter text */
    size_t attr_len;
    const char *value; /* decoded, in the arena */
} raw_term_t;

static int is_space(char c)
{
    return c == ' ';
}

/* Reads `attr op value` at s[*pos] (s[0..len)), spaces around it skipped. The attribute may
 * carry one [filter] when brackets is set. Errors are CMN_ERR_UNSUPPORTED with *why. */
static int read_term(cmn_arena_t *a, const char *s, size_t len, size_t *pos, int brackets,
                     raw_term_t *t, const char **why)
{
    char buf[48];
    size_t i = *pos;
    while (i < len && is_space(s[i]))
        i++;
    if (i < len && s[i] == '(') {
        *why = "filter: parentheses are not supported (only attr eq value, joined by and)";
        return CMN_ERR_UNSUPPORTED;
    }
    size_t start = i;
    while (i < len && (name_char(s[i]) || s[i] == '.' || s[i] == ':'))
        i++;
    if (brackets && i < len && s[i] == '[') {
        int quoted = 0;
        for (i++; i < len && (quoted || s[i] != ']'); i++) {
            if (quoted && s[i] == '\\' && i + 1 < len)
                i++;
            else if (s[i] == '"')
                quoted = !quoted;
        }
        if (i == len) {
            *why = "filter: a '[' is not closed";
            return CMN_ERR_UNSUPPORTED;
        }
        for (i++; i < len && (name_char(s[i]) || s[i] == '.');)
            i++;
    }
    t->attr = s + start;
    t->attr_len = i - start;
    if (t->attr_len == 0) {
        *why = whyf(a, "filter: expected an attribute", "filter: expected an attribute at \"%s\"",
                    shown(s + i, len - i, buf));
        return CMN_ERR_UNSUPPORTED;
    }
    if (span_is(t->attr, t->attr_len, "not")) {
        *why = "filter: not is not supported (only attr eq value, joined by and)";
        return CMN_ERR_UNSUPPORTED;
    }
    if (i == len || !is_space(s[i])) {
        *why = whyf(a, "filter: expected an operator",
                    "filter: expected a space and an operator after \"%s\"",
                    shown(t->attr, t->attr_len, buf));
        return CMN_ERR_UNSUPPORTED;
    }
    while (i < len && is_space(s[i]))
        i++;
    size_t op = i;
    while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
        i++;
    if (!span_is(s + op, i - op, "eq")) {
        static const char *const ops[] = {"ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"};
        for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
            if (span_is(s + op, i - op, ops[k])) {
                *why =
                    whyf(a, "filter: only the eq operator is supported",
                         "filter: operator %s is not supported (only eq, joined by and)", ops[k]);
                return CMN_ERR_UNSUPPORTED;
            }
        }
        *why = whyf(a, "filter: expected an operator", "filter: expected eq, found \"%s\"",
                    shown(s + op, len - op, buf));
        return CMN_ERR_UNSUPPORTED;
    }
    if (i == len || !is_space(s[i])) {
        *why = "filter: expected a value after eq";
        return CMN_ERR_UNSUPPORTED;
    }
    while (i < len && is_space(s[i]))
        i++;
    size_t vstart = i;
    if (i < len && s[i] == '"') {
        for (i++; i < len && s[i] != '"'; i++) {
            if (s[i] == '\\' && i + 1 < len)
                i++;
        }
        if (i == len) {
            *why = "filter: a quoted value is not closed";
            return CMN_ERR_UNSUPPORTED;
        }
        i++;
        json_error_t e;
        json_t *v = json_loadb(s + vstart, i - vstart, JSON_DECODE_ANY, &e);
        if (!v || !json_is_string(v)) {
            json_decref(v);
            *why = "filter: a quoted value is not a valid JSON string";
            return CMN_ERR_UNSUPPORTED;
        }
        const char *value = NULL;
        int rc =
            keep_bytes(a, json_string_value(v), json_string_length(v), "filter value", &value, why);
        json_decref(v);
        if (rc != 0)
            return rc == CMN_ERR_PARSE ? CMN_ERR_UNSUPPORTED : rc;
        t->value = value;
    } else {
        /* One unquoted word, as in Entra's `externalId eq jyoung`. */
        while (i < len && !is_space(s[i]) && s[i] != '(' && s[i] != ')' && s[i] != '[' &&
               s[i] != ']' && s[i] != '"')
            i++;
        if (i == vstart) {
            *why = "filter: expected a value after eq";
            return CMN_ERR_UNSUPPORTED;
        }
        const char *value = NULL;
        int rc = keep_bytes(a, s + vstart, i - vstart, "filter value", &value, why);
        if (rc != 0)
            return rc == CMN_ERR_PARSE ? CMN_ERR_UNSUPPORTED : rc;
        t->value = value;
    }
    if (i < len && !is_space(s[i])) {
        *why = whyf(a, "filter: unexpected text after a value",
                    "filter: unexpected \"%s\" after a value", shown(s + i, len - i, buf));
        return CMN_ERR_UNSUPPORTED;
    }
    while (i < len && is_space(s[i]))
        i++;
    *pos = i;
    return 0;
}

/* The single `attr eq value` inside a path's or an attribute's brackets. */
static int bracket_term(cmn_arena_t *a, const char *f, size_t n, raw_term_t *t, const char **why)
{
    size_t pos = 0;
    int rc = read_term(a, f, n, &pos, 0, t, why);
    if (rc == 0 && pos != n) {
        *why = "a [filter] in a path may hold only one attr eq value";
        rc = CMN_ERR_UNSUPPORTED;
    }
    return rc;
}

/* 1 when an emails[...] filter picks the address hubgate keeps: type eq "work" (what Entra
 * maps mail to) or primary eq true. */
static int picks_kept_email(const raw_term_t *t)
{
    return (span_is(t->attr, t->attr_len, "type") && strcasecmp(t->value, "work") == 0) ||
           (span_is(t->attr, t->attr_len, "primary") && strcasecmp(t->value, "true") == 0);
}

/* ---- User patches ----------------------------------------------------------------- */

/* What one PatchOp request carries, applied to a copy of the user. */
typedef struct {
    cmn_arena_t *a;
    const char **why;
    gw_scim_user_t u;
    unsigned touched;
    size_t op; /* index of the operation being applied, for reasons */
    /* names carried by this request (has_*: named at all, even to clear) */
    int has_display, has_formatted, has_given, has_family;
    const char *display, *formatted, *given, *family;
} user_patch_t;

/* Targets of a path-less value's keys: one key per target (e.g. not both "emails" and
 * "emails[type eq \"work\"].value"). */
enum {
    T_ACTIVE = 1u << 0,
    T_USER_NAME = 1u << 1,
    T_EXTERNAL_ID = 1u << 2,
    T_DISPLAY = 1u << 3,
    T_NAME = 1u << 4,
    T_FORMATTED = 1u << 5,
    T_GIVEN = 1u << 6,
    T_FAMILY = 1u << 7,
    T_EMAIL = 1u << 8,
};

static int op_error(user_patch_t *p, const char *path, const char *what)
{
    char buf[48];
    *p->why = whyf(p->a, "an operation cannot be applied", "Operations[%zu]: %s%s%s%s", p->op,
                   path ? "path \"" : "", path ? shown(path, strlen(path), buf) : "",
                   path ? "\": " : "", what);
    return CMN_ERR_PARSE;
}

/* A name part (formatted, givenName, familyName) carried by the request. */
static int carry_name_part(user_patch_t *p, int op, json_t *v, const char *what, int *has,
                           const char **part)
{
    *has = 1;
    if (op == OP_REMOVE) {
        *part = NULL;
        return 0;
    }
    return keep_optional(p->a, v, what, part, p->why);
}

static int user_apply_email(user_patch_t *p, int op, const char *path, const path_t *pp, json_t *v,
                            unsigned *target)
{
    const char *why_term = NULL;
    if (pp->filter) {
        raw_term_t t;
        int rc = bracket_term(p->a, pp->filter, pp->filter_len, &t, &why_term);
        if (rc == CMN_ERR_NOMEM)
            return rc;
        if (rc != 0)
            return op_error(p, path, why_term);
        if (!picks_kept_email(&t))
            return 0; /* another type's address: hubgate keeps one */
    }
    if (pp->sub && !span_is(pp->sub, pp->sub_len, "value"))
        return 0; /* emails[…].type, .primary, .display */
    *target = T_EMAIL;
    p->touched |= GW_SCIM_USER_EMAIL;
    if (op == OP_REMOVE || !present(v)) {
        p->u.email = NULL;
        return 0;
    }
    if (pp->sub) /* emails.value, emails[type eq "work"].value: the address itself */
        return keep_optional(p->a, v, "emails.value", &p->u.email, p->why);
    /* emails, emails[type eq "work"]: email objects */
    const char *email;
    int has_primary;
    int rc = read_emails(p->a, v, "emails", &email, &has_primary, p->why);
    if (rc != 0)
        return rc;
    /* Adding to a list keeps the address hubgate has unless the new one is primary. */
    if (op == OP_REPLACE || pp->filter || has_primary || !p->u.email)
        p->u.email = email;
    return 0;
}

/* Applies one operation at path (a path-less value's key, or the operation's path) with value v
 * (NULL for a remove without one). *target gets the T_* it set (0: ignored). */
static int user_apply(void *ctx, int op, const char *path, json_t *v, unsigned *target)
{
    user_patch_t *p = ctx;
    *target = 0;
    path_t pp;
    int rc = split_path(path, URN_USER, &pp);
    if (rc == 1)
        return 0; /* an extension's attribute */
    if (rc != 0)
        return op_error(p, path, "not a valid path");
    int plain = !pp.filter && !pp.sub;
    if (span_is(pp.attr, pp.attr_len, "active")) {
        if (!plain)
            return op_error(p, path, "active has no sub-attributes");
        if (op == OP_REMOVE)
            return op_error(p, path, "active cannot be removed");
        *target = T_ACTIVE;
        p->touched |= GW_SCIM_USER_ACTIVE;
        return read_bool(p->a, v, "active", &p->u.active, p->why);
    }
    if (span_is(pp.attr, pp.attr_len, "userName")) {
        if (!plain)
            return op_error(p, path, "userName has no sub-attributes");
        if (op == OP_REMOVE)
            return op_error(p, path, "userName is required and cannot be removed");
        *target = T_USER_NAME;
        p->touched |= GW_SCIM_USER_NAME;
        return keep_required(p->a, v, "userName", &p->u.user_name, p->why);
    }
    if (span_is(pp.attr, pp.attr_len, "externalId")) {
        if (!plain)
            return op_error(p, path, "externalId has no sub-attributes");
        *target = T_EXTERNAL_ID;
        p->touched |= GW_SCIM_USER_EXTERNAL_ID;
        if (op == OP_REMOVE) {
            p->u.external_id = NULL;
            return 0;
        }
        return keep_optional(p->a, v, "externalId", &p->u.external_id, p->why);
    }
    if (span_is(pp.attr, pp.attr_len, "displayName")) {
        if (!plain)
            return op_error(p, path, "displayName has no sub-attributes");
        *target = T_DISPLAY;
        return carry_name_part(p, op, v, "displayName", &p->has_display, &p->display);
    }
    if (span_is(pp.attr, pp.attr_len, "name")) {
        if (pp.filter)
            return op_error(p, path, "name is single-valued and takes no filter");
        if (!pp.sub) {
            *target = T_NAME;
            const char *parts[3] = {NULL, NULL, NULL};
            if (op == OP_REMOVE || !present(v)) {
                p->has_formatted = p->has_given = p->has_family = 1;
                p->formatted = p->given = p->family = NULL;
                return 0;
            }
            if (!json_is_object(v))
                return op_error(p, path, "the value of name must be an object");
            field_t f[] = {{"formatted", NULL}, {"givenName", NULL}, {"familyName", NULL}};
            rc = pick(p->a, v, NULL, f, 3, "name.", p->why);
            if (rc != 0)
                return rc;
            rc = read_name(p->a, v, parts, p->why);
            if (rc != 0)
                return rc;
            /* Sub-attributes not in the value are left as they were (RFC 7644 §3.5.2.3). */
            if (f[0].value)
                p->has_formatted = 1, p->formatted = parts[0];
            if (f[1].value)
                p->has_given = 1, p->given = parts[1];
            if (f[2].value)
                p->has_family = 1, p->family = parts[2];
            return 0;
        }
        if (span_is(pp.sub, pp.sub_len, "formatted")) {
            *target = T_FORMATTED;
            return carry_name_part(p, op, v, "name.formatted", &p->has_formatted, &p->formatted);
        }
        if (span_is(pp.sub, pp.sub_len, "givenName")) {
            *target = T_GIVEN;
            return carry_name_part(p, op, v, "name.givenName", &p->has_given, &p->given);
        }
        if (span_is(pp.sub, pp.sub_len, "familyName")) {
            *target = T_FAMILY;
            return carry_name_part(p, op, v, "name.familyName", &p->has_family, &p->family);
        }
        return 0; /* middleName, honorificPrefix …: not kept */
    }
    if (span_is(pp.attr, pp.attr_len, "emails"))
        return user_apply_email(p, op, path, &pp, v, target);
    return 0; /* title, phoneNumbers, addresses, password, id, schemas …: not kept */
}

/* The display name this request gives, by the create rule (see scim_parse.h). */
static int settle_display_name(user_patch_t *p)
{
    const char *chosen = NULL;
    int decided = 0;
    if (p->has_display && p->display) {
        chosen = p->display, decided = 1;
    } else if (p->has_formatted && p->formatted) {
        chosen = p->formatted, decided = 1;
    } else if (p->has_given && p->has_family) {
        int rc = join_name(p->a, p->given, p->family, &chosen, p->why);
        if (rc != 0)
            return rc;
        decided = 1;
    } else if (p->has_display) {
        decided = 1; /* displayName removed, and no name to take its place */
    }
    if (decided) {
        p->u.display_name = chosen;
        p->touched |= GW_SCIM_USER_DISPLAY_NAME;
    }
    return 0;
}

/* The fields of one operation object, and its op code. */
static int read_operation(cmn_arena_t *a, json_t *item, size_t i, int *op, const char **path,
                          json_t **value, const char **why)
{
    char buf[48];
    if (!json_is_object(item)) {
        *why = whyf(a, "an operation is not an object",
                    "Operations[%zu]: expected an object, found %s", i, cmn_jdiag_type(item));
        return CMN_ERR_PARSE;
    }
    char where[48];
    snprintf(where, sizeof(where), "Operations[%zu].", i);
    field_t f[] = {{"op", NULL}, {"path", NULL}, {"value", NULL}};
    int rc = pick(a, item, NULL, f, 3, where, why);
    if (rc != 0)
        return rc;
    const char *name = json_string_value(f[0].value);
    if (!name) {
        *why = whyf(a, "an operation has no op",
                    "Operations[%zu].op: expected add, replace or remove", i);
        return CMN_ERR_PARSE;
    }
    if (strcasecmp(name, "add") == 0)
        *op = OP_ADD;
    else if (strcasecmp(name, "replace") == 0)
        *op = OP_REPLACE;
    else if (strcasecmp(name, "remove") == 0)
        *op = OP_REMOVE;
    else {
        *why = whyf(a, "an operation's op is unknown",
                    "Operations[%zu].op: \"%s\" is not add, replace or remove", i,
                    shown(name, json_string_length(f[0].value), buf));
        return CMN_ERR_PARSE;
    }
    *path = NULL;
    if (present(f[1].value)) {
        const json_t *p = f[1].value;
        if (!json_is_string(p) || json_string_length(p) == 0 ||
            json_string_length(p) > GW_SCIM_MAX_PATH_BYTES ||
            has_control(json_string_value(p), json_string_length(p))) {
            *why = whyf(a, "an operation's path is not a valid path",
                        "Operations[%zu].path: expected a path of 1 to %d bytes without control "
                        "characters",
                        i, GW_SCIM_MAX_PATH_BYTES);
            return CMN_ERR_PARSE;
        }
        *path = json_string_value(p);
    }
    *value = f[2].value;
    if (!*path && *op == OP_REMOVE) {
        *why = whyf(a, "a remove operation has no path",
                    "Operations[%zu]: remove needs a path (noTarget)", i);
        return CMN_ERR_PARSE;
    }
    if (!*path && !json_is_object(*value)) {
        *why = whyf(a, "an operation without a path needs an object value",
                    "Operations[%zu]: without a path, the value must be an object, found %s", i,
                    *value ? cmn_jdiag_type(*value) : "nothing");
        return CMN_ERR_PARSE;
    }
    return 0;
}

/* The Operations array of a PatchOp body. */
static int read_operations(cmn_arena_t *a, json_t *root, json_t **ops, const char **why)
{
    field_t f[] = {{"Operations", NULL}};
    int rc = pick(a, root, NULL, f, 1, "", why);
    if (rc != 0)
        return rc;
    *ops = f[0].value;
    if (!json_is_array(*ops) || json_array_size(*ops) == 0) {
        *why = "Operations: expected a non-empty array of operations";
        return CMN_ERR_PARSE;
    }
    if (json_array_size(*ops) > GW_SCIM_MAX_OPERATIONS) {
        *why = whyf(a, "too many operations", "Operations: more than %d operations",
                    GW_SCIM_MAX_OPERATIONS);
        return CMN_ERR_TOOBIG;
    }
    return 0;
}

/* Applies one path of an operation to a user or a group (ctx); *target gets the attribute it
 * set (a bit; 0 when the path was ignored). */
typedef int (*apply_fn)(void *ctx, int op, const char *path, json_t *v, unsigned *target);

/* A path-less operation: each key of the object value is a path, and no two of them may set
 * the same attribute ({"active": false, "Active": true} is refused, not read in some order). */
static int apply_keys(cmn_arena_t *a, size_t i, apply_fn apply, void *ctx, int op, json_t *value,
                      const char **why)
{
    unsigned seen = 0;
    const char *key;
    json_t *v;
    json_object_foreach(value, key, v)
    {
        unsigned target = 0;
        size_t n = strlen(key);
        if (n > GW_SCIM_MAX_PATH_BYTES || has_control(key, n)) {
            *why = whyf(a, "a key of the value is not a valid path",
                        "Operations[%zu]: a key of the value is not a valid path", i);
            return CMN_ERR_PARSE;
        }
        int rc = apply(ctx, op, key, v, &target);
        if (rc != 0)
            return rc;
        if (seen & target) {
            char buf[48];
            *why = whyf(a, "the value sets an attribute twice",
                        "Operations[%zu]: the value sets \"%s\" twice", i, shown(key, n, buf));
            return CMN_ERR_PARSE;
        }
        seen |= target;
    }
    return 0;
}

/* Runs a PatchOp's operations in order through apply; *op_index follows them for reasons. */
static int run_operations(cmn_arena_t *a, json_t *ops, apply_fn apply, void *ctx, size_t *op_index,
                          const char **why)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(ops); i++) {
        int op;
        const char *path;
        json_t *value;
        unsigned target;
        *op_index = i;
        rc = read_operation(a, json_array_get(ops, i), i, &op, &path, &value, why);
        if (rc == 0 && path)
            rc = apply(ctx, op, path, value, &target);
        else if (rc == 0)
            rc = apply_keys(a, i, apply, ctx, op, value, why);
    }
    return rc;
}

int gw_scim_user_patch(const char *body, size_t len, cmn_arena_t *a, gw_scim_user_t *u,
                       unsigned *touched, const char **why)
{
    *why = NULL;
    if (touched)
        *touched = 0;
    json_t *root = NULL, *ops = NULL;
    int rc = load(body, len, a, &root, why);
    if (rc != 0)
        return rc;
    rc = read_operations(a, root, &ops, why);
    user_patch_t p;
    memset(&p, 0, sizeof(p));
    p.a = a;
    p.why = why;
    p.u = *u;
    if (rc == 0)
        rc = run_operations(a, ops, user_apply, &p, &p.op, why);
    if (rc == 0)
        rc = settle_display_name(&p);
    if (rc == 0) {
        *u = p.u;
        if (touched)
            *touched = p.touched;
    }
    json_decref(root);
    return rc;
}

/* =========================================================================================
 * Groups
 * ========================================================================================= */

/* A growing list of member ids in the arena (old arrays are left behind: at most twice the
 * final size). */
typedef struct {
    const char **ids;
    size_t n, cap;
} id_list_t;

static int id_list_push(cmn_arena_t *a, id_list_t *l, const char *id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        const char **ids = cmn_arena_alloc(a, cap * sizeof(*ids));
        if (!ids)
            return CMN_ERR_NOMEM;
        if (l->n)
            memcpy(ids, l->ids, l->n * sizeof(*ids));
        l->ids = ids;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return 0;
}

/* Removes id from l (every copy). */
static void id_list_drop(id_list_t *l, const char *id)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->ids[i], id) != 0)
            l->ids[k++] = l->ids[i];
    }
    l->n = k;
}

/* The id of one member object ({"value": id, "$ref": …, "display": …}). */
static int member_id(cmn_arena_t *a, json_t *item, const char *what, size_t i, const char **id,
                     const char **why)
{
    char where[64];
    snprintf(where, sizeof(where), "%s[%zu].", what, i);
    if (!json_is_object(item)) {
        *why = whyf(a, "a member is not an object",
                    "%s[%zu]: expected an object with a value, found %s", what, i,
                    cmn_jdiag_type(item));
        return CMN_ERR_PARSE;
    }
    field_t f[] = {{"value", NULL}};
    int rc = pick(a, item, NULL, f, 1, where, why);
    char value_what[80];
    snprintf(value_what, sizeof(value_what), "%svalue", where);
    if (rc == 0)
        rc = keep_required(a, f[0].value, value_what, id, why);
    return rc;
}

static int too_many_members(cmn_arena_t *a, const char **why)
{
    *why = whyf(a, "too many members in one request", "more than %d members in one request",
                GW_SCIM_MAX_MEMBERS);
    return CMN_ERR_TOOBIG;
}

int gw_scim_group_parse(const char *body, size_t len, cmn_arena_t *a, gw_scim_group_t *out,
                        const char **why)
{
    memset(out, 0, sizeof(*out));
    *why = NULL;
    gw_scim_group_t g = {NULL, NULL, NULL, 0};
    json_t *root = NULL;
    int rc = load(body, len, a, &root, why);
    if (rc != 0)
        return rc;
    field_t f[] = {{"displayName", NULL}, {"externalId", NULL}, {"members", NULL}};
    rc = pick(a, root, URN_GROUP, f, 3, "", why);
    if (rc == 0)
        rc = keep_required(a, f[0].value, "displayName", &g.display_name, why);
    if (rc == 0)
        rc = keep_optional(a, f[1].value, "externalId", &g.external_id, why);
    if (rc == 0 && present(f[2].value)) {
        json_t *members = f[2].value;
        if (!json_is_array(members)) {
            *why = whyf(a, "members is not an array", "members: expected an array, found %s",
                        cmn_jdiag_type(members));
            rc = CMN_ERR_PARSE;
        } else if (json_array_size(members) > GW_SCIM_MAX_MEMBERS) {
            rc = too_many_members(a, why);
        } else if (json_array_size(members) > 0) {
            g.n_members = json_array_size(members);
            g.members = cmn_arena_alloc(a, g.n_members * sizeof(*g.members));
            if (!g.members)
                rc = CMN_ERR_NOMEM;
            for (size_t i = 0; rc == 0 && i < g.n_members; i++)
                rc = member_id(a, json_array_get(members, i), "members", i, &g.members[i], why);
        }
    }
    if (rc == 0)
        *out = g;
    json_decref(root);
    return rc;
}

typedef struct {
    cmn_arena_t *a;
    const char **why;
    const char *display_name;
    int replace_members;
    id_list_t add, remove;
    size_t seen; /* ids read so far, against GW_SCIM_MAX_MEMBERS */
    size_t op;
} group_patch_t;

static int group_op_error(group_patch_t *g, const char *path, const char *what)
{
    char buf[48];
    *g->why = whyf(g->a, "an operation cannot be applied", "Operations[%zu]: path \"%s\": %s",
                   g->op, shown(path, strlen(path), buf), what);
    return CMN_ERR_PARSE;
}

/* One member change: add (a later add cancels an earlier remove) or remove. */
static int member_change(group_patch_t *g, int add, const char *id)
{
    if (++g->seen > GW_SCIM_MAX_MEMBERS)
        return too_many_members(g->a, g->why);
    id_list_drop(add ? &g->remove : &g->add, id);
    return id_list_push(g->a, add ? &g->add : &g->remove, id);
}

/* add, remove or replace members with a value: an array of member objects, or one. */
static int member_values(group_patch_t *g, int add, json_t *v)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (!json_is_array(v) && !json_is_object(v)) {
        *g->why = whyf(g->a, "members must be an array of member objects",
                       "Operations[%zu]: members: expected an array of members, found %s", g->op,
                       cmn_jdiag_type(v));
        return CMN_ERR_PARSE;
    }
    if (n > GW_SCIM_MAX_MEMBERS || g->seen + n > GW_SCIM_MAX_MEMBERS)
        return too_many_members(g->a, g->why);
    char what[48];
    snprintf(what, sizeof(what), "Operations[%zu].value", g->op);
    for (size_t i = 0; i < n; i++) {
        const char *id;
        int rc = member_id(g->a, json_is_array(v) ? json_array_get(v, i) : v, what, i, &id, g->why);
        if (rc == 0)
            rc = member_change(g, add, id);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int group_apply(void *ctx, int op, const char *path, json_t *v, unsigned *target)
{
    group_patch_t *g = ctx;
    *target = 0;
    path_t pp;
    int rc = split_path(path, URN_GROUP, &pp);
    if (rc == 1)
        return 0;
    if (rc != 0)
        return group_op_error(g, path, "not a valid path");
    if (span_is(pp.attr, pp.attr_len, "displayName")) {
        if (pp.filter || pp.sub)
            return group_op_error(g, path, "displayName has no sub-attributes");
        if (op == OP_REMOVE)
            return group_op_error(g, path, "displayName is required and cannot be removed");
        *target = 1;
        return keep_required(g->a, v, "displayName", &g->display_name, g->why);
    }
    if (!span_is(pp.attr, pp.attr_len, "members"))
        return 0; /* externalId, id, schemas, meta …: not changed by a patch */
    *target = 2;
    if (pp.sub)
        return group_op_error(g, path, "members' sub-attributes cannot be patched");
    if (pp.filter) {
        raw_term_t t;
        const char *why_term = NULL;
        rc = bracket_term(g->a, pp.filter, pp.filter_len, &t, &why_term);
        if (rc == CMN_ERR_NOMEM)
            return rc;
        if (rc != 0)
            return group_op_error(g, path, why_term);
        if (!span_is(t.attr, t.attr_len, "value"))
            return group_op_error(g, path, "only members[value eq \"id\"] is supported");
        if (op != OP_REMOVE)
            return group_op_error(g, path, "members[value eq ...] is supported only with remove");
        if (!*t.value)
            return group_op_error(g, path, "the member id is empty");
        return member_change(g, 0, t.value);
    }
    if (op == OP_REMOVE && !present(v)) {
        /* remove every member (RFC 7644 §3.5.2.2) */
        g->replace_members = 1;
        g->add.n = g->remove.n = 0;
        return 0;
    }
    if (op == OP_REPLACE) {
        g->replace_members = 1;
        g->add.n = g->remove.n = 0;
        return present(v) ? member_values(g, 1, v) : 0;
    }
    if (!present(v))
        return group_op_error(g, path, "add needs a value");
    return member_values(g, op == OP_ADD, v);
}

int gw_scim_group_patch_parse(const char *body, size_t len, cmn_arena_t *a,
                              gw_scim_group_patch_t *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    *why = NULL;
    json_t *root = NULL, *ops = NULL;
    int rc = load(body, len, a, &root, why);
    if (rc != 0)
        return rc;
    rc = read_operations(a, root, &ops, why);
    group_patch_t g;
    memset(&g, 0, sizeof(g));
    g.a = a;
    g.why = why;
    if (rc == 0)
        rc = run_operations(a, ops, group_apply, &g, &g.op, why);
    if (rc == 0) {
        out->display_name = g.display_name;
        out->replace_members = g.replace_members;
        out->add = g.add.n ? g.add.ids : NULL;
        out->n_add = g.add.n;
        out->remove = g.remove.n ? g.remove.ids : NULL;
        out->n_remove = g.remove.n;
    }
    json_decref(root);
    return rc;
}

/* =========================================================================================
 * Filters
 * ========================================================================================= */

/* The canonical name of a filter's attribute (see scim_parse.h), or NULL. */
static const char *canonical_attr(cmn_arena_t *a, const char *s, size_t n, int *nomem)
{
    static const char *const names[] = {"id",          "userName",     "externalId",
                                        "displayName", "emails.value", "members.value"};
    *nomem = 0;
    /* Without the core schemas' URNs: the attribute name follows their last ':'. */
    static const char *const urns[] = {URN_USER ":", URN_GROUP ":"};
    for (size_t k = 0; k < 2; k++) {
        size_t u = strlen(urns[k]);
        if (n > u && strncasecmp(s, urns[k], u) == 0) {
            s += u;
            n -= u;
            break;
        }
    }
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        if (span_is(s, n, names[k]))
            return names[k];
    }
    if (span_is(s, n, "emails"))
        return "emails.value";
    if (span_is(s, n, "members"))
        return "members.value";
    /* emails[type eq "work"].value, emails[primary eq true].value: the last ']' closes the
     * filter (read_term checked the brackets), ".value" must follow it. */
    if (n > 7 && strncasecmp(s, "emails[", 7) == 0) {
        size_t close = n;
        while (close > 7 && s[close - 1] != ']')
            close--;
        if (close <= 7 || !span_is(s + close, n - close, ".value"))
            return NULL;
        raw_term_t t;
        const char *why = NULL;
        int rc = bracket_term(a, s + 7, close - 1 - 7, &t, &why);
        if (rc == CMN_ERR_NOMEM)
            *nomem = 1;
        if (rc == 0 && picks_kept_email(&t))
            return "emails.value";
    }
    return NULL;
}

int gw_scim_filter_parse(const char *filter, cmn_arena_t *a, gw_scim_term_t *terms, size_t cap,
                         size_t *n, const char **why)
{
    *n = 0;
    *why = NULL;
    if (!filter) {
        *why = "filter: none given";
        return CMN_ERR_UNSUPPORTED;
    }
    size_t len = strnlen(filter, GW_SCIM_MAX_FILTER_BYTES + 1);
    if (len > GW_SCIM_MAX_FILTER_BYTES) {
        *why =
            whyf(a, "filter: too long", "filter: longer than %d bytes", GW_SCIM_MAX_FILTER_BYTES);
        return CMN_ERR_UNSUPPORTED;
    }
    if (has_control(filter, len)) {
        *why = "filter: holds a control character";
        return CMN_ERR_UNSUPPORTED;
    }
    size_t pos = 0;
    while (pos < len && is_space(filter[pos]))
        pos++;
    if (pos == len) {
        *why = "filter: empty";
        return CMN_ERR_UNSUPPORTED;
    }
    size_t count = 0;
    for (;;) {
        raw_term_t t;
        int rc = read_term(a, filter, len, &pos, 1, &t, why);
        if (rc != 0)
            return rc;
        int nomem;
        const char *attr = canonical_attr(a, t.attr, t.attr_len, &nomem);
        if (nomem)
            return CMN_ERR_NOMEM;
        if (!attr) {
            char buf[48];
            *why = whyf(a, "filter: an attribute is not supported",
                        "filter: attribute \"%s\" is not supported (id, userName, externalId, "
                        "displayName, emails.value, members.value)",
                        shown(t.attr, t.attr_len, buf));
            return CMN_ERR_UNSUPPORTED;
        }
        if (count == cap) {
            *why = whyf(a, "filter: too many terms", "filter: more than %zu terms", cap);
            return CMN_ERR_UNSUPPORTED;
        }
        terms[count].attr = attr;
        terms[count].value = t.value;
        count++;
        if (pos == len)
            break;
        size_t word = pos;
        while (pos < len && !is_space(filter[pos]))
            pos++;
        int is_and = span_is(filter + word, pos - word, "and");
        if (is_and && pos < len)
            continue;
        char buf[48];
        if (is_and)
            *why = "filter: nothing follows and";
        else if (span_is(filter + word, pos - word, "or"))
            *why = "filter: or is not supported (only attr eq value, joined by and)";
        else
            *why = whyf(a, "filter: expected and", "filter: expected and, found \"%s\"",
                        shown(filter + word, len - word, buf));
        return CMN_ERR_UNSUPPORTED;
    }
    *n = count;
    return 0;
}

/* =========================================================================================
 * Answers
 * ========================================================================================= */

/* RFC 3339 in UTC, seconds: "2026-01-02T03:04:05Z". */
static void rfc3339(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* base without its trailing '/', then "/", kind, "/", id: a new JSON string, or NULL. */
static json_t *location(const char *base, const char *kind, const char *id)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (!id)
        return json_sprintf("%.*s/%s", (int)n, base, kind);
    return json_sprintf("%.*s/%s/%s", (int)n, base, kind, id);
}

static json_t *meta_json(const char *resource_type, const gw_scim_meta_t *m, json_t *loc)
{
    char created[32], modified[32];
    rfc3339(m->created, created);
    rfc3339(m->last_modified, modified);
    return json_pack("{s:s, s:s, s:s, s:o}", "resourceType", resource_type, "created", created,
                     "lastModified", modified, "location", loc);
}

json_t *gw_scim_user_json(const gw_scim_user_t *u, const gw_scim_meta_t *m, const char *base)
{
    json_t *emails = NULL;
    if (u->email) {
        emails = json_pack("[{s:s, s:s, s:b}]", "value", u->email, "type", "work", "primary", 1);
        if (!emails)
            return NULL;
    }
    json_t *meta = meta_json("User", m, location(base, "Users", m->id));
    if (!meta) {
        json_decref(emails);
        return NULL;
    }
    return json_pack("{s:[s], s:s, s:s*, s:s, s:s*, s:o*, s:b, s:o}", "schemas", URN_USER, "id",
                     m->id, "externalId", u->external_id, "userName", u->user_name, "displayName",
                     u->display_name, "emails", emails, "active", u->active, "meta", meta);
}

json_t *gw_scim_group_json(const gw_scim_group_t *g, const gw_scim_meta_t *m, const char *base,
                           int with_members)
{
    json_t *members = NULL;
    if (with_members) {
        members = json_array();
        for (size_t i = 0; members && i < g->n_members; i++) {
            json_t *one = json_pack("{s:s, s:o}", "value", g->members[i], "$ref",
                                    location(base, "Users", g->members[i]));
            if (!one || json_array_append_new(members, one) != 0) {
                json_decref(members);
                return NULL;
            }
        }
        if (!members)
            return NULL;
    }
    json_t *meta = meta_json("Group", m, location(base, "Groups", m->id));
    if (!meta) {
        json_decref(members);
        return NULL;
    }
    return json_pack("{s:[s], s:s, s:s, s:s*, s:o*, s:o}", "schemas", URN_GROUP, "id", m->id,
                     "displayName", g->display_name, "externalId", g->external_id, "members",
                     members, "meta", meta);
}

json_t *gw_scim_list_json(json_t *resources, size_t total_results, size_t start_index)
{
    if (!json_is_array(resources)) {
        json_decref(resources);
        return NULL;
    }
    size_t page = json_array_size(resources);
    return json_pack("{s:[s], s:I, s:I, s:I, s:o}", "schemas", URN_LIST, "totalResults",
                     (json_int_t)total_results, "startIndex", (json_int_t)start_index,
                     "itemsPerPage", (json_int_t)page, "Resources", resources);
}

json_t *gw_scim_error_json(unsigned status, const char *scim_type, const char *detail)
{
    char code[16];
    snprintf(code, sizeof(code), "%u", status);
    return json_pack("{s:[s], s:s, s:s*, s:s*}", "schemas", URN_ERROR, "status", code, "scimType",
                     scim_type, "detail", detail);
}

json_t *gw_scim_service_provider_config_json(const char *base, size_t max_results)
{
    return json_pack(
        "{s:[s], s:{s:b}, s:{s:b, s:i, s:i}, s:{s:b, s:I}, s:{s:b}, s:{s:b}, s:{s:b},"
        " s:[{s:s, s:s, s:s, s:s, s:b}], s:{s:s, s:o}}",
        "schemas", URN_SPC, "patch", "supported", 1, "bulk", "supported", 0, "maxOperations", 0,
        "maxPayloadSize", 0, "filter", "supported", 1, "maxResults", (json_int_t)max_results,
        "changePassword", "supported", 0, "sort", "supported", 0, "etag", "supported", 0,
        "authenticationSchemes", "type", "oauthbearertoken", "name", "OAuth Bearer Token",
        "description", "The bearer token hubgate issued to this directory", "specUri",
        "https://www.rfc-editor.org/info/rfc6750", "primary", 1, "meta", "resourceType",
        "ServiceProviderConfig", "location", location(base, "ServiceProviderConfig", NULL));
}

static json_t *resource_type(const char *base, const char *name, const char *endpoint,
                             const char *description, const char *schema)
{
    return json_pack("{s:[s], s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o}}", "schemas", URN_RESOURCE_TYPE,
                     "id", name, "name", name, "endpoint", endpoint, "description", description,
                     "schema", schema, "meta", "resourceType", "ResourceType", "location",
                     location(base, "ResourceTypes", name));
}

json_t *gw_scim_resource_types_json(const char *base)
{
    json_t *list =
        json_pack("[o, o]", resource_type(base, "User", "/Users", "User Account", URN_USER),
                  resource_type(base, "Group", "/Groups", "Group", URN_GROUP));
    return list ? gw_scim_list_json(list, 2, 1) : NULL;
}

/* One attribute of a schema (RFC 7643 §7). */
typedef struct schema_attr {
    const char *name, *type, *description;
    int multi_valued, required, case_exact;
    const char *mutability, *uniqueness;
    const struct schema_attr *sub; /* subAttributes of a complex one */
    size_t n_sub;
    const char *reference_type; /* referenceTypes of a reference */
} schema_attr_t;

static json_t *attrs_json(const schema_attr_t *attrs, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        const schema_attr_t *s = &attrs[i];
        int is_text = strcmp(s->type, "string") == 0 || strcmp(s->type, "reference") == 0;
        json_t *one = json_pack("{s:s, s:s, s:b, s:s, s:b, s:s, s:s, s:s}", "name", s->name, "type",
                                s->type, "multiValued", s->multi_valued, "description",
                                s->description, "required", s->required, "mutability",
                                s->mutability, "returned", "default", "uniqueness", s->uniqueness);
        int bad = !one;
        if (!bad && is_text)
            bad = json_object_set_new(one, "caseExact", json_boolean(s->case_exact)) != 0;
        if (!bad && s->sub)
            bad = json_object_set_new(one, "subAttributes", attrs_json(s->sub, s->n_sub)) != 0;
        if (!bad && s->reference_type)
            bad = json_object_set_new(one, "referenceTypes", json_pack("[s]", s->reference_type)) !=
                  0;
        if (bad || json_array_append_new(list, one) != 0) {
            json_decref(one);
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

static const schema_attr_t email_sub[] = {
    {"value", "string", "The email address.", 0, 0, 0, "readWrite", "none", NULL, 0, NULL},
    {"type", "string", "work, home or other; hubgate keeps the work or primary address.", 0, 0, 0,
     "readWrite", "none", NULL, 0, NULL},
    {"primary", "boolean", "Whether this is the preferred address.", 0, 0, 0, "readWrite", "none",
     NULL, 0, NULL},
};

static const schema_attr_t user_attrs[] = {
    {"userName", "string",
     "The directory's unique name for the person, matched without regard to case.", 0, 1, 0,
     "readWrite", "server", NULL, 0, NULL},
    {"displayName", "string", "The name shown for the person.", 0, 0, 0, "readWrite", "none", NULL,
     0, NULL},
    {"emails", "complex", "The person's address; hubgate keeps one (work, else primary).", 1, 0, 0,
     "readWrite", "none", email_sub, 3, NULL},
    {"active", "boolean", "false ends every hubgate token and session of the person at once.", 0, 0,
     0, "readWrite", "none", NULL, 0, NULL},
};

static const schema_attr_t member_sub[] = {
    {"value", "string", "The id of a member user.", 0, 0, 1, "immutable", "none", NULL, 0, NULL},
    {"$ref", "reference", "The URI of the member user.", 0, 0, 1, "immutable", "none", NULL, 0,
     "User"},
};

static const schema_attr_t group_attrs[] = {
    {"displayName", "string", "The group's name.", 0, 1, 0, "readWrite", "none", NULL, 0, NULL},
    {"members", "complex", "The users in the group.", 1, 0, 0, "readWrite", "none", member_sub, 2,
     NULL},
};

static json_t *schema_json(const char *base, const char *id, const char *name,
                           const char *description, const schema_attr_t *attrs, size_t n)
{
    return json_pack("{s:[s], s:s, s:s, s:s, s:o, s:{s:s, s:o}}", "schemas", URN_SCHEMA, "id", id,
                     "name", name, "description", description, "attributes", attrs_json(attrs, n),
                     "meta", "resourceType", "Schema", "location", location(base, "Schemas", id));
}

json_t *gw_scim_schemas_json(const char *base)
{
    json_t *list = json_pack("[o, o]",
                             schema_json(base, URN_USER, "User", "User Account", user_attrs,
                                         sizeof(user_attrs) / sizeof(user_attrs[0])),
                             schema_json(base, URN_GROUP, "Group", "Group", group_attrs,
                                         sizeof(group_attrs) / sizeof(group_attrs[0])));
    return list ? gw_scim_list_json(list, 2, 1) : NULL;
}
