#include "common/log.h"
#include "common/err.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = -1;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int cmn_log_level_parse(const char *s, cmn_log_level_t *out)
{
    for (int i = 0; i < 4; i++) {
        if (s && strcasecmp(s, level_names[i]) == 0) {
            *out = (cmn_log_level_t)i;
            return 0;
        }
    }
    return CMN_ERR_INVAL;
}

static int current_level(void)
{
    int level = atomic_load(&log_level);
    if (level < 0) {
        cmn_log_level_t parsed = CMN_LOG_INFO;
        (void)cmn_log_level_parse(getenv("HUBGATE_LOG_LEVEL"), &parsed);
        level = (int)parsed;
        atomic_store(&log_level, level);
    }
    return level;
}

void cmn_log(cmn_log_level_t level, const char *component, const char *fmt, ...)
{
    if ((int)level > current_level())
        return;

    char line[2048];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, now.tv_nsec / 1000000, level_names[level], component);
    if (n < 0)
        return;

    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    /* One line per event: control characters from the message cannot forge extra lines. */
    for (size_t i = (size_t)n; i < len; i++) {
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    }
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
