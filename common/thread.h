/* Background threads that sleep on a condition variable until told to stop. */
#ifndef HUBGATE_COMMON_THREAD_H
#define HUBGATE_COMMON_THREAD_H

#include <pthread.h>

/* Tells a background thread to stop and waits for it: sets *stopping under mu, wakes every
 * waiter on cond, and joins thread. The thread must check *stopping under mu after each wait.
 * Blocks until the thread returns. */
void cmn_thread_stop(pthread_mutex_t *mu, pthread_cond_t *cond, int *stopping, pthread_t thread);

/* Wakes a thread sleeping on an eventfd (fd < 0: nothing to wake). Never blocks: a wake
 * already pending is enough. */
void cmn_thread_wake(int fd);

#endif
