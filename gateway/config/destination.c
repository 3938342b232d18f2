#include "gateway/config/destination.h"
#include "common/err.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gw_origin_parse(const char *url, size_t len, gw_origin_t *out)
{
    memset(out, 0, sizeof(*out));
    if (memchr(url, '\0', len))
        return CMN_ERR_PARSE;
    char *copy = strndup(url, len);
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *password = NULL;
    int rc = CMN_ERR_NOMEM;
    if (!copy || !u)
        goto out;
    rc = CMN_ERR_PARSE;
    if (curl_url_set(u, CURLUPART_URL, copy, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK)
        goto out;
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        goto out;
    size_t hlen = strlen(host);
    if (hlen == 0 || hlen > GW_MAX_ORIGIN_HOST_BYTES)
        goto out;
    char *end = NULL;
    long p = strtol(port, &end, 10);
    if (!end || *end || p < 1 || p > 65535)
        goto out;
    snprintf(out->scheme, sizeof(out->scheme), "%s", scheme);
    for (size_t i = 0; i < hlen; i++)
        out->host[i] = (char)tolower((unsigned char)host[i]);
    out->port = (uint16_t)p;
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    free(copy);
    return rc;
}

int gw_origin_equal(const gw_origin_t *a, const gw_origin_t *b)
{
    return a->port == b->port && strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0;
}

int gw_origin_listed(const gw_origin_t *o, const gw_origin_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (gw_origin_equal(o, &list[i]))
            return 1;
    }
    return 0;
}

const char *gw_origin_format(const gw_origin_t *o, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s://%s:%u", o->scheme, o->host, (unsigned)o->port);
    return buf;
}

/* Ranges that are not the public Internet. Order matters only for the name reported. */
/* clang-format off */
static const struct {
    const char *cidr;
    const char *cls;
} ranges[] = {
    {"0.0.0.0/8", "unspecified"},       /* connecting to 0.0.0.0 reaches this host */
    {"::/128", "unspecified"},
    {"127.0.0.0/8", "loopback"},
    {"::1/128", "loopback"},
    {"10.0.0.0/8", "private"},
    {"172.16.0.0/12", "private"},
    {"192.168.0.0/16", "private"},
    {"100.64.0.0/10", "private"},       /* carrier-grade NAT, often a cloud's internal network */
    {"fc00::/7", "private"},            /* unique local */
    {"fec0::/10", "private"},           /* site-local (deprecated, still routed in places) */
    {"169.254.0.0/16", "link-local"},   /* cloud metadata services live here */
    {"fe80::/10", "link-local"},
    {"224.0.0.0/4", "multicast"},
    {"ff00::/8", "multicast"},
    {"240.0.0.0/4", "reserved"},        /* and the broadcast address */
    {"192.0.0.0/24", "reserved"},
    {"192.0.2.0/24", "reserved"},
    {"198.18.0.0/15", "reserved"},
    {"198.51.100.0/24", "reserved"},
    {"203.0.113.0/24", "reserved"},
    {"::/96", "reserved"},              /* IPv4-compatible IPv6 (deprecated) */
    {"100::/64", "reserved"},           /* discard-only */
    {"2001:db8::/32", "reserved"},
};
/* clang-format on */

static const char *class_of(const pol_ip_t *ip)
{
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        pol_cidr_t c;
        if (pol_cidr_parse(ranges[i].cidr, &c) == 0 && pol_cidr_contains(&c, ip))
            return ranges[i].cls;
    }
    return NULL;
}

static void embedded_v4(pol_ip_t *v4, const uint8_t *four)
{
    memset(v4->addr, 0, 10);
    v4->addr[10] = v4->addr[11] = 0xff;
    memcpy(v4->addr + 12, four, 4);
}

const char *gw_destination_address_class(const pol_ip_t *ip)
{
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    const char *c = class_of(ip);
    if (c)
        return c;
    pol_ip_t v4;
    if (memcmp(ip->addr, nat64, sizeof(nat64)) == 0) {
        embedded_v4(&v4, ip->addr + 12);
        return class_of(&v4);
    }
    if (ip->addr[0] == 0x20 && ip->addr[1] == 0x02) { /* 6to4 */
        embedded_v4(&v4, ip->addr + 2);
        return class_of(&v4);
    }
    return NULL;
}

static int sockaddr_ip(const struct sockaddr *sa, size_t len, pol_ip_t *ip)
{
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        embedded_v4(ip, (const uint8_t *)&in->sin_addr);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(ip->addr, &in6->sin6_addr, 16);
        return 0;
    }
    return CMN_ERR_PARSE;
}

/* The address an origin's host names literally ("10.0.0.7", "[fd00::7]"), if it does. */
static int literal_ip(const gw_origin_t *o, pol_ip_t *ip)
{
    char host[sizeof(o->host)];
    size_t n = strlen(o->host);
    if (n >= 2 && o->host[0] == '[' && o->host[n - 1] == ']') {
        memcpy(host, o->host + 1, n - 2);
        host[n - 2] = '\0';
    } else {
        memcpy(host, o->host, n + 1);
    }
    return pol_ip_parse(host, ip);
}

int gw_destination_check(const gw_destination_t *d, const struct sockaddr *sa, size_t len,
                         const char **why)
{
    pol_ip_t ip;
    if (sockaddr_ip(sa, len, &ip) != 0) {
        *why = "not an IP address";
        return CMN_ERR_PARSE;
    }
    if (d->any_address)
        return 0;
    const char *cls = gw_destination_address_class(&ip);
    if (!cls)
        return 0;
    pol_ip_t named;
    if (literal_ip(&d->origin, &named) == 0 && memcmp(named.addr, ip.addr, 16) == 0)
        return 0; /* the operator listed this very address */
    if (strcmp(d->origin.host, "localhost") == 0 && strcmp(cls, "loopback") == 0)
        return 0; /* libcurl resolves "localhost" to loopback itself, never through DNS */
    for (size_t i = 0; i < d->n_networks; i++) {
        if (pol_cidr_contains(&d->networks[i], &ip))
            return 0;
    }
    *why = cls;
    return CMN_ERR_DENIED;
}
