/* Request arena: bump allocation from a chain of blocks, freed all at once.
 *
 * One per request, created when the request starts and destroyed when it completes, so
 * request-scoped strings are never freed one by one. An arena has a hard cap: an allocation
 * that would take it past max_bytes fails (NULL), so no request can grow without bound.
 * Not thread-safe: an arena belongs to one request at a time. */
#ifndef HUBGATE_COMMON_ARENA_H
#define HUBGATE_COMMON_ARENA_H

#include <stddef.h>

typedef struct cmn_arena_block cmn_arena_block_t;

typedef struct {
    cmn_arena_block_t *head;  /* block being filled; older blocks chain behind it */
    size_t block_size;        /* size of ordinary blocks */
    size_t used_bytes;        /* bytes obtained from malloc, headers included */
    size_t max_bytes;         /* cap on used_bytes */
} cmn_arena_t;

/* Sets up an empty arena; nothing is allocated until the first cmn_arena_alloc. */
void cmn_arena_init(cmn_arena_t *a, size_t block_size, size_t max_bytes);

/* Returns n bytes aligned to 16, or NULL when out of memory or over the cap. The memory lives
 * until cmn_arena_free or cmn_arena_reset. n == 0 returns a valid unique pointer. */
void *cmn_arena_alloc(cmn_arena_t *a, size_t n);

/* Copies s[0..n) into the arena and NUL-terminates it. NULL on failure. */
char *cmn_arena_strndup(cmn_arena_t *a, const char *s, size_t n);

/* printf into the arena. NULL on failure. */
char *cmn_arena_printf(cmn_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s1 followed by s2, NUL-terminated, in the arena (no printf: for the request path). NULL when
 * out of memory or over the cap. */
char *cmn_arena_concat(cmn_arena_t *a, const char *s1, const char *s2);

/* Frees every block but the first, which is kept for reuse. */
void cmn_arena_reset(cmn_arena_t *a);

/* Frees everything. Accepts NULL and an arena that never allocated. */
void cmn_arena_free(cmn_arena_t *a);

#endif
