/* The process log's JSON lines (common/log.h): one object per line with stable names, every
 * message byte kept inside its string — quotes, backslashes, newlines and bytes past ASCII
 * cannot break the line or the JSON. */
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/testutil.h"

#include "common/log.h"

/* Runs cmn_log with stderr sent to a pipe; returns what was written (static buffer). */
static const char *logged(cmn_log_level_t level, const char *component, const char *msg)
{
    static char buf[8192];
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    cmn_log(level, component, "%s", msg);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void json_lines(void **state)
{
    (void)state;
    setenv("HUBGATE_LOG_LEVEL", "error", 1); /* read at the first line: errors only */
    cmn_log_set_json(1);
    const char *line = logged(CMN_LOG_ERROR, "serve", "a \"quoted\" \\ path\nsecond line \xc3\xa9 \x01 end");
    size_t n = strlen(line);
    assert_true(n > 2 && line[n - 1] == '\n');
    assert_null(memchr(line, '\n', n - 1)); /* one line */
    json_error_t err;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
    assert_string_equal(json_string_value(json_object_get(o, "component")), "serve");
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "a \"quoted\" \\ path\nsecond line ?? \x01 end");
    const char *ts = json_string_value(json_object_get(o, "ts"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24); /* 2026-12-05T04:01:50.123Z */
    assert_int_equal(json_object_size(o), 4);
    json_decref(o);
    /* below the level: nothing */
    assert_string_equal(logged(CMN_LOG_DEBUG, "serve", "hidden"), "");
    cmn_log_set_json(0);
    line = logged(CMN_LOG_ERROR, "serve", "plain\nline");
    assert_non_null(strstr(line, " error serve: plain line\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(json_lines)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
