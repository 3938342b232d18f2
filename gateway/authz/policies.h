/* The live policy, its reloads and the shadow policy (docs/policy.md).
 *
 * The live policy is an immutable, reference-counted generation. A reload (SIGHUP, or the file
 * changed on disk) parses and validates a new one entirely and runs its embedded tests; only
 * then is the pointer swapped. In-flight requests finish on the generation they started with.
 * An invalid file is refused with every error logged, and the old policy stays. */
#ifndef HUBGATE_GATEWAY_AUTHZ_POLICIES_H
#define HUBGATE_GATEWAY_AUTHZ_POLICIES_H

#include "common/buf.h"
#include "gateway/config/config.h"
#include "policy/policy.h"

typedef struct gw_policies gw_policies_t;

/* One load or refusal of a policy file, reported for the audit log. */
typedef struct {
    int loaded;          /* 1: a new policy is about to be swapped in; 0: a file was refused */
    int shadow;          /* the shadow policy's file, not the live one's */
    const char *path;    /* the file as the config names it */
    const char *trigger; /* what made hubgate read it: "start", "sighup", "file_change" */
    const char *old_sha; /* hex SHA-256 of the policy it replaces ("" at start) */
    const char *new_sha; /* hex SHA-256 of the bytes read (loaded or refused; "" when the
                            file could not be read) */
    const char *errors;  /* a refused file's problems, one per line ("" for a load) */
} gw_policy_event_t;

/* Reports each load or refusal. Called from the thread that reads the file (the starting
 * thread, the signal thread on SIGHUP, the file watcher), and for a load *before* the new
 * policy takes effect: a load is a privileged change, done only once its event is durable.
 * Returns 0 when the event is recorded; else the load does not happen (the previous policy
 * stays, and the file is tried again at the next check). The result of a refusal's report is
 * ignored. May block (up to the audit log's write timeout, and whatever the callback does to
 * describe the file). */
typedef int (*gw_policy_event_cb)(void *ctx, const gw_policy_event_t *event);

/* Loads the live policy (and the shadow one, if configured) and starts watching the files.
 * Returns NULL with the errors appended to `errors` when the live policy is invalid, or when
 * the audit log cannot record its load (on_event fails). */
gw_policies_t *gw_policies_start(const gw_config_t *cfg, cmn_buf_t *errors,
                                 gw_policy_event_cb on_event, void *ctx);

/* Stops the watcher and drops the policies. Accepts NULL. Blocks until the watcher ends. */
void gw_policies_stop(gw_policies_t *ps);

/* Reloads now; trigger says why ("sighup"), for the audit event. Returns 1 when a new policy
 * was swapped in, 0 when the file is unchanged or was refused. Blocks (file I/O, parsing). */
int gw_policies_reload(gw_policies_t *ps, const char *trigger);

/* The live policy, with a reference for the caller (pol_policy_unref), and the shadow one or
 * NULL (also referenced). Never blocks for long: one uncontended mutex. */
pol_policy_t *gw_policies_live(gw_policies_t *ps, pol_policy_t **shadow);

/* Validates a policy file as serve would load it (options from the config, embedded tests
 * run) and writes the problems to errors. Returns 0 when it would be accepted. Blocks. */
int gw_policies_check_file(const gw_config_t *cfg, const char *path, cmn_buf_t *errors);

#endif
