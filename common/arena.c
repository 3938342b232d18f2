#include "common/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16

struct cmn_arena_block {
    cmn_arena_block_t *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void cmn_arena_init(cmn_arena_t *a, size_t block_size, size_t max_bytes)
{
    a->head = NULL;
    a->block_size = block_size < 256 ? 256 : block_size;
    a->used_bytes = 0;
    a->max_bytes = max_bytes;
}

static cmn_arena_block_t *block_new(cmn_arena_t *a, size_t min_size)
{
    size_t size = min_size > a->block_size ? min_size : a->block_size;
    if (size > SIZE_MAX - sizeof(cmn_arena_block_t))
        return NULL;
    size_t total = sizeof(cmn_arena_block_t) + size;
    if (total > a->max_bytes - a->used_bytes || a->used_bytes > a->max_bytes)
        return NULL;
    cmn_arena_block_t *b = malloc(total);
    if (!b)
        return NULL;
    b->size = size;
    b->used = 0;
    a->used_bytes += total;
    return b;
}

void *cmn_arena_alloc(cmn_arena_t *a, size_t n)
{
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;

    cmn_arena_block_t *b = a->head;
    if (b && b->size - b->used >= need) {
        void *p = b->data + b->used;
        b->used += need;
        return p;
    }
    cmn_arena_block_t *nb = block_new(a, need);
    if (!nb)
        return NULL;
    if (b && need > a->block_size / 2) {
        /* A large one-off allocation gets its own block behind the current one, so the
         * space left in the current block is not wasted. */
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        a->head = nb;
    }
    nb->used = need;
    return nb->data;
}

char *cmn_arena_strndup(cmn_arena_t *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = cmn_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cmn_arena_concat(cmn_arena_t *a, const char *s1, const char *s2)
{
    size_t n1 = strlen(s1), n2 = strlen(s2);
    char *p = cmn_arena_alloc(a, n1 + n2 + 1);
    if (!p)
        return NULL;
    memcpy(p, s1, n1);
    memcpy(p + n1, s2, n2);
    p[n1 + n2] = '\0';
    return p;
}

char *cmn_arena_printf(cmn_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = cmn_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void cmn_arena_reset(cmn_arena_t *a)
{
    if (!a->head)
        return;
    /* Keep the oldest ordinary block (the tail of the chain). */
    cmn_arena_block_t *b = a->head, *keep = NULL;
    while (b) {
        cmn_arena_block_t *next = b->next;
        if (!next && b->size == a->block_size) {
            keep = b;
        } else {
            a->used_bytes -= sizeof(*b) + b->size;
            free(b);
        }
        b = next;
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
}

void cmn_arena_free(cmn_arena_t *a)
{
    if (!a)
        return;
    cmn_arena_block_t *b = a->head;
    while (b) {
        cmn_arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_bytes = 0;
}
