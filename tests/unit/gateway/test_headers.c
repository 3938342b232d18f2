#include <stdio.h>
#include <string.h>

#include "support/testutil.h"

#include "common/err.h"
#include "gateway/forward/rewrite.h"
#include "gateway/http/headers.h"

#define H(n, v)                                                                                    \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                         \
    }
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
    {"POST with length",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Content-Length", "42")},
     2,
     0,
     42,
     0},
    {"chunked POST",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Transfer-Encoding", "Chunked")},
     2,
     0,
     -1,
     1},
    {"HTTP/1.0 without Host", "GET", "HTTP/1.0", {H("Accept", "*/*")}, 1, 0, -1, 0},
    {"duplicate Content-Length",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Content-Length", "5"), H("Content-Length", "6")},
     3,
     400,
     0,
     0},
    {"duplicate equal Content-Length",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Content-Length", "5"), H("Content-Length", "5")},
     3,
     400,
     0,
     0},
    {"CL and TE",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Content-Length", "4"), H("Transfer-Encoding", "chunked")},
     3,
     400,
     0,
     0},
    {"TE gzip, chunked",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Transfer-Encoding", "gzip, chunked")},
     2,
     400,
     0,
     0},
    {"TE identity",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Transfer-Encoding", "identity")},
     2,
     400,
     0,
     0},
    {"two TE",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Transfer-Encoding", "chunked"), H("Transfer-Encoding", "chunked")},
     3,
     400,
     0,
     0},
    {"TE on HTTP/1.0", "POST", "HTTP/1.0", {H("Transfer-Encoding", "chunked")}, 1, 400, 0, 0},
    {"folded TE as MHD 0.9.75 parses it",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Transfer-Encodingchunked", "")},
     2,
     400,
     0,
     0},
    {"space before colon",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Transfer-Encoding ", "chunked")},
     2,
     400,
     0,
     0},
    {"CL with sign", "POST", "HTTP/1.1", {H("Host", "x"), H("Content-Length", "+5")}, 2, 400, 0, 0},
    {"CL hex", "POST", "HTTP/1.1", {H("Host", "x"), H("Content-Length", "0x5")}, 2, 400, 0, 0},
    {"CL huge",
     "POST",
     "HTTP/1.1",
     {H("Host", "x"), H("Content-Length", "9999999999999999999")},
     2,
     400,
     0,
     0},
    {"bare CR in value", "GET", "HTTP/1.1", {H("Host", "x"), H("X-A", "a\rb")}, 2, 400, 0, 0},
    {"two Host", "GET", "HTTP/1.1", {H("Host", "x"), H("Host", "y")}, 2, 400, 0, 0},
    {"no Host on 1.1", "GET", "HTTP/1.1", {H("Accept", "*/*")}, 1, 400, 0, 0},
    {"HTTP/1.2", "GET", "HTTP/1.2", {H("Host", "x")}, 1, 505, 0, 0},
    {"lowercase method", "get", "HTTP/1.1", {H("Host", "x")}, 1, 501, 0, 0},
    {"control char method", "G\x01T", "HTTP/1.1", {H("Host", "x")}, 1, 501, 0, 0},
    {"TRACE refused", "TRACE", "HTTP/1.1", {H("Host", "x")}, 1, 501, 0, 0},
    {"header name with slash", "GET", "HTTP/1.1", {H("Host", "x"), H("X/A", "1")}, 2, 400, 0, 0},
    {"zero length is no body",
     "PUT",
     "HTTP/1.1",
     {H("Host", "x"), H("Content-Length", "0")},
     2,
     0,
     0,
     0},
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
        if (got == 0 &&
            (f.content_length != framing_cases[i].cl || f.chunked != framing_cases[i].chunked))
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
        H("X-Forwarded-Host", "evil.example"),
        H("X-Hubgate-Identity", "forged"),
        H("Range", "bytes=0-0"),
        H("User-Agent", "hf_hub/1.0"),
        H("If-None-Match", ""),
        H("X-Empty", ""),
    };
    gw_forward_t fwd = {.credential = "Bearer hf_region",
                        .request_id = "rid1",
                        .forwarded_for = "10.0.0.5",
                        .forwarded_proto = "https",
                        .forwarded_host = "hub.corp.example"};
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
                             "If-None-Match;\n"
                             "Accept:\n"
                             "Content-Type:\n"
                             "Expect:\n"
                             "Authorization: Bearer hf_region\n"
                             "X-Request-Id: rid1\n"
                             "X-Forwarded-For: 10.0.0.5\n"
                             "X-Forwarded-Proto: https\n"
                             "X-Forwarded-Host: hub.corp.example\n");
}

/* The Accept a request forwards with a media type removed (Xet file information). */
static const char *accept_sent(const char *value, const char *drop, char *all, size_t cap)
{
    gw_header_t h[] = {{"Accept", 6, value, strlen(value)}};
    gw_forward_t fwd = {.drop_accept_type = drop};
    struct curl_slist *list = NULL;
    assert_int_equal(gw_headers_upstream(h, 1, &fwd, &list), 0);
    *all = '\0';
    for (struct curl_slist *l = list; l; l = l->next) {
        if (strncmp(l->data, "Accept", 6) == 0)
            snprintf(all, cap, "%s", l->data);
    }
    curl_slist_free_all(list);
    return all;
}

static void accept_without_xet_fileinfo(void **state)
{
    (void)state;
    char a[512];
    const char *x = "application/vnd.xet-fileinfo+json";
    /* what @huggingface/hub sends on resolve */
    assert_string_equal(accept_sent("application/vnd.xet-fileinfo+json, */*", x, a, sizeof a),
                        "Accept: */*");
    assert_string_equal(
        accept_sent("text/html;q=0.9 ,Application/VND.Xet-FileInfo+JSON ; q=1,*/*;q=0.1", x, a,
                    sizeof a),
        "Accept: text/html;q=0.9, */*;q=0.1");
    /* only that type: sent as if the client had sent no Accept */
    assert_string_equal(accept_sent(" application/vnd.xet-fileinfo+json ", x, a, sizeof a),
                        "Accept:");
    /* a longer name is another type */
    assert_string_equal(accept_sent("application/vnd.xet-fileinfo+jsonx", x, a, sizeof a),
                        "Accept: application/vnd.xet-fileinfo+jsonx");
    /* nothing to remove: the value as it came */
    assert_string_equal(accept_sent("application/json", x, a, sizeof a),
                        "Accept: application/json");
    assert_string_equal(accept_sent("application/vnd.xet-fileinfo+json, */*", NULL, a, sizeof a),
                        "Accept: application/vnd.xet-fileinfo+json, */*");
}

/* What happens to each request header: forwarded (NULL) or dropped with its metrics class. */
static const struct {
    const char *name, *value;
    int parsed_answer; /* the route's answer is rewritten or filtered */
    const char *want;
} request_cases[] = {
    /* what Hub clients send */
    {"Accept", "application/vnd.git-lfs+json", 0, NULL},
    {"accept", "*/*", 1, NULL},
    {"Accept-Encoding", "gzip, deflate", 0, NULL},
    {"Accept-Language", "*", 0, NULL},
    {"Cache-Control", "no-cache", 0, NULL},
    {"Pragma", "no-cache", 0, NULL},
    {"Content-Type", "application/x-ndjson", 0, NULL},
    {"Content-Encoding", "gzip", 0, NULL},
    {"Git-Protocol", "version=2", 0, NULL},
    {"Range", "bytes=0-0", 0, NULL},
    {"If-Range", "\"etag\"", 0, NULL},
    {"If-None-Match", "\"etag\"", 0, NULL},
    {"If-Match", "\"etag\"", 0, NULL},
    {"If-Modified-Since", "Thu, 01 Jan 2026 00:00:00 GMT", 0, NULL},
    {"If-Unmodified-Since", "Thu, 01 Jan 2026 00:00:00 GMT", 0, NULL},
    {"User-Agent", "git/2.39.5", 0, NULL},
    {"user-agent", "git-lfs/3.3.0", 1, NULL},
    /* where hubgate parses the answer, it asks for all of it and unencoded */
    {"Accept-Encoding", "gzip", 1, GW_HDR_REPLACED},
    {"Range", "bytes=0-10", 1, "range"},
    {"If-Range", "\"e\"", 1, "range"},
    {"If-None-Match", "\"e\"", 1, "conditional"},
    {"If-Modified-Since", "Thu, 01 Jan 2026 00:00:00 GMT", 1, "conditional"},
    /* consumed or replaced by hubgate */
    {"Host", "gw", 0, GW_HDR_FRAMING},
    {"Content-Length", "5", 0, GW_HDR_FRAMING},
    {"Transfer-Encoding", "chunked", 0, GW_HDR_FRAMING},
    {"Expect", "100-continue", 0, GW_HDR_FRAMING},
    {"Authorization", "Bearer x", 0, GW_HDR_AUTHENTICATED},
    /* never forwarded */
    {"Connection", "keep-alive", 0, "hop_by_hop"},
    {"Keep-Alive", "timeout=5", 0, "hop_by_hop"},
    {"TE", "trailers", 0, "hop_by_hop"},
    {"Upgrade", "websocket", 0, "hop_by_hop"},
    {"Proxy-Connection", "keep-alive", 0, "hop_by_hop"},
    {"Cookie", "session=abc", 0, "credential"},
    {"Proxy-Authorization", "Basic eA==", 0, "credential"},
    {"X-Api-Key", "k", 0, "credential"},
    {"X-Hubgate-Identity", "forged", 0, "identity_claim"},
    {"X-Forwarded-User", "admin", 0, "identity_claim"},
    {"X-Forwarded-Email", "admin@acme.example", 0, "identity_claim"},
    {"X-Forwarded-Groups", "acme-admins", 0, "identity_claim"},
    {"X-Forwarded-Preferred-Username", "admin", 0, "identity_claim"},
    {"X-Forwarded-Access-Token", "t", 0, "identity_claim"},
    {"X-Auth-Request-Email", "admin@acme.example", 0, "identity_claim"},
    {"X-Auth-Request-User", "admin", 0, "identity_claim"},
    {"X-Auth-Request-Groups", "acme-admins", 0, "identity_claim"},
    {"Remote-User", "admin", 0, "identity_claim"},
    {"X-Remote-User", "admin", 0, "identity_claim"},
    {"X-Remote-Group", "admins", 0, "identity_claim"},
    {"X-Pomerium-Jwt-Assertion", "eyJ", 0, "identity_claim"},
    {"X-Pomerium-Claim-Email", "admin@acme.example", 0, "identity_claim"},
    {"X-Amzn-Oidc-Data", "eyJ", 0, "identity_claim"},
    {"Cf-Access-Jwt-Assertion", "eyJ", 0, "identity_claim"},
    {"X-Goog-Authenticated-User-Email", "a", 0, "identity_claim"},
    {"X-MS-Client-Principal-Name", "a", 0, "identity_claim"},
    {"X-HTTP-Method-Override", "DELETE", 0, "override"},
    {"X-HTTP-Method", "DELETE", 0, "override"},
    {"X-Method-Override", "DELETE", 0, "override"},
    {"X-Original-URL", "/api/repos/delete", 0, "override"},
    {"X-Rewrite-URL", "/api/repos/delete", 0, "override"},
    {"X-Original-URI", "/x", 0, "override"},
    {"X-Middleware-Subrequest", "middleware", 0, "override"},
    {"X-HF-Bill-To", "acme", 0, "override"},
    {"X-Forwarded-For", "1.2.3.4", 0, "forwarding"},
    {"X-Forwarded-Host", "evil.example", 0, "forwarding"},
    {"X-Forwarded-Proto", "https", 0, "forwarding"},
    {"X-Forwarded-Port", "443", 0, "forwarding"},
    {"X-Forwarded-Prefix", "/x", 0, "forwarding"},
    {"Forwarded", "for=1.2.3.4", 0, "forwarding"},
    {"Via", "1.1 proxy", 0, "forwarding"},
    {"X-Real-IP", "1.2.3.4", 0, "forwarding"},
    {"True-Client-IP", "1.2.3.4", 0, "forwarding"},
    {"X-Request-Id", "abc", 0, "forwarding"},
    {"X-Amzn-Trace-Id", "Root=1", 0, "forwarding"},
    {"X-Xet-Session-Id", "s", 0, "other"},
    {"Origin", "https://evil.example", 0, "other"},
    {"Sec-Fetch-Mode", "cors", 0, "other"},
    {"X-Custom", "1", 0, "other"},
    {"X-Forwarded", "1", 0, "other"},
    {"X-Hubgate-", "1", 0, "other"},
};

static void request_header_classes(void **state)
{
    for (size_t i = 0; i < sizeof(request_cases) / sizeof(request_cases[0]); i++) {
        gw_header_t x = {request_cases[i].name, strlen(request_cases[i].name),
                         request_cases[i].value, strlen(request_cases[i].value)};
        const char *got = gw_headers_request_class(&x, 1, &x, request_cases[i].parsed_answer);
        const char *want = request_cases[i].want;
        if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
            fail_msg("case \"%s: %s\" (parsed %d): got %s, want %s", request_cases[i].name,
                     request_cases[i].value, request_cases[i].parsed_answer,
                     got ? got : "forwarded", want ? want : "forwarded");
    }
    /* a header named in Connection is hop-by-hop, even one on the allow-list */
    gw_header_t h[] = {H("Connection", "close, Range"), H("Range", "bytes=0-0")};
    assert_string_equal(gw_headers_request_class(h, 2, &h[1], 0), "hop_by_hop");
}

static const char *drops[16];
static size_t ndrops;

static void record_drop(const char *cls)
{
    if (ndrops < 16)
        drops[ndrops++] = cls;
}

static void upstream_headers_for_a_parsed_answer(void **state)
{
    gw_header_t h[] = {
        H("Host", "gw"),
        H("Authorization", "Bearer hf_client_secret"),
        H("Accept", "application/vnd.git-lfs+json"),
        H("Accept-Encoding", "gzip"),
        H("Range", "bytes=0-10"),
        H("If-None-Match", "\"e\""),
        H("X-HTTP-Method-Override", "DELETE"),
        H("Remote-User", "admin"),
        H("Connection", "keep-alive"),
    };
    gw_forward_t fwd = {.request_id = "rid1", .parsed_answer = 1, .dropped = record_drop};
    struct curl_slist *list = NULL;
    ndrops = 0;
    assert_int_equal(gw_headers_upstream(h, sizeof(h) / sizeof(h[0]), &fwd, &list), 0);
    char all[4096] = "";
    for (struct curl_slist *l = list; l; l = l->next) {
        strcat(all, l->data);
        strcat(all, "\n");
    }
    curl_slist_free_all(list);
    assert_string_equal(all, "Accept: application/vnd.git-lfs+json\n"
                             "Content-Type:\n"
                             "Expect:\n"
                             "Accept-Encoding: identity\n"
                             "X-Request-Id: rid1\n");
    /* framing, the credential and the replaced Accept-Encoding are not counted as drops */
    assert_int_equal(ndrops, 5);
    assert_string_equal(drops[0], "range");
    assert_string_equal(drops[1], "conditional");
    assert_string_equal(drops[2], "override");
    assert_string_equal(drops[3], "identity_claim");
    assert_string_equal(drops[4], "hop_by_hop");
}

static void public_origin(void **state)
{
    cmn_arena_t *a = *state;
    const char *proto = NULL, *host = NULL;
    assert_int_equal(gw_headers_public_origin("https://hub.corp.example", a, &proto, &host), 0);
    assert_string_equal(proto, "https");
    assert_string_equal(host, "hub.corp.example");
    assert_int_equal(gw_headers_public_origin("http://127.0.0.1:8080/hub", a, &proto, &host), 0);
    assert_string_equal(proto, "http");
    assert_string_equal(host, "127.0.0.1:8080");
    assert_int_equal(gw_headers_public_origin("ftp://x", a, &proto, &host), CMN_ERR_PARSE);
    assert_int_equal(gw_headers_public_origin("https://", a, &proto, &host), CMN_ERR_PARSE);
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
        "x-xet-cas-url: http://127.0.0.1:9001\r\n"
        "X-Xet-Access-Token: ut_secret\r\n"
        "X-Xet-Token-Expiration: 1900000000\r\n"
        "X-Xet-Refresh-Route: /api/models/a/b/xet-read-token/main\r\n"
        "X-Error-Code: EntryNotFound\r\n"
        "Location2: http://127.0.0.1:9000/x\r\n"
        "X-Other: http://127.0.0.1:90001/not-ours\r\n";
    gw_rewrite_t rw = {.upstream = "http://127.0.0.1:9000", .public_url = "https://gw.example"};
    cmn_arena_t *a = *state;
    collect_t c = {""};
    assert_int_equal(gw_rewrite_response(block, sizeof(block) - 1, &rw, a, collect, &c), 0);
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
    assert_int_equal(gw_rewrite_response(block, sizeof(block) - 1, &rw, a, collect, &d), 0);
    assert_non_null(strstr(d.out, "X-Xet-Hash=deadbeef\n"));
    assert_non_null(strstr(d.out, "X-Xet-Refresh-Route=/api/models/a/b/xet-read-token/main\n"));
    /* ... but never the upstream's own Xet token or CAS */
    assert_null(strstr(d.out, "ut_secret"));
    assert_null(strstr(d.out, "9001"));
    assert_null(strstr(d.out, "1900000000"));
    assert_non_null(strstr(d.out, "<https://gw.example/api/models/a/b/xet-read-token/main>; "
                                  "rel=\"xet-auth\""));
}

/* With Xet carried, the reconstruction link leads to hubgate's CAS; one it cannot place goes. */
static void xet_reconstruction_link(void **state)
{
    cmn_arena_t *a = *state;
    const char block[] =
        "Link: <http://127.0.0.1:9000/api/models/a/b/xet-read-token/c0ffee>; rel=\"xet-auth\", "
        "<https://cas.example/v1/reconstructions/ab12>; rel=\"xet-reconstruction-info\", "
        "<https://cas.example/elsewhere/ab12>; rel=\"xet-reconstruction-info\", "
        "<http://127.0.0.1:9000/api/models?cursor=x>; rel=\"next\"\r\n";
    gw_rewrite_t rw = {.upstream = "http://127.0.0.1:9000",
                       .public_url = "https://gw.example",
                       .xet_enabled = 1};
    collect_t c = {""};
    assert_int_equal(gw_rewrite_response(block, sizeof(block) - 1, &rw, a, collect, &c), 0);
    assert_string_equal(c.out,
                        "Link=<https://gw.example/api/models/a/b/xet-read-token/c0ffee>; "
                        "rel=\"xet-auth\", <https://gw.example/-/xet/cas/v1/reconstructions/ab12>; "
                        "rel=\"xet-reconstruction-info\", <https://gw.example/api/models?cursor=x>; "
                        "rel=\"next\"\n");
}

static void response_header_injection_refused(void **state)
{
    cmn_arena_t *a = *state;
    gw_rewrite_t rw = {.upstream = "http://u", .public_url = "https://g"};
    collect_t c = {""};
    const char folded[] = "X-A: 1\r\n continued\r\n";
    assert_int_equal(gw_rewrite_response(folded, sizeof(folded) - 1, &rw, a, collect, &c),
                     CMN_ERR_PARSE);
    const char bare_cr[] = "X-A: a\rInjected: 1\r\n";
    assert_int_equal(gw_rewrite_response(bare_cr, sizeof(bare_cr) - 1, &rw, a, collect, &c),
                     CMN_ERR_PARSE);
    const char noname[] = ": v\r\n";
    assert_int_equal(gw_rewrite_response(noname, sizeof(noname) - 1, &rw, a, collect, &c),
                     CMN_ERR_PARSE);
}

static void rewrite_url_needs_a_boundary(void **state)
{
    cmn_arena_t *a = *state;
    gw_rewrite_t rw = {.upstream = "https://hub.example", .public_url = "https://gw.example"};
    assert_string_equal(gw_rewrite_url(&rw, "https://hub.example", 19, "GET", a),
                        "https://gw.example");
    assert_string_equal(gw_rewrite_url(&rw, "https://hub.example/api/models", 30, "GET", a),
                        "https://gw.example/api/models");
    assert_string_equal(gw_rewrite_url(&rw, "https://hub.example.evil/a", 26, "GET", a),
                        "https://hub.example.evil/a");
    assert_string_equal(gw_rewrite_url(&rw, "/relative", 9, "GET", a), "/relative");
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
        {"the API namespace in capitals", NULL, NULL, "http://127.0.0.1:9000/API/models/a/b", "GET",
         GW_URL_HUB, "https://gw.example/API/models/a/b"},
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
    cmn_arena_t *a = *state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_rewrite_t rw = {.upstream =
                               cases[i].upstream ? cases[i].upstream : "http://127.0.0.1:9000",
                           .public_url = "https://gw.example",
                           .base = cases[i].base};
        const char *out = NULL;
        gw_url_kind_t k =
            gw_rewrite_url_kind(&rw, cases[i].url, strlen(cases[i].url), cases[i].method, a, &out);
        if (k != cases[i].want || !out != !cases[i].out || (out && strcmp(out, cases[i].out) != 0))
            fail_msg("case \"%s\": kind %d \"%s\", want %d \"%s\"", cases[i].name, (int)k,
                     out ? out : "(null)", (int)cases[i].want,
                     cases[i].out ? cases[i].out : "(null)");
    }
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
    cmn_arena_t *a = *state;
    static const char ok[] = "Location: /relative\r\n"
                             "Link: <http://127.0.0.1:9000/api/models?cursor=x>; rel=\"next\"\r\n";
    collect_t c = {""};
    assert_int_equal(gw_rewrite_response(ok, sizeof(ok) - 1, &rw, a, collect, &c), 0);
    assert_int_equal(calls, 0);
    static const char *const bad[] = {
        "Location: http://127.0.0.1:8080/.well-known/openid-configuration\r\n",
        "Content-Location: https://cdn.example/x\r\n",
        "Link: <http://127.0.0.1:9000/api/models>; rel=\"a\", <//evil.example/x>; rel=\"b\"\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        collect_t d = {""};
        if (gw_rewrite_response(bad[i], strlen(bad[i]), &rw, a, collect, &d) == 0)
            fail_msg("case %zu: accepted: %s", i, d.out);
    }
    assert_int_equal(calls, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(framing),
        cmocka_unit_test(upstream_headers_drop_credentials_and_framing),
        cmocka_unit_test(accept_without_xet_fileinfo),
        cmocka_unit_test(request_header_classes),
        cmocka_unit_test(upstream_headers_for_a_parsed_answer),
        testutil_arena_test(public_origin),
        testutil_arena_test(response_headers_filtered_and_rewritten),
        testutil_arena_test(xet_reconstruction_link),
        testutil_arena_test(response_header_injection_refused),
        testutil_arena_test(rewrite_url_needs_a_boundary),
        testutil_arena_test(url_kinds),
        testutil_arena_test(foreign_urls_reach_the_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
