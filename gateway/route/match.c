/* The matching machinery the route parsers share (route.c for file, git and admin routes,
 * api.c for /api/…, body.c for repos named in bodies): joining and decoding segments, reading a
 * revision, validating and recording a repo id, and refusing a path that reads two ways. */
#include "gateway/route/match.h"

#include <string.h>
#include <strings.h>

gw_repo_type_t gw_route_type_from_plural(const char *s)
{
    static const char *const plurals[] = {"", "models", "datasets", "spaces", "kernels", "buckets"};
    for (size_t i = 1; i < sizeof(plurals) / sizeof(plurals[0]); i++)
        if (strcmp(s, plurals[i]) == 0)
            return (gw_repo_type_t)i;
    return GW_REPO_NONE;
}

int gw_route_add_repo(gw_route_t *route, gw_repo_type_t type, const char *ns, const char *name,
                      gw_action_t action, int from_body, int caller_namespace)
{
    if (action > route->action)
        route->action = action;
    for (size_t i = 0; i < route->nrepos; i++) {
        const gw_route_repo_t *r = &route->repos[i];
        if (r->type == type && r->action == action && strcmp(r->namespace, ns) == 0 &&
            strcmp(r->name, name) == 0 && r->caller_namespace == (unsigned)!!caller_namespace)
            return 0;
    }
    if (route->nrepos == GW_ROUTE_MAX_REPOS) {
        route->reject = GW_REJECT_TOO_MANY_REPOS;
        return CMN_ERR_PARSE;
    }
    gw_route_repo_t *r = &route->repos[route->nrepos++];
    r->type = type;
    r->namespace = ns;
    r->name = name;
    r->action = action;
    r->from_body = !!from_body;
    r->caller_namespace = !!caller_namespace;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Matching helpers */

/* Decoded segments [from, to) joined with '/'; NULL when the range is empty. */
int gw_route_join(gw_route_ctx_t *c, size_t from, size_t to, const char **out)
{
    *out = NULL;
    if (from >= to)
        return 0;
    size_t len = 0;
    for (size_t i = from; i < to; i++)
        len += c->t.segs[i].dec_len + 1;
    char *s = cmn_arena_alloc(c->a, len);
    if (!s)
        return CMN_ERR_NOMEM;
    char *p = s;
    for (size_t i = from; i < to; i++) {
        if (i > from)
            *p++ = '/';
        memcpy(p, c->t.segs[i].dec, c->t.segs[i].dec_len);
        p += c->t.segs[i].dec_len;
    }
    *p = '\0';
    *out = s;
    return 0;
}

/* The revision starting at segment i: one segment (refs%2Fpr%2F1 decodes to "refs/pr/1"), or
 * three when huggingface.js sent refs/pr/1 or refs/convert/parquet unencoded (tree URLs).
 * Returns MATCH with *next past it, NO_MATCH when there is no segment i. */
int gw_route_take_revision(gw_route_ctx_t *c, size_t i, const char **rev, size_t *next)
{
    size_t n = c->t.nsegs;
    if (i >= n)
        return NO_MATCH;
    size_t end = is(c, i, "refs") && n - i >= 3 ? i + 3 : i + 1;
    int rc = gw_route_join(c, i, end, rev);
    if (rc != 0)
        return rc;
    *next = end;
    return MATCH;
}

/* ------------------------------------------------------------------------------------------ */
/* Committing a match */

static void fill(gw_route_t *out, const gw_route_match_t *m)
{
    out->family = m->family;
    out->action = m->action;
    out->revision = m->revision;
    out->path_in_repo = m->path;
    out->object = m->object;
    out->pr = !!m->pr;
    out->needs_body = !!m->needs_body;
}

/* The repo id in segments [s, s+k): validates it, strips one ".git" and records it. */
int gw_route_commit_repo(gw_route_ctx_t *c, gw_repo_type_t type, size_t s, size_t k,
                         const gw_route_match_t *m, gw_route_t *out)
{
    for (size_t i = s; i < s + k; i++)
        if (c->t.segs[i].esc_slash)
            return fail(c, GW_REJECT_ENCODED_SLASH);
    const char *ns = k == 2 ? seg(c, s) : "";
    const char *name = seg(c, s + k - 1);
    size_t len = c->t.segs[s + k - 1].dec_len;
    if (len > 4 && strcmp(name + len - 4, ".git") == 0) {
        name = cmn_arena_strndup(c->a, name, len - 4);
        if (!name)
            return CMN_ERR_NOMEM;
        out->git_suffix = 1;
    }
    if (!gw_route_repo_valid(type, ns, name))
        return fail(c, GW_REJECT_BAD_REPO_ID);
    fill(out, m);
    out->repo_type = type;
    out->namespace = ns;
    out->name = name;
    if (m->needs_body)
        return 0; /* the body decides the action and every repo (gw_route_classify_body) */
    return gw_route_add_repo(out, type, ns, name, m->action, 0, 0) == 0
               ? 0
               : fail(c, GW_REJECT_TOO_MANY_REPOS);
}

/* Tries the two-segment id at [s, s+2) and, for models and datasets, the legacy one-segment id
 * at [s, s+1), each followed by a verb parsed by fn. Exactly one reading must fit. */
int gw_route_repo_route(gw_route_ctx_t *c, gw_repo_type_t type, size_t s, gw_route_verb_fn fn,
                        gw_route_t *out)
{
    size_t n = c->t.nsegs;
    gw_route_match_t m2 = {0}, m1 = {0};
    int r2 = NO_MATCH, r1 = NO_MATCH;
    if (s + 2 <= n) {
        r2 = fn(c, type, s + 2, &m2);
        if (r2 < 0)
            return r2;
    }
    if ((type == GW_REPO_MODEL || type == GW_REPO_DATASET) && s + 1 <= n) {
        r1 = fn(c, type, s + 1, &m1);
        if (r1 < 0)
            return r1;
    }
    if (r1 == MATCH && r2 == MATCH)
        return fail(c, GW_REJECT_AMBIGUOUS);
    if (r2 == MATCH)
        return gw_route_commit_repo(c, type, s, 2, &m2, out);
    if (r1 == MATCH)
        return gw_route_commit_repo(c, type, s, 1, &m1, out);
    return 0; /* unknown */
}

void gw_route_none_repo(gw_route_t *out, gw_family_t family, gw_action_t action, const char *ns)
{
    out->family = family;
    out->action = action;
    out->namespace = ns;
}
