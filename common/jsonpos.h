/* Source positions for JSON values, and file:line:col diagnostics for configuration files.
 *
 * jansson reports positions only for syntax errors; after a successful parse a json_t has no
 * location. For semantic errors (unknown key, bad role, bad CIDR) we re-scan the same bytes
 * once and index every member and element by its JSON Pointer (RFC 6901). Lines count '\n';
 * columns are 1-based and count UTF-8 code points, like jansson, so both kinds of error read
 * alike. Used when loading config and policy files, never on the request path. */
#ifndef HUBGATE_COMMON_JSONPOS_H
#define HUBGATE_COMMON_JSONPOS_H

#include <stddef.h>

#include "common/buf.h"

typedef struct cmn_jsonpos cmn_jsonpos_t;

/* Indexes text[0..len), which must be JSON that jansson accepted (the scanner trusts the
 * grammar but stays in bounds on any input). Returns NULL when out of memory. Caller frees
 * with cmn_jsonpos_free. */
cmn_jsonpos_t *cmn_jsonpos_build(const char *text, size_t len);

void cmn_jsonpos_free(cmn_jsonpos_t *idx);

/* Position of the value at `pointer` ("" is the root). With key != 0, the position of the
 * member's key instead (for "unknown key" errors). Returns 0, or CMN_ERR_NOTFOUND. */
int cmn_jsonpos_find(const cmn_jsonpos_t *idx, const char *pointer, int key, int *line, int *col);

/* A diagnostics sink: every error becomes one line "file:line:col: path: message". */
typedef struct {
    const char *file;          /* borrowed; shown as given */
    const cmn_jsonpos_t *pos;  /* borrowed; may be NULL (then line:col are omitted) */
    cmn_buf_t *out;            /* borrowed; lines are appended */
    int errors;
} cmn_jdiag_t;

/* Records an error about the value at `pointer` (or its key when key != 0). The displayed
 * path is derived from the pointer: /orgs/acme/members/2/role → orgs.acme.members[2].role. */
void cmn_jdiag_error(cmn_jdiag_t *d, const char *pointer, int key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a syntax error jansson reported (its line/column/text). */
void cmn_jdiag_syntax(cmn_jdiag_t *d, int line, int col, const char *text);

/* Appends one escaped segment to a JSON Pointer held in `ptr` (capacity `cap`): "~" → "~0",
 * "/" → "~1". Returns 0, or CMN_ERR_TOOBIG (ptr unchanged). */
int cmn_jsonpos_push(char *ptr, size_t cap, const char *segment);

#endif
