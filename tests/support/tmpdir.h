/* A temporary directory for a whole cmocka group: made by tmpdir_setup, removed with everything
 * in it by tmpdir_teardown (testutil.h's folder helpers, as group setup and teardown). */
#ifndef HUBGATE_TESTS_SUPPORT_TMPDIR_H
#define HUBGATE_TESTS_SUPPORT_TMPDIR_H

#include "support/testutil.h"

/* The directory's path, once tmpdir_setup has run. */
static char tmpdir[64];

/* cmocka group setup: makes /tmp/hubgate-test-XXXXXX. */
static int tmpdir_setup(void **state)
{
    (void)state;
    testutil_tmpdir(tmpdir, sizeof(tmpdir), "test");
    return 0;
}

/* cmocka group teardown: removes the directory and what the tests left in it. */
static int tmpdir_teardown(void **state)
{
    (void)state;
    return testutil_rmtree(tmpdir);
}

#endif
