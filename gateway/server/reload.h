/* SIGHUP's key reload (docs/runbook.md, "Rotating keys"): the config file read again and
 * validated as at start, then hubgate's three keys applied without a restart, which would abort
 * the transfers in flight:
 *   - the egress keys (egress_key_file seals, egress_previous_key_files still open);
 *   - the identity assertion (identity.assertion_key signs, assertion_published_keys are
 *     published beside it at /-/jwks.json);
 *   - the audit signing key (audit.signing_key), rotated by each writer at its head
 *     (aud_writer_rotate_key_start, _wait).
 * A config that does not load, or a key file that does not, changes nothing (logged). Key
 * contents equal to those in use change nothing and record nothing; each change applied is a
 * keys.rotated event ({purpose, from, to, trigger}, key ids only). Every other setting takes
 * effect at the next start: those that differ from the running config are logged by name.
 *
 * The egress keys and the assertion are swapped atomically in gw_server_t; a request loads
 * each once and uses what it loaded. A retired one is kept alive until the process exits
 * (gw_reload_destroy), so a reader never sees a freed object: no reference counting on the
 * request path. At most GW_RELOAD_MAX_RETIRED of each are retired before a restart is needed;
 * a retired assertion keeps its reuse cache (at most GW_ASSERTION_CACHE_ENTRIES slots, filled
 * only while it signed). Signal thread only. */
#ifndef HUBGATE_GATEWAY_SERVER_RELOAD_H
#define HUBGATE_GATEWAY_SERVER_RELOAD_H

#include <stddef.h>

#include "audit/pgwriter.h"
#include "gateway/server/request-t.h"

/* Retirements kept per kind before a rotation is refused (three reloads rotate the assertion
 * key, two the egress key: years of rotations). */
#define GW_RELOAD_MAX_RETIRED 32

typedef struct gw_reload gw_reload_t;

/* For srv, whose egress_keys and assertion are set (and owned by the caller until
 * gw_reload_destroy), and its audit writers (writers[0..n), NULL entries when audit.mode is
 * off), which must outlive it. NULL when out of memory. */
gw_reload_t *gw_reload_create(gw_server_t *srv, aud_writer_t *const *writers, size_t n);

/* Reads srv->cfg->path again and applies the key settings, as said above. Blocks (files, and
 * each writer's rotation: a few write timeouts at most). */
void gw_reload_keys(gw_reload_t *r);

/* Frees the egress keys and assertion in use and every retired one. Call only after every
 * thread that reads them (the event loops) stopped. Accepts NULL. */
void gw_reload_destroy(gw_reload_t *r);

#endif
