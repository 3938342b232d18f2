/* The audit writer (docs/audit.md).
 *
 * One writer per gateway instance, one stream per writer. Callers on any thread submit events;
 * one thread owns the PostgreSQL connection and, each round, takes every event queued since the
 * last commit (up to max_batch), extends the stream's hash chain, sends them as one COPY (one
 * transaction: group commit, synchronous_commit=on) and, only once COMMIT has returned OK,
 * completes their tickets. Every checkpoint_every events or checkpoint_seconds (an idle stream
 * included) it signs a checkpoint into audit_checkpoint and appends it to the checkpoint file.
 *
 * Never a hang: each submitted event has a deadline (write_timeout_ms). A separate timer thread
 * fails a ticket whose deadline passes, whatever the writer thread is stuck on (a dead network,
 * a blocked disk); the writer never blocks longer than write_timeout_ms on the database either.
 * An event whose ticket timed out is still written when the database allows (its request was
 * refused, and the log says it was attempted).
 *
 * strict mode: a ticket succeeds only when its event is committed in PostgreSQL. While the
 * database is away, tickets fail at their deadline (the gateway answers 503) and the writer
 * reconnects with backoff (50 ms doubling to 2 s); nothing is forwarded unaudited.
 * spool mode: while the database is away, events are appended to <spool_dir>/<stream>.spool
 * (fsync'd, chained the same way; format in spool.h) and their tickets succeed once on disk.
 * When the database returns the spool is drained in order, new events queueing behind it, and
 * an `audit.spooled` event records the episode (how many events, seq range, since, until, why).
 *
 * A connection lost mid-commit leaves the outcome unknown. The writer never guesses: after
 * reconnecting it re-reads the stream's head from the database and compares it with the hash
 * it expects before and after the batch, then re-sends the batch or not (strict), or skips
 * what the spool holds that already landed (spool). A head that matches neither means another
 * writer touched the stream: the writer stops writing (every ticket fails) and says so.
 *
 * One stream, one live writer: the writer holds a session advisory lock on its stream for as
 * long as it is connected. Opening a stream that a live instance holds fails with a message
 * naming that instance; a stream whose instance died is resumed from its chain head.
 *
 * Thread-safety: aud_writer_submit, aud_writer_append and aud_writer_stats may be called from
 * any thread concurrently. aud_writer_open and aud_writer_close from one thread, once. */
#ifndef HUBGATE_AUDIT_PGWRITER_H
#define HUBGATE_AUDIT_PGWRITER_H

#include <stddef.h>
#include <stdint.h>

#include "audit/event.h"

typedef enum { AUD_MODE_STRICT, AUD_MODE_SPOOL } aud_mode_t;

typedef struct {
    const char *database_url; /* libpq URL or conninfo; the role needs hubgate_gateway */
    const char *stream;       /* [A-Za-z0-9._-]{1,64} */
    const char *signing_key;  /* path of the Ed25519 private key PEM (hubgate keygen) */
    aud_mode_t mode;
    const char *spool_dir;       /* spool file and, by default, the checkpoint file live here */
    const char *checkpoint_file; /* NULL: <spool_dir>/<stream>.checkpoints */
    int checkpoint_every;        /* events; <= 0: 1000 */
    int checkpoint_seconds;      /* <= 0: 10 */
    int write_timeout_ms;        /* <= 0: 2000 */
    size_t queue_capacity;       /* events waiting or in flight; 0: 16384 */
    size_t max_batch;            /* events per transaction; 0: 2000, at most 3000 */
} aud_writer_config_t;

typedef struct aud_writer aud_writer_t;

/* Loads the key, connects, registers the stream (and the key, if new for it), takes the
 * stream's lock, reads its head and starts the writer's threads. In spool mode, a spool left
 * by a previous run is validated and will be drained first. Returns the writer (close it with
 * aud_writer_close), or NULL with a one-line reason in err: bad config, unreadable key, corrupt
 * spool, database unreachable (unless spool mode finds a spool to continue), the stream held by
 * a live instance, or a database that is not migrated. Blocks (network, disk). */
aud_writer_t *aud_writer_open(const aud_writer_config_t *cfg, char *err, size_t errlen);

/* Called exactly once per accepted submit, from one of the writer's threads (never from inside
 * aud_writer_submit), with status 0 when the event is durable (committed, or in spool mode
 * fsync'd in the spool), else CMN_ERR_TIMEOUT (not durable by its deadline, or the writer
 * closed first), CMN_ERR_IO (spool mode: the spool could not be written) or CMN_ERR_CONFLICT
 * (the writer stopped: its stream was taken over). Any non-zero status means: do not forward,
 * answer 503. After it returns the writer never touches arg again. It must be quick and must
 * not block: e.g. resume a suspended MHD connection. It may call aud_writer_submit (a
 * completion event), never aud_writer_append or aud_writer_close. */
typedef void (*aud_done_fn)(void *arg, int status);

/* Encodes ev (the caller keeps ownership; nothing of it is referenced afterwards) and queues
 * it. Returns 0: done(arg, status) will be called once, at the latest write_timeout_ms after
 * this call (plus scheduling delay). done may be NULL (fire and forget: policy and token
 * events). Returns without calling done: CMN_ERR_INVAL (ev breaks the model: see
 * aud_event_encode), CMN_ERR_TOOBIG (queue full: the database has been slow or away for a
 * while), CMN_ERR_CONFLICT (writer stopped or closing), CMN_ERR_NOMEM. Does not block on I/O;
 * takes the queue lock briefly. */
int aud_writer_submit(aud_writer_t *w, const aud_event_t *ev, aud_done_fn done, void *arg);

/* Submits and waits for the outcome: 0 when durable, else the status done would get, or
 * aud_writer_submit's error. Blocks at most write_timeout_ms (plus scheduling delay). */
int aud_writer_append(aud_writer_t *w, const aud_event_t *ev);

typedef struct {
    int connected; /* the writer holds a ready connection */
    int spooling;  /* events are going to the spool (spool mode) */
    int stopped;   /* the stream was taken over: every ticket fails */
    size_t queued; /* events accepted and not yet written */
    uint64_t submitted, committed, spooled, drained, timed_out, rejected;
    uint64_t batches;     /* transactions that committed events */
    uint64_t checkpoints; /* signed and stored */
    uint64_t reconnects;
    int64_t head_seq;       /* the chain head the writer holds (spooled or committed) */
    int64_t checkpoint_seq; /* of the last signed checkpoint */
    char last_error[256];   /* the last database or disk problem, "" if none */
} aud_writer_stats_t;

/* A snapshot of the counters, for /-/ready and /-/metrics. Never blocks on I/O. */
void aud_writer_stats(aud_writer_t *w, aud_writer_stats_t *out);

/* The key id of the signing key (16 hex digits), owned by the writer (valid until close, a
 * rotation included). */
const char *aud_writer_key_id(const aud_writer_t *w);

/* Asks the writer to close and open its checkpoint file again (log rotation: the file was
 * renamed, SIGUSR1): the writer does it before it appends the next checkpoint, after syncing
 * what it wrote to the old one, so no line is lost and none lands in the renamed file after
 * this call. Thread-safe, async-signal-safe, never blocks. */
void aud_writer_reopen_files(aud_writer_t *w);

/* Rotates the signing key (SIGHUP, a new audit.signing_key), in two calls so that the writers
 * of a process rotate together. _start loads the private key at path and, when it is another
 * key than the one signing, asks the writer thread to (1) sign a checkpoint of the current head
 * with the old key, (2) register the new public key in audit_stream_key, (3) sign the same head
 * with the new key and every later checkpoint with it: the handover point is signed by both.
 * Any failure before (3) leaves the old key signing. Old checkpoints verify with the old key,
 * which stays registered. Returns 0 (asked: from_id and to_id hold the key ids; call _wait),
 * 1 (the file holds the key already signing: nothing asked), -1 with a one-line reason in err.
 * Blocks (the key file). */
int aud_writer_rotate_key_start(aud_writer_t *w, const char *path, char from_id[17], char to_id[17],
                                char *err, size_t errlen);

/* The outcome of the rotation _start asked for: 0 when the writer signs with the new key, -1
 * with the reason in err. The writer needs its database connection: not taken within 2 x
 * write_timeout_ms of _start, the request is withdrawn. Blocks until then, or until the writer's
 * database steps end (each bounded by its deadline). The thread that called _start only. */
int aud_writer_rotate_key_wait(aud_writer_t *w, char *err, size_t errlen);

/* Stops accepting events, writes what is queued (waiting up to write_timeout_ms for the
 * database), signs a final checkpoint, fails what could not be written (CMN_ERR_TIMEOUT),
 * stops the threads and frees everything. Spool mode: what it could not drain in that time, or
 * with no connection, stays in the spool, which the next open of the stream drains first.
 * Accepts NULL. Blocks. */
void aud_writer_close(aud_writer_t *w);

#endif
