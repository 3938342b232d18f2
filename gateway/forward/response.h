/* The client's answer made from the upstream's: streamed through as it comes, or — for the
 * routes whose answer hubgate must read (LFS batch, listings, collections) — read whole,
 * rewritten or filtered, and refused when it cannot be read. Headers are rewritten on the way
 * (forward/rewrite.h). */
#ifndef HUBGATE_GATEWAY_FORWARD_RESPONSE_H
#define HUBGATE_GATEWAY_FORWARD_RESPONSE_H

#include <microhttpd.h>
#include <stddef.h>
#include "gateway/route/route.h"
#include "gateway/server/request-t.h"

/* The most of this request's answer hubgate reads when it parses it (by route family, the
 * Xet mode and the Xet CAS endpoint); 0 for answers that stream through. A parsed answer is
 * asked for whole and unencoded. */
size_t gw_response_parsed_cap(const gw_request_t *req);

/* Is this request's parsed answer asked for as the client asked (its Range and conditionals
 * kept, only unencoded)? A Xet file-info probe with Xet carried (small, and ranged), and a Xet
 * reconstruction (its Range chooses the part of the file planned). */
int gw_response_parsed_as_asked(const gw_request_t *req);

/* A response whose body is text (malloc'd, NUL-terminated, owned by the response from here):
 * hubgate's own answer, counted in req->answer_bytes. NULL when out of memory (text freed). */
struct MHD_Response *gw_response_own_text(gw_request_t *req, char *text);

/* Once the upstream's head is ready (or the transfer failed): queues the answer, or a Hub-
 * shaped error (502/504, or 502 for an answer that pointed outside the region). */
enum MHD_Result gw_response_relay(gw_request_t *req, struct MHD_Connection *conn);

#endif
