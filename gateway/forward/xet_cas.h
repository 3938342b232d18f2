/* Xet's CAS through hubgate (docs/xet-storage.md, "proxy" mode): calls to public_url/-/xet/cas/…,
 * authorized by the hubgate Xet token they carry (forward/xet_token.h), forwarded to the
 * upstream's CAS with the upstream token sealed inside it, like a sealed egress link: the
 * caller, repo and decision of the grant are the request's for the audit log. Reconstruction
 * answers are rewritten so that every transfer URL in them is a sealed link. */
#ifndef HUBGATE_GATEWAY_FORWARD_XET_CAS_H
#define HUBGATE_GATEWAY_FORWARD_XET_CAS_H

#include <microhttpd.h>
#include <stddef.h>

#include "gateway/server/request-t.h"

/* What a CAS call is to hubgate (gw_request_t.xet_endpoint). */
typedef enum {
    GW_XET_EP_NONE = 0,
    GW_XET_EP_RECONSTRUCTION, /* v1 or v2 reconstruction, one file or a batch: its answer's
                                 transfer URLs are sealed */
    GW_XET_EP_FORWARD,        /* HEAD probes: relayed as they come */
    GW_XET_EP_SHARD,          /* a shard upload: read whole (at most GW_MAX_XET_SHARD_BYTES)
                                 to audit the files it defines, then forwarded */
    GW_XET_EP_XORB,           /* a xorb upload: its answer always says it was inserted */
} gw_xet_endpoint_t;

/* Opens the CAS call's token and judges the endpoint. Returns 0 with req->egress set to the
 * upstream CAS URL to call (with the upstream token in its headers), req->is_egress and
 * req->xet_endpoint set: forward it. Otherwise a cmn_err_t with *message:
 * CMN_ERR_UNAUTHENTICATED (no token, not hubgate's, expired), CMN_ERR_DENIED (a read token on
 * an upload), CMN_ERR_NOTFOUND (an endpoint hubgate answers 404 itself: deduplication queries,
 * which would tell what other repos hold, and the v2 shard upload, so that clients use v1;
 * Xet turned off). When the token opened, the request is the grant's for the audit log
 * whatever the outcome. */
int gw_xet_cas_open(gw_request_t *req, const char **message);

/* A shard upload's whole body[0..len): the files it defines noted for the audit log
 * (req->xet_files). Returns 0, or CMN_ERR_PARSE with *message when it is no shard (400:
 * hubgate forwards nothing it cannot account for), CMN_ERR_NOMEM. */
int gw_xet_cas_shard(gw_request_t *req, const char *body, size_t len, const char **message);

/* A reconstruction answer (2xx) body[0..len) with every transfer URL (v2 "xorbs", v1 and
 * batch "fetch_info") handed out as a sealed link (gw_links_hand_out, no credentials). NULL
 * with *status and *message to answer instead. Sets req->answer_bytes. */
struct MHD_Response *gw_xet_cas_reconstruction(gw_request_t *req, const char *body, size_t len,
                                               unsigned *status, const char **message);

/* A xorb upload's answer (2xx): {"was_inserted": true} whatever the CAS said, since "false"
 * would tell the caller that some repo, perhaps one it cannot read, already holds that
 * content. NULL with *status and *message when the answer is not the CAS's JSON. */
struct MHD_Response *gw_xet_cas_xorb(gw_request_t *req, const char *body, size_t len,
                                     unsigned *status, const char **message);

/* A Xet file-info answer (2xx) body[0..len): its refreshUrl rewritten like any Hub URL and
 * its reconstructionUrl pointed at hubgate's CAS (gw_rewrite_xet_reconstruction); a URL that
 * cannot be placed refuses the answer. NULL with *status and *message to answer instead. Sets
 * req->answer_bytes. */
struct MHD_Response *gw_xet_cas_fileinfo(gw_request_t *req, const char *body, size_t len,
                                         unsigned *status, const char **message);

#endif
