/* A byte ring buffer of fixed capacity: what a producer and a consumer running at different
 * speeds hand each other (an upload's body on its way upstream, a download's on its way to the
 * client). No locking: the caller serialises access. */
#ifndef HUBGATE_COMMON_RING_H
#define HUBGATE_COMMON_RING_H

#include <stddef.h>

typedef struct {
    char *buf; /* NULL until cmn_ring_alloc */
    size_t cap, head, len;
} cmn_ring_t;

/* Allocates cap bytes (cap > 0). Returns 0 or CMN_ERR_NOMEM. */
int cmn_ring_alloc(cmn_ring_t *r, size_t cap);

/* Releases the buffer; the ring is empty and unallocated again. */
void cmn_ring_free(cmn_ring_t *r);

/* Bytes that fit now. */
size_t cmn_ring_space(const cmn_ring_t *r);

/* Appends n bytes; n must be at most cmn_ring_space. */
void cmn_ring_put(cmn_ring_t *r, const char *p, size_t n);

/* Takes up to max bytes into p; returns how many. */
size_t cmn_ring_get(cmn_ring_t *r, char *p, size_t max);

#endif
