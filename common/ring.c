#include "common/ring.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

int cmn_ring_alloc(cmn_ring_t *r, size_t cap)
{
    r->buf = malloc(cap);
    r->cap = r->buf ? cap : 0;
    r->head = r->len = 0;
    return r->buf ? 0 : CMN_ERR_NOMEM;
}

void cmn_ring_free(cmn_ring_t *r)
{
    free(r->buf);
    *r = (cmn_ring_t){0};
}

size_t cmn_ring_space(const cmn_ring_t *r)
{
    return r->cap - r->len;
}

void cmn_ring_put(cmn_ring_t *r, const char *p, size_t n)
{
    size_t tail = (r->head + r->len) % r->cap;
    size_t first = n < r->cap - tail ? n : r->cap - tail;
    memcpy(r->buf + tail, p, first);
    memcpy(r->buf, p + first, n - first);
    r->len += n;
}

size_t cmn_ring_get(cmn_ring_t *r, char *p, size_t max)
{
    size_t n = max < r->len ? max : r->len;
    size_t first = n < r->cap - r->head ? n : r->cap - r->head;
    memcpy(p, r->buf + r->head, first);
    memcpy(p + first, r->buf, n - first);
    r->head = (r->head + n) % r->cap;
    r->len -= n;
    if (r->len == 0)
        r->head = 0;
    return n;
}
