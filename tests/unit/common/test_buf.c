#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/testutil.h"

#include "common/buf.h"
#include "common/err.h"

static void append_up_to_the_cap(void **state)
{
    cmn_buf_t b;
    cmn_buf_init(&b, 10);
    assert_int_equal(cmn_buf_puts(&b, "hello"), 0);
    assert_int_equal(cmn_buf_printf(&b, "%d", 1234), 0);
    assert_string_equal(b.data, "hello1234");
    /* over the cap: refused whole, nothing appended */
    assert_int_equal(cmn_buf_puts(&b, "xy"), CMN_ERR_TOOBIG);
    assert_int_equal(b.len, 9);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(cmn_buf_printf(&b, "%s", "ab"), CMN_ERR_TOOBIG);
    assert_int_equal(cmn_buf_puts(&b, "z"), 0);
    assert_int_equal(b.len, 10);
    cmn_buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    cmn_buf_free(&b);
    cmn_buf_free(NULL);
}

static void read_file_respects_the_cap(void **state)
{
    char path[] = "/tmp/hubgate-test-buf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char data[5000];
    memset(data, 'x', sizeof(data));
    assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
    close(fd);

    cmn_buf_t b;
    cmn_buf_init(&b, 4999);
    assert_int_equal(cmn_buf_read_file(&b, path), CMN_ERR_TOOBIG);
    cmn_buf_free(&b);
    cmn_buf_init(&b, 5000);
    assert_int_equal(cmn_buf_read_file(&b, path), 0);
    assert_int_equal(b.len, 5000);
    cmn_buf_free(&b);
    unlink(path);

    cmn_buf_init(&b, 100);
    assert_int_equal(cmn_buf_read_file(&b, "/nonexistent/hubgate"), CMN_ERR_NOTFOUND);
    cmn_buf_free(&b);
}

static void error_names_come_from_one_table(void **state)
{
    assert_string_equal(cmn_err_name(CMN_ERR_TOOBIG), "CMN_ERR_TOOBIG");
    assert_string_equal(cmn_err_name(0), "CMN_ERR_OK");
    assert_string_equal(cmn_err_name(-999), "CMN_ERR_UNKNOWN");
    assert_string_equal(cmn_err_str(CMN_ERR_NOMEM), "out of memory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_up_to_the_cap),
        cmocka_unit_test(read_file_respects_the_cap),
        cmocka_unit_test(error_names_come_from_one_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
