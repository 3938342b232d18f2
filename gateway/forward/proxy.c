/* Forwarding: an authorized request goes to its region's upstream, byte for byte as judged,
 * and the answer streams back, its URLs pointing at hubgate (docs/architecture.md, docs/egress.md). */
#include "common/err.h"
#include "common/log.h"

#include "gateway/metrics/metrics.h"

#include "gateway/authn/assertion.h"

#include "gateway/forward/xet.h"
#include "gateway/forward/egress.h"
#include "gateway/forward/proxy.h"
#include "gateway/forward/links.h"
#include "gateway/forward/response.h"
#include "gateway/forward/upstream.h"
#include "gateway/forward/xfer.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct {
    const char *base_url;   /* decides the connection */
    const char *target;     /* sent byte for byte */
    const char *credential; /* "Bearer …" or NULL */
    const char *extra;      /* more header lines "Name: value\n", or NULL */
    const gw_destination_t *allowed; /* egress: what the connection may reach; NULL: any */
    size_t buffer_cap;
    const gw_region_t *region; /* whose hub it is (the identity assertion names it) */
    gw_xfer_t **xfer;          /* where the transfer goes: &req->xfer, or one of a fan-out's */
} destination_t;

/* gw_xfer_req_t's address check for egress (I/O thread): ctx is the transfer's copy of the
 * gw_destination_t. */
static int check_address(const void *ctx, const struct sockaddr *sa, size_t len)
{
    const gw_destination_t *d = ctx;
    const char *why = NULL;
    if (gw_destination_check(d, sa, len, &why) == 0)
        return 0;
    char ip[INET6_ADDRSTRLEN] = "?", where[GW_MAX_ORIGIN_HOST_BYTES + 32];
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
    cmn_log_warn("egress",
                 "refused to connect to %s (%s) for %s: list the address in \"storage\", or its "
                 "network in \"storage_networks\", if it is really storage",
                 ip, why, gw_origin_format(&d->origin, where, sizeof(where)));
    return -1;
}

static int start(gw_request_t *req, struct MHD_Connection *conn, const destination_t *dst,
                 const char *body, size_t body_len)
{
    const gw_config_t *cfg = req->srv->cfg;
    /* The Host, scheme and identity the upstream learns are hubgate's, never the client's. */
    const char *proto = req->srv->public_proto, *host = req->srv->public_host;
    const char *org = NULL, *role = NULL, *region = NULL;
    if (req->decided && req->decision.effect == POL_ALLOW) {
        org = req->decision.org;
        role = req->decision.role != POL_ROLE_NONE ? pol_role_name(req->decision.role) : NULL;
        region = dst->region ? dst->region->name : NULL;
    }
    gw_forward_t fwd = {
        .credential = dst->credential,
        .request_id = req->request_id,
        /* Storage (a CDN, often a third party) learns nothing of the client's network: only
         * the hub gets the forwarding headers. */
        .forwarded_for = req->is_egress ? NULL : req->forwarded_for,
        .forwarded_proto = req->is_egress ? NULL : proto,
        .forwarded_host = req->is_egress ? NULL : host,
        /* Only the hub learns whom hubgate vouches for, and under which grant; storage gets a
         * bare signed URL. */
        .identity =
            dst->credential
                ? gw_assertion_mint(atomic_load(&req->srv->assertion), &req->identity, org, role,
                                    region, req->request_id, (int64_t)time(NULL), &req->arena)
                : NULL,
        .parsed_answer = dst->buffer_cap == 0               ? 0
                         : gw_response_parsed_as_asked(req) ? GW_PARSED_AS_ASKED
                                                            : GW_PARSED_WHOLE,
        .dropped = gw_metrics_header_dropped,
        /* with Xet off: without it, @huggingface/hub asks resolve for Xet file information
         * (forward/xet.h) */
        .drop_accept_type = cfg->xet == GW_XET_OFF ? GW_XET_FILEINFO_TYPE : NULL,
    };
    if (dst->credential && !fwd.identity)
        return CMN_ERR_NOMEM;
    struct curl_slist *headers = NULL;
    if (gw_headers_upstream(req->headers, req->nheaders, &fwd, &headers) != 0)
        return CMN_ERR_NOMEM;
    for (const char *p = dst->extra; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = cmn_arena_strndup(&req->arena, p, n);
        struct curl_slist *l = line ? curl_slist_append(headers, line) : NULL;
        if (!l) {
            curl_slist_free_all(headers);
            return CMN_ERR_NOMEM;
        }
        headers = l;
        p += n + (nl ? 1 : 0);
    }

    gw_xfer_t *x = *dst->xfer = gw_xfer_create(conn);
    if (!x) {
        curl_slist_free_all(headers);
        return CMN_ERR_NOMEM;
    }
    gw_xfer_req_t xr = {
        .method = req->method,
        .base_url = dst->base_url,
        .target = dst->target,
        .headers = headers,
        .stream_body = !body && req->framing.has_body,
        .body_length = req->framing.chunked ? -1 : req->framing.content_length,
        .body = body,
        .body_len = body_len,
        .address_check = dst->allowed ? check_address : NULL,
        .address_ctx = dst->allowed,
        .address_ctx_len = dst->allowed ? sizeof(*dst->allowed) : 0,
        .connect_ms = cfg->timeouts.upstream_connect_ms,
        .idle_seconds = cfg->timeouts.upstream_idle_seconds,
        .buffer_cap = dst->buffer_cap,
    };
    if (!body && !req->framing.has_body && req->framing.content_length == 0) {
        /* An explicit "Content-Length: 0" (a POST without body) is forwarded as such. */
        xr.body = "";
        xr.body_len = 0;
    }
    int rc = gw_upstream_submit(req->upstream, x, &xr);
    if (rc)
        return rc == CMN_ERR_CONFLICT ? CMN_ERR_UNAVAILABLE : CMN_ERR_NOMEM; /* stopping, or no memory */
    req->phase = xr.stream_body ? GW_PHASE_STREAM_BODY : GW_PHASE_WAIT_HEAD;
    return 0;
}

/* The request to region's hub, for target. */
static int start_hub(gw_request_t *req, struct MHD_Connection *conn, const gw_region_t *region,
                     const char *target, gw_xfer_t **xfer, const char *body, size_t body_len)
{
    /* Public data is asked for as anybody would ask: a hub that does not know who asks cannot
     * answer with its service account's view (gateway/route/route.h, GW_TREAT_PUBLIC). */
    int anonymous = gw_route_treatment(&req->route, NULL) == GW_TREAT_PUBLIC;
    char *credential =
        anonymous ? NULL : cmn_arena_concat(&req->arena, "Bearer ", region->token);
    destination_t dst = {
        .base_url = cmn_arena_concat(&req->arena, region->upstream, "/"),
        .target = target,
        .credential = credential,
        .buffer_cap = gw_response_parsed_cap(req),
        .region = region,
        .xfer = xfer,
    };
    int rc = (credential || anonymous) && dst.base_url && dst.target
                 ? start(req, conn, &dst, body, body_len)
                 : CMN_ERR_NOMEM;
    if (credential)
        memset(credential, 0, strlen(credential)); /* curl holds its own copy */
    return rc;
}

int gw_proxy_start(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                   size_t body_len, const char **message)
{
    *message = "hubgate could not forward the request";
    return start_hub(req, conn, gw_links_region(req),
                     cmn_arena_strndup(&req->arena, req->target, req->target_len), &req->xfer,
                     body, body_len);
}

int gw_proxy_submit(gw_request_t *req, struct MHD_Connection *conn, const gw_region_t *region,
                    const char *target, gw_xfer_t **xfer)
{
    return start_hub(req, conn, region, target, xfer, NULL, 0);
}

/* Splits an absolute http(s) URL into the connection part ("http://h:p/") and the
 * request-target, which must be printable ASCII like any target hubgate forwards. */
static int split_url(cmn_arena_t *a, const char *url, const char **base, const char **target)
{
    const char *p = NULL;
    if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    if (!p || !*p)
        return -1;
    const char *slash = strpbrk(p, "/?#");
    size_t blen = slash ? (size_t)(slash - url) : strlen(url);
    const char *t = slash ? slash : "/";
    size_t tlen = strcspn(t, "#");
    for (size_t i = 0; i < tlen; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f)
            return -1;
    }
    *base = cmn_arena_printf(a, "%.*s/", (int)blen, url);
    *target = t[0] == '?' ? cmn_arena_printf(a, "/%.*s", (int)tlen, t)
                          : cmn_arena_strndup(a, t, tlen);
    return *base && *target ? 0 : -1;
}

int gw_proxy_open_egress(gw_request_t *req, const char **message)
{
    gw_egress_claim_t *claim = &req->egress;
    int rc = req->route.object ? gw_egress_open(atomic_load(&req->srv->egress_keys),
                                                req->route.object, time(NULL), &req->arena, claim)
                               : CMN_ERR_PARSE;
    if (rc == CMN_ERR_EXPIRED) {
        *message = "this download or upload link has expired; ask the hub for a new one";
        return CMN_ERR_EXPIRED;
    }
    const gw_region_t *region = rc == 0 ? gw_config_region(req->srv->cfg, claim->region) : NULL;
    if (!region) {
        /* not ours, or sealed by a gateway (sharing the key) that serves another region */
        *message = "hubgate did not issue this link";
        return CMN_ERR_NOTFOUND;
    }
    /* Bound to the caller it was issued to. A request without credentials may still use it (it
     * is a short-lived capability, like the presigned URL it wraps, and git-lfs and redirect
     * followers do not always resend credentials); one with someone else's may not. */
    const gw_identity_t *id = &req->identity;
    if (id->kind != GW_ID_ANONYMOUS &&
        (!*claim->sub || !id->iss || !id->sub || strcmp(id->iss, claim->iss) != 0 ||
         strcmp(id->sub, claim->sub) != 0)) {
        *message = "this link was issued to someone else";
        return CMN_ERR_DENIED;
    }
    int get = strcmp(claim->method, "GET") == 0;
    if (!(strcmp(req->method, claim->method) == 0 || (get && strcmp(req->method, "HEAD") == 0))) {
        *message = "this link does not allow that method";
        return CMN_ERR_METHOD;
    }
    req->region = region;
    req->is_egress = 1;
    return 0;
}

int gw_proxy_start_egress(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                          size_t body_len, const char **message)
{
    const gw_egress_claim_t *claim = &req->egress;
    const gw_region_t *region = gw_links_region(req);
    gw_destination_t allowed = {.networks = region->storage_networks,
                                .n_networks = region->n_storage_networks};
    /* Never follows a redirect itself: a 3xx goes back to the client as a link of its own. */
    destination_t dst = {.extra = claim->headers,
                         .allowed = &allowed,
                         .buffer_cap = gw_response_parsed_cap(req),
                         .region = region,
                         .xfer = &req->xfer};
    *message = "hubgate could not forward the request";
    if (split_url(&req->arena, claim->url, &dst.base_url, &dst.target) != 0 ||
        gw_origin_parse(dst.base_url, strlen(dst.base_url), &allowed.origin) != 0)
        return CMN_ERR_UPSTREAM;
    /* The config may have changed since the link was sealed (another instance, a restart). */
    allowed.any_address = gw_origin_equal(&allowed.origin, &region->upstream_origin);
    if (!allowed.any_address &&
        !gw_origin_listed(&allowed.origin, region->storage, region->n_storage)) {
        *message = "this link leads to a destination hubgate does not allow";
        return CMN_ERR_UPSTREAM;
    }
    return start(req, conn, &dst, body, body_len);
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
    return gw_response_relay(req, conn);
}
