/* The links an answer hands a client (docs/egress.md): a Hub URL becomes hubgate's own, a URL
 * to the region's storage becomes a sealed egress link bound to the caller, the repo and the
 * decision (or, in egress "redirect" mode, the URL itself), and a URL anywhere else refuses
 * the answer. */
#ifndef HUBGATE_GATEWAY_FORWARD_LINKS_H
#define HUBGATE_GATEWAY_FORWARD_LINKS_H

#include <stddef.h>
#include "gateway/config/config.h"
#include "gateway/forward/rewrite.h"
#include "gateway/server/request-t.h"

/* The region the request goes to: the one its decision named, else the default one. */
const gw_region_t *gw_links_region(const gw_request_t *req);

/* Seals url[0..len) into public_url/-/egress/<sealed> for the caller, usable with `method`,
 * carrying `headers` ("Name: value\n"…, or NULL) for the storage only. A link an egress
 * answer points on to keeps the caller, repo and decision of the link that led there. NULL
 * (logged) when the link cannot be sealed. Result in the request's arena. */
const char *gw_links_seal(gw_request_t *req, const char *url, size_t len, const char *method,
                          const char *headers);

/* What this request's caller and decision would seal into a link or a Xet token, for
 * `action` ("read", "write"); url, method and headers empty. An egress request's is the claim
 * it came with. Strings borrowed from the request. */
gw_egress_claim_t gw_links_claim(gw_request_t *req, const char *action);

/* What a client gets instead of url[0..len), a URL outside the upstream's Hub routes: in
 * egress "redirect" mode the URL itself, else a sealed link (gw_links_seal); NULL when the
 * destination is not allowed (gw_links_allowed) or sealing failed. */
const char *gw_links_hand_out(gw_request_t *req, const char *url, size_t len,
                              const char *method, const char *headers);

/* May a client be sent to url[0..len)? Only to the region's upstream and its listed storage
 * origins. 0 when not: req->refused_destination then names where it led (the answer becomes
 * a 502), and the refusal is logged. */
int gw_links_allowed(gw_request_t *req, const char *url, size_t len);

/* The URL rewriter for this request's answer: Hub URLs to public_url, others sealed or
 * refused as above. */
gw_rewrite_t gw_links_rewriter(gw_request_t *req);

#endif
