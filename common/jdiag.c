#include "common/jdiag.h"
#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Copies src into dst (cap bytes) with control characters written as \n, \t, \r or \xNN. */
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

/* A key shown as .key when it is a plain word, as ["key"] otherwise. */
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

/* Unescapes the pointer segment pointer[from..to) (RFC 6901: ~1 is '/', ~0 is '~'). */
static void segment_text(const char *pointer, size_t from, size_t to, char *seg, size_t cap)
{
    size_t n = 0;
    for (size_t k = from; k < to && n + 1 < cap; k++) {
        if (pointer[k] == '~' && k + 1 < to) {
            seg[n++] = pointer[k + 1] == '1' ? '/' : '~';
            k++;
        } else {
            seg[n++] = pointer[k];
        }
    }
    seg[n] = '\0';
}

void cmn_jdiag_path(const cmn_jsonpos_t *pos, const char *pointer, cmn_buf_t *out)
{
    size_t len = strlen(pointer), start = out->len;
    for (size_t i = 0; i < len;) {
        size_t j = i + 1;
        while (j < len && pointer[j] != '/')
            j++;
        char seg[1024], shown[4096];
        segment_text(pointer, i + 1, j, seg, sizeof(seg));
        escape_controls(seg, shown, sizeof(shown));
        if (cmn_jsonpos_is_index(pos, pointer, j))
            cmn_buf_printf(out, "[%s]", shown);
        else if (plain_segment(seg))
            cmn_buf_printf(out, "%s%s", out->len > start ? "." : "", shown);
        else
            cmn_buf_printf(out, "[\"%s\"]", shown);
        i = j;
    }
}

/* One line: "file:line:col: path: message" (line 0: no position). */
static void vrecord(cmn_jdiag_t *d, const char *pointer, int line, int col, const char *fmt,
                    va_list ap)
{
    char raw[2048], msg[4096];
    vsnprintf(raw, sizeof(raw), fmt, ap);
    escape_controls(raw, msg, sizeof(msg));
    cmn_buf_t path;
    cmn_buf_init(&path, 8192);
    cmn_jdiag_path(d->pos, pointer, &path);
    const char *shown = path.len ? path.data : d->file ? "(top level)" : NULL;
    if (d->file && line > 0)
        cmn_buf_printf(d->out, "%s:%d:%d: ", d->file, line, col);
    else if (d->file)
        cmn_buf_printf(d->out, "%s: ", d->file);
    cmn_buf_printf(d->out, "%s%s%s\n", shown ? shown : "", shown ? ": " : "", msg);
    cmn_buf_free(&path);
    d->errors++;
}

static void record(cmn_jdiag_t *d, const char *pointer, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void record(cmn_jdiag_t *d, const char *pointer, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vrecord(d, pointer, line, col, fmt, ap);
    va_end(ap);
}

void cmn_jdiag_error(cmn_jdiag_t *d, const char *pointer, int key, const char *fmt, ...)
{
    int line = 0, col = 0;
    (void)cmn_jsonpos_find(d->pos, pointer, key, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    vrecord(d, pointer, line, col, fmt, ap);
    va_end(ap);
}

void cmn_jdiag_syntax(cmn_jdiag_t *d, int line, int col, const char *text)
{
    char msg[4096];
    escape_controls(text, msg, sizeof(msg));
    if (line <= 0)
        cmn_buf_printf(d->out, "%s%s%s\n", d->file ? d->file : "", d->file ? ": " : "", msg);
    else if (d->file)
        cmn_buf_printf(d->out, "%s:%d:%d: %s\n", d->file, line, col, msg);
    else
        cmn_buf_printf(d->out, "line %d, column %d: %s\n", line, col, msg);
    d->errors++;
}

/* jansson names the first duplicate key and its line, not its path nor the earlier key: records
 * every duplicate with both. Returns how many; 0 when the text has other errors too (the
 * position scanner trusts the grammar, so it runs only on text jansson accepts otherwise). */
static int report_duplicates(cmn_jdiag_t *d, const char *text, size_t len)
{
    json_t *loose = json_loadb(text, len, 0, NULL);
    if (!loose)
        return 0;
    json_decref(loose);
    cmn_jsonpos_t *pos = cmn_jsonpos_build(text, len);
    const cmn_jsonpos_t *saved = d->pos;
    d->pos = pos;
    const char *pointer;
    int line, col, first_line, first_col, n = 0;
    while (cmn_jsonpos_duplicate(pos, (size_t)n, &pointer, &line, &col, &first_line, &first_col) ==
           0) {
        const char *slash = strrchr(pointer, '/');
        char key[1024];
        segment_text(pointer, (size_t)(slash - pointer) + 1, strlen(pointer), key, sizeof(key));
        record(d, pointer, line, col,
               "duplicate key \"%s\" (first at line %d, column %d; each key may appear once)", key,
               first_line, first_col);
        n++;
    }
    d->pos = saved;
    cmn_jsonpos_free(pos);
    return n;
}

int cmn_jdiag_read(cmn_buf_t *text, const char *path, const char *what, cmn_buf_t *errors)
{
    int rc = cmn_buf_read_file(text, path);
    if (rc == CMN_ERR_IO)
        cmn_buf_printf(errors, "%s: cannot read: %s\n", path, strerror(errno));
    else if (rc == CMN_ERR_TOOBIG)
        cmn_buf_printf(errors, "%s: cannot read: larger than the %zu MiB a %s may be\n", path,
                       text->max >> 20, what);
    else if (rc == CMN_ERR_NOTFOUND)
        cmn_buf_printf(errors, "%s: cannot read: no such file\n", path);
    else if (rc)
        cmn_buf_printf(errors, "%s: cannot read: %s\n", path, cmn_err_str(rc));
    return rc;
}

json_t *cmn_jdiag_load(cmn_jdiag_t *d, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root)
        return root;
    if (strstr(jerr.text, "duplicate object key") && report_duplicates(d, text, len) > 0)
        return NULL;
    cmn_jdiag_syntax(d, jerr.line, jerr.column, jerr.text);
    return NULL;
}

const char *cmn_jdiag_type(const json_t *v)
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

const char *cmn_jdiag_join(char *dst, const char *base, const char *key)
{
    snprintf(dst, CMN_JDIAG_PTR_MAX, "%s", base);
    (void)cmn_jsonpos_push(dst, CMN_JDIAG_PTR_MAX, key);
    return dst;
}

const char *cmn_jdiag_join_index(char *dst, const char *base, size_t i)
{
    char seg[32];
    snprintf(seg, sizeof(seg), "%zu", i);
    return cmn_jdiag_join(dst, base, seg);
}

void cmn_jdiag_words(const char *const *words, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; words[i]; i++) {
        strncat(out, i ? ", " : "", cap - strlen(out) - 1);
        strncat(out, words[i], cap - strlen(out) - 1);
    }
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

void cmn_jdiag_hint(const char *found, const char *const *words, char *out, size_t cap)
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

int cmn_jdiag_key(cmn_jdiag_t *d, const char *ptr, const char *key, const char *const *allowed)
{
    for (size_t i = 0; allowed[i]; i++) {
        if (strcmp(key, allowed[i]) == 0)
            return 1;
    }
    char expected[512], hint[128], p[CMN_JDIAG_PTR_MAX];
    cmn_jdiag_words(allowed, expected, sizeof(expected));
    cmn_jdiag_hint(key, allowed, hint, sizeof(hint));
    cmn_jdiag_error(d, cmn_jdiag_join(p, ptr, key), 1, "unknown key \"%s\" (expected one of: %s%s)",
                    key, expected, hint);
    return 0;
}

int cmn_jdiag_keys(cmn_jdiag_t *d, const char *ptr, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    int unknown = 0;
    json_object_foreach(obj, key, v)
    {
        unknown += !cmn_jdiag_key(d, ptr, key, allowed);
    }
    return unknown;
}

json_t *cmn_jdiag_get(cmn_jdiag_t *d, const char *ptr, json_t *obj, const char *key, json_type type,
                      int required, const char *expected)
{
    char p[CMN_JDIAG_PTR_MAX];
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            cmn_jdiag_error(d, ptr, 0, "missing required key \"%s\" (expected %s)", key, expected);
        return NULL;
    }
    if (json_typeof(v) != type && !(type == JSON_TRUE && json_is_boolean(v))) {
        cmn_jdiag_error(d, cmn_jdiag_join(p, ptr, key), 0, "found %s, expected %s",
                        cmn_jdiag_type(v), expected);
        return NULL;
    }
    return v;
}

int cmn_jdiag_bool(cmn_jdiag_t *d, const char *ptr, json_t *obj, const char *key, int def)
{
    json_t *v = cmn_jdiag_get(d, ptr, obj, key, JSON_TRUE, 0, "true or false");
    return v ? json_is_true(v) : def;
}
