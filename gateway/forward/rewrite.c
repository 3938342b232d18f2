/* URLs in the upstream's answers (docs/egress.md): Hub routes become hubgate's, everything else
 * goes through the caller's foreign callback (sealed, passed or refused); response headers
 * filtered on the way. */
#include "gateway/forward/rewrite.h"

#include "common/buf.h"
#include "common/err.h"
#include "gateway/forward/xet.h"
#include "gateway/http/headers.h"
#include "gateway/route/route.h"
#include "gateway/config/destination.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_http(const char *u, size_t n)
{
    return (n > 7 && strncasecmp(u, "http://", 7) == 0) ||
           (n > 8 && strncasecmp(u, "https://", 8) == 0);
}

/* Does the reference start with a scheme ("mailto:", "http:")? RFC 3986 §3.1. */
static int has_scheme(const char *u, size_t n)
{
    size_t i = 0;
    while (i < n && (isalnum((unsigned char)u[i]) || (i > 0 && strchr("+-.", u[i]))))
        i++;
    return i > 0 && i < n && u[i] == ':' && isalpha((unsigned char)u[0]);
}

/* ref resolved against base (RFC 3986 §5, libcurl's resolver: dot segments removed). */
static const char *resolve(const char *base, const char *ref, size_t len, cmn_arena_t *arena)
{
    const char *out = NULL;
    char *r = memchr(ref, '\0', len) ? NULL : strndup(ref, len);
    char *abs = NULL;
    CURLU *u = curl_url();
    if (r && u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, r, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK)
        out = cmn_arena_strndup(arena, abs, strlen(abs));
    curl_free(abs);
    curl_url_cleanup(u);
    free(r);
    return out;
}

/* The path part of an absolute URL: what follows its authority. */
static const char *path_of(const char *abs)
{
    const char *p = strstr(abs, "://");
    p = p ? p + 3 : abs;
    return p + strcspn(p, "/?#");
}

/* Is rest (a path and query on the upstream, under its base path) a Hub route? An upstream
 * controls what its answers say; were a Hub route sealed, the link would fetch it without
 * hubgate judging who asks, so a URL the classifier knows, or refuses, or that lies in the
 * Hub's API namespaces goes to public_url, where hubgate judges it on use. */
static int hub_path(const char *method, const char *rest, size_t n, cmn_arena_t *arena)
{
    if (n == 0 || rest[0] != '/')
        return 1; /* the upstream's root */
    gw_route_t route;
    if (gw_route_classify_target(method, rest, n, arena, &route) != 0 ||
        route.family != GW_FAMILY_UNKNOWN)
        return 1;
    /* compared without case: an upstream may route "/API/..." as "/api/..." */
    static const char *const namespaces[] = {"api", "oauth", ".well-known", "-"};
    size_t seg = strcspn(rest + 1, "/?#");
    if (seg > n - 1)
        seg = n - 1;
    for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
        if (strlen(namespaces[i]) == seg && strncasecmp(rest + 1, namespaces[i], seg) == 0)
            return 1;
    }
    return 0;
}

gw_url_kind_t gw_rewrite_url_kind(const gw_rewrite_t *rw, const char *url, size_t len,
                                  const char *method, cmn_arena_t *arena, const char **out)
{
    const char *abs;
    *out = NULL;
    /* What clients (and browsers) read differently: "/\\evil", "/<TAB>/evil", "https:evil". */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f || c == '\\')
            return GW_URL_ERROR;
    }
    if (has_scheme(url, len) && !is_http(url, len) &&
        ((len >= 5 && strncasecmp(url, "http:", 5) == 0) ||
         (len >= 6 && strncasecmp(url, "https:", 6) == 0)))
        return GW_URL_ERROR;
    if (len >= 2 && url[0] == '/' && url[1] == '/') {
        /* "//host/x": another host, with the scheme of the URL it came relative to */
        const char *b = rw->base ? rw->base : rw->upstream;
        abs = cmn_arena_printf(arena, "%.*s:%.*s", (int)strcspn(b, ":"), b, (int)len, url);
    } else if (!has_scheme(url, len)) {
        if (!rw->base) {
            *out = cmn_arena_strndup(arena, url, len);
            return *out ? GW_URL_KEEP : GW_URL_ERROR;
        }
        abs = resolve(rw->base, url, len, arena);
    } else {
        abs = memchr(url, '\0', len) ? NULL : cmn_arena_strndup(arena, url, len);
    }
    if (!abs)
        return GW_URL_ERROR;
    size_t alen = strlen(abs);
    if (!is_http(abs, alen)) {
        /* other schemes are not followed by Hub clients */
        *out = cmn_arena_strndup(arena, url, len);
        return *out ? GW_URL_KEEP : GW_URL_ERROR;
    }
    gw_origin_t o, up;
    if (gw_origin_parse(abs, alen, &o) == 0 &&
        gw_origin_parse(rw->upstream, strlen(rw->upstream), &up) == 0 && gw_origin_equal(&o, &up)) {
        const char *path = path_of(abs), *base = path_of(rw->upstream);
        size_t plen = strlen(path), blen = strlen(base);
        if (plen >= blen && memcmp(path, base, blen) == 0 &&
            (plen == blen || strchr("/?#", path[blen])) &&
            hub_path(method ? method : "GET", path + blen, plen - blen, arena)) {
            *out = cmn_arena_printf(arena, "%s%s", rw->public_url, path + blen);
            return *out ? GW_URL_HUB : GW_URL_ERROR;
        }
    }
    *out = abs;
    return GW_URL_FOREIGN;
}

const char *gw_rewrite_url(const gw_rewrite_t *rw, const char *url, size_t len,
                                   const char *method, cmn_arena_t *arena)
{
    const char *out;
    switch (gw_rewrite_url_kind(rw, url, len, method, arena, &out)) {
    case GW_URL_KEEP:
    case GW_URL_HUB:
        return out;
    case GW_URL_FOREIGN:
        return rw->foreign ? rw->foreign(rw->foreign_ctx, out, strlen(out), method ? method : "GET")
                           : out;
    case GW_URL_ERROR:
        break;
    }
    return NULL;
}

/* Response headers never relayed: framing and hop-by-hop (MHD frames the answer), cookies
 * set for the service account, and the upstream's request id (hubgate's replaces it). */
static const char *const drop_response[] = {
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", "set-cookie", "set-cookie2",
    "x-request-id", "date", NULL};

const char *gw_rewrite_xet_reconstruction(const gw_rewrite_t *rw, const char *url, size_t len,
                                          cmn_arena_t *arena)
{
    const char *ep = memmem(url, len, "/reconstructions/", 17);
    if (!ep || ep - url < 3 || ep[-3] != '/' || ep[-2] != 'v' || (ep[-1] != '1' && ep[-1] != '2'))
        return NULL;
    ep -= 3;
    size_t n = len - (size_t)(ep - url);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ep[i];
        if (c <= 0x20 || c >= 0x7f || c == '#')
            return NULL;
    }
    return cmn_arena_printf(arena, "%s" GW_XET_CAS_PATH "%.*s", rw->public_url, (int)n, ep);
}

/* Rewrites each <url> of a Link header, dropping entries with a Xet relation when Xet is
 * disabled. Returns the new value (possibly empty) from the arena. */
static const char *rewrite_link(const gw_rewrite_t *rw, const char *v, size_t len,
                                cmn_arena_t *arena)
{
    /* Sealed links are far longer than the URLs they replace: the value is built in a buffer
     * that grows, capped like a whole header block. */
    cmn_buf_t out;
    cmn_buf_init(&out, GW_MAX_REWRITTEN_HEADER_BYTES);
    int rc = cmn_buf_append(&out, "", 0);
    const char *p = v, *end = v + len;
    while (rc == 0 && p < end) {
        /* one entry: <url>; params ... up to the next comma outside <> and quotes */
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        const char *s = p;
        int in_angle = 0, in_quote = 0;
        while (p < end && (in_angle || in_quote || *p != ',')) {
            if (*p == '<' && !in_quote)
                in_angle = 1;
            else if (*p == '>' && !in_quote)
                in_angle = 0;
            else if (*p == '"' && !in_angle)
                in_quote = !in_quote;
            p++;
        }
        size_t elen = (size_t)(p - s);
        if (elen == 0)
            continue;
        if (!rw->xet_enabled && memmem(s, elen, "xet-", 4))
            continue; /* rel="xet-auth", rel="xet-reconstruction-info" */
        const char *lt = memchr(s, '<', elen);
        const char *gt = lt ? memchr(lt, '>', elen - (size_t)(lt - s)) : NULL;
        if (rw->xet_enabled && lt && gt &&
            memmem(gt, elen - (size_t)(gt - s), "xet-reconstruction-info", 23)) {
            /* One hubgate cannot place in its own CAS is dropped, never passed on. */
            const char *u =
                gw_rewrite_xet_reconstruction(rw, lt + 1, (size_t)(gt - lt - 1), arena);
            if (!u)
                continue;
            if (out.len)
                rc = cmn_buf_puts(&out, ", ");
            if (rc == 0)
                rc = cmn_buf_printf(&out, "%.*s<%s>%.*s", (int)(lt - s), s, u,
                                    (int)(elen - (size_t)(gt + 1 - s)), gt + 1);
            continue;
        }
        if (out.len)
            rc = cmn_buf_puts(&out, ", ");
        if (rc)
            break;
        if (!lt || !gt) {
            rc = cmn_buf_append(&out, s, elen);
            continue;
        }
        const char *u = gw_rewrite_url(rw, lt + 1, (size_t)(gt - lt - 1), "GET", arena);
        rc = u ? cmn_buf_printf(&out, "%.*s<%s>%.*s", (int)(lt - s), s, u,
                                (int)(elen - (size_t)(gt + 1 - s)), gt + 1)
               : CMN_ERR_NOMEM;
    }
    const char *ret = rc == 0 ? cmn_arena_strndup(arena, out.data, out.len) : NULL;
    cmn_buf_free(&out);
    return ret;
}

int gw_rewrite_response(const char *block, size_t len, const gw_rewrite_t *rw, cmn_arena_t *arena,
                        gw_header_sink_t sink, void *ctx)
{
    const char *p = block, *end = block + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        const char *next = eol ? eol + 1 : end;
        if (line_end > p && line_end[-1] == '\r')
            line_end--;
        if (line_end == p) {
            p = next;
            continue;
        }
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (!colon || colon == p || *p == ' ' || *p == '\t')
            return CMN_ERR_PARSE; /* no name, or an obsolete folded line */
        gw_header_t h = {p, (size_t)(colon - p), colon + 1, (size_t)(line_end - colon - 1)};
        for (size_t k = 0; k < h.name_len; k++) {
            if (!gw_headers_is_tchar((unsigned char)h.name[k]))
                return CMN_ERR_PARSE;
        }
        while (h.value_len && (*h.value == ' ' || *h.value == '\t')) {
            h.value++;
            h.value_len--;
        }
        while (h.value_len && (h.value[h.value_len - 1] == ' ' || h.value[h.value_len - 1] == '\t'))
            h.value_len--;
        p = next;

        int drop = h.value_len == 0; /* MHD cannot send an empty value */
        for (size_t k = 0; !drop && drop_response[k]; k++)
            drop = gw_headers_name_is(&h, drop_response[k]);
        if (!rw->xet_enabled && gw_xet_is_header(h.name, h.name_len))
            drop = 1; /* hash, refresh route, CAS URL, access token and its expiry */
        if (rw->xet_enabled && (gw_headers_name_is(&h, "x-xet-access-token") ||
                                gw_headers_name_is(&h, "x-xet-cas-url") ||
                                gw_headers_name_is(&h, "x-xet-token-expiration")))
            drop = 1; /* the upstream's own Xet token never reaches a client */
        if (drop)
            continue;
        const char *name = cmn_arena_strndup(arena, h.name, h.name_len);
        const char *value;
        if (gw_headers_name_is(&h, "location"))
            value = gw_rewrite_url(rw, h.value, h.value_len, rw->location_method, arena);
        else if (gw_headers_name_is(&h, "x-xet-refresh-route") || gw_headers_name_is(&h, "content-location"))
            value = gw_rewrite_url(rw, h.value, h.value_len, "GET", arena);
        else if (gw_headers_name_is(&h, "link"))
            value = rewrite_link(rw, h.value, h.value_len, arena);
        else
            value = cmn_arena_strndup(arena, h.value, h.value_len);
        if (!name || !value)
            return CMN_ERR_NOMEM;
        if (!*value)
            continue;
        for (const char *c = value; *c; c++) {
            if ((unsigned char)*c < 0x20 && *c != '\t')
                return CMN_ERR_PARSE; /* a bare CR would let the upstream inject headers */
        }
        int rc = sink(ctx, name, value);
        if (rc)
            return rc;
    }
    return 0;
}
