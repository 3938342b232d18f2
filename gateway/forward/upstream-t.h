/* Types only: the upstream I/O thread and its transfers (gateway/forward/upstream.h), and how a
 * transfer failed — counted by metrics, answered by the forward stage. */
#ifndef HUBGATE_GATEWAY_FORWARD_UPSTREAM_T_H
#define HUBGATE_GATEWAY_FORWARD_UPSTREAM_T_H

typedef struct gw_upstream gw_upstream_t;
typedef struct gw_xfer gw_xfer_t;

/* Why a transfer failed, for the answer the client gets. */
typedef enum {
    GW_XFER_OK = 0,
    GW_XFER_CONNECT,  /* could not connect or resolve: 502 */
    GW_XFER_TIMEOUT,  /* upstream silent too long: 504 */
    GW_XFER_PROTOCOL, /* malformed or oversized answer: 502 */
    GW_XFER_ABORTED,  /* the client went away or the gateway is stopping */
    GW_XFER_REFUSED,  /* the destination's address is not one hubgate may connect to: 502 */
} gw_xfer_error_t;

#endif
