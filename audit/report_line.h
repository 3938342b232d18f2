/* One line of a report's events.jsonl (docs/evidence-format.md "events.jsonl"): an event shown
 * whole,
 *   {"canonical":"…","chain":2,"hash":"<hex>","in_period":true,"prev_hash":"<hex>","seq":41,
 *    "stream":"gw-1"}
 * or shown as its org and commitment (chain 2 only),
 *   {"chain":2,"commitment":"<hex>","hash":"<hex>","hidden":true,"org":"other-org",
 *    "prev_hash":"<hex>","seq":42,"stream":"gw-1"}
 * keys sorted, no whitespace. The parser accepts exactly these two shapes (any JSON escape in
 * the two strings): `hubgate report verify` reads every line through it. */
#ifndef HUBGATE_AUDIT_REPORT_LINE_H
#define HUBGATE_AUDIT_REPORT_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "audit/checkpoint.h"

typedef struct {
    int hidden;    /* 1: shown as org and commitment */
    int chain;     /* 1 or 2 */
    int in_period; /* whole events: what the line says */
    int64_t seq;   /* >= 1 */
    char stream[AUD_STREAM_MAX + 1];
    unsigned char hash[AUD_HASH_BYTES], prev[AUD_HASH_BYTES];
    unsigned char commitment[AUD_HASH_BYTES]; /* hidden events */
    char *text; /* decoded canonical text (whole) or org (hidden, at most
                   AUD_CHAIN_MAX_ORG bytes); points into `decode`, not NUL-terminated */
    size_t text_len;
} aud_report_line_t;

/* Parses s[0..n) (without its '\n') into l, decoding the string into `decode`, which the
 * caller provides with room for n bytes (a decoded string is never longer than the line).
 * Returns 0, or -1 with *why saying what was expected where it stopped (a static string).
 * Does not block or allocate. */
int aud_report_line_parse(const char *s, size_t n, char *decode, aud_report_line_t *l,
                          const char **why);

#endif
