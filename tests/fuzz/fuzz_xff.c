/* layer: gateway */
/* Fuzzes the X-Forwarded-For walk (gateway/http/xff.c).
 *
 * Input: byte 0 picks the peer (low 2 bits: a trusted IPv4 proxy, a trusted IPv6 proxy, an
 * untrusted address, no address); the rest is split at '\n' into X-Forwarded-For lines.
 *
 * Invariants checked on every input (abort() on violation):
 *  - no crash, no sanitizer report;
 *  - the client is "unknown" or an address in its normalized form (normalizing it again
 *    changes nothing), and the peer likewise;
 *  - an untrusted peer is the client, and only it is forwarded;
 *  - the forwarded list is NULL only for an unknown peer, ends with the peer, starts with the
 *    client when the client is known, is the peer alone when the client is unknown, and holds
 *    only normalized addresses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "gateway/http/xff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 64

static void check_normal(const char *s, size_t len)
{
    char again[GW_XFF_ADDR_BYTES];
    pol_ip_t ip;
    if (gw_xff_parse_entry(s, len, again, &ip) != 0 || strlen(again) != len ||
        memcmp(again, s, len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const char *const peers[] = {"127.0.0.1", "::1", "203.0.113.9", ""};
    const char *peer = peers[data[0] & 3];
    pol_cidr_t trusted[2];
    if (pol_cidr_parse("127.0.0.0/8", &trusted[0]) || pol_cidr_parse("::1/128", &trusted[1]))
        abort();

    gw_header_t h[MAX_LINES];
    size_t n = 0;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p <= end && n < MAX_LINES) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        h[n++] = (gw_header_t){"X-Forwarded-For", 15, p, (size_t)(e - p)};
        if (!nl)
            break;
        p = nl + 1;
    }

    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 16 * 1024 * 1024);
    gw_xff_t x;
    if (gw_xff_resolve(peer, h, n, trusted, 2, &a, &x) != 0)
        goto out; /* out of memory: nothing to check */
    int unknown_peer = strcmp(x.peer, GW_XFF_UNKNOWN) == 0;
    if (unknown_peer != (*peer == '\0'))
        abort();
    if (!unknown_peer)
        check_normal(x.peer, strlen(x.peer));
    if (x.known == (strcmp(x.client, GW_XFF_UNKNOWN) == 0))
        abort();
    if (x.known)
        check_normal(x.client, strlen(x.client));
    if (!unknown_peer && !x.peer_trusted && (!x.known || strcmp(x.client, x.peer) != 0 ||
                                             strcmp(x.forward, x.peer) != 0))
        abort();
    if ((x.forward == NULL) != unknown_peer)
        abort();
    if (x.forward) {
        size_t fl = strlen(x.forward), pl = strlen(x.peer), cl = strlen(x.client);
        if (fl < pl || strcmp(x.forward + fl - pl, x.peer) != 0)
            abort();
        if (!x.known && strcmp(x.forward, x.peer) != 0)
            abort();
        if (x.known && (strncmp(x.forward, x.client, cl) != 0 ||
                        (x.forward[cl] != '\0' && x.forward[cl] != ',')))
            abort();
        for (const char *s = x.forward; *s;) {
            size_t k = strcspn(s, ",");
            check_normal(s, k);
            s += k;
            if (*s == ',') {
                if (s[1] != ' ')
                    abort();
                s += 2;
            }
        }
    }
out:
    cmn_arena_free(&a);
    return 0;
}
