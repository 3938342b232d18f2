#include "gateway/authn/assertion_cache.h"

#include "common/err.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* One entry's bookkeeping; its bytes (claims, then the JWT) are in the slab. */
typedef struct {
    uint64_t hash;
    int64_t iat;
    uint32_t claims_len; /* 0: empty (a claim set is never empty) */
    uint32_t jwt_len;
} entry_t;

/* A set: its lock, its ways and its counters on lines of their own, so threads working on
 * different sets never write to the same cache line. */
typedef struct {
    alignas(64) pthread_mutex_t mu;
    entry_t way[GW_ASSERTION_CACHE_WAYS];
    uint64_t hits, misses, stored, evictions, oversize;
} set_t;

struct gw_assertion_cache {
    set_t *sets;
    size_t nsets; /* a power of two */
    char *slab;   /* nsets * WAYS slots of GW_ASSERTION_CACHE_SLOT_BYTES */
    int64_t reuse_seconds;
    uint64_t k0, k1; /* the hash key */
};

_Static_assert(GW_ASSERTION_CACHE_SLOT_BYTES < UINT32_MAX, "slot lengths are 32-bit");

/* ---- SipHash-2-4 (Aumasson and Bernstein, 2012) ----------------------------------------- */
/* Keyed, so nobody who does not know the key can choose claim sets that all land in one set
 * and push a victim's entry out (which would only cost a re-signature, but a cheap one to
 * force). */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = le64(p + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++)
        b |= (uint64_t)p[whole + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the cache --------------------------------------------------------------------------- */

gw_assertion_cache_t *gw_assertion_cache_create(size_t entries, int64_t reuse_seconds)
{
    gw_assertion_cache_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (entries > GW_ASSERTION_CACHE_ENTRIES)
        entries = GW_ASSERTION_CACHE_ENTRIES;
    c->nsets = 1;
    while (c->nsets * GW_ASSERTION_CACHE_WAYS < entries)
        c->nsets *= 2;
    c->reuse_seconds = reuse_seconds;
    unsigned char key[16];
    /* The slab is calloc'd: the kernel gives its pages only as entries are first written, so an
     * idle cache costs nothing but its sets. */
    c->sets = aligned_alloc(alignof(set_t), c->nsets * sizeof(set_t));
    c->slab = calloc(c->nsets * GW_ASSERTION_CACHE_WAYS, GW_ASSERTION_CACHE_SLOT_BYTES);
    if (!c->sets || !c->slab || RAND_bytes(key, sizeof(key)) != 1) {
        free(c->sets);
        free(c->slab);
        free(c);
        return NULL;
    }
    c->k0 = le64(key);
    c->k1 = le64(key + 8);
    memset(c->sets, 0, c->nsets * sizeof(set_t));
    for (size_t i = 0; i < c->nsets; i++)
        pthread_mutex_init(&c->sets[i].mu, NULL);
    return c;
}

void gw_assertion_cache_destroy(gw_assertion_cache_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nsets; i++)
        pthread_mutex_destroy(&c->sets[i].mu);
    free(c->sets);
    free(c->slab);
    free(c);
}

uint64_t gw_assertion_cache_hash(const gw_assertion_cache_t *c, const void *claims, size_t len)
{
    return siphash24(c->k0, c->k1, claims, len);
}

static set_t *set_of(gw_assertion_cache_t *c, uint64_t hash)
{
    /* The high bits pick the set; the whole hash is compared within it. */
    return &c->sets[(hash >> 32) & (c->nsets - 1)];
}

static char *slot_of(gw_assertion_cache_t *c, const set_t *s, size_t way)
{
    size_t index = (size_t)(s - c->sets) * GW_ASSERTION_CACHE_WAYS + way;
    return c->slab + index * GW_ASSERTION_CACHE_SLOT_BYTES;
}

static int same_claims(gw_assertion_cache_t *c, const set_t *s, size_t way, uint64_t hash,
                       const char *claims, size_t len)
{
    const entry_t *e = &s->way[way];
    return e->claims_len == len && e->hash == hash && memcmp(slot_of(c, s, way), claims, len) == 0;
}

static int fresh(const gw_assertion_cache_t *c, const entry_t *e, int64_t now)
{
    return e->claims_len > 0 && e->iat <= now && now - e->iat <= c->reuse_seconds;
}

int gw_assertion_cache_lookup(gw_assertion_cache_t *c, uint64_t hash, const char *claims,
                              size_t len, int64_t now, cmn_arena_t *arena, const char **jwt)
{
    set_t *s = set_of(c, hash);
    int rc = 0;
    *jwt = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t w = 0; w < GW_ASSERTION_CACHE_WAYS; w++) {
        const entry_t *e = &s->way[w];
        if (!fresh(c, e, now) || !same_claims(c, s, w, hash, claims, len))
            continue;
        /* Copied under the lock: once it is released, another thread may overwrite the slot. */
        char *out = cmn_arena_alloc(arena, (size_t)e->jwt_len + 1);
        if (!out) {
            rc = CMN_ERR_NOMEM;
            goto out;
        }
        memcpy(out, slot_of(c, s, w) + e->claims_len, e->jwt_len);
        out[e->jwt_len] = '\0';
        *jwt = out;
        s->hits++;
        rc = 1;
        goto out;
    }
    s->misses++;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int gw_assertion_cache_insert(gw_assertion_cache_t *c, uint64_t hash, const char *claims,
                              size_t len, const char *jwt, size_t jwt_len, int64_t iat)
{
    if (len == 0)
        return CMN_ERR_INVAL;
    set_t *s = set_of(c, hash);
    int too_big =
        len > GW_ASSERTION_CACHE_SLOT_BYTES || jwt_len > GW_ASSERTION_CACHE_SLOT_BYTES - len;
    pthread_mutex_lock(&s->mu);
    if (too_big) {
        s->oversize++;
        pthread_mutex_unlock(&s->mu);
        return CMN_ERR_TOOBIG;
    }
    /* The way to write: the same claims' entry (two threads that missed at once both signed;
     * either assertion is right, the later iat lasts longer), else an empty or stale way, else
     * the oldest. */
    size_t pick = GW_ASSERTION_CACHE_WAYS, free_way = GW_ASSERTION_CACHE_WAYS, oldest = 0;
    for (size_t w = 0; w < GW_ASSERTION_CACHE_WAYS; w++) {
        const entry_t *e = &s->way[w];
        if (e->claims_len > 0 && same_claims(c, s, w, hash, claims, len)) {
            pick = w;
            break;
        }
        if (free_way == GW_ASSERTION_CACHE_WAYS && !fresh(c, e, iat))
            free_way = w;
        if (e->iat < s->way[oldest].iat)
            oldest = w;
    }
    if (pick < GW_ASSERTION_CACHE_WAYS) {
        if (s->way[pick].iat > iat)
            goto out; /* a newer one is already there */
    } else if (free_way < GW_ASSERTION_CACHE_WAYS) {
        pick = free_way;
    } else {
        pick = oldest;
        s->evictions++;
    }
    entry_t *e = &s->way[pick];
    char *slot = slot_of(c, s, pick);
    memcpy(slot, claims, len);
    memcpy(slot + len, jwt, jwt_len);
    *e = (entry_t){
        .hash = hash, .iat = iat, .claims_len = (uint32_t)len, .jwt_len = (uint32_t)jwt_len};
    s->stored++;
out:
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void gw_assertion_cache_stats(gw_assertion_cache_t *c, gw_assertion_cache_stats_t *out)
{
    *out = (gw_assertion_cache_stats_t){.capacity = c->nsets * GW_ASSERTION_CACHE_WAYS};
    for (size_t i = 0; i < c->nsets; i++) {
        set_t *s = &c->sets[i];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->misses += s->misses;
        out->stored += s->stored;
        out->evictions += s->evictions;
        out->oversize += s->oversize;
        for (size_t w = 0; w < GW_ASSERTION_CACHE_WAYS; w++)
            out->entries += s->way[w].claims_len > 0;
        pthread_mutex_unlock(&s->mu);
    }
}
