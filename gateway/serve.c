#include "gateway/serve.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "gateway/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const gw_config_t *cfg;
    struct MHD_Daemon *daemon;
    atomic_int db_reachable; /* last probe result */
    atomic_int stopping;
    pthread_t prober;
    pthread_mutex_t lock;
    pthread_cond_t wake;
} server_t;

/* Per-request state, created in the URI-log callback (the only place that sees the raw
 * request-target) and destroyed in the completion callback. */
typedef struct {
    cmn_arena_t arena;
    char *target; /* raw request-target, copied: MHD later decodes its buffer in place */
    size_t target_len;
    int target_too_long;
    int seen_headers; /* the first handler call has happened */
    char request_id[33];
} request_t;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    request_t *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    cmn_arena_init(&req->arena, 4096, 1024 * 1024);
    size_t n = strlen(uri);
    if (n > GW_MAX_TARGET_BYTES) {
        req->target_too_long = 1;
        n = 0;
    }
    req->target = cmn_arena_strndup(&req->arena, uri, n);
    req->target_len = n;
    gw_http_request_id(req->request_id);
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request_t *req = *con_cls;
    if (!req)
        return;
    cmn_arena_free(&req->arena);
    free(req);
    *con_cls = NULL;
}

/* The handler never reads MHD's decoded url; this keeps it raw anyway, so that nobody can. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    cmn_log_warn("http", "%s", line);
}

/* Matches the admin path exactly, with or without a query string. */
static int is_path(const request_t *req, const char *path)
{
    size_t n = strlen(path);
    return req->target_len >= n && memcmp(req->target, path, n) == 0 &&
           (req->target[n] == '\0' || req->target[n] == '?');
}

static enum MHD_Result answer_ready(server_t *srv, struct MHD_Connection *conn, request_t *req)
{
    int db = atomic_load(&srv->db_reachable);
    json_t *o = json_pack("{s:s, s:{s:b, s:b}}", "status", db ? "ready" : "not ready", "checks",
                          "config", 1, "database", db);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body)
        return gw_http_error(conn, 500, NULL, "out of memory", req->request_id);
    enum MHD_Result r = gw_http_answer(conn, db ? 200 : 503, "application/json", body,
                                       strlen(body), req->request_id);
    free(body);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)url;
    (void)version;
    (void)upload_data;
    server_t *srv = cls;
    request_t *req = *con_cls;
    if (!req)
        return MHD_NO; /* the URI callback could not allocate: drop the connection */

    if (!req->seen_headers) {
        /* Answer on a later call: a response queued on the first call closes the
         * connection (libraries.md §1f). */
        req->seen_headers = 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* No route served yet reads a body: discard it. */
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (req->target_too_long)
        return gw_http_error(conn, 414, NULL, "request-target too long", req->request_id);
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (get && is_path(req, "/-/health"))
        return gw_http_answer(conn, 200, "application/json", "{\"status\":\"ok\"}", 15,
                              req->request_id);
    if (get && is_path(req, "/-/ready"))
        return answer_ready(srv, conn, req);
    /* Default deny: a request no stage of the pipeline claims is never forwarded. */
    return gw_http_error(conn, 404, NULL, "Not Found", req->request_id);
}

/* Probes the database every few seconds for /-/ready, off the request threads. */
static void *probe_database(void *arg)
{
    server_t *srv = arg;
    pthread_mutex_lock(&srv->lock);
    while (!atomic_load(&srv->stopping)) {
        pthread_mutex_unlock(&srv->lock);
        int ok = PQping(srv->cfg->database) == PQPING_OK;
        if (ok != atomic_exchange(&srv->db_reachable, ok))
            cmn_log_info("serve", "database %s", ok ? "reachable" : "unreachable");
        pthread_mutex_lock(&srv->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += ok ? 5 : 1;
        while (!atomic_load(&srv->stopping) &&
               pthread_cond_timedwait(&srv->wake, &srv->lock, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

static int read_pem(const char *path, cmn_buf_t *out)
{
    cmn_buf_init(out, 1024 * 1024);
    int rc = cmn_buf_read_file(out, path);
    if (rc)
        cmn_log_error("serve", "cannot read %s: %s", path,
                      rc == CMN_ERR_IO ? strerror(errno) : cmn_err_str(rc));
    return rc;
}

int gw_serve_check(const gw_config_t *cfg)
{
    cmn_buf_t b;
    cmn_buf_init(&b, 16 * 1024 * 1024);
    int rc = cmn_buf_read_file(&b, cfg->policy);
    int status = 0;
    if (rc) {
        fprintf(stderr, "%s: cannot read: %s\n", cfg->policy,
                rc == CMN_ERR_IO ? strerror(errno) : cmn_err_str(rc));
        status = 1;
    } else {
        json_error_t jerr;
        json_t *p = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!p) {
            fprintf(stderr, "%s:%d:%d: %s\n", cfg->policy, jerr.line, jerr.column, jerr.text);
            status = 1;
        } else if (!json_is_object(p)) {
            fprintf(stderr, "%s:1:1: the policy must be a JSON object\n", cfg->policy);
            status = 1;
        }
        json_decref(p);
    }
    cmn_buf_free(&b);
    if (cfg->tls_cert) {
        cmn_buf_t c;
        if (read_pem(cfg->tls_cert, &c) || read_pem(cfg->tls_key, &c))
            status = 1;
        cmn_buf_free(&c);
    }
    return status;
}

int gw_serve_run(const gw_config_t *cfg)
{
    int status = 1;
    server_t srv = {.cfg = cfg};
    pthread_mutex_init(&srv.lock, NULL);
    pthread_cond_init(&srv.wake, NULL);
    cmn_buf_t cert, key;
    cmn_buf_init(&cert, 0);
    cmn_buf_init(&key, 0);

    /* Signals are taken synchronously by this thread; every other thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_storage addr = {0};
    if (strchr(cfg->listen_host, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(cfg->listen_port);
        inet_pton(AF_INET6, cfg->listen_host, &a6->sin6_addr);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(cfg->listen_port);
        inet_pton(AF_INET, cfg->listen_host, &a4->sin_addr);
    }

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (strchr(cfg->listen_host, ':'))
        flags |= MHD_USE_IPv6;
    if (cfg->tls_cert) {
        if (read_pem(cfg->tls_cert, &cert) || read_pem(cfg->tls_key, &key))
            goto out;
        flags |= MHD_USE_TLS;
    }

    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, cert.data},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key.data},
        {MHD_OPTION_END, 0, NULL},
    };
    srv.daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)GW_MAX_HEADER_BYTES, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)GW_CLIENT_IDLE_SECONDS, MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        &srv, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, &srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        &srv, MHD_OPTION_ARRAY, cfg->tls_cert ? tls_opts : tls_opts + 2, MHD_OPTION_END);
    if (!srv.daemon) {
        cmn_log_error("serve", "cannot listen on %s:%u: %s", cfg->listen_host, cfg->listen_port,
                      errno ? strerror(errno) : "libmicrohttpd refused the options");
        goto out;
    }
    if (pthread_create(&srv.prober, NULL, probe_database, &srv) != 0) {
        cmn_log_error("serve", "cannot start the database probe thread");
        MHD_stop_daemon(srv.daemon);
        goto out;
    }
    cmn_log_info("serve", "listening on %s://%s:%u (public URL %s, %zu region%s)",
                 cfg->tls_cert ? "https" : "http", cfg->listen_host, cfg->listen_port,
                 cfg->public_url, cfg->n_regions, cfg->n_regions == 1 ? "" : "s");

    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            cmn_log_info("serve", "SIGHUP: nothing to reload yet");
            continue;
        }
        cmn_log_info("serve", "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    MHD_stop_daemon(srv.daemon);
    pthread_mutex_lock(&srv.lock);
    atomic_store(&srv.stopping, 1);
    pthread_cond_broadcast(&srv.wake);
    pthread_mutex_unlock(&srv.lock);
    pthread_join(srv.prober, NULL);
    cmn_log_info("serve", "stopped");
    status = 0;
out:
    cmn_buf_free(&cert);
    if (key.data)
        memset(key.data, 0, key.len);
    cmn_buf_free(&key);
    pthread_cond_destroy(&srv.wake);
    pthread_mutex_destroy(&srv.lock);
    return status;
}
