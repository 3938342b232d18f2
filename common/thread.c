#include "common/thread.h"

#include <stdint.h>
#include <unistd.h>

void cmn_thread_stop(pthread_mutex_t *mu, pthread_cond_t *cond, int *stopping, pthread_t thread)
{
    pthread_mutex_lock(mu);
    *stopping = 1;
    pthread_cond_broadcast(cond);
    pthread_mutex_unlock(mu);
    pthread_join(thread, NULL);
}

void cmn_thread_wake(int fd)
{
    if (fd < 0)
        return;
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof(one));
    (void)w; /* EAGAIN: the counter is full, a wake is pending anyway */
}
