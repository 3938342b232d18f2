#include "gateway/http/xff.h"
#include "common/err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longer than any address with a port and brackets: longer entries are not addresses. */
#define ENTRY_MAX_BYTES 64

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Writes the canonical text of a 16-byte address (IPv4 as IPv4-mapped IPv6). */
static void format_ip(const struct in6_addr *a, char *out)
{
    if (IN6_IS_ADDR_V4MAPPED(a))
        inet_ntop(AF_INET, &a->s6_addr[12], out, GW_XFF_ADDR_BYTES);
    else
        inet_ntop(AF_INET6, a, out, GW_XFF_ADDR_BYTES);
}

static int parse_port(const char *s, size_t len)
{
    if (len == 0 || len > 5)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v <= 65535 ? 0 : -1;
}

int gw_xff_parse_entry(const char *s, size_t len, char *out, pol_ip_t *ip)
{
    while (len && is_ows(*s)) {
        s++;
        len--;
    }
    while (len && is_ows(s[len - 1]))
        len--;
    if (len == 0 || len >= ENTRY_MAX_BYTES)
        return CMN_ERR_PARSE;
    char host[ENTRY_MAX_BYTES];
    int family;
    if (s[0] == '[') {
        /* "[v6]" or "[v6]:port" */
        const char *close = memchr(s, ']', len);
        if (!close)
            return CMN_ERR_PARSE;
        size_t hlen = (size_t)(close - s - 1);
        size_t rest = len - (size_t)(close + 1 - s);
        if (rest && (close[1] != ':' || parse_port(close + 2, rest - 1) != 0))
            return CMN_ERR_PARSE;
        memcpy(host, s + 1, hlen);
        host[hlen] = '\0';
        family = AF_INET6;
    } else {
        const char *colon = memchr(s, ':', len);
        const char *second = colon ? memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) : NULL;
        size_t hlen = len;
        family = AF_INET6; /* two colons or more: a bare IPv6 address */
        if (!colon) {
            family = AF_INET;
        } else if (!second) {
            /* "v4:port" */
            if (parse_port(colon + 1, len - (size_t)(colon + 1 - s)) != 0)
                return CMN_ERR_PARSE;
            hlen = (size_t)(colon - s);
            family = AF_INET;
        }
        memcpy(host, s, hlen);
        host[hlen] = '\0';
    }
    struct in6_addr a;
    if (family == AF_INET) {
        struct in_addr v4;
        if (inet_pton(AF_INET, host, &v4) != 1)
            return CMN_ERR_PARSE;
        memset(&a, 0, sizeof(a));
        a.s6_addr[10] = a.s6_addr[11] = 0xff;
        memcpy(&a.s6_addr[12], &v4, 4);
    } else if (inet_pton(AF_INET6, host, &a) != 1) {
        return CMN_ERR_PARSE; /* also zone ids ("fe80::1%eth0") and "[1.2.3.4]" */
    }
    memcpy(ip->addr, &a, 16);
    format_ip(&a, out);
    return 0;
}

static int is_trusted(const pol_cidr_t *trusted, size_t ntrusted, const pol_ip_t *ip)
{
    for (size_t i = 0; i < ntrusted; i++) {
        if (pol_cidr_contains(&trusted[i], ip))
            return 1;
    }
    return 0;
}

static int name_is_xff(const gw_header_t *h)
{
    return h->name_len == 15 && strncasecmp(h->name, "x-forwarded-for", 15) == 0;
}

/* Every X-Forwarded-For line, in order, joined into one list (RFC 9110 §5.3), from the arena.
 * NULL when there is none, or when out of memory (then *nomem is set). */
static const char *joined_list(const gw_header_t *h, size_t n, cmn_arena_t *arena, size_t *len,
                               int *nomem)
{
    size_t total = 0, lines = 0;
    for (size_t i = 0; i < n; i++) {
        if (name_is_xff(&h[i])) {
            total += h[i].value_len + 1;
            lines++;
        }
    }
    *len = 0;
    if (!lines)
        return NULL;
    char *list = cmn_arena_alloc(arena, total);
    if (!list) {
        *nomem = 1;
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (!name_is_xff(&h[i]))
            continue;
        if (o)
            list[o++] = ',';
        memcpy(list + o, h[i].value, h[i].value_len);
        o += h[i].value_len;
    }
    *len = o;
    return list;
}

int gw_xff_resolve(const char *peer, const gw_header_t *h, size_t n, const pol_cidr_t *trusted,
                   size_t ntrusted, cmn_arena_t *arena, gw_xff_t *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->client, sizeof(out->client), "%s", GW_XFF_UNKNOWN);
    snprintf(out->peer, sizeof(out->peer), "%s", GW_XFF_UNKNOWN);
    pol_ip_t ip;
    if (!peer || gw_xff_parse_entry(peer, strlen(peer), out->peer, &ip) != 0) {
        snprintf(out->peer, sizeof(out->peer), "%s", GW_XFF_UNKNOWN);
        return 0;
    }
    out->peer_trusted = is_trusted(trusted, ntrusted, &ip);
    if (!out->peer_trusted) {
        /* A client's own X-Forwarded-For says nothing: it is dropped, the peer is the client. */
        out->known = 1;
        snprintf(out->client, sizeof(out->client), "%s", out->peer);
        out->forward = cmn_arena_strndup(arena, out->peer, strlen(out->peer));
        return out->forward ? 0 : CMN_ERR_NOMEM;
    }

    int nomem = 0;
    size_t len = 0;
    const char *list = joined_list(h, n, arena, &len, &nomem);
    if (nomem)
        return CMN_ERR_NOMEM;

    /* Accepted entries, right to left: the trusted proxies, then the client. */
    char hops[GW_XFF_MAX_HOPS][GW_XFF_ADDR_BYTES];
    size_t nhops = 0;
    int known = 1, found = 0;
    size_t end = len;
    while (list && !found && end != (size_t)-1) {
        size_t b = end;
        while (b > 0 && list[b - 1] != ',')
            b--;
        const char *s = list + b;
        size_t k = end - b;
        end = b ? b - 1 : (size_t)-1;
        size_t blank = 0;
        while (blank < k && is_ows(s[blank]))
            blank++;
        if (blank == k)
            continue; /* an empty list element ("a, , b"): ignored, as RFC 9110 §5.6.1 says */
        if (nhops == GW_XFF_MAX_HOPS || gw_xff_parse_entry(s, k, hops[nhops], &ip) != 0) {
            known = 0;
            break;
        }
        found = !is_trusted(trusted, ntrusted, &ip);
        nhops++;
    }
    if (!known) {
        out->forward = cmn_arena_strndup(arena, out->peer, strlen(out->peer));
        return out->forward ? 0 : CMN_ERR_NOMEM;
    }
    /* The first untrusted entry; when every entry is a trusted proxy, the leftmost of them (a
     * proxy sending its own request); without entries, the peer itself. */
    out->known = 1;
    snprintf(out->client, sizeof(out->client), "%s", nhops ? hops[nhops - 1] : out->peer);
    size_t cap = (nhops + 1) * (GW_XFF_ADDR_BYTES + 2);
    char *fwd = cmn_arena_alloc(arena, cap);
    if (!fwd) {
        out->known = 0;
        snprintf(out->client, sizeof(out->client), "%s", GW_XFF_UNKNOWN);
        return CMN_ERR_NOMEM;
    }
    size_t o = 0;
    for (size_t i = nhops; i-- > 0;)
        o += (size_t)snprintf(fwd + o, cap - o, "%s, ", hops[i]);
    snprintf(fwd + o, cap - o, "%s", out->peer);
    out->forward = fwd;
    return 0;
}
