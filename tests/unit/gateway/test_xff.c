/* The X-Forwarded-For walk (gateway/http/xff.c): all lines joined, walked from the right through
 * trusted proxies, entries in the four accepted forms, anything else an unknown client. */
#include <stdio.h>
#include <string.h>

#include "support/testutil.h"

#include "common/err.h"
#include "gateway/http/xff.h"

#define MAXLINES 4
#define U        GW_XFF_UNKNOWN

#define HOPS4  "10.0.0.1, 10.0.0.1, 10.0.0.1, 10.0.0.1, "
#define HOPS31 HOPS4 HOPS4 HOPS4 HOPS4 HOPS4 HOPS4 HOPS4 "10.0.0.1, 10.0.0.1, 10.0.0.1, "
#define HOPS32 HOPS31 "10.0.0.1"

static const char *const trusted_text[] = {"127.0.0.0/8", "10.0.0.0/8", "::1/128", "fd00::/8"};

/* clang-format off */
static const struct {
    const char *name;
    const char *peer;
    const char *lines[MAXLINES]; /* X-Forwarded-For lines, in order */
    const char *client;          /* want */
    const char *forward;         /* want; NULL: none */
    int peer_trusted;
} cases[] = {
    /* an untrusted peer is the client, whatever it claims */
    {"untrusted peer, no header", "203.0.113.9", {NULL}, "203.0.113.9", "203.0.113.9", 0},
    {"untrusted peer claims an address", "203.0.113.9", {"192.168.7.7"}, "203.0.113.9",
     "203.0.113.9", 0},
    {"untrusted peer, garbage", "203.0.113.9", {"nonsense"}, "203.0.113.9", "203.0.113.9", 0},
    /* a trusted peer */
    {"trusted peer, no header: the proxy is the client", "127.0.0.1", {NULL}, "127.0.0.1",
     "127.0.0.1", 1},
    {"one entry", "127.0.0.1", {"203.0.113.9"}, "203.0.113.9", "203.0.113.9, 127.0.0.1", 1},
    {"spoofed entry left of the real one", "127.0.0.1", {"192.168.7.7, 203.0.113.9"}, "203.0.113.9",
     "203.0.113.9, 127.0.0.1", 1},
    {"spoof in a first line, the proxy's own second line", "127.0.0.1", {"192.168.7.7",
     "203.0.113.9"}, "203.0.113.9", "203.0.113.9, 127.0.0.1", 1},
    {"three lines joined in order", "127.0.0.1", {"198.51.100.1", "203.0.113.9", "10.1.2.3"},
     "203.0.113.9", "203.0.113.9, 10.1.2.3, 127.0.0.1", 1},
    {"chain of trusted proxies", "127.0.0.1", {"203.0.113.9, 10.0.0.2, 10.0.0.1"}, "203.0.113.9",
     "203.0.113.9, 10.0.0.2, 10.0.0.1, 127.0.0.1", 1},
    {"every entry trusted: the leftmost", "127.0.0.1", {"10.0.0.2, 10.0.0.1"}, "10.0.0.2",
     "10.0.0.2, 10.0.0.1, 127.0.0.1", 1},
    {"ip:port", "127.0.0.1", {"203.0.113.9:4711"}, "203.0.113.9", "203.0.113.9, 127.0.0.1", 1},
    {"ip:port behind a trusted ip:port", "127.0.0.1", {"203.0.113.9:4711, 10.0.0.1:80"},
     "203.0.113.9", "203.0.113.9, 10.0.0.1, 127.0.0.1", 1},
    {"bare v6", "127.0.0.1", {"2001:DB8::1"}, "2001:db8::1", "2001:db8::1, 127.0.0.1", 1},
    {"[v6]", "127.0.0.1", {"[2001:db8::1]"}, "2001:db8::1", "2001:db8::1, 127.0.0.1", 1},
    {"[v6]:port", "127.0.0.1", {"[2001:db8::1]:443"}, "2001:db8::1", "2001:db8::1, 127.0.0.1", 1},
    {"v4-mapped v6 is the v4 address", "127.0.0.1", {"[::ffff:192.168.7.7]:1"}, "192.168.7.7",
     "192.168.7.7, 127.0.0.1", 1},
    {"v6 peer, v4-mapped", "::ffff:127.0.0.1", {"203.0.113.9"}, "203.0.113.9",
     "203.0.113.9, 127.0.0.1", 1},
    {"v6 trusted peer", "::1", {"[fd00::5]:80, 2001:db8::7"}, "2001:db8::7", "2001:db8::7, ::1", 1},
    {"whitespace around entries", "127.0.0.1", {" \t203.0.113.9 ,\t10.0.0.1 "}, "203.0.113.9",
     "203.0.113.9, 10.0.0.1, 127.0.0.1", 1},
    {"empty list elements are ignored", "127.0.0.1", {"203.0.113.9, ,", ""}, "203.0.113.9",
     "203.0.113.9, 127.0.0.1", 1},
    {"garbage left of the client is never read", "127.0.0.1", {"nonsense, 203.0.113.9"},
     "203.0.113.9", "203.0.113.9, 127.0.0.1", 1},
    /* anything else: the client is unknown, and only the peer is forwarded */
    {"garbage", "127.0.0.1", {"nonsense"}, U, "127.0.0.1", 1},
    {"garbage right of a spoof", "127.0.0.1", {"192.168.7.7", "nonsense"}, U, "127.0.0.1", 1},
    {"garbage between trusted hops", "127.0.0.1", {"203.0.113.9, bogus, 10.0.0.1"}, U, "127.0.0.1",
     1},
    {"RFC 7239 'unknown'", "127.0.0.1", {"unknown"}, U, "127.0.0.1", 1},
    {"obfuscated identifier", "127.0.0.1", {"_hidden"}, U, "127.0.0.1", 1},
    {"hostname", "127.0.0.1", {"client.example.com"}, U, "127.0.0.1", 1},
    {"port out of range", "127.0.0.1", {"203.0.113.9:65536"}, U, "127.0.0.1", 1},
    {"port not a number", "127.0.0.1", {"203.0.113.9:http"}, U, "127.0.0.1", 1},
    {"empty port", "127.0.0.1", {"203.0.113.9:"}, U, "127.0.0.1", 1},
    {"two ports", "127.0.0.1", {"[2001:db8::1]:80:80"}, U, "127.0.0.1", 1},
    {"v4 in brackets", "127.0.0.1", {"[203.0.113.9]"}, U, "127.0.0.1", 1},
    {"unclosed bracket", "127.0.0.1", {"[2001:db8::1"}, U, "127.0.0.1", 1},
    {"zone id", "127.0.0.1", {"fe80::1%eth0"}, U, "127.0.0.1", 1},
    {"CIDR", "127.0.0.1", {"203.0.113.0/24"}, U, "127.0.0.1", 1},
    {"leading zeros", "127.0.0.1", {"192.168.007.007"}, U, "127.0.0.1", 1},
    {"quoted", "127.0.0.1", {"\"203.0.113.9\""}, U, "127.0.0.1", 1},
    {"too long", "127.0.0.1", {"2001:0db8:0000:0000:0000:0000:0000:0001:65535:65535:65535"}, U,
     "127.0.0.1", 1},
    {"more trusted hops than the walk takes", "127.0.0.1", {"203.0.113.9, " HOPS32}, U,
     "127.0.0.1", 1},
    {"as many trusted hops as the walk takes", "127.0.0.1", {HOPS31 "10.0.0.1"}, "10.0.0.1",
     HOPS31 "10.0.0.1, 127.0.0.1", 1},
    /* an unknown peer */
    {"unknown peer", "", {"203.0.113.9"}, U, NULL, 0},
    {"peer that is no address", "nonsense", {NULL}, U, NULL, 0},
};
/* clang-format on */

static void walk(void **state)
{
    pol_cidr_t trusted[4];
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pol_cidr_parse(trusted_text[i], &trusted[i]), 0);
    cmn_arena_t *a = *state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_header_t h[MAXLINES + 2];
        size_t n = 0;
        h[n++] = (gw_header_t){"Host", 4, "gw", 2};
        for (size_t k = 0; k < MAXLINES && cases[i].lines[k]; k++)
            h[n++] = (gw_header_t){k % 2 ? "x-forwarded-for" : "X-Forwarded-For", 15,
                                   cases[i].lines[k], strlen(cases[i].lines[k])};
        gw_xff_t x;
        int rc = gw_xff_resolve(cases[i].peer, h, n, trusted, 4, a, &x);
        if (rc != 0)
            fail_msg("case \"%s\": returned %d", cases[i].name, rc);
        if (strcmp(x.client, cases[i].client) != 0)
            fail_msg("case \"%s\": client %s, want %s", cases[i].name, x.client, cases[i].client);
        if (x.known != (strcmp(cases[i].client, U) != 0))
            fail_msg("case \"%s\": known %d", cases[i].name, x.known);
        if ((x.forward == NULL) != (cases[i].forward == NULL) ||
            (x.forward && strcmp(x.forward, cases[i].forward) != 0))
            fail_msg("case \"%s\": forward \"%s\", want \"%s\"", cases[i].name,
                     x.forward ? x.forward : "(none)",
                     cases[i].forward ? cases[i].forward : "(none)");
        if (x.peer_trusted != cases[i].peer_trusted)
            fail_msg("case \"%s\": peer_trusted %d", cases[i].name, x.peer_trusted);
    }
}

/* The walk never trusts the proxy's own address in place of an entry it could not read. */
static void unknown_never_falls_back_to_the_peer(void **state)
{
    pol_cidr_t trusted;
    assert_int_equal(pol_cidr_parse("127.0.0.0/8", &trusted), 0);
    cmn_arena_t *a = *state;
    gw_header_t h[] = {{"X-Forwarded-For", 15, "192.168.7.7", 11},
                       {"X-Forwarded-For", 15, "203.0.113.9:4711:x", 18}};
    gw_xff_t x;
    assert_int_equal(gw_xff_resolve("127.0.0.1", h, 2, &trusted, 1, a, &x), 0);
    assert_false(x.known);
    assert_string_equal(x.client, "unknown");
    assert_string_equal(x.peer, "127.0.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        testutil_arena_test(walk),
        testutil_arena_test(unknown_never_falls_back_to_the_peer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
