#include <string.h>

#include "support/testutil.h"

#include "common/arena.h"

static void alloc_is_aligned_and_distinct(void **state)
{
    cmn_arena_t a;
    cmn_arena_init(&a, 1024, 1 << 20);
    char *p = cmn_arena_alloc(&a, 3);
    char *q = cmn_arena_alloc(&a, 5);
    char *z = cmn_arena_alloc(&a, 0);
    assert_non_null(p);
    assert_non_null(q);
    assert_non_null(z);
    assert_int_equal((uintptr_t)p % 16, 0);
    assert_int_equal((uintptr_t)q % 16, 0);
    assert_ptr_not_equal(p, q);
    assert_ptr_not_equal(q, z);
    cmn_arena_free(&a);
}

static void large_allocations_get_their_own_block(void **state)
{
    cmn_arena_t a;
    cmn_arena_init(&a, 1024, 1 << 20);
    char *small = cmn_arena_alloc(&a, 16);
    char *big = cmn_arena_alloc(&a, 100000);
    char *small2 = cmn_arena_alloc(&a, 16);
    assert_non_null(big);
    memset(big, 0xab, 100000);
    /* the current block keeps being used after a big one-off allocation */
    assert_true(small2 > small && small2 < small + 1024);
    cmn_arena_free(&a);
}

static void cap_is_enforced(void **state)
{
    cmn_arena_t a;
    cmn_arena_init(&a, 1024, 4096);
    int got = 0;
    while (cmn_arena_alloc(&a, 512))
        got++;
    assert_true(got >= 4 && got <= 8);
    assert_true(a.used_bytes <= 4096);
    assert_null(cmn_arena_alloc(&a, SIZE_MAX));
    assert_null(cmn_arena_alloc(&a, SIZE_MAX - 8));
    cmn_arena_free(&a);
}

static void strings_and_printf(void **state)
{
    cmn_arena_t a;
    cmn_arena_init(&a, 256, 1 << 20);
    char *s = cmn_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    char *f = cmn_arena_printf(&a, "%s-%d", "repo", 42);
    assert_string_equal(f, "repo-42");
    cmn_arena_free(&a);
}

static void reset_keeps_first_block_and_frees_the_rest(void **state)
{
    cmn_arena_t a;
    cmn_arena_init(&a, 1024, 1 << 20);
    for (int i = 0; i < 50; i++)
        assert_non_null(cmn_arena_alloc(&a, 200));
    size_t before = a.used_bytes;
    cmn_arena_reset(&a);
    assert_true(a.used_bytes < before);
    assert_non_null(cmn_arena_alloc(&a, 200));
    cmn_arena_free(&a);
    cmn_arena_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_is_aligned_and_distinct),
        cmocka_unit_test(large_allocations_get_their_own_block),
        cmocka_unit_test(cap_is_enforced),
        cmocka_unit_test(strings_and_printf),
        cmocka_unit_test(reset_keeps_first_block_and_frees_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
