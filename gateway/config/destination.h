/* Where egress may go: origins (scheme://host:port) and the addresses behind them.
 *
 * A URL an upstream answer carries (a Location, a Link, an LFS href) is handed out through
 * hubgate only when its origin is the region's own upstream or one of the storage origins the
 * region lists; anything else is refused, so an upstream cannot turn hubgate into a client of
 * its internal network (the IdP, a metadata service, a database's HTTP port). When hubgate then
 * connects for such a link, the address it connects to is checked too, so a listed name whose
 * DNS answer points inside (loopback, private, link-local, …) is refused unless the operator
 * listed that address or its network. Pure functions; no allocation except where noted. */
#ifndef HUBGATE_GATEWAY_DESTINATION_H
#define HUBGATE_GATEWAY_DESTINATION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy/cidr.h"
#include "gateway/limits.h"

/* An origin, normalised: scheme and host lowercase, the port explicit. */
typedef struct {
    char scheme[8];                          /* "http" or "https" */
    char host[GW_MAX_ORIGIN_HOST_BYTES + 1]; /* a name, an IPv4 literal, or "[v6]" */
    uint16_t port;
} gw_origin_t;

/* Parses the origin of an absolute http(s) URL (len bytes, need not be NUL-terminated) with
 * libcurl's parser, the one that later decides the connection. A URL with credentials
 * ("http://a@b/") is refused: storage URLs never need them, and they are the classic way to
 * make two parsers disagree about the host. Returns 0, CMN_ERR_PARSE, or CMN_ERR_NOMEM. */
int gw_origin_parse(const char *url, size_t len, gw_origin_t *out);

/* 1 when both name the same scheme, host and port. */
int gw_origin_equal(const gw_origin_t *a, const gw_origin_t *b);

/* 1 when o is one of list[0..n). */
int gw_origin_listed(const gw_origin_t *o, const gw_origin_t *list, size_t n);

/* "scheme://host:port" into buf (for logs and messages); returns buf. */
const char *gw_origin_format(const gw_origin_t *o, char *buf, size_t cap);

/* Why an address is not public: "unspecified", "loopback", "private", "link-local",
 * "multicast" or "reserved"; NULL for a public address. IPv4 addresses embedded in IPv6
 * (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged as the IPv4 address they carry. */
const char *gw_destination_address_class(const pol_ip_t *ip);

/* What an egress connection may reach: checked on every connection it opens. */
typedef struct {
    gw_origin_t origin;         /* the origin the link points to */
    int any_address;            /* the region's own upstream: its addresses are trusted like
                                   the proxy path's, which connects there for every request */
    const pol_cidr_t *networks; /* the region's storage_networks (config-owned, lives as long as
                                   the process); NULL when none */
    size_t n_networks;
} gw_destination_t;

/* Decides whether a connection to sa (len bytes) may be opened for d. Allowed: any address for
 * the upstream; a public address; the very address the origin names as a literal; a loopback
 * address for the name "localhost"; an address inside one of d's networks. Returns 0, or
 * CMN_ERR_DENIED with *why set to the address class (static), or CMN_ERR_PARSE (*why too) for
 * a socket address that is neither IPv4 nor IPv6. Thread-safe. */
int gw_destination_check(const gw_destination_t *d, const struct sockaddr *sa, size_t len,
                         const char **why);

#endif
