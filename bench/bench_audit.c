/* Drives the audit writer (audit/pgwriter.h) the way the gateway does, for bench/audit.sh and
 * for tests/integration/audit_writer.test.mjs.
 *
 *   bench_audit --database URL --key FILE [options] bulk    submit --events N from --threads T,
 *        each keeping up to --window W events in flight (the gateway's suspended connections),
 *        then print one JSON summary line.
 *   bench_audit --database URL --key FILE [options] idle    open the writer, write nothing for
 *        --duration S (checkpoint heartbeats), close.
 *   bench_audit --database URL --key FILE [options] paced   --threads T loops of "append one
 *        event and wait for it" (a strict-mode request), --rate per thread; a JSON line every
 *        --report-ms; stops at --duration S or when stdin closes; then a JSON summary. Each
 *        line read on stdin is a mark: a status line is printed at once, and that line and all
 *        later ones say "mark":<lines read so far>, so that a test can tell the lines printed
 *        after something it did from those already on their way through the pipe.
 * Options: --stream NAME (bench) --mode strict|spool --spool-dir DIR (./spool)
 *          --checkpoint-every N --checkpoint-seconds S --timeout-ms MS --max-batch N
 *          --queue N --ok-ids FILE (request ids of the events acknowledged durable)
 * Exit status: 0, 1 when the writer cannot open (reason on stderr), 2 for bad arguments. */
#include "audit/pgwriter.h"
#include "common/err.h"
#include "support/options.h"
#include "support/sample_event.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    aud_writer_config_t cfg;
    const char *mode_name;
    long events, threads, window, rate, duration_s, report_ms;
    const char *ok_ids;
    long cp_every, cp_seconds, timeout_ms, max_batch, queue;
} opt = {
    .events = 100000, .threads = 2, .window = 512, .rate = 50, .duration_s = 0, .report_ms = 250};

static aud_writer_t *writer;
static long my_pid; /* set before any thread starts */
static atomic_long n_ok, n_fail, n_timeout, max_fail_us, max_ok_us;
static atomic_int stop_now;
static long marks; /* paced: lines read on stdin (main thread only) */
static FILE *ids_out;
static pthread_mutex_t ids_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A request event, then its completion, as the gateway writes them; request ids unique to this
 * process and thread. */
static void fill_event(aud_event_t *ev, long thread, long i, bench_sample_text_t *text)
{
    snprintf(text->rid, sizeof(text->rid), "t%ld-%ld-%08lx", thread, i, (unsigned long)my_pid);
    bench_sample_event(ev, i, "acme", text);
}

static void record_ok(const char *rid)
{
    if (!ids_out)
        return;
    pthread_mutex_lock(&ids_mu);
    fprintf(ids_out, "%s\n", rid);
    pthread_mutex_unlock(&ids_mu);
}

static void note_max(atomic_long *m, long v)
{
    long cur = atomic_load(m);
    while (v > cur && !atomic_compare_exchange_weak(m, &cur, v))
        ;
}

/* ---- bulk ---- */

typedef struct {
    long id;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long inflight;
} bulk_thread_t;

typedef struct {
    bulk_thread_t *th;
    char rid[64];
} bulk_ticket_t;

static void bulk_done(void *arg, int status)
{
    bulk_ticket_t *bt = arg;
    if (status == 0) {
        atomic_fetch_add(&n_ok, 1);
        record_ok(bt->rid);
    } else {
        atomic_fetch_add(&n_fail, 1);
        if (status == CMN_ERR_TIMEOUT)
            atomic_fetch_add(&n_timeout, 1);
    }
    bulk_thread_t *th = bt->th;
    free(bt);
    pthread_mutex_lock(&th->mu);
    th->inflight--;
    pthread_cond_signal(&th->cv);
    pthread_mutex_unlock(&th->mu);
}

static void *bulk_main(void *arg)
{
    bulk_thread_t *th = arg;
    long per = opt.events / opt.threads + (th->id < opt.events % opt.threads);
    bench_sample_text_t text;
    for (long i = 0; i < per; i++) {
        pthread_mutex_lock(&th->mu);
        while (th->inflight >= opt.window)
            pthread_cond_wait(&th->cv, &th->mu);
        th->inflight++;
        pthread_mutex_unlock(&th->mu);
        bulk_ticket_t *bt = malloc(sizeof(*bt));
        bt->th = th;
        aud_event_t ev;
        fill_event(&ev, th->id, i, &text);
        memcpy(bt->rid, text.rid, sizeof(bt->rid));
        int rc;
        while ((rc = aud_writer_submit(writer, &ev, bulk_done, bt)) == CMN_ERR_TOOBIG)
            usleep(200); /* queue full: the gateway would answer 503; a bench waits */
        if (rc != 0) {
            atomic_fetch_add(&n_fail, 1);
            free(bt);
            pthread_mutex_lock(&th->mu);
            th->inflight--;
            pthread_mutex_unlock(&th->mu);
        }
    }
    pthread_mutex_lock(&th->mu);
    while (th->inflight > 0)
        pthread_cond_wait(&th->cv, &th->mu);
    pthread_mutex_unlock(&th->mu);
    return NULL;
}

static int run_bulk(void)
{
    bulk_thread_t *ths = calloc((size_t)opt.threads, sizeof(*ths));
    pthread_t *tids = calloc((size_t)opt.threads, sizeof(*tids));
    aud_writer_stats_t before, after;
    aud_writer_stats(writer, &before);
    int64_t t0 = now_us();
    for (long i = 0; i < opt.threads; i++) {
        ths[i].id = i;
        pthread_mutex_init(&ths[i].mu, NULL);
        pthread_cond_init(&ths[i].cv, NULL);
        pthread_create(&tids[i], NULL, bulk_main, &ths[i]);
    }
    for (long i = 0; i < opt.threads; i++)
        pthread_join(tids[i], NULL);
    int64_t t1 = now_us();
    aud_writer_stats(writer, &after);
    double secs = (double)(t1 - t0) / 1e6;
    printf("{\"mode\":\"bulk\",\"events\":%ld,\"ok\":%ld,\"failed\":%ld,\"seconds\":%.3f,"
           "\"events_per_s\":%.0f,\"batches\":%llu,\"events_per_batch\":%.1f,"
           "\"checkpoints\":%llu,\"head_seq\":%lld}\n",
           opt.events, atomic_load(&n_ok), atomic_load(&n_fail), secs,
           (double)atomic_load(&n_ok) / secs, (unsigned long long)(after.batches - before.batches),
           (double)(after.committed - before.committed) /
               (double)(after.batches - before.batches ? after.batches - before.batches : 1),
           (unsigned long long)(after.checkpoints - before.checkpoints), (long long)after.head_seq);
    for (long i = 0; i < opt.threads; i++) {
        pthread_mutex_destroy(&ths[i].mu);
        pthread_cond_destroy(&ths[i].cv);
    }
    free(ths);
    free(tids);
    return 0;
}

/* ---- paced ---- */

static void *paced_main(void *arg)
{
    long id = (long)(intptr_t)arg;
    bench_sample_text_t text;
    int64_t period = opt.rate > 0 ? 1000000 / opt.rate : 0;
    int64_t next = now_us();
    for (long i = 0; !atomic_load(&stop_now); i++) {
        aud_event_t ev;
        fill_event(&ev, id, i, &text);
        int64_t t0 = now_us();
        int rc = aud_writer_append(writer, &ev);
        long dt = (long)(now_us() - t0);
        if (rc == 0) {
            atomic_fetch_add(&n_ok, 1);
            note_max(&max_ok_us, dt);
            record_ok(text.rid);
        } else {
            atomic_fetch_add(&n_fail, 1);
            if (rc == CMN_ERR_TIMEOUT)
                atomic_fetch_add(&n_timeout, 1);
            note_max(&max_fail_us, dt);
            if (rc != CMN_ERR_TIMEOUT)
                usleep(10000); /* queue full or stopped: as a gateway, answer 503 and go on */
        }
        next += period;
        int64_t wait = next - now_us();
        if (wait > 0)
            usleep((useconds_t)wait);
        else
            next = now_us();
    }
    return NULL;
}

static void print_status(int64_t t0, const char *what)
{
    aud_writer_stats_t st;
    aud_writer_stats(writer, &st);
    printf("{\"%s\":true,\"t_ms\":%lld,\"ok\":%ld,\"failed\":%ld,\"timeouts\":%ld,"
           "\"max_ok_ms\":%.1f,\"max_fail_ms\":%.1f,\"connected\":%d,\"spooling\":%d,"
           "\"stopped\":%d,\"queued\":%zu,\"committed\":%llu,\"spooled\":%llu,\"drained\":%llu,"
           "\"batches\":%llu,\"checkpoints\":%llu,\"head_seq\":%lld,\"checkpoint_seq\":%lld,"
           "\"mark\":%ld}\n",
           what, (long long)((now_us() - t0) / 1000), atomic_load(&n_ok), atomic_load(&n_fail),
           atomic_load(&n_timeout), (double)atomic_load(&max_ok_us) / 1000.0,
           (double)atomic_load(&max_fail_us) / 1000.0, st.connected, st.spooling, st.stopped,
           st.queued, (unsigned long long)st.committed, (unsigned long long)st.spooled,
           (unsigned long long)st.drained, (unsigned long long)st.batches,
           (unsigned long long)st.checkpoints, (long long)st.head_seq, (long long)st.checkpoint_seq,
           marks);
    fflush(stdout);
}

static int run_paced(void)
{
    pthread_t *tids = calloc((size_t)opt.threads, sizeof(*tids));
    int64_t t0 = now_us();
    for (long i = 0; i < opt.threads; i++)
        pthread_create(&tids[i], NULL, paced_main, (void *)(intptr_t)i);
    int stdin_open = 1;
    for (;;) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        int r = poll(&p, stdin_open ? 1 : 0, (int)opt.report_ms);
        if (r > 0) {
            char buf[256];
            ssize_t n = read(0, buf, sizeof(buf));
            if (n <= 0)
                break; /* stdin closed: stop */
            for (ssize_t k = 0; k < n; k++)
                marks += buf[k] == '\n';
        }
        print_status(t0, "status");
        if (opt.duration_s > 0 && now_us() - t0 >= opt.duration_s * 1000000)
            break;
    }
    atomic_store(&stop_now, 1);
    for (long i = 0; i < opt.threads; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    return 0;
}

static void usage(void)
{
    fputs("usage: bench_audit --database URL --key FILE [--stream NAME] [--mode strict|spool]\n"
          "       [--spool-dir DIR] [--checkpoint-every N] [--checkpoint-seconds S]\n"
          "       [--timeout-ms MS] [--max-batch N] [--queue N] [--events N] [--threads T]\n"
          "       [--window W] [--rate R] [--duration S] [--report-ms MS] [--ok-ids FILE]\n"
          "       bulk|paced|idle\n",
          stderr);
}

int main(int argc, char **argv)
{
    const char *cmd = NULL;
    my_pid = (long)getpid();
    opt.cfg.stream = "bench";
    opt.cfg.spool_dir = "spool";
    opt.mode_name = "strict";
    const bench_option_t options[] = {
        {"--database", .str = &opt.cfg.database_url},
        {"--key", .str = &opt.cfg.signing_key},
        {"--stream", .str = &opt.cfg.stream},
        {"--mode", .str = &opt.mode_name},
        {"--spool-dir", .str = &opt.cfg.spool_dir},
        {"--ok-ids", .str = &opt.ok_ids},
        {"--events", .num = &opt.events},
        {"--threads", .num = &opt.threads},
        {"--window", .num = &opt.window},
        {"--rate", .num = &opt.rate},
        {"--duration", .num = &opt.duration_s},
        {"--report-ms", .num = &opt.report_ms},
        {"--checkpoint-every", .num = &opt.cp_every},
        {"--checkpoint-seconds", .num = &opt.cp_seconds},
        {"--timeout-ms", .num = &opt.timeout_ms},
        {"--max-batch", .num = &opt.max_batch},
        {"--queue", .num = &opt.queue},
        {NULL},
    };
    for (int i = 1; i < argc; i++) {
        int m = bench_option(options, argc, argv, &i);
        if (m > 0)
            continue;
        const char *a = argv[i];
        if (m == 0 && !cmd &&
            (strcmp(a, "bulk") == 0 || strcmp(a, "paced") == 0 || strcmp(a, "idle") == 0)) {
            cmd = a;
            continue;
        }
        usage();
        return 2;
    }
    if (!cmd || !opt.cfg.database_url || !opt.cfg.signing_key || opt.threads < 1 ||
        opt.window < 1) {
        usage();
        return 2;
    }
    opt.cfg.checkpoint_every = (int)opt.cp_every;
    opt.cfg.checkpoint_seconds = (int)opt.cp_seconds;
    opt.cfg.write_timeout_ms = (int)opt.timeout_ms;
    opt.cfg.max_batch = opt.max_batch > 0 ? (size_t)opt.max_batch : 0;
    opt.cfg.queue_capacity = opt.queue > 0 ? (size_t)opt.queue : 0;
    if (strcmp(opt.mode_name, "spool") == 0)
        opt.cfg.mode = AUD_MODE_SPOOL;
    else if (strcmp(opt.mode_name, "strict") != 0) {
        usage();
        return 2;
    }
    if (opt.ok_ids && !(ids_out = fopen(opt.ok_ids, "w"))) {
        fprintf(stderr, "bench_audit: %s: %s\n", opt.ok_ids, strerror(errno));
        return 1;
    }
    char err[1024];
    writer = aud_writer_open(&opt.cfg, err, sizeof(err));
    if (!writer) {
        fprintf(stderr, "bench_audit: %s\n", err);
        if (ids_out)
            fclose(ids_out);
        return 1;
    }
    printf("{\"opened\":true,\"key_id\":\"%s\"}\n", aud_writer_key_id(writer));
    fflush(stdout);
    int64_t t0 = now_us();
    int rc = 0;
    if (strcmp(cmd, "bulk") == 0)
        rc = run_bulk();
    else if (strcmp(cmd, "paced") == 0)
        rc = run_paced();
    else
        sleep((unsigned)opt.duration_s);
    aud_writer_close(writer);
    if (strcmp(cmd, "paced") == 0) {
        writer = NULL;
        printf("{\"done\":true,\"t_ms\":%lld,\"ok\":%ld,\"failed\":%ld,\"timeouts\":%ld,"
               "\"max_ok_ms\":%.1f,\"max_fail_ms\":%.1f}\n",
               (long long)((now_us() - t0) / 1000), atomic_load(&n_ok), atomic_load(&n_fail),
               atomic_load(&n_timeout), (double)atomic_load(&max_ok_us) / 1000.0,
               (double)atomic_load(&max_fail_us) / 1000.0);
    }
    if (ids_out)
        fclose(ids_out);
    return rc;
}
