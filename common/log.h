/* Process log: one line per event on stderr, "ts level component: message", or with JSON
 * (log_format "json", or HUBGATE_LOG_FORMAT=json from the first line) one object per line:
 * {"ts": "2026-12-05T04:01:50.123Z", "level": "info", "component": "serve", "msg": "…"}.
 *
 * Thread-safe (one write(2) per line). Never pass a secret (token, key, password) to it: the
 * log is read by operators who must not learn credentials. */
#ifndef HUBGATE_COMMON_LOG_H
#define HUBGATE_COMMON_LOG_H

typedef enum {
    CMN_LOG_ERROR = 0,
    CMN_LOG_WARN = 1,
    CMN_LOG_INFO = 2,
    CMN_LOG_DEBUG = 3,
} cmn_log_level_t;

/* Lines above the level are dropped: INFO, or HUBGATE_LOG_LEVEL=debug|info|warn|error from the
 * environment, read at the first cmn_log call. */

/* Parses "error" | "warn" | "info" | "debug". Returns 0, or CMN_ERR_INVAL. */
int cmn_log_level_parse(const char *s, cmn_log_level_t *out);

/* JSON lines (1) or text (0) from now on. */
void cmn_log_set_json(int json);

void cmn_log(cmn_log_level_t level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define cmn_log_error(comp, ...) cmn_log(CMN_LOG_ERROR, comp, __VA_ARGS__)
#define cmn_log_warn(comp, ...)  cmn_log(CMN_LOG_WARN, comp, __VA_ARGS__)
#define cmn_log_info(comp, ...)  cmn_log(CMN_LOG_INFO, comp, __VA_ARGS__)
#define cmn_log_debug(comp, ...) cmn_log(CMN_LOG_DEBUG, comp, __VA_ARGS__)

#endif
