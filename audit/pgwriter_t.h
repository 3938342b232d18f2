/* The audit writer's state, shared by the files that make it up (types only; audit/pgwriter.h
 * is the public side, each file below has its own header for its functions):
 *   pgwriter.c            the public API: open, submit, append, stats, close;
 *   pgwriter_copy.c       binary COPY encoding: an event's row, a batch of rows;
 *   pgwriter_tickets.c    the ticket pool, the queue, the deadline list and the timer thread;
 *   pgwriter_connect.c    the connector thread: connect, register, lock, read the head;
 *   pgwriter_pgio.c       deadline-bounded libpq I/O on the writer's non-blocking connection;
 *   pgwriter_state.c      the writer's connection state and the counters it publishes;
 *   pgwriter_loop.c       the writer thread: it takes batches, writes them, adopts connections;
 *   pgwriter_checkpoint.c signed checkpoints: cadence, SQL, the checkpoint file;
 *   pgwriter_spool.c      spool mode: tickets into the spool, and the spool drained back;
 *   pgwriter_partitions.c audit_event's monthly partitions made ahead, at connect and hourly.
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
 * fixed timeout, so the deadline list is FIFO and the timer looks only at its head.
 * Internal to audit/. */
#ifndef HUBGATE_AUDIT_PGWRITER_T_H
#define HUBGATE_AUDIT_PGWRITER_T_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/limits.h"
#include "audit/pgwriter.h"
#include "audit/spool.h"
#include "common/buf.h"

#define PGW_LOG             "audit"
#define PGW_ROW_KEEP_BYTES  (64u << 10) /* a ticket buffer grown past this is shrunk after use */
#define PGW_BACKOFF_MIN_MS 50
#define PGW_BACKOFF_MAX_MS 2000
/* Signing keys a writer may retire before it must be restarted: each stays allocated until
 * close (aud_writer_key_id's answer may still be read). Rotations are rare; this is years of
 * them without a restart. */
#define PGW_MAX_OLD_KEYS 32

/* A key rotation asked of the writer thread (aud_writer_rotate_key_start). */
typedef enum {
    PGW_REKEY_IDLE,
    PGW_REKEY_ASKED,  /* rekey holds the new key; the writer has not taken it */
    PGW_REKEY_TAKEN,  /* the writer is registering it and signing the handover */
    PGW_REKEY_DONE,   /* the writer signs with it */
    PGW_REKEY_FAILED, /* the old key stays; rekey_err says why */
} pgw_rekey_state_t;

typedef struct pgw_ticket pgw_ticket_t;
struct pgw_ticket {
    pgw_ticket_t *next_free;
    pgw_ticket_t *prev_u, *next_u; /* deadline list (unfinished tickets) */
    aud_done_fn done;
    void *arg;
    int64_t deadline_ns;
    int finished;    /* done has been (or is being) called */
    int writer_done; /* the writer no longer needs it */
    int in_list;
    /* The event's COPY row, encoded at submit; its first four fields (stream_id, seq,
     * prev_hash, hash) filled in when the writer chains it (pgwriter_copy.h). */
    cmn_buf_t row;
};

typedef enum { PGW_CONN_OK, PGW_CONN_TRANSIENT, PGW_CONN_FATAL } pgw_conn_class_t;

/* What the connector hands the writer: a ready connection and what it read, or why not. */
typedef struct {
    pgw_conn_class_t cls;
    PGconn *conn;
    int64_t stream_id;
    int64_t head_seq; /* 0 for an empty stream */
    unsigned char head_hash[AUD_HASH_BYTES];
    int64_t cp_seq;
    int backend_pid;
    char err[512];
} pgw_conn_result_t;

struct aud_writer {
    /* configuration (immutable after open) */
    char *url, *stream, *spool_dir, *cp_path;
    aud_mode_t mode;
    int cp_every, cp_seconds, timeout_ms;
    size_t qcap, max_batch;
    char app_name[64];
    char host[256];
    aud_key_t *key; /* swapped (under mu) only by the writer thread, only while it holds a
                       connection: the connector, which reads it, runs only without one */
    aud_key_t *old_keys[PGW_MAX_OLD_KEYS]; /* retired by rotations; freed at close */
    size_t n_old_keys;
    unsigned char genesis[AUD_HASH_BYTES];

    pthread_mutex_t mu;
    pthread_cond_t writer_cv, timer_cv, connector_cv;
    pthread_t writer_thr, timer_thr, connector_thr;
    int threads_started;

    /* under mu */
    pgw_ticket_t *tickets; /* the pool */
    pgw_ticket_t *free_list;
    pgw_ticket_t **queue; /* ring of qcap */
    size_t qhead, qlen;
    pgw_ticket_t *u_head, *u_tail;
    int writer_waiting, timer_waiting;
    int closing, stop;
    aud_writer_stats_t stats;
    int connect_requested, connect_busy, result_ready;
    pgw_conn_result_t result;
    int last_backend_pid; /* read by the connector */
    atomic_int cp_reopen;  /* set by aud_writer_reopen_files, taken by the writer thread */
    aud_key_t *rekey;      /* the key asked for, until the writer takes it */
    pgw_rekey_state_t rekey_state;
    int64_t rekey_take_by; /* CLOCK_MONOTONIC ns: withdrawn if not taken by then */
    char rekey_err[512];
    pthread_cond_t rekey_cv; /* signalled when rekey_state leaves ASKED or TAKEN */

    /* writer thread only (and open/close before/after the threads) */
    aud_hasher_t hasher;
    PGconn *conn;
    int64_t stream_id;
    int64_t head_seq;
    unsigned char head_hash[AUD_HASH_BYTES];
    int64_t cp_seq;
    int64_t cp_due_ns;
    int64_t parts_due_ns;  /* next call of hubgate_audit_partitions (pgwriter_partitions.h) */
    int cp_fd;             /* -1 after a reopen failed: retried at the next checkpoint */
    int fatal;
    int backoff_ms;
    int64_t next_connect_ns;
    int64_t down_since_ns; /* 0 while connected */
    /* strict mode: a batch whose commit outcome is unknown, held until resolved */
    pgw_ticket_t **batch;
    size_t batch_n;
    int batch_held;
    int64_t batch_first_seq;
    unsigned char batch_prev[AUD_HASH_BYTES], batch_last[AUD_HASH_BYTES];
    int batch_has_cp; /* the batch carries a checkpoint of its last event */
    aud_checkpoint_t batch_cp;
    int64_t cp_synced_ns; /* last fdatasync of the checkpoint file */
    int cp_unsynced;
    cmn_buf_t copy; /* the spool drain's COPY, built whole (batches go row by row) */
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

#endif
