/* The query of an evidence report request (GET /-/reports/soc2?from=…&to=…&org=…&format=…),
 * parsed strictly: the gateway's route and `hubgate policy explain|test` read it the same way.
 * Pure: no I/O, no global state. */
#ifndef HUBGATE_GATEWAY_REPORT_QUERY_H
#define HUBGATE_GATEWAY_REPORT_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/limits.h"

typedef enum {
    GW_REPORT_JSON = 0, /* report.json (the default) */
    GW_REPORT_HTML,     /* report.html */
    GW_REPORT_CSV,      /* events.csv */
} gw_report_format_t;

/* A report request's query. */
typedef struct {
    int64_t from_us, to_us; /* [from, to), microseconds since the epoch, UTC */
    int has_from, has_to;
    const char *org; /* as given (NULL: none); the policy decides which org it names */
    gw_report_format_t format;
} gw_report_query_t;

/* Parses the query of a request-target ("/-/reports/soc2?from=…", len bytes, no NUL needed):
 * parameters from, to, org and format, each at most once, percent-decoded (no control
 * characters), nothing else. Times are read as `hubgate report soc2` reads them
 * (aud_report_parse_time): "YYYY-MM-DD" (midnight UTC) or RFC 3339
 * "YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)", from 1970 on. from and to need not both be present (the caller
 * requires them); when both are, from < to and the period is at most
 * GW_REPORT_MAX_PERIOD_DAYS. Strings are copied into arena. Returns 0, CMN_ERR_PARSE with one
 * sentence (safe to send to the client) in problem, or CMN_ERR_NOMEM. Never blocks. */
int gw_report_query_parse(const char *target, size_t len, cmn_arena_t *arena,
                          gw_report_query_t *out, char *problem, size_t cap);

#endif
