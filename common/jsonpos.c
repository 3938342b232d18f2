#include "common/jsonpos.h"
#include "common/err.h"

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
    int key_line, key_col;     /* 0 for array elements and the root */
    int first_line, first_col; /* key of an earlier member with the same key; 0: none */
} entry_t;

struct cmn_jsonpos {
    entry_t *entries;
    size_t count, cap;
    size_t *dups; /* indexes of the entries whose key repeats a sibling's */
    size_t ndups, dups_cap;
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

/* arr (capacity *cap, elements of `size` bytes) with room for element n, doubled when full;
 * NULL when out of memory (arr is then unchanged and still owned by the caller). */
static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return arr;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(arr, c * size);
    if (p)
        *cap = c;
    return p;
}

static int add_entry(scanner_t *s, const char *pointer, int is_index, int line, int col,
                     int key_line, int key_col)
{
    cmn_jsonpos_t *idx = s->idx;
    entry_t *entries = grow(idx->entries, &idx->cap, idx->count, sizeof(entry_t));
    if (!entries)
        return -1;
    idx->entries = entries;
    char *copy = strdup(pointer);
    if (!copy)
        return -1;
    idx->entries[idx->count++] = (entry_t){copy, is_index, line, col, key_line, key_col, 0, 0};
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

static void scan_value(scanner_t *s, char *ptr, int is_index, int key_line, int key_col, int depth);

/* Records entry `e` (a member just indexed) as a duplicate when an earlier member of the same
 * object, one of members[0..n), has the same pointer, that is the same key. */
static int check_duplicate(scanner_t *s, const size_t *members, size_t n, size_t e)
{
    cmn_jsonpos_t *idx = s->idx;
    for (size_t i = 0; i < n; i++) {
        const entry_t *first = &idx->entries[members[i]];
        if (strcmp(first->pointer, idx->entries[e].pointer) != 0)
            continue;
        size_t *dups = grow(idx->dups, &idx->dups_cap, idx->ndups, sizeof(size_t));
        if (!dups)
            return -1;
        idx->dups = dups;
        idx->entries[e].first_line = first->key_line;
        idx->entries[e].first_col = first->key_col;
        idx->dups[idx->ndups++] = e;
        return 0;
    }
    return 0;
}

static void scan_container(scanner_t *s, char *ptr, int depth)
{
    char open = *s->p;
    char close = open == '{' ? '}' : ']';
    size_t base = strlen(ptr);
    long index = 0;
    size_t *members = NULL, nmembers = 0, cap = 0; /* an object's members: entry indexes */
    advance(s);
    for (;;) {
        skip_ws(s);
        if (s->p >= s->end || s->failed)
            break;
        if (*s->p == close) {
            advance(s);
            break;
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
            break;
        }
        size_t entry = s->idx->count;
        scan_value(s, ptr, open == '[', kl, kc, depth + 1);
        ptr[base] = '\0';
        if (open != '{' || s->idx->count == entry)
            continue;
        size_t *grown = grow(members, &cap, nmembers, sizeof(size_t));
        if (grown)
            members = grown;
        if (!grown || check_duplicate(s, members, nmembers, entry) != 0) {
            s->failed = 1;
            break;
        }
        members[nmembers++] = entry;
    }
    free(members);
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
    free(idx->dups);
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

int cmn_jsonpos_is_index(const cmn_jsonpos_t *idx, const char *pointer, size_t len)
{
    if (!idx)
        return 0;
    for (size_t i = 0; i < idx->count; i++) {
        const entry_t *e = &idx->entries[i];
        if (strlen(e->pointer) == len && strncmp(e->pointer, pointer, len) == 0)
            return e->is_index;
    }
    return 0;
}

int cmn_jsonpos_duplicate(const cmn_jsonpos_t *idx, size_t n, const char **pointer, int *line,
                          int *col, int *first_line, int *first_col)
{
    if (!idx || n >= idx->ndups)
        return CMN_ERR_NOTFOUND;
    const entry_t *e = &idx->entries[idx->dups[n]];
    *pointer = e->pointer;
    *line = e->key_line;
    *col = e->key_col;
    *first_line = e->first_line;
    *first_col = e->first_col;
    return 0;
}
