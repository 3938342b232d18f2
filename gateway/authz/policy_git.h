/* Where a policy file came from, when it lives in a git work tree: the last commit that touched
 * it and that commit's author, and whether the bytes hubgate loaded are exactly that commit's.
 * A policy.loaded event carries this so that an auditor can tell who changed the policy (CC8.1)
 * from the repository the change was reviewed in, and can see when a file was edited in place.
 *
 * Runs the `git` found on PATH as a child process (fork/exec, no shell), in the file's folder,
 * with a fresh environment, stdin from /dev/null, its output bounded and a deadline: a git that
 * hangs is killed. git's own protections stay on, so a work tree owned by another user than the
 * gateway's ("dubious ownership") is not read: the answer is then GW_POLICY_GIT_NONE. Blocks for
 * up to about 3 × GW_POLICY_GIT_TIMEOUT_MS: call it where a policy is loaded (at start, on
 * SIGHUP, from the file watcher), never on a request thread. */
#ifndef HUBGATE_GATEWAY_POLICY_GIT_H
#define HUBGATE_GATEWAY_POLICY_GIT_H

#include "gateway/limits.h"

#include <stddef.h>

#define GW_POLICY_GIT_TIMEOUT_MS 3000               /* each git command */

typedef enum {
    GW_POLICY_GIT_NONE = 0,  /* not in a git work tree, or git could not say (see why) */
    GW_POLICY_GIT_UNTRACKED, /* in a work tree, but no commit holds the file */
    GW_POLICY_GIT_COMMITTED, /* the loaded bytes are exactly the last commit's */
    GW_POLICY_GIT_MODIFIED,  /* the file differs from the last commit that touched it */
} gw_policy_git_state_t;

typedef struct {
    gw_policy_git_state_t state;
    char commit[65];                       /* COMMITTED / MODIFIED: the commit id, hex */
    char author[GW_POLICY_GIT_MAX_AUTHOR]; /* COMMITTED / MODIFIED: "Name <email>" */
    char why[256];                         /* NONE: why, for the log ("" when simply no repo) */
} gw_policy_git_t;

/* Looks up `path` (a policy file; symlinks are resolved) whose loaded bytes have the SHA-256
 * `sha256_hex` (64 lowercase hex digits). Always fills *out; never fails otherwise: anything git
 * cannot answer is GW_POLICY_GIT_NONE with a reason in out->why. Blocks (see above). */
void gw_policy_git_lookup(const char *path, const char *sha256_hex, gw_policy_git_t *out);

/* "none", "untracked", "committed", "modified". Static; "?" out of range. */
const char *gw_policy_git_state_name(gw_policy_git_state_t state);

#endif
