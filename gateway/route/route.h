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
#ifndef HUBGATE_GATEWAY_ROUTE_H
#define HUBGATE_GATEWAY_ROUTE_H

#include <stddef.h>

#include "common/arena.h"
#include "gateway/limits.h"

typedef enum {
    GW_REPO_NONE = 0,
    GW_REPO_MODEL,
    GW_REPO_DATASET,
    GW_REPO_SPACE,
    GW_REPO_KERNEL,
    GW_REPO_BUCKET,
} gw_repo_type_t;

/* Ordered by privilege: a route's headline action is the highest of its repos' actions. */
typedef enum {
    GW_ACTION_NONE = 0, /* names no repo content: identity, probes, hubgate's own routes */
    GW_ACTION_READ,
    GW_ACTION_WRITE,
    GW_ACTION_CREATE,
    GW_ACTION_DELETE,
    GW_ACTION_ADMIN,
} gw_action_t;

/* X(NAME, "name") — every route family. Content families: RESOLVE RAW BLOB RESOLVE_CACHE
 * XET_READ_TOKEN LFS_BATCH GIT_INFO_REFS GIT_UPLOAD_PACK. */
#define GW_ROUTE_FAMILY_MAP(X)                                                                     \
    X(UNKNOWN, "unknown")                                                                          \
    X(ADMIN, "admin")                           /* hubgate's own /-/... */                         \
    X(WHOAMI, "whoami")                         /* GET /api/whoami-v2 */                           \
    X(AUTH_CHECK, "auth_check")                 /* .../auth-check[/write] */                       \
    X(OAUTH, "oauth")                           /* /oauth/..., /.well-known/openid-... */          \
    X(CREDENTIALS_REVOKE, "credentials_revoke") /* POST /api/credentials/revoke */                 \
    X(LIST_REPOS, "list_repos")                 /* GET /api/models, /api/buckets/{ns} ... */       \
    X(REPO_INFO, "repo_info")                   /* GET /api/{type}s/{repo} */                      \
    X(REVISION_INFO, "revision_info")           /* GET .../revision/{rev} */                       \
    X(REFS, "refs")                                                                                \
    X(COMMITS, "commits")                                                                          \
    X(TREE, "tree")                                                                                \
    X(TREESIZE, "treesize")                                                                        \
    X(PATHS_INFO, "paths_info")                                                                    \
    X(COMPARE, "compare")                                                                          \
    X(SCAN, "scan")                                                                                \
    X(LFS_FILES, "lfs_files")                     /* GET .../lfs-files */                          \
    X(LFS_FILES_DELETE, "lfs_files_delete")       /* POST .../lfs-files/batch, DELETE .../{sha} */ \
    X(LFS_FILES_DUPLICATE, "lfs_files_duplicate") /* target repo in the body */                    \
    X(DATASET_DERIVED, "dataset_derived")         /* parquet, croissant, leaderboard */            \
    X(DATASET_SQL, "dataset_sql")                                                                  \
    X(LIKERS, "likers")                                                                            \
    X(LIKE, "like")                                                                                \
    X(RESOLVE, "resolve")                                                                          \
    X(RAW, "raw")                                                                                  \
    X(BLOB, "blob")                                                                                \
    X(RESOLVE_CACHE, "resolve_cache")                                                              \
    X(XET_READ_TOKEN, "xet_read_token")                                                            \
    X(XET_WRITE_TOKEN, "xet_write_token")                                                          \
    X(LFS_BATCH, "lfs_batch") /* action from the body's operation */                               \
    X(LFS_VERIFY, "lfs_verify")                                                                    \
    X(LFS_LOCKS, "lfs_locks")                                                                      \
    X(GIT_INFO_REFS, "git_info_refs") /* action from ?service= */                                  \
    X(GIT_UPLOAD_PACK, "git_upload_pack")                                                          \
    X(GIT_RECEIVE_PACK, "git_receive_pack")                                                        \
    X(PREUPLOAD, "preupload")                                                                      \
    X(COMMIT, "commit")                                                                            \
    X(SUPER_SQUASH, "super_squash")                                                                \
    X(BUCKET_BATCH, "bucket_batch") /* ndjson body: add, copy, delete */                           \
    X(BRANCH, "branch")                                                                            \
    X(TAG, "tag")                                                                                  \
    X(REPO_CREATE, "repo_create")                                                                  \
    X(REPO_DELETE, "repo_delete")                                                                  \
    X(REPO_MOVE, "repo_move")                                                                      \
    X(REPO_DUPLICATE, "repo_duplicate")                                                            \
    X(SETTINGS, "settings")                                                                        \
    X(RESOURCE_GROUP, "resource_group")                                                            \
    X(ACCESS_REQUESTS, "access_requests")                                                          \
    X(DISCUSSION_LIST, "discussion_list")                                                          \
    X(DISCUSSION_READ, "discussion_read")                                                          \
    X(DISCUSSION_CREATE, "discussion_create")                                                      \
    X(DISCUSSION_COMMENT, "discussion_comment")                                                    \
    X(DISCUSSION_EDIT, "discussion_edit")                                                          \
    X(DISCUSSION_STATUS, "discussion_status")                                                      \
    X(DISCUSSION_MERGE, "discussion_merge")                                                        \
    X(DISCUSSION_HIDE, "discussion_hide")                                                          \
    X(SPACE_RUNTIME, "space_runtime")                                                              \
    X(SPACE_LOGS, "space_logs")                                                                    \
    X(SPACE_ADMIN, "space_admin") /* secrets, variables, hardware, ... */                          \
    X(COLLECTION, "collection")                                                                    \
    X(ORG_INFO, "org_info")                                                                        \
    X(ORG_ADMIN, "org_admin")                                                                      \
    X(USER_INFO, "user_info")                                                                      \
    X(ACCOUNT_REPOS, "account_repos") /* GET /api/settings/repositories */                         \
    X(WEBHOOKS, "webhooks")                                                                        \
    X(JOBS, "jobs")                                                                                \
    X(CATALOG, "catalog") /* tags-by-type, hardware, templates */                                  \
    X(PAPERS, "papers")                                                                            \
    X(TELEMETRY, "telemetry")                                                                      \
    X(MISC, "misc") /* validate-yaml, agent-harnesses */                                           \
    X(SCIM, "scim") /* /scim/...: hubgate's own (directory provisioning) */

typedef enum {
#define GW_ROUTE_FAMILY_ENUM(name, str) GW_FAMILY_##name,
    GW_ROUTE_FAMILY_MAP(GW_ROUTE_FAMILY_ENUM)
#undef GW_ROUTE_FAMILY_ENUM
        GW_FAMILY_COUNT_
} gw_family_t;

/* hubgate's own routes under /-/ (family ADMIN). The classifier does not check their method:
 * each handler does. OTHER is any other /-/ path: answered 404 by hubgate, never forwarded. */
typedef enum {
    GW_ADMIN_NONE = 0,
    GW_ADMIN_HEALTH,      /* /-/health */
    GW_ADMIN_READY,       /* /-/ready */
    GW_ADMIN_METRICS,     /* /-/metrics */
    GW_ADMIN_WHOAMI,      /* /-/whoami */
    GW_ADMIN_TOKENS,      /* /-/tokens */
    GW_ADMIN_TOKEN,       /* /-/tokens/{id}; object = id */
    GW_ADMIN_JWKS,        /* /-/jwks.json */
    GW_ADMIN_REPORT_SOC2, /* /-/reports/soc2 */
    GW_ADMIN_EGRESS,      /* /-/egress/{sealed}; object = sealed */
    GW_ADMIN_OTHER,
} gw_admin_route_t;

typedef enum { GW_LFS_OP_NONE = 0, GW_LFS_OP_DOWNLOAD, GW_LFS_OP_UPLOAD } gw_lfs_op_t;

/* How a route is served. The upstream knows hubgate only by its service credential, so a route
 * whose answer depends on who asks would be answered for the service account: such routes are
 * never forwarded with it, whatever the policy allows. Each family has a fixed treatment
 * (docs/routes.md lists every route that names no repo, with its treatment and why). */
typedef enum {
    GW_TREAT_POLICY = 0, /* names the repos (or namespace) it acts on: the policy decides, and it
                            is forwarded with the region's credential */
    GW_TREAT_LOCAL,      /* answered by hubgate itself: its own /-/ routes, whoami, telemetry */
    GW_TREAT_FILTER,     /* the policy decides; forwarded with the credential; the answer is
                            filtered to what the caller may read (listings, collections) */
    GW_TREAT_PUBLIC,     /* the policy decides; forwarded without any credential: public data,
                            the same answer whoever asks */
    GW_TREAT_DENY,       /* refused with 403 before the policy: only the service account's answer
                            exists upstream (settings, credentials, jobs, org administration, the
                            hub's OAuth) or the path is hubgate's own (/oauth/, /scim/) */
} gw_treatment_t;

/* X(NAME, http status, message) — why a request was refused before any policy ran. The
 * message is safe to send back in X-Error-Message (it never echoes the request). */
#define GW_ROUTE_REJECT_MAP(X)                                                                     \
    X(NONE, 0, "")                                                                                 \
    X(TARGET_FORM, 400, "request-target must be a path starting with '/'")                         \
    X(TARGET_BYTE, 400, "request-target contains a space, control, non-ASCII or '#' byte")         \
    X(TARGET_TOO_LONG, 414, "request-target is too long")                                          \
    X(PATH_TOO_DEEP, 400, "request path has too many segments")                                    \
    X(BAD_ESCAPE, 400, "malformed percent-encoding in request-target")                             \
    X(DOUBLE_ENCODING, 400, "double percent-encoding (%25XX) in request path")                     \
    X(ENCODED_UNRESERVED, 400, "percent-encoded letter, digit or '-._~' in request path")          \
    X(NUL, 400, "NUL byte (%00) in request-target")                                                \
    X(CONTROL, 400, "control character in request path")                                           \
    X(BAD_UTF8, 400, "request path is not valid UTF-8 after decoding")                             \
    X(DOT_SEGMENT, 400, "'.' or '..' segment in request path")                                     \
    X(EMPTY_SEGMENT, 400, "empty segment ('//' or trailing '/') in request path")                  \
    X(BACKSLASH, 400, "backslash in request path")                                                 \
    X(ENCODED_SLASH, 400, "encoded '/' or '\\' inside a repo id")                                  \
    X(BAD_REPO_ID, 400, "invalid repo id")                                                         \
    X(AMBIGUOUS, 400, "ambiguous path: readable as two different repos")                           \
    X(DUPLICATE_QUERY, 400, "query parameter that decides the route is repeated")                  \
    X(BODY_TOO_LARGE, 413, "request body too large for a route whose target is in the body")       \
    X(BODY_CONTENT_TYPE, 400, "request body must be JSON for this route")                          \
    X(BODY_INVALID, 400, "request body is not valid JSON for this route")                          \
    X(BODY_MISSING_TARGET, 400, "request body does not name its target")                           \
    X(BODY_BAD_TARGET, 400, "request body names an invalid repo")                                  \
    X(BODY_CONFLICT, 400, "request body names its target twice, differently")                      \
    X(TOO_MANY_REPOS, 400, "request names too many repos")

typedef enum {
#define GW_ROUTE_REJECT_ENUM(name, status, msg) GW_REJECT_##name,
    GW_ROUTE_REJECT_MAP(GW_ROUTE_REJECT_ENUM)
#undef GW_ROUTE_REJECT_ENUM
} gw_route_reject_t;

/* One (repo, action) pair the policy must allow. */
typedef struct {
    gw_repo_type_t type;
    const char *namespace; /* "" for a legacy one-segment id ("gpt2") or caller_namespace */
    const char *name;
    gw_action_t action;
    unsigned from_body : 1;        /* named by the request body, not the path */
    unsigned caller_namespace : 1; /* no namespace given: the upstream caller's own (create or
                                      delete without "organization") */
} gw_route_repo_t;

typedef struct {
    gw_family_t family;
    gw_action_t action;       /* headline: the highest action in repos[]; higher for a move
                                 (admin) and a collection (acts on its owner namespace) */
    gw_repo_type_t repo_type; /* the repo the route is about; NONE when it names none */
    const char *namespace;    /* NULL when the route names no namespace; "" for legacy ids */
    const char *name;         /* NULL when the route names no repo */
    const char *revision;     /* decoded ("refs/pr/1"); NULL when the route has none */
    const char *path_in_repo; /* decoded, '/'-separated, no dot segments; NULL when none */
    const char *object;       /* what else the path names: discussion number, collection slug
                                 "ns/slug", job id, token id, egress blob; NULL otherwise */
    gw_route_repo_t repos[GW_ROUTE_MAX_REPOS];
    size_t nrepos;
    gw_admin_route_t admin;    /* family ADMIN only */
    gw_lfs_op_t lfs_operation; /* family LFS_BATCH, after the body */
    unsigned pr : 1;           /* write confined to a pull request: ?create_pr=1 (exactly
                                  "1") or a refs/pr/{number} revision; commit, preupload and
                                  xet-write-token only */
    unsigned git_suffix : 1;   /* the repo id carried a ".git" suffix (stripped) */
    unsigned needs_body : 1;   /* incomplete until gw_route_classify_body() */
    gw_route_reject_t reject;  /* why classification failed; NONE on success */
} gw_route_t;

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

/* Step 2: completes a route that needs_body from the request body (borrowed, body_len bytes,
 * need not be NUL-terminated) and its Content-Type header value (NULL when absent). Parses
 * JSON with jansson (json_loadb, JSON_REJECT_DUPLICATES) or ndjson for a bucket batch, and
 * adds every repo the body names to route->repos with its action. Clears needs_body.
 * Does nothing and returns 0 when the route does not need a body.
 * Errors: CMN_ERR_TOOBIG (413, body over gw_route_body_cap), CMN_ERR_PARSE (400: wrong
 * content type, unparsable, target missing or invalid) with route->reject set;
 * CMN_ERR_NOMEM. On error the route must be answered, never authorized. Never blocks. */
int gw_route_classify_body(gw_route_t *route, const char *content_type, const char *body,
                           size_t body_len, cmn_arena_t *arena);

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

/* The treatment of a classified route, by its family. When
 * why is not NULL it receives a static sentence: for GW_TREAT_DENY the message answered to the
 * client, otherwise why the route is served so. Pure. */
gw_treatment_t gw_route_treatment(const gw_route_t *route, const char **why);

/* "policy", "local", "filter", "public", "deny"; "?" out of range. */
const char *gw_route_treatment_name(gw_treatment_t treatment);

/* hubgate's own routes answered without authenticating the caller (health, readiness, metrics,
 * keys): they carry no identity, and are not audited. */
int gw_route_admin_is_public(gw_admin_route_t admin);

/* 1 for routes hubgate owns and authenticates on its own terms, before any Hub route logic:
 * its /-/ routes, and everything under /oauth/ and /scim/ (sign-in and provisioning; never
 * forwarded to the hub). Pure. */
int gw_route_is_hubgate_own(const gw_route_t *route);

/* Parses a repo type name as used in bodies and policies ("model", "dataset", "space",
 * "kernel", "bucket"). Returns GW_REPO_NONE for anything else. */
gw_repo_type_t gw_route_repo_type_parse(const char *s);

/* 1 when s is a valid repo id segment (the Hub's REPO_ID_REGEX): [A-Za-z0-9_.-]{1,96}, no "--" or
 * "..", not starting or ending with '.' or '-'. */
int gw_route_repo_segment_valid(const char *s);

#endif
