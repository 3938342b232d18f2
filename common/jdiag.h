/* Diagnostics for JSON files people write (the configuration, the policy): every problem is one
 * line "file:line:col: path: what was found, expected what", and checking goes on after it so
 * that one run names them all.
 *
 * The position comes from common/jsonpos (jansson gives positions only for syntax errors); the
 * path is derived from the JSON Pointer of the value: /orgs/acme/members/2/role reads
 * orgs.acme.members[2].role. Control characters from the file are shown escaped (\n, \t,
 * \xNN), so a problem never spans two lines whatever the file holds. Used when loading files,
 * never on the request path. */
#ifndef HUBGATE_COMMON_JDIAG_H
#define HUBGATE_COMMON_JDIAG_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/jsonpos.h"

/* Room for a JSON Pointer built with cmn_jdiag_join; a longer one stays at its parent. */
#define CMN_JDIAG_PTR_MAX 1024

/* A diagnostics sink. */
typedef struct {
    const char *file;         /* borrowed; shown as given. NULL: lines read "path: message" and
                                 "line L, column C: message" (a JSON command-line argument) */
    const cmn_jsonpos_t *pos; /* borrowed; may be NULL (then line:col are omitted) */
    cmn_buf_t *out;           /* borrowed; lines are appended */
    int errors;
} cmn_jdiag_t;

/* Reads the file at path into text (initialised by the caller with its cap). On failure appends
 * "path: cannot read: why" to errors (no such file; larger than the N MiB a <what> may be, what
 * naming the kind of file: "policy"; the system's reason) and returns CMN_ERR_NOTFOUND,
 * CMN_ERR_TOOBIG, CMN_ERR_IO or CMN_ERR_NOMEM. Blocks (file I/O). */
int cmn_jdiag_read(cmn_buf_t *text, const char *path, const char *what, cmn_buf_t *errors);

/* Parses text[0..len) with jansson, refusing duplicate keys. On a syntax error, records it and
 * returns NULL; when the error is a duplicate key, records every duplicate key of the text with
 * its path and the position of the first one instead. Returns a new reference (caller
 * json_decref's). Does not block. */
json_t *cmn_jdiag_load(cmn_jdiag_t *d, const char *text, size_t len);

/* Records an error about the value at `pointer` (or its key when key != 0). */
void cmn_jdiag_error(cmn_jdiag_t *d, const char *pointer, int key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a syntax error jansson reported (its line, column and text; line <= 0: none). */
void cmn_jdiag_syntax(cmn_jdiag_t *d, int line, int col, const char *text);

/* Appends the display path of `pointer` to out ("" for the root); pos (may be NULL) tells
 * array elements from keys that are numbers. */
void cmn_jdiag_path(const cmn_jsonpos_t *pos, const char *pointer, cmn_buf_t *out);

/* How a found value is named in a message: "an object", "a string", "true", "null"... Static. */
const char *cmn_jdiag_type(const json_t *v);

/* dst (CMN_JDIAG_PTR_MAX bytes) = base + "/" + escaped key, or base + "/" + i. Return dst. */
const char *cmn_jdiag_join(char *dst, const char *base, const char *key);
const char *cmn_jdiag_join_index(char *dst, const char *base, size_t i);

/* "a, b, c" from a NULL-terminated list, truncated to cap. */
void cmn_jdiag_words(const char *const *words, char *out, size_t cap);

/* "; did you mean \"x\"?" when a word of the NULL-terminated list is within two edits of found,
 * else "". */
void cmn_jdiag_hint(const char *found, const char *const *words, char *out, size_t cap);

/* 1 when key is in `allowed` (NULL-terminated); otherwise records "unknown key" at
 * ptr + "/" + key, with the keys expected and a hint, and returns 0. */
int cmn_jdiag_key(cmn_jdiag_t *d, const char *ptr, const char *key, const char *const *allowed);

/* Records every key of obj (at ptr) that is not in `allowed` (NULL-terminated), with the keys
 * expected and a hint. Returns the number of unknown keys. */
int cmn_jdiag_keys(cmn_jdiag_t *d, const char *ptr, json_t *obj, const char *const *allowed);

/* obj[key] (borrowed) when it has the JSON type wanted (JSON_TRUE: either boolean). NULL when
 * absent (recorded when required) or of another type (recorded). `expected` names what the
 * value should be ("an array of rule objects"). */
json_t *cmn_jdiag_get(cmn_jdiag_t *d, const char *ptr, json_t *obj, const char *key, json_type type,
                      int required, const char *expected);

/* A boolean member: def when absent, def (recorded) when of another type. */
int cmn_jdiag_bool(cmn_jdiag_t *d, const char *ptr, json_t *obj, const char *key, int def);

#endif
