/* How the URLs and headers of an upstream's answer become what a client gets (docs/egress.md):
 * hop-by-hop and framing headers dropped (MHD re-frames), cookies of the service account
 * dropped, URLs that point at the upstream's Hub routes rewritten to hubgate's public URL, and
 * other URLs sealed or refused by the caller's callback. Pure functions: no I/O, no MHD. */
#ifndef HUBGATE_GATEWAY_FORWARD_REWRITE_H
#define HUBGATE_GATEWAY_FORWARD_REWRITE_H

#include <stddef.h>

#include "common/arena.h"

/* How URLs in an answer become hubgate URLs. */
typedef struct {
    const char *upstream;   /* "https://hub-eu.corp.example" (no trailing slash) */
    const char *public_url; /* "https://hub.corp.example" (no trailing slash) */
    /* What relative references are resolved against before they are judged: the storage URL an
     * egress link fetched (the client would resolve them against hubgate's link instead). NULL:
     * relative references pass unchanged, the client resolves them against hubgate, which
     * judges them like any request. Network-path references ("//host/x") are always judged. */
    const char *base;
    const char *location_method; /* how a client follows Location (307/308 keep the request's
                                    method); NULL: GET */
    int xet_enabled;
    /* For an absolute http(s) URL that is not a Hub route on the upstream: returns what to hand
     * out instead (a sealed egress link, or the URL itself in egress "redirect" mode), or NULL
     * to refuse the answer (a destination hubgate does not allow, or sealing failed). NULL
     * callback: such URLs pass unchanged. */
    const char *(*foreign)(void *ctx, const char *url, size_t len, const char *method);
    void *foreign_ctx;
} gw_rewrite_t;

typedef enum {
    GW_URL_KEEP,    /* relative (without rw->base) or not http(s): handed out unchanged */
    GW_URL_HUB,     /* a Hub route on the upstream: the same path on public_url, where hubgate
                       authenticates and authorizes it like any request */
    GW_URL_FOREIGN, /* anything else: for rw->foreign to seal or refuse */
    GW_URL_ERROR,   /* out of memory, or a relative reference that does not resolve */
} gw_url_kind_t;

/* Judges a URL (len bytes) an answer carries, which a client would use with `method`. A URL on
 * the upstream's origin (same scheme, host and port) under its base path is a Hub route when
 * the route classifier recognises it, refuses it (ambiguous paths are never sealed: hubgate
 * refuses them when they come back), or when it lies in the Hub's API namespaces (/api, /oauth,
 * /.well-known, /-); other paths there (the upstream's own storage, /storage/…, /lfs-upload/…)
 * are FOREIGN like a CDN's. *out (arena): the URL unchanged (KEEP), the public URL (HUB), the
 * absolute URL (FOREIGN), or NULL (ERROR). */
gw_url_kind_t gw_rewrite_url_kind(const gw_rewrite_t *rw, const char *url, size_t len,
                                  const char *method, cmn_arena_t *arena, const char **out);

/* What to hand out for a URL (see gw_rewrite_url_kind): KEEP and HUB give *out, FOREIGN goes
 * through rw->foreign. Result from the arena; NULL when out of memory, when the reference does
 * not resolve, or when rw->foreign refused it. */
const char *gw_rewrite_url(const gw_rewrite_t *rw, const char *url, size_t len,
                                   const char *method, cmn_arena_t *arena);

/* Called for each header to relay; name and value are NUL-terminated, arena-owned. Returns 0
 * to go on, non-zero to stop (the error is passed back). */
typedef int (*gw_header_sink_t)(void *ctx, const char *name, const char *value);

/* Filters an upstream response head ("Name: value\r\n" lines, status line excluded) into the
 * sink. Returns 0, the sink's error, CMN_ERR_PARSE for a malformed line or CMN_ERR_NOMEM. */
int gw_rewrite_response(const char *block, size_t len, const gw_rewrite_t *rw, cmn_arena_t *arena,
                        gw_header_sink_t sink, void *ctx);

/* Xet carried (xet_enabled): a CAS reconstruction URL (".../v1/reconstructions/{id}" or v2)
 * as the same endpoint on hubgate's CAS, public_url + GW_XET_CAS_PATH (forward/xet.h); NULL
 * when url[0..len) is no reconstruction URL. Picked by the field that holds it, never by host. */
const char *gw_rewrite_xet_reconstruction(const gw_rewrite_t *rw, const char *url, size_t len,
                                          cmn_arena_t *arena);

#endif
