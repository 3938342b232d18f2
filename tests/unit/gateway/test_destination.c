#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "support/testutil.h"

#include "common/err.h"
#include "gateway/config/destination.h"

static void origins(void **state)
{
    static const struct {
        const char *url;
        const char *want; /* formatted origin, or NULL: refused */
    } cases[] = {
        {"https://cdn-lfs.hf.co/repos/ab/cd?sig=1", "https://cdn-lfs.hf.co:443"},
        {"HTTPS://CDN-LFS.HF.CO", "https://cdn-lfs.hf.co:443"},
        {"http://127.0.0.1:9000/lfs/x", "http://127.0.0.1:9000"},
        {"http://[::1]:9000/x", "http://[::1]:9000"},
        {"http://s3.example:80/x", "http://s3.example:80"},
        {"http://s3.example/x", "http://s3.example:80"},
        {"http://allowed.example@evil.example/x", NULL}, /* credentials: refused */
        {"http://allowed.example:pw@evil.example/x", NULL},
        {"ftp://files.example/x", NULL},
        {"/relative/x", NULL},
        {"http://", NULL},
        {"http://h.example:99999/x", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_origin_t o;
        char buf[300];
        int rc = gw_origin_parse(cases[i].url, strlen(cases[i].url), &o);
        if (cases[i].want &&
            (rc != 0 || strcmp(gw_origin_format(&o, buf, sizeof(buf)), cases[i].want) != 0))
            fail_msg("case \"%s\": rc %d, origin %s, want %s", cases[i].url, rc, rc ? "-" : buf,
                     cases[i].want);
        if (!cases[i].want && rc == 0)
            fail_msg("case \"%s\": accepted as %s", cases[i].url,
                     gw_origin_format(&o, buf, sizeof(buf)));
    }
    /* not NUL-terminated: only len bytes count */
    gw_origin_t a, b;
    assert_int_equal(gw_origin_parse("https://a.example/xyz", 17, &a), 0);
    assert_int_equal(gw_origin_parse("https://a.example:443", 21, &b), 0);
    assert_true(gw_origin_equal(&a, &b));
    assert_true(gw_origin_listed(&a, &b, 1));
    assert_int_equal(gw_origin_parse("http://a.example", 16, &b), 0);
    assert_false(gw_origin_equal(&a, &b)); /* scheme and port differ */
    assert_int_equal(gw_origin_parse("http://a\0b", 10, &b), CMN_ERR_PARSE);
}

static void classes(void **state)
{
    static const struct {
        const char *ip;
        const char *want; /* NULL: public */
    } cases[] = {
        {"8.8.8.8", NULL},
        {"140.82.112.3", NULL},
        {"2606:4700::1111", NULL},
        {"0.0.0.0", "unspecified"},
        {"::", "unspecified"},
        {"127.0.0.1", "loopback"},
        {"127.255.0.9", "loopback"},
        {"::1", "loopback"},
        {"::ffff:127.0.0.1", "loopback"},
        {"10.1.2.3", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"172.32.0.1", NULL},
        {"192.168.7.7", "private"},
        {"100.64.0.1", "private"},
        {"fd00::1", "private"},
        {"169.254.169.254", "link-local"},
        {"fe80::1", "link-local"},
        {"224.0.0.1", "multicast"},
        {"ff02::1", "multicast"},
        {"255.255.255.255", "reserved"},
        {"198.18.0.1", "reserved"},
        {"64:ff9b::a9fe:a9fe", "link-local"}, /* NAT64 of 169.254.169.254 */
        {"64:ff9b::808:808", NULL},           /* NAT64 of 8.8.8.8 */
        {"2002:7f00:1::", "loopback"},        /* 6to4 of 127.0.0.1 */
        {"2002:0808:0808::", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pol_ip_t ip;
        assert_int_equal(pol_ip_parse(cases[i].ip, &ip), 0);
        const char *got = gw_destination_address_class(&ip);
        if ((got == NULL) != (cases[i].want == NULL) || (got && strcmp(got, cases[i].want) != 0))
            fail_msg("case %s: %s, want %s", cases[i].ip, got ? got : "public",
                     cases[i].want ? cases[i].want : "public");
    }
}

static size_t sockaddr_of(const char *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        return sizeof(*in);
    }
    assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
    in6->sin6_family = AF_INET6;
    return sizeof(*in6);
}

static void connections(void **state)
{
    pol_cidr_t nets[1];
    assert_int_equal(pol_cidr_parse("10.20.0.0/16", &nets[0]), 0);
    static const struct {
        const char *name, *origin, *ip;
        int any, with_networks;
        int allowed;
    } cases[] = {
        {"public address of a listed name", "https://cdn.example", "140.82.112.3", 0, 0, 1},
        {"listed name resolving to loopback", "https://cdn.example", "127.0.0.1", 0, 0, 0},
        {"listed name resolving to metadata", "https://cdn.example", "169.254.169.254", 0, 0, 0},
        {"listed name resolving to a private net", "https://cdn.example", "10.20.1.2", 0, 0, 0},
        {"... inside storage_networks", "https://cdn.example", "10.20.1.2", 0, 1, 1},
        {"... outside storage_networks", "https://cdn.example", "10.21.1.2", 0, 1, 0},
        {"the literal address listed", "http://127.0.0.1:9000", "127.0.0.1", 0, 0, 1},
        {"another loopback address", "http://127.0.0.1:9000", "127.0.0.2", 0, 0, 0},
        {"a literal IPv6 listed", "http://[fd00::7]:9000", "fd00::7", 0, 0, 1},
        {"localhost to loopback", "http://localhost:9000", "::1", 0, 0, 1},
        {"localhost elsewhere private", "http://localhost:9000", "10.0.0.1", 0, 0, 0},
        {"the upstream, any address", "https://hub.internal", "10.9.9.9", 1, 0, 1},
        {"IPv4-mapped loopback", "https://cdn.example", "::ffff:127.0.0.1", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_destination_t d = {.any_address = cases[i].any,
                              .networks = cases[i].with_networks ? nets : NULL,
                              .n_networks = cases[i].with_networks ? 1 : 0};
        assert_int_equal(gw_origin_parse(cases[i].origin, strlen(cases[i].origin), &d.origin), 0);
        struct sockaddr_storage ss;
        size_t len = sockaddr_of(cases[i].ip, &ss);
        const char *why = NULL;
        int rc = gw_destination_check(&d, (struct sockaddr *)&ss, len, &why);
        if ((rc == 0) != cases[i].allowed)
            fail_msg("case \"%s\": rc %d (%s)", cases[i].name, rc, why ? why : "allowed");
        if (rc != 0 && (rc != CMN_ERR_DENIED || !why))
            fail_msg("case \"%s\": rc %d without a reason", cases[i].name, rc);
    }
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    gw_destination_t d = {.any_address = 1};
    const char *why = NULL;
    assert_int_equal(gw_destination_check(&d, &unix_sa, sizeof(unix_sa), &why), CMN_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(origins),
        cmocka_unit_test(classes),
        cmocka_unit_test(connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
