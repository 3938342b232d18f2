#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "gateway/headers.h"

#define H(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}
#define MAXH 6

static const struct {
    const char *name;
    const char *method, *version;
    gw_header_t h[MAXH];
    size_t n;
    int want; /* 0 or the status */
    long long cl;
    int chunked;
} framing_cases[] = {
    {"plain GET", "GET", "HTTP/1.1", {H("Host", "x")}, 1, 0, -1, 0},
    {"POST with length", "POST", "HTTP/1.1", {H("Host", "x"), H("Content-Length", "42")}, 2, 0, 42,
     0},
    {"chunked POST", "POST", "HTTP/1.1", {H("Host", "x"), H("Transfer-Encoding", "Chunked")}, 2, 0,
     -1, 1},
    {"HTTP/1.0 without Host", "GET", "HTTP/1.0", {H("Accept", "*/*")}, 1, 0, -1, 0},
    {"duplicate Content-Length", "POST", "HTTP/1.1",
     {H("Host", "x"), H("Content-Length", "5"), H("Content-Length", "6")}, 3, 400, 0, 0},
    {"duplicate equal Content-Length", "POST", "HTTP/1.1",
     {H("Host", "x"), H("Content-Length", "5"), H("Content-Length", "5")}, 3, 400, 0, 0},
    {"CL and TE", "POST", "HTTP/1.1",
     {H("Host", "x"), H("Content-Length", "4"), H("Transfer-Encoding", "chunked")}, 3, 400, 0, 0},
    {"TE gzip, chunked", "POST", "HTTP/1.1",
     {H("Host", "x"), H("Transfer-Encoding", "gzip, chunked")}, 2, 400, 0, 0},
    {"TE identity", "POST", "HTTP/1.1", {H("Host", "x"), H("Transfer-Encoding", "identity")}, 2,
     400, 0, 0},
    {"two TE", "POST", "HTTP/1.1",
     {H("Host", "x"), H("Transfer-Encoding", "chunked"), H("Transfer-Encoding", "chunked")}, 3,
     400, 0, 0},
    {"TE on HTTP/1.0", "POST", "HTTP/1.0", {H("Transfer-Encoding", "chunked")}, 1, 400, 0, 0},
    {"folded TE as MHD 0.9.75 parses it", "POST", "HTTP/1.1",
     {H("Host", "x"), H("Transfer-Encodingchunked", "")}, 2, 400, 0, 0},
    {"space before colon", "POST", "HTTP/1.1",
     {H("Host", "x"), H("Transfer-Encoding ", "chunked")}, 2, 400, 0, 0},
    {"CL with sign", "POST", "HTTP/1.1", {H("Host", "x"), H("Content-Length", "+5")}, 2, 400, 0,
     0},
    {"CL hex", "POST", "HTTP/1.1", {H("Host", "x"), H("Content-Length", "0x5")}, 2, 400, 0, 0},
    {"CL huge", "POST", "HTTP/1.1", {H("Host", "x"), H("Content-Length", "9999999999999999999")},
     2, 400, 0, 0},
    {"bare CR in value", "GET", "HTTP/1.1", {H("Host", "x"), H("X-A", "a\rb")}, 2, 400, 0, 0},
    {"two Host", "GET", "HTTP/1.1", {H("Host", "x"), H("Host", "y")}, 2, 400, 0, 0},
    {"no Host on 1.1", "GET", "HTTP/1.1", {H("Accept", "*/*")}, 1, 400, 0, 0},
    {"HTTP/1.2", "GET", "HTTP/1.2", {H("Host", "x")}, 1, 505, 0, 0},
    {"lowercase method", "get", "HTTP/1.1", {H("Host", "x")}, 1, 501, 0, 0},
    {"control char method", "G\x01T", "HTTP/1.1", {H("Host", "x")}, 1, 501, 0, 0},
    {"TRACE refused", "TRACE", "HTTP/1.1", {H("Host", "x")}, 1, 501, 0, 0},
    {"header name with slash", "GET", "HTTP/1.1", {H("Host", "x"), H("X/A", "1")}, 2, 400, 0, 0},
    {"zero length is no body", "PUT", "HTTP/1.1", {H("Host", "x"), H("Content-Length", "0")}, 2,
     0, 0, 0},
};

static void framing(void **state)
{
    for (size_t i = 0; i < sizeof(framing_cases) / sizeof(framing_cases[0]); i++) {
        gw_framing_t f = {0};
        const char *reason = NULL;
        int got = gw_headers_check_request(framing_cases[i].method, framing_cases[i].version,
                                           framing_cases[i].h, framing_cases[i].n, &f, &reason);
        if (got != framing_cases[i].want)
            fail_msg("case \"%s\": got %d (%s), want %d", framing_cases[i].name, got,
                     reason ? reason : "-", framing_cases[i].want);
        if (got == 0 && (f.content_length != framing_cases[i].cl ||
                         f.chunked != framing_cases[i].chunked))
            fail_msg("case \"%s\": framing cl=%lld chunked=%d", framing_cases[i].name,
                     f.content_length, f.chunked);
    }
}

static void upstream_headers_drop_credentials_and_framing(void **state)
{
    gw_header_t h[] = {
        H("Host", "gw"),
        H("Authorization", "Bearer hf_client_secret"),
        H("Cookie", "session=abc"),
        H("Connection", "keep-alive, X-Drop-Me"),
        H("X-Drop-Me", "1"),
        H("Content-Length", "5"),
        H("X-Forwarded-For", "1.2.3.4"),
        H("X-Hubgate-Identity", "forged"),
        H("Range", "bytes=0-0"),
        H("User-Agent", "hf_hub/1.0"),
        H("X-Empty", ""),
    };
    gw_forward_t fwd = {.credential = "Bearer hf_region",
                        .request_id = "rid1",
                        .forwarded_for = "10.0.0.5",
                        .forwarded_proto = "https"};
    struct curl_slist *list = NULL;
    assert_int_equal(gw_headers_upstream(h, sizeof(h) / sizeof(h[0]), &fwd, &list), 0);
    char all[4096] = "";
    for (struct curl_slist *l = list; l; l = l->next) {
        strcat(all, l->data);
        strcat(all, "\n");
    }
    curl_slist_free_all(list);
    assert_string_equal(all, "Range: bytes=0-0\n"
                             "User-Agent: hf_hub/1.0\n"
                             "X-Empty;\n"
                             "Accept:\n"
                             "Content-Type:\n"
                             "Expect:\n"
                             "Authorization: Bearer hf_region\n"
                             "X-Request-Id: rid1\n"
                             "X-Forwarded-For: 10.0.0.5\n"
                             "X-Forwarded-Proto: https\n");
}

typedef struct {
    char out[4096];
} collect_t;

static int collect(void *ctx, const char *name, const char *value)
{
    collect_t *c = ctx;
    size_t n = strlen(c->out);
    snprintf(c->out + n, sizeof(c->out) - n, "%s=%s\n", name, value);
    return 0;
}

static void response_headers_filtered_and_rewritten(void **state)
{
    const char block[] =
        "Content-Type: application/json\r\n"
        "Content-Length: 10\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Connection: keep-alive\r\n"
        "Set-Cookie: token=svc\r\n"
        "X-Repo-Commit: abc123\r\n"
        "ETag: \"e1\"\r\n"
        "X-Empty:\r\n"
        "Location: http://127.0.0.1:9000/api/models?p=2\r\n"
        "Link: <http://127.0.0.1:9000/api/models?cursor=x>; rel=\"next\", "
        "<http://127.0.0.1:9000/api/models/a/b/xet-read-token/main>; rel=\"xet-auth\"\r\n"
        "X-Xet-Hash: deadbeef\r\n"
        "X-Error-Code: EntryNotFound\r\n"
        "Location2: http://127.0.0.1:9000/x\r\n"
        "X-Other: http://127.0.0.1:90001/not-ours\r\n";
    gw_rewrite_t rw = {.upstream = "http://127.0.0.1:9000", .public_url = "https://gw.example"};
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    collect_t c = {""};
    assert_int_equal(gw_headers_response(block, sizeof(block) - 1, &rw, &a, collect, &c), 0);
    assert_string_equal(c.out, "Content-Type=application/json\n"
                               "X-Repo-Commit=abc123\n"
                               "ETag=\"e1\"\n"
                               "Location=https://gw.example/api/models?p=2\n"
                               "Link=<https://gw.example/api/models?cursor=x>; rel=\"next\"\n"
                               "X-Error-Code=EntryNotFound\n"
                               "Location2=http://127.0.0.1:9000/x\n"
                               "X-Other=http://127.0.0.1:90001/not-ours\n");
    /* with Xet enabled the hints stay (and are rewritten) */
    rw.xet_enabled = 1;
    collect_t d = {""};
    assert_int_equal(gw_headers_response(block, sizeof(block) - 1, &rw, &a, collect, &d), 0);
    assert_non_null(strstr(d.out, "X-Xet-Hash=deadbeef\n"));
    assert_non_null(strstr(d.out, "<https://gw.example/api/models/a/b/xet-read-token/main>; "
                                  "rel=\"xet-auth\""));
    cmn_arena_free(&a);
}

static void response_header_injection_refused(void **state)
{
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    gw_rewrite_t rw = {.upstream = "http://u", .public_url = "https://g"};
    collect_t c = {""};
    const char folded[] = "X-A: 1\r\n continued\r\n";
    assert_int_equal(gw_headers_response(folded, sizeof(folded) - 1, &rw, &a, collect, &c),
                     CMN_ERR_PARSE);
    const char bare_cr[] = "X-A: a\rInjected: 1\r\n";
    assert_int_equal(gw_headers_response(bare_cr, sizeof(bare_cr) - 1, &rw, &a, collect, &c),
                     CMN_ERR_PARSE);
    const char noname[] = ": v\r\n";
    assert_int_equal(gw_headers_response(noname, sizeof(noname) - 1, &rw, &a, collect, &c),
                     CMN_ERR_PARSE);
    cmn_arena_free(&a);
}

static void rewrite_url_needs_a_boundary(void **state)
{
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    gw_rewrite_t rw = {.upstream = "https://hub.example", .public_url = "https://gw.example"};
    assert_string_equal(gw_headers_rewrite_url(&rw, "https://hub.example", 19, &a),
                        "https://gw.example");
    assert_string_equal(gw_headers_rewrite_url(&rw, "https://hub.example/a", 21, &a),
                        "https://gw.example/a");
    assert_string_equal(gw_headers_rewrite_url(&rw, "https://hub.example.evil/a", 26, &a),
                        "https://hub.example.evil/a");
    assert_string_equal(gw_headers_rewrite_url(&rw, "/relative", 9, &a), "/relative");
    cmn_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(framing),
        cmocka_unit_test(upstream_headers_drop_credentials_and_framing),
        cmocka_unit_test(response_headers_filtered_and_rewritten),
        cmocka_unit_test(response_header_injection_refused),
        cmocka_unit_test(rewrite_url_needs_a_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
