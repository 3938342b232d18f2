/* events.jsonl through a pipeline: contract in report_verify_events.h.
 *
 * A pipeline, so that a large report verifies at the speed of the machine's cores: the main
 * thread reads the file in batches of whole lines (and hashes it for the manifest), workers
 * check each batch's lines on their own (decode, parse, re-encode, recompute the hash after the
 * line's prev_hash), and the main thread then sequences the results in line order (seqs,
 * links, end checkpoints, problems: report_verify_seq.h). Batches in flight are bounded:
 * memory stays flat. */
#include "audit/report_verify_events.h"
#include "audit/limits.h"
#include "audit/report_line.h"
#include "audit/report_verify_files.h"
#include "audit/report_verify_problem.h"
#include "audit/report_verify_seq.h"
#include "common/err.h"
#include "common/sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_BYTES (1 << 20)

enum { B_FREE, B_FILLED, B_TAKEN, B_DONE };

struct pipe;

typedef struct {
    struct pipe *p;
    pthread_t thread;
    int started;
    aud_hasher_t hasher;
    char *decode;
    size_t decode_cap;
} worker_t;

typedef struct pipe {
    rvf_ctx_t *v;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    rvf_batch_t *batches;
    size_t n_batches;
    size_t next_fill, next_take, next_seq; /* counters; a batch is batches[i % n_batches] */
    int stop;
    worker_t workers[AUD_REPORT_VERIFY_MAX_WORKERS];
    size_t n_workers;
} pipe_t;

/* Checks one line on its own (worker side). Reads only what never changes during the pass. */
static void work_line(worker_t *w, aud_parsed_t *parsed, const char *text, size_t n, rvf_line_t *r)
{
    const aud_report_verify_result_t *rr = w->p->v->r;
    memset(r, 0, offsetof(rvf_line_t, why));
    r->why[0] = '\0';
    if (w->decode_cap < n) {
        char *d = realloc(w->decode, n);
        if (!d) {
            r->bad_line = "memory to decode it (out of memory)";
            return;
        }
        w->decode = d;
        w->decode_cap = n;
    }
    aud_report_line_t l;
    if (aud_report_line_parse(text, n, w->decode, &l, &r->bad_line) != 0)
        return;
    r->bad_line = NULL;
    r->hidden = l.hidden;
    r->chain = l.chain;
    r->in_period_flag = l.in_period;
    r->seq = l.seq;
    memcpy(r->stream, l.stream, sizeof(r->stream));
    memcpy(r->hash, l.hash, AUD_HASH_BYTES);
    memcpy(r->prev, l.prev, AUD_HASH_BYTES);
    int rc = l.hidden ? aud_chain_next_v2(&w->hasher, l.prev, l.text, l.text_len, l.commitment,
                                          r->computed)
                      : aud_chain_next(&w->hasher, l.prev, l.text, l.text_len, r->computed);
    r->computed_ok = rc == 0;
    if (l.hidden) {
        r->own_org =
            rr->scoped && l.text_len == strlen(rr->org) && memcmp(l.text, rr->org, l.text_len) == 0;
        return;
    }
    /* The parser accepts only the canonical form: what it parses re-encodes to the same bytes
     * (audit/event.h; fuzz.audit_event checks exactly that), so no re-encoding here. */
    if (aud_event_parse(parsed, l.text, l.text_len, r->why, sizeof(r->why)) != 0) {
        r->noncanonical = 1;
        return;
    }
    const aud_event_t *ev = &parsed->ev;
    r->version = aud_chain_version(l.text, l.text_len);
    r->ts_us = ev->ts_us;
    r->in_period = ev->ts_us >= rr->from_us && ev->ts_us < rr->to_us;
    r->kind = aud_kind_name(ev->kind);
    r->in_scope = aud_report_in_scope(ev, rr->from_us, rr->to_us, rr->scoped ? rr->org : NULL);
    if (rr->scoped && r->version == 2) {
        const char *org = ev->decision.org ? ev->decision.org : "";
        if (strcmp(org, rr->org) != 0 &&
            (org[0] || !aud_report_kind_concerns_every_org(aud_kind_name(ev->kind)))) {
            r->disclosed = 1;
            snprintf(r->why, sizeof(r->why), "%.60s", org);
        }
    }
}

/* Checks every line of b into b->res (the worker owns b until it is done). Out of memory,
 * b->n_res stops short and b->short_of_memory says so (the sequencer stops there). */
static void work_batch(worker_t *w, rvf_batch_t *b)
{
    const char *at = b->buf, *end = b->buf + b->len;
    b->n_res = 0;
    b->short_of_memory = 0;
    while (at < end) {
        if (b->n_res == b->res_cap) {
            /* a real line is hundreds of bytes: this rarely grows past the first guess */
            size_t cap = b->res_cap ? 2 * b->res_cap : b->len / 256 + 64;
            rvf_line_t *nr = realloc(b->res, cap * sizeof(rvf_line_t));
            if (nr)
                b->res = nr;
            aud_parsed_t **np = nr ? realloc(b->parsed, cap * sizeof(*np)) : NULL;
            if (!np) {
                b->short_of_memory = 1;
                return;
            }
            b->parsed = np;
            memset(np + b->res_cap, 0, (cap - b->res_cap) * sizeof(*np));
            b->res_cap = cap;
        }
        size_t i = b->n_res;
        if (!b->parsed[i] && !(b->parsed[i] = calloc(1, sizeof(aud_parsed_t)))) {
            b->short_of_memory = 1;
            return;
        }
        const char *nl = memchr(at, '\n', (size_t)(end - at));
        work_line(w, b->parsed[i], at, (size_t)(nl - at), &b->res[i]);
        b->n_res++;
        at = nl + 1;
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    pipe_t *p = w->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->next_take == p->next_fill)
            pthread_cond_wait(&p->cv_work, &p->mu);
        if (p->next_take == p->next_fill)
            break; /* stopped, nothing left */
        rvf_batch_t *b = &p->batches[p->next_take++ % p->n_batches];
        b->state = B_TAKEN;
        pthread_mutex_unlock(&p->mu);
        work_batch(w, b);
        pthread_mutex_lock(&p->mu);
        b->state = B_DONE;
        pthread_cond_broadcast(&p->cv_done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void worker_free(worker_t *w)
{
    aud_hasher_free(&w->hasher);
    free(w->decode);
}

static size_t worker_count(const aud_report_verify_options_t *o)
{
    long n = o->threads > 0 ? (long)o->threads : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > AUD_REPORT_VERIFY_MAX_WORKERS ? AUD_REPORT_VERIFY_MAX_WORKERS : (size_t)n;
}

/* Fills b with the carried partial line and more of the file, up to whole lines; what follows
 * the last '\n' is carried into the next batch. Returns 1 at the end of the file, 0, or -1
 * after a problem (I/O, a line over the cap). */
static int fill_batch(rvf_ctx_t *v, int fd, EVP_MD_CTX *fctx, rvf_batch_t *b, cmn_buf_t *carry)
{
    b->len = 0;
    if (carry->len) {
        if (b->cap < carry->len + BATCH_BYTES) {
            char *nb = realloc(b->buf, carry->len + BATCH_BYTES);
            if (!nb)
                goto nomem;
            b->buf = nb;
            b->cap = carry->len + BATCH_BYTES;
        }
        memcpy(b->buf, carry->data, carry->len);
        b->len = carry->len;
        cmn_buf_clear(carry);
    }
    int eof = 0;
    for (;;) {
        while (b->len < b->cap) {
            ssize_t n = read(fd, b->buf + b->len, b->cap - b->len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rvf_problem(v, "file_hash", RVF_EVENTS, 0, NULL, -1, "events.jsonl: %s",
                            strerror(errno));
                return -1;
            }
            if (n == 0) {
                eof = 1;
                break;
            }
            EVP_DigestUpdate(fctx, b->buf + b->len, (size_t)n);
            b->len += (size_t)n;
        }
        char *last = b->len ? memrchr(b->buf, '\n', b->len) : NULL;
        if (last || eof) {
            size_t keep = last ? (size_t)(last - b->buf) + 1 : 0;
            if (cmn_buf_append(carry, b->buf + keep, b->len - keep) != 0)
                goto nomem;
            b->len = keep;
            break;
        }
        /* not one whole line yet: a long line */
        if (b->cap >= (size_t)AUD_REPORT_VERIFY_MAX_LINE) {
            rvf_problem(v, "line", RVF_EVENTS, v->lines + 1, NULL, -1,
                        "a line of events.jsonl is longer than %d bytes",
                        AUD_REPORT_VERIFY_MAX_LINE);
            return -1;
        }
        char *nb = realloc(b->buf, b->cap * 2);
        if (!nb)
            goto nomem;
        b->buf = nb;
        b->cap *= 2;
    }
    return eof;
nomem:
    rvf_problem(v, "line", RVF_EVENTS, v->lines + 1, NULL, -1,
                "out of memory reading events.jsonl");
    return -1;
}

void rvf_events_read(rvf_ctx_t *v)
{
    int fd = rvf_files_open(v->o->dir, RVF_EVENTS);
    if (fd < 0) {
        rvf_problem(v, errno == ENOENT ? "file_missing" : "file_hash", RVF_EVENTS, 0, NULL, -1,
                    "events.jsonl cannot be read: %s", strerror(errno));
        return;
    }
    pipe_t p;
    memset(&p, 0, sizeof(p));
    p.v = v;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv_work, NULL);
    pthread_cond_init(&p.cv_done, NULL);
    cmn_buf_t carry;
    cmn_buf_init(&carry, AUD_REPORT_VERIFY_MAX_LINE);
    EVP_MD_CTX *fctx = EVP_MD_CTX_new();
    size_t want = worker_count(v->o);
    /* one worker on the main thread when alone; else threads, the main one reading */
    p.n_batches = want > 1 ? 2 * want + 2 : 1;
    p.batches = calloc(p.n_batches, sizeof(rvf_batch_t));
    int ok = fctx && p.batches && EVP_DigestInit_ex(fctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < p.n_batches; i++) {
        p.batches[i].buf = malloc(BATCH_BYTES);
        p.batches[i].cap = BATCH_BYTES;

        ok = p.batches[i].buf != NULL;
    }
    for (size_t i = 0; ok && i < want; i++) {
        worker_t *w = &p.workers[p.n_workers];
        w->p = &p;
        if (aud_hasher_init(&w->hasher) != 0) {
            ok = 0;
            break;
        }
        p.n_workers++;
        if (want > 1) {
            w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
            if (!w->started)
                break; /* fewer threads: the ones started do the work */
        }
    }
    int inline_work = p.n_workers > 0 && !p.workers[0].started;
    if (p.n_workers == 0)
        ok = 0;
    if (!ok)
        rvf_problem(v, "line", RVF_EVENTS, 0, NULL, -1, "out of memory reading events.jsonl");
    int eof = !ok, failed = !ok;
    while (ok) {
        /* fill every free batch, then sequence the oldest when it is done */
        while (!eof && p.next_fill - p.next_seq < p.n_batches) {
            rvf_batch_t *b = &p.batches[p.next_fill % p.n_batches];
            int rc = fill_batch(v, fd, fctx, b, &carry);
            if (rc < 0) {
                eof = failed = 1;
                break;
            }
            eof = rc;
            if (inline_work) {
                work_batch(&p.workers[0], b);
                b->state = B_DONE;
                p.next_fill++;
                p.next_take++;
            } else {
                pthread_mutex_lock(&p.mu);
                b->state = B_FILLED;
                p.next_fill++;
                pthread_cond_signal(&p.cv_work);
                pthread_mutex_unlock(&p.mu);
            }
        }
        if (p.next_seq == p.next_fill)
            break;
        rvf_batch_t *b = &p.batches[p.next_seq % p.n_batches];
        pthread_mutex_lock(&p.mu);
        while (b->state != B_DONE)
            pthread_cond_wait(&p.cv_done, &p.mu);
        pthread_mutex_unlock(&p.mu);
        int rc = rvf_seq_batch(v, b);
        b->state = B_FREE;
        p.next_seq++;
        if (rc != 0) {
            failed = 1;
            break;
        }
    }
    pthread_mutex_lock(&p.mu);
    p.stop = 1;
    pthread_cond_broadcast(&p.cv_work);
    pthread_mutex_unlock(&p.mu);
    for (size_t i = 0; i < p.n_workers; i++) {
        if (p.workers[i].started)
            pthread_join(p.workers[i].thread, NULL);
        worker_free(&p.workers[i]);
    }
    if (!failed && carry.len)
        rvf_problem(v, "line", RVF_EVENTS, v->lines + 1, NULL, -1,
                    "the last line of events.jsonl has no newline: the file was cut");
    unsigned char h[AUD_HASH_BYTES];
    unsigned int hl = 0;
    if (!failed && v->events_listed >= 0 && EVP_DigestFinal_ex(fctx, h, &hl) == 1 &&
        memcmp(h, v->listed_hash[v->events_listed], AUD_HASH_BYTES) != 0) {
        char a[2 * AUD_HASH_BYTES + 1], b[2 * AUD_HASH_BYTES + 1];
        cmn_hex(h, AUD_HASH_BYTES, a);
        cmn_hex(v->listed_hash[v->events_listed], AUD_HASH_BYTES, b);
        rvf_problem(v, "file_hash", RVF_EVENTS, 0, NULL, -1,
                    "events.jsonl has SHA-256 %s, but manifest.json says %s: the file was changed",
                    a, b);
    }
    for (size_t i = 0; p.batches && i < p.n_batches; i++) {
        free(p.batches[i].buf);
        for (size_t k = 0; p.batches[i].parsed && k < p.batches[i].res_cap; k++) {
            aud_parsed_free(p.batches[i].parsed[k]);
            free(p.batches[i].parsed[k]);
        }
        free(p.batches[i].parsed);
        free(p.batches[i].res);
    }
    free(p.batches);
    cmn_buf_free(&carry);
    EVP_MD_CTX_free(fctx);
    pthread_cond_destroy(&p.cv_work);
    pthread_cond_destroy(&p.cv_done);
    pthread_mutex_destroy(&p.mu);
    close(fd);
}
