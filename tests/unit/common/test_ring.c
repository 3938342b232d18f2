/* common/ring: bytes come out in the order they went in, across the wrap, and never more than
 * were put. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/ring.h"

static void wraps_in_order(void **state)
{
    (void)state;
    cmn_ring_t r = {0};
    assert_int_equal(cmn_ring_space(&r), 0); /* unallocated: nothing fits */
    assert_int_equal(cmn_ring_alloc(&r, 7), 0);
    char out[16];
    unsigned char next_in = 0, next_out = 0;
    /* Uneven puts and gets walk the head around the buffer many times. */
    static const size_t puts[] = {5, 2, 6, 1, 7, 3, 4};
    static const size_t gets[] = {3, 4, 6, 2, 7, 1, 5};
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof(puts) / sizeof(puts[0]); i++) {
            size_t n = puts[(i + (size_t)round) % 7];
            if (n > cmn_ring_space(&r))
                n = cmn_ring_space(&r);
            char in[16];
            for (size_t k = 0; k < n; k++)
                in[k] = (char)next_in++;
            cmn_ring_put(&r, in, n);
            size_t got = cmn_ring_get(&r, out, gets[i]);
            assert_true(got <= gets[i]);
            for (size_t k = 0; k < got; k++)
                assert_int_equal((unsigned char)out[k], next_out++);
        }
    }
    while (r.len) {
        size_t got = cmn_ring_get(&r, out, sizeof(out));
        for (size_t k = 0; k < got; k++)
            assert_int_equal((unsigned char)out[k], next_out++);
    }
    assert_int_equal(next_in, next_out);
    assert_int_equal(cmn_ring_space(&r), 7);
    assert_int_equal(cmn_ring_get(&r, out, sizeof(out)), 0);
    cmn_ring_free(&r);
    assert_null(r.buf);
    cmn_ring_free(&r); /* twice is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(wraps_in_order)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
