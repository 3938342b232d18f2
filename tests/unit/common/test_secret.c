#include <string.h>
#include <unistd.h>

#include "support/testutil.h"

#include "common/err.h"
#include "common/secret.h"

/* Which modes make a secret file acceptable: none with a group or other bit, as ssh. */
static void modes(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        mode_t mode;
        int want;
    } cases[] = {
        {"0600", 0600, 0},
        {"0400", 0400, 0},
        {"0700 (owner execute)", 0700, 0},
        {"0640 group reads", 0640, CMN_ERR_DENIED},
        {"0604 others read", 0604, CMN_ERR_DENIED},
        {"0620 group writes", 0620, CMN_ERR_DENIED},
        {"0602 others write", 0602, CMN_ERR_DENIED},
        {"0610 group executes", 0610, CMN_ERR_DENIED},
        {"0644", 0644, CMN_ERR_DENIED},
        {"0666", 0666, CMN_ERR_DENIED},
    };
    char dir[128], path[256];
    testutil_tmpdir(dir, sizeof(dir), "secret");
    testutil_write_file(dir, "token", "hf_secret_value\n", 0600, path, sizeof(path));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(chmod(path, cases[i].mode), 0);
        char err[512] = "";
        cmn_buf_t b;
        cmn_buf_init(&b, 4096);
        int rc = cmn_secret_read(&b, path, err, sizeof(err));
        int rc_path = cmn_secret_check(-1, path, err, sizeof(err));
        if (rc != cases[i].want || rc_path != cases[i].want)
            fail_msg("case %s: read %d, check %d, want %d (%s)", cases[i].name, rc, rc_path,
                     cases[i].want, err);
        if (rc == 0 && strcmp(b.data, "hf_secret_value\n") != 0)
            fail_msg("case %s: read %s", cases[i].name, b.data);
        if (rc != 0) {
            if (!strstr(err, path) || !strstr(err, "chmod 600") ||
                !strstr(err, "readable or writable by group or others"))
                fail_msg("case %s: unclear message: %s", cases[i].name, err);
            if (strstr(err, "hf_secret_value"))
                fail_msg("case %s: the message shows the secret", cases[i].name);
        }
        cmn_buf_free(&b);
    }
    unlink(path);

    /* Not a regular file, missing, too large. */
    char err[512];
    cmn_buf_t b;
    cmn_buf_init(&b, 8);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(cmn_secret_check(-1, dir, err, sizeof(err)), CMN_ERR_DENIED);
    assert_non_null(strstr(err, "is not a regular file"));
    assert_int_equal(cmn_secret_read(&b, path, err, sizeof(err)), CMN_ERR_NOTFOUND);
    testutil_write_file(dir, "token", "0123456789", 0600, NULL, 0);
    assert_int_equal(cmn_secret_read(&b, path, err, sizeof(err)), CMN_ERR_TOOBIG);
    cmn_buf_free(&b);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
