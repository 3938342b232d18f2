/* The gateway's side of the audit log (docs/audit.md): events built from a
 * request, a strict-mode wait that a suspended connection can sit on, and the lifecycle,
 * policy, token and key events. The writer itself (audit/pgwriter.h) batches, chains, signs
 * and commits.
 *
 * No secret enters an event: tokens are named by their id, never their value; the identity
 * assertion, cookies and credentials are not recorded. */
#ifndef HUBGATE_GATEWAY_AUDITLOG_H
#define HUBGATE_GATEWAY_AUDITLOG_H

#include <microhttpd.h>

#include "audit/pgwriter.h"
#include "gateway/config/config.h"

/* Opens the writer from the config. NULL with a one-line reason in err. Blocks. */
aud_writer_t *gw_auditlog_open(const gw_config_t *cfg, char *err, size_t errlen);

/* A decision event being made durable while its connection waits (strict mode). */
typedef struct gw_audit_wait gw_audit_wait_t;

/* Submits the request's decision event and returns a wait object (two references: the
 * writer's callback and the caller's). NULL when the event could not even be queued: the
 * caller answers 503. */
gw_audit_wait_t *gw_audit_wait_submit(aud_writer_t *w, const aud_event_t *ev,
                                      struct MHD_Connection *conn);

/* 1: durable; -1: failed (the caller answers 503); 0: still pending — the connection has
 * been suspended and is resumed when the outcome arrives. */
int gw_audit_wait_poll(gw_audit_wait_t *wait);

/* The connection is gone or done: never resume it. Drops the caller's reference. */
void gw_audit_wait_release(gw_audit_wait_t *wait);

/* Queues an event without waiting (denials, completions, lifecycle). Failures are counted by
 * the writer and logged there; a lost event never blocks a request. */
void gw_auditlog_note(aud_writer_t *w, const aud_event_t *ev);

#endif
