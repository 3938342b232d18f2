/* Request header hygiene. Pure functions over header lists: no I/O, no MHD.
 *
 * libmicrohttpd 0.9.75 accepts duplicate Content-Length, Content-Length together
 * with Transfer-Encoding, odd Transfer-Encodings, folded lines, bare CR in values and any
 * method, so hubgate checks framing itself before anything else, and
 * forwards only the request headers Hub clients need (an allow-list): never framing,
 * hop-by-hop, credential, identity or routing-override headers. (Answers: forward/rewrite.h.) */
#ifndef HUBGATE_GATEWAY_HTTP_HEADERS_H
#define HUBGATE_GATEWAY_HTTP_HEADERS_H

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
    /* hubgate parses the answer (rewrites or filters it): GW_PARSED_WHOLE asks for all of it,
     * unencoded — Range, If-Range and the conditionals are dropped, Accept-Encoding becomes
     * identity; GW_PARSED_AS_ASKED only unencoded (a small answer whose part the client chose,
     * a Xet file-info probe); 0 streams it through */
    int parsed_answer;
    /* called with the class of each client header dropped (a static string from
     * gw_headers_request_class), except framing, the credential and replaced ones; or NULL */
    void (*dropped)(const char *cls);
    const char *drop_accept_type; /* a media type removed from Accept, or NULL */
} gw_forward_t;

enum { GW_PARSED_WHOLE = 1, GW_PARSED_AS_ASKED = 2 };

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

/* 1 when the header's name is `name` (lowercase), compared case-insensitively. */
int gw_headers_name_is(const gw_header_t *h, const char *name);

/* 1 for an RFC 9110 token character (what a header name is made of). */
int gw_headers_is_tchar(unsigned char c);

/* Finds a header by name (case-insensitive); the first match, or NULL. */
const gw_header_t *gw_headers_find(const gw_header_t *h, size_t n, const char *name);

#endif
