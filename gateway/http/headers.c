#include "gateway/http/headers.h"
#include "common/buf.h"
#include "common/err.h"
#include "gateway/config/destination.h"
#include "gateway/route/route.h"
#include "common/arena.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int name_is(const gw_header_t *h, const char *name)
{
    size_t n = strlen(name);
    return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

static int is_tchar(unsigned char c)
{
    /* RFC 9110 token characters */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                                      NULL};

int gw_headers_check_request(const char *method, const char *version, const gw_header_t *h,
                             size_t n, gw_framing_t *framing, const char **reason)
{
    int known = 0;
    for (size_t i = 0; methods[i]; i++)
        known |= strcmp(method, methods[i]) == 0;
    if (!known) {
        *reason = "method not allowed";
        return 501;
    }
    if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0) {
        *reason = "HTTP version not supported";
        return 505;
    }
    int hosts = 0, cls = 0, tes = 0;
    long long cl = -1;
    int chunked = 0;
    for (size_t i = 0; i < n; i++) {
        const gw_header_t *x = &h[i];
        if (x->name_len == 0) {
            *reason = "empty header name";
            return 400;
        }
        for (size_t k = 0; k < x->name_len; k++) {
            if (!is_tchar((unsigned char)x->name[k])) {
                /* also catches MHD 0.9.75's folded lines and "Name :" */
                *reason = "malformed header name";
                return 400;
            }
        }
        for (size_t k = 0; k < x->value_len; k++) {
            unsigned char c = (unsigned char)x->value[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                *reason = "control character in a header value";
                return 400;
            }
        }
        if (name_is(x, "host")) {
            hosts++;
        } else if (name_is(x, "content-length")) {
            if (++cls > 1) {
                *reason = "more than one Content-Length";
                return 400;
            }
            if (x->value_len == 0 || x->value_len > 18) {
                *reason = "malformed Content-Length";
                return 400;
            }
            cl = 0;
            for (size_t k = 0; k < x->value_len; k++) {
                if (x->value[k] < '0' || x->value[k] > '9') {
                    *reason = "malformed Content-Length";
                    return 400;
                }
                cl = cl * 10 + (x->value[k] - '0');
            }
        } else if (name_is(x, "transfer-encoding")) {
            if (++tes > 1 || x->value_len != 7 || strncasecmp(x->value, "chunked", 7) != 0) {
                *reason = "unsupported Transfer-Encoding";
                return 400;
            }
            chunked = 1;
        } else if ((x->name_len > 14 && strncasecmp(x->name, "content-length", 14) == 0) ||
                   (x->name_len > 17 && strncasecmp(x->name, "transfer-encoding", 17) == 0)) {
            /* "Transfer-Encodingchunked": what a folded line becomes in MHD 0.9.75 */
            *reason = "malformed framing header";
            return 400;
        }
    }
    if (cls && tes) {
        *reason = "both Content-Length and Transfer-Encoding";
        return 400;
    }
    if (hosts != 1 && strcmp(version, "HTTP/1.1") == 0) {
        *reason = hosts ? "more than one Host" : "missing Host";
        return 400;
    }
    if (hosts > 1) {
        *reason = "more than one Host";
        return 400;
    }
    if (chunked && strcmp(version, "HTTP/1.0") == 0) {
        *reason = "chunked body on HTTP/1.0";
        return 400;
    }
    framing->chunked = chunked;
    framing->content_length = chunked ? -1 : cl;
    framing->has_body = chunked || cl > 0;
    return 0;
}

const gw_header_t *gw_headers_find(const gw_header_t *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (name_is(&h[i], name))
            return &h[i];
    }
    return NULL;
}

/* Request headers are forwarded from an allow-list: what Hub clients (huggingface_hub,
 * @huggingface/hub, transformers.js, git, git-lfs) send for the Hub to act on. Anything else
 * is dropped, so a header that would make the upstream (or a proxy in front of it) act on
 * another method, another URL or another identity never gets there, whatever its name. */
static const char *const allow_request[] = {
    "accept", "accept-encoding", "accept-language", "cache-control", "content-encoding",
    "content-type", "git-protocol", "if-match", "if-modified-since", "if-none-match", "if-range",
    "if-unmodified-since", "pragma", "range", "user-agent", NULL};

/* Why a header is dropped, for the metrics; the first match wins, so a specific name is listed
 * before a prefix that also covers it. A trailing '-' marks a prefix. */
static const struct {
    const char *name;
    const char *cls;
} drop_request[] = {
    /* curl frames the upstream request itself */
    {"host", GW_HDR_FRAMING},
    {"content-length", GW_HDR_FRAMING},
    {"transfer-encoding", GW_HDR_FRAMING},
    {"expect", GW_HDR_FRAMING},
    /* hubgate checked it; the region's credential replaces it */
    {"authorization", GW_HDR_AUTHENTICATED},
    {"connection", "hop_by_hop"},
    {"keep-alive", "hop_by_hop"},
    {"proxy-connection", "hop_by_hop"},
    {"te", "hop_by_hop"},
    {"trailer", "hop_by_hop"},
    {"upgrade", "hop_by_hop"},
    {"cookie", "credential"},
    {"proxy-authorization", "credential"},
    {"x-api-key", "credential"},
    {"x-auth-token", "credential"},
    {"x-amz-security-token", "credential"},
    /* who the caller is: only hubgate says that (X-Hubgate-Identity) */
    {"x-hubgate-", "identity_claim"},
    {"x-forwarded-user", "identity_claim"},
    {"x-forwarded-email", "identity_claim"},
    {"x-forwarded-groups", "identity_claim"},
    {"x-forwarded-preferred-username", "identity_claim"},
    {"x-forwarded-access-token", "identity_claim"},
    {"x-forwarded-client-cert", "identity_claim"},
    {"x-auth-request-", "identity_claim"},
    {"x-pomerium-", "identity_claim"},
    {"x-amzn-oidc-", "identity_claim"},
    {"cf-access-", "identity_claim"},
    {"x-goog-authenticated-user-", "identity_claim"},
    {"x-goog-iap-jwt-assertion", "identity_claim"},
    {"x-ms-client-principal", "identity_claim"},
    {"x-ms-client-principal-", "identity_claim"},
    {"remote-user", "identity_claim"},
    {"x-remote-", "identity_claim"},
    {"x-webauth-user", "identity_claim"},
    {"x-authenticated-user", "identity_claim"},
    {"x-authenticated-userid", "identity_claim"},
    {"x-user", "identity_claim"},
    {"x-user-id", "identity_claim"},
    {"x-email", "identity_claim"},
    {"x-jwt-assertion", "identity_claim"},
    {"x-id-token", "identity_claim"},
    {"x-access-token", "identity_claim"},
    {"x-userinfo", "identity_claim"},
    {"ssl-client-cert", "identity_claim"},
    {"x-ssl-client-", "identity_claim"},
    {"x-client-cert", "identity_claim"},
    /* another method, another URL, another account billed */
    {"x-http-method-override", "override"},
    {"x-http-method", "override"},
    {"x-method-override", "override"},
    {"x-original-method", "override"},
    {"x-original-url", "override"},
    {"x-original-uri", "override"},
    {"x-rewrite-url", "override"},
    {"x-original-host", "override"},
    {"x-envoy-original-path", "override"},
    {"x-middleware-subrequest", "override"},
    {"x-hf-bill-to", "override"},
    /* where the request came from and through what: hubgate sets its own */
    {"x-forwarded-", "forwarding"},
    {"forwarded", "forwarding"},
    {"via", "forwarding"},
    {"x-real-ip", "forwarding"},
    {"x-client-ip", "forwarding"},
    {"true-client-ip", "forwarding"},
    {"cf-connecting-ip", "forwarding"},
    {"fastly-client-ip", "forwarding"},
    {"x-cluster-client-ip", "forwarding"},
    {"x-original-forwarded-for", "forwarding"},
    {"x-request-id", "forwarding"},
    {"x-amzn-trace-id", "forwarding"},
};

/* Is the header named in the Connection header's list (hop-by-hop by declaration)? */
static int listed_in_connection(const gw_header_t *h, size_t n, const gw_header_t *x)
{
    for (size_t i = 0; i < n; i++) {
        if (!name_is(&h[i], "connection"))
            continue;
        const char *p = h[i].value, *end = h[i].value + h[i].value_len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            const char *s = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            if ((size_t)(p - s) == x->name_len && strncasecmp(s, x->name, x->name_len) == 0)
                return 1;
        }
    }
    return 0;
}

static int name_matches(const gw_header_t *x, const char *pattern)
{
    size_t n = strlen(pattern);
    if (pattern[n - 1] == '-')
        return x->name_len > n && strncasecmp(x->name, pattern, n) == 0;
    return name_is(x, pattern);
}

const char *gw_headers_request_class(const gw_header_t *h, size_t n, const gw_header_t *x,
                                     int parsed_answer)
{
    if (listed_in_connection(h, n, x))
        return "hop_by_hop";
    for (size_t k = 0; allow_request[k]; k++) {
        if (!name_is(x, allow_request[k]))
            continue;
        if (!parsed_answer)
            return NULL;
        /* hubgate reads this answer whole: a part of it, or "not modified", or a compressed
         * form would each leave it with nothing it can filter or rewrite */
        if (name_is(x, "accept-encoding"))
            return GW_HDR_REPLACED;
        if (name_is(x, "range") || name_is(x, "if-range"))
            return "range";
        if (strncasecmp(x->name, "if-", 3) == 0)
            return "conditional";
        return NULL;
    }
    for (size_t k = 0; k < sizeof(drop_request) / sizeof(drop_request[0]); k++) {
        if (name_matches(x, drop_request[k].name))
            return drop_request[k].cls;
    }
    return "other";
}

static int add(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return CMN_ERR_NOMEM;
    *list = l;
    return 0;
}

int gw_headers_upstream(const gw_header_t *h, size_t n, const gw_forward_t *fwd,
                        struct curl_slist **out)
{
    struct curl_slist *list = NULL;
    char line[8192 + 256];
    int rc = 0;
    int has_accept = 0, has_content_type = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const gw_header_t *x = &h[i];
        const char *cls = gw_headers_request_class(h, n, x, fwd->parsed_answer);
        if (cls) {
            if (fwd->dropped && strcmp(cls, GW_HDR_FRAMING) != 0 &&
                strcmp(cls, GW_HDR_AUTHENTICATED) != 0 && strcmp(cls, GW_HDR_REPLACED) != 0)
                fwd->dropped(cls);
            continue;
        }
        has_accept |= name_is(x, "accept");
        has_content_type |= name_is(x, "content-type");
        if (x->value_len == 0) {
            /* "Name;" is how curl sends an empty header */
            snprintf(line, sizeof(line), "%.*s;", (int)x->name_len, x->name);
        } else if (x->name_len + x->value_len + 2 < sizeof(line)) {
            snprintf(line, sizeof(line), "%.*s: %.*s", (int)x->name_len, x->name,
                     (int)x->value_len, x->value);
        } else {
            continue; /* cannot happen under MHD's header memory limit */
        }
        rc = add(&list, line);
    }
    /* Stop curl from adding headers the client did not send. */
    if (rc == 0 && !has_accept)
        rc = add(&list, "Accept:");
    if (rc == 0 && !has_content_type)
        rc = add(&list, "Content-Type:");
    if (rc == 0)
        rc = add(&list, "Expect:");
    if (rc == 0 && fwd->parsed_answer)
        rc = add(&list, "Accept-Encoding: identity");
    if (rc == 0 && fwd->credential) {
        snprintf(line, sizeof(line), "Authorization: %s", fwd->credential);
        rc = add(&list, line);
        memset(line, 0, sizeof(line));
    }
    if (rc == 0 && fwd->request_id) {
        snprintf(line, sizeof(line), "X-Request-Id: %s", fwd->request_id);
        rc = add(&list, line);
    }
    if (rc == 0 && fwd->forwarded_for) {
        snprintf(line, sizeof(line), "X-Forwarded-For: %s", fwd->forwarded_for);
        rc = add(&list, line);
    }
    if (rc == 0 && fwd->forwarded_proto) {
        snprintf(line, sizeof(line), "X-Forwarded-Proto: %s", fwd->forwarded_proto);
        rc = add(&list, line);
    }
    if (rc == 0 && fwd->forwarded_host) {
        snprintf(line, sizeof(line), "X-Forwarded-Host: %s", fwd->forwarded_host);
        rc = add(&list, line);
    }
    if (rc == 0 && fwd->identity) {
        snprintf(line, sizeof(line), "X-Hubgate-Identity: %s", fwd->identity);
        rc = add(&list, line);
    }
    if (rc) {
        curl_slist_free_all(list);
        return rc;
    }
    *out = list;
    return 0;
}

int gw_headers_public_origin(const char *public_url, cmn_arena_t *arena, const char **proto,
                             const char **host)
{
    const char *p = NULL;
    if (strncasecmp(public_url, "https://", 8) == 0) {
        *proto = "https";
        p = public_url + 8;
    } else if (strncasecmp(public_url, "http://", 7) == 0) {
        *proto = "http";
        p = public_url + 7;
    }
    size_t n = p ? strcspn(p, "/?#") : 0;
    if (!n)
        return CMN_ERR_PARSE;
    *host = cmn_arena_strndup(arena, p, n);
    return *host ? 0 : CMN_ERR_NOMEM;
}

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

gw_url_kind_t gw_headers_url_kind(const gw_rewrite_t *rw, const char *url, size_t len,
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

const char *gw_headers_rewrite_url(const gw_rewrite_t *rw, const char *url, size_t len,
                                   const char *method, cmn_arena_t *arena)
{
    const char *out;
    switch (gw_headers_url_kind(rw, url, len, method, arena, &out)) {
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
        if (out.len)
            rc = cmn_buf_puts(&out, ", ");
        if (rc)
            break;
        if (!lt || !gt) {
            rc = cmn_buf_append(&out, s, elen);
            continue;
        }
        const char *u = gw_headers_rewrite_url(rw, lt + 1, (size_t)(gt - lt - 1), "GET", arena);
        rc = u ? cmn_buf_printf(&out, "%.*s<%s>%.*s", (int)(lt - s), s, u,
                                (int)(elen - (size_t)(gt + 1 - s)), gt + 1)
               : CMN_ERR_NOMEM;
    }
    const char *ret = rc == 0 ? cmn_arena_strndup(arena, out.data, out.len) : NULL;
    cmn_buf_free(&out);
    return ret;
}

int gw_headers_response(const char *block, size_t len, const gw_rewrite_t *rw, cmn_arena_t *arena,
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
            if (!is_tchar((unsigned char)h.name[k]))
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
            drop = name_is(&h, drop_response[k]);
        if (!rw->xet_enabled && (name_is(&h, "x-xet-hash") || name_is(&h, "x-xet-refresh-route")))
            drop = 1;
        if (drop)
            continue;
        const char *name = cmn_arena_strndup(arena, h.name, h.name_len);
        const char *value;
        if (name_is(&h, "location"))
            value = gw_headers_rewrite_url(rw, h.value, h.value_len, rw->location_method, arena);
        else if (name_is(&h, "x-xet-refresh-route") || name_is(&h, "content-location"))
            value = gw_headers_rewrite_url(rw, h.value, h.value_len, "GET", arena);
        else if (name_is(&h, "link"))
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
