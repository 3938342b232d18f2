#include "common/thread.h"

void cmn_thread_stop(pthread_mutex_t *mu, pthread_cond_t *cond, int *stopping, pthread_t thread)
{
    pthread_mutex_lock(mu);
    *stopping = 1;
    pthread_cond_broadcast(cond);
    pthread_mutex_unlock(mu);
    pthread_join(thread, NULL);
}
