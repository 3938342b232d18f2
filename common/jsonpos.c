#include "common/jsonpos.h"
#include "common/err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH   512
#define MAX_POINTER 4096

typedef struct {
    char *pointer;
    int is_index; /* the last segment is an array index */
    int line, col;
    int key_line, key_col; /* 0 for array elements and the root */
} entry_t;

struct cmn_jsonpos {
    entry_t *entries;
    size_t count, cap;
};

typedef struct {
    const char *p, *end;
    int line, col;
    cmn_jsonpos_t *idx;
    int failed;
} scanner_t;

static void advance(scanner_t *s)
{
    unsigned char c = (unsigned char)*s->p++;
    if (c == '\n') {
        s->line++;
        s->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        s->col++;
    }
}

static void skip_ws(scanner_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        advance(s);
}

static int add_entry(scanner_t *s, const char *pointer, int is_index, int line, int col,
                     int key_line, int key_col)
{
    cmn_jsonpos_t *idx = s->idx;
    if (idx->count == idx->cap) {
        size_t cap = idx->cap ? idx->cap * 2 : 64;
        entry_t *e = realloc(idx->entries, cap * sizeof(*e));
        if (!e)
            return -1;
        idx->entries = e;
        idx->cap = cap;
    }
    char *copy = strdup(pointer);
    if (!copy)
        return -1;
    idx->entries[idx->count++] = (entry_t){copy, is_index, line, col, key_line, key_col};
    return 0;
}

static void put_utf8(char *out, size_t *n, size_t cap, uint32_t cp)
{
    unsigned char b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    for (size_t i = 0; i < k && *n + 1 < cap; i++)
        out[(*n)++] = (char)b[i];
}

static int hex4(const char *p, const char *end, uint32_t *out)
{
    if (end - p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Scans a string starting at '"'; decodes it into out (truncated to cap) when out != NULL. */
static void scan_string(scanner_t *s, char *out, size_t cap)
{
    size_t n = 0;
    advance(s); /* opening quote */
    while (s->p < s->end && *s->p != '"') {
        if (*s->p == '\\' && s->p + 1 < s->end) {
            char e = s->p[1];
            advance(s);
            advance(s);
            uint32_t cp = 0;
            switch (e) {
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (hex4(s->p, s->end, &cp) != 0)
                    break;
                for (int i = 0; i < 4; i++)
                    advance(s);
                if (cp >= 0xD800 && cp < 0xDC00 && s->end - s->p >= 6 && s->p[0] == '\\' &&
                    s->p[1] == 'u') {
                    uint32_t lo;
                    if (hex4(s->p + 2, s->end, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        for (int i = 0; i < 6; i++)
                            advance(s);
                    }
                }
                break;
            default: cp = (unsigned char)e; break;
            }
            if (out)
                put_utf8(out, &n, cap, cp);
            continue;
        }
        if (out && n + 1 < cap)
            out[n++] = *s->p;
        advance(s);
    }
    if (s->p < s->end)
        advance(s); /* closing quote */
    if (out)
        out[n] = '\0';
}

static void scan_value(scanner_t *s, char *ptr, int is_index, int key_line, int key_col,
                       int depth);

static void scan_container(scanner_t *s, char *ptr, int depth)
{
    char open = *s->p;
    char close = open == '{' ? '}' : ']';
    size_t base = strlen(ptr);
    long index = 0;
    advance(s);
    for (;;) {
        skip_ws(s);
        if (s->p >= s->end || s->failed)
            return;
        if (*s->p == close) {
            advance(s);
            return;
        }
        if (*s->p == ',' || (open == '{' && *s->p != '"')) {
            /* a separator, or garbage jansson would have refused: step over it */
            advance(s);
            continue;
        }
        char seg[1024];
        int kl = 0, kc = 0;
        if (open == '{') {
            kl = s->line;
            kc = s->col;
            scan_string(s, seg, sizeof(seg));
            skip_ws(s);
            if (s->p < s->end && *s->p == ':')
                advance(s);
            skip_ws(s);
        } else {
            snprintf(seg, sizeof(seg), "%ld", index++);
        }
        if (cmn_jsonpos_push(ptr, MAX_POINTER, seg) != 0) {
            s->failed = 1;
            return;
        }
        scan_value(s, ptr, open == '[', kl, kc, depth + 1);
        ptr[base] = '\0';
    }
}

static void scan_value(scanner_t *s, char *ptr, int is_index, int key_line, int key_col,
                       int depth)
{
    skip_ws(s);
    if (s->p >= s->end || s->failed)
        return;
    if (depth > MAX_DEPTH || add_entry(s, ptr, is_index, s->line, s->col, key_line, key_col)) {
        s->failed = 1;
        return;
    }
    switch (*s->p) {
    case '{':
    case '[':
        scan_container(s, ptr, depth);
        break;
    case '"':
        scan_string(s, NULL, 0);
        break;
    default: /* number, true, false, null; on garbage, at least one byte */
        do {
            advance(s);
        } while (s->p < s->end && !memchr(",]} \t\r\n", *s->p, 7));
        break;
    }
}

cmn_jsonpos_t *cmn_jsonpos_build(const char *text, size_t len)
{
    cmn_jsonpos_t *idx = calloc(1, sizeof(*idx));
    char *ptr = malloc(MAX_POINTER);
    if (!idx || !ptr) {
        free(idx);
        free(ptr);
        return NULL;
    }
    ptr[0] = '\0';
    scanner_t s = {text, text + len, 1, 1, idx, 0};
    scan_value(&s, ptr, 0, 0, 0, 0);
    free(ptr);
    /* A failed scan (too deep, out of memory) keeps what it indexed: positions are a help for
     * messages, never a condition for accepting a file. */
    return idx;
}

void cmn_jsonpos_free(cmn_jsonpos_t *idx)
{
    if (!idx)
        return;
    for (size_t i = 0; i < idx->count; i++)
        free(idx->entries[i].pointer);
    free(idx->entries);
    free(idx);
}

int cmn_jsonpos_find(const cmn_jsonpos_t *idx, const char *pointer, int key, int *line, int *col)
{
    if (!idx)
        return CMN_ERR_NOTFOUND;
    for (size_t i = 0; i < idx->count; i++) {
        const entry_t *e = &idx->entries[i];
        if (strcmp(e->pointer, pointer) != 0)
            continue;
        if (key && e->key_line) {
            *line = e->key_line;
            *col = e->key_col;
        } else {
            *line = e->line;
            *col = e->col;
        }
        return 0;
    }
    return CMN_ERR_NOTFOUND;
}

int cmn_jsonpos_push(char *ptr, size_t cap, const char *segment)
{
    size_t n = strlen(ptr), start = n;
    if (n + 1 >= cap)
        return CMN_ERR_TOOBIG;
    ptr[n++] = '/';
    for (const char *c = segment; *c; c++) {
        const char *rep = *c == '~' ? "~0" : *c == '/' ? "~1" : NULL;
        size_t k = rep ? 2 : 1;
        if (n + k >= cap) {
            ptr[start] = '\0';
            return CMN_ERR_TOOBIG;
        }
        if (rep) {
            ptr[n++] = rep[0];
            ptr[n++] = rep[1];
        } else {
            ptr[n++] = *c;
        }
    }
    ptr[n] = '\0';
    return 0;
}

/* Is the segment ending at `end` (exclusive) of `pointer` an array index? */
static int segment_is_index(const cmn_jsonpos_t *idx, const char *pointer, size_t end)
{
    if (!idx)
        return 0;
    for (size_t i = 0; i < idx->count; i++) {
        const entry_t *e = &idx->entries[i];
        if (strlen(e->pointer) == end && strncmp(e->pointer, pointer, end) == 0)
            return e->is_index;
    }
    return 0;
}

static void display_path(const cmn_jsonpos_t *idx, const char *pointer, cmn_buf_t *out)
{
    size_t len = strlen(pointer);
    size_t i = 0;
    while (i < len) {
        size_t j = i + 1;
        while (j < len && pointer[j] != '/')
            j++;
        /* unescape the segment */
        char seg[1024];
        size_t n = 0;
        for (size_t k = i + 1; k < j && n + 1 < sizeof(seg); k++) {
            if (pointer[k] == '~' && k + 1 < j) {
                seg[n++] = pointer[k + 1] == '1' ? '/' : '~';
                k++;
            } else {
                seg[n++] = pointer[k];
            }
        }
        seg[n] = '\0';
        int plain = n > 0;
        for (size_t k = 0; k < n; k++) {
            char c = seg[k];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-'))
                plain = 0;
        }
        if (segment_is_index(idx, pointer, j))
            cmn_buf_printf(out, "[%s]", seg);
        else if (plain)
            cmn_buf_printf(out, "%s%s", out->len ? "." : "", seg);
        else
            cmn_buf_printf(out, "[\"%s\"]", seg);
        i = j;
    }
}

void cmn_jdiag_error(cmn_jdiag_t *d, const char *pointer, int key, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    cmn_buf_t path;
    cmn_buf_init(&path, 2048);
    display_path(d->pos, pointer, &path);

    int line, col;
    if (cmn_jsonpos_find(d->pos, pointer, key, &line, &col) == 0)
        cmn_buf_printf(d->out, "%s:%d:%d: ", d->file, line, col);
    else
        cmn_buf_printf(d->out, "%s: ", d->file);
    cmn_buf_printf(d->out, "%s: %s\n", path.len ? path.data : "(top level)", msg);
    cmn_buf_free(&path);
    d->errors++;
}

void cmn_jdiag_syntax(cmn_jdiag_t *d, int line, int col, const char *text)
{
    if (line > 0)
        cmn_buf_printf(d->out, "%s:%d:%d: %s\n", d->file, line, col, text);
    else
        cmn_buf_printf(d->out, "%s: %s\n", d->file, text);
    d->errors++;
}
