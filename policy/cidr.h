/* Network prefixes (CIDR) for policy conditions and trusted proxies.
 *
 * Addresses are kept as 16 bytes (IPv4 as IPv4-mapped IPv6) so one comparison serves both
 * families. Pure functions; no allocation. */
#ifndef HUBGATE_POLICY_CIDR_H
#define HUBGATE_POLICY_CIDR_H

#include <stdint.h>

typedef struct {
    uint8_t addr[16]; /* network address, host bits zero */
    uint8_t bits;     /* prefix length over the 128-bit form */
} pol_cidr_t;

typedef struct {
    uint8_t addr[16];
} pol_ip_t;

/* Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits must be
 * zero ("10.0.0.1/8" is refused: an admin who wrote it probably meant something else).
 * Returns 0 or CMN_ERR_PARSE. */
int pol_cidr_parse(const char *s, pol_cidr_t *out);

/* Parses one IPv4 or IPv6 address. Returns 0 or CMN_ERR_PARSE. */
int pol_ip_parse(const char *s, pol_ip_t *out);

/* 1 if a and b are the same network, else 0. */
int pol_cidr_equal(const pol_cidr_t *a, const pol_cidr_t *b);

/* 1 if ip lies inside cidr, else 0. */
int pol_cidr_contains(const pol_cidr_t *cidr, const pol_ip_t *ip);

#endif
