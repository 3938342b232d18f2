/* Internals shared by route.c, route_decode.c and route_body.c (private to them).
 *
 * Request-target validation and decoding (route_decode.c): the raw target is validated as a
 * whole (origin-form, bytes 0x21–0x7E without '#', length cap, well-formed escapes, no %00),
 * then its path is split on '/' *before* decoding, so an encoded revision such as
 * refs%2Fpr%2F1 stays one segment, and each segment is decoded exactly once. The query is
 * kept raw; gw_route_query_get decodes only the keys asked for. */
#ifndef HUBGATE_GATEWAY_ROUTE_INTERNAL_H
#define HUBGATE_GATEWAY_ROUTE_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include "common/arena.h"
#include "common/err.h"
#include "gateway/route/route.h"

typedef struct {
    const char *dec; /* decoded, NUL-terminated (arena); never contains NUL */
    size_t dec_len;
    unsigned esc_slash : 1; /* decoded from %2F: may span several path components */
} gw_route_seg_t;

typedef struct {
    gw_route_seg_t *segs; /* arena; nsegs entries (0 for the target "/") */
    size_t nsegs;
    const char *query; /* raw query without '?', into the caller's target; NULL if none */
    size_t query_len;
} gw_route_target_t;

/* Validates and splits target[0..len). Returns 0, CMN_ERR_PARSE or CMN_ERR_TOOBIG with *why
 * set, or CMN_ERR_NOMEM. Segments are allocated in a; t->query borrows target. */
int gw_route_target_parse(const char *target, size_t len, cmn_arena_t *a, gw_route_target_t *t,
                          gw_route_reject_t *why);

/* Looks up a query key (compared after decoding '+' and %XX). Sets *value to the decoded
 * value of its first occurrence (arena; "" for "key" or "key=") or NULL when absent, and
 * *count to the number of occurrences. Returns 0 or CMN_ERR_NOMEM. */
int gw_route_query_get(const gw_route_target_t *t, const char *key, cmn_arena_t *a,
                       const char **value, size_t *count);

/* 1 when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF). */
int gw_route_utf8_valid(const unsigned char *s, size_t len);

/* 1 when s (NUL-terminated) is as clean as a decoded revision or path: non-empty UTF-8 without
 * control bytes or backslashes, and no empty, "." or ".." component between its slashes. */
int gw_route_clean_path(const char *s);

/* 1 when s is a reserved first path segment (api, datasets, spaces, docs, -, …): never a
 * namespace nor a legacy repo id. */
int gw_route_reserved(const char *s);

/* Validates one repo (namespace may be "" for a legacy id or a caller's own namespace):
 * segment grammar, namespace not reserved, name not ending in ".git", namespace required for
 * spaces, kernels and buckets. Returns 1 when valid. */
int gw_route_repo_valid(gw_repo_type_t type, const char *ns, const char *name);

/* Adds (type, ns, name, action) to route->repos unless already there, and raises
 * route->action to action. Returns 0, or CMN_ERR_PARSE with route->reject = TOO_MANY_REPOS. */
int gw_route_add_repo(gw_route_t *route, gw_repo_type_t type, const char *ns, const char *name,
                      gw_action_t action, int from_body, int caller_namespace);

/* ---- Matching (route.c for file, git and admin routes; route_api.c for /api/…) ---- */

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

/* Classifies /api/… (route_api.c). Returns like gw_route_repo_route. */
int gw_route_api(gw_route_ctx_t *c, gw_route_t *out);

#endif
