/* Clocks: the monotonic clock for intervals and deadlines, the real-time clock for absolute
 * waits (pthread_cond_timedwait takes CLOCK_REALTIME unless told otherwise). */
#ifndef HUBGATE_COMMON_CLOCK_H
#define HUBGATE_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds, microseconds, nanoseconds. */
int64_t cmn_mono_ms(void);
int64_t cmn_mono_us(void);
int64_t cmn_mono_ns(void);

/* The real-time instant ms milliseconds from now, for pthread_cond_timedwait. */
struct timespec cmn_realtime_after_ms(int64_t ms);

/* Microseconds from a to b (b later). */
int64_t cmn_elapsed_us(const struct timespec *a, const struct timespec *b);

#endif
