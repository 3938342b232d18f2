#include "audit/report_tally.h"
#include "common/array.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_BYTES (64 * 1024)

void rpt_tally_init(rpt_tally_t *t, size_t nparts, size_t max_keys, size_t max_key_bytes)
{
    memset(t, 0, sizeof(*t));
    t->nparts = nparts < 1 ? 1 : nparts > RPT_TALLY_PARTS ? RPT_TALLY_PARTS : nparts;
    t->max_keys = max_keys;
    t->max_key_bytes = max_key_bytes;
    t->other.other = 1;
}

/* The length of s cut to RPT_PART_MAX bytes without splitting a UTF-8 character. */
static size_t cut_len(const char *s)
{
    size_t n = strlen(s);
    if (n <= RPT_PART_MAX)
        return n;
    n = RPT_PART_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

static uint64_t key_hash(const char *const *parts, size_t nparts)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < nparts; i++) {
        /* An absent part and an empty one hash (and compare) differently. */
        h = (h ^ (parts[i] ? 0x01u : 0x02u)) * 1099511628211ULL;
        if (!parts[i])
            continue;
        size_t n = cut_len(parts[i]);
        for (size_t k = 0; k < n; k++)
            h = (h ^ (unsigned char)parts[i][k]) * 1099511628211ULL;
        h = (h ^ 0xffu) * 1099511628211ULL;
    }
    return h;
}

static int key_eq(const rpt_entry_t *e, const char *const *parts, size_t nparts)
{
    for (size_t i = 0; i < nparts; i++) {
        if (!e->part[i] || !parts[i]) {
            if (e->part[i] || parts[i])
                return 0;
            continue;
        }
        size_t n = cut_len(parts[i]);
        if (strlen(e->part[i]) != n || memcmp(e->part[i], parts[i], n) != 0)
            return 0;
    }
    return 1;
}

static char *store(rpt_tally_t *t, const char *s, size_t n)
{
    if (t->nblocks == 0 || t->block_used + n + 1 > t->block_cap) {
        size_t cap = n + 1 > BLOCK_BYTES ? n + 1 : BLOCK_BYTES;
        char **nb = realloc(t->blocks, (t->nblocks + 1) * sizeof(*nb));
        if (!nb)
            return NULL;
        t->blocks = nb;
        if (!(nb[t->nblocks] = malloc(cap)))
            return NULL;
        t->nblocks++;
        t->block_used = 0;
        t->block_cap = cap;
    }
    char *p = t->blocks[t->nblocks - 1] + t->block_used;
    memcpy(p, s, n);
    p[n] = '\0';
    t->block_used += n + 1;
    return p;
}

static int grow(rpt_tally_t *t)
{
    if (cmn_array_room(&t->entries, &t->cap, t->n, sizeof(*t->entries), 64) != 0)
        return -1;
    size_t slots = t->cap * 2;
    uint32_t *s = calloc(slots, sizeof(*s));
    if (!s)
        return -1;
    free(t->slots);
    t->slots = s;
    t->mask = slots - 1;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = t->entries[i].hash & t->mask;
        while (s[j])
            j = (j + 1) & t->mask;
        s[j] = (uint32_t)(i + 1);
    }
    return 0;
}

int64_t *rpt_tally_get(rpt_tally_t *t, const char *const *parts)
{
    uint64_t h = key_hash(parts, t->nparts);
    if (t->slots) {
        for (size_t j = h & t->mask; t->slots[j]; j = (j + 1) & t->mask) {
            rpt_entry_t *e = &t->entries[t->slots[j] - 1];
            if (e->hash == h && key_eq(e, parts, t->nparts))
                return e->v;
        }
    }
    size_t bytes = 0;
    for (size_t i = 0; i < t->nparts; i++)
        bytes += parts[i] ? cut_len(parts[i]) + 1 : 0;
    if (t->n >= t->max_keys || t->key_bytes + bytes > t->max_key_bytes) {
        t->overflowed++;
        return t->other.v;
    }
    if (t->n == t->cap && grow(t) != 0)
        return NULL;
    rpt_entry_t *e = &t->entries[t->n];
    memset(e, 0, sizeof(*e));
    for (size_t i = 0; i < t->nparts; i++) {
        if (!parts[i])
            continue;
        if (!(e->part[i] = store(t, parts[i], cut_len(parts[i]))))
            return NULL;
    }
    e->hash = h;
    size_t j = h & t->mask;
    while (t->slots[j])
        j = (j + 1) & t->mask;
    t->slots[j] = (uint32_t)(t->n + 1);
    t->n++;
    t->key_bytes += bytes;
    return e->v;
}

int64_t *rpt_tally_get1(rpt_tally_t *t, const char *a)
{
    const char *p[RPT_TALLY_PARTS] = {a};
    return rpt_tally_get(t, p);
}

int64_t *rpt_tally_get2(rpt_tally_t *t, const char *a, const char *b)
{
    const char *p[RPT_TALLY_PARTS] = {a, b};
    return rpt_tally_get(t, p);
}

static _Thread_local int sort_by;
static _Thread_local size_t sort_nparts;

static int part_cmp(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp_entries(const void *x, const void *y)
{
    const rpt_entry_t *a = *(const rpt_entry_t *const *)x, *b = *(const rpt_entry_t *const *)y;
    if (a->other != b->other)
        return a->other - b->other;
    if (sort_by >= 0 && a->v[sort_by] != b->v[sort_by])
        return a->v[sort_by] > b->v[sort_by] ? -1 : 1;
    for (size_t i = 0; i < sort_nparts; i++) {
        int c = part_cmp(a->part[i], b->part[i]);
        if (c)
            return c;
    }
    return 0;
}

const rpt_entry_t **rpt_tally_sorted(const rpt_tally_t *t, int by, size_t *n)
{
    *n = 0;
    size_t total = t->n + (t->overflowed ? 1 : 0);
    if (!total)
        return NULL;
    const rpt_entry_t **out = malloc(total * sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        out[i] = &t->entries[i];
    if (t->overflowed)
        out[t->n] = &t->other;
    /* qsort has no context argument in C11: the order is passed per thread. */
    sort_by = by < RPT_TALLY_VALUES ? by : -1;
    sort_nparts = t->nparts;
    if (total > 1)
        qsort(out, total, sizeof(*out), cmp_entries);
    *n = total;
    return out;
}

size_t rpt_tally_count(const rpt_tally_t *t)
{
    return t->n;
}

void rpt_tally_free(rpt_tally_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nblocks; i++)
        free(t->blocks[i]);
    free(t->blocks);
    free(t->entries);
    free(t->slots);
    t->blocks = NULL;
    t->entries = NULL;
    t->slots = NULL;
    t->n = t->cap = t->nblocks = 0;
}
