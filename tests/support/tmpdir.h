/* A temporary directory for a cmocka group: made by tmpdir_setup, removed with everything in
 * it by tmpdir_teardown. Header-only: each test includes it once. */
#ifndef HUBGATE_TESTS_SUPPORT_TMPDIR_H
#define HUBGATE_TESTS_SUPPORT_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

/* The directory's path, once tmpdir_setup has run. */
static char tmpdir[64];

/* cmocka group setup: makes /tmp/hubgate-test-XXXXXX. */
static int tmpdir_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/hubgate-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* cmocka group teardown: removes the directory and what the tests left in it. */
static int tmpdir_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
