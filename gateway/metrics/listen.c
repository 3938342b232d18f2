#include "gateway/metrics/listen.h"

#include "common/log.h"
#include "gateway/metrics/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_metrics_listen {
    struct MHD_Daemon *daemon;
};

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
                              const char *content_type, const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", content_type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    static int seen;
    if (!*con_cls) { /* the headers: answer once the (ignored) body is over */
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return answer(conn, 405, "text/plain", "method not allowed\n", 19);
    if (strcmp(url, "/metrics") != 0)
        return answer(conn, 404, "text/plain", "not found: metrics are at /metrics\n", 35);
    cmn_buf_t b;
    cmn_buf_init(&b, GW_METRICS_MAX_BYTES);
    enum MHD_Result rc;
    if (gw_metrics_render(&b) != 0)
        rc = answer(conn, 500, "text/plain", "metrics too large\n", 18);
    else
        rc = answer(conn, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len);
    cmn_buf_free(&b);
    return rc;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    cmn_log_warn("metrics", "%s", line);
}

gw_metrics_listen_t *gw_metrics_listen_start(const char *host, uint16_t port)
{
    struct sockaddr_storage addr = {0};
    int v6 = strchr(host, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            goto bad;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            goto bad;
    }
    gw_metrics_listen_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    errno = 0;
    m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                                     MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0),
                                 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER,
                                 mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)GW_METRICS_MAX_CONNECTIONS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)GW_METRICS_IDLE_SECONDS,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
                                 MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
    if (!m->daemon) {
        cmn_log_error("serve", "cannot listen for metrics on %s:%u: %s", host, port,
                      errno ? strerror(errno) : "libmicrohttpd refused the options");
        free(m);
        return NULL;
    }
    return m;
bad:
    cmn_log_error("serve", "metrics_listen: \"%s\" is not an IP address", host);
    return NULL;
}

void gw_metrics_listen_stop(gw_metrics_listen_t *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->daemon);
    free(m);
}
