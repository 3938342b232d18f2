/* The metrics listener (`metrics_listen`): Prometheus metrics on a listener of their own, as
 * exporters do, so that the public listener never serves them (it answers /-/metrics with
 * 404). It answers GET and HEAD /metrics with gw_metrics_render's text, 404 to any other path
 * and 405 to any other method; it reads no request body and needs no credentials: bind it to an
 * address only the monitoring network reaches. */
#ifndef HUBGATE_GATEWAY_METRICS_LISTEN_H
#define HUBGATE_GATEWAY_METRICS_LISTEN_H

#include "gateway/limits.h"

#include <stdint.h>

/* A scraper silent this long is dropped. */
#define GW_METRICS_IDLE_SECONDS 10

typedef struct gw_metrics_listen gw_metrics_listen_t;

/* Listens on host:port (an IP literal) with its own thread. Returns the listener, or NULL after
 * logging why (address in use, bad address). Blocks briefly (bind). */
gw_metrics_listen_t *gw_metrics_listen_start(const char *host, uint16_t port);

/* Stops and frees. Accepts NULL. Blocks until its connections are closed. */
void gw_metrics_listen_stop(gw_metrics_listen_t *m);

#endif
