#include "common/log.h"
#include "common/err.h"
#include "common/json_escape.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = -1;
static atomic_int log_json = -1; /* -1: not decided yet (HUBGATE_LOG_FORMAT at the first line) */

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

void cmn_log_set_json(int json)
{
    atomic_store(&log_json, json ? 1 : 0);
}

static int json_lines(void)
{
    int j = atomic_load(&log_json);
    if (j < 0) {
        const char *f = getenv("HUBGATE_LOG_FORMAT");
        j = f && strcasecmp(f, "json") == 0;
        atomic_store(&log_json, j);
    }
    return j;
}

/* A JSON string's content: quotes, backslashes and controls escaped, any byte past ASCII a
 * '?' (a message is ASCII but for what callers quote, which must not make the line invalid). */
static size_t json_text(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 7 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c < 0x20) {
            char esc[7];
            size_t k = cmn_json_escape(c, esc);
            memcpy(out + o, esc, k);
            o += k;
        } else {
            out[o++] = c < 0x80 ? (char)c : '?';
        }
    }
    return o;
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
    char ts[64];
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             now.tv_nsec / 1000000);
    if (json_lines()) {
        /* {"ts", "level", "component", "msg"}: stable names for log pipelines */
        char msg[1536], out[4096];
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        size_t mlen = m < 0 ? 0 : (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
        int n = snprintf(out, sizeof(out), "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"", ts,
                         level_names[level]);
        size_t o = (size_t)n;
        o += json_text(out + o, sizeof(out) - o - 16, component, strlen(component));
        memcpy(out + o, "\",\"msg\":\"", 9);
        o += 9;
        o += json_text(out + o, sizeof(out) - o - 4, msg, mlen);
        memcpy(out + o, "\"}\n", 3);
        o += 3;
        ssize_t w = write(STDERR_FILENO, out, o);
        (void)w;
        return;
    }
    int n = snprintf(line, sizeof(line), "%s %s %s: ", ts, level_names[level], component);
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
