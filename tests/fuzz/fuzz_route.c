/* layer: route */
/* Fuzzes the route classifier with arbitrary method, request-target and body.
 *
 * Input: byte 0 picks the method (low 3 bits) and the Content-Type (bits 4-5); the target is
 * every byte up to the first NUL; what follows that NUL, if anything, is the body.
 *
 * Invariants checked on every input (abort() on violation):
 *  - no crash, no sanitizer report, the target bytes are never modified;
 *  - one-shot and two-step classification agree;
 *  - on success: every repo id satisfies the grammar, revision and path are clean UTF-8 without
 *    dot, empty or backslash components, the action is one the family allows, the headline
 *    action is the highest of the repos' actions, content families are reads;
 *  - on failure: a reason is given and nothing is left to authorize. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/err.h"
#include "gateway/route/decode.h"
#include "gateway/route/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define M(a) (1u << GW_ACTION_##a)

/* Which actions each family may carry: written independently of the classifier. */
static unsigned allowed_actions(gw_family_t f)
{
    switch (f) {
    case GW_FAMILY_UNKNOWN:
    case GW_FAMILY_ADMIN:
    case GW_FAMILY_WHOAMI:
    case GW_FAMILY_OAUTH:
    case GW_FAMILY_SCIM:
    case GW_FAMILY_CREDENTIALS_REVOKE:
    case GW_FAMILY_TELEMETRY:
    case GW_FAMILY_MISC:
        return M(NONE);
    case GW_FAMILY_LIST_REPOS:
    case GW_FAMILY_REPO_INFO:
    case GW_FAMILY_REVISION_INFO:
    case GW_FAMILY_REFS:
    case GW_FAMILY_COMMITS:
    case GW_FAMILY_TREE:
    case GW_FAMILY_TREESIZE:
    case GW_FAMILY_PATHS_INFO:
    case GW_FAMILY_COMPARE:
    case GW_FAMILY_SCAN:
    case GW_FAMILY_LFS_FILES:
    case GW_FAMILY_DATASET_DERIVED:
    case GW_FAMILY_LIKERS:
    case GW_FAMILY_LIKE:
    case GW_FAMILY_RESOLVE:
    case GW_FAMILY_RAW:
    case GW_FAMILY_BLOB:
    case GW_FAMILY_RESOLVE_CACHE:
    case GW_FAMILY_XET_READ_TOKEN:
    case GW_FAMILY_GIT_UPLOAD_PACK:
    case GW_FAMILY_DISCUSSION_LIST:
    case GW_FAMILY_DISCUSSION_READ:
    case GW_FAMILY_SPACE_RUNTIME:
    case GW_FAMILY_SPACE_LOGS:
    case GW_FAMILY_ORG_INFO:
    case GW_FAMILY_USER_INFO:
    case GW_FAMILY_ACCOUNT_REPOS:
    case GW_FAMILY_CATALOG:
    case GW_FAMILY_PAPERS:
        return M(READ);
    case GW_FAMILY_AUTH_CHECK:
    case GW_FAMILY_DATASET_SQL:
    case GW_FAMILY_LFS_BATCH:
    case GW_FAMILY_LFS_LOCKS:
    case GW_FAMILY_GIT_INFO_REFS:
    case GW_FAMILY_JOBS:
        return M(READ) | M(WRITE);
    case GW_FAMILY_XET_WRITE_TOKEN:
    case GW_FAMILY_LFS_VERIFY:
    case GW_FAMILY_GIT_RECEIVE_PACK:
    case GW_FAMILY_PREUPLOAD:
    case GW_FAMILY_COMMIT:
    case GW_FAMILY_LFS_FILES_DUPLICATE:
    case GW_FAMILY_DISCUSSION_CREATE:
    case GW_FAMILY_DISCUSSION_COMMENT:
    case GW_FAMILY_DISCUSSION_EDIT:
    case GW_FAMILY_DISCUSSION_MERGE:
        return M(WRITE);
    case GW_FAMILY_BUCKET_BATCH:
    case GW_FAMILY_BRANCH:
    case GW_FAMILY_TAG:
        return M(WRITE) | M(DELETE);
    case GW_FAMILY_LFS_FILES_DELETE:
    case GW_FAMILY_SUPER_SQUASH:
    case GW_FAMILY_REPO_DELETE:
        return M(DELETE);
    case GW_FAMILY_REPO_CREATE:
    case GW_FAMILY_REPO_DUPLICATE:
        return M(CREATE);
    case GW_FAMILY_REPO_MOVE:
    case GW_FAMILY_SETTINGS:
    case GW_FAMILY_ACCESS_REQUESTS:
    case GW_FAMILY_DISCUSSION_STATUS:
    case GW_FAMILY_DISCUSSION_HIDE:
    case GW_FAMILY_SPACE_ADMIN:
    case GW_FAMILY_ORG_ADMIN:
    case GW_FAMILY_WEBHOOKS:
        return M(ADMIN);
    case GW_FAMILY_RESOURCE_GROUP:
        return M(READ) | M(ADMIN);
    case GW_FAMILY_COLLECTION:
        return M(READ) | M(WRITE) | M(DELETE) | M(ADMIN);
    case GW_FAMILY_COUNT_:
        break;
    }
    return 0;
}

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_route invariant violated: %s\n", what);
        abort();
    }
}

static int ends_with_git(const char *s)
{
    size_t n = strlen(s);
    return n >= 4 && strcmp(s + n - 4, ".git") == 0;
}

static void check_repo(gw_repo_type_t type, const char *ns, const char *name, int caller)
{
    check(type > GW_REPO_NONE && type <= GW_REPO_BUCKET, "repo type in range");
    check(ns && name, "repo id present");
    check(gw_route_repo_segment_valid(name) && !ends_with_git(name), "repo name grammar");
    if (ns[0] == '\0')
        check(caller || type == GW_REPO_MODEL || type == GW_REPO_DATASET,
              "only models and datasets have legacy one-segment ids");
    else
        check(gw_route_repo_segment_valid(ns), "namespace grammar");
}

/* A decoded revision or path: valid UTF-8 (checked loosely: no NUL by construction), no
 * control byte, no backslash, and no ".", ".." or empty component. */
static void check_clean(const char *s, const char *what)
{
    if (!s)
        return;
    size_t start = 0, n = strlen(s);
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i < n) {
            check(c >= 0x20 && c != 0x7F && c != '\\', what);
            if (c != '/')
                continue;
        }
        size_t len = i - start;
        check(len > 0, what);
        check(!(len == 1 && s[start] == '.'), what);
        check(!(len == 2 && s[start] == '.' && s[start + 1] == '.'), what);
        start = i + 1;
    }
}

static void check_route(int rc, const gw_route_t *r)
{
    if (rc != 0) {
        check(rc == CMN_ERR_PARSE || rc == CMN_ERR_TOOBIG || rc == CMN_ERR_NOMEM, "error code");
        check(rc == CMN_ERR_NOMEM || r->reject != GW_REJECT_NONE, "a refusal has a reason");
        check(rc != CMN_ERR_TOOBIG || gw_route_reject_status(r->reject) >= 413, "413/414");
        check(r->nrepos == 0, "a refused route authorizes nothing");
        return;
    }
    check(r->reject == GW_REJECT_NONE, "success has no reason");
    check(r->family < GW_FAMILY_COUNT_, "family in range");
    check(r->action <= GW_ACTION_ADMIN, "action in range");
    check(!r->needs_body, "complete after both steps");
    check((allowed_actions(r->family) & (1u << r->action)) != 0, "action allowed by family");
    check(r->nrepos <= GW_ROUTE_MAX_REPOS, "repo count");
    if (r->family == GW_FAMILY_UNKNOWN)
        check(r->nrepos == 0 && !r->name && !r->namespace && r->repo_type == GW_REPO_NONE,
              "unknown names nothing");
    if (r->family == GW_FAMILY_ADMIN)
        check(r->admin != GW_ADMIN_NONE && r->repo_type == GW_REPO_NONE && r->nrepos == 0,
              "admin routes are hubgate's");
    if (r->family == GW_FAMILY_LFS_BATCH)
        check((r->lfs_operation == GW_LFS_OP_DOWNLOAD) == (r->action == GW_ACTION_READ),
              "LFS batch action follows its operation");
    if (r->name)
        check_repo(r->repo_type, r->namespace, r->name, r->nrepos && r->repos[0].caller_namespace);
    else if (r->namespace && r->namespace[0])
        check(gw_route_repo_segment_valid(r->namespace), "namespace grammar");
    gw_action_t max = GW_ACTION_NONE;
    for (size_t i = 0; i < r->nrepos; i++) {
        const gw_route_repo_t *p = &r->repos[i];
        check_repo(p->type, p->namespace, p->name, p->caller_namespace);
        check(p->action != GW_ACTION_NONE, "a listed repo has an action");
        if (p->action > max)
            max = p->action;
    }
    check(r->action >= max, "headline action covers every repo action");
    /* a move is an admin act on top of its repos; a collection's own action is on its owner */
    if (r->nrepos > 0 && r->family != GW_FAMILY_REPO_MOVE && r->family != GW_FAMILY_COLLECTION)
        check(r->action == max, "headline action is the highest repo action");
    if (r->repo_type != GW_REPO_NONE && r->name && r->family != GW_FAMILY_COLLECTION)
        check(r->nrepos > 0, "a repo route lists its repo");
    check_clean(r->revision, "clean revision");
    check_clean(r->path_in_repo, "clean path");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                          "PATCH", "DELETE", "OPTIONS", "get"};
    static const char *const ctypes[] = {NULL, "application/json",
                                         "application/vnd.git-lfs+json; charset=utf-8",
                                         "application/x-ndjson"};
    if (size == 0)
        return 0;
    const char *method = methods[data[0] & 7];
    const char *ctype = ctypes[(data[0] >> 4) & 3];
    const char *target = (const char *)data + 1;
    size_t rest = size - 1;
    const char *nul = memchr(target, '\0', rest);
    size_t target_len = nul ? (size_t)(nul - target) : rest;
    const char *body = nul ? nul + 1 : NULL;
    size_t body_len = nul ? rest - target_len - 1 : 0;

    /* Exact-size copies so ASan sees any read past the end; kept to prove nothing writes. */
    char *t = malloc(target_len ? target_len : 1);
    char *b = malloc(body_len ? body_len : 1);
    if (!t || !b)
        abort();
    memcpy(t, target, target_len);
    memcpy(b, body ? body : "", body_len);

    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 8u << 20);
    gw_route_t one, two;
    int rc1 =
        gw_route_classify(method, t, target_len, body ? b : NULL, body_len, ctype, &arena, &one);
    check_route(rc1, &one);

    int rc2 = gw_route_classify_target(method, t, target_len, &arena, &two);
    if (rc2 == 0 && two.needs_body) {
        check(two.nrepos == 0, "nothing to authorize before the body");
        size_t cap = gw_route_body_cap(&two);
        check(cap > 0, "a route that needs a body has a cap");
        if (body) {
            rc2 = gw_route_classify_body(&two, ctype, b, body_len, &arena);
            check(body_len <= cap || rc2 == CMN_ERR_TOOBIG, "over the cap is 413");
        } else {
            rc2 = rc1; /* one-shot refuses a missing body; nothing more to compare */
        }
    }
    check(rc1 == rc2, "one-shot and two-step agree on the result");
    if (rc1 == 0 && rc2 == 0)
        check(one.family == two.family && one.action == two.action && one.nrepos == two.nrepos,
              "one-shot and two-step agree on the route");

    check(memcmp(t, target, target_len) == 0 && memcmp(b, body ? body : "", body_len) == 0,
          "inputs are never modified");
    cmn_arena_free(&arena);
    free(t);
    free(b);
    return 0;
}
