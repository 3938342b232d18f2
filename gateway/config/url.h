/* Checks on the URLs hubgate itself connects to: issuers and their discovery documents'
 * jwks_uri, upstream hubs, the public URL it writes into answers.
 *
 * A URL is parsed with libcurl's URL API (curl_url), the parser libcurl itself uses when it
 * connects, so the host judged here is the host connected to: `http://localhost@evil/` names
 * the host `evil`, `http://127.0.0.1.evil.com/` a DNS name, `http://0x7f000001/` the address
 * 127.0.0.1. Plain http is accepted only when that host is a loopback address written as a
 * literal: IPv4 127.0.0.0/8 or IPv6 ::1 (no zone). The name "localhost" is not accepted: a name
 * is resolved when connecting, by /etc/hosts, nsswitch or a container's resolver, none of
 * which hubgate controls, so only a literal says where the connection goes. */
#ifndef HUBGATE_GATEWAY_URL_H
#define HUBGATE_GATEWAY_URL_H

#include "gateway/limits.h"

#include <stddef.h>

/* X(NAME, message) — why a URL was refused. The message never includes the URL's credentials. */
#define GW_URL_RESULT_MAP(X)                                                                       \
    X(OK, "")                                                                                      \
    X(MALFORMED, "is not an absolute URL")                                                         \
    X(SCHEME, "has a scheme other than https or http")                                             \
    X(PLAIN_HTTP, "uses plain http to a host that is not a loopback address (use https)")          \
    X(CREDENTIALS, "must not carry credentials (user or password)")                                \
    X(NOT_BASE, "must not carry a query or a fragment")

typedef enum {
#define GW_URL_RESULT_ENUM(name, msg) GW_URL_##name,
    GW_URL_RESULT_MAP(GW_URL_RESULT_ENUM)
#undef GW_URL_RESULT_ENUM
} gw_url_result_t;

/* Flags of gw_url_check. */
#define GW_URL_BASE_ONLY 1u /* a base URL: no query or fragment either */

/* Checks an absolute URL hubgate will connect to: scheme https, or http to a loopback literal;
 * never user or password; with GW_URL_BASE_ONLY, no query or fragment. When host is not NULL it
 * receives the host as libcurl parsed it (IPv6 in brackets; "" when unparsable), truncated to
 * host_len. Pure apart from libcurl's allocations; never blocks (no name is resolved). */
gw_url_result_t gw_url_check(const char *url, unsigned flags, char *host, size_t host_len);

/* 1 when host, as libcurl's URL API returns it, is a loopback literal: a dotted-quad IPv4
 * address in 127.0.0.0/8 or "[::1]". Names (including "localhost"), other IPv6 forms of
 * loopback (::ffff:127.0.0.1) and trailing dots are not. */
int gw_url_host_is_loopback(const char *host);

/* Static text for a result ("" for OK). Never NULL. */
const char *gw_url_result_message(gw_url_result_t result);

/* Static name of a result ("PLAIN_HTTP"); "?" out of range. */
const char *gw_url_result_name(gw_url_result_t result);

#endif
