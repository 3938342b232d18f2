/* The audit writer: contract in pgwriter.h.
 *
 * Three threads besides the callers:
 *   - the writer owns the connection, the chain head, the spool and the checkpoint file;
 *   - the connector makes new connections (connect, register, lock, read the head), so that a
 *     database that does not answer never stalls the writer, which keeps spooling meanwhile;
 *   - the timer fails every ticket whose deadline passes, so that no caller waits longer than
 *     write_timeout_ms whatever the writer is blocked on.
 * Tickets are preallocated (queue_capacity of them): a submit takes one from the free list,
 * encodes the event into its row buffer (which keeps its memory from one event to the next),
 * and links it into the queue and into the deadline list. Deadlines are submit time plus one
 * fixed timeout, so the deadline list is FIFO and the timer looks only at its head. */
#include "audit/pgwriter.h"
#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/db.h"
#include "audit/spool.h"
#include "common/clock.h"
#include "common/sha256.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG             "audit"
#define NCOLS           18
#define MAX_BATCH_BYTES (8u << 20)
#define ROW_KEEP_BYTES  (64u << 10) /* a ticket buffer grown past this is shrunk after use */
/* A row: 16 bytes of headers, the event (capped by the encoder), then at most 8 string columns
 * of AUD_MAX_STRING_BYTES and a few numbers: never over this, so appends cannot fail short. */
#define ROW_MAX_BYTES  (16 + AUD_MAX_EVENT_BYTES + 16 * AUD_MAX_STRING_BYTES + 256)
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define FIRE_CHUNK     256

static const char copy_sql[] =
    "COPY audit_event (stream_id, seq, prev_hash, hash, ts, canonical, kind, request_id, actor, "
    "org, repo, action, decision, rule, status, bytes_in, bytes_out, client_ip) "
    "FROM STDIN (FORMAT binary)";

typedef struct ticket ticket_t;
struct ticket {
    ticket_t *next_free;
    ticket_t *prev_u, *next_u; /* deadline list (unfinished tickets) */
    aud_done_fn done;
    void *arg;
    int64_t deadline_ns;
    int finished;    /* done has been (or is being) called */
    int writer_done; /* the writer no longer needs it */
    int in_list;
    /* The COPY row without its first four fields (stream_id, seq, prev_hash, hash): ts,
     * canonical (at offset 16, length at offset 12), then the columns. */
    cmn_buf_t row;
};

typedef enum { CONN_OK, CONN_TRANSIENT, CONN_FATAL } conn_class_t;

typedef struct {
    conn_class_t cls;
    PGconn *conn;
    int64_t stream_id;
    int64_t head_seq; /* 0 for an empty stream */
    unsigned char head_hash[AUD_HASH_BYTES];
    int64_t cp_seq;
    int backend_pid;
    char err[512];
} conn_result_t;

typedef struct {
    void *arg;
    aud_done_fn done;
} fire_t;

struct aud_writer {
    /* configuration (immutable after open) */
    char *url, *stream, *spool_dir, *cp_path;
    aud_mode_t mode;
    int cp_every, cp_seconds, timeout_ms;
    size_t qcap, max_batch;
    char app_name[64];
    char host[256];
    aud_key_t *key;
    unsigned char genesis[AUD_HASH_BYTES];

    pthread_mutex_t mu;
    pthread_cond_t writer_cv, timer_cv, connector_cv;
    pthread_t writer_thr, timer_thr, connector_thr;
    int threads_started;

    /* under mu */
    ticket_t *tickets; /* the pool */
    ticket_t *free_list;
    ticket_t **queue; /* ring of qcap */
    size_t qhead, qlen;
    ticket_t *u_head, *u_tail;
    int writer_waiting, timer_waiting;
    int closing, stop;
    aud_writer_stats_t stats;
    int connect_requested, connect_busy, result_ready;
    conn_result_t result;
    int last_backend_pid; /* read by the connector */

    /* writer thread only (and open/close before/after the threads) */
    aud_hasher_t hasher;
    PGconn *conn;
    int64_t stream_id;
    int64_t head_seq;
    unsigned char head_hash[AUD_HASH_BYTES];
    int64_t cp_seq;
    int64_t cp_due_ns;
    int cp_fd;
    int fatal;
    int backoff_ms;
    int64_t next_connect_ns;
    int64_t down_since_ns; /* 0 while connected */
    /* strict mode: a batch whose commit outcome is unknown, held until resolved */
    ticket_t **batch;
    size_t batch_n;
    int batch_held;
    int64_t batch_first_seq;
    unsigned char batch_prev[AUD_HASH_BYTES], batch_last[AUD_HASH_BYTES];
    int batch_has_cp; /* the batch carries a checkpoint of its last event */
    aud_checkpoint_t batch_cp;
    int64_t cp_synced_ns; /* last fdatasync of the checkpoint file */
    int cp_unsynced;
    cmn_buf_t copy;
    /* spool */
    aud_spool_t *spool;
    aud_spool_pos_t drain_pos;
    int drain_resolved;
    int64_t db_head_seq; /* the head the last connection found, for the drain */
    unsigned char db_head_hash[AUD_HASH_BYTES];
    int episode_logged;
    int64_t episode_seq; /* seq of the audit.spooled event, once spooled */
    char spool_reason[256];
    cmn_buf_t scratch; /* for the writer's own events */
};

/* ---- small helpers ---- */

static int sign_checkpoint(aud_writer_t *w, int64_t seq, const unsigned char *hash,
                           aud_checkpoint_t *cp);
static void checkpoint_sql(const aud_writer_t *w, const aud_checkpoint_t *cp, const char *tail,
                           char *out, size_t cap);
static void checkpoint_stored(aud_writer_t *w, const aud_checkpoint_t *cp);

static void abs_deadline(int64_t ns, struct timespec *ts)
{
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
}

/* Copies as much of src as fits (messages may be cut; they are for people). */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void note_error(aud_writer_t *w, const char *msg)
{
    pthread_mutex_lock(&w->mu);
    copy_str(w->stats.last_error, sizeof(w->stats.last_error), msg);
    pthread_mutex_unlock(&w->mu);
}

static void put16(cmn_buf_t *b, int v)
{
    unsigned char p[2];
    aud_be16(p, (uint16_t)v);
    cmn_buf_append(b, p, 2);
}

static void put32(cmn_buf_t *b, int32_t v)
{
    unsigned char p[4];
    aud_be32(p, (uint32_t)v);
    cmn_buf_append(b, p, 4);
}

static void put64(cmn_buf_t *b, int64_t v)
{
    unsigned char p[8];
    aud_be64(p, (uint64_t)v);
    cmn_buf_append(b, p, 8);
}

static void put_text(cmn_buf_t *b, const char *s)
{
    if (!s) {
        put32(b, -1);
        return;
    }
    size_t n = strlen(s);
    put32(b, (int32_t)n);
    cmn_buf_append(b, s, n);
}

/* The columns after canonical, from a parsed event (audit/event.h aud_event_columns). */
static void put_columns(cmn_buf_t *b, const aud_columns_t *c)
{
    put_text(b, c->kind);
    put_text(b, c->request_id);
    put_text(b, c->actor);
    put_text(b, c->org);
    put_text(b, c->repo);
    put_text(b, c->action);
    put_text(b, c->decision);
    put_text(b, c->rule);
    if (c->status == AUD_ABSENT) {
        put32(b, -1);
    } else {
        put32(b, 4);
        put32(b, c->status);
    }
    if (c->bytes_in == AUD_ABSENT) {
        put32(b, -1);
    } else {
        put32(b, 8);
        put64(b, c->bytes_in);
    }
    if (c->bytes_out == AUD_ABSENT) {
        put32(b, -1);
    } else {
        put32(b, 8);
        put64(b, c->bytes_out);
    }
    if (!c->ip_family) {
        put32(b, -1);
    } else {
        /* inet's binary form: family (PGSQL_AF_INET 2, PGSQL_AF_INET6 3), bits, is_cidr,
         * address length, address. */
        int nb = c->ip_family == 4 ? 4 : 16;
        unsigned char h[4] = {(unsigned char)(c->ip_family == 4 ? 2 : 3), (unsigned char)(nb * 8),
                              0, (unsigned char)nb};
        put32(b, 4 + nb);
        cmn_buf_append(b, h, 4);
        cmn_buf_append(b, c->ip, (size_t)nb);
    }
}

/* Builds a row tail (ts, canonical, columns) from canonical bytes, re-parsing them so that the
 * columns come from exactly what is hashed. Returns 0, CMN_ERR_PARSE or CMN_ERR_NOMEM. */
static int row_from_canonical(cmn_buf_t *row, const char *canon, size_t len, char *why,
                              size_t whylen)
{
    char store[4096];
    aud_parsed_t p = {.store = store, .store_cap = sizeof(store), .store_borrowed = 1};
    int rc = aud_event_parse(&p, canon, len, why, whylen);
    if (rc == 0) {
        aud_columns_t c;
        aud_event_columns(&p.ev, &c);
        put32(row, 8);
        put64(row, c.ts_us - AUD_PG_EPOCH_US);
        put32(row, (int32_t)len);
        cmn_buf_append(row, canon, len);
        put_columns(row, &c);
    }
    aud_parsed_free(&p);
    return rc;
}

static const char *row_canonical(const ticket_t *t, size_t *len)
{
    *len = aud_rd32((const unsigned char *)t->row.data + 12);
    return t->row.data + 16;
}

/* ---- tickets (callers hold w->mu) ---- */

static void u_unlink(aud_writer_t *w, ticket_t *t)
{
    if (!t->in_list)
        return;
    if (t->prev_u)
        t->prev_u->next_u = t->next_u;
    else
        w->u_head = t->next_u;
    if (t->next_u)
        t->next_u->prev_u = t->prev_u;
    else
        w->u_tail = t->prev_u;
    t->prev_u = t->next_u = NULL;
    t->in_list = 0;
}

static void release(aud_writer_t *w, ticket_t *t)
{
    if (t->row.cap > ROW_KEEP_BYTES) {
        cmn_buf_free(&t->row);
        cmn_buf_init(&t->row, ROW_MAX_BYTES);
    }
    cmn_buf_clear(&t->row);
    t->next_free = w->free_list;
    w->free_list = t;
}

/* The writer is done with t: decide its outcome (unless the timer already did) and release it.
 * Appends the callback to run (outside the lock) to fire[*nf]. */
static void finish_locked(aud_writer_t *w, ticket_t *t, int status, fire_t *fire, size_t *nf)
{
    t->writer_done = 1;
    if (!t->finished) {
        t->finished = 1;
        u_unlink(w, t);
        if (t->done) {
            fire[*nf].done = t->done;
            fire[*nf].arg = t->arg;
            (*nf)++;
        }
        w->stats.timed_out += status == CMN_ERR_TIMEOUT;
    }
    release(w, t);
}

/* Completes n tickets with one status, calling the callbacks outside the lock. */
static void complete(aud_writer_t *w, ticket_t **ts, size_t n, int status)
{
    fire_t fire[FIRE_CHUNK];
    for (size_t i = 0; i < n;) {
        size_t nf = 0;
        pthread_mutex_lock(&w->mu);
        for (; i < n && nf < FIRE_CHUNK; i++)
            finish_locked(w, ts[i], status, fire, &nf);
        pthread_mutex_unlock(&w->mu);
        for (size_t k = 0; k < nf; k++)
            fire[k].done(fire[k].arg, status);
    }
}

/* ---- the timer thread ---- */

static void *timer_main(void *arg)
{
    aud_writer_t *w = arg;
    fire_t fire[FIRE_CHUNK];
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        int64_t now = cmn_mono_ns();
        size_t nf = 0;
        while (w->u_head && w->u_head->deadline_ns <= now && nf < FIRE_CHUNK) {
            ticket_t *t = w->u_head;
            u_unlink(w, t);
            t->finished = 1;
            w->stats.timed_out++;
            if (t->done) {
                fire[nf].done = t->done;
                fire[nf].arg = t->arg;
                nf++;
            }
            if (t->writer_done)
                release(w, t);
        }
        if (nf) {
            pthread_mutex_unlock(&w->mu);
            for (size_t k = 0; k < nf; k++)
                fire[k].done(fire[k].arg, CMN_ERR_TIMEOUT);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        w->timer_waiting = 1;
        if (w->u_head) {
            struct timespec ts;
            abs_deadline(w->u_head->deadline_ns, &ts);
            pthread_cond_timedwait(&w->timer_cv, &w->mu, &ts);
        } else {
            pthread_cond_wait(&w->timer_cv, &w->mu);
        }
        w->timer_waiting = 0;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- connecting (the connector thread, and open) ---- */

static PGresult *exec_params(PGconn *conn, const char *sql, int n, const char *const *vals)
{
    return PQexecParams(conn, sql, n, NULL, vals, NULL, NULL, 0);
}

static int ok_result(PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* Who holds the stream's lock, as one line; and whether it is a dead predecessor of this
 * process (same host, pid gone or equal to ours: a restarted container) or our own previous
 * session, which may then be ended. */
static int lock_holder(aud_writer_t *w, PGconn *conn, int64_t stream_id, int prev_pid, char *who,
                       size_t wholen, int *holder_pid)
{
    char cls[16], obj[24];
    snprintf(cls, sizeof(cls), "%d", AUD_LOCK_CLASS);
    snprintf(obj, sizeof(obj), "%lld", (long long)stream_id);
    const char *vals[2] = {cls, obj};
    PGresult *r = exec_params(conn,
                              "SELECT l.pid, coalesce(a.application_name, ''), "
                              "coalesce(host(a.client_addr), 'local'), "
                              "coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', "
                              "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '?') "
                              "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                              "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                              "AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid",
                              2, vals);
    int stale = 0;
    *holder_pid = 0;
    if (ok_result(r) && PQntuples(r) > 0) {
        *holder_pid = atoi(PQgetvalue(r, 0, 0));
        const char *app = PQgetvalue(r, 0, 1);
        snprintf(who, wholen, "backend pid %d, application \"%s\", client %s, connected since %s",
                 *holder_pid, app, PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
        int pid = 0;
        char host[256] = "";
        if (prev_pid && *holder_pid == prev_pid) {
            stale = 1;
        } else if (sscanf(app, "hubgate %d@%255[^ ]", &pid, host) == 2 && pid > 0) {
            size_t hl = strlen(host);
            int same_host = hl > 0 && strncmp(host, w->host, hl) == 0;
            if (same_host && (pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH)))
                stale = 1;
        }
    } else {
        /* Released between our attempt and this look: just try again. */
        snprintf(who, wholen, "a session that ended meanwhile");
        stale = 1;
    }
    PQclear(r);
    return stale;
}

/* Connects and prepares the session: checks durability settings, registers the stream and
 * the key, takes the stream's lock and reads the head. Blocks. */
static void do_connect(aud_writer_t *w, int prev_pid, conn_result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->cls = CONN_TRANSIENT;
    PGresult *r = NULL;
    PGconn *conn = aud_db_connect(w->url, w->app_name, res->err, sizeof(res->err));
    if (!conn)
        return;
    r = PQexec(conn, "SELECT current_setting('synchronous_commit'), pg_backend_pid()");
    if (!ok_result(r)) {
        aud_db_oneline(res->err, sizeof(res->err), "database: ", PQerrorMessage(conn));
        goto fail;
    }
    if (strcmp(PQgetvalue(r, 0, 0), "off") == 0) {
        cmn_errf(res->err, sizeof(res->err),
                "the database session has synchronous_commit=off: commits would not be durable");
        res->cls = CONN_FATAL;
        goto fail;
    }
    res->backend_pid = atoi(PQgetvalue(r, 0, 1));
    PQclear(r);

    /* The stream: created on first use with this instance's key. */
    cmn_buf_t pem;
    cmn_buf_init(&pem, 4096);
    if (aud_key_public_pem(w->key, &pem) != 0) {
        cmn_buf_free(&pem);
        cmn_errf(res->err, sizeof(res->err), "cannot encode the public key");
        res->cls = CONN_FATAL;
        r = NULL;
        goto fail;
    }
    const char *kid = aud_key_id(w->key);
    const char *ins[3] = {w->stream, pem.data, kid};
    r = exec_params(conn,
                    "INSERT INTO audit_stream (name, public_key, key_id) VALUES ($1, $2, $3) "
                    "ON CONFLICT (name) DO NOTHING",
                    3, ins);
    if (!ok_result(r)) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        aud_db_oneline(res->err, sizeof(res->err),
                       "registering the stream: ", PQresultErrorMessage(r));
        /* 42P01 undefined table, 42501 insufficient privilege: not a passing condition */
        if (state && (strcmp(state, "42P01") == 0 || strcmp(state, "42501") == 0))
            res->cls = CONN_FATAL;
        cmn_buf_free(&pem);
        goto fail;
    }
    PQclear(r);
    r = exec_params(conn, "SELECT id, key_id FROM audit_stream WHERE name = $1", 1, ins);
    if (!ok_result(r) || PQntuples(r) != 1) {
        aud_db_oneline(res->err, sizeof(res->err), "reading the stream: ", PQresultErrorMessage(r));
        cmn_buf_free(&pem);
        goto fail;
    }
    res->stream_id = atoll(PQgetvalue(r, 0, 0));
    int other_key = strcmp(PQgetvalue(r, 0, 1), kid) != 0;
    PQclear(r);
    r = NULL;

    /* The lock: one live writer per stream. */
    char cls[16], obj[24];
    snprintf(cls, sizeof(cls), "%d", AUD_LOCK_CLASS);
    snprintf(obj, sizeof(obj), "%lld", (long long)res->stream_id);
    const char *lk[2] = {cls, obj};
    for (int attempt = 0;; attempt++) {
        r = exec_params(conn, "SELECT pg_try_advisory_lock($1::int, $2::bigint::int)", 2, lk);
        if (!ok_result(r)) {
            aud_db_oneline(res->err, sizeof(res->err),
                           "locking the stream: ", PQresultErrorMessage(r));
            cmn_buf_free(&pem);
            goto fail;
        }
        int got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        r = NULL;
        if (got)
            break;
        char who[512];
        int holder = 0;
        int stale = lock_holder(w, conn, res->stream_id, prev_pid, who, sizeof(who), &holder);
        if (!stale || attempt >= 30) {
            cmn_errf(res->err, sizeof(res->err),
                    "stream \"%s\" is held by a live instance (%s); give each instance its own "
                    "audit.stream, or if that instance is gone, end its session with SELECT "
                    "pg_terminate_backend(%d)",
                    w->stream, who, holder);
            res->cls = stale ? CONN_TRANSIENT : CONN_FATAL;
            cmn_buf_free(&pem);
            goto fail;
        }
        if (holder > 0 && attempt % 10 == 0) {
            char pid[16];
            snprintf(pid, sizeof(pid), "%d", holder);
            const char *pv[1] = {pid};
            cmn_log_info(LOG,
                         "stream %s: ending the session of a previous writer of this "
                         "instance (%s)",
                         w->stream, who);
            PQclear(exec_params(conn, "SELECT pg_terminate_backend($1::int)", 1, pv));
        }
        usleep(100 * 1000);
    }

    /* A key this stream has not seen is registered before anything is signed with it. */
    if (other_key) {
        const char *kv[3] = {obj, kid, pem.data};
        r = exec_params(conn,
                        "INSERT INTO audit_stream_key (stream_id, key_id, public_key) "
                        "VALUES ($1::bigint, $2, $3) ON CONFLICT DO NOTHING",
                        3, kv);
        if (!ok_result(r)) {
            aud_db_oneline(res->err, sizeof(res->err),
                           "registering the signing key: ", PQresultErrorMessage(r));
            cmn_buf_free(&pem);
            goto fail;
        }
        PQclear(r);
    }
    cmn_buf_free(&pem);

    const char *sv[1] = {obj};
    r = PQexecParams(conn,
                     "SELECT coalesce((SELECT seq FROM audit_event WHERE stream_id = $1::bigint "
                     "ORDER BY seq DESC LIMIT 1), 0), (SELECT hash FROM audit_event WHERE "
                     "stream_id = $1::bigint ORDER BY seq DESC LIMIT 1), coalesce((SELECT seq "
                     "FROM audit_checkpoint WHERE stream_id = $1::bigint ORDER BY seq DESC LIMIT "
                     "1), -1)",
                     1, NULL, sv, NULL, NULL, 1);
    if (!ok_result(r) || PQntuples(r) != 1) {
        aud_db_oneline(res->err, sizeof(res->err),
                       "reading the chain head: ", PQresultErrorMessage(r));
        goto fail;
    }
    res->head_seq = (int64_t)aud_rd64((const unsigned char *)PQgetvalue(r, 0, 0));
    if (res->head_seq == 0)
        memcpy(res->head_hash, w->genesis, AUD_HASH_BYTES);
    else if (PQgetlength(r, 0, 1) == AUD_HASH_BYTES)
        memcpy(res->head_hash, PQgetvalue(r, 0, 1), AUD_HASH_BYTES);
    res->cp_seq = (int64_t)aud_rd64((const unsigned char *)PQgetvalue(r, 0, 2));
    PQclear(r);
    if (PQsetnonblocking(conn, 1) != 0) {
        cmn_errf(res->err, sizeof(res->err), "cannot make the connection non-blocking");
        r = NULL;
        goto fail;
    }
    res->conn = conn;
    res->cls = CONN_OK;
    return;
fail:
    PQclear(r);
    PQfinish(conn);
}

static void *connector_main(void *arg)
{
    aud_writer_t *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        if (!w->connect_requested) {
            pthread_cond_wait(&w->connector_cv, &w->mu);
            continue;
        }
        w->connect_requested = 0;
        int prev = w->last_backend_pid;
        pthread_mutex_unlock(&w->mu);
        conn_result_t res;
        do_connect(w, prev, &res);
        pthread_mutex_lock(&w->mu);
        w->result = res;
        w->result_ready = 1;
        pthread_cond_signal(&w->writer_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- talking to the database with a deadline (writer thread) ---- */

/* Waits until the socket is ready or the deadline passes. Returns 0, or -1 (timeout/error). */
static int wait_socket(PGconn *conn, int for_write, int64_t deadline)
{
    int fd = PQsocket(conn);
    if (fd < 0)
        return -1;
    for (;;) {
        int64_t left = deadline - cmn_mono_ns();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = (short)(POLLIN | (for_write ? POLLOUT : 0))};
        int r = poll(&p, 1, (int)((left + 999999) / 1000000));
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static int flush_out(PGconn *conn, int64_t deadline)
{
    for (;;) {
        int r = PQflush(conn);
        if (r == 0)
            return 0;
        if (r < 0 || wait_socket(conn, 1, deadline) != 0)
            return -1;
        if (PQconsumeInput(conn) == 0)
            return -1;
    }
}

/* The next result, or NULL when there is none left; *failed when the connection broke or the
 * deadline passed first. */
static PGresult *next_result(PGconn *conn, int64_t deadline, int *failed)
{
    for (;;) {
        if (PQconsumeInput(conn) == 0) {
            *failed = 1;
            return NULL;
        }
        if (!PQisBusy(conn))
            return PQgetResult(conn);
        if (wait_socket(conn, 0, deadline) != 0) {
            *failed = 1;
            return NULL;
        }
    }
}

/* Collects the results of the current command: 0 when the command succeeded (the last result
 * had the wanted status), else -1 with the message in err. */
static int finish_command(PGconn *conn, ExecStatusType want, int64_t deadline, char *err,
                          size_t errlen)
{
    int ok = 0, failed = 0, any = 0;
    PGresult *r;
    while ((r = next_result(conn, deadline, &failed)) != NULL) {
        any = 1;
        ExecStatusType s = PQresultStatus(r);
        if (s == want)
            ok = 1;
        else if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
            aud_db_oneline(err, errlen, "", PQresultErrorMessage(r));
            PQclear(r);
            /* keep reading until NULL so the connection stays in sync */
            int f2 = 0;
            while ((r = next_result(conn, deadline, &f2)) != NULL)
                PQclear(r);
            return -1;
        }
        PQclear(r);
    }
    if (failed) {
        aud_db_oneline(err, errlen, "",
                       PQstatus(conn) == CONNECTION_BAD ? PQerrorMessage(conn)
                                                        : "no answer from the database in time");
        return -1;
    }
    if (!any || !ok) {
        cmn_errf(err, errlen, "unexpected answer from the database");
        return -1;
    }
    return 0;
}

/* Sends one binary COPY of `rows` (header and trailer included) as one transaction. With
 * `then` (SQL ending in COMMIT), the COPY runs inside BEGIN … `then`: a checkpoint goes in with
 * the batch it signs, for one commit (one WAL flush) instead of two. */
static int copy_rows(PGconn *conn, const cmn_buf_t *rows, const char *then, int64_t deadline,
                     char *err, size_t errlen)
{
    int failed = 0;
    char sql[sizeof(copy_sql) + 16];
    snprintf(sql, sizeof(sql), "%s%s", then ? "BEGIN; " : "", copy_sql);
    if (PQsendQuery(conn, sql) != 1 || flush_out(conn, deadline) != 0) {
        aud_db_oneline(err, errlen, "", PQerrorMessage(conn));
        return -1;
    }
    PGresult *r;
    for (;;) {
        r = next_result(conn, deadline, &failed);
        if (r && then && PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r); /* BEGIN */
            continue;
        }
        break;
    }
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        aud_db_oneline(err, errlen, "",
                       r ? PQresultErrorMessage(r)
                       : failed && PQstatus(conn) != CONNECTION_BAD
                           ? "no answer from the database in time"
                           : PQerrorMessage(conn));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    int q;
    while ((q = PQputCopyData(conn, rows->data, (int)rows->len)) == 0)
        if (wait_socket(conn, 1, deadline) != 0 || PQflush(conn) < 0)
            break;
    while (q == 1 && (q = PQputCopyEnd(conn, NULL)) == 0)
        if (wait_socket(conn, 1, deadline) != 0 || PQflush(conn) < 0)
            break;
    if (q != 1 || flush_out(conn, deadline) != 0) {
        aud_db_oneline(err, errlen, "sending events: ", PQerrorMessage(conn));
        return -1;
    }
    if (finish_command(conn, PGRES_COMMAND_OK, deadline, err, errlen) != 0)
        return -1;
    if (!then)
        return 0;
    if (PQsendQuery(conn, then) != 1 || flush_out(conn, deadline) != 0) {
        aud_db_oneline(err, errlen, "", PQerrorMessage(conn));
        return -1;
    }
    return finish_command(conn, PGRES_COMMAND_OK, deadline, err, errlen);
}

static int64_t db_deadline(const aud_writer_t *w)
{
    int ms = w->mode == AUD_MODE_SPOOL ? w->timeout_ms / 2 : w->timeout_ms;
    if (ms < 200)
        ms = 200;
    return cmn_mono_ns() + (int64_t)ms * 1000000;
}

/* ---- connection state (writer thread) ---- */

static void disconnect(aud_writer_t *w, const char *why)
{
    if (w->conn) {
        PQfinish(w->conn);
        w->conn = NULL;
    }
    w->drain_resolved = 0;
    if (!w->down_since_ns) {
        w->down_since_ns = cmn_mono_ns();
        cmn_log_warn(LOG, "stream %s: lost the database: %s", w->stream, why);
        copy_str(w->spool_reason, sizeof(w->spool_reason), why);
    }
    w->next_connect_ns = cmn_mono_ns(); /* one immediate attempt, then backoff */
    pthread_mutex_lock(&w->mu);
    w->stats.connected = 0;
    copy_str(w->stats.last_error, sizeof(w->stats.last_error), why);
    pthread_mutex_unlock(&w->mu);
}

static void enter_fatal(aud_writer_t *w, const char *why)
{
    if (!w->fatal)
        cmn_log_error(LOG, "stream %s: stopped writing: %s", w->stream, why);
    w->fatal = 1;
    pthread_mutex_lock(&w->mu);
    w->stats.stopped = 1;
    copy_str(w->stats.last_error, sizeof(w->stats.last_error), why);
    pthread_mutex_unlock(&w->mu);
}

static void publish_head(aud_writer_t *w)
{
    pthread_mutex_lock(&w->mu);
    w->stats.head_seq = w->head_seq;
    w->stats.checkpoint_seq = w->cp_seq;
    w->stats.spooling = w->spool && aud_spool_count(w->spool) > 0;
    pthread_mutex_unlock(&w->mu);
}

/* Finds where the database's head is in the spool: its base, or one of its records. Sets the
 * drain position just after it. Returns 0, or CMN_ERR_CONFLICT / the spool's error. */
static int spool_locate(aud_writer_t *w, int64_t seq, const unsigned char hash[AUD_HASH_BYTES],
                        char *err, size_t errlen)
{
    aud_spool_pos_t pos;
    aud_spool_start(w->spool, &pos);
    for (;;) {
        if (pos.seq == seq && memcmp(pos.hash, hash, AUD_HASH_BYTES) == 0) {
            w->drain_pos = pos;
            w->drain_resolved = 1;
            return 0;
        }
        if (pos.seq > seq)
            break;
        aud_spool_record_t rec;
        int rc = aud_spool_next(w->spool, &pos, &rec, err, errlen);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
    }
    cmn_errf(err, errlen,
            "the database's head of stream %s (seq %lld) is not in the spool %s (seq %lld..%lld): "
            "someone else wrote to this stream",
            w->stream, (long long)seq, aud_spool_path(w->spool), (long long)(pos.seq),
            (long long)pos.seq);
    return CMN_ERR_CONFLICT;
}

/* Takes over a fresh connection: compares the database's head with what this writer knows. */
static void adopt(aud_writer_t *w, conn_result_t *res)
{
    char err[512];
    w->conn = res->conn;
    res->conn = NULL;
    w->stream_id = res->stream_id;
    w->db_head_seq = res->head_seq;
    memcpy(w->db_head_hash, res->head_hash, AUD_HASH_BYTES);
    pthread_mutex_lock(&w->mu);
    w->last_backend_pid = res->backend_pid;
    pthread_mutex_unlock(&w->mu);

    int same_as_head =
        res->head_seq == w->head_seq && memcmp(res->head_hash, w->head_hash, AUD_HASH_BYTES) == 0;
    if (w->batch_held) {
        int before = res->head_seq == w->batch_first_seq - 1 &&
                     memcmp(res->head_hash, w->batch_prev, AUD_HASH_BYTES) == 0;
        int after = res->head_seq == w->batch_first_seq + (int64_t)w->batch_n - 1 &&
                    memcmp(res->head_hash, w->batch_last, AUD_HASH_BYTES) == 0;
        cmn_log_info(LOG, "stream %s: the batch in doubt (seq %lld..%lld) %s", w->stream,
                     (long long)w->batch_first_seq,
                     (long long)(w->batch_first_seq + (int64_t)w->batch_n - 1),
                     after    ? "had committed"
                     : before ? "had not committed: sending it again"
                              : "conflicts with the database");
        if (after) {
            /* It had committed before the connection went. */
            w->head_seq = res->head_seq;
            memcpy(w->head_hash, res->head_hash, AUD_HASH_BYTES);
            pthread_mutex_lock(&w->mu);
            w->stats.committed += w->batch_n;
            w->stats.batches++;
            pthread_mutex_unlock(&w->mu);
            if (w->batch_has_cp)
                checkpoint_stored(w, &w->batch_cp); /* it was in the same transaction */
            complete(w, w->batch, w->batch_n, 0);
            w->batch_held = 0;
            w->batch_n = 0;
        } else if (!before) {
            snprintf(err, sizeof(err),
                     "the database's head of the stream (seq %lld) is neither before nor after "
                     "the batch in doubt (seq %lld..%lld): someone else wrote to this stream",
                     (long long)res->head_seq, (long long)w->batch_first_seq,
                     (long long)(w->batch_first_seq + (int64_t)w->batch_n - 1));
            enter_fatal(w, err);
        }
    } else if (w->spool && aud_spool_count(w->spool) > 0) {
        if (spool_locate(w, res->head_seq, res->head_hash, err, sizeof(err)) != 0)
            enter_fatal(w, err);
    } else if (!same_as_head) {
        snprintf(err, sizeof(err),
                 "the database's head of the stream (seq %lld) is not the one this writer holds "
                 "(seq %lld): someone else wrote to this stream",
                 (long long)res->head_seq, (long long)w->head_seq);
        enter_fatal(w, err);
    }
    if (w->cp_seq < res->cp_seq)
        w->cp_seq = res->cp_seq;
    if (w->down_since_ns) {
        cmn_log_info(LOG, "stream %s: database back after %.1f s", w->stream,
                     (double)(cmn_mono_ns() - w->down_since_ns) / 1e9);
        w->down_since_ns = 0;
    }
    w->backoff_ms = BACKOFF_MIN_MS;
    pthread_mutex_lock(&w->mu);
    w->stats.connected = 1;
    pthread_mutex_unlock(&w->mu);
    publish_head(w);
}

/* ---- writing (writer thread) ---- */

static void copy_begin(cmn_buf_t *b)
{
    static const char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};
    cmn_buf_clear(b);
    cmn_buf_append(b, sig, 11);
    put32(b, 0);
    put32(b, 0);
}

static void copy_row(aud_writer_t *w, cmn_buf_t *b, int64_t seq, const unsigned char *prev,
                     const unsigned char *hash, const char *tail, size_t tail_len)
{
    /* field count, then stream_id, seq, prev_hash, hash as (length, value) pairs */
    unsigned char h[2 + 12 + 12 + 36 + 36];
    aud_be16(h, NCOLS);
    aud_be32(h + 2, 8);
    aud_be64(h + 6, (uint64_t)w->stream_id);
    aud_be32(h + 14, 8);
    aud_be64(h + 18, (uint64_t)seq);
    aud_be32(h + 26, AUD_HASH_BYTES);
    memcpy(h + 30, prev, AUD_HASH_BYTES);
    aud_be32(h + 62, AUD_HASH_BYTES);
    memcpy(h + 66, hash, AUD_HASH_BYTES);
    cmn_buf_append(b, h, sizeof(h));
    cmn_buf_append(b, tail, tail_len);
}

static void copy_end(cmn_buf_t *b)
{
    put16(b, -1);
}

/* Spools n tickets' events after the current head. Returns 0 or CMN_ERR_IO. */
static int spool_tickets(aud_writer_t *w, ticket_t **ts, size_t n, int64_t first_seq,
                         const unsigned char *prev)
{
    unsigned char p[AUD_HASH_BYTES], h[AUD_HASH_BYTES];
    memcpy(p, prev, AUD_HASH_BYTES);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *canon = row_canonical(ts[i], &len);
        if (aud_chain_next(&w->hasher, p, canon, len, h) != 0 ||
            aud_spool_append(w->spool, first_seq + (int64_t)i, p, h, canon, len) != 0)
            return CMN_ERR_IO;
        memcpy(p, h, AUD_HASH_BYTES);
    }
    if (aud_spool_sync(w->spool) != 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "spool %s: %s", aud_spool_path(w->spool), strerror(errno));
        cmn_log_error(LOG, "stream %s: %s", w->stream, msg);
        note_error(w, msg);
        return CMN_ERR_IO;
    }
    return 0;
}

/* Writes a batch: into the spool, or as one COPY. Completes the tickets (or holds them). */
static void write_batch(aud_writer_t *w, ticket_t **ts, size_t n)
{
    char err[512];
    if (w->fatal) {
        complete(w, ts, n, CMN_ERR_CONFLICT);
        return;
    }
    int spooling = w->spool && (aud_spool_count(w->spool) > 0 || !w->conn);
    if (w->mode == AUD_MODE_SPOOL && spooling) {
        if (aud_spool_count(w->spool) == 0 && !w->episode_logged)
            cmn_log_warn(LOG, "stream %s: spooling events to %s until the database is back",
                         w->stream, aud_spool_path(w->spool));
        int rc = spool_tickets(w, ts, n, w->head_seq + 1, w->head_hash);
        if (rc == 0) {
            aud_spool_head(w->spool, &w->head_seq, w->head_hash);
            pthread_mutex_lock(&w->mu);
            w->stats.spooled += n;
            pthread_mutex_unlock(&w->mu);
        }
        publish_head(w);
        complete(w, ts, n, rc == 0 ? 0 : CMN_ERR_IO);
        return;
    }
    /* COPY: hash the chain forward from the head. */
    int64_t first = w->head_seq + 1;
    unsigned char prev[AUD_HASH_BYTES], hash[AUD_HASH_BYTES];
    memcpy(prev, w->head_hash, AUD_HASH_BYTES);
    memcpy(w->batch_prev, prev, AUD_HASH_BYTES);
    copy_begin(&w->copy);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *canon = row_canonical(ts[i], &len);
        if (aud_chain_next(&w->hasher, prev, canon, len, hash) != 0) {
            /* only for text that is not a canonical event, which submit refuses: fail closed */
            complete(w, ts, n, CMN_ERR_INVAL);
            return;
        }
        copy_row(w, &w->copy, first + (int64_t)i, prev, hash, ts[i]->row.data, ts[i]->row.len);
        memcpy(prev, hash, AUD_HASH_BYTES);
    }
    copy_end(&w->copy);
    /* Due a checkpoint by count: it signs this batch's last event and commits with it. */
    int64_t last = first + (int64_t)n - 1;
    char then[600] = "";
    w->batch_has_cp = 0;
    if (last - w->cp_seq >= w->cp_every) {
        if (sign_checkpoint(w, last, hash, &w->batch_cp) != 0) {
            complete(w, ts, n, CMN_ERR_CONFLICT);
            return;
        }
        w->batch_has_cp = 1;
        checkpoint_sql(w, &w->batch_cp, "; COMMIT", then, sizeof(then));
    }
    if (copy_rows(w->conn, &w->copy, w->batch_has_cp ? then : NULL, db_deadline(w), err,
                  sizeof(err)) == 0) {
        w->head_seq = last;
        memcpy(w->head_hash, hash, AUD_HASH_BYTES);
        pthread_mutex_lock(&w->mu);
        w->stats.committed += n;
        w->stats.batches++;
        pthread_mutex_unlock(&w->mu);
        if (w->batch_has_cp)
            checkpoint_stored(w, &w->batch_cp);
        publish_head(w);
        complete(w, ts, n, 0);
        return;
    }
    /* The outcome is unknown until the head is read again. */
    disconnect(w, err);
    if (w->mode == AUD_MODE_SPOOL && w->spool) {
        int rc = spool_tickets(w, ts, n, first, w->batch_prev);
        if (rc == 0) {
            aud_spool_head(w->spool, &w->head_seq, w->head_hash);
            pthread_mutex_lock(&w->mu);
            w->stats.spooled += n;
            pthread_mutex_unlock(&w->mu);
        }
        publish_head(w);
        complete(w, ts, n, rc == 0 ? 0 : CMN_ERR_IO);
        return;
    }
    if (ts != w->batch)
        memcpy(w->batch, ts, n * sizeof(*ts));
    w->batch_n = n;
    w->batch_held = 1;
    w->batch_first_seq = first;
    memcpy(w->batch_last, hash, AUD_HASH_BYTES);
}

/* Appends the writer's own event (audit.spooled) to the spool. */
static int spool_own_event(aud_writer_t *w, const aud_event_t *ev)
{
    cmn_buf_clear(&w->scratch);
    if (aud_event_encode(ev, &w->scratch) != 0)
        return CMN_ERR_INVAL;
    int64_t seq;
    unsigned char prev[AUD_HASH_BYTES], hash[AUD_HASH_BYTES];
    aud_spool_head(w->spool, &seq, prev);
    if (aud_chain_next(&w->hasher, prev, w->scratch.data, w->scratch.len, hash) != 0)
        return CMN_ERR_INVAL;
    if (aud_spool_append(w->spool, seq + 1, prev, hash, w->scratch.data, w->scratch.len) != 0 ||
        aud_spool_sync(w->spool) != 0)
        return CMN_ERR_IO;
    w->episode_seq = seq + 1;
    aud_spool_head(w->spool, &w->head_seq, w->head_hash);
    return 0;
}

/* Drains up to max_batch spooled records into the database. */
static void drain_step(aud_writer_t *w)
{
    char err[512];
    if (!w->conn || w->fatal || !w->spool || aud_spool_count(w->spool) == 0)
        return;
    if (!w->drain_resolved &&
        spool_locate(w, w->db_head_seq, w->db_head_hash, err, sizeof(err)) != 0) {
        enter_fatal(w, err);
        return;
    }
    aud_spool_pos_t pos = w->drain_pos;
    aud_spool_record_t rec;
    size_t n = 0;
    int rc = 0;
    copy_begin(&w->copy);
    cmn_buf_t tail;
    cmn_buf_init(&tail, ROW_MAX_BYTES);
    while (n < w->max_batch && w->copy.len < MAX_BATCH_BYTES &&
           (rc = aud_spool_next(w->spool, &pos, &rec, err, sizeof(err))) == 1) {
        cmn_buf_clear(&tail);
        char why[200];
        if (row_from_canonical(&tail, rec.canonical, rec.len, why, sizeof(why)) != 0) {
            snprintf(err, sizeof(err), "spool record seq %lld is not a canonical event: %s",
                     (long long)rec.seq, why);
            rc = CMN_ERR_PARSE;
            break;
        }
        copy_row(w, &w->copy, rec.seq, rec.prev, rec.hash, tail.data, tail.len);
        n++;
    }
    cmn_buf_free(&tail);
    if (rc < 0) {
        enter_fatal(w, err);
        return;
    }
    if (n > 0) {
        copy_end(&w->copy);
        if (copy_rows(w->conn, &w->copy, NULL, db_deadline(w), err, sizeof(err)) != 0) {
            disconnect(w, err);
            return;
        }
        w->drain_pos = pos;
        w->db_head_seq = pos.seq;
        memcpy(w->db_head_hash, pos.hash, AUD_HASH_BYTES);
        pthread_mutex_lock(&w->mu);
        w->stats.drained += n;
        w->stats.batches++;
        pthread_mutex_unlock(&w->mu);
    }
    int64_t spool_head;
    unsigned char spool_hash[AUD_HASH_BYTES];
    aud_spool_head(w->spool, &spool_head, spool_hash);
    if (w->drain_pos.seq < spool_head)
        return;
    /* Everything spooled is in the database. First record the episode (through the spool, so
     * that it too survives a failure), then empty the spool. */
    if (!w->episode_logged) {
        aud_spool_pos_t start;
        aud_spool_start(w->spool, &start);
        int64_t since_us = 0;
        if (aud_spool_next(w->spool, &start, &rec, err, sizeof(err)) == 1) {
            char store[4096];
            aud_parsed_t p = {.store = store, .store_cap = sizeof(store), .store_borrowed = 1};
            if (aud_event_parse(&p, rec.canonical, rec.len, NULL, 0) == 0)
                since_us = p.ev.ts_us;
            aud_parsed_free(&p);
        }
        aud_spool_start(w->spool, &start);
        int64_t count = aud_spool_count(w->spool);
        char since[28], until[28];
        aud_time_format(since_us, since);
        aud_event_t ev;
        aud_event_init(&ev, AUD_KIND_AUDIT_SPOOLED);
        aud_time_format(ev.ts_us, until);
        aud_event_detail_int(&ev, "events", count);
        aud_event_detail_int(&ev, "first_seq", start.seq + 1);
        aud_event_detail_int(&ev, "last_seq", spool_head);
        aud_event_detail_str(&ev, "since", since);
        aud_event_detail_str(&ev, "until", until);
        aud_event_detail_str(&ev, "reason", w->spool_reason[0] ? w->spool_reason : "unknown");
        aud_event_detail_str(&ev, "spool", aud_spool_path(w->spool));
        if (spool_own_event(w, &ev) != 0) {
            enter_fatal(w, "cannot write the audit.spooled event to the spool");
            return;
        }
        w->episode_logged = 1;
        cmn_log_info(LOG, "stream %s: drained %lld spooled events (seq %lld..%lld)", w->stream,
                     (long long)count, (long long)(start.seq + 1), (long long)spool_head);
        return; /* the next step drains it */
    }
    if (aud_spool_clear(w->spool) != 0) {
        enter_fatal(w, "cannot empty the drained spool");
        return;
    }
    w->episode_logged = 0;
    w->spool_reason[0] = '\0';
    publish_head(w);
}

/* The checkpoint file gets each line in one write, but an fdatasync at most once a second (and
 * at close): every checkpoint is already durable in the database; the file is the copy kept
 * outside it, and a host crash costs it at most its last second, which the database holds. At
 * 100,000 events/s and checkpoint_every 1000 that is 1 fsync/s instead of 100. */
static void cp_file_append(aud_writer_t *w, const aud_checkpoint_t *cp)
{
    if (w->cp_fd < 0)
        return;
    int64_t now = cmn_mono_ns();
    int sync = now - w->cp_synced_ns >= 1000000000;
    if (aud_checkpoint_append(w->cp_fd, cp, sync) != 0) {
        char err[512];
        snprintf(err, sizeof(err), "checkpoint file %s: %s", w->cp_path, strerror(errno));
        cmn_log_error(LOG, "stream %s: %s", w->stream, err);
        note_error(w, err);
        return;
    }
    if (sync) {
        w->cp_synced_ns = now;
        w->cp_unsynced = 0;
    } else {
        w->cp_unsynced = 1;
    }
}

static int sign_checkpoint(aud_writer_t *w, int64_t seq, const unsigned char *hash,
                           aud_checkpoint_t *cp)
{
    memset(cp, 0, sizeof(*cp));
    copy_str(cp->stream, sizeof(cp->stream), w->stream);
    cp->seq = seq;
    memcpy(cp->hash, hash, AUD_HASH_BYTES);
    cp->ts_us = aud_time_now_us();
    if (aud_checkpoint_sign(cp, w->key) != 0) {
        enter_fatal(w, "cannot sign a checkpoint");
        return -1;
    }
    return 0;
}

/* INSERT of cp as literal SQL (hex, digits and a timestamp only), followed by `tail`. */
static void checkpoint_sql(const aud_writer_t *w, const aud_checkpoint_t *cp, const char *tail,
                           char *out, size_t cap)
{
    char hash[2 * AUD_HASH_BYTES + 1], sig[2 * AUD_SIG_BYTES + 1], ts[28];
    cmn_hex(cp->hash, AUD_HASH_BYTES, hash);
    cmn_hex(cp->sig, AUD_SIG_BYTES, sig);
    aud_time_format(cp->ts_us, ts);
    snprintf(out, cap,
             "INSERT INTO audit_checkpoint (stream_id, seq, hash, ts, key_id, signature) VALUES "
             "(%lld, %lld, '\\x%s', '%s', '%s', '\\x%s')%s",
             (long long)w->stream_id, (long long)cp->seq, hash, ts, cp->key_id, sig, tail);
}

/* A checkpoint is in the database: move the cadence on and copy it to the file. */
static void checkpoint_stored(aud_writer_t *w, const aud_checkpoint_t *cp)
{
    w->cp_seq = cp->seq;
    w->cp_due_ns = cmn_mono_ns() + (int64_t)w->cp_seconds * 1000000000;
    cp_file_append(w, cp);
    pthread_mutex_lock(&w->mu);
    w->stats.checkpoints++;
    pthread_mutex_unlock(&w->mu);
    publish_head(w);
}

/* A checkpoint on its own (the time cadence, idle heartbeats, close). */
static void checkpoint(aud_writer_t *w)
{
    char err[512] = "", sql[512];
    aud_checkpoint_t cp;
    if (sign_checkpoint(w, w->head_seq, w->head_hash, &cp) != 0)
        return;
    checkpoint_sql(w, &cp, "", sql, sizeof(sql));
    int64_t deadline = db_deadline(w);
    if (PQsendQuery(w->conn, sql) != 1 || flush_out(w->conn, deadline) != 0 ||
        finish_command(w->conn, PGRES_COMMAND_OK, deadline, err, sizeof(err)) != 0) {
        if (!err[0] || PQstatus(w->conn) == CONNECTION_BAD)
            aud_db_oneline(err, sizeof(err), "", PQerrorMessage(w->conn));
        disconnect(w, err);
        return;
    }
    checkpoint_stored(w, &cp);
}

static int checkpoint_due(const aud_writer_t *w, int64_t now)
{
    if (!w->conn || w->fatal || w->batch_held || (w->spool && aud_spool_count(w->spool) > 0))
        return 0;
    return w->head_seq - w->cp_seq >= w->cp_every || now >= w->cp_due_ns;
}

/* ---- the writer thread ---- */

static void *writer_main(void *arg)
{
    aud_writer_t *w = arg;
    int64_t close_deadline = 0;
    for (;;) {
        size_t n = 0;
        int got_result = 0;
        conn_result_t res;
        memset(&res, 0, sizeof(res));
        pthread_mutex_lock(&w->mu);
        for (;;) {
            int64_t now = cmn_mono_ns();
            if (w->closing && !close_deadline)
                close_deadline = now + (int64_t)w->timeout_ms * 1000000;
            if (w->result_ready) {
                got_result = 1;
                res = w->result;
                w->result_ready = 0;
                w->connect_busy = 0;
                break;
            }
            int can_take =
                !w->batch_held && (w->conn || w->fatal || (w->mode == AUD_MODE_SPOOL && w->spool));
            if (w->qlen > 0 && can_take)
                break;
            if (w->batch_held && w->conn)
                break;
            if (w->conn && !w->fatal && w->spool && aud_spool_count(w->spool) > 0)
                break; /* drain work */
            if (checkpoint_due(w, now))
                break;
            int want_conn = !w->conn && !w->fatal;
            if (want_conn && !w->connect_busy && now >= w->next_connect_ns) {
                w->connect_busy = 1;
                w->connect_requested = 1;
                pthread_cond_signal(&w->connector_cv);
                break;
            }
            if (w->closing) {
                int idle = w->qlen == 0 && !w->batch_held &&
                           (!w->spool || aud_spool_count(w->spool) == 0 || !w->conn);
                if (idle || now >= close_deadline || w->fatal)
                    break;
            }
            /* Sleep until the next timed thing: a checkpoint, a reconnect, the close. */
            int64_t wake = now + 1000000000;
            if (w->conn && w->cp_due_ns < wake)
                wake = w->cp_due_ns;
            if (want_conn && !w->connect_busy && w->next_connect_ns < wake)
                wake = w->next_connect_ns;
            if (w->closing && close_deadline < wake)
                wake = close_deadline;
            struct timespec ts;
            abs_deadline(wake, &ts);
            w->writer_waiting = 1;
            pthread_cond_timedwait(&w->writer_cv, &w->mu, &ts);
            w->writer_waiting = 0;
        }
        int can_take =
            !w->batch_held && (w->conn || w->fatal || (w->mode == AUD_MODE_SPOOL && w->spool));
        if (!got_result && can_take && w->qlen > 0) {
            size_t bytes = 0;
            while (n < w->qlen && n < w->max_batch && bytes < MAX_BATCH_BYTES) {
                ticket_t *t = w->queue[(w->qhead + n) % w->qcap];
                bytes += t->row.len + 100;
                w->batch[n++] = t;
            }
            w->qhead = (w->qhead + n) % w->qcap;
            w->qlen -= n;
            w->stats.queued = w->qlen + n;
        }
        int closing = w->closing;
        pthread_mutex_unlock(&w->mu);

        if (got_result) {
            if (res.cls == CONN_OK) {
                adopt(w, &res);
            } else {
                if (res.cls == CONN_FATAL)
                    enter_fatal(w, res.err);
                else if (w->backoff_ms == BACKOFF_MIN_MS)
                    cmn_log_warn(LOG, "stream %s: reconnecting: %s", w->stream, res.err);
                else
                    cmn_log_debug(LOG, "stream %s: reconnecting: %s", w->stream, res.err);
                note_error(w, res.err);
                w->next_connect_ns = cmn_mono_ns() + (int64_t)w->backoff_ms * 1000000;
                w->backoff_ms =
                    w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
                pthread_mutex_lock(&w->mu);
                w->stats.reconnects++;
                pthread_mutex_unlock(&w->mu);
            }
            continue;
        }
        if (w->batch_held && w->conn) {
            w->batch_held = 0;
            write_batch(w, w->batch, w->batch_n);
        }
        if (n > 0) {
            write_batch(w, w->batch, n);
            pthread_mutex_lock(&w->mu);
            w->stats.queued = w->qlen;
            pthread_mutex_unlock(&w->mu);
        }
        drain_step(w);
        if (checkpoint_due(w, cmn_mono_ns()))
            checkpoint(w);

        if (closing) {
            pthread_mutex_lock(&w->mu);
            int64_t now = cmn_mono_ns();
            int idle = w->qlen == 0 && !w->batch_held &&
                       (!w->spool || aud_spool_count(w->spool) == 0 || !w->conn);
            int done = idle || now >= close_deadline || w->fatal;
            pthread_mutex_unlock(&w->mu);
            if (done)
                break;
        }
    }
    /* A last checkpoint over everything written. */
    if (w->conn && !w->fatal && !w->batch_held && (!w->spool || aud_spool_count(w->spool) == 0) &&
        w->head_seq != w->cp_seq)
        checkpoint(w);
    return NULL;
}

/* ---- the public API ---- */

static void free_writer(aud_writer_t *w)
{
    if (!w)
        return;
    if (w->tickets) {
        for (size_t i = 0; i < w->qcap; i++)
            cmn_buf_free(&w->tickets[i].row);
        free(w->tickets);
    }
    free(w->queue);
    free(w->batch);
    cmn_buf_free(&w->copy);
    cmn_buf_free(&w->scratch);
    aud_hasher_free(&w->hasher);
    aud_key_free(w->key);
    aud_spool_close(w->spool);
    if (w->cp_fd >= 0) {
        if (w->cp_unsynced)
            fdatasync(w->cp_fd);
        close(w->cp_fd);
    }
    if (w->conn)
        PQfinish(w->conn);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->writer_cv);
    pthread_cond_destroy(&w->timer_cv);
    pthread_cond_destroy(&w->connector_cv);
    free(w->url);
    free(w->stream);
    free(w->spool_dir);
    free(w->cp_path);
    free(w);
}

aud_writer_t *aud_writer_open(const aud_writer_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg->database_url || !cfg->stream || !cfg->signing_key || !cfg->spool_dir) {
        cmn_errf(err, errlen, "audit: database, stream, signing_key and spool_dir are required");
        return NULL;
    }
    if (!aud_stream_name_ok(cfg->stream)) {
        cmn_errf(err, errlen, "audit: stream \"%s\" must be 1-64 of [A-Za-z0-9._-]", cfg->stream);
        return NULL;
    }
    aud_writer_t *w = calloc(1, sizeof(*w));
    if (!w) {
        cmn_errf(err, errlen, "out of memory");
        return NULL;
    }
    w->cp_fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->writer_cv, &ca);
    pthread_cond_init(&w->timer_cv, &ca);
    pthread_cond_init(&w->connector_cv, &ca);
    pthread_condattr_destroy(&ca);
    w->mode = cfg->mode;
    w->cp_every = cfg->checkpoint_every > 0 ? cfg->checkpoint_every : 1000;
    w->cp_seconds = cfg->checkpoint_seconds > 0 ? cfg->checkpoint_seconds : 10;
    w->timeout_ms = cfg->write_timeout_ms > 0 ? cfg->write_timeout_ms : 2000;
    w->qcap = cfg->queue_capacity ? cfg->queue_capacity : 16384;
    w->max_batch = cfg->max_batch ? cfg->max_batch : 2000;
    if (w->max_batch > 3000)
        w->max_batch = 3000;
    w->backoff_ms = BACKOFF_MIN_MS;
    w->url = strdup(cfg->database_url);
    w->stream = strdup(cfg->stream);
    w->spool_dir = strdup(cfg->spool_dir);
    size_t cpl = strlen(cfg->spool_dir) + strlen(cfg->stream) + 16;
    w->cp_path = cfg->checkpoint_file ? strdup(cfg->checkpoint_file) : malloc(cpl);
    w->tickets = calloc(w->qcap, sizeof(*w->tickets));
    w->queue = calloc(w->qcap, sizeof(*w->queue));
    w->batch = calloc(w->max_batch, sizeof(*w->batch));
    if (!w->url || !w->stream || !w->spool_dir || !w->cp_path || !w->tickets || !w->queue ||
        !w->batch || aud_hasher_init(&w->hasher) != 0) {
        cmn_errf(err, errlen, "out of memory");
        goto fail;
    }
    if (!cfg->checkpoint_file)
        snprintf(w->cp_path, cpl, "%s/%s.checkpoints", cfg->spool_dir, cfg->stream);
    for (size_t i = 0; i < w->qcap; i++) {
        cmn_buf_init(&w->tickets[i].row, ROW_MAX_BYTES);
        w->tickets[i].next_free = w->free_list;
        w->free_list = &w->tickets[i];
    }
    cmn_buf_init(&w->copy, (size_t)64 << 20);
    cmn_buf_init(&w->scratch, AUD_MAX_EVENT_BYTES);
    aud_chain_genesis(w->stream, w->genesis);
    gethostname(w->host, sizeof(w->host) - 1);
    /* PostgreSQL keeps 63 bytes of it: pid and host come first, for lock_holder. */
    char app[512];
    snprintf(app, sizeof(app), "hubgate %d@%s %s", (int)getpid(), w->host, w->stream);
    copy_str(w->app_name, sizeof(w->app_name), app);

    char why[512];
    w->key = aud_key_load(cfg->signing_key, why, sizeof(why));
    if (!w->key) {
        cmn_errf(err, errlen, "audit signing key: %s", why);
        goto fail;
    }
    if (!aud_key_is_private(w->key)) {
        cmn_errf(err, errlen,
                "audit signing key: %s holds a public key; the gateway needs the "
                "private key (hubgate keygen --out FILE)",
                cfg->signing_key);
        goto fail;
    }
    if (aud_spool_open(w->spool_dir, w->stream, &w->spool, why, sizeof(why)) != 0) {
        cmn_errf(err, errlen, "audit spool: %s", why);
        goto fail;
    }
    w->cp_fd = open(w->cp_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (w->cp_fd < 0) {
        cmn_errf(err, errlen, "audit checkpoint file %s: %s", w->cp_path, strerror(errno));
        goto fail;
    }

    /* The first connection, here, so that a stream held elsewhere or a database that is not
     * migrated stops the start with a clear message. */
    conn_result_t res;
    do_connect(w, 0, &res);
    int64_t spooled = aud_spool_count(w->spool);
    if (res.cls != CONN_OK) {
        if (res.cls == CONN_FATAL || w->mode != AUD_MODE_SPOOL || spooled == 0) {
            cmn_errf(err, errlen, "audit: %s%s", res.err,
                    res.cls != CONN_FATAL && w->mode == AUD_MODE_SPOOL
                        ? " (spool mode can start without the database only from a spool that "
                          "holds the stream's head)"
                        : "");
            goto fail;
        }
        /* Spool mode, database away: continue the chain from the spool's head. */
        aud_spool_head(w->spool, &w->head_seq, w->head_hash);
        copy_str(w->spool_reason, sizeof(w->spool_reason), res.err);
        w->down_since_ns = cmn_mono_ns();
        w->next_connect_ns = cmn_mono_ns() + (int64_t)BACKOFF_MIN_MS * 1000000;
        cmn_log_warn(LOG, "stream %s: database unreachable, continuing the spool at seq %lld: %s",
                     w->stream, (long long)w->head_seq, res.err);
    } else {
        w->conn = res.conn;
        w->stream_id = res.stream_id;
        w->last_backend_pid = res.backend_pid;
        w->cp_seq = res.cp_seq;
        w->db_head_seq = res.head_seq;
        memcpy(w->db_head_hash, res.head_hash, AUD_HASH_BYTES);
        w->stats.connected = 1;
        if (spooled > 0) {
            if (spool_locate(w, res.head_seq, res.head_hash, why, sizeof(why)) != 0) {
                cmn_errf(err, errlen, "audit: %s", why);
                goto fail;
            }
            aud_spool_head(w->spool, &w->head_seq, w->head_hash);
            cmn_log_info(LOG, "stream %s: %lld spooled events to drain (%s)", w->stream,
                         (long long)spooled, aud_spool_path(w->spool));
            snprintf(w->spool_reason, sizeof(w->spool_reason), "%s",
                     "left by a previous run of this instance");
            if (w->mode == AUD_MODE_STRICT) {
                /* strict never spools, so the old spool goes in before anything new. */
                while (aud_spool_count(w->spool) > 0 && !w->fatal && w->conn)
                    drain_step(w);
                if (aud_spool_count(w->spool) > 0) {
                    cmn_errf(err, errlen, "audit: cannot drain the spool %s: %s",
                            aud_spool_path(w->spool), w->stats.last_error);
                    goto fail;
                }
            }
        } else {
            w->head_seq = res.head_seq;
            memcpy(w->head_hash, res.head_hash, AUD_HASH_BYTES);
        }
        if (w->cp_seq < 0)
            w->cp_seq = -1; /* no checkpoint yet: sign the empty stream too */
    }
    w->cp_due_ns = cmn_mono_ns() + (int64_t)w->cp_seconds * 1000000000;
    w->stats.head_seq = w->head_seq;
    w->stats.checkpoint_seq = w->cp_seq;
    w->stats.spooling = aud_spool_count(w->spool) > 0;

    if (pthread_create(&w->timer_thr, NULL, timer_main, w) != 0) {
        cmn_errf(err, errlen, "cannot start a thread");
        goto fail;
    }
    if (pthread_create(&w->connector_thr, NULL, connector_main, w) != 0) {
        cmn_errf(err, errlen, "cannot start a thread");
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_broadcast(&w->timer_cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->timer_thr, NULL);
        goto fail;
    }
    if (pthread_create(&w->writer_thr, NULL, writer_main, w) != 0) {
        cmn_errf(err, errlen, "cannot start a thread");
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_broadcast(&w->timer_cv);
        pthread_cond_broadcast(&w->connector_cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->timer_thr, NULL);
        pthread_join(w->connector_thr, NULL);
        goto fail;
    }
    w->threads_started = 1;
    cmn_log_info(LOG, "stream %s: writing at seq %lld (%s mode, key %s)", w->stream,
                 (long long)w->head_seq, w->mode == AUD_MODE_SPOOL ? "spool" : "strict",
                 aud_key_id(w->key));
    return w;
fail:
    free_writer(w);
    return NULL;
}

int aud_writer_submit(aud_writer_t *w, const aud_event_t *ev, aud_done_fn done, void *arg)
{
    pthread_mutex_lock(&w->mu);
    if (w->closing || w->stats.stopped) {
        pthread_mutex_unlock(&w->mu);
        return CMN_ERR_CONFLICT;
    }
    ticket_t *t = w->free_list;
    if (!t) {
        w->stats.rejected++;
        pthread_mutex_unlock(&w->mu);
        return CMN_ERR_TOOBIG;
    }
    w->free_list = t->next_free;
    pthread_mutex_unlock(&w->mu);

    /* Encode outside the lock, straight into the ticket's row: 16 bytes for the ts and
     * canonical length headers, the canonical bytes, then the columns parsed back from them. */
    static const char zero[16];
    cmn_buf_clear(&t->row);
    int rc = cmn_buf_append(&t->row, zero, 16);
    if (rc == 0)
        rc = aud_event_encode(ev, &t->row);
    if (rc == 0 && t->row.len - 16 > AUD_MAX_EVENT_BYTES)
        rc = CMN_ERR_TOOBIG;
    if (rc == 0) {
        size_t len = t->row.len - 16;
        char store[4096];
        aud_parsed_t p = {.store = store, .store_cap = sizeof(store), .store_borrowed = 1};
        rc = aud_event_parse(&p, t->row.data + 16, len, NULL, 0);
        if (rc == 0) {
            aud_columns_t c;
            aud_event_columns(&p.ev, &c);
            unsigned char *h = (unsigned char *)t->row.data;
            aud_be32(h, 8);
            aud_be64(h + 4, (uint64_t)(c.ts_us - AUD_PG_EPOCH_US));
            aud_be32(h + 12, (uint32_t)len);
            put_columns(&t->row, &c);
        } else {
            rc = CMN_ERR_INVAL; /* cannot happen: the encoder's output always parses */
        }
        aud_parsed_free(&p);
    }
    pthread_mutex_lock(&w->mu);
    if (rc != 0 || w->closing || w->stats.stopped) {
        release(w, t);
        pthread_mutex_unlock(&w->mu);
        return rc != 0 ? rc : CMN_ERR_CONFLICT;
    }
    t->done = done;
    t->arg = arg;
    t->finished = 0;
    t->writer_done = 0;
    t->deadline_ns = cmn_mono_ns() + (int64_t)w->timeout_ms * 1000000;
    w->queue[(w->qhead + w->qlen) % w->qcap] = t;
    w->qlen++;
    t->prev_u = w->u_tail;
    t->next_u = NULL;
    t->in_list = 1;
    if (w->u_tail)
        w->u_tail->next_u = t;
    else
        w->u_head = t;
    w->u_tail = t;
    if (!t->prev_u && w->timer_waiting)
        pthread_cond_signal(&w->timer_cv);
    if (w->writer_waiting)
        pthread_cond_signal(&w->writer_cv);
    w->stats.submitted++;
    w->stats.queued = w->qlen;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int status;
} waiter_t;

static void wake_waiter(void *arg, int status)
{
    waiter_t *wt = arg;
    pthread_mutex_lock(&wt->mu);
    wt->status = status;
    wt->done = 1;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

int aud_writer_append(aud_writer_t *w, const aud_event_t *ev)
{
    waiter_t wt = {.done = 0, .status = 0};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    int rc = aud_writer_submit(w, ev, wake_waiter, &wt);
    if (rc == 0) {
        /* The timer guarantees the callback by the deadline: no timeout needed here. */
        pthread_mutex_lock(&wt.mu);
        while (!wt.done)
            pthread_cond_wait(&wt.cv, &wt.mu);
        rc = wt.status;
        pthread_mutex_unlock(&wt.mu);
    }
    pthread_cond_destroy(&wt.cv);
    pthread_mutex_destroy(&wt.mu);
    return rc;
}

void aud_writer_stats(aud_writer_t *w, aud_writer_stats_t *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}

const char *aud_writer_key_id(const aud_writer_t *w)
{
    return aud_key_id(w->key);
}

void aud_writer_close(aud_writer_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->closing = 1;
    pthread_cond_signal(&w->writer_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->threads_started)
        pthread_join(w->writer_thr, NULL);

    /* What the writer could not write fails now, unless the timer already failed it. */
    if (w->batch_held) {
        complete(w, w->batch, w->batch_n, CMN_ERR_TIMEOUT);
        w->batch_held = 0;
    }
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&w->mu);
        while (w->qlen > 0 && n < w->max_batch) {
            w->batch[n++] = w->queue[w->qhead];
            w->qhead = (w->qhead + 1) % w->qcap;
            w->qlen--;
        }
        pthread_mutex_unlock(&w->mu);
        if (n == 0)
            break;
        complete(w, w->batch, n, CMN_ERR_TIMEOUT);
    }
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->timer_cv);
    pthread_cond_broadcast(&w->connector_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->threads_started) {
        pthread_join(w->timer_thr, NULL);
        pthread_join(w->connector_thr, NULL);
    }
    if (w->result_ready && w->result.conn)
        PQfinish(w->result.conn);
    aud_writer_stats_t st = w->stats;
    cmn_log_info(LOG,
                 "stream %s: closed at seq %lld (%llu committed, %llu spooled, %llu timed out)",
                 w->stream, (long long)w->head_seq, (unsigned long long)st.committed,
                 (unsigned long long)st.spooled, (unsigned long long)st.timed_out);
    free_writer(w);
}
