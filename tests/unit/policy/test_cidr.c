#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "policy/cidr.h"

static const struct {
    const char *name;
    const char *cidr;
    const char *ip;
    int parses;
    int contains;
} cases[] = {
    {"v4 /8 inside", "10.0.0.0/8", "10.255.1.2", 1, 1},
    {"v4 /8 outside", "10.0.0.0/8", "11.0.0.1", 1, 0},
    {"v4 /32 exact", "192.168.1.7/32", "192.168.1.7", 1, 1},
    {"v4 bare address", "192.168.1.7", "192.168.1.8", 1, 0},
    {"v4 /0 matches all v4", "0.0.0.0/0", "8.8.8.8", 1, 1},
    {"v4 /0 does not match v6", "0.0.0.0/0", "2001:db8::1", 1, 0},
    {"v4 /23 boundary", "172.16.2.0/23", "172.16.3.255", 1, 1},
    {"v4 /23 just outside", "172.16.2.0/23", "172.16.4.0", 1, 0},
    {"v6 /32 inside", "2001:db8::/32", "2001:db8:1::5", 1, 1},
    {"v6 /32 outside", "2001:db8::/32", "2001:db9::5", 1, 0},
    {"v6 loopback", "::1/128", "::1", 1, 1},
    {"v4-mapped v6 matches v4 network", "10.0.0.0/8", "::ffff:10.1.2.3", 1, 1},
    {"host bits set refused", "10.0.0.1/8", "10.0.0.1", 0, 0},
    {"prefix too long v4", "10.0.0.0/33", "10.0.0.1", 0, 0},
    {"prefix too long v6", "::/129", "::1", 0, 0},
    {"leading zero prefix", "10.0.0.0/08", "10.0.0.1", 0, 0},
    {"empty prefix", "10.0.0.0/", "10.0.0.1", 0, 0},
    {"junk", "ten.0.0.0/8", "10.0.0.1", 0, 0},
    {"empty", "", "10.0.0.1", 0, 0},
    {"negative prefix", "10.0.0.0/-1", "10.0.0.1", 0, 0},
};

static void table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pol_cidr_t c;
        pol_ip_t ip;
        int parsed = pol_cidr_parse(cases[i].cidr, &c) == 0;
        if (parsed != cases[i].parses) {
            print_error("case \"%s\": parse %d, want %d\n", cases[i].name, parsed,
                        cases[i].parses);
            fail();
        }
        if (!parsed)
            continue;
        assert_int_equal(pol_ip_parse(cases[i].ip, &ip), 0);
        if (pol_cidr_contains(&c, &ip) != cases[i].contains) {
            print_error("case \"%s\": contains %d, want %d\n", cases[i].name, !cases[i].contains,
                        cases[i].contains);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(table)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
