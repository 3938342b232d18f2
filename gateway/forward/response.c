#include "common/err.h"
#include "gateway/forward/response.h"

#include "common/log.h"

#include "gateway/metrics/metrics.h"

#include "gateway/auditlog/request.h"

#include "gateway/forward/xfer.h"

#include "gateway/forward/lfs.h"
#include "gateway/forward/links.h"
#include "gateway/forward/listing.h"
#include "gateway/forward/xet.h"
#include "gateway/forward/xet_cas.h"
#include "gateway/forward/xet_token.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define GW_RESPONSE_BLOCK_BYTES  (32 * 1024)

/* The routes whose answer hubgate parses — rewrites (LFS batch hrefs) or filters (listings) —
 * and the most of it hubgate reads; 0 for answers that stream through. A parsed answer is
 * asked for whole and unencoded (gw_forward_t.parsed_answer), and gw_response_relay refuses one that
 * does not come that way: relaying it unread would hand out what hubgate exists to hide. */
int gw_response_parsed_as_asked(const gw_request_t *req)
{
    /* A reconstruction's Range names the part of the file it plans, not a part of the answer */
    if (req->xet_endpoint == GW_XET_EP_RECONSTRUCTION)
        return 1;
    if (req->srv->cfg->xet != GW_XET_PROXY || req->route.family != GW_FAMILY_RESOLVE)
        return 0;
    const gw_header_t *accept = gw_headers_find(req->headers, req->nheaders, "accept");
    size_t tl = sizeof(GW_XET_FILEINFO_TYPE) - 1;
    for (size_t i = 0; accept && i + tl <= accept->value_len; i++) {
        if (strncasecmp(accept->value + i, GW_XET_FILEINFO_TYPE, tl) == 0)
            return 1;
    }
    return 0;
}

size_t gw_response_parsed_cap(const gw_request_t *req)
{
    int xet = req->srv->cfg->xet == GW_XET_PROXY;
    if (gw_response_parsed_as_asked(req))
        return GW_MAX_XET_SMALL_ANSWER_BYTES; /* its URLs rewritten (forward/xet_cas.h) */
    if (req->xet_endpoint == GW_XET_EP_RECONSTRUCTION)
        return GW_MAX_LISTING_BODY_BYTES; /* its transfer URLs sealed (forward/xet_cas.h) */
    if (req->xet_endpoint == GW_XET_EP_XORB)
        return GW_MAX_XET_SMALL_ANSWER_BYTES; /* {"was_inserted": …}, always true to the client */
    switch (req->route.family) {
    case GW_FAMILY_LFS_BATCH:
        return GW_MAX_REWRITE_BODY_BYTES;
    case GW_FAMILY_LIST_REPOS:
    case GW_FAMILY_COLLECTION:
        return GW_MAX_LISTING_BODY_BYTES;
    case GW_FAMILY_TREE: /* Xet off: each entry's xetHash removed (forward/xet.h) */
    case GW_FAMILY_PATHS_INFO:
        return xet ? 0 : GW_MAX_LISTING_BODY_BYTES;
    case GW_FAMILY_XET_READ_TOKEN: /* Xet proxy: the upstream's token wrapped in hubgate's */
    case GW_FAMILY_XET_WRITE_TOKEN:
        return xet ? GW_MAX_XET_TOKEN_ANSWER_BYTES : 0;
    default:
        return 0;
    }
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

static int add_header(void *ctx, const char *name, const char *value)
{
    /* MHD refuses names it manages itself (Connection, Content-Length): dropping is right. */
    (void)MHD_add_response_header(ctx, name, value);
    return 0;
}

static int no_body_status(unsigned status)
{
    return status < 200 || status == 204 || status == 304;
}

/* A redirect whose Location hubgate rewrites. Its body is the upstream's page naming the
 * original target ("Found. Redirecting to <signed storage URL>"): relayed, it would hand out
 * the URL the sealed link exists to hide, and with it a way around hubgate. */
static int redirect_status(unsigned status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* The headers of a redirect answered without its body: the upstream's encoding no longer
 * describes it. */
static int add_redirect_header(void *ctx, const char *name, const char *value)
{
    if (strcasecmp(name, "content-encoding") == 0)
        return 0;
    return add_header(ctx, name, value);
}

/* Does a `name` header of the upstream's block contain `what` (case-insensitive)? */
static int header_has(const char *block, size_t len, const char *name, const char *what)
{
    size_t nlen = strlen(name), wlen = strlen(what);
    const char *p = block, *end = block + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        if ((size_t)(line_end - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            for (const char *v = p + nlen + 1; v + wlen <= line_end; v++) {
                if (strncasecmp(v, what, wlen) == 0)
                    return 1;
            }
        }
        p = eol ? eol + 1 : end;
    }
    return 0;
}

/* Does the upstream's header block declare a content coding other than identity? */
static int encoded(const char *block, size_t len)
{
    const char *p = block, *end = block + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        if (line_end - p > 17 && strncasecmp(p, "content-encoding:", 17) == 0) {
            const char *v = p + 17, *ve = line_end;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (ve > v && !((size_t)(ve - v) == 8 && strncasecmp(v, "identity", 8) == 0))
                return 1;
        }
        p = eol ? eol + 1 : end;
    }
    return 0;
}

/* Headers that describe the upstream's bytes, not the answer hubgate rewrote or filtered from
 * them (a count of the unfiltered listing would tell what was hidden). */
static int add_parsed_header(void *ctx, const char *name, const char *value)
{
    static const char *const skip[] = {
        "etag",          "content-range",    "content-md5",   "digest",
        "accept-ranges", "content-encoding", "x-total-count", NULL};
    for (size_t i = 0; skip[i]; i++) {
        if (strcasecmp(name, skip[i]) == 0)
            return 0;
    }
    return add_header(ctx, name, value);
}

/* An answer hubgate could not hand on: when it pointed outside the region's origins, a 502
 * that says so; otherwise the given status and message. */
static enum MHD_Result refuse_answer(gw_request_t *req, struct MHD_Connection *conn,
                                     unsigned status, const char *message)
{
    if (req->refused_destination)
        return gw_request_error(req, conn, 502, NULL,
                                "the upstream pointed to a destination hubgate does not allow");
    return gw_request_error(req, conn, status, NULL, message);
}

struct MHD_Response *gw_response_own_text(gw_request_t *req, char *text)
{
    size_t n = strlen(text);
    struct MHD_Response *r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return NULL;
    }
    req->answer_bytes = n;
    return r;
}

/* The Xet answers hubgate rewrites (forward/xet_cas.h, forward/xet_token.h), each from the
 * upstream's whole body: the rewriter for this one, or NULL. */
typedef struct MHD_Response *(*xet_rewrite_t)(gw_request_t *req, const char *body, size_t len,
                                              unsigned *status, const char **message);

static xet_rewrite_t xet_rewriter(const gw_request_t *req, const char *block, size_t hlen)
{
    if (req->xet_endpoint == GW_XET_EP_RECONSTRUCTION)
        return gw_xet_cas_reconstruction;
    if (req->xet_endpoint == GW_XET_EP_XORB)
        return gw_xet_cas_xorb;
    if (req->route.family == GW_FAMILY_XET_READ_TOKEN ||
        req->route.family == GW_FAMILY_XET_WRITE_TOKEN)
        return gw_xet_token_answer;
    if (gw_response_parsed_as_asked(req) &&
        header_has(block, hlen, "content-type", GW_XET_FILEINFO_TYPE))
        return gw_xet_cas_fileinfo;
    return NULL;
}

enum MHD_Result gw_response_relay(gw_request_t *req, struct MHD_Connection *conn)
{
    gw_xfer_t *x = req->xfer;
    gw_xfer_error_t err = gw_xfer_error(x);
    if (err != GW_XFER_OK) {
        gw_metrics_upstream_error(err);
        if (err == GW_XFER_TIMEOUT)
            return gw_request_error(req, conn, 504, NULL, "the upstream hub did not answer in time");
        return gw_request_error(req, conn, 502, NULL,
                                err == GW_XFER_CONNECT   ? "the upstream hub is unreachable"
                                : err == GW_XFER_REFUSED ? "hubgate does not connect to that "
                                                           "destination's address"
                                                         : "the upstream hub sent a bad answer");
    }
    gw_metrics_upstream_latency(gw_xfer_head_latency_us(x));
    unsigned status = (unsigned)gw_xfer_status(x);
    int64_t cl = gw_xfer_content_length(x);
    int head = strcmp(req->method, "HEAD") == 0;
    int ok = status >= 200 && status < 300;
    size_t hlen;
    const char *block = gw_xfer_headers(x, &hlen);
    struct MHD_Response *r = NULL;
    int rewrote = 0;  /* the body is hubgate's, not the upstream's bytes */
    xet_rewrite_t xet_rewrite = NULL;
    int redirect = 0; /* a redirect answered without the upstream's body */

    /* A parsed answer comes whole and unencoded (we asked for identity), or not at all: a
     * compressed one cannot be read, and relayed as is it would carry the upstream's storage
     * URLs or the names of repos the caller may not see. */
    int parsed = gw_response_parsed_cap(req) > 0 && !head;
    /* A Xet file-info answer hubgate did not ask for (it removes that type from Accept): its
     * headers would send the client to Xet storage, without them @huggingface/hub fails. */
    if (req->srv->cfg->xet == GW_XET_OFF && header_has(block, hlen, "content-type", GW_XET_FILEINFO_TYPE))
        return gw_request_error(req, conn, 502, NULL,
                                "the upstream hub answered with Xet file information, which "
                                "hubgate does not carry");
    if (parsed && !no_body_status(status) && encoded(block, hlen))
        return gw_request_error(req, conn, 502, NULL,
                                "the upstream hub sent a compressed answer hubgate cannot inspect");

    if (parsed && req->route.family == GW_FAMILY_LFS_BATCH) {
        size_t blen;
        const char *body = gw_xfer_buffered_body(x, &blen);
        int failed = 0;
        const char *why = NULL;
        char *rewritten = gw_lfs_rewrite_batch(req, body, blen, &failed, &why);
        if (failed) {
            free(rewritten);
            if (failed == GW_LFS_XET_FAILED)
                return refuse_answer(req, conn, 502, why);
            if (failed == GW_LFS_CHOSE_XET)
                return gw_request_error(req, conn, 502, NULL,
                                        "the upstream hub chose Xet storage for this transfer, "
                                        "which hubgate does not carry");
            return refuse_answer(req, conn, 500, "hubgate could not rewrite the answer");
        }
        if (!rewritten && ok)
            return gw_request_error(
                req, conn, 502, NULL,
                "the upstream hub sent an LFS batch answer hubgate cannot read");
        /* an error answer that is no batch document carries no href: relayed as it came */
        rewrote = rewritten != NULL;
        if (rewrote)
            req->answer_bytes = strlen(rewritten);
        r = rewritten ? MHD_create_response_from_buffer(strlen(rewritten), rewritten,
                                                        MHD_RESPMEM_MUST_FREE)
                      : MHD_create_response_from_buffer(blen, (void *)body, MHD_RESPMEM_MUST_COPY);
        if (!r)
            free(rewritten);
    } else if (parsed && req->route.family == GW_FAMILY_LIST_REPOS && ok) {
        /* Every success is filtered or refused: unfiltered it would list everything the service
         * account sees. A part of a listing (206: the upstream ignored that we asked for all of
         * it) is no listing. */
        size_t blen, kept, dropped;
        const char *body = gw_xfer_buffered_body(x, &blen);
        char *filtered = status != 206 ? gw_listing_filter(req, body, blen, &kept, &dropped) : NULL;
        if (!filtered)
            return gw_request_error(req, conn, 502, NULL,
                                    "the upstream hub sent a listing hubgate cannot filter");
        if (dropped)
            cmn_log_debug("listing", "%s: %zu shown, %zu hidden by the policy", req->request_id,
                          kept, dropped);
        rewrote = 1;
        r = gw_response_own_text(req, filtered);
    } else if (parsed && req->route.family == GW_FAMILY_COLLECTION && ok) {
        /* Every 2xx: the answer is the service account's view of collections. */
        size_t blen;
        const char *body = gw_xfer_buffered_body(x, &blen);
        unsigned refuse = 0;
        const char *why = NULL;
        if (status == 206)
            return gw_request_error(req, conn, 502, NULL,
                                    "the upstream hub sent a collections answer hubgate cannot "
                                    "filter");
        r = gw_listing_collections(req, body, blen, &refuse, &why);
        if (!r)
            return gw_request_error(req, conn, refuse ? refuse : 500, NULL, why);
        rewrote = 1;
    } else if (parsed && ok && (xet_rewrite = xet_rewriter(req, block, hlen))) {
        size_t blen;
        const char *body = gw_xfer_buffered_body(x, &blen);
        unsigned refuse = 0;
        const char *why = "the upstream CAS sent a partial reconstruction";
        /* a part of a reconstruction plan is no plan (its Range chose the part of the file) */
        r = status == 206 && req->xet_endpoint == GW_XET_EP_RECONSTRUCTION
                ? NULL
                : xet_rewrite(req, body, blen, &refuse, &why);
        if (!r)
            return refuse_answer(req, conn, refuse ? refuse : 502, why);
        rewrote = 1;
    } else if (parsed && ok && (req->route.family == GW_FAMILY_TREE ||
                                req->route.family == GW_FAMILY_PATHS_INFO)) {
        size_t blen, removed;
        const char *body = gw_xfer_buffered_body(x, &blen);
        char *text = status != 206 ? gw_xet_strip_listing(body, blen, &removed) : NULL;
        if (!text)
            return gw_request_error(req, conn, 502, NULL,
                                    "the upstream hub sent a file listing hubgate cannot read");
        rewrote = 1;
        r = gw_response_own_text(req, text);
    } else if (parsed && ok && !gw_response_parsed_as_asked(req)) {
        /* a route listed in parsed_answer_cap with no reader here: never relayed unread */
        return gw_request_error(req, conn, 502, NULL,
                                "the upstream hub sent an answer hubgate cannot inspect");
    } else if (redirect_status(status) && !head) {
        redirect = 1;
        req->answer_bytes = 0;
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else if (gw_xfer_is_buffered(x) && !head) {
        /* A small answer read whole: the response sends the transfer's own buffer and holds a
         * reference to it instead of a copy. */
        size_t blen;
        const char *body = gw_xfer_buffered_body(x, &blen);
        gw_xfer_retain(x);
        r = MHD_create_response_from_buffer_with_free_callback_cls(blen, (void *)body,
                                                                   release_body, x);
        if (!r)
            gw_xfer_release(x);
    } else {
        /* HEAD and bodiless statuses: the declared size and a reader MHD never calls; a size
         * of MHD_SIZE_UNKNOWN there would make MHD 0.9.75 send a chunked terminator. */
        uint64_t size = (head || no_body_status(status)) ? (uint64_t)(cl >= 0 ? cl : 0)
                        : cl >= 0                        ? (uint64_t)cl
                                                         : MHD_SIZE_UNKNOWN;
        gw_xfer_retain(x); /* the response's reference, dropped by release_body */
        r = MHD_create_response_from_callback(size, GW_RESPONSE_BLOCK_BYTES, read_body, x,
                                              release_body);
        if (!r)
            gw_xfer_release(x);
    }
    if (!r)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);

    gw_rewrite_t rw = gw_links_rewriter(req);
    if (gw_rewrite_response(block, hlen, &rw, &req->arena,
                            rewrote    ? add_parsed_header
                            : redirect ? add_redirect_header
                                       : add_header,
                            r) != 0) {
        MHD_destroy_response(r);
        return refuse_answer(req, conn, 502, "the upstream hub sent a bad answer");
    }
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    req->status = status;
    req->phase = GW_PHASE_ANSWERED;
    /* The completion counts the body the client gets: hubgate's own when it rewrote or filtered
     * the upstream's (answer_bytes, set above), else the upstream's bytes as relayed. */
    req->answer_own = rewrote || redirect || head;
    if (head)
        req->answer_bytes = 0;
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}
