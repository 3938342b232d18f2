/* The gateway's side of the audit log (docs/audit.md): the writer opened from the config, and
 * events queued without waiting. A request's events are made in auditlog/request.h, the
 * strict-mode wait in auditlog/wait.h. The writer itself (audit/pgwriter.h) batches, chains,
 * signs and commits.
 *
 * No secret enters an event: tokens are named by their id, never their value; the identity
 * assertion, cookies and credentials are not recorded. */
#ifndef HUBGATE_GATEWAY_AUDITLOG_H
#define HUBGATE_GATEWAY_AUDITLOG_H

#include "audit/pgwriter.h"
#include "gateway/config/config.h"

/* Opens a writer of the named stream (audit.stream, or an event loop's, see server/loop.h)
 * with the config's settings. NULL with a one-line reason in err. Blocks. */
aud_writer_t *gw_auditlog_open(const gw_config_t *cfg, const char *stream, char *err,
                               size_t errlen);

/* Queues an event without waiting (denials, completions, lifecycle). Failures are counted by
 * the writer and logged there; a lost event never blocks a request. */
void gw_auditlog_note(aud_writer_t *w, const aud_event_t *ev);

#endif
