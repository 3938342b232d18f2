/* Request-target validation and decoding: the raw target is validated as a whole (origin-form,
 * bytes 0x21–0x7E without '#', length cap, well-formed escapes, no %00), then its path is split
 * on '/' *before* decoding, so an encoded revision such as refs%2Fpr%2F1 stays one segment, and
 * each segment is decoded exactly once. The query is kept raw; gw_route_query_get decodes only
 * the keys asked for. Also the grammar of repo ids. */
#ifndef HUBGATE_GATEWAY_ROUTE_DECODE_H
#define HUBGATE_GATEWAY_ROUTE_DECODE_H

#include <stddef.h>
#include "common/arena.h"
#include "gateway/route/route-t.h"

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

/* 1 when s is a valid repo id segment (the Hub's REPO_ID_REGEX): [A-Za-z0-9_.-]{1,96}, no "--" or
 * "..", not starting or ending with '.' or '-'. */
int gw_route_repo_segment_valid(const char *s);

#endif
