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
    assert_string_equal(gw_headers_rewrite_url(&rw, "https://hub.example", 19, "GET", &a),
                        "https://gw.example");
    assert_string_equal(
        gw_headers_rewrite_url(&rw, "https://hub.example/api/models", 30, "GET", &a),
        "https://gw.example/api/models");
    assert_string_equal(gw_headers_rewrite_url(&rw, "https://hub.example.evil/a", 26, "GET", &a),
                        "https://hub.example.evil/a");
    assert_string_equal(gw_headers_rewrite_url(&rw, "/relative", 9, "GET", &a), "/relative");
    cmn_arena_free(&a);
}

/* What each URL an answer can carry becomes: Hub routes go to public_url (judged on use),
 * everything else, the upstream's own storage paths included, is for the egress callback. */
static void url_kinds(void **state)
{
    static const struct {
        const char *name, *upstream, *base, *url, *method;
        gw_url_kind_t want;
        const char *out;
    } cases[] = {
        {"listing", NULL, NULL, "http://127.0.0.1:9000/api/models?p=2", "GET", GW_URL_HUB,
         "https://gw.example/api/models?p=2"},
        {"resolve", NULL, NULL, "http://127.0.0.1:9000/acme/bert/resolve/main/x", "GET", GW_URL_HUB,
         "https://gw.example/acme/bert/resolve/main/x"},
        {"LFS verify", NULL, NULL, "http://127.0.0.1:9000/acme/bert.git/info/lfs/objects/verify",
         "POST", GW_URL_HUB, "https://gw.example/acme/bert.git/info/lfs/objects/verify"},
        {"the root", NULL, NULL, "http://127.0.0.1:9000", "GET", GW_URL_HUB, "https://gw.example"},
        {"same-origin storage", NULL, NULL, "http://127.0.0.1:9000/storage/lfs/ab?sig=1", "GET",
         GW_URL_FOREIGN, "http://127.0.0.1:9000/storage/lfs/ab?sig=1"},
        {"same-origin upload", NULL, NULL, "http://127.0.0.1:9000/lfs-upload/ab/12", "PUT",
         GW_URL_FOREIGN, "http://127.0.0.1:9000/lfs-upload/ab/12"},
        {"scheme and host case", NULL, NULL, "HTTP://127.0.0.1:9000/storage/x", "GET",
         GW_URL_FOREIGN, "HTTP://127.0.0.1:9000/storage/x"},
        {"an API route hubgate does not know", NULL, NULL, "http://127.0.0.1:9000/api/new-thing",
         "GET", GW_URL_HUB, "https://gw.example/api/new-thing"},
        {"the API namespace in capitals", NULL, NULL, "http://127.0.0.1:9000/API/models/a/b",
         "GET", GW_URL_HUB, "https://gw.example/API/models/a/b"},
        {"an OAuth route", NULL, NULL, "http://127.0.0.1:9000/oauth/other", "GET", GW_URL_HUB,
         "https://gw.example/oauth/other"},
        {"ambiguous: never sealed", NULL, NULL,
         "http://127.0.0.1:9000/storage/../api/models/acme/bert", "GET", GW_URL_HUB,
         "https://gw.example/storage/../api/models/acme/bert"},
        {"encoded letters: never sealed", NULL, NULL, "http://127.0.0.1:9000/%61pi/x", "GET",
         GW_URL_HUB, "https://gw.example/%61pi/x"},
        {"another port", NULL, NULL, "http://127.0.0.1:80/api/models", "GET", GW_URL_FOREIGN,
         "http://127.0.0.1:80/api/models"},
        {"default port written out", "https://hub.example", NULL,
         "https://HUB.example:443/api/models", "GET", GW_URL_HUB, "https://gw.example/api/models"},
        {"credentials in the authority", NULL, NULL, "http://127.0.0.1:9000@evil.example/x", "GET",
         GW_URL_FOREIGN, "http://127.0.0.1:9000@evil.example/x"},
        {"a CDN", NULL, NULL, "https://cdn.example/x?sig=1", "GET", GW_URL_FOREIGN,
         "https://cdn.example/x?sig=1"},
        {"network-path reference", NULL, NULL, "//cdn.example/x", "GET", GW_URL_FOREIGN,
         "http://cdn.example/x"},
        {"network-path reference to the upstream", NULL, NULL, "//127.0.0.1:9000/api/models", "GET",
         GW_URL_HUB, "https://gw.example/api/models"},
        {"relative, no base", NULL, NULL, "/relative?x", "GET", GW_URL_KEEP, "/relative?x"},
        {"another scheme", NULL, NULL, "mailto:a@b.example", "GET", GW_URL_KEEP,
         "mailto:a@b.example"},
        {"relative to storage", NULL, "https://cdn.example/a/b?sig=1", "../c?x", "GET",
         GW_URL_FOREIGN, "https://cdn.example/c?x"},
        {"absolute path on storage", NULL, "https://cdn.example/a/b", "/api/models", "GET",
         GW_URL_FOREIGN, "https://cdn.example/api/models"},
        {"storage back to the hub", NULL, "https://cdn.example/a/b",
         "http://127.0.0.1:9000/api/models", "GET", GW_URL_HUB, "https://gw.example/api/models"},
        {"backslash", NULL, NULL, "/\\evil.example/x", "GET", GW_URL_ERROR, NULL},
        {"tab", NULL, NULL, "/\t/evil.example/x", "GET", GW_URL_ERROR, NULL},
        {"http without slashes", NULL, NULL, "https:evil.example/x", "GET", GW_URL_ERROR, NULL},
        {"under the upstream's base path", "http://127.0.0.1:9000/hub", NULL,
         "http://127.0.0.1:9000/hub/api/models", "GET", GW_URL_HUB,
         "https://gw.example/api/models"},
        {"beside the upstream's base path", "http://127.0.0.1:9000/hub", NULL,
         "http://127.0.0.1:9000/other/api/models", "GET", GW_URL_FOREIGN,
         "http://127.0.0.1:9000/other/api/models"},
        {"a longer base path", "http://127.0.0.1:9000/hub", NULL,
         "http://127.0.0.1:9000/hubx/api/models", "GET", GW_URL_FOREIGN,
         "http://127.0.0.1:9000/hubx/api/models"},
    };
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_rewrite_t rw = {.upstream =
                               cases[i].upstream ? cases[i].upstream : "http://127.0.0.1:9000",
                           .public_url = "https://gw.example",
                           .base = cases[i].base};
        const char *out = NULL;
        gw_url_kind_t k =
            gw_headers_url_kind(&rw, cases[i].url, strlen(cases[i].url), cases[i].method, &a, &out);
        if (k != cases[i].want || !out != !cases[i].out || (out && strcmp(out, cases[i].out) != 0))
            fail_msg("case \"%s\": kind %d \"%s\", want %d \"%s\"", cases[i].name, (int)k,
                     out ? out : "(null)", (int)cases[i].want,
                     cases[i].out ? cases[i].out : "(null)");
    }
    cmn_arena_free(&a);
}

static const char *refuse_all(void *ctx, const char *url, size_t len, const char *method)
{
    (void)url;
    (void)len;
    (void)method;
    ++*(int *)ctx;
    return NULL;
}

/* A foreign URL anywhere in the head (Location, Content-Location, Link) refuses the answer;
 * Hub routes and relative references do not reach the callback. */
static void foreign_urls_reach_the_callback(void **state)
{
    int calls = 0;
    gw_rewrite_t rw = {.upstream = "http://127.0.0.1:9000",
                       .public_url = "https://gw.example",
                       .foreign = refuse_all,
                       .foreign_ctx = &calls};
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    static const char ok[] = "Location: /relative\r\n"
                             "Link: <http://127.0.0.1:9000/api/models?cursor=x>; rel=\"next\"\r\n";
    collect_t c = {""};
    assert_int_equal(gw_headers_response(ok, sizeof(ok) - 1, &rw, &a, collect, &c), 0);
    assert_int_equal(calls, 0);
    static const char *const bad[] = {
        "Location: http://127.0.0.1:8080/.well-known/openid-configuration\r\n",
        "Content-Location: https://cdn.example/x\r\n",
        "Link: <http://127.0.0.1:9000/api/models>; rel=\"a\", <//evil.example/x>; rel=\"b\"\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        collect_t d = {""};
        if (gw_headers_response(bad[i], strlen(bad[i]), &rw, &a, collect, &d) == 0)
            fail_msg("case %zu: accepted: %s", i, d.out);
    }
    assert_int_equal(calls, 3);
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
        cmocka_unit_test(url_kinds),
        cmocka_unit_test(foreign_urls_reach_the_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
