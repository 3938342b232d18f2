/* Forwarding: an authorized request goes to its region's upstream, byte for byte as judged,
 * and the answer streams back (DESIGN.md pipeline steps 5 and 6). */
#include "common/err.h"
#include "common/log.h"
#include "gateway/http.h"
#include "gateway/metrics.h"
#include "gateway/request.h"

#include <stdio.h>
#include <string.h>

#define GW_RESPONSE_BLOCK_BYTES (32 * 1024)

static const gw_region_t *region_for(const gw_request_t *req)
{
    /* Until the policy assigns regions, everything goes to the default region. */
    const gw_config_t *cfg = req->srv->cfg;
    return &cfg->regions[cfg->default_region];
}

unsigned gw_proxy_start(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                        size_t body_len)
{
    const gw_config_t *cfg = req->srv->cfg;
    const gw_region_t *region = region_for(req);

    /* X-Forwarded-For: the client's list is extended only when the peer is a trusted proxy;
     * from anyone else it is dropped and the peer starts a new one. */
    const gw_header_t *xff = gw_headers_find(req->headers, req->nheaders, "x-forwarded-for");
    const char *forwarded_for =
        req->peer_trusted && xff ? cmn_arena_printf(&req->arena, "%.*s, %s", (int)xff->value_len,
                                                    xff->value, req->peer_ip)
                                 : req->peer_ip;
    const gw_header_t *host = gw_headers_find(req->headers, req->nheaders, "host");
    char *credential = cmn_arena_printf(&req->arena, "Bearer %s", region->token);
    gw_forward_t fwd = {
        .credential = credential,
        .request_id = req->request_id,
        .forwarded_for = forwarded_for,
        .forwarded_proto = cfg->tls_cert ? "https" : "http",
        .forwarded_host = host ? cmn_arena_strndup(&req->arena, host->value, host->value_len)
                               : NULL,
        .identity = NULL,
    };
    struct curl_slist *headers = NULL;
    int rc = credential ? gw_headers_upstream(req->headers, req->nheaders, &fwd, &headers)
                        : CMN_ERR_NOMEM;
    if (credential)
        memset(credential, 0, strlen(credential));
    if (rc)
        return 500;

    req->xfer = gw_xfer_create(conn);
    if (!req->xfer) {
        curl_slist_free_all(headers);
        return 500;
    }
    char *base = cmn_arena_printf(&req->arena, "%s/", region->upstream);
    char *target = cmn_arena_strndup(&req->arena, req->target, req->target_len);
    gw_xfer_req_t xr = {
        .method = req->method,
        .base_url = base,
        .target = target,
        .headers = headers,
        .stream_body = !body && req->framing.has_body,
        .body_length = req->framing.chunked ? -1 : req->framing.content_length,
        .body = body,
        .body_len = body_len,
        .follow_redirects = 0,
    };
    if (!base || !target) {
        curl_slist_free_all(headers);
        return 500;
    }
    if (!body && !req->framing.has_body && req->framing.content_length == 0) {
        /* An explicit "Content-Length: 0" (e.g. POST with no body) is forwarded as such. */
        xr.body = "";
        xr.body_len = 0;
    }
    rc = gw_upstream_submit(req->srv->upstream, req->xfer, &xr);
    if (rc)
        return rc == CMN_ERR_CONFLICT ? 503 : 500;
    req->phase = xr.stream_body ? GW_PHASE_STREAM_BODY : GW_PHASE_WAIT_HEAD;
    return 0;
}

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    return gw_xfer_read(cls, buf, max);
}

static void release_body(void *cls)
{
    gw_xfer_release(cls);
}

typedef struct {
    struct MHD_Response *response;
} sink_t;

static int add_header(void *ctx, const char *name, const char *value)
{
    sink_t *s = ctx;
    /* MHD refuses some names it manages itself (e.g. Connection); dropping those is right. */
    (void)MHD_add_response_header(s->response, name, value);
    return 0;
}

static int no_body_status(unsigned status)
{
    return status < 200 || status == 204 || status == 304;
}

static enum MHD_Result answer(gw_request_t *req, struct MHD_Connection *conn)
{
    gw_xfer_t *x = req->xfer;
    gw_xfer_error_t err = gw_xfer_error(x);
    if (err != GW_XFER_OK) {
        gw_metrics_upstream_error(err);
        if (err == GW_XFER_TIMEOUT)
            return gw_request_error(req, conn, 504, NULL, "the upstream hub did not answer in time");
        return gw_request_error(req, conn, 502, NULL,
                                err == GW_XFER_CONNECT ? "the upstream hub is unreachable"
                                                       : "the upstream hub sent a bad answer");
    }
    gw_metrics_upstream_latency(gw_xfer_head_latency_us(x));
    unsigned status = (unsigned)gw_xfer_status(x);
    int64_t cl = gw_xfer_content_length(x);
    int head = strcmp(req->method, "HEAD") == 0;

    /* HEAD and bodiless statuses: the declared size, and a reader MHD never calls. A size of
     * MHD_SIZE_UNKNOWN there would make MHD send a chunked terminator (libraries.md §1d). */
    uint64_t size = (head || no_body_status(status)) ? (uint64_t)(cl >= 0 ? cl : 0)
                    : cl >= 0                        ? (uint64_t)cl
                                                     : MHD_SIZE_UNKNOWN;
    gw_xfer_retain(x); /* the response's reference, dropped by release_body */
    struct MHD_Response *r = MHD_create_response_from_callback(size, GW_RESPONSE_BLOCK_BYTES,
                                                               read_body, x, release_body);
    if (!r) {
        gw_xfer_release(x);
        return gw_request_error(req, conn, 500, NULL, "out of memory");
    }

    const gw_config_t *cfg = req->srv->cfg;
    gw_rewrite_t rw = {region_for(req)->upstream, cfg->public_url, 0};
    size_t hlen;
    const char *block = gw_xfer_headers(x, &hlen);
    sink_t sink = {r};
    int rc = gw_headers_response(block, hlen, &rw, &req->arena, add_header, &sink);
    if (rc) {
        MHD_destroy_response(r); /* runs release_body */
        return gw_request_error(req, conn, 502, NULL, "the upstream hub sent a bad answer");
    }
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    req->status = status;
    req->phase = GW_PHASE_ANSWERED;
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result gw_proxy_continue(gw_request_t *req, struct MHD_Connection *conn,
                                  const char *upload_data, size_t *upload_data_size)
{
    if (req->phase == GW_PHASE_STREAM_BODY) {
        if (*upload_data_size) {
            size_t taken = gw_xfer_push_body(req->xfer, upload_data, *upload_data_size);
            *upload_data_size -= taken; /* the rest comes again after the resume */
            return MHD_YES;
        }
        gw_xfer_end_body(req->xfer);
        req->phase = GW_PHASE_WAIT_HEAD;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!gw_xfer_head_ready(req->xfer))
        return MHD_YES; /* suspended until the head arrives or the transfer fails */
    return answer(req, conn);
}
