/* A small, fixed-size limiter of attempts per key (an address, a session) in a sliding minute:
 * for guesses at short codes (docs/sign-in.md, the device grant's user codes). Keys share
 * GW_RATELIMIT_SLOTS slots by hash; a collision makes two keys share a budget (stricter, never
 * looser). Thread-safe; never blocks beyond a mutex; allocates nothing after create. */
#ifndef HUBGATE_GATEWAY_HTTP_RATELIMIT_H
#define HUBGATE_GATEWAY_HTTP_RATELIMIT_H

#include <stdint.h>

#define GW_RATELIMIT_SLOTS 4096

typedef struct gw_ratelimit gw_ratelimit_t;

/* A limiter allowing `per_minute` attempts per key; NULL when out of memory. */
gw_ratelimit_t *gw_ratelimit_create(unsigned per_minute);
void gw_ratelimit_destroy(gw_ratelimit_t *r);

/* Counts one attempt of `key` at now_ms (a monotonic clock). Returns 1 when it is within the
 * budget, 0 when over it (not counted). */
int gw_ratelimit_take(gw_ratelimit_t *r, const char *key, int64_t now_ms);

#endif
