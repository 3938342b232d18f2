#include "gateway/route/match.h"
#include "common/sha256.h"

#include "gateway/route/decode.h"

#include <string.h>

/* RFC 3986 unreserved: a client never needs to encode these, so an encoded one is either a
 * broken client or someone probing for a router that compares raw and decoded text
 * differently. */
static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int gw_route_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0; /* continuation byte first, overlong lead C0/C1, or F5..FF */
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

static int is_dot(const char *s, size_t len)
{
    return (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.');
}

/* Decodes one raw path segment raw[0..len) into seg. */
static int decode_segment(const char *raw, size_t len, cmn_arena_t *a, gw_route_seg_t *seg,
                          gw_route_reject_t *why)
{
    if (len == 0) {
        *why = GW_REJECT_EMPTY_SEGMENT;
        return CMN_ERR_PARSE;
    }
    char *dst = cmn_arena_alloc(a, len + 1);
    if (!dst)
        return CMN_ERR_NOMEM;
    size_t j = 0;
    int encoded_unreserved = 0;
    seg->esc_slash = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '\\') {
            *why = GW_REJECT_BACKSLASH;
            return CMN_ERR_PARSE;
        }
        if (c != '%') {
            dst[j++] = (char)c;
            continue;
        }
        /* Escapes were checked over the whole target already; stay defensive anyway. */
        if (len - i < 3 || cmn_hex_value((unsigned char)raw[i + 1]) < 0 ||
            cmn_hex_value((unsigned char)raw[i + 2]) < 0) {
            *why = GW_REJECT_BAD_ESCAPE;
            return CMN_ERR_PARSE;
        }
        unsigned char b = (unsigned char)(cmn_hex_value((unsigned char)raw[i + 1]) * 16 +
                                          cmn_hex_value((unsigned char)raw[i + 2]));
        i += 2;
        if (b == 0) {
            *why = GW_REJECT_NUL;
            return CMN_ERR_PARSE;
        }
        if (b == '%' && len - i >= 3 && cmn_hex_value((unsigned char)raw[i + 1]) >= 0 &&
            cmn_hex_value((unsigned char)raw[i + 2]) >= 0) {
            *why = GW_REJECT_DOUBLE_ENCODING;
            return CMN_ERR_PARSE;
        }
        if (b == '\\') {
            *why = GW_REJECT_BACKSLASH;
            return CMN_ERR_PARSE;
        }
        if (b < 0x20 || b == 0x7F) {
            *why = GW_REJECT_CONTROL;
            return CMN_ERR_PARSE;
        }
        if (b == '/')
            seg->esc_slash = 1;
        encoded_unreserved |= unreserved(b);
        dst[j++] = (char)b;
    }
    dst[j] = '\0';
    if (!gw_route_utf8_valid((const unsigned char *)dst, j)) {
        *why = GW_REJECT_BAD_UTF8;
        return CMN_ERR_PARSE;
    }
    /* A decoded '/' turns one segment into several components (revision refs%2Fpr%2F1, python's
     * tree path a%2Fb): each must be as clean as a real segment. */
    size_t start = 0;
    for (size_t k = 0; k <= j; k++) {
        if (k < j && dst[k] != '/')
            continue;
        if (k == start) {
            *why = GW_REJECT_EMPTY_SEGMENT;
            return CMN_ERR_PARSE;
        }
        if (is_dot(dst + start, k - start)) {
            *why = GW_REJECT_DOT_SEGMENT;
            return CMN_ERR_PARSE;
        }
        start = k + 1;
    }
    if (encoded_unreserved) {
        *why = GW_REJECT_ENCODED_UNRESERVED;
        return CMN_ERR_PARSE;
    }
    seg->dec = dst;
    seg->dec_len = j;
    return 0;
}

int gw_route_target_parse(const char *target, size_t len, cmn_arena_t *a, gw_route_target_t *t,
                          gw_route_reject_t *why)
{
    memset(t, 0, sizeof(*t));
    if (len > GW_MAX_TARGET_BYTES) {
        *why = GW_REJECT_TARGET_TOO_LONG;
        return CMN_ERR_TOOBIG;
    }
    if (len == 0 || target[0] != '/') {
        *why = GW_REJECT_TARGET_FORM;
        return CMN_ERR_PARSE;
    }
    size_t path_len = len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)target[i];
        if (c < 0x21 || c > 0x7E || c == '#') {
            *why = GW_REJECT_TARGET_BYTE;
            return CMN_ERR_PARSE;
        }
        if (c == '?' && path_len == len)
            path_len = i;
        if (c == '%') {
            if (len - i < 3 || cmn_hex_value((unsigned char)target[i + 1]) < 0 ||
                cmn_hex_value((unsigned char)target[i + 2]) < 0) {
                *why = GW_REJECT_BAD_ESCAPE;
                return CMN_ERR_PARSE;
            }
            if (target[i + 1] == '0' && target[i + 2] == '0') {
                *why = GW_REJECT_NUL;
                return CMN_ERR_PARSE;
            }
        }
    }
    if (path_len < len) {
        t->query = target + path_len + 1;
        t->query_len = len - path_len - 1;
    }
    if (path_len == 1)
        return 0; /* "/": no segment */

    size_t nsegs = 1;
    for (size_t i = 1; i < path_len; i++)
        nsegs += target[i] == '/';
    if (nsegs > GW_ROUTE_MAX_SEGMENTS) {
        *why = GW_REJECT_PATH_TOO_DEEP;
        return CMN_ERR_PARSE;
    }
    t->segs = cmn_arena_alloc(a, nsegs * sizeof(*t->segs));
    if (!t->segs)
        return CMN_ERR_NOMEM;
    size_t start = 1;
    for (size_t i = 1; i <= path_len; i++) {
        if (i < path_len && target[i] != '/')
            continue;
        int rc = decode_segment(target + start, i - start, a, &t->segs[t->nsegs], why);
        if (rc != 0)
            return rc;
        t->nsegs++;
        start = i + 1;
    }
    return 0;
}

/* Decodes a query component (application/x-www-form-urlencoded: '+' is a space). */
static char *decode_component(const char *s, size_t len, cmn_arena_t *a)
{
    char *out = cmn_arena_alloc(a, len + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[j++] = ' ';
        } else if (s[i] == '%' && len - i >= 3 && cmn_hex_value((unsigned char)s[i + 1]) >= 0 &&
                   cmn_hex_value((unsigned char)s[i + 2]) >= 0) {
            out[j++] =
                (char)(cmn_hex_value((unsigned char)s[i + 1]) * 16 + cmn_hex_value((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

int gw_route_query_get(const gw_route_target_t *t, const char *key, cmn_arena_t *a,
                       const char **value, size_t *count)
{
    *value = NULL;
    *count = 0;
    if (!t->query)
        return 0;
    const char *q = t->query;
    size_t len = t->query_len;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && q[i] != '&')
            continue;
        const char *pair = q + start;
        size_t plen = i - start;
        start = i + 1;
        if (plen == 0)
            continue;
        const char *eq = memchr(pair, '=', plen);
        size_t klen = eq ? (size_t)(eq - pair) : plen;
        char *k = decode_component(pair, klen, a);
        if (!k)
            return CMN_ERR_NOMEM;
        if (strcmp(k, key) != 0)
            continue;
        if (++*count == 1) {
            *value = eq ? decode_component(eq + 1, plen - klen - 1, a) : decode_component("", 0, a);
            if (!*value)
                return CMN_ERR_NOMEM;
        }
    }
    return 0;
}

int gw_route_clean_path(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || !gw_route_utf8_valid((const unsigned char *)s, len))
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i < len && (c < 0x20 || c == 0x7F || c == '\\'))
            return 0;
        if (i < len && c != '/')
            continue;
        if (i == start || is_dot(s + start, i - start))
            return 0;
        start = i + 1;
    }
    return 1;
}

int gw_route_repo_segment_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 96)
        return 0;
    if (s[0] == '.' || s[0] == '-' || s[len - 1] == '.' || s[len - 1] == '-')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        if (!ok)
            return 0;
        if (i > 0 && (c == '.' || c == '-') && s[i - 1] == (char)c)
            return 0; /* ".." or "--" */
    }
    return 1;
}

/* First path segments the Hub uses for itself (api, datasets, spaces, kernels, buckets, organizations,
 * settings, oauth, .well-known, docs, …, plus its web pages), and
 * hubgate's own (scim: provisioning): none of them is a user, an organization or a legacy
 * repo. */
static const char *const reserved_segments[] = {
    "-",          ".well-known",   "api",          "auth",
    "avatars",    "billing",       "blog",         "buckets",
    "chat",       "collections",   "datasets",     "docs",
    "enterprise", "front",         "huggingchat",  "inference-endpoints",
    "jobs",       "join",          "kernels",      "learn",
    "login",      "logout",        "mcp",          "models",
    "new",        "new-dataset",   "new-space",    "notifications",
    "oauth",      "organizations", "papers",       "posts",
    "pricing",    "scim",          "search",       "settings",
    "spaces",     "sso",           "static-proxy", "tasks",
    "user",       "users",         NULL,
};

int gw_route_reserved(const char *s)
{
    for (size_t i = 0; reserved_segments[i]; i++)
        if (strcmp(s, reserved_segments[i]) == 0)
            return 1;
    return 0;
}

static int ends_with_git(const char *s)
{
    size_t len = strlen(s);
    return len >= 4 && strcmp(s + len - 4, ".git") == 0;
}

int gw_route_repo_valid(gw_repo_type_t type, const char *ns, const char *name)
{
    if (!ns || !name || type == GW_REPO_NONE)
        return 0;
    if (!gw_route_repo_segment_valid(name) || ends_with_git(name))
        return 0;
    if (ns[0] == '\0')
        return type == GW_REPO_MODEL || type == GW_REPO_DATASET ? !gw_route_reserved(name) : 0;
    return gw_route_repo_segment_valid(ns) && !gw_route_reserved(ns);
}
