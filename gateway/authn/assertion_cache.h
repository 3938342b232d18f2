/* The X-Hubgate-Identity assertions already signed, kept for reuse (authn/assertion.h signs
 * them). An ES256 signature costs ~20 µs of CPU; a caller's requests carry the same claims, so
 * one signature serves them all for half the assertion's lifetime.
 *
 * What makes it safe to hand a stored assertion to a request:
 *  - An entry is found by its claims themselves: the exact bytes of the payload's JSON up to the
 *    per-assertion times (iat, exp). A keyed 64-bit hash of those bytes picks the set and is
 *    compared first; then the length and every byte are compared. Correctness never rests on
 *    the hash: two claim sets whose hashes collide are two entries, and a caller can only ever
 *    receive an assertion whose claims are byte for byte the ones its own request produced.
 *  - An entry is reused only while 0 <= now - iat <= reuse_seconds (the caller passes half the
 *    assertion's lifetime): the hub always receives an assertion with at least the other half
 *    left, and a clock that stepped back never makes one whose iat lies in the future.
 *  - Bounded: a fixed number of entries (sets of GW_ASSERTION_CACHE_WAYS, each a fixed slot of
 *    GW_ASSERTION_CACHE_SLOT_BYTES), allocated once; nothing is allocated afterwards. A claim
 *    set whose entry does not fit a slot is not stored (its assertion is signed per request).
 *    A full set gives up its oldest entry (by iat): every entry goes stale within
 *    reuse_seconds anyway, so recency of use would buy little and would cost a write on every
 *    hit.
 *  - Thread-safe and cheap under contention: one mutex per set (cache-line aligned, so two sets
 *    never share a line), held only to compare and copy; signing happens outside any lock.
 *    Event-loop threads share the cache, so one caller gets one assertion whichever loop
 *    serves it, and a claim set is signed once per process rather than once per loop. Counters
 *    are per set, under its lock: no shared line is written on every lookup. */
#ifndef HUBGATE_GATEWAY_AUTHN_ASSERTION_CACHE_H
#define HUBGATE_GATEWAY_AUTHN_ASSERTION_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/limits.h"

typedef struct gw_assertion_cache gw_assertion_cache_t;

typedef struct {
    uint64_t hits;      /* lookups answered from an entry */
    uint64_t misses;    /* lookups that found no fresh entry */
    uint64_t stored;    /* entries written */
    uint64_t evictions; /* entries still fresh that a full set gave up */
    uint64_t oversize;  /* claim sets too large for a slot, not stored */
    size_t entries;     /* entries held now, fresh or stale */
    size_t capacity;    /* the most it can hold */
} gw_assertion_cache_stats_t;

/* A cache of at most `entries` assertions (rounded up to a power of two times
 * GW_ASSERTION_CACHE_WAYS; at most GW_ASSERTION_CACHE_ENTRIES), each reused while at most
 * reuse_seconds old. Its hash key is drawn from OpenSSL's RAND_bytes. Returns NULL when out of
 * memory or when the random source fails. Caller frees with gw_assertion_cache_destroy. */
gw_assertion_cache_t *gw_assertion_cache_create(size_t entries, int64_t reuse_seconds);

/* Frees the cache; accepts NULL. No other thread may be using it. */
void gw_assertion_cache_destroy(gw_assertion_cache_t *c);

/* The keyed hash (SipHash-2-4 under the cache's random key) of claims[0..len). */
uint64_t gw_assertion_cache_hash(const gw_assertion_cache_t *c, const void *claims, size_t len);

/* Looks up the assertion whose claims are claims[0..len), with hash = gw_assertion_cache_hash
 * of them (a wrong hash can only cause a miss). Returns 1 and its compact JWT copied into the
 * arena (NUL-terminated) in *jwt when an entry with exactly these claims and
 * 0 <= now - iat <= reuse_seconds is held; 0 when none is; CMN_ERR_NOMEM when the arena is
 * full. Thread-safe; blocks only on the set's mutex, held for the comparison and the copy. */
int gw_assertion_cache_lookup(gw_assertion_cache_t *c, uint64_t hash, const char *claims,
                              size_t len, int64_t now, cmn_arena_t *arena, const char **jwt);

/* Stores jwt[0..jwt_len), issued at iat, as the assertion for claims[0..len) (hash as above),
 * replacing an older entry for the same claims, else an empty or stale one, else the set's
 * oldest. Everything is copied. Returns 0; CMN_ERR_TOOBIG when claims and JWT together do not
 * fit a slot (nothing stored); CMN_ERR_INVAL for an empty claim set. Thread-safe. */
int gw_assertion_cache_insert(gw_assertion_cache_t *c, uint64_t hash, const char *claims,
                              size_t len, const char *jwt, size_t jwt_len, int64_t iat);

/* Sums the counters of every set into *out. Takes each set's mutex in turn. */
void gw_assertion_cache_stats(gw_assertion_cache_t *c, gw_assertion_cache_stats_t *out);

#endif
