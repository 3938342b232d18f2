/* The classifier's second step: routes whose target repos are in the JSON (or ndjson) body. */
#ifndef HUBGATE_GATEWAY_ROUTE_BODY_H
#define HUBGATE_GATEWAY_ROUTE_BODY_H

#include <stddef.h>
#include "common/arena.h"
#include "gateway/route/route-t.h"

/* Step 2: completes a route that needs_body from the request body (borrowed, body_len bytes,
 * need not be NUL-terminated) and its Content-Type header value (NULL when absent). Parses
 * JSON with jansson (json_loadb, JSON_REJECT_DUPLICATES) or ndjson for a bucket batch, and
 * adds every repo the body names to route->repos with its action. Clears needs_body.
 * Does nothing and returns 0 when the route does not need a body.
 * Errors: CMN_ERR_TOOBIG (413, body over gw_route_body_cap), CMN_ERR_PARSE (400: wrong
 * content type, unparsable, target missing or invalid) with route->reject set;
 * CMN_ERR_NOMEM. On error the route must be answered, never authorized. Never blocks. */
int gw_route_classify_body(gw_route_t *route, const char *content_type, const char *body,
                           size_t body_len, cmn_arena_t *arena);

#endif
