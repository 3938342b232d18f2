/* Route families: which Hub route a validated, decoded path is, and what it does.
 *
 * Parse order (the one the Hub itself implies): hubgate's own /-/ routes; /api/… families; the OAuth
 * and .well-known probes; then file and git routes under /{datasets|spaces|kernels|buckets}/
 * or, for models, directly under /. A repo id is one segment (legacy models and datasets such
 * as "gpt2") or two; where both readings fit a route the request is refused as ambiguous
 * rather than guessed, since the upstream might pick the other repo. */
#include "gateway/route/route.h"

#include "gateway/route/api.h"

#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------------------------ */
/* Names */

static const char *const family_names[] = {
#define FAMILY_NAME(name, str) str,
    GW_ROUTE_FAMILY_MAP(FAMILY_NAME)
#undef FAMILY_NAME
};

static const struct {
    const char *name;
    unsigned status;
    const char *message;
} rejects[] = {
#define REJECT_ROW(name, status, msg) {#name, status, msg},
    GW_ROUTE_REJECT_MAP(REJECT_ROW)
#undef REJECT_ROW
};

static const char *const action_names[] = {"none", "read", "write", "create", "delete", "admin"};
static const char *const type_names[] = {"none", "model", "dataset", "space", "kernel", "bucket"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *gw_route_family_name(gw_family_t family)
{
    return (unsigned)family < COUNT(family_names) ? family_names[family] : "?";
}

const char *gw_route_action_name(gw_action_t action)
{
    return (unsigned)action < COUNT(action_names) ? action_names[action] : "?";
}

const char *gw_route_repo_type_name(gw_repo_type_t type)
{
    return (unsigned)type < COUNT(type_names) ? type_names[type] : "?";
}

const char *gw_route_reject_name(gw_route_reject_t reject)
{
    return (unsigned)reject < COUNT(rejects) ? rejects[reject].name : "?";
}

unsigned gw_route_reject_status(gw_route_reject_t reject)
{
    return (unsigned)reject < COUNT(rejects) ? rejects[reject].status : 400;
}

const char *gw_route_reject_message(gw_route_reject_t reject)
{
    return (unsigned)reject < COUNT(rejects) ? rejects[reject].message : "bad request";
}

gw_repo_type_t gw_route_repo_type_parse(const char *s)
{
    for (size_t i = 1; s && i < COUNT(type_names); i++)
        if (strcmp(s, type_names[i]) == 0)
            return (gw_repo_type_t)i;
    return GW_REPO_NONE;
}

/* "models" → MODEL, …; the plural used in URLs. */
/* ------------------------------------------------------------------------------------------ */
/* File, git and LFS routes: /{prefix}{repo}/{verb}/… */

static int file_verb(gw_route_ctx_t *c, gw_repo_type_t type, size_t v, gw_route_match_t *m)
{
    size_t n = c->t.nsegs;
    if (v >= n)
        return NO_MATCH;
    int rc;
    if (type == GW_REPO_BUCKET) {
        /* Buckets are not git: /buckets/{ns}/{name}/resolve/{path}, no revision. */
        if (!is(c, v, "resolve") || !c->get || v + 1 >= n)
            return NO_MATCH;
        if ((rc = gw_route_join(c, v + 1, n, &m->path)) != 0)
            return rc;
        return set(m, GW_FAMILY_RESOLVE, GW_ACTION_READ);
    }
    if (is(c, v, "resolve") || is(c, v, "raw") || is(c, v, "blob")) {
        gw_family_t f = is(c, v, "resolve") ? GW_FAMILY_RESOLVE
                        : is(c, v, "raw")   ? GW_FAMILY_RAW
                                            : GW_FAMILY_BLOB;
        size_t next = 0;
        if (!c->get)
            return NO_MATCH;
        if ((rc = gw_route_take_revision(c, v + 1, &m->revision, &next)) != MATCH)
            return rc;
        if (next >= n)
            return NO_MATCH; /* a file route names a file */
        if ((rc = gw_route_join(c, next, n, &m->path)) != 0)
            return rc;
        return set(m, f, GW_ACTION_READ);
    }
    if (is(c, v, "git-upload-pack") || is(c, v, "git-receive-pack")) {
        if (!c->post || v + 1 != n)
            return NO_MATCH;
        return is(c, v, "git-upload-pack") ? set(m, GW_FAMILY_GIT_UPLOAD_PACK, GW_ACTION_READ)
                                           : set(m, GW_FAMILY_GIT_RECEIVE_PACK, GW_ACTION_WRITE);
    }
    if (!is(c, v, "info"))
        return NO_MATCH;
    size_t a = n - v - 1; /* segments after "info" */
    if (a == 1 && is(c, v + 1, "refs") && c->get) {
        /* Smart HTTP names the service in the query; without it git falls back to the dumb
         * protocol, which only reads. */
        const char *service;
        size_t count;
        if ((rc = gw_route_query_get(&c->t, "service", c->a, &service, &count)) != 0)
            return rc;
        if (count > 1)
            return fail(c, GW_REJECT_DUPLICATE_QUERY);
        if (!service || strcmp(service, "git-upload-pack") == 0)
            return set(m, GW_FAMILY_GIT_INFO_REFS, GW_ACTION_READ);
        if (strcmp(service, "git-receive-pack") == 0)
            return set(m, GW_FAMILY_GIT_INFO_REFS, GW_ACTION_WRITE);
        return NO_MATCH;
    }
    if (a < 2 || !is(c, v + 1, "lfs"))
        return NO_MATCH;
    if (is(c, v + 2, "locks")) {
        /* git-lfs asks for locks before a push (lfs.locksverify). */
        if (a == 2 && c->get)
            return set(m, GW_FAMILY_LFS_LOCKS, GW_ACTION_READ);
        if (!c->post ||
            !(a == 2 || (a == 3 && is(c, v + 3, "verify")) || (a == 4 && is(c, v + 4, "unlock"))))
            return NO_MATCH;
        m->object = a == 4 ? seg(c, v + 3) : NULL;
        return set(m, GW_FAMILY_LFS_LOCKS, GW_ACTION_WRITE);
    }
    if (!c->post)
        return NO_MATCH;
    if (a == 3 && is(c, v + 2, "objects") && is(c, v + 3, "batch")) {
        m->needs_body = 1; /* read or write: the body's "operation" says */
        return set(m, GW_FAMILY_LFS_BATCH, GW_ACTION_NONE);
    }
    if ((a == 3 && is(c, v + 2, "objects") && is(c, v + 3, "verify")) ||
        (a == 2 && is(c, v + 2, "verify")))
        return set(m, GW_FAMILY_LFS_VERIFY, GW_ACTION_WRITE);
    return NO_MATCH;
}

static int file_route(gw_route_ctx_t *c, gw_repo_type_t type, size_t s, gw_route_t *out)
{
    if (s >= c->t.nsegs || gw_route_reserved(seg(c, s)))
        return 0; /* a Hub web page, not a repo */
    return gw_route_repo_route(c, type, s, file_verb, out);
}

/* ------------------------------------------------------------------------------------------ */
/* hubgate's own routes, OAuth, entry points */

static void admin_route(gw_route_ctx_t *c, gw_route_t *out)
{
    size_t n = c->t.nsegs;
    static const struct {
        const char *seg;
        gw_admin_route_t route;
    } singles[] = {
        {"health", GW_ADMIN_HEALTH}, {"ready", GW_ADMIN_READY},   {"metrics", GW_ADMIN_METRICS},
        {"whoami", GW_ADMIN_WHOAMI}, {"tokens", GW_ADMIN_TOKENS}, {"jwks.json", GW_ADMIN_JWKS},
        {"login", GW_ADMIN_LOGIN},   {"logout", GW_ADMIN_LOGOUT},
    };
    out->family = GW_FAMILY_ADMIN;
    out->action = GW_ACTION_NONE;
    out->admin = GW_ADMIN_OTHER;
    if (n == 2) {
        for (size_t i = 0; i < COUNT(singles); i++)
            if (is(c, 1, singles[i].seg))
                out->admin = singles[i].route;
    } else if (n == 3 && is(c, 1, "tokens")) {
        out->admin = GW_ADMIN_TOKEN;
        out->object = seg(c, 2);
    } else if (n == 3 && is(c, 1, "login") && is(c, 2, "callback")) {
        out->admin = GW_ADMIN_LOGIN_CALLBACK;
    } else if (n == 3 && is(c, 1, "reports") && is(c, 2, "soc2")) {
        out->admin = GW_ADMIN_REPORT_SOC2;
    } else if (n == 3 && is(c, 1, "egress")) {
        out->admin = GW_ADMIN_EGRESS;
        out->object = seg(c, 2);
    } else if (n >= 4 && is(c, 1, "xet") && is(c, 2, "cas")) {
        out->admin = GW_ADMIN_XET_CAS;
    }
}

static void oauth_route(gw_route_ctx_t *c, gw_route_t *out)
{
    size_t n = c->t.nsegs;
    /* Everything under /oauth/ and /scim/ is hubgate's (sign-in, provisioning), whatever the
     * method and depth: no rule allowing unknown routes may ever forward one to the hub. */
    if (is(c, 0, "oauth")) {
        gw_route_none_repo(out, GW_FAMILY_OAUTH, GW_ACTION_NONE, NULL);
        /* the device grant hubgate serves itself (docs/sign-in.md); the rest stays refused */
        gw_admin_route_t own = n == 2 && is(c, 1, "device")                       ? GW_ADMIN_DEVICE
                               : n == 3 && is(c, 1, "device") && is(c, 2, "confirm") ? GW_ADMIN_DEVICE_CONFIRM
                               : n == 2 && is(c, 1, "token")                      ? GW_ADMIN_OAUTH_TOKEN
                                                                                  : GW_ADMIN_NONE;
        if (own != GW_ADMIN_NONE) {
            out->family = GW_FAMILY_ADMIN;
            out->admin = own;
        }
        return;
    }
    if (is(c, 0, "scim")) {
        gw_route_none_repo(out, GW_FAMILY_SCIM, GW_ACTION_NONE, NULL);
        return;
    }
    if (n != 2)
        return;
    if (is(c, 0, ".well-known") && is(c, 1, "openid-configuration") && c->get)
        gw_route_none_repo(out, GW_FAMILY_OAUTH, GW_ACTION_NONE, NULL);
    else if (is(c, 0, ".well-known") && (is(c, 1, "openapi.json") || is(c, 1, "openapi.md")) &&
             c->get)
        gw_route_none_repo(out, GW_FAMILY_CATALOG, GW_ACTION_READ, NULL);
}

static int classify_path(gw_route_ctx_t *c, gw_route_t *out)
{
    if (c->t.nsegs == 0)
        return 0;
    if (is(c, 0, "-")) {
        admin_route(c, out);
        return 0;
    }
    if (c->t.nsegs == 2 && c->post && is(c, 0, "v1") && is(c, 1, "telemetry")) {
        /* Xet clients join it to their CAS URL as an absolute path: hubgate's root. No Hub
         * route is a POST to a two-segment path. */
        out->family = GW_FAMILY_ADMIN;
        out->action = GW_ACTION_NONE;
        out->admin = GW_ADMIN_XET_TELEMETRY;
        return 0;
    }
    if (is(c, 0, "api"))
        return gw_route_api(c, out);
    if (is(c, 0, "oauth") || is(c, 0, "scim") || is(c, 0, ".well-known")) {
        oauth_route(c, out);
        return 0;
    }
    gw_repo_type_t type = gw_route_type_from_plural(seg(c, 0));
    if (type != GW_REPO_NONE && type != GW_REPO_MODEL)
        return file_route(c, type, 1, out);
    return file_route(c, GW_REPO_MODEL, 0, out);
}

int gw_route_classify_target(const char *method, const char *target, size_t target_len,
                             cmn_arena_t *arena, gw_route_t *out)
{
    if (!out)
        return CMN_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    if (!method || !target || !arena)
        return CMN_ERR_INVAL;
    gw_route_ctx_t c = {.a = arena};
    c.get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    c.post = strcmp(method, "POST") == 0;
    c.put = strcmp(method, "PUT") == 0;
    c.patch = strcmp(method, "PATCH") == 0;
    c.del = strcmp(method, "DELETE") == 0;
    int rc = gw_route_target_parse(target, target_len, arena, &c.t, &c.why);
    if (rc == 0)
        rc = classify_path(&c, out);
    if (rc != 0 || out->family == GW_FAMILY_UNKNOWN) {
        /* Nothing half-classified survives: a failed or unknown route names nothing. */
        memset(out, 0, sizeof(*out));
        out->reject = rc == CMN_ERR_NOMEM ? GW_REJECT_NONE : c.why;
        if (rc == 0)
            out->family = GW_FAMILY_UNKNOWN;
    }
    return rc;
}

size_t gw_route_body_cap(const gw_route_t *route)
{
    if (!route || !route->needs_body)
        return 0;
    return route->family == GW_FAMILY_BUCKET_BATCH ? GW_MAX_ROUTE_NDJSON_BYTES
                                                   : GW_MAX_ROUTE_BODY_BYTES;
}

int gw_route_classify(const char *method, const char *target, size_t target_len, const char *body,
                      size_t body_len, const char *content_type, cmn_arena_t *arena,
                      gw_route_t *out)
{
    int rc = gw_route_classify_target(method, target, target_len, arena, out);
    if (rc != 0 || !out->needs_body)
        return rc;
    if (!body) {
        gw_route_t failed = {.reject = GW_REJECT_BODY_MISSING_TARGET};
        *out = failed;
        return CMN_ERR_PARSE;
    }
    return gw_route_classify_body(out, content_type, body, body_len, arena);
}
