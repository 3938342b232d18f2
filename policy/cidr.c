#include "policy/cidr.h"
#include "common/err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pol_ip_parse(const char *s, pol_ip_t *out)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, s, &v4) == 1) {
        memset(out->addr, 0, 10);
        out->addr[10] = out->addr[11] = 0xff;
        memcpy(out->addr + 12, &v4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, s, &v6) == 1) {
        memcpy(out->addr, &v6, 16);
        return 0;
    }
    return CMN_ERR_PARSE;
}

int pol_cidr_parse(const char *s, pol_cidr_t *out)
{
    char host[64];
    const char *slash = strchr(s, '/');
    size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
    if (hlen == 0 || hlen >= sizeof(host))
        return CMN_ERR_PARSE;
    memcpy(host, s, hlen);
    host[hlen] = '\0';

    pol_ip_t ip;
    if (pol_ip_parse(host, &ip) != 0)
        return CMN_ERR_PARSE;
    int is_v4 = strchr(host, ':') == NULL;
    int max = is_v4 ? 32 : 128;
    int bits = max;
    if (slash) {
        const char *d = slash + 1;
        if (!*d || strlen(d) > 3)
            return CMN_ERR_PARSE;
        bits = 0;
        for (; *d; d++) {
            if (*d < '0' || *d > '9')
                return CMN_ERR_PARSE;
            bits = bits * 10 + (*d - '0');
        }
        if (bits > max || (slash[1] == '0' && slash[2] != '\0'))
            return CMN_ERR_PARSE;
    }
    int total = is_v4 ? bits + 96 : bits;
    /* host bits must be zero */
    for (int i = total; i < 128; i++) {
        if (ip.addr[i / 8] & (0x80 >> (i % 8)))
            return CMN_ERR_PARSE;
    }
    memcpy(out->addr, ip.addr, 16);
    out->bits = (uint8_t)total;
    return 0;
}

int pol_cidr_equal(const pol_cidr_t *a, const pol_cidr_t *b)
{
    return a->bits == b->bits && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

int pol_cidr_contains(const pol_cidr_t *cidr, const pol_ip_t *ip)
{
    int full = cidr->bits / 8, rest = cidr->bits % 8;
    if (memcmp(cidr->addr, ip->addr, (size_t)full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((cidr->addr[full] & mask) != (ip->addr[full] & mask))
            return 0;
    }
    return 1;
}
