/* The query of GET /-/reports/soc2, parsed strictly (see report_query.h). */
#include "gateway/http/report_query.h"
#include "common/sha256.h"
#include "audit/report.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

/* Percent-decodes s[0..n) into out (cap bytes, NUL-terminated). '+' stays '+': no value here
 * may hold a space, and a time offset "+02:00" typed into a browser arrives unencoded. Returns
 * the decoded length, or -1 for a malformed escape, a control character or more than cap - 1
 * bytes. */
static long decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int a = cmn_hex_value(s[i + 1]), b = cmn_hex_value(s[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            c = (unsigned char)(a * 16 + b);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || k + 1 >= cap)
            return -1;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return (long)k;
}

/* An org name as policies spell them: 1-96 of A-Z a-z 0-9 _ . - */
static int org_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 96)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int gw_report_query_parse(const char *target, size_t len, cmn_arena_t *arena,
                          gw_report_query_t *out, char *problem, size_t cap)
{
    memset(out, 0, sizeof(*out));
    out->format = GW_REPORT_JSON;
    const char *q = memchr(target, '?', len);
    const char *end = target + len;
    int seen_format = 0;
    if (!q)
        return 0;
    for (const char *p = q + 1; p <= end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop == p) {
            if (!amp)
                break; /* a trailing "?" or "&" */
            snprintf(problem, cap, "the query has an empty parameter (\"&&\")");
            return CMN_ERR_PARSE;
        }
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        char key[16], value[GW_REPORT_MAX_PARAM_BYTES + 1];
        if (!eq || decode(p, (size_t)(eq - p), key, sizeof(key)) < 0) {
            snprintf(problem, cap,
                     "the query parameters are from, to, org and format, each as name=value");
            return CMN_ERR_PARSE;
        }
        long vlen = decode(eq + 1, (size_t)(stop - eq - 1), value, sizeof(value));
        if (vlen < 0) {
            snprintf(problem, cap,
                     "%s: expected at most %d bytes without control characters or malformed "
                     "%%-escapes",
                     key, GW_REPORT_MAX_PARAM_BYTES);
            return CMN_ERR_PARSE;
        }
        if (vlen == 0) {
            snprintf(problem, cap, "%s is empty", key);
            return CMN_ERR_PARSE;
        }
        int twice = 0;
        if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
            int is_from = key[0] == 'f';
            twice = is_from ? out->has_from : out->has_to;
            int64_t *t = is_from ? &out->from_us : &out->to_us;
            /* the same reading as `hubgate report soc2 --from/--to`; before 1970 is no period */
            if (!twice && (aud_report_parse_time(value, t) != 0 || *t < 0)) {
                snprintf(problem, cap,
                         "%s=%s: expected a date (2024-05-01, midnight UTC) or an RFC 3339 time "
                         "(2024-05-01T12:00:00Z, 2024-05-01T14:00:00+02:00), from 1970 on",
                         key, value);
                return CMN_ERR_PARSE;
            }
            if (is_from)
                out->has_from = 1;
            else
                out->has_to = 1;
        } else if (strcmp(key, "org") == 0) {
            twice = out->org != NULL;
            if (!twice && !org_valid(value)) {
                snprintf(problem, cap, "org=%s: expected an org name (1-96 of A-Z a-z 0-9 _ . -)",
                         value);
                return CMN_ERR_PARSE;
            }
            if (!twice && !(out->org = cmn_arena_strndup(arena, value, (size_t)vlen)))
                return CMN_ERR_NOMEM;
        } else if (strcmp(key, "format") == 0) {
            twice = seen_format;
            seen_format = 1;
            if (strcmp(value, "json") == 0)
                out->format = GW_REPORT_JSON;
            else if (strcmp(value, "html") == 0)
                out->format = GW_REPORT_HTML;
            else if (strcmp(value, "csv") == 0)
                out->format = GW_REPORT_CSV;
            else if (!twice) {
                snprintf(problem, cap, "format=%s: expected json, html or csv", value);
                return CMN_ERR_PARSE;
            }
        } else {
            snprintf(problem, cap,
                     "unknown query parameter \"%s\" (expected from, to, org, format)", key);
            return CMN_ERR_PARSE;
        }
        if (twice) {
            snprintf(problem, cap, "%s is given more than once", key);
            return CMN_ERR_PARSE;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    if (out->has_from && out->has_to) {
        if (out->from_us >= out->to_us) {
            snprintf(problem, cap, "the period is empty: from must come before to");
            return CMN_ERR_PARSE;
        }
        if (out->to_us - out->from_us > (int64_t)GW_REPORT_MAX_PERIOD_DAYS * 86400 * 1000000) {
            snprintf(problem, cap, "the period is longer than %d days: export it in parts",
                     GW_REPORT_MAX_PERIOD_DAYS);
            return CMN_ERR_PARSE;
        }
    }
    return 0;
}
