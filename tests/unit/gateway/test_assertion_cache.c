/* The cache of signed X-Hubgate-Identity assertions (gateway/authn/assertion_cache.c): found
 * only by its exact claims (never by the hash alone), reused only while fresh, bounded, shared
 * by threads. Included, not linked, to reach its SipHash. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "support/testutil.h"

#include "gateway/authn/assertion_cache.c"

#define REUSE 30

static gw_assertion_cache_stats_t stats(gw_assertion_cache_t *c)
{
    gw_assertion_cache_stats_t s;
    gw_assertion_cache_stats(c, &s);
    return s;
}

/* The JWT found for claims (with hash), or NULL on a miss. */
static const char *find(gw_assertion_cache_t *c, uint64_t hash, const char *claims, int64_t now,
                        cmn_arena_t *arena)
{
    const char *jwt = NULL;
    int rc = gw_assertion_cache_lookup(c, hash, claims, strlen(claims), now, arena, &jwt);
    if (rc < 0)
        fail_msg("lookup of %s: %s", claims, cmn_err_name(rc));
    if ((rc == 1) != (jwt != NULL))
        fail_msg("lookup of %s: returned %d with jwt %p", claims, rc, (const void *)jwt);
    return jwt;
}

static void store(gw_assertion_cache_t *c, uint64_t hash, const char *claims, const char *jwt,
                  int64_t iat)
{
    int rc = gw_assertion_cache_insert(c, hash, claims, strlen(claims), jwt, strlen(jwt), iat);
    if (rc != 0)
        fail_msg("insert of %s: %s", claims, cmn_err_name(rc));
}

/* SipHash-2-4 against the reference vectors of its paper (key 00..0f, message 00..len-1) and
 * against OpenSSL's own SIPHASH MAC for every length that exercises each tail. */
static void siphash_is_siphash(void **state)
{
    (void)state;
    unsigned char key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (unsigned char)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (unsigned char)i;
    uint64_t k0 = le64(key), k1 = le64(key + 8);
    assert_true(siphash24(k0, k1, msg, 0) == 0x726fdb47dd0e0e31ull);
    assert_true(siphash24(k0, k1, msg, 8) == 0x93f5f5799a932462ull);
    assert_true(siphash24(k0, k1, msg, 15) == 0xa129ca6149be45e5ull);

    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    assert_non_null(mac);
    for (size_t len = 0; len <= sizeof(msg); len++) {
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
        size_t size = 8, outl = 0;
        OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                               OSSL_PARAM_construct_end()};
        unsigned char out[8];
        assert_int_equal(EVP_MAC_init(ctx, key, sizeof(key), params), 1);
        assert_int_equal(EVP_MAC_update(ctx, msg, len), 1);
        assert_int_equal(EVP_MAC_final(ctx, out, &outl, sizeof(out)), 1);
        assert_int_equal(outl, 8);
        if (siphash24(k0, k1, msg, len) != le64(out))
            fail_msg("SipHash of %zu bytes differs from OpenSSL's", len);
        EVP_MAC_CTX_free(ctx);
    }
    EVP_MAC_free(mac);
}

static void found_by_its_claims(void **state)
{
    cmn_arena_t *arena = *state;
    gw_assertion_cache_t *c = gw_assertion_cache_create(64, REUSE);
    assert_non_null(c);
    const char *claims = "{\"iss\":\"gw\",\"sub\":\"alice\"";
    uint64_t h = gw_assertion_cache_hash(c, claims, strlen(claims));
    assert_null(find(c, h, claims, 1000, arena));
    store(c, h, claims, "jwt-alice", 1000);
    const char *got = find(c, h, claims, 1000, arena);
    assert_non_null(got);
    assert_string_equal(got, "jwt-alice");
    /* a copy in the caller's arena, not a pointer into the cache */
    uintptr_t slab = (uintptr_t)c->slab, at = (uintptr_t)got;
    assert_true(at < slab ||
                at >= slab + c->nsets * GW_ASSERTION_CACHE_WAYS * GW_ASSERTION_CACHE_SLOT_BYTES);
    gw_assertion_cache_stats_t s = stats(c);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.stored, 1);
    assert_int_equal(s.entries, 1);
    /* a wrong hash only misses */
    assert_null(find(c, h ^ 1, claims, 1000, arena));
    /* the key is keyed: another cache hashes the same bytes differently */
    gw_assertion_cache_t *other = gw_assertion_cache_create(64, REUSE);
    assert_true(gw_assertion_cache_hash(other, claims, strlen(claims)) != h);
    gw_assertion_cache_destroy(other);
    gw_assertion_cache_destroy(c);
}

/* Claims whose hashes are equal are still told apart by their bytes: one caller never gets
 * another's assertion, whatever the hash does. */
static void equal_hashes_never_share(void **state)
{
    cmn_arena_t *arena = *state;
    gw_assertion_cache_t *c = gw_assertion_cache_create(64, REUSE);
    const uint64_t h = 0x0123456789abcdefull; /* the same hash for every claim set below */
    static const char *const claims[] = {
        "{\"iss\":\"gw\",\"sub\":\"alice\"",
        "{\"iss\":\"gw\",\"sub\":\"alicf\"",  /* same length, one byte apart */
        "{\"iss\":\"gw\",\"sub\":\"alice\",", /* alice's as a prefix */
        "{\"iss\":\"gw\",\"sub\":\"alic",     /* a prefix of alice's */
    };
    store(c, h, claims[0], "jwt-0", 1000);
    for (size_t i = 1; i < sizeof(claims) / sizeof(claims[0]); i++)
        if (find(c, h, claims[i], 1000, arena))
            fail_msg("%s got the assertion of %s", claims[i], claims[0]);
    for (size_t i = 1; i < sizeof(claims) / sizeof(claims[0]); i++) {
        char jwt[16];
        snprintf(jwt, sizeof(jwt), "jwt-%zu", i);
        store(c, h, claims[i], jwt, 1000);
    }
    for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
        char want[16];
        snprintf(want, sizeof(want), "jwt-%zu", i);
        const char *got = find(c, h, claims[i], 1000, arena);
        if (!got || strcmp(got, want) != 0)
            fail_msg("%s: got %s, want %s", claims[i], got ? got : "(miss)", want);
    }
    assert_int_equal(stats(c).entries, 4);
    gw_assertion_cache_destroy(c);
}

/* Reused while 0 <= now - iat <= REUSE: never past half the token's life, never before its
 * iat (a clock that stepped back). */
static void reused_only_while_fresh(void **state)
{
    cmn_arena_t *arena = *state;
    gw_assertion_cache_t *c = gw_assertion_cache_create(64, REUSE);
    const char *claims = "{\"iss\":\"gw\",\"sub\":\"bob\"";
    uint64_t h = gw_assertion_cache_hash(c, claims, strlen(claims));
    store(c, h, claims, "jwt-1000", 1000);
    static const struct {
        int64_t now;
        int hit;
    } cases[] = {{1000, 1}, {1015, 1}, {1000 + REUSE, 1}, {1001 + REUSE, 0}, {999, 0}, {0, 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if ((find(c, h, claims, cases[i].now, arena) != NULL) != cases[i].hit)
            fail_msg("now = %lld: want a %s", (long long)cases[i].now,
                     cases[i].hit ? "hit" : "miss");
    /* a newer assertion for the same claims replaces it in place; an older one does not */
    store(c, h, claims, "jwt-1040", 1040);
    assert_string_equal(find(c, h, claims, 1050, arena), "jwt-1040");
    store(c, h, claims, "jwt-1039", 1039);
    assert_string_equal(find(c, h, claims, 1050, arena), "jwt-1040");
    assert_int_equal(stats(c).entries, 1);
    gw_assertion_cache_destroy(c);
}

/* Claims whose hash sends them to set 0 of c, numbered from *next. */
static uint64_t claims_in_set0(gw_assertion_cache_t *c, char *buf, size_t cap, unsigned *next)
{
    for (;; (*next)++) {
        snprintf(buf, cap, "{\"iss\":\"gw\",\"sub\":\"user%u\"", *next);
        uint64_t h = gw_assertion_cache_hash(c, buf, strlen(buf));
        if (set_of(c, h) == &c->sets[0]) {
            (*next)++;
            return h;
        }
    }
}

/* A full set gives up a stale entry first, else its oldest; the cache never holds more than
 * its capacity, however many claim sets go through it. */
static void bounded_and_evicts_the_oldest(void **state)
{
    cmn_arena_t *arena = *state;
    gw_assertion_cache_t *c = gw_assertion_cache_create(4 * GW_ASSERTION_CACHE_WAYS, REUSE);
    assert_int_equal(stats(c).capacity, 4 * GW_ASSERTION_CACHE_WAYS);
    char claims[GW_ASSERTION_CACHE_WAYS + 1][64];
    uint64_t h[GW_ASSERTION_CACHE_WAYS + 1];
    unsigned next = 0;
    for (int i = 0; i <= GW_ASSERTION_CACHE_WAYS; i++)
        h[i] = claims_in_set0(c, claims[i], sizeof(claims[i]), &next);
    /* fill set 0 with one entry a second, all fresh at 1000 + WAYS */
    for (int i = 0; i < GW_ASSERTION_CACHE_WAYS; i++)
        store(c, h[i], claims[i], claims[i], 1000 + i);
    int64_t now = 1000 + GW_ASSERTION_CACHE_WAYS;
    store(c, h[GW_ASSERTION_CACHE_WAYS], claims[GW_ASSERTION_CACHE_WAYS],
          claims[GW_ASSERTION_CACHE_WAYS], now);
    assert_null(find(c, h[0], claims[0], now, arena)); /* the oldest went */
    for (int i = 1; i <= GW_ASSERTION_CACHE_WAYS; i++)
        if (!find(c, h[i], claims[i], now, arena))
            fail_msg("entry %d was lost", i);
    gw_assertion_cache_stats_t s = stats(c);
    assert_int_equal(s.evictions, 1);
    assert_int_equal(s.entries, GW_ASSERTION_CACHE_WAYS);

    /* later, entries 1..k are stale: a newcomer takes a stale way, evicting nothing fresh */
    now = 1000 + REUSE + 3; /* entries with iat < 1003 are stale: 1 and 2 */
    char extra[64];
    uint64_t he = claims_in_set0(c, extra, sizeof(extra), &next);
    store(c, he, extra, extra, now);
    assert_int_equal(stats(c).evictions, 1);
    for (int i = 3; i <= GW_ASSERTION_CACHE_WAYS; i++)
        if (!find(c, h[i], claims[i], now, arena))
            fail_msg("fresh entry %d was given up for a stale one's place", i);

    /* ten times its capacity through it: never more than its capacity held */
    for (unsigned i = 0; i < 10 * 4 * GW_ASSERTION_CACHE_WAYS; i++) {
        char cl[64];
        snprintf(cl, sizeof(cl), "{\"iss\":\"gw\",\"sub\":\"many%u\"", i);
        store(c, gw_assertion_cache_hash(c, cl, strlen(cl)), cl, cl, now);
        if (stats(c).entries > 4 * GW_ASSERTION_CACHE_WAYS)
            fail_msg("%zu entries held past a capacity of %d", stats(c).entries,
                     4 * GW_ASSERTION_CACHE_WAYS);
    }
    assert_int_equal(stats(c).entries, 4 * GW_ASSERTION_CACHE_WAYS);
    gw_assertion_cache_destroy(c);

    /* capacity is rounded up to whole sets and capped */
    c = gw_assertion_cache_create(1, REUSE);
    assert_int_equal(stats(c).capacity, GW_ASSERTION_CACHE_WAYS);
    gw_assertion_cache_destroy(c);
    c = gw_assertion_cache_create((size_t)-1, REUSE);
    assert_int_equal(stats(c).capacity, GW_ASSERTION_CACHE_ENTRIES);
    gw_assertion_cache_destroy(c);
}

static void oversize_and_errors(void **state)
{
    cmn_arena_t *arena = *state;
    gw_assertion_cache_t *c = gw_assertion_cache_create(64, REUSE);
    static char big[GW_ASSERTION_CACHE_SLOT_BYTES + 16];
    memset(big, 'x', sizeof(big));
    const char *claims = "{\"iss\":\"gw\",\"sub\":\"carol\"";
    uint64_t h = gw_assertion_cache_hash(c, claims, strlen(claims));
    /* claims and JWT one byte over a slot: refused; exactly a slot: kept */
    size_t fit = GW_ASSERTION_CACHE_SLOT_BYTES - strlen(claims);
    assert_int_equal(gw_assertion_cache_insert(c, h, claims, strlen(claims), big, fit + 1, 1000),
                     CMN_ERR_TOOBIG);
    assert_null(find(c, h, claims, 1000, arena));
    assert_int_equal(stats(c).oversize, 1);
    assert_int_equal(gw_assertion_cache_insert(c, h, claims, strlen(claims), big, fit, 1000), 0);
    const char *got = find(c, h, claims, 1000, arena);
    assert_non_null(got);
    assert_int_equal(strlen(got), fit);
    assert_int_equal(
        gw_assertion_cache_insert(c, h, big, GW_ASSERTION_CACHE_SLOT_BYTES + 1, "", 0, 1000),
        CMN_ERR_TOOBIG);
    assert_int_equal(gw_assertion_cache_insert(c, h, "", 0, "j", 1, 1000), CMN_ERR_INVAL);
    /* an arena that cannot take the copy: an error, not a miss */
    cmn_arena_t tiny;
    cmn_arena_init(&tiny, 64, 64);
    const char *jwt = "unset";
    assert_int_equal(gw_assertion_cache_lookup(c, h, claims, strlen(claims), 1000, &tiny, &jwt),
                     CMN_ERR_NOMEM);
    assert_null(jwt);
    cmn_arena_free(&tiny);
    gw_assertion_cache_destroy(c);
}

/* Threads looking up and storing claim sets that share few sets: every hit is the assertion of
 * the claims asked for (each test JWT is its claims' text, reversed). */
#define THREADS 4
#define ROUNDS  20000
#define KINDS   40

static gw_assertion_cache_t *shared;

static void *hammer(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    long wrong = 0;
    for (int r = 0; r < ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        char claims[64], jwt[64];
        int n = snprintf(claims, sizeof(claims), "{\"iss\":\"gw\",\"sub\":\"t%u\"", seed % KINDS);
        for (int i = 0; i < n; i++)
            jwt[i] = claims[n - 1 - i];
        jwt[n] = '\0';
        uint64_t h = gw_assertion_cache_hash(shared, claims, (size_t)n);
        const char *got = NULL;
        int rc = gw_assertion_cache_lookup(shared, h, claims, (size_t)n, 1000, &arena, &got);
        if (rc == 1 && strcmp(got, jwt) != 0)
            wrong++;
        else if (rc == 0 &&
                 gw_assertion_cache_insert(shared, h, claims, (size_t)n, jwt, (size_t)n, 1000) != 0)
            wrong++;
        else if (rc < 0)
            wrong++;
        cmn_arena_reset(&arena);
    }
    cmn_arena_free(&arena);
    return (void *)(intptr_t)wrong;
}

static void threads_share_it_safely(void **state)
{
    (void)state;
    /* two sets for 40 claim sets: the sets overflow, so threads evict and refill one another */
    shared = gw_assertion_cache_create(2 * GW_ASSERTION_CACHE_WAYS, REUSE);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(i + 1)), 0);
    long wrong = 0;
    for (int i = 0; i < THREADS; i++) {
        void *w;
        pthread_join(t[i], &w);
        wrong += (long)(intptr_t)w;
    }
    assert_int_equal(wrong, 0);
    gw_assertion_cache_stats_t s = stats(shared);
    assert_int_equal(s.hits + s.misses, THREADS * ROUNDS);
    assert_true(s.hits > 0 && s.evictions > 0);
    gw_assertion_cache_destroy(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(siphash_is_siphash),
        testutil_arena_test(found_by_its_claims),
        testutil_arena_test(equal_hashes_never_share),
        testutil_arena_test(reused_only_while_fresh),
        testutil_arena_test(bounded_and_evicts_the_oldest),
        testutil_arena_test(oversize_and_errors),
        cmocka_unit_test(threads_share_it_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
