/* The Hub route classifier: (method, raw request-target, bounded body when needed) →
 * {repo type, namespace, name, revision, path in repo, action, family} (docs/architecture.md,
 * docs/routes.md).
 *
 * The classifier sees the raw request-target exactly as the client sent it (copied in
 * libmicrohttpd's URI-log callback, never MHD's decoded `url`), validates it and decodes it
 * once, segment by segment. It never rewrites the target: the caller forwards the same bytes it
 * passed here, so the path the policy judged is the path forwarded. Anything ambiguous — dot
 * segments, `//`, an encoded `/` or `\` inside a repo id, `%00`, invalid UTF-8, double
 * encoding, a percent-encoded character that needs no encoding, a path readable both as a
 * legacy one-segment repo id and as `namespace/name`, a repeated query parameter that decides
 * the route (`service`, `create_pr`) — is refused with a reason (400), never guessed. The
 * query is otherwise not interpreted.
 *
 * The action is decided by the route, not by the method: GET …/xet-write-token is a write,
 * POST …/paths-info is a read, an LFS batch is a read or a write according to its body's
 * `operation`, and every family that yields file bytes (resolve, raw, blob, resolve-cache, git
 * upload-pack, LFS batch download, Xet read token) is a read of its repo. Routes that carry
 * their target repo in the JSON body (`/api/repos/create|delete|move`, `…/duplicate`,
 * `…/lfs-files/duplicate`, collections, bucket batch, and the LFS batch operation) are
 * classified in two steps: gw_route_classify_target() marks them `needs_body`, the caller
 * buffers at most gw_route_body_cap() bytes, then gw_route_classify_body() completes them.
 * A route that still `needs_body` must not reach the policy.
 *
 * Every route lists in `repos[]` each (repo, action) pair the policy must allow: one entry for
 * an ordinary repo route, several for body-borne routes (a move deletes its source and creates
 * its destination; a duplicate reads its source and creates its copy), none for routes that
 * name no repo (whoami, listings, hubgate's own /-/ routes).
 *
 * Pure functions: no I/O, no locks, no global state; thread-safe. Every string in a gw_route_t
 * is allocated in the caller's arena and lives as long as it. jansson's own temporary
 * allocations while parsing a body are released before gw_route_classify_body returns. */
#ifndef HUBGATE_GATEWAY_ROUTE_ROUTE_H
#define HUBGATE_GATEWAY_ROUTE_ROUTE_H

#include <stddef.h>

#include "common/arena.h"
#include "gateway/route/body.h"
#include "gateway/route/route-t.h"
#include "gateway/route/treatment.h"

/* Step 1: classifies method + raw request-target (path and optional ?query, exactly as
 * received, not NUL-terminated necessarily). `method` is the request method as sent
 * (case-sensitive; HEAD is treated as GET). On success returns 0 and fills *out; when
 * out->needs_body is set the route's target is in the body: buffer it (at most
 * gw_route_body_cap(out) bytes) and call gw_route_classify_body.
 * An unrecognised route is not an error: it returns 0 with family UNKNOWN (denied by default).
 * Errors: CMN_ERR_PARSE (400) or CMN_ERR_TOOBIG (414) with out->reject saying why;
 * CMN_ERR_NOMEM when the arena is exhausted; CMN_ERR_INVAL for NULL arguments.
 * Strings in *out are allocated in `arena` (borrowed; must outlive *out). Never blocks. */
int gw_route_classify_target(const char *method, const char *target, size_t target_len,
                             cmn_arena_t *arena, gw_route_t *out);

/* The most body bytes the caller may buffer for this route (0 when it needs none). A longer
 * body is refused with 413 (GW_REJECT_BODY_TOO_LARGE) without being read further. */
size_t gw_route_body_cap(const gw_route_t *route);

/* Both steps at once, for callers that already hold the body (policy tests, explain, fuzzing).
 * body may be NULL (body_len 0) for a route that needs none; a route that needs a body
 * and gets NULL is refused with GW_REJECT_BODY_MISSING_TARGET. Same returns and ownership
 * as the two steps. */
int gw_route_classify(const char *method, const char *target, size_t target_len, const char *body,
                      size_t body_len, const char *content_type, cmn_arena_t *arena,
                      gw_route_t *out);

/* Static names ("read", "resolve_cache", "model", "BAD_ESCAPE"); "?" for a value out of
 * range. Never NULL. */
const char *gw_route_action_name(gw_action_t action);
const char *gw_route_family_name(gw_family_t family);
const char *gw_route_repo_type_name(gw_repo_type_t type);
const char *gw_route_reject_name(gw_route_reject_t reject);

/* The HTTP status (400, 413, 414) and the X-Error-Message text for a rejection. Static. */
unsigned gw_route_reject_status(gw_route_reject_t reject);
const char *gw_route_reject_message(gw_route_reject_t reject);

/* Parses a repo type name as used in bodies and policies ("model", "dataset", "space",
 * "kernel", "bucket"). Returns GW_REPO_NONE for anything else. */
gw_repo_type_t gw_route_repo_type_parse(const char *s);

#endif
