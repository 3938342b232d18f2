/* What the unit tests share: cmocka and the headers it needs, a temporary folder with files in
 * it, and a fresh arena per test. Test code only: every helper fails the running test (cmocka's
 * fail_msg) instead of returning an error. */
#ifndef HUBGATE_TESTS_SUPPORT_TESTUTIL_H
#define HUBGATE_TESTS_SUPPORT_TESTUTIL_H

/* cmocka needs these before its own header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/arena.h"

/* Makes a fresh folder /tmp/hubgate-<prefix>-XXXXXX, its path in dir[cap]. */
static inline void testutil_tmpdir(char *dir, size_t cap, const char *prefix)
{
    if ((size_t)snprintf(dir, cap, "/tmp/hubgate-%s-XXXXXX", prefix) >= cap || !mkdtemp(dir))
        fail_msg("cannot make a temporary folder for %s", prefix);
}

/* Removes dir and everything in it; returns 0, or -1 (a cmocka teardown's failure). */
static inline int testutil_rmtree(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to dir/name, then gives it mode (after the write, so a mode without the owner's
 * write bit works too). Its path goes to path[cap] when path is not NULL. */
static inline void testutil_write_file(const char *dir, const char *name, const char *text,
                                       mode_t mode, char *path, size_t cap)
{
    char buf[1024];
    if (!path) {
        path = buf;
        cap = sizeof(buf);
    }
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
    if (chmod(path, mode) != 0)
        fail_msg("cannot chmod %s", path);
}

/* A cmocka setup giving the test a fresh arena in *state (4 KiB blocks, at most 4 MiB); its
 * teardown frees it. For cmocka_unit_test_setup_teardown(test, testutil_arena_setup,
 * testutil_arena_teardown). */
static inline int testutil_arena_setup(void **state)
{
    cmn_arena_t *a = malloc(sizeof(*a));
    if (!a)
        return -1;
    cmn_arena_init(a, 4096, 4 << 20);
    *state = a;
    return 0;
}

static inline int testutil_arena_teardown(void **state)
{
    cmn_arena_free(*state);
    free(*state);
    return 0;
}

/* cmocka_unit_test with a fresh arena in *state. */
#define testutil_arena_test(f) cmocka_unit_test_setup_teardown(f, testutil_arena_setup, testutil_arena_teardown)

#endif
