#include "gateway/forward/upstream.h"
#include "gateway/forward/xfer-t.h"
#include "gateway/forward/xfer.h"

#include "common/clock.h"

#include "common/err.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* What gw_upstream_t.fds says of a descriptor. */
enum { FD_IN_SET = 1, FD_WANTED = 2, FD_EV_IN = 4, FD_EV_OUT = 8, FD_OURS = 16 };

#define POOL_MAX       256 /* idle easy handles kept for reuse */
#define SWEEP_MS       500 /* how often idle transfers are looked for */

struct gw_upstream {
    CURLM *multi;
    int epfd;             /* the loop's epoll set, where curl's sockets are watched */
    /* Per descriptor: in the epoll set, wanted by curl, and the events asked for. A socket
     * curl stops watching stays in the set until it is closed (the kernel then drops it) or
     * reports an event nobody wants: a kept-alive connection costs no epoll_ctl per request. */
    uint8_t *fds;
    size_t nfds;
    unsigned resumed; /* connections resumed during this gw_upstream_run */
    int64_t timer_due_ms; /* when curl wants socket_action(CURL_SOCKET_TIMEOUT); -1 none */
    int64_t last_sweep_ms;
    pthread_mutex_t mu;
    gw_xfer_t *pending; /* LIFO of transfers with actions; order does not matter */
    gw_xfer_t *active;  /* transfers in the multi handle */
    int stopping;       /* no new transfers */
    CURL *pool[POOL_MAX]; /* idle easy handles: creating one per request costs more than
                             the request itself (allocations of its buffers) */
    size_t npool;
};

void gw_upstream_post(gw_upstream_t *up, gw_xfer_t *x, int action)
{
    pthread_mutex_lock(&up->mu);
    if (up->stopping && (action & GW_XFER_ACT_START)) {
        /* Raced with shutdown. The transfer ends here, unstarted. */
        pthread_mutex_unlock(&up->mu);
        pthread_mutex_lock(&x->mu);
        x->error = GW_XFER_ABORTED;
        x->down_eof = 1;
        x->head_ready = 1;
        pthread_mutex_unlock(&x->mu);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
        gw_xfer_release(x); /* the curl side's reference */
        return;
    }
    x->pending |= action;
    if (!x->queued) {
        x->queued = 1;
        atomic_fetch_add(&x->refs, 1); /* held while queued */
        x->next_pending = up->pending;
        up->pending = x;
    }
    pthread_mutex_unlock(&up->mu);
}

/* ---- curl callbacks (the loop thread, inside gw_upstream_run) -------------------------- */

static size_t on_header(char *line, size_t size, size_t nitems, void *userdata)
{
    gw_xfer_t *x = userdata;
    size_t n = size * nitems;
    atomic_store_explicit(&x->last_activity_ms, cmn_mono_ms(), memory_order_relaxed);
    size_t ret = n;
    pthread_mutex_lock(&x->mu);
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new response head: a 1xx or the final one. */
        const char *sp = memchr(line, ' ', n);
        x->status = sp && n - (size_t)(sp - line) > 3 ? atoi(sp + 1) : 0;
        x->content_length = -1;
        cmn_buf_clear(&x->head);
    } else if ((n == 2 && line[0] == '\r') || (n == 1 && line[0] == '\n')) {
        int informational = x->status >= 100 && x->status < 200;
        if (!informational && !x->head_ready) {
            /* A small body of known size is collected whole and answered in one write with
             * its head: streaming it costs a suspend, a resume and a send of its own. */
            if (!x->buffered && !x->nobody && x->content_length > 0 &&
                x->content_length <= GW_SMALL_BODY_BYTES && x->status != 204 &&
                x->status != 304) {
                x->buffered = 1;
                x->full.max = (size_t)x->content_length;
            }
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            x->head_latency_us = (uint64_t)cmn_elapsed_us(&x->started, &now);
            x->head_ok = 1;
            if (!x->buffered) {
                x->head_ready = 1;
                gw_xfer_wake(x);
            }
        }
    } else if (x->status < 200 || x->head_ready) {
        /* lines of a 1xx head, or trailers: not relayed */
    } else if (cmn_buf_append(&x->head, line, n) != 0) {
        x->error = GW_XFER_PROTOCOL;
        ret = 0; /* abort the transfer */
    } else if (n > 15 && strncasecmp(line, "content-length:", 15) == 0) {
        char *end = NULL;
        long long v = strtoll(line + 15, &end, 10);
        x->content_length = end && end != line + 15 && v >= 0 ? v : -1;
    }
    pthread_mutex_unlock(&x->mu);
    return ret;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    gw_xfer_t *x = userdata;
    size_t n = size * nmemb;
    pthread_mutex_lock(&x->mu);
    size_t ret = n;
    if (x->client_gone) {
        ret = 0; /* nobody to deliver to: abort */
    } else if (x->buffered) {
        if (cmn_buf_append(&x->full, data, n) != 0) {
            x->error = GW_XFER_PROTOCOL; /* larger than hubgate will rewrite */
            ret = 0;
        } else {
            x->received += n;
            atomic_store_explicit(&x->last_activity_ms, cmn_mono_ms(), memory_order_relaxed);
        }
    } else if (gw_xfer_ring(&x->down, x->content_length) != 0) {
        ret = 0;
    } else if (cmn_ring_space(&x->down) < n) {
        x->down_paused = 1;
        ret = CURL_WRITEFUNC_PAUSE; /* curl re-delivers the same chunk after unpause */
    } else {
        cmn_ring_put(&x->down, data, n);
        x->received += n;
        atomic_store_explicit(&x->last_activity_ms, cmn_mono_ms(), memory_order_relaxed);
        gw_xfer_wake(x);
    }
    pthread_mutex_unlock(&x->mu);
    return ret;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
    gw_xfer_t *x = userdata;
    size_t max = size * nitems;
    size_t ret;
    pthread_mutex_lock(&x->mu);
    if (x->client_gone) {
        ret = CURL_READFUNC_ABORT;
    } else if (x->up.len > 0) {
        ret = cmn_ring_get(&x->up, buf, max);
        x->sent += ret;
        atomic_store_explicit(&x->last_activity_ms, cmn_mono_ms(), memory_order_relaxed);
        gw_xfer_wake(x); /* the client may be waiting for room */
    } else if (x->up_eof) {
        ret = 0;
    } else {
        x->up_paused = 1;
        ret = CURL_READFUNC_PAUSE;
    }
    pthread_mutex_unlock(&x->mu);
    return ret;
}

/* Opens the socket for a connection curl is about to make — if the address passes the
 * transfer's check, when it has one — and marks it as a connection socket of ours: only those
 * stay in the epoll set between requests (see on_socket). */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *address)
{
    gw_xfer_t *x = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN ||
        (x->address_check &&
         x->address_check(x->address_ctx, &address->addr, (size_t)address->addrlen) != 0)) {
        pthread_mutex_lock(&x->mu);
        x->refused = 1;
        pthread_mutex_unlock(&x->mu);
        return CURL_SOCKET_BAD; /* curl tries the name's next address, if any */
    }
    int fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    gw_upstream_t *up = x->owner;
    if (fd >= 0 && (size_t)fd < up->nfds)
        up->fds[fd] = FD_OURS;
    return fd;
}

/* Before each request on a connection, new or reused: the peer it is connected to. */
static int on_prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    (void)local_ip;
    (void)local_port;
    gw_xfer_t *x = clientp;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    size_t len = 0;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, primary_ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)primary_port);
        len = sizeof(*in);
    } else if (inet_pton(AF_INET6, primary_ip, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)primary_port);
        len = sizeof(*in6);
    }
    if (len && x->address_check(x->address_ctx, (struct sockaddr *)&ss, len) == 0)
        return CURL_PREREQFUNC_OK;
    pthread_mutex_lock(&x->mu);
    x->refused = 1;
    pthread_mutex_unlock(&x->mu);
    return CURL_PREREQFUNC_ABORT;
}

/* ---- driving the multi handle from the loop --------------------------------------------- */

static gw_xfer_error_t map_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK: return GW_XFER_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION: return GW_XFER_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return GW_XFER_TIMEOUT;
    case CURLE_ABORTED_BY_CALLBACK: return GW_XFER_ABORTED;
    default: return GW_XFER_PROTOCOL;
    }
}

static void finish(gw_upstream_t *up, gw_xfer_t *x, CURLcode rc)
{
    if (x->in_multi) {
        curl_multi_remove_handle(up->multi, x->easy);
        x->in_multi = 0;
        if (x->prev_active)
            x->prev_active->next_active = x->next_active;
        else
            up->active = x->next_active;
        if (x->next_active)
            x->next_active->prev_active = x->prev_active;
    }
    if (x->easy) {
        curl_easy_reset(x->easy);
        pthread_mutex_lock(&up->mu);
        if (up->npool < POOL_MAX) {
            up->pool[up->npool++] = x->easy;
            x->easy = NULL;
        }
        pthread_mutex_unlock(&up->mu);
        if (x->easy)
            curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    pthread_mutex_lock(&x->mu);
    if (x->error == GW_XFER_OK)
        x->error = x->client_gone                 ? GW_XFER_ABORTED
                   : rc != CURLE_OK && x->refused ? GW_XFER_REFUSED
                                                  : map_error(rc);
    if (rc != CURLE_OK && rc != CURLE_ABORTED_BY_CALLBACK && !x->client_gone)
        /* the path only: a storage URL's query is its signature, a credential */
        cmn_log_warn("upstream", "%s %.*s: %s", x->method, (int)strcspn(x->target, "?"), x->target,
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    x->down_eof = 1;
    x->head_ready = 1; /* a waiting handler wakes and sees the error, if any */
    gw_xfer_wake(x);
    pthread_mutex_unlock(&x->mu);
    gw_xfer_release(x); /* the curl side's reference */
}

static void start(gw_upstream_t *up, gw_xfer_t *x)
{
    if (x->client_gone || !x->easy) {
        finish(up, x, CURLE_ABORTED_BY_CALLBACK);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &x->started);
    atomic_store_explicit(&x->last_activity_ms, cmn_mono_ms(), memory_order_relaxed);
    if (curl_multi_add_handle(up->multi, x->easy) != CURLM_OK) {
        finish(up, x, CURLE_FAILED_INIT);
        return;
    }
    x->in_multi = 1;
    x->prev_active = NULL;
    x->next_active = up->active;
    if (up->active)
        up->active->prev_active = x;
    up->active = x;
}

static void run_pending(gw_upstream_t *up)
{
    pthread_mutex_lock(&up->mu);
    gw_xfer_t *list = up->pending;
    up->pending = NULL;
    pthread_mutex_unlock(&up->mu);

    while (list) {
        gw_xfer_t *x = list;
        pthread_mutex_lock(&up->mu);
        list = x->next_pending;
        int act = x->pending;
        x->pending = 0;
        x->queued = 0;
        pthread_mutex_unlock(&up->mu);

        if (act & GW_XFER_ACT_START)
            start(up, x);
        if ((act & GW_XFER_ACT_ABORT) && x->in_multi)
            finish(up, x, CURLE_ABORTED_BY_CALLBACK);
        else if ((act & GW_XFER_ACT_UNPAUSE) && x->in_multi)
            curl_easy_pause(x->easy, CURLPAUSE_CONT);
        gw_xfer_release(x); /* the queue's reference */
    }
}

/* The idle timeout, ours rather than CURLOPT_LOW_SPEED_TIME: libcurl counts the time a
 * transfer spends paused for a slow client as upstream silence and would abort it. */
static void sweep_idle(gw_upstream_t *up)
{
    int64_t now = cmn_mono_ms();
    gw_xfer_t *x = up->active;
    while (x) {
        gw_xfer_t *next = x->next_active;
        pthread_mutex_lock(&x->mu);
        int waiting_for_client = x->down_paused || x->up_paused;
        pthread_mutex_unlock(&x->mu);
        int64_t last = atomic_load_explicit(&x->last_activity_ms, memory_order_relaxed);
        if (waiting_for_client) {
            atomic_store_explicit(&x->last_activity_ms, now, memory_order_relaxed);
        } else if (now - last > (int64_t)x->idle_seconds * 1000) {
            pthread_mutex_lock(&x->mu);
            if (x->error == GW_XFER_OK)
                x->error = GW_XFER_TIMEOUT;
            pthread_mutex_unlock(&x->mu);
            cmn_log_warn("upstream", "%s %.*s: no data for %d s", x->method,
                         (int)strcspn(x->target, "?"), x->target,
                         x->idle_seconds);
            finish(up, x, CURLE_OPERATION_TIMEDOUT);
        }
        x = next;
    }
}

/* libcurl's socket interface: curl tells us which sockets to watch and when to call it back,
 * so each event costs work for its own transfer only (curl_multi_perform walks them all). */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    gw_upstream_t *up = userp;
    if (fd < 0 || (size_t)fd >= up->nfds)
        return -1; /* beyond the descriptor limit we sized for: curl fails the transfer */
    uint8_t *st = &up->fds[fd];
    if (what == CURL_POLL_REMOVE) {
        if (*st & FD_OURS) {
            *st &= (uint8_t)~FD_WANTED; /* lazily: see gw_upstream_socket */
        } else {
            /* a socket curl made itself (a resolver's): it may close it without telling us */
            epoll_ctl(up->epfd, EPOLL_CTL_DEL, fd, NULL);
            *st = 0;
        }
        return 0;
    }
    uint8_t want = (uint8_t)(FD_WANTED | ((what & CURL_POLL_IN) ? FD_EV_IN : 0) |
                             ((what & CURL_POLL_OUT) ? FD_EV_OUT : 0));
    struct epoll_event ev = {.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
                                       ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u),
                             .data.fd = fd};
    /* What this table believes may be stale (a descriptor curl closed without the callback,
     * such as a resolver's, and whose number came back): fall back on what the kernel says. */
    if (!(*st & FD_IN_SET)) {
        if (epoll_ctl(up->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 &&
            (errno != EEXIST || epoll_ctl(up->epfd, EPOLL_CTL_MOD, fd, &ev) != 0))
            return -1;
    } else if ((*st & (FD_EV_IN | FD_EV_OUT)) != (want & (FD_EV_IN | FD_EV_OUT))) {
        if (epoll_ctl(up->epfd, EPOLL_CTL_MOD, fd, &ev) != 0 &&
            (errno != ENOENT || epoll_ctl(up->epfd, EPOLL_CTL_ADD, fd, &ev) != 0))
            return -1;
    }
    *st = (uint8_t)((*st & FD_OURS) | FD_IN_SET | want);
    return 0;
}

/* Every socket curl closes: it leaves the epoll set with it (the kernel drops a closed
 * descriptor), so its state goes too — the number may come back as another socket. */
static int on_close_socket(void *clientp, curl_socket_t fd)
{
    gw_upstream_t *up = clientp;
    if (fd >= 0 && (size_t)fd < up->nfds)
        up->fds[fd] = 0;
    return close(fd);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    gw_upstream_t *up = userp;
    up->timer_due_ms = timeout_ms < 0 ? -1 : cmn_mono_ms() + timeout_ms;
    return 0;
}

static void reap_done(gw_upstream_t *up)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(up->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        gw_xfer_t *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        finish(up, x, msg->data.result);
    }
}

void gw_upstream_note_resumed(gw_upstream_t *up)
{
    up->resumed++;
}

int gw_upstream_socket(gw_upstream_t *up, int fd, uint32_t events)
{
    if (fd < 0 || (size_t)fd >= up->nfds || !(up->fds[fd] & FD_IN_SET))
        return 0; /* not one of curl's */
    if (!(up->fds[fd] & FD_WANTED)) {
        /* An idle kept-alive connection the server closed, or one curl is done with: out of
         * the set until curl wants it again (level-triggered, it would fire forever). */
        epoll_ctl(up->epfd, EPOLL_CTL_DEL, fd, NULL);
        up->fds[fd] &= FD_OURS;
        return 1;
    }
    int flags = 0, running = 0;
    if (events & (EPOLLIN | EPOLLHUP))
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & EPOLLERR)
        flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(up->multi, fd, flags, &running);
    return 1;
}

int gw_upstream_timeout_ms(const gw_upstream_t *up)
{
    int64_t now = cmn_mono_ms();
    int64_t due = up->last_sweep_ms + SWEEP_MS;
    if (up->timer_due_ms >= 0 && up->timer_due_ms < due)
        due = up->timer_due_ms;
    if (up->pending)
        return 0;
    return due <= now ? 0 : (int)(due - now);
}

/* One pass over what is ready: queued actions, curl's timer, finished transfers. */
static void run_once(gw_upstream_t *up)
{
    int running = 0;
    run_pending(up);
    if (up->timer_due_ms >= 0 && cmn_mono_ms() >= up->timer_due_ms) {
        up->timer_due_ms = -1;
        curl_multi_socket_action(up->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    reap_done(up);
}

unsigned gw_upstream_run(gw_upstream_t *up)
{
    /* A new transfer sets curl's timer to "now" and a resumed one queues an unpause: a few
     * passes start them at once rather than on the next wake-up. */
    for (int pass = 0; pass < 4; pass++) {
        run_once(up);
        if (!up->pending && !(up->timer_due_ms >= 0 && up->timer_due_ms <= cmn_mono_ms()))
            break;
    }
    if (cmn_mono_ms() - up->last_sweep_ms >= SWEEP_MS) {
        sweep_idle(up);
        up->last_sweep_ms = cmn_mono_ms();
    }
    unsigned resumed = up->resumed;
    up->resumed = 0;
    return resumed;
}

gw_upstream_t *gw_upstream_create(int epfd)
{
    gw_upstream_t *up = calloc(1, sizeof(*up));
    if (!up)
        return NULL;
    pthread_mutex_init(&up->mu, NULL);
    up->epfd = epfd;
    up->timer_due_ms = -1;
    up->last_sweep_ms = cmn_mono_ms();
    struct rlimit nofile;
    up->nfds = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < (1u << 20)
                   ? (size_t)nofile.rlim_cur
                   : (size_t)1 << 20;
    up->fds = calloc(up->nfds, 1);
    up->multi = curl_multi_init();
    if (!up->multi || !up->fds)
        goto fail;
    curl_multi_setopt(up->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(up->multi, CURLMOPT_SOCKETDATA, up);
    curl_multi_setopt(up->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(up->multi, CURLMOPT_TIMERDATA, up);
    /* Keep idle upstream connections for reuse: one per concurrent request is plenty. */
    curl_multi_setopt(up->multi, CURLMOPT_MAXCONNECTS, 256L);
    return up;
fail:
    if (up->multi)
        curl_multi_cleanup(up->multi);
    free(up->fds);
    pthread_mutex_destroy(&up->mu);
    free(up);
    return NULL;
}

void gw_upstream_shutdown(gw_upstream_t *up)
{
    pthread_mutex_lock(&up->mu);
    up->stopping = 1;
    pthread_mutex_unlock(&up->mu);
    run_pending(up);
    while (up->active)
        finish(up, up->active, CURLE_ABORTED_BY_CALLBACK);
}

void gw_upstream_destroy(gw_upstream_t *up)
{
    if (!up)
        return;
    gw_upstream_shutdown(up);
    run_pending(up); /* actions posted meanwhile: only references to drop */
    for (size_t i = 0; i < up->npool; i++)
        curl_easy_cleanup(up->pool[i]);
    curl_multi_cleanup(up->multi);
    free(up->fds);
    pthread_mutex_destroy(&up->mu);
    free(up);
}

/* ---- submit ------------------------------------------------------------------------------ */

int gw_upstream_submit(gw_upstream_t *up, gw_xfer_t *x, const gw_xfer_req_t *req)
{
    pthread_mutex_lock(&up->mu);
    int stopping = up->stopping;
    CURL *e = !stopping && up->npool ? up->pool[--up->npool] : NULL;
    pthread_mutex_unlock(&up->mu);
    if (stopping) {
        curl_slist_free_all(req->headers);
        return CMN_ERR_CONFLICT;
    }
    if (!e)
        e = curl_easy_init();
    x->method = strdup(req->method);
    x->target = strdup(req->target);
    x->req_headers = req->headers;
    if (req->address_check && (!req->address_ctx || req->address_ctx_len == 0 ||
                               req->address_ctx_len > GW_MAX_ADDRESS_CTX_BYTES)) {
        if (e)
            curl_easy_cleanup(e);
        return CMN_ERR_INVAL;
    }
    if (req->address_check) {
        x->address_ctx = malloc(req->address_ctx_len);
        if (x->address_ctx)
            memcpy(x->address_ctx, req->address_ctx, req->address_ctx_len);
    }
    if (!e || !x->method || !x->target || (req->address_check && !x->address_ctx)) {
        if (e)
            curl_easy_cleanup(e);
        return CMN_ERR_NOMEM;
    }
    x->owner = up;
    if (req->buffer_cap) {
        x->buffered = 1;
        x->full.max = req->buffer_cap;
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_URL, req->base_url);
    /* The bytes the classifier judged, sent as they are: libcurl would otherwise remove dot
     * segments, re-encode UTF-8 and drop fragments (libcurl 7.88.1 turns /a/../b into /b). */
    curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, x->target);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->req_headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, up);
    /* Upstreams are configured, never discovered: no proxy from the environment (and no
     * getenv per request). */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(req->connect_ms ? req->connect_ms : 5000));
    x->idle_seconds = req->idle_seconds > 0 ? req->idle_seconds : 60;
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    /* Never decode: bytes and sizes reach the client as the upstream sent them. */
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req->address_check) {
        /* Checked before connecting, so a refused service never sees a connection, and again
         * before each request, which covers a connection reused from the pool. */
        x->address_check = req->address_check;
        curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
        curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
    }

    if (strcmp(req->method, "HEAD") == 0) {
        x->nobody = 1;
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (req->stream_body || req->body) {
        /* UPLOAD makes curl send the body with Content-Length (or chunked) and no
         * Content-Type of its own; the method string is ours. */
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
        if (req->body) {
            /* A body the gateway had to read whole (to classify it) fits in the ring. */
            pthread_mutex_lock(&x->mu);
            int rc = req->body_len > GW_RING_BYTES ? CMN_ERR_TOOBIG
                                                   : gw_xfer_ring(&x->up, (int64_t)req->body_len);
            if (rc == 0) {
                cmn_ring_put(&x->up, req->body, req->body_len);
                x->up_eof = 1;
            }
            pthread_mutex_unlock(&x->mu);
            if (rc) {
                curl_easy_cleanup(e);
                return rc;
            }
            curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        } else {
            x->up_expected = req->body_length;
            curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_length);
        }
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
    }
    x->easy = e;
    atomic_fetch_add(&x->refs, 1); /* the curl side's reference, dropped in finish() */
    gw_upstream_post(up, x, GW_XFER_ACT_START);
    return 0;
}
