#include "gateway/server/loop.h"
#include "audit/limits.h"
#include "common/err.h"
#include "common/log.h"
#include "common/thread.h"
#include "gateway/forward/upstream.h"
#include "gateway/server/pipeline.h"
#include "gateway/server/tls.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOOP_MAX_SLEEP_MS 500 /* the loop looks at its flags at least this often */

struct gw_loop {
    gw_server_t *srv;
    unsigned index;
    struct MHD_Daemon *daemon;
    gw_upstream_t *upstream;
    aud_writer_t *audit;
    int epfd;   /* MHD's epoll set, curl's sockets, and wakefd */
    int mhd_fd; /* MHD's epoll set */
    int wakefd; /* eventfd: a connection was resumed from another thread, or a flag changed */
    MHD_socket listen_fd; /* returned by MHD_quiesce_daemon, closed after the daemon stops */
    pthread_t thread;
    atomic_int quiesce, exit;
    int quiesced;
    gw_request_t *cache[GW_LOOP_CACHED_REQUESTS]; /* finished requests, for reuse */
    size_t ncache;
};

/* The handler never reads MHD's decoded url; this keeps it raw anyway, so nobody can. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    cmn_log_warn("http", "%s", line);
}

static int sleep_ms(gw_loop_t *l)
{
    int ms = LOOP_MAX_SLEEP_MS;
    MHD_UNSIGNED_LONG_LONG mhd = 0;
    if (MHD_get_timeout(l->daemon, &mhd) == MHD_YES && mhd < (MHD_UNSIGNED_LONG_LONG)ms)
        ms = (int)mhd;
    int up = gw_upstream_timeout_ms(l->upstream);
    return up < ms ? up : ms;
}

static void *run(void *arg)
{
    gw_loop_t *l = arg;
    struct epoll_event events[64];
    while (!atomic_load(&l->exit)) {
        int n = epoll_wait(l->epfd, events, 64, sleep_ms(l));
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == l->wakefd) {
                uint64_t v;
                ssize_t r = read(l->wakefd, &v, sizeof(v));
                (void)r;
            } else if (fd != l->mhd_fd) {
                gw_upstream_socket(l->upstream, fd, events[i].events);
            }
        }
        if (atomic_load(&l->quiesce) && !l->quiesced) {
            l->listen_fd = MHD_quiesce_daemon(l->daemon);
            gw_upstream_shutdown(l->upstream);
            l->quiesced = 1;
        }
        /* Accept and serve what is ready; the handlers queue upstream work, which starts at
         * once; what the upstream delivered (heads, bodies, room in a ring) resumes
         * connections, which MHD then serves in the same pass. */
        MHD_run(l->daemon);
        if (gw_upstream_run(l->upstream) > 0)
            MHD_run(l->daemon);
    }
    return NULL;
}

static int watch(int epfd, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

gw_loop_t *gw_loop_start(gw_server_t *srv, unsigned index, const gw_loop_listen_t *listen,
                         aud_writer_t *audit)
{
    gw_loop_t *l = calloc(1, sizeof(*l));
    if (!l) {
        cmn_log_error("serve", "loop %u: out of memory", index);
        return NULL;
    }
    l->srv = srv;
    l->index = index;
    l->audit = audit;
    l->listen_fd = MHD_INVALID_SOCKET;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->upstream = l->epfd >= 0 ? gw_upstream_create(l->epfd) : NULL;
    if (l->epfd < 0 || l->wakefd < 0 || !l->upstream) {
        cmn_log_error("serve", "loop %u: cannot set up its epoll set and upstream: %s", index,
                      strerror(errno));
        goto fail;
    }
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     MHD_USE_TURBO | (listen->ipv6 ? MHD_USE_IPv6 : 0) |
                     (listen->tls ? MHD_USE_TLS : 0);
    /* Options that are there or not: SO_REUSEPORT only when several loops share the
     * address (alone, a second process could bind it too), the certificate only with TLS. */
    struct MHD_OptionItem extra[4];
    size_t k = 0;
    if (listen->reuse_port)
        extra[k++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
    if (listen->tls) {
        /* asked per handshake: a reload swaps the pair (server/tls.h) */
        extra[k++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, gw_tls_callback()};
    }
    extra[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    l->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, gw_pipeline_on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l,
        MHD_OPTION_SOCK_ADDR, listen->addr, MHD_OPTION_CONNECTION_LIMIT, listen->max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)GW_MAX_HEADER_BYTES,
        MHD_OPTION_CONNECTION_TIMEOUT, listen->idle_seconds, MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_URI_LOG_CALLBACK, gw_pipeline_on_uri, l, MHD_OPTION_NOTIFY_COMPLETED,
        gw_pipeline_on_completed, l, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, l,
        MHD_OPTION_ARRAY, extra, MHD_OPTION_END);
    if (!l->daemon) {
        cmn_log_error("serve", "loop %u: cannot listen: %s", index,
                      errno ? strerror(errno) : "libmicrohttpd refused the options");
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (info)
        l->mhd_fd = info->epoll_fd;
    if (!info || watch(l->epfd, l->mhd_fd) != 0 || watch(l->epfd, l->wakefd) != 0) {
        cmn_log_error("serve", "loop %u: cannot watch its descriptors: %s", index,
                      strerror(errno));
        goto fail;
    }
    if (pthread_create(&l->thread, NULL, run, l) != 0) {
        cmn_log_error("serve", "loop %u: cannot start its thread", index);
        goto fail;
    }
    return l;
fail:
    if (l->daemon)
        MHD_stop_daemon(l->daemon);
    gw_upstream_destroy(l->upstream);
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->wakefd >= 0)
        close(l->wakefd);
    free(l);
    return NULL;
}

void gw_loop_quiesce(gw_loop_t *loop)
{
    atomic_store(&loop->quiesce, 1);
    cmn_thread_wake(loop->wakefd);
}

void gw_loop_stop(gw_loop_t *loop)
{
    if (!loop)
        return;
    atomic_store(&loop->exit, 1);
    cmn_thread_wake(loop->wakefd);
    pthread_join(loop->thread, NULL);
    /* On this thread now that the loop's is gone: every transfer aborted first, so no
     * connection is left suspended waiting for the upstream when MHD stops. */
    gw_upstream_shutdown(loop->upstream);
    MHD_run(loop->daemon);
    MHD_stop_daemon(loop->daemon);
    if (loop->listen_fd != MHD_INVALID_SOCKET)
        close(loop->listen_fd);
    gw_upstream_destroy(loop->upstream);
    close(loop->epfd);
    close(loop->wakefd);
    while (loop->ncache > 0) {
        gw_request_t *req = loop->cache[--loop->ncache];
        cmn_arena_free(&req->arena);
        free(req);
    }
    free(loop);
}

gw_request_t *gw_loop_request_new(gw_loop_t *loop)
{
    gw_request_t *req;
    if (loop->ncache > 0) {
        req = loop->cache[--loop->ncache];
        cmn_arena_t arena = req->arena; /* reset, its first block kept */
        memset(req, 0, sizeof(*req));
        req->arena = arena;
    } else {
        req = calloc(1, sizeof(*req));
        if (!req)
            return NULL;
        cmn_arena_init(&req->arena, 8192, 1024 * 1024);
    }
    req->srv = loop->srv;
    req->upstream = loop->upstream;
    req->audit = loop->audit;
    req->wake_fd = loop->wakefd;
    return req;
}

void gw_loop_request_done(gw_loop_t *loop, gw_request_t *req)
{
    if (loop->ncache < GW_LOOP_CACHED_REQUESTS) {
        cmn_arena_reset(&req->arena);
        loop->cache[loop->ncache++] = req;
        return;
    }
    cmn_arena_free(&req->arena);
    free(req);
}

int gw_loop_stream_name(const char *stream, unsigned index, char *out, size_t cap)
{
    int n = index == 0 ? snprintf(out, cap, "%s", stream)
                       : snprintf(out, cap, "%s.%u", stream, index);
    return n < 0 || (size_t)n >= cap || n > AUD_STREAM_MAX ? CMN_ERR_TOOBIG : 0;
}
