#include "gateway/auditlog/wait.h"
#include "common/err.h"
#include "common/log.h"
#include "common/thread.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct gw_audit_wait {
    atomic_int refs;
    pthread_mutex_t mu;
    struct MHD_Connection *conn;
    int wake_fd; /* the loop serving conn: told after the resume */
    int state;     /* 0 pending, 1 durable, -1 failed */
    int suspended; /* we suspended the connection and owe it a resume */
    int gone;      /* the connection is done: never resume */
};

static void release(gw_audit_wait_t *w)
{
    if (atomic_fetch_sub(&w->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* The writer's thread: the event is durable (status 0) or will not be. */
static void done(void *arg, int status)
{
    gw_audit_wait_t *w = arg;
    pthread_mutex_lock(&w->mu);
    w->state = status == 0 ? 1 : -1;
    if (w->suspended && !w->gone) {
        w->suspended = 0;
        MHD_resume_connection(w->conn);
        cmn_thread_wake(w->wake_fd);
    }
    pthread_mutex_unlock(&w->mu);
    release(w);
}

gw_audit_wait_t *gw_audit_wait_submit(aud_writer_t *writer, const aud_event_t *ev,
                                      struct MHD_Connection *conn, int wake_fd)
{
    gw_audit_wait_t *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    atomic_init(&w->refs, 2);
    pthread_mutex_init(&w->mu, NULL);
    w->conn = conn;
    w->wake_fd = wake_fd;
    int rc = aud_writer_submit(writer, ev, done, w);
    if (rc != 0) {
        cmn_log_warn("audit", "cannot queue a decision event: %s", cmn_err_str(rc));
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

int gw_audit_wait_poll(gw_audit_wait_t *w)
{
    pthread_mutex_lock(&w->mu);
    int state = w->state;
    if (state == 0) {
        w->suspended = 1;
        MHD_suspend_connection(w->conn);
    }
    pthread_mutex_unlock(&w->mu);
    return state;
}

void gw_audit_wait_release(gw_audit_wait_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->gone = 1;
    w->suspended = 0;
    pthread_mutex_unlock(&w->mu);
    release(w);
}
