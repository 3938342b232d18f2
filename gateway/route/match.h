/* The classifier's matching machinery (private to route/): one classification in progress,
 * and the helpers route.c, api.c and body.c use to read segments and record what they found. */
#ifndef HUBGATE_GATEWAY_ROUTE_MATCH_H
#define HUBGATE_GATEWAY_ROUTE_MATCH_H

#include <stddef.h>
#include <string.h>

#include "common/arena.h"
#include "common/err.h"
#include "gateway/route/decode.h"
#include "gateway/route/route.h"

/* Adds (type, ns, name, action) to route->repos unless already there, and raises
 * route->action to action. Returns 0, or CMN_ERR_PARSE with route->reject = TOO_MANY_REPOS. */
int gw_route_add_repo(gw_route_t *route, gw_repo_type_t type, const char *ns, const char *name,
                      gw_action_t action, int from_body, int caller_namespace);

/* ---- Matching (route.c for file, git and admin routes; api.c for /api/…) ---- */

/* One classification in progress. */
typedef struct {
    int get; /* GET or HEAD */
    int post, put, patch, del;
    gw_route_target_t t;
    cmn_arena_t *a;
    gw_route_reject_t why; /* set with CMN_ERR_PARSE */
} gw_route_ctx_t;

/* What a verb parser found: a route minus its repo id. */
typedef struct {
    gw_family_t family;
    gw_action_t action;
    const char *revision;
    const char *path;
    const char *object;
    int pr;
    int needs_body;
} gw_route_match_t;

/* Parser results: MATCH, NO_MATCH, or a negative cmn_err_t (ctx.why set for CMN_ERR_PARSE). */
enum { NO_MATCH = 0, MATCH = 1 };

/* Decoded segment i, or NULL past the end. */
static inline const char *seg(const gw_route_ctx_t *c, size_t i)
{
    return i < c->t.nsegs ? c->t.segs[i].dec : NULL;
}

/* 1 when decoded segment i equals lit. Encoded unreserved characters are refused, so a match
 * on the decoded text is a match on the raw text too. */
static inline int is(const gw_route_ctx_t *c, size_t i, const char *lit)
{
    return i < c->t.nsegs && strcmp(c->t.segs[i].dec, lit) == 0;
}

static inline int fail(gw_route_ctx_t *c, gw_route_reject_t why)
{
    c->why = why;
    return CMN_ERR_PARSE;
}

static inline int set(gw_route_match_t *m, gw_family_t family, gw_action_t action)
{
    m->family = family;
    m->action = action;
    return MATCH;
}

/* "models" → MODEL, …, "buckets" → BUCKET; NONE otherwise. */
gw_repo_type_t gw_route_type_from_plural(const char *s);

/* Decoded segments [from, to) joined with '/' into the arena; *out NULL for an empty range.
 * Returns 0 or CMN_ERR_NOMEM. */
int gw_route_join(gw_route_ctx_t *c, size_t from, size_t to, const char **out);

/* The revision starting at segment i: one segment (refs%2Fpr%2F1 decodes to "refs/pr/1"), or
 * three when huggingface.js sent refs/pr/1 or refs/convert/parquet unencoded (tree URLs).
 * Returns MATCH with *next past it, NO_MATCH when there is no segment i, or CMN_ERR_NOMEM. */
int gw_route_take_revision(gw_route_ctx_t *c, size_t i, const char **rev, size_t *next);

/* Records the repo id in segments [s, s+k) (validated, one ".git" stripped) and the match in
 * out. Returns 0, CMN_ERR_PARSE (c->why) or CMN_ERR_NOMEM. */
int gw_route_commit_repo(gw_route_ctx_t *c, gw_repo_type_t type, size_t s, size_t k,
                         const gw_route_match_t *m, gw_route_t *out);

typedef int (*gw_route_verb_fn)(gw_route_ctx_t *c, gw_repo_type_t type, size_t v,
                                gw_route_match_t *m);

/* Tries the two-segment repo id at [s, s+2) and, for models and datasets, the legacy
 * one-segment id at [s, s+1), each followed by segments fn must recognise. Exactly one reading
 * must fit (both → GW_REJECT_AMBIGUOUS); none leaves out unknown. Returns like commit_repo. */
int gw_route_repo_route(gw_route_ctx_t *c, gw_repo_type_t type, size_t s, gw_route_verb_fn fn,
                        gw_route_t *out);

/* Sets a route that names no repo (namespace may be NULL). */
void gw_route_none_repo(gw_route_t *out, gw_family_t family, gw_action_t action, const char *ns);

#endif
