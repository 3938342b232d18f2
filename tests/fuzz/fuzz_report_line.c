/* layer: audit */
/* The events.jsonl line parser of `hubgate report verify` (audit/report_line.h) on arbitrary
 * bytes: it never reads or writes out of bounds (the decode buffer is exactly as long as the
 * line), a refusal always says why, and what it accepts rebuilds, with the string escaped
 * again, into a line that parses to the same fields. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/json_ref.h"
#include "audit/report_line.h"
#include "common/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size ? size : 1), *decode = malloc(size ? size : 1);
    memcpy(line, data, size);
    aud_report_line_t l;
    const char *why = NULL;
    if (aud_report_line_parse(line, size, decode, &l, &why) != 0) {
        if (!why || !why[0])
            abort();
        goto out;
    }
    if (l.text_len > size || l.seq < 1 || (l.chain != 1 && l.chain != 2))
        abort();
    /* rebuild */
    size_t cap = 6 * l.text_len + 600;
    char *esc = malloc(6 * l.text_len + 3), *again = malloc(cap), h[65], p[65], c[65];
    size_t el = json_ref_string(l.text, l.text_len, esc);
    cmn_hex(l.hash, AUD_HASH_BYTES, h);
    cmn_hex(l.prev, AUD_HASH_BYTES, p);
    cmn_hex(l.commitment, AUD_HASH_BYTES, c);
    int n = l.hidden
                ? snprintf(again, cap,
                           "{\"chain\":2,\"commitment\":\"%s\",\"hash\":\"%s\",\"hidden\":true,"
                           "\"org\":%.*s,\"prev_hash\":\"%s\",\"seq\":%lld,\"stream\":\"%s\"}",
                           c, h, (int)el, esc, p, (long long)l.seq, l.stream)
                : snprintf(again, cap,
                           "{\"canonical\":%.*s,\"chain\":%d,\"hash\":\"%s\",\"in_period\":%s,"
                           "\"prev_hash\":\"%s\",\"seq\":%lld,\"stream\":\"%s\"}",
                           (int)el, esc, l.chain, h, l.in_period ? "true" : "false", p,
                           (long long)l.seq, l.stream);
    char *decode2 = malloc((size_t)n);
    aud_report_line_t m;
    if (aud_report_line_parse(again, (size_t)n, decode2, &m, &why) != 0 || m.hidden != l.hidden ||
        m.chain != l.chain || m.seq != l.seq || m.in_period != l.in_period ||
        strcmp(m.stream, l.stream) != 0 || m.text_len != l.text_len ||
        memcmp(m.text, l.text, l.text_len) != 0 || memcmp(m.hash, l.hash, AUD_HASH_BYTES) != 0 ||
        memcmp(m.prev, l.prev, AUD_HASH_BYTES) != 0 ||
        memcmp(m.commitment, l.commitment, AUD_HASH_BYTES) != 0)
        abort();
    free(decode2);
    free(again);
    free(esc);
out:
    free(line);
    free(decode);
    return 0;
}
