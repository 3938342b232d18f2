/* /api/… route families of the Hub HTTP API: repo APIs under /api/{type}s/{repo}/…, the
 * resolve-cache redirect target, and namespace-level APIs (organizations, users, collections,
 * jobs, settings, catalogs). Each verb parser says whether the segments after a repo id fit it;
 * gw_route_repo_route decides between the one- and two-segment readings of the id. */

#include "gateway/route/api.h"

#include <string.h>

/* Reads create_pr. Only "1" (what both clients send) counts: a PR flag may let a policy allow
 * what a branch write would not, so any value the upstream might read differently counts as a
 * plain write. Repeated → refused, since the upstream may read another occurrence than we did. */
static int query_create_pr(gw_route_ctx_t *c, int *pr)
{
    const char *v;
    size_t count;
    int rc = gw_route_query_get(&c->t, "create_pr", c->a, &v, &count);
    if (rc != 0)
        return rc;
    if (count > 1)
        return fail(c, GW_REJECT_DUPLICATE_QUERY);
    *pr = v && strcmp(v, "1") == 0;
    return 0;
}

static int all_digits(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 12)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* refs/pr/{number}: a pull request's own ref. */
static int is_pr_revision(const char *rev)
{
    return rev && strncmp(rev, "refs/pr/", 8) == 0 && all_digits(rev + 8);
}

static int hex40(const char *s)
{
    if (!s || strlen(s) != 40)
        return 0;
    for (size_t i = 0; i < 40; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return 0;
    }
    return 1;
}

static int one_of(const char *s, const char *const *list)
{
    for (size_t i = 0; s && list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* A namespace segment for namespace-level routes (organizations, users, jobs, collections). */
static int check_namespace(gw_route_ctx_t *c, size_t i)
{
    if (c->t.segs[i].esc_slash)
        return fail(c, GW_REJECT_ENCODED_SLASH);
    if (!gw_route_repo_segment_valid(seg(c, i)) || gw_route_reserved(seg(c, i)))
        return fail(c, GW_REJECT_BAD_REPO_ID);
    return 0;
}

static const char *const space_admin_verbs[] = {"hardware", "sleeptime", "pause",
                                                "restart",  "dev-mode",  NULL};

static int discussion_verb(gw_route_ctx_t *c, size_t d, gw_route_match_t *m)
{
    size_t n = c->t.nsegs;
    if (d == n)
        return c->get    ? set(m, GW_FAMILY_DISCUSSION_LIST, GW_ACTION_READ)
               : c->post ? set(m, GW_FAMILY_DISCUSSION_CREATE, GW_ACTION_WRITE)
                         : NO_MATCH;
    if (!all_digits(seg(c, d)))
        return NO_MATCH;
    m->object = seg(c, d);
    size_t a = n - d - 1;
    if (a == 0)
        return c->get    ? set(m, GW_FAMILY_DISCUSSION_READ, GW_ACTION_READ)
               : c->post ? set(m, GW_FAMILY_DISCUSSION_EDIT, GW_ACTION_WRITE)
                         : NO_MATCH;
    if (a == 1 && c->post) {
        if (is(c, d + 1, "comment"))
            return set(m, GW_FAMILY_DISCUSSION_COMMENT, GW_ACTION_WRITE);
        if (is(c, d + 1, "title"))
            return set(m, GW_FAMILY_DISCUSSION_EDIT, GW_ACTION_WRITE);
        if (is(c, d + 1, "status") || is(c, d + 1, "change-status"))
            return set(m, GW_FAMILY_DISCUSSION_STATUS, GW_ACTION_ADMIN);
        if (is(c, d + 1, "merge"))
            return set(m, GW_FAMILY_DISCUSSION_MERGE, GW_ACTION_WRITE);
        return NO_MATCH;
    }
    if (!is(c, d + 1, "comment"))
        return NO_MATCH;
    if (a == 2 && c->del)
        return set(m, GW_FAMILY_DISCUSSION_HIDE, GW_ACTION_ADMIN);
    if (a == 3 && c->post) {
        if (is(c, d + 3, "edit"))
            return set(m, GW_FAMILY_DISCUSSION_EDIT, GW_ACTION_WRITE);
        if (is(c, d + 3, "reply"))
            return set(m, GW_FAMILY_DISCUSSION_COMMENT, GW_ACTION_WRITE);
        if (is(c, d + 3, "hide"))
            return set(m, GW_FAMILY_DISCUSSION_HIDE, GW_ACTION_ADMIN);
    }
    return NO_MATCH;
}

/* Verbs of a revisioned repo whose single argument is a revision (and nothing after it). */
static int revision_only(gw_route_ctx_t *c, size_t i, gw_route_match_t *m)
{
    size_t next = 0;
    int rc = gw_route_take_revision(c, i, &m->revision, &next);
    if (rc != MATCH)
        return rc;
    return next == c->t.nsegs ? MATCH : NO_MATCH;
}

static int write_pr(gw_route_ctx_t *c, gw_route_match_t *m)
{
    int rc = query_create_pr(c, &m->pr);
    if (rc != 0)
        return rc;
    m->pr |= is_pr_revision(m->revision);
    return MATCH;
}

static int bucket_verb(gw_route_ctx_t *c, size_t v, gw_route_match_t *m)
{
    size_t n = c->t.nsegs;
    if (v == n)
        return c->get    ? set(m, GW_FAMILY_REPO_INFO, GW_ACTION_READ)
               : c->post ? set(m, GW_FAMILY_REPO_CREATE, GW_ACTION_CREATE)
               : c->del  ? set(m, GW_FAMILY_REPO_DELETE, GW_ACTION_DELETE)
                         : NO_MATCH;
    size_t a = n - v - 1;
    if (is(c, v, "tree") && c->get) {
        int rc = gw_route_join(c, v + 1, n, &m->path);
        if (rc != 0)
            return rc;
        return set(m, GW_FAMILY_TREE, GW_ACTION_READ);
    }
    if (a != 0)
        return NO_MATCH;
    if (is(c, v, "paths-info") && c->post)
        return set(m, GW_FAMILY_PATHS_INFO, GW_ACTION_READ);
    if (is(c, v, "xet-read-token") && c->get)
        return set(m, GW_FAMILY_XET_READ_TOKEN, GW_ACTION_READ);
    if (is(c, v, "xet-write-token") && c->get)
        return set(m, GW_FAMILY_XET_WRITE_TOKEN, GW_ACTION_WRITE);
    if (is(c, v, "batch") && c->post) {
        m->needs_body = 1;
        return set(m, GW_FAMILY_BUCKET_BATCH, GW_ACTION_NONE);
    }
    if (is(c, v, "settings") && c->put)
        return set(m, GW_FAMILY_SETTINGS, GW_ACTION_ADMIN);
    if (is(c, v, "resource-group"))
        return c->post  ? set(m, GW_FAMILY_RESOURCE_GROUP, GW_ACTION_ADMIN)
               : c->get ? set(m, GW_FAMILY_RESOURCE_GROUP, GW_ACTION_READ)
                        : NO_MATCH;
    return NO_MATCH;
}

/* Verbs only Spaces have (/api/spaces/{repo}/… administration) and only datasets have. */
static int typed_verb(gw_route_ctx_t *c, gw_repo_type_t type, size_t v, gw_route_match_t *m)
{
    size_t a = c->t.nsegs - v - 1;
    if (type == GW_REPO_SPACE) {
        if ((is(c, v, "secrets") || is(c, v, "variables")) && a == 0 &&
            (c->get || c->post || c->del))
            return set(m, GW_FAMILY_SPACE_ADMIN, GW_ACTION_ADMIN);
        if (one_of(seg(c, v), space_admin_verbs) && a == 0 && c->post)
            return set(m, GW_FAMILY_SPACE_ADMIN, GW_ACTION_ADMIN);
        if (is(c, v, "storage") && a == 0 && (c->post || c->del))
            return set(m, GW_FAMILY_SPACE_ADMIN, GW_ACTION_ADMIN);
        if (is(c, v, "volumes") && a == 0 && (c->put || c->del))
            return set(m, GW_FAMILY_SPACE_ADMIN, GW_ACTION_ADMIN);
        if (is(c, v, "runtime") && a == 0 && c->get)
            return set(m, GW_FAMILY_SPACE_RUNTIME, GW_ACTION_READ);
        if (((is(c, v, "logs") && a == 1 && (is(c, v + 1, "build") || is(c, v + 1, "run"))) ||
             ((is(c, v, "events") || is(c, v, "metrics")) && a == 0)) &&
            c->get)
            return set(m, GW_FAMILY_SPACE_LOGS, GW_ACTION_READ);
    }
    if (type == GW_REPO_DATASET) {
        if (is(c, v, "parquet") && a <= 3 && c->get) {
            int rc = gw_route_join(c, v + 1, c->t.nsegs, &m->path);
            return rc != 0 ? rc : set(m, GW_FAMILY_DATASET_DERIVED, GW_ACTION_READ);
        }
        if ((is(c, v, "croissant") || is(c, v, "leaderboard")) && a == 0 && c->get)
            return set(m, GW_FAMILY_DATASET_DERIVED, GW_ACTION_READ);
        if (is(c, v, "sql") && a <= 1) {
            m->object = seg(c, v + 1);
            return c->get || c->post    ? set(m, GW_FAMILY_DATASET_SQL, GW_ACTION_READ)
                   : c->patch || c->del ? set(m, GW_FAMILY_DATASET_SQL, GW_ACTION_WRITE)
                                        : NO_MATCH;
        }
    }
    return NO_MATCH;
}

static int api_verb(gw_route_ctx_t *c, gw_repo_type_t type, size_t v, gw_route_match_t *m)
{
    size_t n = c->t.nsegs;
    int rc;
    if (type == GW_REPO_BUCKET)
        return bucket_verb(c, v, m);
    if (v == n)
        return c->get   ? set(m, GW_FAMILY_REPO_INFO, GW_ACTION_READ)
               : c->del ? set(m, GW_FAMILY_REPO_DELETE, GW_ACTION_DELETE)
                        : NO_MATCH;
    size_t a = n - v - 1;
    const char *verb = seg(c, v);

    if (strcmp(verb, "revision") == 0) {
        if (!c->get)
            return NO_MATCH;
        if ((rc = revision_only(c, v + 1, m)) != MATCH)
            return rc;
        return set(m, GW_FAMILY_REVISION_INFO, GW_ACTION_READ);
    }
    if (strcmp(verb, "refs") == 0)
        return c->get && a == 0 ? set(m, GW_FAMILY_REFS, GW_ACTION_READ) : NO_MATCH;
    if (strcmp(verb, "commits") == 0) {
        if (!c->get)
            return NO_MATCH;
        if (a > 0 && (rc = revision_only(c, v + 1, m)) != MATCH)
            return rc;
        return set(m, GW_FAMILY_COMMITS, GW_ACTION_READ);
    }
    if (strcmp(verb, "tree") == 0 || strcmp(verb, "treesize") == 0) {
        size_t next = 0;
        if (!c->get)
            return NO_MATCH;
        if ((rc = gw_route_take_revision(c, v + 1, &m->revision, &next)) != MATCH)
            return rc;
        if ((rc = gw_route_join(c, next, n, &m->path)) != 0)
            return rc;
        return set(m, strcmp(verb, "tree") == 0 ? GW_FAMILY_TREE : GW_FAMILY_TREESIZE,
                   GW_ACTION_READ);
    }
    if (strcmp(verb, "paths-info") == 0) {
        if (!c->post)
            return NO_MATCH;
        if ((rc = revision_only(c, v + 1, m)) != MATCH)
            return rc;
        return set(m, GW_FAMILY_PATHS_INFO, GW_ACTION_READ);
    }
    if (strcmp(verb, "compare") == 0) {
        m->revision = seg(c, v + 1);
        return c->get && a == 1 ? set(m, GW_FAMILY_COMPARE, GW_ACTION_READ) : NO_MATCH;
    }
    if (strcmp(verb, "scan") == 0)
        return c->get && a == 0 ? set(m, GW_FAMILY_SCAN, GW_ACTION_READ) : NO_MATCH;
    if (strcmp(verb, "lfs-files") == 0) {
        if (a == 0)
            return c->get ? set(m, GW_FAMILY_LFS_FILES, GW_ACTION_READ) : NO_MATCH;
        if (a != 1)
            return NO_MATCH;
        if (is(c, v + 1, "batch") && c->post)
            return set(m, GW_FAMILY_LFS_FILES_DELETE, GW_ACTION_DELETE);
        if (is(c, v + 1, "duplicate") && c->post) {
            m->needs_body = 1;
            return set(m, GW_FAMILY_LFS_FILES_DUPLICATE, GW_ACTION_NONE);
        }
        m->object = seg(c, v + 1);
        return c->del ? set(m, GW_FAMILY_LFS_FILES_DELETE, GW_ACTION_DELETE) : NO_MATCH;
    }
    if (strcmp(verb, "preupload") == 0 || strcmp(verb, "commit") == 0) {
        if (!c->post)
            return NO_MATCH;
        if ((rc = revision_only(c, v + 1, m)) != MATCH || (rc = write_pr(c, m)) != MATCH)
            return rc;
        return set(m, strcmp(verb, "commit") == 0 ? GW_FAMILY_COMMIT : GW_FAMILY_PREUPLOAD,
                   GW_ACTION_WRITE);
    }
    if (strcmp(verb, "xet-read-token") == 0) {
        if (!c->get)
            return NO_MATCH;
        if ((rc = revision_only(c, v + 1, m)) != MATCH)
            return rc;
        return set(m, GW_FAMILY_XET_READ_TOKEN, GW_ACTION_READ);
    }
    if (strcmp(verb, "xet-write-token") == 0) {
        /* A GET that hands out write capability on Xet storage. */
        if (!c->get)
            return NO_MATCH;
        if ((rc = revision_only(c, v + 1, m)) != MATCH || (rc = write_pr(c, m)) != MATCH)
            return rc;
        return set(m, GW_FAMILY_XET_WRITE_TOKEN, GW_ACTION_WRITE);
    }
    if (strcmp(verb, "super-squash") == 0 || strcmp(verb, "branch") == 0 ||
        strcmp(verb, "tag") == 0) {
        /* The ref name may arrive encoded (one segment) or with its slashes (several). */
        if (a == 0)
            return NO_MATCH;
        if ((rc = gw_route_join(c, v + 1, n, &m->revision)) != 0)
            return rc;
        if (strcmp(verb, "super-squash") == 0)
            return c->post ? set(m, GW_FAMILY_SUPER_SQUASH, GW_ACTION_DELETE) : NO_MATCH;
        gw_family_t f = strcmp(verb, "branch") == 0 ? GW_FAMILY_BRANCH : GW_FAMILY_TAG;
        return c->post  ? set(m, f, GW_ACTION_WRITE)
               : c->del ? set(m, f, GW_ACTION_DELETE)
                        : NO_MATCH;
    }
    if (strcmp(verb, "settings") == 0)
        return c->put && a == 0 ? set(m, GW_FAMILY_SETTINGS, GW_ACTION_ADMIN) : NO_MATCH;
    if (strcmp(verb, "resource-group") == 0 && a == 0)
        return c->post  ? set(m, GW_FAMILY_RESOURCE_GROUP, GW_ACTION_ADMIN)
               : c->get ? set(m, GW_FAMILY_RESOURCE_GROUP, GW_ACTION_READ)
                        : NO_MATCH;
    if (strcmp(verb, "duplicate") == 0) {
        if (!c->post || a != 0 || type == GW_REPO_KERNEL)
            return NO_MATCH;
        m->needs_body = 1;
        return set(m, GW_FAMILY_REPO_DUPLICATE, GW_ACTION_NONE);
    }
    if (strcmp(verb, "auth-check") == 0) {
        /* A permission probe answers for the action it probes: the upstream would answer for
         * hubgate's own credential otherwise. */
        if (!c->get || a > 1 || (a == 1 && !is(c, v + 1, "write")))
            return NO_MATCH;
        return set(m, GW_FAMILY_AUTH_CHECK, a ? GW_ACTION_WRITE : GW_ACTION_READ);
    }
    if (strcmp(verb, "likers") == 0)
        return c->get && a == 0 ? set(m, GW_FAMILY_LIKERS, GW_ACTION_READ) : NO_MATCH;
    if (strcmp(verb, "like") == 0)
        return (c->post || c->del) && a == 0 ? set(m, GW_FAMILY_LIKE, GW_ACTION_READ) : NO_MATCH;
    if (strcmp(verb, "discussions") == 0)
        return discussion_verb(c, v + 1, m);
    if (strcmp(verb, "user-access-request") == 0 && a == 1) {
        static const char *const lists[] = {"pending", "accepted", "rejected", NULL};
        static const char *const acts[] = {"handle", "grant", NULL};
        if ((c->get && one_of(seg(c, v + 1), lists)) || (c->post && one_of(seg(c, v + 1), acts)))
            return set(m, GW_FAMILY_ACCESS_REQUESTS, GW_ACTION_ADMIN);
        return NO_MATCH;
    }
    return typed_verb(c, type, v, m);
}

/* /api/resolve-cache/{type}s/{repo}/{commit}/{path}: the same-host redirect target of resolve.
 * A 40-hex second segment marks a legacy one-segment id (as the Hub fixture decides it). */
static int resolve_cache_route(gw_route_ctx_t *c, gw_route_t *out)
{
    size_t n = c->t.nsegs, s = 3;
    gw_repo_type_t type = n > 2 ? gw_route_type_from_plural(seg(c, 2)) : GW_REPO_NONE;
    if (type == GW_REPO_NONE || type == GW_REPO_BUCKET || !c->get)
        return 0;
    if (s < n && gw_route_reserved(seg(c, s)))
        return 0;
    size_t k = 2;
    if ((type == GW_REPO_MODEL || type == GW_REPO_DATASET) && hex40(seg(c, s + 1))) {
        if (hex40(seg(c, s + 2)) && s + 4 <= n)
            return fail(c, GW_REJECT_AMBIGUOUS);
        k = 1;
    }
    gw_route_match_t m = {0};
    size_t next = 0;
    int rc = gw_route_take_revision(c, s + k, &m.revision, &next);
    if (rc != MATCH)
        return rc;
    if (next >= n)
        return 0;
    if ((rc = gw_route_join(c, next, n, &m.path)) != 0)
        return rc;
    set(&m, GW_FAMILY_RESOLVE_CACHE, GW_ACTION_READ);
    return gw_route_commit_repo(c, type, s, k, &m, out);
}

static int api_repos_route(gw_route_ctx_t *c, gw_repo_type_t type, gw_route_t *out)
{
    size_t n = c->t.nsegs;
    if (n == 2 || (type == GW_REPO_SPACE && n == 3 && is(c, 2, "semantic-search"))) {
        if (c->get) {
            gw_route_none_repo(out, GW_FAMILY_LIST_REPOS, GW_ACTION_READ, NULL);
            out->repo_type = type; /* the listed type; no repo */
        }
        return 0;
    }
    if (type == GW_REPO_SPACE && n == 3 && (is(c, 2, "templates") || is(c, 2, "hardware"))) {
        if (c->get)
            gw_route_none_repo(out, GW_FAMILY_CATALOG, GW_ACTION_READ, NULL);
        return 0;
    }
    if (type == GW_REPO_BUCKET && n == 3) {
        /* GET /api/buckets/{ns}: one namespace's buckets */
        if (!c->get)
            return 0;
        int rc = check_namespace(c, 2);
        if (rc != 0)
            return rc;
        gw_route_none_repo(out, GW_FAMILY_LIST_REPOS, GW_ACTION_READ, seg(c, 2));
        out->repo_type = type;
        return 0;
    }
    return gw_route_repo_route(c, type, 2, api_verb, out);
}

/* ------------------------------------------------------------------------------------------ */
/* Namespace-level API routes: organizations, users, collections, jobs, settings */

/* /api/organizations/{org}/…: reads of the org's public face, and its administration. */
static int org_route(gw_route_ctx_t *c, gw_route_t *out)
{
    size_t n = c->t.nsegs;
    if (n < 4)
        return 0;
    int rc = check_namespace(c, 2);
    if (rc != 0)
        return rc;
    size_t a = n - 3; /* segments after the org */
    int rg = is(c, 3, "resource-groups");
    /* The org's public face; its resource groups and repository storage are its
     * administration (the hub shows them to its admins: hubgate's service account). */
    int read =
        c->get && a == 1 && (is(c, 3, "overview") || is(c, 3, "members") || is(c, 3, "followers"));
    int admin =
        (c->get && ((a == 1 && rg) || (a == 2 && rg) ||
                    (a == 2 && is(c, 3, "settings") && is(c, 4, "repositories")))) ||
        (a == 3 && c->put && is(c, 3, "members") && is(c, 5, "role")) ||
        (rg && ((a == 1 && c->post) || (a == 2 && (c->patch || c->del)) ||
                (a == 3 && c->post && (is(c, 5, "settings") || is(c, 5, "users"))) ||
                (a == 4 && (c->patch || c->del) && is(c, 5, "users")))) ||
        (a == 3 && c->post && is(c, 3, "settings") && is(c, 4, "tokens") && is(c, 5, "revoke")) ||
        (a == 2 && (c->get || c->patch) && is(c, 3, "settings") && is(c, 4, "network-security")) ||
        (a == 2 && c->get && is(c, 3, "billing") && is(c, 4, "usage-by-resource-group"));
    if (read)
        gw_route_none_repo(out, GW_FAMILY_ORG_INFO, GW_ACTION_READ, seg(c, 2));
    else if (admin)
        gw_route_none_repo(out, GW_FAMILY_ORG_ADMIN, GW_ACTION_ADMIN, seg(c, 2));
    else
        return 0;
    /* resource-group id, or the member whose role changes */
    if (rg || is(c, 3, "members"))
        out->object = seg(c, 4);
    return 0;
}

static int collection_route(gw_route_ctx_t *c, gw_route_t *out)
{
    size_t n = c->t.nsegs;
    if (n == 2) {
        if (c->get)
            gw_route_none_repo(out, GW_FAMILY_COLLECTION, GW_ACTION_READ, NULL);
        else if (c->post) { /* the owner namespace and a first item are in the body */
            gw_route_none_repo(out, GW_FAMILY_COLLECTION, GW_ACTION_WRITE, NULL);
            out->needs_body = 1;
        }
        return 0;
    }
    if (n < 4 || n > 6)
        return 0;
    int rc = check_namespace(c, 2);
    if (rc != 0)
        return rc;
    if (c->t.segs[3].esc_slash)
        return fail(c, GW_REJECT_ENCODED_SLASH);
    gw_action_t act = GW_ACTION_NONE;
    int body = 0;
    if (n == 4)
        act = c->get     ? GW_ACTION_READ
              : c->patch ? GW_ACTION_WRITE
              : c->del   ? GW_ACTION_DELETE
                         : GW_ACTION_NONE;
    else if (n == 5 && c->post && is(c, 4, "resource-group"))
        act = GW_ACTION_ADMIN;
    else if (n == 5 && c->post && (is(c, 4, "items") || is(c, 4, "item"))) {
        act = GW_ACTION_WRITE;
        body = 1; /* the item is a repo named in the body */
    } else if (n == 6 && is(c, 4, "items"))
        act = c->patch ? GW_ACTION_WRITE : c->del ? GW_ACTION_DELETE : GW_ACTION_NONE;
    if (act == GW_ACTION_NONE)
        return 0;
    if ((rc = gw_route_join(c, 2, 4, &out->object)) != 0)
        return rc;
    gw_route_none_repo(out, GW_FAMILY_COLLECTION, act, seg(c, 2));
    out->needs_body = !!body;
    return 0;
}

/* /api/jobs/{ns}[/{id}[/{verb}]] and /api/scheduled-jobs/…: compute billed to a namespace. */
static int jobs_route(gw_route_ctx_t *c, gw_route_t *out)
{
    size_t n = c->t.nsegs;
    if (n == 3 && is(c, 1, "jobs") && is(c, 2, "hardware")) {
        if (c->get)
            gw_route_none_repo(out, GW_FAMILY_CATALOG, GW_ACTION_READ, NULL);
        return 0;
    }
    if (n < 3 || n > 5 || !(c->get || c->post || c->put || c->patch || c->del))
        return 0;
    int rc = check_namespace(c, 2);
    if (rc != 0)
        return rc;
    gw_route_none_repo(out, GW_FAMILY_JOBS, c->get ? GW_ACTION_READ : GW_ACTION_WRITE, seg(c, 2));
    out->object = seg(c, 3);
    return 0;
}

int gw_route_api(gw_route_ctx_t *c, gw_route_t *out)
{
    size_t n = c->t.nsegs;
    if (n < 2)
        return 0;
    gw_repo_type_t type = gw_route_type_from_plural(seg(c, 1));
    if (type != GW_REPO_NONE)
        return api_repos_route(c, type, out);
    if (is(c, 1, "resolve-cache"))
        return resolve_cache_route(c, out);
    if (is(c, 1, "whoami-v2") && n == 2 && c->get)
        gw_route_none_repo(out, GW_FAMILY_WHOAMI, GW_ACTION_NONE, NULL);
    else if ((is(c, 1, "models-tags-by-type") || is(c, 1, "datasets-tags-by-type")) && n == 2 &&
             c->get)
        gw_route_none_repo(out, GW_FAMILY_CATALOG, GW_ACTION_READ, NULL);
    else if (is(c, 1, "repos") && n == 3 &&
             ((is(c, 2, "create") && c->post) || (is(c, 2, "delete") && c->del) ||
              (is(c, 2, "move") && c->post))) {
        gw_route_none_repo(out,
                           is(c, 2, "create")   ? GW_FAMILY_REPO_CREATE
                           : is(c, 2, "delete") ? GW_FAMILY_REPO_DELETE
                                                : GW_FAMILY_REPO_MOVE,
                           GW_ACTION_NONE, NULL);
        out->needs_body = 1;
    } else if (is(c, 1, "organizations"))
        return org_route(c, out);
    else if (is(c, 1, "users") && n == 4 && c->get &&
             (is(c, 3, "overview") || is(c, 3, "followers") || is(c, 3, "following") ||
              is(c, 3, "likes"))) {
        int rc = check_namespace(c, 2);
        if (rc != 0)
            return rc;
        gw_route_none_repo(out, GW_FAMILY_USER_INFO, GW_ACTION_READ, seg(c, 2));
    } else if (is(c, 1, "collections"))
        return collection_route(c, out);
    else if (is(c, 1, "jobs") || is(c, 1, "scheduled-jobs"))
        return jobs_route(c, out);
    else if (is(c, 1, "settings") && n == 3 && is(c, 2, "repositories") && c->get)
        gw_route_none_repo(out, GW_FAMILY_ACCOUNT_REPOS, GW_ACTION_READ, NULL);
    else if (is(c, 1, "settings") && is(c, 2, "webhooks") && n <= 5 &&
             (c->get || c->post || c->put || c->del)) {
        gw_route_none_repo(out, GW_FAMILY_WEBHOOKS, GW_ACTION_ADMIN, NULL);
        out->object = seg(c, 3);
    } else if (is(c, 1, "credentials") && n == 3 && is(c, 2, "revoke") && c->post)
        gw_route_none_repo(out, GW_FAMILY_CREDENTIALS_REVOKE, GW_ACTION_NONE, NULL);
    else if ((is(c, 1, "papers") || (is(c, 1, "daily_papers") && n == 2)) && c->get)
        gw_route_none_repo(out, GW_FAMILY_PAPERS, GW_ACTION_READ, NULL);
    else if (is(c, 1, "telemetry") && (c->get || c->post))
        gw_route_none_repo(out, GW_FAMILY_TELEMETRY, GW_ACTION_NONE, NULL);
    else if (n == 2 &&
             ((is(c, 1, "agent-harnesses") && c->get) || (is(c, 1, "validate-yaml") && c->post)))
        gw_route_none_repo(out, GW_FAMILY_MISC, GW_ACTION_NONE, NULL);
    return 0;
}
