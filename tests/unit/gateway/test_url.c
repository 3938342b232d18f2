/* gw_url_check: which URLs hubgate may connect to, judged on libcurl's own parse of them. */
#include <stdio.h>
#include <string.h>

#include "support/testutil.h"

#include "gateway/config/url.h"

static const struct {
    const char *name;
    const char *url;
    unsigned flags;
    gw_url_result_t want;
    const char *host; /* the host as parsed, or NULL to skip */
} cases[] = {
    /* what a deployment writes */
    {"https anywhere", "https://login.corp.example/realms/x", 0, GW_URL_OK, "login.corp.example"},
    {"https with port", "https://hub.corp.example:8443", GW_URL_BASE_ONLY, GW_URL_OK, NULL},
    {"http to 127.0.0.1", "http://127.0.0.1:9400/jwks", 0, GW_URL_OK, "127.0.0.1"},
    {"http anywhere in 127/8", "http://127.255.255.254:1/", 0, GW_URL_OK, NULL},
    {"http to [::1]", "http://[::1]:9400/jwks", 0, GW_URL_OK, "[::1]"},
    {"http to [::1] without port or path", "http://[::1]", GW_URL_BASE_ONLY, GW_URL_OK, NULL},
    {"uppercase scheme", "HTTP://127.0.0.1/", 0, GW_URL_OK, NULL},
    {"jwks_uri with a query", "https://idp.example/keys?p=signin", 0, GW_URL_OK, NULL},
    /* the review's findings: a loopback-looking prefix that is not the host */
    {"userinfo localhost", "http://localhost@evil.example/", 0, GW_URL_CREDENTIALS, "evil.example"},
    {"userinfo loopback literal", "http://127.0.0.1@evil.example/", 0, GW_URL_CREDENTIALS, NULL},
    {"userinfo [::1]:80", "http://[::1]:80@evil.example/", 0, GW_URL_CREDENTIALS, "evil.example"},
    {"userinfo with encoded slash", "http://127.0.0.1%2f@evil.example/", 0, GW_URL_CREDENTIALS,
     "evil.example"},
    {"userinfo with backslash", "http://127.0.0.1\\@evil.example/", 0, GW_URL_CREDENTIALS, NULL},
    {"userinfo even to loopback", "http://user:pw@127.0.0.1/", 0, GW_URL_CREDENTIALS, NULL},
    {"userinfo with https", "https://user:pw@idp.example/", 0, GW_URL_CREDENTIALS, NULL},
    {"127. prefix of a name", "http://127.evil.com/", 0, GW_URL_PLAIN_HTTP, "127.evil.com"},
    {"loopback literal as a subdomain", "http://127.0.0.1.evil.com/", 0, GW_URL_PLAIN_HTTP,
     "127.0.0.1.evil.com"},
    {"fragment hiding the host", "http://evil.example#@127.0.0.1/", 0, GW_URL_PLAIN_HTTP,
     "evil.example"},
    /* names are resolved by someone else: not literals */
    {"the name localhost", "http://localhost:9400/", 0, GW_URL_PLAIN_HTTP, "localhost"},
    {"LOCALHOST uppercase", "http://LOCALHOST/", 0, GW_URL_PLAIN_HTTP, NULL},
    {"localhost trailing dot", "http://localhost./", 0, GW_URL_PLAIN_HTTP, NULL},
    {"loopback literal with trailing dot", "http://127.0.0.1./", 0, GW_URL_PLAIN_HTTP,
     "127.0.0.1."},
    {"fullwidth dots",
     "http://127\xe3\x80\x82"
     "0\xe3\x80\x82"
     "0\xe3\x80\x82"
     "1/",
     0, GW_URL_PLAIN_HTTP, NULL},
    /* other addresses */
    {"plain http off loopback", "http://hub.example/", 0, GW_URL_PLAIN_HTTP, NULL},
    {"128.0.0.1", "http://128.0.0.1/", 0, GW_URL_PLAIN_HTTP, NULL},
    {"unspecified 0.0.0.0", "http://0.0.0.0:9/", 0, GW_URL_PLAIN_HTTP, NULL},
    {"unspecified [::]", "http://[::]:9/", 0, GW_URL_PLAIN_HTTP, NULL},
    {"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]/", 0, GW_URL_PLAIN_HTTP, NULL},
    {"[::1] with a zone", "http://[::1%25lo]/", 0, GW_URL_PLAIN_HTTP, NULL},
    {"private address", "http://10.0.0.1/", 0, GW_URL_PLAIN_HTTP, NULL},
    /* libcurl connects to what it normalizes to, so the check judges that */
    {"IPv4 shorthand", "http://127.1/", 0, GW_URL_OK, "127.0.0.1"},
    {"IPv4 as one number", "http://2130706433/", 0, GW_URL_OK, "127.0.0.1"},
    {"IPv4 in hex", "http://0x7f000001/", 0, GW_URL_OK, "127.0.0.1"},
    {"IPv6 long form", "http://[0:0:0:0:0:0:0:1]/", 0, GW_URL_OK, "[::1]"},
    {"percent-encoded host", "http://%31%32%37.0.0.1/", 0, GW_URL_OK, "127.0.0.1"},
    {"a number that is not loopback", "http://2130706432/", 0, GW_URL_OK, "127.0.0.0"},
    {"hex that is not loopback", "http://0x0a000001/", 0, GW_URL_PLAIN_HTTP, "10.0.0.1"},
    /* malformed or other schemes */
    {"port out of range", "http://127.0.0.1:99999/", 0, GW_URL_MALFORMED, NULL},
    {"two ports", "http://127.0.0.1:80:80/", 0, GW_URL_MALFORMED, NULL},
    {"garbage after [::1]", "http://[::1]x/", 0, GW_URL_MALFORMED, NULL},
    {"encoded brackets", "http://%5B::1%5D/", 0, GW_URL_MALFORMED, NULL},
    {"space in host", "http://127.0.0.1 .evil.com/", 0, GW_URL_MALFORMED, NULL},
    {"no scheme", "//127.0.0.1/", 0, GW_URL_MALFORMED, NULL},
    {"relative", "/jwks", 0, GW_URL_MALFORMED, NULL},
    {"empty", "", 0, GW_URL_MALFORMED, NULL},
    {"ftp", "ftp://127.0.0.1/", 0, GW_URL_SCHEME, NULL},
    {"file", "file:///etc/passwd", 0, GW_URL_MALFORMED, NULL},
    /* base URLs */
    {"base with a query", "https://hub.example/?x=1", GW_URL_BASE_ONLY, GW_URL_NOT_BASE, NULL},
    {"base with a fragment", "https://hub.example/#x", GW_URL_BASE_ONLY, GW_URL_NOT_BASE, NULL},
    {"base with a path", "https://hub.example/hub", GW_URL_BASE_ONLY, GW_URL_OK, NULL},
};

static void judges_each_url(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char host[GW_MAX_URL_HOST_BYTES];
        gw_url_result_t got = gw_url_check(cases[i].url, cases[i].flags, host, sizeof(host));
        if (got != cases[i].want)
            fail_msg("case \"%s\" (%s): got %s, want %s (host \"%s\")", cases[i].name, cases[i].url,
                     gw_url_result_name(got), gw_url_result_name(cases[i].want), host);
        if (cases[i].host && strcmp(host, cases[i].host) != 0)
            fail_msg("case \"%s\" (%s): host \"%s\", want \"%s\"", cases[i].name, cases[i].url,
                     host, cases[i].host);
    }
}

static void loopback_literals(void **state)
{
    (void)state;
    static const struct {
        const char *host;
        int want;
    } hosts[] = {
        {"127.0.0.1", 1}, {"127.8.9.10", 1}, {"[::1]", 1},           {"::1", 0},
        {"localhost", 0}, {"127.0.0.1.", 0}, {"127.1", 0},           {"[::ffff:127.0.0.1]", 0},
        {"[::]", 0},      {"0.0.0.0", 0},    {"126.255.255.255", 0}, {"", 0},
        {"[]", 0},        {"[::1", 0},       {"127.0.0.1:80", 0},    {"0127.0.0.1", 0},
    };
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        if (gw_url_host_is_loopback(hosts[i].host) != hosts[i].want)
            fail_msg("host \"%s\": want %d", hosts[i].host, hosts[i].want);
    }
    assert_int_equal(gw_url_host_is_loopback(NULL), 0);
    assert_int_equal(gw_url_check(NULL, 0, NULL, 0), GW_URL_MALFORMED);
}

static void messages_never_empty_for_refusals(void **state)
{
    (void)state;
    for (int r = GW_URL_MALFORMED; r <= GW_URL_NOT_BASE; r++)
        assert_true(strlen(gw_url_result_message((gw_url_result_t)r)) > 0);
    assert_string_equal(gw_url_result_name(GW_URL_PLAIN_HTTP), "PLAIN_HTTP");
    assert_string_equal(gw_url_result_name((gw_url_result_t)99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(judges_each_url),
        cmocka_unit_test(loopback_literals),
        cmocka_unit_test(messages_never_empty_for_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
