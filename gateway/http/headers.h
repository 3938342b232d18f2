/* Header hygiene, both directions. Pure functions over header lists: no I/O, no MHD.
 *
 * Requests: libmicrohttpd 0.9.75 accepts duplicate Content-Length, Content-Length together
 * with Transfer-Encoding, odd Transfer-Encodings, folded lines, bare CR in values and any
 * method, so hubgate checks framing itself before anything else, and
 * forwards only the request headers Hub clients need (an allow-list): never framing,
 * hop-by-hop, credential, identity or routing-override headers.
 * Responses: hop-by-hop and framing headers dropped (MHD re-frames), cookies of the service
 * account dropped, URLs that point at the upstream's Hub routes rewritten to hubgate's public
 * URL and other URLs sealed or refused (see gw_rewrite_t), Xet hints stripped unless Xet is
 * enabled. */
#ifndef HUBGATE_GATEWAY_HEADERS_H
#define HUBGATE_GATEWAY_HEADERS_H

#include <curl/curl.h>
#include <stddef.h>

#include "common/arena.h"
#include "gateway/limits.h"

typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} gw_header_t;

/* What the request's framing says about its body. */
typedef struct {
    int has_body;         /* Content-Length > 0 or chunked */
    int chunked;
    long long content_length; /* -1 when chunked or absent */
} gw_framing_t;

/* Checks method, version and every header line. Returns 0 and fills *framing, or the HTTP
 * status to answer (400, 501 for an unknown method, 505 for a version) with a static reason. */
int gw_headers_check_request(const char *method, const char *version, const gw_header_t *h,
                             size_t n, gw_framing_t *framing, const char **reason);

/* What the gateway adds to a forwarded request. Strings are borrowed. */
typedef struct {
    const char *credential;      /* "Bearer …" for the region; secret */
    const char *request_id;
    const char *forwarded_for;   /* the X-Forwarded-For value to send (xff.c), or NULL */
    const char *forwarded_proto; /* public_url's scheme */
    const char *forwarded_host;  /* public_url's host[:port], never the client's Host */
    const char *identity;        /* X-Hubgate-Identity assertion, or NULL */
    /* hubgate parses the answer (rewrites or filters it): ask for all of it, unencoded —
     * Range, If-Range and the conditionals are dropped, Accept-Encoding becomes identity */
    int parsed_answer;
    /* called with the class of each client header dropped (a static string from
     * gw_headers_request_class), except framing, the credential and replaced ones; or NULL */
    void (*dropped)(const char *cls);
} gw_forward_t;

/* Classes of request headers hubgate consumes or replaces rather than drops. */
#define GW_HDR_FRAMING       "framing"       /* Host, Content-Length, ...: curl re-frames */
#define GW_HDR_AUTHENTICATED "authenticated" /* Authorization: checked, then replaced */
#define GW_HDR_REPLACED      "replaced"      /* Accept-Encoding where the answer is parsed */

/* What becomes of the client's header x (one of h[0..n)) on the way upstream: NULL when it is
 * forwarded (it is on the allow-list: what Hub clients send), else why it is not, a static
 * string: GW_HDR_FRAMING, GW_HDR_AUTHENTICATED, GW_HDR_REPLACED, "hop_by_hop", "credential",
 * "identity_claim", "override", "forwarding", "range", "conditional" or "other". parsed_answer
 * as in gw_forward_t. */
const char *gw_headers_request_class(const gw_header_t *h, size_t n, const gw_header_t *x,
                                     int parsed_answer);

/* Builds the upstream request's header list from the client's: allow-listed headers kept
 * (gw_headers_request_class), the gateway's own added. Returns 0 or CMN_ERR_NOMEM; *out is
 * the caller's (curl_slist_free_all). */
int gw_headers_upstream(const gw_header_t *h, size_t n, const gw_forward_t *fwd,
                        struct curl_slist **out);

/* The scheme ("https"/"http", static) and host[:port] (from the arena) of an absolute http(s)
 * URL such as public_url: what X-Forwarded-Proto and X-Forwarded-Host say. Returns 0,
 * CMN_ERR_PARSE or CMN_ERR_NOMEM. */
int gw_headers_public_origin(const char *public_url, cmn_arena_t *arena, const char **proto,
                             const char **host);

/* Finds a header by name (case-insensitive); the first match, or NULL. */
const gw_header_t *gw_headers_find(const gw_header_t *h, size_t n, const char *name);

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
gw_url_kind_t gw_headers_url_kind(const gw_rewrite_t *rw, const char *url, size_t len,
                                  const char *method, cmn_arena_t *arena, const char **out);

/* What to hand out for a URL (see gw_headers_url_kind): KEEP and HUB give *out, FOREIGN goes
 * through rw->foreign. Result from the arena; NULL when out of memory, when the reference does
 * not resolve, or when rw->foreign refused it. */
const char *gw_headers_rewrite_url(const gw_rewrite_t *rw, const char *url, size_t len,
                                   const char *method, cmn_arena_t *arena);

/* Called for each header to relay; name and value are NUL-terminated, arena-owned. Returns 0
 * to go on, non-zero to stop (the error is passed back). */
typedef int (*gw_header_sink_t)(void *ctx, const char *name, const char *value);

/* Filters an upstream response head ("Name: value\r\n" lines, status line excluded) into the
 * sink. Returns 0, the sink's error, CMN_ERR_PARSE for a malformed line or CMN_ERR_NOMEM. */
int gw_headers_response(const char *block, size_t len, const gw_rewrite_t *rw, cmn_arena_t *arena,
                        gw_header_sink_t sink, void *ctx);

#endif
