/* Body-borne targets: routes whose repo (or whose action) is in the request body
 * (the Hub's /api/repos/create|delete|move, lfs-files/duplicate, collection items and
 * Spaces duplication name their target repo in a JSON body, not in the path). The body is bounded by the caller
 * (gw_route_body_cap), parsed strictly — duplicate keys, a wrong content type, a missing or
 * invalid target are refused — and every repo it names joins route->repos with its action. */

#include "gateway/route/match.h"

#include "gateway/route/body.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

static int reject(gw_route_t *r, gw_route_reject_t why)
{
    r->reject = why;
    return why == GW_REJECT_BODY_TOO_LARGE ? CMN_ERR_TOOBIG : CMN_ERR_PARSE;
}

/* JSON media types (application/json, anything+json), application/x-ndjson where allowed, or
 * no Content-Type at all; parameters (charset) are ignored. The upstream may decode other
 * types (forms) differently from us, so they are refused rather than guessed. */
static int body_content_type_ok(const char *ct, int ndjson)
{
    if (!ct)
        return 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t len = strcspn(ct, ";");
    while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 1;
    if (len == strlen("application/json") && strncasecmp(ct, "application/json", len) == 0)
        return 1;
    if (len > 5 && strncasecmp(ct + len - 5, "+json", 5) == 0)
        return 1;
    return ndjson && len == strlen("application/x-ndjson") &&
           strncasecmp(ct, "application/x-ndjson", len) == 0;
}

/* obj[key] as a string: 1 when present, 0 when absent or null, -1 when another type. */
static int get_string(const json_t *obj, const char *key, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 1;
}

/* The repo type named by obj[key]; absent or null means def. */
static int get_type(gw_route_t *r, const json_t *obj, const char *key, gw_repo_type_t def,
                    gw_repo_type_t *type)
{
    const char *s;
    int got = get_string(obj, key, &s);
    if (got < 0)
        return reject(r, GW_REJECT_BODY_INVALID);
    *type = got ? gw_route_repo_type_parse(s) : def;
    return *type == GW_REPO_NONE ? reject(r, GW_REJECT_BODY_BAD_TARGET) : 0;
}

/* A repo id "ns/name" (or a legacy "name" for models and datasets unless need_ns) copied into
 * the arena. */
static int parse_id(gw_route_t *r, cmn_arena_t *a, gw_repo_type_t type, const char *id, int need_ns,
                    const char **ns, const char **name)
{
    const char *slash = strchr(id, '/');
    if (slash) {
        *ns = cmn_arena_strndup(a, id, (size_t)(slash - id));
        *name = cmn_arena_strndup(a, slash + 1, strlen(slash + 1));
    } else {
        *ns = "";
        *name = cmn_arena_strndup(a, id, strlen(id));
    }
    if (!*ns || !*name)
        return CMN_ERR_NOMEM;
    if ((need_ns && !slash) || !gw_route_repo_valid(type, *ns, *name))
        return reject(r, GW_REJECT_BODY_BAD_TARGET);
    return 0;
}

static void headline(gw_route_t *r, gw_repo_type_t type, const char *ns, const char *name)
{
    r->repo_type = type;
    r->namespace = ns;
    r->name = name;
}

/* POST /api/repos/create, DELETE /api/repos/delete: {"name", "organization", "type"}.
 * `name` may carry "ns/name" itself (the Hub fixture accepts it); with neither, the repo goes to
 * the namespace of whoever calls the upstream. */
static int create_or_delete(gw_route_t *r, cmn_arena_t *a, const json_t *root)
{
    const char *name, *org;
    gw_repo_type_t type;
    int rc;
    if (get_string(root, "name", &name) != 1)
        return reject(r, GW_REJECT_BODY_MISSING_TARGET);
    if (get_string(root, "organization", &org) < 0)
        return reject(r, GW_REJECT_BODY_INVALID);
    if ((rc = get_type(r, root, "type", GW_REPO_MODEL, &type)) != 0)
        return rc;
    const char *ns, *repo;
    int caller = 0;
    if (strchr(name, '/')) {
        if ((rc = parse_id(r, a, type, name, 1, &ns, &repo)) != 0)
            return rc;
        if (org && org[0] && strcmp(org, ns) != 0)
            return reject(r, GW_REJECT_BODY_CONFLICT);
    } else {
        caller = !org || !org[0];
        ns = caller ? "" : cmn_arena_strndup(a, org, strlen(org));
        repo = cmn_arena_strndup(a, name, strlen(name));
        if (!ns || !repo)
            return CMN_ERR_NOMEM;
        /* Validated as if namespaced: a caller's own namespace is never a legacy id. */
        if (!gw_route_repo_valid(type, caller ? "caller" : ns, repo))
            return reject(r, GW_REJECT_BODY_BAD_TARGET);
    }
    headline(r, type, ns, repo);
    if (r->family == GW_FAMILY_REPO_DELETE)
        return gw_route_add_repo(r, type, ns, repo, GW_ACTION_DELETE, 1, caller);
    if ((rc = gw_route_add_repo(r, type, ns, repo, GW_ACTION_CREATE, 1, caller)) != 0)
        return rc;
    /* huggingface.js may create the repo with its first files: that is also a write. */
    const json_t *files = json_object_get(root, "files");
    if (json_is_array(files) && json_array_size(files) > 0)
        return gw_route_add_repo(r, type, ns, repo, GW_ACTION_WRITE, 1, caller);
    return 0;
}

/* POST /api/repos/move {"fromRepo", "toRepo", "type"}: gone from the source, new at the
 * destination; the move itself is an admin act. */
static int move(gw_route_t *r, cmn_arena_t *a, const json_t *root)
{
    const char *from, *to, *from_ns, *from_name, *to_ns, *to_name;
    gw_repo_type_t type;
    int rc;
    if (get_string(root, "fromRepo", &from) != 1 || get_string(root, "toRepo", &to) != 1)
        return reject(r, GW_REJECT_BODY_MISSING_TARGET);
    if ((rc = get_type(r, root, "type", GW_REPO_MODEL, &type)) != 0 ||
        (rc = parse_id(r, a, type, from, 1, &from_ns, &from_name)) != 0 ||
        (rc = parse_id(r, a, type, to, 1, &to_ns, &to_name)) != 0)
        return rc;
    headline(r, type, from_ns, from_name);
    if ((rc = gw_route_add_repo(r, type, from_ns, from_name, GW_ACTION_DELETE, 1, 0)) != 0 ||
        (rc = gw_route_add_repo(r, type, to_ns, to_name, GW_ACTION_CREATE, 1, 0)) != 0)
        return rc;
    r->action = GW_ACTION_ADMIN;
    return 0;
}

/* POST /api/{type}s/{repo}/duplicate {"repository": "ns/name", …}: reads the path repo and
 * creates the body repo, of the same type. */
static int duplicate(gw_route_t *r, cmn_arena_t *a, const json_t *root)
{
    const char *id, *ns, *name;
    int rc;
    if (get_string(root, "repository", &id) != 1)
        return reject(r, GW_REJECT_BODY_MISSING_TARGET);
    if ((rc = parse_id(r, a, r->repo_type, id, 1, &ns, &name)) != 0)
        return rc;
    if ((rc = gw_route_add_repo(r, r->repo_type, r->namespace, r->name, GW_ACTION_READ, 0, 0)) != 0)
        return rc;
    return gw_route_add_repo(r, r->repo_type, ns, name, GW_ACTION_CREATE, 1, 0);
}

/* POST /api/{type}s/{repo}/lfs-files/duplicate {"target": {"type", "name"}, "files": […]}:
 * server-side copy of stored files from the path repo into the body repo. */
static int lfs_files_duplicate(gw_route_t *r, cmn_arena_t *a, const json_t *root)
{
    const json_t *target = json_object_get(root, "target");
    const char *type_s, *id, *ns, *name;
    int rc;
    if (!json_is_object(target) || get_string(target, "name", &id) != 1 ||
        get_string(target, "type", &type_s) != 1)
        return reject(r, GW_REJECT_BODY_MISSING_TARGET);
    gw_repo_type_t type = gw_route_repo_type_parse(type_s);
    if (type == GW_REPO_NONE)
        return reject(r, GW_REJECT_BODY_BAD_TARGET);
    if ((rc = parse_id(r, a, type, id, 0, &ns, &name)) != 0)
        return rc;
    if ((rc = gw_route_add_repo(r, r->repo_type, r->namespace, r->name, GW_ACTION_READ, 0, 0)) != 0)
        return rc;
    return gw_route_add_repo(r, type, ns, name, GW_ACTION_WRITE, 1, 0);
}

/* POST /{repo}.git/info/lfs/objects/batch {"operation": "download"|"upload", "ref": {"name"}}. */
static int lfs_batch(gw_route_t *r, cmn_arena_t *a, const json_t *root)
{
    const char *op;
    int got = get_string(root, "operation", &op);
    if (got == 0)
        return reject(r, GW_REJECT_BODY_MISSING_TARGET);
    if (got < 0)
        return reject(r, GW_REJECT_BODY_INVALID);
    if (strcmp(op, "download") == 0)
        r->lfs_operation = GW_LFS_OP_DOWNLOAD;
    else if (strcmp(op, "upload") == 0)
        r->lfs_operation = GW_LFS_OP_UPLOAD;
    else
        return reject(r, GW_REJECT_BODY_INVALID);
    /* The ref is informative only ("does nothing for security", huggingface.js): kept for the
     * audit trail. */
    const json_t *ref = json_object_get(root, "ref");
    const char *ref_name;
    if (json_is_object(ref) && get_string(ref, "name", &ref_name) == 1) {
        if (!gw_route_clean_path(ref_name)) /* git's ref-format rules refuse these too */
            return reject(r, GW_REJECT_BODY_INVALID);
        r->revision = cmn_arena_strndup(a, ref_name, strlen(ref_name));
        if (!r->revision)
            return CMN_ERR_NOMEM;
    }
    gw_action_t act = r->lfs_operation == GW_LFS_OP_UPLOAD ? GW_ACTION_WRITE : GW_ACTION_READ;
    return gw_route_add_repo(r, r->repo_type, r->namespace, r->name, act, 0, 0);
}

/* A collection item {"type", "id"}: a repo it points at must be readable by whoever adds it. */
static int collection_item(gw_route_t *r, cmn_arena_t *a, const json_t *item)
{
    const char *type_s, *id, *ns, *name;
    int rc;
    if (!json_is_object(item) || get_string(item, "type", &type_s) != 1)
        return reject(r, GW_REJECT_BODY_MISSING_TARGET);
    gw_repo_type_t type = gw_route_repo_type_parse(type_s);
    if (type == GW_REPO_NONE)
        return 0; /* a paper or another collection: not a repo */
    if (get_string(item, "id", &id) != 1)
        return reject(r, GW_REJECT_BODY_MISSING_TARGET);
    if ((rc = parse_id(r, a, type, id, 0, &ns, &name)) != 0)
        return rc;
    return gw_route_add_repo(r, type, ns, name, GW_ACTION_READ, 1, 0);
}

/* POST /api/collections {"namespace", "item"?} and POST /api/collections/{slug}/items {"item"}. */
static int collection(gw_route_t *r, cmn_arena_t *a, const json_t *root)
{
    const json_t *item = json_object_get(root, "item");
    if (!r->namespace) {
        const char *ns;
        if (get_string(root, "namespace", &ns) != 1)
            return reject(r, GW_REJECT_BODY_MISSING_TARGET);
        if (!gw_route_repo_segment_valid(ns) || gw_route_reserved(ns))
            return reject(r, GW_REJECT_BODY_BAD_TARGET);
        if (!(r->namespace = cmn_arena_strndup(a, ns, strlen(ns))))
            return CMN_ERR_NOMEM;
        if (!item)
            return 0;
    }
    return collection_item(r, a, item);
}

/* One line of a bucket batch: addFile (write), deleteFile (delete), copyFile (write, and a read
 * of the source repo when it is another one). */
static int bucket_line(gw_route_t *r, cmn_arena_t *a, const json_t *op)
{
    const char *kind;
    if (!json_is_object(op) || get_string(op, "type", &kind) != 1)
        return reject(r, GW_REJECT_BODY_INVALID);
    gw_action_t act = strcmp(kind, "deleteFile") == 0 ? GW_ACTION_DELETE : GW_ACTION_WRITE;
    if (strcmp(kind, "addFile") != 0 && strcmp(kind, "deleteFile") != 0 &&
        strcmp(kind, "copyFile") != 0)
        return reject(r, GW_REJECT_BODY_INVALID);
    int rc = gw_route_add_repo(r, GW_REPO_BUCKET, r->namespace, r->name, act, 0, 0);
    if (rc != 0 || strcmp(kind, "copyFile") != 0)
        return rc;
    const char *src_id, *ns, *name;
    int got = get_string(op, "sourceRepoId", &src_id);
    if (got < 0)
        return reject(r, GW_REJECT_BODY_INVALID);
    if (got == 0) /* a copy inside this bucket */
        return gw_route_add_repo(r, GW_REPO_BUCKET, r->namespace, r->name, GW_ACTION_READ, 0, 0);
    gw_repo_type_t type;
    if ((rc = get_type(r, op, "sourceRepoType", GW_REPO_NONE, &type)) != 0 ||
        (rc = parse_id(r, a, type, src_id, 0, &ns, &name)) != 0)
        return rc;
    return gw_route_add_repo(r, type, ns, name, GW_ACTION_READ, 1, 0);
}

static int load_object(gw_route_t *r, const char *text, size_t len, json_t **out)
{
    json_error_t err;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!*out)
        return reject(r, GW_REJECT_BODY_INVALID);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return reject(r, GW_REJECT_BODY_INVALID);
    }
    return 0;
}

static int bucket_batch(gw_route_t *r, cmn_arena_t *a, const char *body, size_t len)
{
    size_t start = 0;
    int rc = 0;
    while (rc == 0 && start < len) {
        const char *nl = memchr(body + start, '\n', len - start);
        size_t from = start, end = nl ? (size_t)(nl - body) : len;
        start = end + 1;
        while (end > from && (body[end - 1] == '\r' || body[end - 1] == ' '))
            end--;
        if (end == from)
            continue; /* blank line */
        json_t *op;
        if ((rc = load_object(r, body + from, end - from, &op)) != 0)
            break;
        rc = bucket_line(r, a, op);
        json_decref(op);
    }
    if (rc == 0 && r->nrepos == 0) /* an empty batch still addresses the bucket */
        rc = gw_route_add_repo(r, GW_REPO_BUCKET, r->namespace, r->name, GW_ACTION_WRITE, 0, 0);
    return rc;
}

int gw_route_classify_body(gw_route_t *route, const char *content_type, const char *body,
                           size_t body_len, cmn_arena_t *arena)
{
    if (!route || !arena || (!body && body_len))
        return CMN_ERR_INVAL;
    if (!route->needs_body)
        return 0;
    int ndjson = route->family == GW_FAMILY_BUCKET_BATCH;
    int rc;
    json_t *root = NULL;
    if (body_len > gw_route_body_cap(route)) {
        rc = reject(route, GW_REJECT_BODY_TOO_LARGE);
        goto out;
    }
    if (!body_content_type_ok(content_type, ndjson)) {
        rc = reject(route, GW_REJECT_BODY_CONTENT_TYPE);
        goto out;
    }
    if (ndjson) {
        rc = bucket_batch(route, arena, body ? body : "", body_len);
        goto out;
    }
    if ((rc = load_object(route, body ? body : "", body_len, &root)) != 0)
        goto out;
    switch (route->family) {
    case GW_FAMILY_REPO_CREATE:
    case GW_FAMILY_REPO_DELETE:
        rc = create_or_delete(route, arena, root);
        break;
    case GW_FAMILY_REPO_MOVE:
        rc = move(route, arena, root);
        break;
    case GW_FAMILY_REPO_DUPLICATE:
        rc = duplicate(route, arena, root);
        break;
    case GW_FAMILY_LFS_FILES_DUPLICATE:
        rc = lfs_files_duplicate(route, arena, root);
        break;
    case GW_FAMILY_LFS_BATCH:
        rc = lfs_batch(route, arena, root);
        break;
    case GW_FAMILY_COLLECTION:
        rc = collection(route, arena, root);
        break;
    default:
        rc = reject(route, GW_REJECT_BODY_INVALID);
        break;
    }
out:
    json_decref(root);
    if (rc != 0) {
        /* A refused body authorizes nothing: keep the family for the audit trail only. */
        route->nrepos = 0;
        route->action = GW_ACTION_NONE;
        if (rc == CMN_ERR_NOMEM)
            route->reject = GW_REJECT_NONE;
        return rc;
    }
    route->needs_body = 0;
    return 0;
}
