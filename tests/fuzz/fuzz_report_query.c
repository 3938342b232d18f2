/* layer: gateway */
/* Fuzzes the query of GET /-/reports/soc2 (gateway/http/report_query.c).
 *
 * Input: the request-target, as it arrives (no NUL needed).
 *
 * Invariants checked on every input (abort() on violation):
 *  - no crash, no sanitizer report, no read past the input;
 *  - the result is 0 or CMN_ERR_PARSE, and a refusal says why in one sentence;
 *  - an accepted org is 1-96 of A-Z a-z 0-9 _ . -; an accepted format is one of the three;
 *  - accepted times are from 1970 on, and when both are given from < to and the period is at
 *    most GW_REPORT_MAX_PERIOD_DAYS;
 *  - parsing is deterministic: a second parse gives the same result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "gateway/http/report_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes: ASan catches any read beyond */
    char *target = malloc(size ? size : 1);
    if (!target)
        return 0;
    memcpy(target, data, size);
    cmn_arena_t arena;
    cmn_arena_init(&arena, 1024, 1 << 20);
    gw_report_query_t a, b;
    char pa[384] = "", pb[384] = "";
    int ra = gw_report_query_parse(target, size, &arena, &a, pa, sizeof(pa));
    int rb = gw_report_query_parse(target, size, &arena, &b, pb, sizeof(pb));
    if (ra != rb || (ra != 0 && ra != CMN_ERR_PARSE))
        abort();
    if (ra == CMN_ERR_PARSE && (pa[0] == '\0' || strcmp(pa, pb) != 0))
        abort();
    if (ra == 0) {
        if (a.has_from != b.has_from || a.has_to != b.has_to || a.from_us != b.from_us ||
            a.to_us != b.to_us || a.format != b.format || (a.org == NULL) != (b.org == NULL) ||
            (a.org && strcmp(a.org, b.org) != 0))
            abort();
        if (a.format != GW_REPORT_JSON && a.format != GW_REPORT_HTML && a.format != GW_REPORT_CSV)
            abort();
        if (a.org) {
            size_t n = strlen(a.org);
            if (n == 0 || n > 96 ||
                strspn(a.org, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789_.-") != n)
                abort();
        }
        if ((a.has_from && a.from_us < 0) || (a.has_to && a.to_us < 0))
            abort();
        if (a.has_from && a.has_to &&
            (a.from_us >= a.to_us ||
             a.to_us - a.from_us > (int64_t)GW_REPORT_MAX_PERIOD_DAYS * 86400 * 1000000))
            abort();
    }
    cmn_arena_free(&arena);
    free(target);
    return 0;
}
