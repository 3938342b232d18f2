#include "gateway/http/headers.h"

#include "common/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int gw_headers_name_is(const gw_header_t *h, const char *name)
{
    size_t n = strlen(name);
    return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

int gw_headers_is_tchar(unsigned char c)
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
            if (!gw_headers_is_tchar((unsigned char)x->name[k])) {
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
        if (gw_headers_name_is(x, "host")) {
            hosts++;
        } else if (gw_headers_name_is(x, "content-length")) {
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
        } else if (gw_headers_name_is(x, "transfer-encoding")) {
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
        if (gw_headers_name_is(&h[i], name))
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
        if (!gw_headers_name_is(&h[i], "connection"))
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
    return gw_headers_name_is(x, pattern);
}

const char *gw_headers_request_class(const gw_header_t *h, size_t n, const gw_header_t *x,
                                     int parsed_answer)
{
    if (listed_in_connection(h, n, x))
        return "hop_by_hop";
    for (size_t k = 0; allow_request[k]; k++) {
        if (!gw_headers_name_is(x, allow_request[k]))
            continue;
        if (!parsed_answer)
            return NULL;
        /* hubgate reads this answer whole: a part of it, or "not modified", or a compressed
         * form would each leave it with nothing it can filter or rewrite */
        if (gw_headers_name_is(x, "accept-encoding"))
            return GW_HDR_REPLACED;
        if (parsed_answer == GW_PARSED_AS_ASKED)
            return NULL;
        if (gw_headers_name_is(x, "range") || gw_headers_name_is(x, "if-range"))
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

/* name, sep and value[0..vlen) into line (cap bytes, NUL-terminated), without printf. Returns 0,
 * or -1 when they do not fit: a header is never sent cut short. */
static int join_line(char *line, size_t cap, const char *name, size_t nlen, const char *sep,
                     const char *value, size_t vlen)
{
    size_t slen = strlen(sep);
    if (nlen + slen + vlen >= cap)
        return -1;
    memcpy(line, name, nlen);
    memcpy(line + nlen, sep, slen);
    memcpy(line + nlen + slen, value, vlen);
    line[nlen + slen + vlen] = '\0';
    return 0;
}

/* Adds "Name: value". Returns 0, CMN_ERR_TOOBIG (longer than line) or CMN_ERR_NOMEM. */
static int add_pair(struct curl_slist **list, char *line, size_t cap, const char *name,
                    const char *value)
{
    if (join_line(line, cap, name, strlen(name), ": ", value, strlen(value)) != 0)
        return CMN_ERR_TOOBIG;
    return add(list, line);
}

/* The Accept value v[0..len) without its items of media type `type` (parameters and all), into
 * out[0..cap); returns the new length (0: nothing left). A value too long for out is cut at
 * an item boundary (MHD's header cap keeps real ones far shorter). */
static size_t accept_without(const char *v, size_t len, const char *type, char *out, size_t cap)
{
    size_t tlen = strlen(type), o = 0;
    const char *p = v, *end = v + len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *ie = comma ? comma : end;
        const char *s = p, *e = ie;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        const char *semi = memchr(s, ';', (size_t)(e - s));
        const char *te = semi ? semi : e;
        while (te > s && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        int drop = (size_t)(te - s) == tlen && strncasecmp(s, type, tlen) == 0;
        size_t need = (size_t)(e - s) + (o ? 2 : 0);
        if (!drop && e > s && o + need < cap) {
            if (o) {
                out[o++] = ',';
                out[o++] = ' ';
            }
            memcpy(out + o, s, (size_t)(e - s));
            o += (size_t)(e - s);
        }
        p = comma ? comma + 1 : end;
    }
    return o;
}

int gw_headers_upstream(const gw_header_t *h, size_t n, const gw_forward_t *fwd,
                        struct curl_slist **out)
{
    struct curl_slist *list = NULL;
    char line[8192 + 256], accept[4096];
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
        gw_header_t kept;
        if (fwd->drop_accept_type && gw_headers_name_is(x, "accept")) {
            kept = *x;
            kept.value = accept;
            kept.value_len = accept_without(x->value, x->value_len, fwd->drop_accept_type,
                                            accept, sizeof(accept));
            if (kept.value_len == 0)
                continue; /* nothing else was accepted: "Accept:" below, as without one */
            x = &kept;
        }
        has_accept |= gw_headers_name_is(x, "accept");
        has_content_type |= gw_headers_name_is(x, "content-type");
        /* "Name;" is how curl sends an empty header. A line too long for the buffer cannot
         * come under MHD's header memory limit. */
        if (join_line(line, sizeof(line), x->name, x->name_len, x->value_len ? ": " : ";",
                      x->value, x->value_len) != 0)
            continue;
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
        rc = add_pair(&list, line, sizeof(line), "Authorization", fwd->credential);
        memset(line, 0, sizeof(line));
    }
    if (rc == 0 && fwd->request_id) {
        rc = add_pair(&list, line, sizeof(line), "X-Request-Id", fwd->request_id);
    }
    if (rc == 0 && fwd->forwarded_for) {
        rc = add_pair(&list, line, sizeof(line), "X-Forwarded-For", fwd->forwarded_for);
    }
    if (rc == 0 && fwd->forwarded_proto) {
        rc = add_pair(&list, line, sizeof(line), "X-Forwarded-Proto", fwd->forwarded_proto);
    }
    if (rc == 0 && fwd->forwarded_host) {
        rc = add_pair(&list, line, sizeof(line), "X-Forwarded-Host", fwd->forwarded_host);
    }
    if (rc == 0 && fwd->identity) {
        rc = add_pair(&list, line, sizeof(line), "X-Hubgate-Identity", fwd->identity);
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
