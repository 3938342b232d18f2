/* Strict mode's wait (docs/audit.md): a request's decision event being made durable while its
 * connection sits suspended; the writer's thread resumes it with the outcome. Nothing is
 * forwarded before that outcome is "durable". */
#ifndef HUBGATE_GATEWAY_AUDITLOG_WAIT_H
#define HUBGATE_GATEWAY_AUDITLOG_WAIT_H

#include <microhttpd.h>

#include "audit/pgwriter.h"

/* A decision event being made durable while its connection waits (strict mode). */
typedef struct gw_audit_wait gw_audit_wait_t;

/* Submits the request's decision event and returns a wait object (two references: the
 * writer's callback and the caller's). The writer's thread resumes conn with the outcome and
 * then writes wake_fd, the eventfd of the loop serving it. NULL when the event could not even
 * be queued: the caller answers 503. */
gw_audit_wait_t *gw_audit_wait_submit(aud_writer_t *w, const aud_event_t *ev,
                                      struct MHD_Connection *conn, int wake_fd);

/* 1: durable; -1: failed (the caller answers 503); 0: still pending — the connection has
 * been suspended and is resumed when the outcome arrives. */
int gw_audit_wait_poll(gw_audit_wait_t *wait);

/* The connection is gone or done: never resume it. Drops the caller's reference. */
void gw_audit_wait_release(gw_audit_wait_t *wait);

#endif
