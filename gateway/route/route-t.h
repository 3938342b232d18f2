/* Types only: a classified route (route/route.h) — its family, action, repos and why it was
 * refused — read by every stage after the classifier. */
#ifndef HUBGATE_GATEWAY_ROUTE_ROUTE_T_H
#define HUBGATE_GATEWAY_ROUTE_ROUTE_T_H

#include <stddef.h>

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
    GW_ADMIN_XET_CAS,     /* /-/xet/cas/{endpoint…}: Xet's CAS through hubgate (docs/xet-storage.md) */
    GW_ADMIN_XET_TELEMETRY, /* POST /v1/telemetry: where Xet clients send telemetry, at the
                               root of their CAS URL's host */
    GW_ADMIN_OTHER,
    GW_ADMIN_LOGIN,          /* /-/login: browser sign-in starts (docs/sign-in.md) */
    GW_ADMIN_LOGIN_CALLBACK, /* /-/login/callback: the IdP sends the person back */
    GW_ADMIN_LOGOUT,         /* /-/logout */
    GW_ADMIN_DEVICE,         /* /oauth/device: `hf auth login` asks (POST), a person confirms (GET) */
    GW_ADMIN_DEVICE_CONFIRM, /* POST /oauth/device/confirm: the confirmation page's form */
    GW_ADMIN_OAUTH_TOKEN,    /* POST /oauth/token: the device polls, or refreshes */
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

#endif
