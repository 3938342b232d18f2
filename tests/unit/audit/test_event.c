/* The canonical event encoding (audit/event.h): stable bytes, escaping, key order, caps, the
 * no-secrets rule, and a parser that accepts exactly what the encoder writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/event.h"
#include "common/err.h"

static const char *const groups2[] = {"acme-ml", "a\"b"};
static const char *const list2[] = {"p", "q"};

static void fill_full(aud_event_t *ev)
{
    aud_event_init(ev, AUD_KIND_REQUEST);
    memcpy(ev->id, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", 37);
    ev->ts_us = 1714566896123456LL;
    ev->request_id = "r-1";
    ev->actor.iss = "https://idp";
    ev->actor.sub = "alice";
    ev->actor.email = "alice@acme.example";
    ev->actor.groups = groups2;
    ev->actor.n_groups = 2;
    ev->actor.token_id = "tok_1";
    ev->actor.mfa = 1;
    ev->client.ip = "10.0.0.1";
    ev->client.user_agent = "curl/8.0";
    ev->request.method = "GET";
    ev->request.path = "/acme/bert/resolve/main/config.json";
    ev->request.repo_type = "model";
    ev->request.repo = "acme/bert";
    ev->request.revision = "main";
    ev->request.file = "config.json";
    ev->request.action = "read";
    ev->decision.effect = "allow";
    ev->decision.rule = "r1";
    ev->decision.reason = "member";
    ev->decision.org = "acme";
    ev->decision.role = "read";
    ev->decision.region = "eu";
    ev->decision.policy_sha256 = "ab";
    ev->response.status = 200;
    ev->response.bytes_in = 0;
    ev->response.bytes_out = 1234;
    ev->response.duration_ms = 5;
    ev->response.upstream_status = 200;
    /* added out of order: the encoder sorts */
    assert_int_equal(aud_event_detail_bool(ev, "c_bool", 1), 0);
    assert_int_equal(aud_event_detail_list(ev, "a_list", list2, 2), 0);
    assert_int_equal(aud_event_detail_int(ev, "b_int", -5), 0);
}

static const char golden[] =
    "{\"actor\":{\"email\":\"alice@acme.example\",\"groups\":[\"acme-ml\",\"a\\\"b\"],\"iss\":"
    "\"https://idp\",\"mfa\":true,\"sub\":\"alice\",\"token_id\":\"tok_1\"},\"client\":{\"ip\":"
    "\"10.0.0.1\",\"user_agent\":\"curl/8.0\"},\"decision\":{\"effect\":\"allow\",\"org\":\"acme\","
    "\"policy_sha256\":\"ab\",\"reason\":\"member\",\"region\":\"eu\",\"role\":\"read\",\"rule\":"
    "\"r1\"},\"details\":{\"a_list\":[\"p\",\"q\"],\"b_int\":-5,\"c_bool\":true},\"id\":"
    "\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"kind\":\"request\",\"request\":{\"action\":"
    "\"read\",\"file\":\"config.json\",\"method\":\"GET\",\"path\":"
    "\"/acme/bert/resolve/main/config.json\",\"repo\":\"acme/bert\",\"repo_type\":\"model\","
    "\"revision\":\"main\"},\"request_id\":\"r-1\",\"response\":{\"bytes_in\":0,\"bytes_out\":"
    "1234,\"duration_ms\":5,\"status\":200,\"upstream_status\":200},\"ts\":"
    "\"2024-05-01T12:34:56.123456Z\",\"v\":1}";

/* The same event as version 2: the encoding rules did not change, only the version. */
static void encodes_golden_bytes(void **state)
{
    aud_event_t ev;
    fill_full(&ev);
    assert_int_equal(ev.v, AUD_EVENT_VERSION);
    assert_int_equal(AUD_EVENT_VERSION, 2);
    cmn_buf_t b;
    cmn_buf_init(&b, AUD_MAX_EVENT_BYTES);
    assert_int_equal(aud_event_encode(&ev, &b), 0);
    char want[sizeof(golden)];
    memcpy(want, golden, sizeof(golden));
    want[sizeof(golden) - 3] = '2'; /* …,"v":1} → …,"v":2} */
    assert_string_equal(b.data, want);
    /* Asked for version 1, the encoder writes exactly what the previous release wrote. */
    ev.v = 1;
    cmn_buf_clear(&b);
    assert_int_equal(aud_event_encode(&ev, &b), 0);
    assert_string_equal(b.data, golden);
    ev.v = 2;
    cmn_buf_clear(&b);
    assert_int_equal(aud_event_encode(&ev, &b), 0);
    assert_string_equal(b.data, want);
    /* Encoding is a pure function of the event: twice gives the same bytes. */
    cmn_buf_t b2;
    cmn_buf_init(&b2, AUD_MAX_EVENT_BYTES);
    assert_int_equal(aud_event_encode(&ev, &b2), 0);
    assert_memory_equal(b.data, b2.data, b.len);
    cmn_buf_free(&b);
    cmn_buf_free(&b2);
}

static void minimal_event_has_only_required_keys(void **state)
{
    aud_event_t ev;
    aud_event_init(&ev, AUD_KIND_GATEWAY_STARTED);
    memcpy(ev.id, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", 37);
    ev.ts_us = 1714566896123456LL;
    cmn_buf_t b;
    cmn_buf_init(&b, 4096);
    assert_int_equal(aud_event_encode(&ev, &b), 0);
    assert_string_equal(b.data,
                        "{\"id\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"kind\":"
                        "\"gateway.started\",\"ts\":\"2024-05-01T12:34:56.123456Z\",\"v\":2}");
    cmn_buf_free(&b);
}

static void parse_reencodes_identically(void **state)
{
    aud_event_t ev;
    fill_full(&ev);
    cmn_buf_t b, b2;
    cmn_buf_init(&b, AUD_MAX_EVENT_BYTES);
    cmn_buf_init(&b2, AUD_MAX_EVENT_BYTES);
    assert_int_equal(aud_event_encode(&ev, &b), 0);
    aud_parsed_t p;
    memset(&p, 0, sizeof(p));
    char why[200];
    assert_int_equal(aud_event_parse(&p, b.data, b.len, why, sizeof(why)), 0);
    assert_string_equal(p.ev.actor.groups[1], "a\"b");
    assert_int_equal(p.ev.details[1].num, -5);
    assert_int_equal(p.ev.response.bytes_in, 0);
    assert_int_equal(p.ev.response.status, 200);
    assert_int_equal(aud_event_encode(&p.ev, &b2), 0);
    assert_string_equal(b.data, b2.data);
    aud_parsed_free(&p);
    cmn_buf_free(&b);
    cmn_buf_free(&b2);
}

/* How one string value is written, and that it parses back to the sanitised value. */
static const struct {
    const char *name, *in, *json, *value;
} strings[] = {
    {"plain", "abc", "\"abc\"", "abc"},
    {"empty", "", "\"\"", ""},
    {"quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\"", "a\"b\\c"},
    {"short escapes", "\b\t\n\f\r", "\"\\b\\t\\n\\f\\r\"", "\b\t\n\f\r"},
    {"other controls lowercase hex", "\x01\x1f", "\"\\u0001\\u001f\"", "\x01\x1f"},
    {"DEL and slash as they are", "\x7f/", "\"\x7f/\"", "\x7f/"},
    {"UTF-8 as is", "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
     "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"U+2028 as is (JCS)", "\xe2\x80\xa8", "\"\xe2\x80\xa8\"", "\xe2\x80\xa8"},
    {"invalid byte",
     "a\xff"
     "b",
     "\"a\xef\xbf\xbd"
     "b\"",
     "a\xef\xbf\xbd"
     "b"},
    {"overlong slash", "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"", "\xef\xbf\xbd\xef\xbf\xbd"},
    {"surrogate", "\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"truncated sequence", "\xe2\x82", "\"\xef\xbf\xbd\xef\xbf\xbd\"", "\xef\xbf\xbd\xef\xbf\xbd"},
    {"beyond U+10FFFF", "\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
};

static void escapes_strings(void **state)
{
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        aud_event_t ev;
        aud_event_init(&ev, AUD_KIND_REQUEST);
        ev.request_id = strings[i].in;
        cmn_buf_t b;
        cmn_buf_init(&b, 4096);
        assert_int_equal(aud_event_encode(&ev, &b), 0);
        const char *at = strstr(b.data, "\"request_id\":");
        assert_non_null(at);
        at += strlen("\"request_id\":");
        size_t jl = strlen(strings[i].json);
        if (strncmp(at, strings[i].json, jl) != 0 || at[jl] != ',')
            fail_msg("case \"%s\": got %s", strings[i].name, at);
        aud_parsed_t p;
        memset(&p, 0, sizeof(p));
        char why[200];
        if (aud_event_parse(&p, b.data, b.len, why, sizeof(why)) != 0)
            fail_msg("case \"%s\": does not parse back: %s", strings[i].name, why);
        if (strcmp(p.ev.request_id, strings[i].value) != 0)
            fail_msg("case \"%s\": parsed back differently", strings[i].name);
        aud_parsed_free(&p);
        cmn_buf_free(&b);
    }
}

static void cuts_long_strings_and_says_so(void **state)
{
    size_t n = AUD_MAX_STRING_BYTES + 10;
    char *longs = malloc(n + 1);
    memset(longs, 'x', n);
    /* a 3-byte character straddling the cap is not split */
    memcpy(longs + AUD_MAX_STRING_BYTES - 1, "\xe2\x82\xac", 3);
    longs[n] = '\0';
    const char *many[AUD_MAX_GROUPS + 5];
    for (size_t i = 0; i < AUD_MAX_GROUPS + 5; i++)
        many[i] = "g";
    aud_event_t ev;
    aud_event_init(&ev, AUD_KIND_REQUEST);
    ev.client.user_agent = longs;
    cmn_buf_t b;
    cmn_buf_init(&b, AUD_MAX_EVENT_BYTES);
    assert_int_equal(aud_event_encode(&ev, &b), 0);
    assert_non_null(strstr(b.data, ",\"truncated\":true,\"ts\":"));
    aud_parsed_t p;
    memset(&p, 0, sizeof(p));
    assert_int_equal(aud_event_parse(&p, b.data, b.len, NULL, 0), 0);
    assert_int_equal(strlen(p.ev.client.user_agent), AUD_MAX_STRING_BYTES - 1);
    assert_int_equal(p.ev.truncated, 1);

    aud_event_init(&ev, AUD_KIND_REQUEST);
    ev.actor.groups = many;
    ev.actor.n_groups = AUD_MAX_GROUPS + 5;
    cmn_buf_clear(&b);
    assert_int_equal(aud_event_encode(&ev, &b), 0);
    assert_int_equal(aud_event_parse(&p, b.data, b.len, NULL, 0), 0);
    assert_int_equal(p.ev.actor.n_groups, AUD_MAX_GROUPS);
    assert_int_equal(p.ev.truncated, 1);

    /* Without anything cut, no "truncated" key at all. */
    aud_event_init(&ev, AUD_KIND_REQUEST);
    ev.client.user_agent = "short";
    cmn_buf_clear(&b);
    assert_int_equal(aud_event_encode(&ev, &b), 0);
    assert_null(strstr(b.data, "truncated"));
    aud_parsed_free(&p);
    cmn_buf_free(&b);
    free(longs);
}

/* No secret enters an event: keys naming a credential and credential-shaped values are refused. */
static void refuses_secrets(void **state)
{
    static const struct {
        const char *key;
        int ok;
    } keys[] = {
        {"token_id", 1},      {"key_id", 1},
        {"old_sha256", 1},    {"new_sha256", 1},
        {"kids_added", 1},    {"scope", 1},
        {"token", 0},         {"access_token", 0},
        {"private_key", 0},   {"password", 0},
        {"cookie", 0},        {"authorization", 0},
        {"client_secret", 0}, {"keys", 0},
        {"bearer", 0},        {"session", 0},
        {"Token", 0},         {"", 0},
        {"a-b", 0},           {"x123456789012345678901234567890123", 0},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        aud_event_t ev;
        aud_event_init(&ev, AUD_KIND_TOKEN_MINTED);
        int rc = aud_event_detail_str(&ev, keys[i].key, "v");
        if ((rc == 0) != keys[i].ok)
            fail_msg("detail key \"%s\": expected %s", keys[i].key, keys[i].ok ? "ok" : "refused");
    }
    static const char *const values[] = {
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln",
        "hf_gw_abcdefghijklmnopqrstuvwxyz012345",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
        "Bearer abc",
        "basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "-----BEGIN PRIVATE KEY-----\nMC4CAQ...",
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        aud_event_t ev;
        aud_event_init(&ev, AUD_KIND_TOKEN_MINTED);
        assert_int_equal(aud_event_detail_str(&ev, "note", values[i]), 0);
        cmn_buf_t b;
        cmn_buf_init(&b, 4096);
        if (aud_event_encode(&ev, &b) != CMN_ERR_INVAL)
            fail_msg("value %zu was not refused", i);
        const char *items[] = {"ok", values[i]};
        aud_event_init(&ev, AUD_KIND_KEYS_CHANGED);
        assert_int_equal(aud_event_detail_list(&ev, "kids_added", items, 2), 0);
        cmn_buf_clear(&b);
        if (aud_event_encode(&ev, &b) != CMN_ERR_INVAL)
            fail_msg("list item %zu was not refused", i);
        cmn_buf_free(&b);
    }
    /* A token id is not a token: allowed. */
    aud_event_t ev;
    aud_event_init(&ev, AUD_KIND_TOKEN_MINTED);
    assert_int_equal(aud_event_detail_str(&ev, "token_id", "tok_8f3a2c"), 0);
    cmn_buf_t b;
    cmn_buf_init(&b, 4096);
    assert_int_equal(aud_event_encode(&ev, &b), 0);
    cmn_buf_free(&b);
}

static void refuses_malformed_events(void **state)
{
    aud_event_t ev;
    cmn_buf_t b;
    cmn_buf_init(&b, 4096);
    aud_event_init(&ev, AUD_KIND_REQUEST);
    ev.decision.effect = "maybe";
    assert_int_equal(aud_event_encode(&ev, &b), CMN_ERR_INVAL);
    aud_event_init(&ev, AUD_KIND_REQUEST);
    ev.response.bytes_out = -7;
    cmn_buf_clear(&b);
    assert_int_equal(aud_event_encode(&ev, &b), CMN_ERR_INVAL);
    aud_event_init(&ev, AUD_KIND_REQUEST);
    ev.kind = AUD_KIND__COUNT;
    cmn_buf_clear(&b);
    assert_int_equal(aud_event_encode(&ev, &b), CMN_ERR_INVAL);
    aud_event_init(&ev, AUD_KIND_REQUEST);
    assert_int_equal(aud_event_detail_int(&ev, "n", 9007199254740992LL), CMN_ERR_INVAL);
    assert_int_equal(aud_event_detail_str(&ev, "dup", "a"), 0);
    assert_int_equal(aud_event_detail_str(&ev, "dup", "b"), 0);
    cmn_buf_clear(&b);
    assert_int_equal(aud_event_encode(&ev, &b), CMN_ERR_INVAL);
    aud_event_init(&ev, AUD_KIND_REQUEST);
    for (int i = 0; i < AUD_MAX_DETAILS; i++)
        assert_int_equal(aud_event_detail_int(&ev, "n", i), 0);
    assert_int_equal(aud_event_detail_int(&ev, "m", 1), CMN_ERR_INVAL);
    cmn_buf_free(&b);
}

/* Texts the parser must refuse: each differs from a canonical event in one way. */
#define E_ID "\"id\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\""
#define E_TS "\"ts\":\"2024-05-01T12:34:56.123456Z\""
static const struct {
    const char *name, *text;
} bad[] = {
    {"whitespace", "{ " E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1}"},
    {"unsorted keys", "{\"kind\":\"request\"," E_ID "," E_TS ",\"v\":1}"},
    {"duplicate key", "{" E_ID "," E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1}"},
    {"unknown key", "{\"extra\":\"x\"," E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1}"},
    {"missing v", "{" E_ID ",\"kind\":\"request\"," E_TS "}"},
    {"version 0", "{" E_ID ",\"kind\":\"request\"," E_TS ",\"v\":0}"},
    {"version 3", "{" E_ID ",\"kind\":\"request\"," E_TS ",\"v\":3}"},
    {"version with a leading zero", "{" E_ID ",\"kind\":\"request\"," E_TS ",\"v\":02}"},
    {"version as a string", "{" E_ID ",\"kind\":\"request\"," E_TS ",\"v\":\"2\"}"},
    {"negative version", "{" E_ID ",\"kind\":\"request\"," E_TS ",\"v\":-2}"},
    {"report.exported in version 1",
     "{" E_ID ",\"kind\":\"report.exported\"," E_TS ",\"v\":1}"},
    {"unknown kind", "{" E_ID ",\"kind\":\"nap\"," E_TS ",\"v\":1}"},
    {"uppercase id",
     "{\"id\":\"0190A1B2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"kind\":\"request\"," E_TS ",\"v\":1}"},
    {"ts without fraction",
     "{" E_ID ",\"kind\":\"request\",\"ts\":\"2024-05-01T12:34:56Z\",\"v\":1}"},
    {"ts February 30",
     "{" E_ID ",\"kind\":\"request\",\"ts\":\"2024-02-30T12:34:56.123456Z\",\"v\":1}"},
    {"escaped slash", "{" E_ID ",\"kind\":\"request\",\"request_id\":\"a\\/b\"," E_TS ",\"v\":1}"},
    {"needless \\u", "{" E_ID ",\"kind\":\"request\",\"request_id\":\"\\u0041\"," E_TS ",\"v\":1}"},
    {"long form of \\n",
     "{" E_ID ",\"kind\":\"request\",\"request_id\":\"\\u000a\"," E_TS ",\"v\":1}"},
    {"escaped NUL (no C string holds one)",
     "{" E_ID ",\"kind\":\"request\",\"request_id\":\"a\\u0000b\"," E_TS ",\"v\":1}"},
    {"uppercase hex",
     "{" E_ID ",\"kind\":\"request\",\"request_id\":\"\\u001F\"," E_TS ",\"v\":1}"},
    {"raw newline", "{" E_ID ",\"kind\":\"request\",\"request_id\":\"a\nb\"," E_TS ",\"v\":1}"},
    {"invalid UTF-8", "{" E_ID ",\"kind\":\"request\",\"request_id\":\"\xff\"," E_TS ",\"v\":1}"},
    {"leading zero",
     "{" E_ID ",\"kind\":\"request\",\"response\":{\"status\":0200}," E_TS ",\"v\":1}"},
    {"negative bytes",
     "{" E_ID ",\"kind\":\"request\",\"response\":{\"bytes_in\":-1}," E_TS ",\"v\":1}"},
    {"fraction",
     "{" E_ID ",\"kind\":\"request\",\"response\":{\"status\":200.0}," E_TS ",\"v\":1}"},
    {"empty object", "{\"client\":{}," E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1}"},
    {"empty groups", "{\"actor\":{\"groups\":[]}," E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1}"},
    {"null", "{\"client\":{\"ip\":null}," E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1}"},
    {"truncated false", "{" E_ID ",\"kind\":\"request\",\"truncated\":false," E_TS ",\"v\":1}"},
    {"bad effect",
     "{\"decision\":{\"effect\":\"perhaps\"}," E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1}"},
    {"secret detail key",
     "{\"details\":{\"token\":\"x\"}," E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1}"},
    {"minus zero", "{\"details\":{\"n\":-0}," E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1}"},
    {"trailing bytes", "{" E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1} "},
    {"not an object", "[]"},
    {"empty", ""},
};

static void parser_refuses_non_canonical(void **state)
{
    /* the texts above are otherwise canonical: the same without the flaw parses */
    const char *good = "{" E_ID ",\"kind\":\"request\"," E_TS ",\"v\":1}";
    const char *good2 = "{" E_ID ",\"kind\":\"report.exported\"," E_TS ",\"v\":2}";
    aud_parsed_t p;
    memset(&p, 0, sizeof(p));
    assert_int_equal(aud_event_parse(&p, good, strlen(good), NULL, 0), 0);
    assert_int_equal(p.ev.v, 1);
    assert_int_equal(aud_event_parse(&p, good2, strlen(good2), NULL, 0), 0);
    assert_int_equal(p.ev.v, 2);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char why[200] = "";
        if (aud_event_parse(&p, bad[i].text, strlen(bad[i].text), why, sizeof(why)) !=
            CMN_ERR_PARSE)
            fail_msg("case \"%s\": accepted", bad[i].name);
        if (!why[0])
            fail_msg("case \"%s\": no reason given", bad[i].name);
    }
    aud_parsed_free(&p);
}

static void formats_and_parses_time(void **state)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000000Z"},
        {1714566896123456LL, "2024-05-01T12:34:56.123456Z"},
        {951782400000000LL, "2000-02-29T00:00:00.000000Z"},
        {-1, "1969-12-31T23:59:59.999999Z"},
        {253402300799999999LL, "9999-12-31T23:59:59.999999Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[28];
        aud_time_format(cases[i].us, out);
        assert_string_equal(out, cases[i].text);
        int64_t back;
        assert_int_equal(aud_time_parse(out, 27, &back), 0);
        assert_true(back == cases[i].us);
    }
    int64_t t;
    assert_int_equal(aud_time_parse("2023-02-29T00:00:00.000000Z", 27, &t), CMN_ERR_PARSE);
    assert_int_equal(aud_time_parse("2024-13-01T00:00:00.000000Z", 27, &t), CMN_ERR_PARSE);
    assert_int_equal(aud_time_parse("2024-01-01T24:00:00.000000Z", 27, &t), CMN_ERR_PARSE);
    assert_int_equal(aud_time_parse("2024-01-01 00:00:00.000000Z", 27, &t), CMN_ERR_PARSE);
    assert_int_equal(aud_time_parse("2024-01-01T00:00:00.000000+", 27, &t), CMN_ERR_PARSE);
}

static void ids_are_unique_uuidv7(void **state)
{
    enum { N = 20000 };
    char(*ids)[37] = malloc(N * sizeof(*ids));
    for (int i = 0; i < N; i++) {
        aud_event_t ev;
        aud_event_init(&ev, AUD_KIND_COMPLETION);
        memcpy(ids[i], ev.id, 37);
        assert_int_equal(strlen(ev.id), 36);
        assert_int_equal(ev.id[14], '7');
        assert_true(strchr("89ab", ev.id[19]) != NULL);
    }
    qsort(ids, N, sizeof(*ids), (int (*)(const void *, const void *))strcmp);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

static void stamp_keeps_fields(void **state)
{
    aud_event_t ev;
    fill_full(&ev);
    char first[37];
    memcpy(first, ev.id, 37);
    aud_event_stamp(&ev, AUD_KIND_COMPLETION);
    assert_int_equal(ev.kind, AUD_KIND_COMPLETION);
    assert_string_not_equal(ev.id, first);
    assert_string_equal(ev.actor.sub, "alice");
    assert_int_equal(ev.n_details, 0);
}

static void extracts_columns(void **state)
{
    aud_event_t ev;
    fill_full(&ev);
    aud_columns_t c;
    aud_event_columns(&ev, &c);
    assert_string_equal(c.kind, "request");
    assert_string_equal(c.actor, "alice@acme.example");
    assert_string_equal(c.org, "acme");
    assert_string_equal(c.repo, "acme/bert");
    assert_string_equal(c.action, "read");
    assert_string_equal(c.decision, "allow");
    assert_string_equal(c.rule, "r1");
    assert_int_equal(c.status, 200);
    assert_int_equal(c.ip_family, 4);
    ev.actor.email = NULL;
    ev.client.ip = "2001:db8::1";
    aud_event_columns(&ev, &c);
    assert_string_equal(c.actor, "alice");
    assert_int_equal(c.ip_family, 6);
    ev.client.ip = "not an address";
    ev.response.status = AUD_ABSENT;
    aud_event_columns(&ev, &c);
    assert_null(c.client_ip);
    assert_int_equal(c.ip_family, 0);
    assert_int_equal(c.status, AUD_ABSENT);
}

static void kinds_round_trip(void **state)
{
    for (int k = 0; k < AUD_KIND__COUNT; k++) {
        const char *n = aud_kind_name((aud_kind_t)k);
        assert_non_null(n);
        assert_int_equal(aud_kind_parse(n, strlen(n)), k);
    }
    assert_null(aud_kind_name(AUD_KIND__COUNT));
    assert_int_equal(aud_kind_parse("requests", 8), -1);
}

/* COPY's text format back to the bytes (\\ \t \n \r and friends), in place. */
static size_t copy_unescape(char *s)
{
    char *o = s;
    for (char *i = s; *i; i++) {
        if (*i != '\\' || !i[1]) {
            *o++ = *i;
            continue;
        }
        i++;
        switch (*i) {
        case 't': *o++ = '\t'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'v': *o++ = '\v'; break;
        default: *o++ = *i;
        }
    }
    *o = '\0';
    return (size_t)(o - s);
}

/* Every event the previous release stored (tests/fixtures/db/legacy-0.1.sql, made by hubgate
 * 0.1.0) still parses, as version 1, and re-encodes to exactly its stored bytes: the chain
 * over them keeps verifying. */
static void stored_v1_events_reencode_byte_for_byte(void **state)
{
    const char *src = getenv("HUBGATE_SOURCE_DIR");
    if (!src)
        src = ".";
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/fixtures/db/legacy-0.1.sql", src);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (set HUBGATE_SOURCE_DIR)", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int in_copy = 0, count = 0, kinds_seen[AUD_KIND__COUNT] = {0};
    aud_parsed_t p;
    memset(&p, 0, sizeof(p));
    cmn_buf_t b;
    cmn_buf_init(&b, AUD_MAX_EVENT_BYTES);
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (!in_copy) {
            in_copy = strncmp(line, "COPY public.audit_event ", 24) == 0;
            continue;
        }
        if (strcmp(line, "\\.") == 0)
            break;
        /* stream_id, seq, ts, prev_hash, hash, canonical, … */
        char *field = line;
        for (int i = 0; i < 5 && field; i++) {
            field = strchr(field, '\t');
            field = field ? field + 1 : NULL;
        }
        if (!field)
            fail_msg("%s: an audit_event row without a canonical column", path);
        char *end = strchr(field, '\t');
        if (end)
            *end = '\0';
        size_t len = copy_unescape(field);
        char why[200] = "";
        if (aud_event_parse(&p, field, len, why, sizeof(why)) != 0)
            fail_msg("stored event %d does not parse: %s\n%s", count + 1, why, field);
        assert_int_equal(p.ev.v, 1);
        kinds_seen[p.ev.kind] = 1;
        cmn_buf_clear(&b);
        assert_int_equal(aud_event_encode(&p.ev, &b), 0);
        if (b.len != len || memcmp(b.data, field, len) != 0)
            fail_msg("stored event %d re-encodes differently:\n%s\n%.*s", count + 1, field,
                     (int)b.len, b.data);
        count++;
    }
    free(line);
    fclose(f);
    aud_parsed_free(&p);
    cmn_buf_free(&b);
    /* the fixture holds every kind a gateway of that release wrote in its run */
    assert_true(count >= 15);
    static const aud_kind_t expected[] = {AUD_KIND_REQUEST,      AUD_KIND_COMPLETION,
                                          AUD_KIND_POLICY_LOADED, AUD_KIND_TOKEN_MINTED,
                                          AUD_KIND_TOKEN_REVOKED, AUD_KIND_KEYS_CHANGED,
                                          AUD_KIND_GATEWAY_STARTED, AUD_KIND_GATEWAY_STOPPED};
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        if (!kinds_seen[expected[i]])
            fail_msg("the fixture holds no %s event", aud_kind_name(expected[i]));
}

/* What version 2 events say (docs/evidence-format.md): a refusal's stage and reason code, the
 * git provenance of a policy, an egress completion under its sealed principal. Each round
 * trips through the parser to the same bytes, as version 2. */
static void v2_events_round_trip(void **state)
{
    aud_event_t evs[3];
    aud_event_t *refusal = &evs[0], *loaded = &evs[1], *egress = &evs[2];

    aud_event_init(refusal, AUD_KIND_REQUEST);
    refusal->request_id = "0123456789abcdef0123456789abcdef";
    refusal->client.ip = "192.0.2.7";
    refusal->request.method = "GET";
    refusal->request.path = "/api/models/acme/bert";
    refusal->request.repo_type = "model";
    refusal->request.repo = "acme/bert";
    refusal->request.action = "read";
    refusal->decision.effect = "deny";
    refusal->decision.rule = "authentication";
    refusal->decision.reason = "token expired";
    refusal->response.status = 401;
    assert_int_equal(aud_event_detail_str(refusal, "refused_by", "authentication"), 0);
    assert_int_equal(aud_event_detail_str(refusal, "auth_failure", "expired"), 0);

    aud_event_init(loaded, AUD_KIND_POLICY_LOADED);
    assert_int_equal(aud_event_detail_str(loaded, "trigger", "file_change"), 0);
    assert_int_equal(aud_event_detail_str(loaded, "path", "/etc/hubgate/policy.json"), 0);
    assert_int_equal(aud_event_detail_str(loaded, "sha256", "7af736a54821164aee007e5c1825cfbbbf5193b09aecc783401a84c002c5a30b"), 0);
    assert_int_equal(aud_event_detail_str(loaded, "git_commit", "8b2b98c00a6b4d291155e4890773ca8f769aee53"), 0);
    assert_int_equal(aud_event_detail_str(loaded, "git_author", "Carol Admin <carol@acme.example>"), 0);
    assert_int_equal(aud_event_detail_str(loaded, "git_state", "committed"), 0);

    aud_event_init(egress, AUD_KIND_COMPLETION);
    egress->request_id = "fedcba9876543210fedcba9876543210";
    egress->actor.iss = "https://idp.acme.example";
    egress->actor.sub = "alice";
    egress->actor.email = "alice@acme.example";
    egress->actor.token_id = "tok_kXg7rr23JIHV";
    egress->request.method = "GET";
    egress->request.path = "/-/egress";
    egress->request.repo_type = "model";
    egress->request.repo = "acme/bert";
    egress->request.action = "read";
    egress->decision.effect = "allow";
    egress->decision.org = "acme";
    egress->decision.role = "read";
    egress->decision.region = "eu";
    egress->decision.rule = "orgs.acme.members[0]";
    egress->decision.policy_sha256 = "7af736a54821164aee007e5c1825cfbbbf5193b09aecc783401a84c002c5a30b";
    egress->response.status = 200;
    egress->response.bytes_in = 0;
    egress->response.bytes_out = 1048576;

    cmn_buf_t b, b2;
    cmn_buf_init(&b, AUD_MAX_EVENT_BYTES);
    cmn_buf_init(&b2, AUD_MAX_EVENT_BYTES);
    aud_parsed_t p;
    memset(&p, 0, sizeof(p));
    for (size_t i = 0; i < 3; i++) {
        cmn_buf_clear(&b);
        cmn_buf_clear(&b2);
        assert_int_equal(aud_event_encode(&evs[i], &b), 0);
        assert_true(b.len > 8 && memcmp(b.data + b.len - 6, "\"v\":2}", 6) == 0);
        char why[200] = "";
        if (aud_event_parse(&p, b.data, b.len, why, sizeof(why)) != 0)
            fail_msg("event %zu: %s", i, why);
        assert_int_equal(p.ev.v, 2);
        assert_int_equal(p.ev.kind, evs[i].kind);
        assert_int_equal(aud_event_encode(&p.ev, &b2), 0);
        assert_int_equal(b.len, b2.len);
        assert_memory_equal(b.data, b2.data, b.len);
    }
    /* the refusal, byte for byte: details sort before everything but actor, client, decision */
    cmn_buf_clear(&b);
    memcpy(refusal->id, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", 37);
    refusal->ts_us = 1714566896123456LL;
    assert_int_equal(aud_event_encode(refusal, &b), 0);
    assert_string_equal(
        b.data,
        "{\"client\":{\"ip\":\"192.0.2.7\"},\"decision\":{\"effect\":\"deny\",\"reason\":\"token "
        "expired\",\"rule\":\"authentication\"},\"details\":{\"auth_failure\":\"expired\","
        "\"refused_by\":\"authentication\"},\"id\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\","
        "\"kind\":\"request\",\"request\":{\"action\":\"read\",\"method\":\"GET\",\"path\":"
        "\"/api/models/acme/bert\",\"repo\":\"acme/bert\",\"repo_type\":\"model\"},"
        "\"request_id\":\"0123456789abcdef0123456789abcdef\",\"response\":{\"status\":401},"
        "\"ts\":\"2024-05-01T12:34:56.123456Z\",\"v\":2}");
    aud_parsed_free(&p);
    cmn_buf_free(&b);
    cmn_buf_free(&b2);
}

/* report.exported: a kind of version 2, carrying the auditor and the export's scope; version 1
 * never had it, so neither the encoder nor the parser makes one. */
static void report_exported_is_a_v2_kind(void **state)
{
    assert_string_equal(aud_kind_name(AUD_KIND_REPORT_EXPORTED), "report.exported");
    assert_int_equal(aud_kind_parse("report.exported", 15), AUD_KIND_REPORT_EXPORTED);
    aud_event_t ev;
    aud_event_init(&ev, AUD_KIND_REPORT_EXPORTED);
    memcpy(ev.id, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", 37);
    ev.ts_us = 1714566896123456LL;
    ev.request_id = "00000000000000000000000000000001";
    ev.actor.iss = "https://idp";
    ev.actor.sub = "audrey";
    ev.actor.email = "audrey@audit.example";
    ev.decision.effect = "allow";
    ev.decision.org = "acme";
    ev.decision.role = "auditor";
    ev.decision.rule = "orgs.acme.members[3]";
    assert_int_equal(aud_event_detail_str(&ev, "from", "2026-01-01T00:00:00Z"), 0);
    assert_int_equal(aud_event_detail_str(&ev, "to", "2026-04-01T00:00:00Z"), 0);
    assert_int_equal(aud_event_detail_str(&ev, "org", "acme"), 0);
    assert_int_equal(aud_event_detail_str(&ev, "format", "html"), 0);
    cmn_buf_t b, b2;
    cmn_buf_init(&b, AUD_MAX_EVENT_BYTES);
    cmn_buf_init(&b2, AUD_MAX_EVENT_BYTES);
    assert_int_equal(aud_event_encode(&ev, &b), 0);
    assert_string_equal(
        b.data,
        "{\"actor\":{\"email\":\"audrey@audit.example\",\"iss\":\"https://idp\",\"sub\":\"audrey\"},"
        "\"decision\":{\"effect\":\"allow\",\"org\":\"acme\",\"role\":\"auditor\",\"rule\":"
        "\"orgs.acme.members[3]\"},\"details\":{\"format\":\"html\",\"from\":"
        "\"2026-01-01T00:00:00Z\",\"org\":\"acme\",\"to\":\"2026-04-01T00:00:00Z\"},\"id\":"
        "\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"kind\":\"report.exported\",\"request_id\":"
        "\"00000000000000000000000000000001\",\"ts\":\"2024-05-01T12:34:56.123456Z\",\"v\":2}");
    aud_parsed_t p;
    memset(&p, 0, sizeof(p));
    assert_int_equal(aud_event_parse(&p, b.data, b.len, NULL, 0), 0);
    assert_int_equal(p.ev.kind, AUD_KIND_REPORT_EXPORTED);
    assert_int_equal(aud_event_encode(&p.ev, &b2), 0);
    assert_string_equal(b.data, b2.data);
    aud_parsed_free(&p);
    /* not in version 1, and no other version exists */
    static const int refused_versions[] = {1, 0, 3, -1};
    for (size_t i = 0; i < sizeof(refused_versions) / sizeof(refused_versions[0]); i++) {
        ev.v = refused_versions[i];
        cmn_buf_clear(&b);
        if (aud_event_encode(&ev, &b) != CMN_ERR_INVAL)
            fail_msg("report.exported encoded as version %d", refused_versions[i]);
    }
    aud_event_init(&ev, AUD_KIND_REQUEST);
    ev.v = 3;
    cmn_buf_clear(&b);
    assert_int_equal(aud_event_encode(&ev, &b), CMN_ERR_INVAL);
    cmn_buf_free(&b);
    cmn_buf_free(&b2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_golden_bytes),
        cmocka_unit_test(minimal_event_has_only_required_keys),
        cmocka_unit_test(parse_reencodes_identically),
        cmocka_unit_test(escapes_strings),
        cmocka_unit_test(cuts_long_strings_and_says_so),
        cmocka_unit_test(refuses_secrets),
        cmocka_unit_test(refuses_malformed_events),
        cmocka_unit_test(parser_refuses_non_canonical),
        cmocka_unit_test(formats_and_parses_time),
        cmocka_unit_test(ids_are_unique_uuidv7),
        cmocka_unit_test(stamp_keeps_fields),
        cmocka_unit_test(extracts_columns),
        cmocka_unit_test(kinds_round_trip),
        cmocka_unit_test(stored_v1_events_reencode_byte_for_byte),
        cmocka_unit_test(v2_events_round_trip),
        cmocka_unit_test(report_exported_is_a_v2_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
