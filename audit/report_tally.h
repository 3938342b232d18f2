/* Bounded counting tables for the evidence report: a key of up to RPT_TALLY_PARTS strings (each
 * may be absent) maps to RPT_TALLY_VALUES counters. A report over any number of events keeps
 * its memory flat: a table holds at most `max_keys` distinct keys and `max_key_bytes` of key
 * text; any further key is counted under one "(other)" entry and the table says it overflowed.
 * The same events in the same order always give the same table. Internal to audit/. */
#ifndef HUBGATE_AUDIT_REPORT_TALLY_H
#define HUBGATE_AUDIT_REPORT_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "audit/limits.h"

#define RPT_TALLY_PARTS  5
#define RPT_TALLY_VALUES 6

typedef struct {
    const char *part[RPT_TALLY_PARTS]; /* NULL: absent; owned by the table */
    int64_t v[RPT_TALLY_VALUES];
    uint64_t hash;
    int other; /* the "(other)" entry */
} rpt_entry_t;

typedef struct {
    rpt_entry_t *entries;
    size_t n, cap;
    uint32_t *slots; /* open addressing: index + 1, 0 empty */
    size_t mask;
    size_t nparts;
    size_t max_keys, max_key_bytes, key_bytes;
    rpt_entry_t other;
    int64_t overflowed; /* additions that went to "(other)" */
    char **blocks;      /* key text storage */
    size_t nblocks, block_used, block_cap;
} rpt_tally_t;

/* Sets up an empty table of keys made of nparts (1..RPT_TALLY_PARTS) strings. */
void rpt_tally_init(rpt_tally_t *t, size_t nparts, size_t max_keys, size_t max_key_bytes);

/* The counters of the key (parts[0..nparts), NULL for an absent part), created at zero when
 * new; the "(other)" entry's once the table is full. NULL only when out of memory. */
int64_t *rpt_tally_get(rpt_tally_t *t, const char *const *parts);

/* Convenience for one- and two-part keys. */
int64_t *rpt_tally_get1(rpt_tally_t *t, const char *a);
int64_t *rpt_tally_get2(rpt_tally_t *t, const char *a, const char *b);

/* The entries (the "(other)" one last when used) ordered by counter `by` descending when
 * by >= 0, then by key; caller frees the array (not the entries). *n receives the count.
 * NULL with *n = 0 when empty or out of memory. */
const rpt_entry_t **rpt_tally_sorted(const rpt_tally_t *t, int by, size_t *n);

/* Distinct keys counted (the "(other)" entry not included). */
size_t rpt_tally_count(const rpt_tally_t *t);

void rpt_tally_free(rpt_tally_t *t);

#endif
