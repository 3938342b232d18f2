/* Growable arrays of any item type: the doubling that a list built item by item needs, in one
 * place instead of a realloc dance at every site. The caller keeps the pointer, the count and
 * the capacity in its own struct:
 *     if (cmn_array_room(&s->items, &s->cap, s->n, sizeof(*s->items), 16) != 0)
 *         return CMN_ERR_NOMEM;
 *     s->items[s->n++] = item; */
#ifndef HUBGATE_COMMON_ARRAY_H
#define HUBGATE_COMMON_ARRAY_H

#include <stddef.h>

/* Makes room for item n (0-based) in the array whose pointer is at items (the address of the
 * caller's typed pointer, NULL while empty) and whose capacity is *cap items of item_size
 * bytes: when n == *cap, reallocates to twice *cap (first_cap the first time). Returns 0, or
 * CMN_ERR_NOMEM with the array and *cap unchanged. Does not block. */
int cmn_array_room(void *items, size_t *cap, size_t n, size_t item_size, size_t first_cap);

#endif
