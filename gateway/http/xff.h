/* The client's address behind trusted proxies, from X-Forwarded-For. Pure: no I/O, no MHD.
 *
 * Every X-Forwarded-For line counts, joined in order into one list (RFC 9110 §5.3), and the
 * list is walked from the right: each entry a trusted proxy appended is passed over, the
 * first one that is not a trusted proxy is the client. An entry hubgate cannot read makes the
 * client's address unknown — never the proxy's own address, which would satisfy any network
 * condition that lists the proxy's network. */
#ifndef HUBGATE_GATEWAY_XFF_H
#define HUBGATE_GATEWAY_XFF_H

#include <stddef.h>

#include "common/arena.h"
#include "gateway/http/headers.h"
#include "policy/cidr.h"
#include "gateway/limits.h"

/* Room for any normalized address ("ffff:…" is at most 45 characters). */
#define GW_XFF_ADDR_BYTES 48

/* What the client's address is shown as when it is not known. */
#define GW_XFF_UNKNOWN "unknown"

typedef struct {
    int known;                      /* 0: the client's address could not be established */
    int peer_trusted;               /* the TCP peer is one of the trusted proxies */
    char client[GW_XFF_ADDR_BYTES]; /* normalized address, or GW_XFF_UNKNOWN */
    char peer[GW_XFF_ADDR_BYTES];   /* the peer, normalized, or GW_XFF_UNKNOWN */
    /* The X-Forwarded-For value to send upstream: the entries hubgate accepted (the client and
     * the trusted proxies after it), normalized, left to right, then the peer. Only the peer
     * when the peer is not trusted or the client is unknown. NULL when the peer itself is
     * unknown. From the arena. */
    const char *forward;
} gw_xff_t;

/* Establishes the client's address for a request from peer (an IPv4 or IPv6 literal as
 * inet_ntop writes it; anything else is an unknown peer) with headers h[0..n). X-Forwarded-For
 * is read only when the peer is in trusted[0..ntrusted). Accepted entries: "ip", "ip:port",
 * "[v6]", "[v6]:port", with optional whitespace around them; empty list elements are ignored.
 * Returns 0, or CMN_ERR_NOMEM (out is then filled as for an unknown client with no forward). */
int gw_xff_resolve(const char *peer, const gw_header_t *h, size_t n, const pol_cidr_t *trusted,
                   size_t ntrusted, cmn_arena_t *arena, gw_xff_t *out);

/* Normalizes one entry as gw_xff_resolve accepts it ("[2001:DB8::1]:80" → "2001:db8::1",
 * "::ffff:10.0.0.1" → "10.0.0.1") into out[GW_XFF_ADDR_BYTES] and *ip. Returns 0 or
 * CMN_ERR_PARSE. */
int gw_xff_parse_entry(const char *s, size_t len, char *out, pol_ip_t *ip);

#endif
