/* A subject written as JSON: {"sub", "iss", "email", "preferred_username", "groups", "mfa",
 * "read_only_token", "anonymous", "email_verified"}. */
#include "policy/subject.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

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

/* One boolean key into *s. */
static void read_flag(const char *key, json_t *v, pol_subject_t *s)
{
    int on = json_is_true(v);
    if (strcmp(key, "mfa") == 0)
        s->mfa = on;
    else if (strcmp(key, "email_verified") == 0) /* absent: verified, as a test usually means */
        s->email_unverified = !on;
    else if (strcmp(key, "read_only_token") == 0)
        s->read_only_token = on;
    else
        s->anonymous = on;
}

static int read_groups(cmn_jdiag_t *d, const char *p, json_t *v, cmn_arena_t *arena,
                       pol_subject_t *s)
{
    char q[CMN_JDIAG_PTR_MAX];
    if (!json_is_array(v) || json_array_size(v) > POL_MAX_SUBJECT_GROUPS) {
        cmn_jdiag_error(d, p, 0, "found %s, expected an array of at most %d group names",
                        json_is_array(v) ? "a longer array" : cmn_jdiag_type(v),
                        POL_MAX_SUBJECT_GROUPS);
        return CMN_ERR_PARSE;
    }
    size_t n = json_array_size(v);
    const char **g = cmn_arena_alloc(arena, (n ? n : 1) * sizeof(char *));
    if (!g)
        return CMN_ERR_NOMEM;
    int rc = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || json_string_length(e) == 0) {
            cmn_jdiag_error(d, cmn_jdiag_join_index(q, p, i), 0, "found %s, expected a group name",
                            json_is_string(e) ? "an empty string" : cmn_jdiag_type(e));
            rc = CMN_ERR_PARSE;
            continue;
        }
        g[s->ngroups] = cmn_arena_strndup(arena, json_string_value(e), json_string_length(e));
        if (!g[s->ngroups++])
            return CMN_ERR_NOMEM;
    }
    s->groups = g;
    return rc;
}

/* One string key into *s. */
static int read_string(cmn_jdiag_t *d, const char *p, const char *key, json_t *v,
                       cmn_arena_t *arena, pol_subject_t *s)
{
    if (!json_is_string(v) || json_string_length(v) == 0) {
        cmn_jdiag_error(d, p, 0, "found %s, expected a non-empty string",
                        json_is_string(v) ? "an empty string" : cmn_jdiag_type(v));
        return CMN_ERR_PARSE;
    }
    const char *c = cmn_arena_strndup(arena, json_string_value(v), json_string_length(v));
    if (!c)
        return CMN_ERR_NOMEM;
    if (strcmp(key, "iss") == 0)
        s->iss = c;
    else if (strcmp(key, "sub") == 0)
        s->sub = c;
    else if (strcmp(key, "email") == 0)
        s->email = c;
    else
        s->preferred_username = c;
    return 0;
}

int pol_subject_read(cmn_jdiag_t *d, const char *ptr, json_t *obj, cmn_arena_t *arena,
                     pol_subject_t *s)
{
    char p[CMN_JDIAG_PTR_MAX];
    int rc = 0;
    memset(s, 0, sizeof(*s));
    if (!json_is_object(obj)) {
        cmn_jdiag_error(d, ptr, 0,
                        "found %s, expected a subject object like {\"sub\": \"alice\", "
                        "\"groups\": [\"acme-ml\"]}",
                        cmn_jdiag_type(obj));
        return CMN_ERR_PARSE;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int r = 0;
        cmn_jdiag_join(p, ptr, key);
        if (!cmn_jdiag_key(d, ptr, key, keys)) {
            r = CMN_ERR_PARSE;
        } else if (strcmp(key, "mfa") == 0 || strcmp(key, "read_only_token") == 0 ||
                   strcmp(key, "anonymous") == 0 || strcmp(key, "email_verified") == 0) {
            if (!json_is_boolean(v)) {
                cmn_jdiag_error(d, p, 0, "found %s, expected true or false", cmn_jdiag_type(v));
                r = CMN_ERR_PARSE;
            } else {
                read_flag(key, v, s);
            }
        } else if (strcmp(key, "groups") == 0) {
            r = read_groups(d, p, v, arena, s);
        } else {
            r = read_string(d, p, key, v, arena, s);
        }
        if (r == CMN_ERR_NOMEM)
            return r;
        rc = r ? r : rc;
    }
    if (s->anonymous && (s->sub || s->email || s->ngroups)) {
        cmn_jdiag_error(d, cmn_jdiag_join(p, ptr, "anonymous"), 1,
                        "an anonymous subject has no sub, email or groups (expected either "
                        "\"anonymous\": true alone, or an identity)");
        rc = CMN_ERR_PARSE;
    }
    if (!s->anonymous && !s->sub) {
        cmn_jdiag_error(d, ptr, 0,
                        "missing required key \"sub\" (expected the subject's id, or "
                        "\"anonymous\": true)");
        rc = CMN_ERR_PARSE;
    }
    return rc;
}

int pol_subject_parse(const char *json, size_t len, cmn_arena_t *arena, pol_subject_t *out,
                      char *err, size_t errlen)
{
    cmn_buf_t lines;
    cmn_buf_init(&lines, 1 << 16);
    /* No file: a command-line argument reads "path: problem" and "line L, column C: …". */
    cmn_jdiag_t d = {.file = NULL, .pos = NULL, .out = &lines, .errors = 0};
    cmn_jsonpos_t *pos = NULL;
    int rc = CMN_ERR_PARSE;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        cmn_jdiag_syntax(&d, jerr.line, jerr.column, jerr.text);
        goto out;
    }
    pos = cmn_jsonpos_build(json, len);
    d.pos = pos;
    rc = pol_subject_read(&d, "", root, arena, out);
out:
    if (err && errlen) {
        /* the first problem only: one line of explanation */
        const char *text = lines.data ? lines.data : "";
        const char *nl = strchr(text, '\n');
        snprintf(err, errlen, "%.*s", (int)(nl ? nl - text : (ptrdiff_t)strlen(text)), text);
    }
    json_decref(root);
    cmn_jsonpos_free(pos);
    cmn_buf_free(&lines);
    return rc;
}
