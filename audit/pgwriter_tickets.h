/* The writer's tickets: a preallocated pool, the queue the writer takes batches from, and the
 * deadline list the timer thread fails tickets from (pgwriter_t.h has the why). Every ticket
 * ends exactly once: the writer completes it, or the timer fails it at its deadline, whichever
 * comes first; the callback always runs outside the lock. Internal to audit/. */
#ifndef HUBGATE_AUDIT_PGWRITER_TICKETS_H
#define HUBGATE_AUDIT_PGWRITER_TICKETS_H

#include <stddef.h>

#include "audit/pgwriter_t.h"

/* Allocates w->qcap tickets, the queue and the batch array (w->max_batch). Returns 0 or
 * CMN_ERR_NOMEM (what was allocated is freed by pgw_tickets_free). */
int pgw_tickets_init(aud_writer_t *w);

/* Frees what pgw_tickets_init allocated. Accepts a writer it never ran on. */
void pgw_tickets_free(aud_writer_t *w);

/* Takes a free ticket for a submit. Returns 0 with *out, CMN_ERR_CONFLICT (the writer is
 * closing or stopped) or CMN_ERR_TOOBIG (none free: counted as rejected). Takes the lock. */
int pgw_ticket_take(aud_writer_t *w, pgw_ticket_t **out);

/* Gives back a ticket taken but not queued (its event could not be encoded). Takes the lock. */
void pgw_ticket_put_back(aud_writer_t *w, pgw_ticket_t *t);

/* Queues a taken ticket whose row is encoded, with its callback and a deadline write_timeout_ms
 * from now, and wakes the writer (and the timer, when it is the only one). Returns 0, or
 * CMN_ERR_CONFLICT (closing or stopped meanwhile: the ticket is given back). Takes the lock. */
int pgw_ticket_queue(aud_writer_t *w, pgw_ticket_t *t, aud_done_fn done, void *arg);

/* Moves up to max queued tickets, and rows of max_bytes in all, from the queue into out, oldest
 * first. Returns how many. The caller holds w->mu. */
size_t pgw_tickets_take_queued(aud_writer_t *w, pgw_ticket_t **out, size_t max, size_t max_bytes);

/* The writer is done with ts[0..n): each gets status unless the timer already failed it, and
 * is freed for reuse. Takes the lock in chunks; calls the callbacks outside it. */
void pgw_tickets_complete(aud_writer_t *w, pgw_ticket_t **ts, size_t n, int status);

/* The timer thread (arg: the writer): fails each ticket whose deadline passes with
 * CMN_ERR_TIMEOUT, until w->stop. */
void *pgw_timer_main(void *arg);

#endif
