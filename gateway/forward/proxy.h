/* The forward stage: an authorized, audited request goes to the upstream of its region (or a
 * sealed egress link to the storage it names), and the answer comes back through hubgate's
 * rewriting and filtering (docs/architecture.md). */
#ifndef HUBGATE_GATEWAY_FORWARD_PROXY_H
#define HUBGATE_GATEWAY_FORWARD_PROXY_H

#include <microhttpd.h>
#include <stddef.h>

#include "gateway/server/request-t.h"

/* Starts the upstream transfer for an authorized request; body, when
 * non-NULL, is the complete body already read. Returns 0, or a cmn_err_t with *message set
 * (static text for the client): CMN_ERR_NOMEM when it cannot be started. */
int gw_proxy_start(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                   size_t body_len, const char **message);

/* Starts a bodiless request for target (as it goes on the wire) to region's hub, with the
 * request's own method and headers, its answer read whole as the route's (a listing across
 * regions, forward/fanout.h). *xfer gets the transfer. Returns 0 or a cmn_err_t. */
int gw_proxy_submit(gw_request_t *req, struct MHD_Connection *conn, const gw_region_t *region,
                    const char *target, gw_xfer_t **xfer);

/* Opens a sealed egress link (/-/egress/<sealed>) into req->egress: checks it is ours, not
 * expired, issued to this caller, used with its method and sealed for a region this gateway
 * serves (req->region). Returns 0, or with *message set: CMN_ERR_EXPIRED, CMN_ERR_NOTFOUND
 * (not ours), CMN_ERR_DENIED (someone else's), CMN_ERR_METHOD. */
int gw_proxy_open_egress(gw_request_t *req, const char **message);

/* Forwards an opened egress link to the storage it names, if that is still one of its
 * region's origins, connecting only to addresses the region allows (gateway/config/destination.h);
 * redirects are not followed but handed to the client as links of their own. body: a complete
 * body read first (a Xet shard), or NULL to stream the client's. Same returns as
 * gw_proxy_start. */
int gw_proxy_start_egress(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                          size_t body_len, const char **message);

/* Continues a forwarded request on each handler call; returns what the handler returns. */
enum MHD_Result gw_proxy_continue(gw_request_t *req, struct MHD_Connection *conn,
                                  const char *upload_data, size_t *upload_data_size);

#endif
