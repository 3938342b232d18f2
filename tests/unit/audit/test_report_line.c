/* A report's events.jsonl lines (audit/report_line.h): the two shapes accepted exactly, every
 * JSON escape decoded (the block decoder checked against a byte-at-a-time reference on random
 * strings), and every deviation refused with what was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/report_line.h"
#include "support/json_ref.h"

#define H64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define P64 "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define WHOLE(canon, tail)                                                                         \
    "{\"canonical\":" canon ",\"chain\":2,\"hash\":\"" H64                                         \
    "\",\"in_period\":true,\"prev_hash\":\"" P64 "\",\"seq\":" tail
#define HIDDEN(org, tail)                                                                          \
    "{\"chain\":2,\"commitment\":\"" H64 "\",\"hash\":\"" H64 "\",\"hidden\":true,\"org\":" org    \
    ",\"prev_hash\":\"" P64 "\",\"seq\":" tail

static int parse(const char *line, aud_report_line_t *l, char **decode, const char **why)
{
    size_t n = strlen(line);
    *decode = malloc(n + 1);
    return aud_report_line_parse(line, n, *decode, l, why);
}

static const struct {
    const char *name, *line;
    const char *text; /* decoded string; NULL: refused */
    size_t text_len;
    int hidden;
    int64_t seq;
} cases[] = {
    {"whole", WHOLE("\"{\\\"v\\\":2}\"", "41,\"stream\":\"gw-1\"}"), "{\"v\":2}", 7, 0, 41},
    {"every escape",
     WHOLE("\"a\\\\b\\/c\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u001f\"", "1,\"stream\":\"s\"}"),
     "a\\b/c\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\x1f", 17, 0, 1},
    {"hidden", HIDDEN("\"glob\\\"ex\"", "42,\"stream\":\"gw.1_A-b\"}"), "glob\"ex", 7, 1, 42},
    {"hidden, empty org", HIDDEN("\"\"", "7,\"stream\":\"gw-1\"}"), "", 0, 1, 7},
    {"space after a colon", WHOLE("\"x\"", " 1,\"stream\":\"gw-1\"}"), NULL, 0, 0, 0},
    {"keys out of order", "{\"chain\":2,\"canonical\":\"x\"}", NULL, 0, 0, 0},
    {"seq 0", WHOLE("\"x\"", "0,\"stream\":\"gw-1\"}"), NULL, 0, 0, 0},
    {"seq with a leading zero", WHOLE("\"x\"", "01,\"stream\":\"gw-1\"}"), NULL, 0, 0, 0},
    {"seq beyond 16 digits", WHOLE("\"x\"", "12345678901234567,\"stream\":\"gw-1\"}"), NULL, 0, 0,
     0},
    {"stream with a space", WHOLE("\"x\"", "1,\"stream\":\"gw 1\"}"), NULL, 0, 0, 0},
    {"trailing bytes", WHOLE("\"x\"", "1,\"stream\":\"gw-1\"} "), NULL, 0, 0, 0},
    {"no closing brace", WHOLE("\"x\"", "1,\"stream\":\"gw-1\""), NULL, 0, 0, 0},
    {"raw control character", WHOLE("\"a\tb\"", "1,\"stream\":\"gw-1\"}"), NULL, 0, 0, 0},
    {"unknown escape", WHOLE("\"a\\xb\"", "1,\"stream\":\"gw-1\"}"), NULL, 0, 0, 0},
    {"lone low surrogate", WHOLE("\"\\udc00\"", "1,\"stream\":\"gw-1\"}"), NULL, 0, 0, 0},
    {"high surrogate alone", WHOLE("\"\\ud83dx\"", "1,\"stream\":\"gw-1\"}"), NULL, 0, 0, 0},
    {"short hash",
     "{\"canonical\":\"x\",\"chain\":2,\"hash\":\"00\",\"in_period\":true,\"prev_hash\":\"" P64
     "\",\"seq\":1,\"stream\":\"gw-1\"}",
     NULL, 0, 0, 0},
    {"chain 3",
     "{\"canonical\":\"x\",\"chain\":3,\"hash\":\"" H64 "\",\"in_period\":true,\"prev_hash\":\"" P64
     "\",\"seq\":1,\"stream\":\"gw-1\"}",
     NULL, 0, 0, 0},
    {"hidden as chain 1",
     "{\"chain\":1,\"commitment\":\"" H64 "\",\"hash\":\"" H64 "\",\"hidden\":true,\"org\":\"a\","
     "\"prev_hash\":\"" P64 "\",\"seq\":1,\"stream\":\"gw-1\"}",
     NULL, 0, 0, 0},
    {"in_period not a boolean",
     "{\"canonical\":\"x\",\"chain\":2,\"hash\":\"" H64 "\",\"in_period\":1,\"prev_hash\":\"" P64
     "\",\"seq\":1,\"stream\":\"gw-1\"}",
     NULL, 0, 0, 0},
    {"unterminated string", "{\"canonical\":\"abc", NULL, 0, 0, 0},
    {"empty line", "", NULL, 0, 0, 0},
};

static void lines_table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aud_report_line_t l;
        char *decode;
        const char *why = NULL;
        int rc = parse(cases[i].line, &l, &decode, &why);
        if (!cases[i].text) {
            if (rc == 0)
                fail_msg("%s: accepted", cases[i].name);
            if (!why || !why[0])
                fail_msg("%s: refused without saying why", cases[i].name);
        } else {
            if (rc != 0)
                fail_msg("%s: refused (expected %s)", cases[i].name, why);
            if (l.text_len != cases[i].text_len || memcmp(l.text, cases[i].text, l.text_len) != 0)
                fail_msg("%s: decoded %zu bytes \"%.*s\"", cases[i].name, l.text_len,
                         (int)l.text_len, l.text);
            if (l.hidden != cases[i].hidden || l.seq != cases[i].seq || l.chain != 2)
                fail_msg("%s: hidden %d seq %lld chain %d", cases[i].name, l.hidden,
                         (long long)l.seq, l.chain);
        }
        free(decode);
    }
}

static void whole_fields(void **state)
{
    aud_report_line_t l;
    char *decode;
    const char *why;
    assert_int_equal(parse(WHOLE("\"x\"", "9,\"stream\":\"gw-1\"}"), &l, &decode, &why), 0);
    assert_int_equal(l.in_period, 1);
    assert_string_equal(l.stream, "gw-1");
    assert_int_equal(l.hash[0], 0x00);
    assert_int_equal(l.hash[1], 0x11);
    assert_int_equal(l.prev[0], 0xff);
    free(decode);
}

/* Random strings heavy in quotes and backslashes, at every length and offset around the 64-byte
 * blocks of the decoder, decode to what was escaped. */
static void block_decoder_matches_reference(void **state)
{
    static const char alphabet[] = "\"\\\"\\ab/{}:,\x01\x1f~\x7f\xc3\xa9";
    unsigned seed = 12345;
    char raw[400], esc[2600], line[3000];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(rand_r(&seed) % 300);
        for (size_t i = 0; i < n; i++)
            raw[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
        size_t el = json_ref_string(raw, n, esc);
        int len =
            snprintf(line, sizeof(line),
                     "{\"canonical\":%.*s,\"chain\":1,\"hash\":\"" H64
                     "\",\"in_period\":false,\"prev_hash\":\"" P64 "\",\"seq\":3,\"stream\":\"s\"}",
                     (int)el, esc);
        char *decode = malloc((size_t)len);
        aud_report_line_t l;
        const char *why = NULL;
        if (aud_report_line_parse(line, (size_t)len, decode, &l, &why) != 0)
            fail_msg("iteration %d (%zu bytes): refused: expected %s", iter, n, why);
        if (l.text_len != n || memcmp(l.text, raw, n) != 0)
            fail_msg("iteration %d (%zu bytes): decoded differently", iter, n);
        free(decode);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_table),
        cmocka_unit_test(whole_fields),
        cmocka_unit_test(block_decoder_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
