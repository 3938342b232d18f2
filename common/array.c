/* Growable arrays: contract in array.h. */
#include "common/array.h"
#include "common/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int cmn_array_room(void *items, size_t *cap, size_t n, size_t item_size, size_t first_cap)
{
    if (n < *cap)
        return 0;
    size_t want = *cap ? *cap * 2 : first_cap;
    if (want <= n || want > SIZE_MAX / item_size)
        return CMN_ERR_NOMEM;
    /* items is a T**: read and write the pointer through memcpy, whatever T is */
    void *old;
    memcpy(&old, items, sizeof(old));
    void *grown = realloc(old, want * item_size);
    if (!grown)
        return CMN_ERR_NOMEM;
    memcpy(items, &grown, sizeof(grown));
    *cap = want;
    return 0;
}
