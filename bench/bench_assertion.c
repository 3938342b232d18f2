/* CPU per X-Hubgate-Identity assertion, through the gw_assertion_mint the forward stage calls.
 *   bench_assertion [--mints N] [--runs R] [--threads T] [--callers C]
 *
 * Cases (each prints the median over R runs of CPU µs per mint, and the lowest and highest):
 *   one caller      the same identity and grant on every request (a client's request stream);
 *   C callers       C identities in turn, all within the cache's bound;
 *   a new caller    every mint for an identity never seen (the cost of a miss: claims,
 *                   signature and the insertion; after the cache is full, an eviction too);
 *   T threads       T threads minting at once, on one shared identity (every thread on the
 *                   same cache set: the lock's worst case) and on one identity per thread; CPU
 *                   of the whole process per mint, and mints per wall second.
 * The first run of "C callers" signs each of them once (its highest figure, as a rule).
 * Last, the cache's counters over the whole program.
 * CPU is read from CLOCK_THREAD_CPUTIME_ID (one thread) or CLOCK_PROCESS_CPUTIME_ID (threads),
 * so time lost to other processes on a shared machine is not counted. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "gateway/authn/assertion.h"
#include "support/options.h"

#define MAX_RUNS    101
#define MAX_THREADS 64

static gw_assertion_t *as;
static long mints = 20000, runs = 7, threads = 4, callers = 1000;

static double cpu_us(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One SSO caller with the usual claims; n makes the subject (and the email) its own. */
static void caller(gw_identity_t *id, char *sub, size_t subcap, char *email, size_t emailcap,
                   unsigned long n)
{
    snprintf(sub, subcap, "5f0c7c1e-8d8a-4c3b-9a57-%012lu", n);
    snprintf(email, emailcap, "user%lu@acme.example", n);
    *id = (gw_identity_t){.kind = GW_ID_SSO,
                          .iss = "https://login.acme.example/realms/acme",
                          .sub = sub,
                          .email = email,
                          .email_verified = 1,
                          .mfa = 1};
}

static int mint(const gw_identity_t *id, cmn_arena_t *arena)
{
    const char *jwt =
        gw_assertion_mint(as, id, "acme", "write", "eu", "0123456789abcdef0123456789abcdef",
                          (int64_t)time(NULL), arena);
    cmn_arena_reset(arena);
    return jwt != NULL;
}

static void report(const char *name, double *per_mint, long n, const char *extra)
{
    qsort(per_mint, (size_t)n, sizeof(double), cmp_double);
    printf("%-34s %8.2f us CPU per mint (median of %ld runs; %.2f-%.2f)%s\n", name, per_mint[n / 2],
           n, per_mint[0], per_mint[n - 1], extra ? extra : "");
}

static int run_single(const char *name, unsigned long first, unsigned long span, int fresh)
{
    static unsigned long next_new = 1000000;
    double per[MAX_RUNS];
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    /* The callers are made before the clock starts, but for a new caller every mint, whose
     * snprintf is noise beside a signature. */
    size_t n = fresh ? 1 : span;
    gw_identity_t *ids = calloc(n, sizeof(*ids));
    char(*subs)[64] = calloc(n, 64), (*emails)[64] = calloc(n, 64);
    int rc = 1;
    if (!ids || !subs || !emails)
        goto out;
    for (size_t i = 0; i < n; i++)
        caller(&ids[i], subs[i], 64, emails[i], 64, first + i);
    for (long r = 0; r < runs; r++) {
        double t0 = cpu_us(CLOCK_THREAD_CPUTIME_ID);
        for (long i = 0; i < mints; i++) {
            const gw_identity_t *id = &ids[fresh ? 0 : (size_t)i % n];
            if (fresh)
                caller(&ids[0], subs[0], 64, emails[0], 64, next_new++);
            if (!mint(id, &arena)) {
                fprintf(stderr, "bench_assertion: mint failed\n");
                goto out;
            }
        }
        per[r] = (cpu_us(CLOCK_THREAD_CPUTIME_ID) - t0) / (double)mints;
    }
    report(name, per, runs, NULL);
    rc = 0;
out:
    free(ids);
    free(subs);
    free(emails);
    cmn_arena_free(&arena);
    return rc;
}

typedef struct {
    unsigned long subject;
    int failed;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    char sub[64], email[64];
    gw_identity_t id;
    caller(&id, sub, sizeof(sub), email, sizeof(email), w->subject);
    for (long i = 0; i < mints; i++)
        if (!mint(&id, &arena))
            w->failed = 1;
    cmn_arena_free(&arena);
    return NULL;
}

static int run_threads(const char *name, int shared)
{
    double per[MAX_RUNS], rate[MAX_RUNS];
    worker_t w[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    for (long r = 0; r < runs; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        double c0 = cpu_us(CLOCK_PROCESS_CPUTIME_ID);
        for (long i = 0; i < threads; i++) {
            w[i] = (worker_t){.subject = shared ? 7 : 500 + (unsigned long)i};
            if (pthread_create(&t[i], NULL, worker, &w[i]) != 0)
                return 1;
        }
        int failed = 0;
        for (long i = 0; i < threads; i++) {
            pthread_join(t[i], NULL);
            failed |= w[i].failed;
        }
        if (failed) {
            fprintf(stderr, "bench_assertion: mint failed\n");
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double total = (double)mints * (double)threads;
        per[r] = (cpu_us(CLOCK_PROCESS_CPUTIME_ID) - c0) / total;
        rate[r] = total / ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
    }
    qsort(rate, (size_t)runs, sizeof(double), cmp_double);
    char extra[96];
    snprintf(extra, sizeof(extra), "; %.0f mints/s", rate[runs / 2]);
    report(name, per, runs, extra);
    return 0;
}

int main(int argc, char **argv)
{
    const bench_option_t opts[] = {{"--mints", NULL, &mints, NULL},
                                   {"--runs", NULL, &runs, NULL},
                                   {"--threads", NULL, &threads, NULL},
                                   {"--callers", NULL, &callers, NULL},
                                   {NULL, NULL, NULL, NULL}};
    if (bench_options(opts, argc, argv) != 0 || mints < 1 || runs < 1 || runs > MAX_RUNS ||
        threads < 1 || threads > MAX_THREADS || callers < 1) {
        fprintf(stderr,
                "usage: bench_assertion [--mints N] [--runs 1-%d] [--threads 1-%d] "
                "[--callers C]\n",
                MAX_RUNS, MAX_THREADS);
        return 2;
    }
    as = gw_assertion_create(NULL, "https://hubgate.acme.example");
    if (!as)
        return 1;
    char name[64];
    snprintf(name, sizeof(name), "%ld callers in turn", callers);
    char tname[2][64];
    snprintf(tname[0], sizeof(tname[0]), "%ld threads, one shared caller", threads);
    snprintf(tname[1], sizeof(tname[1]), "%ld threads, a caller each", threads);
    int rc = run_single("one caller", 1, 1, 0) ||
             run_single(name, 100, (unsigned long)callers, 0) ||
             run_single("a new caller every mint", 0, 1, 1) || run_threads(tname[0], 1) ||
             run_threads(tname[1], 0);
    gw_assertion_cache_stats_t st;
    gw_assertion_stats(as, &st);
    printf(
        "cache: %llu hits, %llu misses, %llu evictions, %llu oversize; %zu of %zu entries held\n",
        (unsigned long long)st.hits, (unsigned long long)st.misses,
        (unsigned long long)st.evictions, (unsigned long long)st.oversize, st.entries, st.capacity);
    gw_assertion_destroy(as);
    return rc;
}
