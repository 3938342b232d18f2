/* Source positions for JSON values, for file:line:col diagnostics (common/jdiag.h).
 *
 * jansson reports positions only for syntax errors; after a successful parse a json_t has no
 * location. For semantic errors (unknown key, bad role, bad CIDR) we re-scan the same bytes
 * once and index every member and element by its JSON Pointer (RFC 6901). Lines count '\n';
 * columns are 1-based and count UTF-8 code points, like jansson, so both kinds of error read
 * alike. Used when loading config and policy files, never on the request path. */
#ifndef HUBGATE_COMMON_JSONPOS_H
#define HUBGATE_COMMON_JSONPOS_H

#include <stddef.h>

typedef struct cmn_jsonpos cmn_jsonpos_t;

/* Indexes text[0..len), which must be JSON that jansson accepted, duplicate keys allowed (the
 * scanner trusts the grammar but stays in bounds on any input). Returns NULL when out of memory. Caller frees
 * with cmn_jsonpos_free. */
cmn_jsonpos_t *cmn_jsonpos_build(const char *text, size_t len);

void cmn_jsonpos_free(cmn_jsonpos_t *idx);

/* Position of the value at `pointer` ("" is the root). With key != 0, the position of the
 * member's key instead (for "unknown key" errors). Returns 0, or CMN_ERR_NOTFOUND. */
int cmn_jsonpos_find(const cmn_jsonpos_t *idx, const char *pointer, int key, int *line, int *col);

/* 1 when the value at pointer[0..len) (a prefix of a pointer, ending at a segment boundary) is
 * an array element, so that a display path shows it as [n] rather than as a key. 0 otherwise,
 * and when idx is NULL. */
int cmn_jsonpos_is_index(const cmn_jsonpos_t *idx, const char *pointer, size_t len);

/* The n-th member (0-based, in file order) whose key repeats an earlier key of the same
 * object, which jansson refuses without saying where the first one was: its pointer
 * (borrowed, valid until cmn_jsonpos_free), the repeat's key position and the first one's.
 * Returns 0, or CMN_ERR_NOTFOUND when there are no more. */
int cmn_jsonpos_duplicate(const cmn_jsonpos_t *idx, size_t n, const char **pointer, int *line,
                          int *col, int *first_line, int *first_col);

/* Appends one escaped segment to a JSON Pointer held in `ptr` (capacity `cap`): "~" → "~0",
 * "/" → "~1". Returns 0, or CMN_ERR_TOOBIG (ptr unchanged). */
int cmn_jsonpos_push(char *ptr, size_t cap, const char *segment);

#endif
