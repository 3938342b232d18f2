/* hubgate error codes: one negative enum for the whole tree, and one way to report a failure.
 *
 * The convention, in every layer: a function that can fail returns int — 0, or a negative
 * cmn_err_t — and, when a person needs more than the code, writes a one-line message either
 * into the caller's `char *err, size_t errlen` (cmn_errf; composed text for operators and
 * logs), or, on the request path, points `const char **message` at static text fit to show a
 * client. Library errors (errno, libpq, libcurl, OpenSSL) are translated into these once,
 * where they happen. The HTTP status for a code is chosen in one place, gw_answer_status
 * (gateway/http/answer.h).
 *
 * Decisions are not errors: a denied request is a policy outcome, a malformed request's 400 is
 * the framing check's verdict; those carry their own status. */
#ifndef HUBGATE_COMMON_ERR_H
#define HUBGATE_COMMON_ERR_H

/* X(name, value, description) */
#define CMN_ERR_MAP(X)                                                                             \
    X(OK, 0, "success")                                                                            \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(TOOBIG, -3, "input exceeds its size limit")                                                  \
    X(IO, -4, "input/output error")                                                                \
    X(NOTFOUND, -5, "not found")                                                                   \
    X(PARSE, -6, "malformed input")                                                                \
    X(DB, -7, "database error")                                                                    \
    X(CRYPTO, -8, "cryptographic operation failed")                                                \
    X(TIMEOUT, -9, "timed out")                                                                    \
    X(UPSTREAM, -10, "upstream error")                                                             \
    X(CONFLICT, -11, "conflicting state")                                                          \
    X(UNSUPPORTED, -12, "not supported")                                                           \
    X(DENIED, -13, "permission denied")                                                            \
    X(UNAVAILABLE, -14, "temporarily unavailable")                                                 \
    X(UNAUTHENTICATED, -15, "credentials refused")                                                 \
    X(EXPIRED, -16, "expired")                                                                     \
    X(METHOD, -17, "not allowed with this method")

typedef enum {
#define CMN_ERR_ENUM(name, value, desc) CMN_ERR_##name = value,
    CMN_ERR_MAP(CMN_ERR_ENUM)
#undef CMN_ERR_ENUM
} cmn_err_t;

/* "CMN_ERR_TOOBIG" style name of a code; "CMN_ERR_UNKNOWN" for a value outside the table.
 * Never NULL; the string is static. */
const char *cmn_err_name(int err);

/* Human description of a code ("input exceeds its size limit"). Never NULL; static. */
const char *cmn_err_str(int err);

#include <stddef.h>

/* Formats a one-line error message into err[errlen] (snprintf truncation; line breaks and tabs
 * in it become spaces, trailing ones go, so a library's multi-line message stays one line).
 * Accepts err NULL or errlen 0 (then does nothing): the err/errlen pair every layer reports
 * failures through. */
void cmn_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
