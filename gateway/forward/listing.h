/* Answers that list what the service account sees, cut down to what the caller may read:
 * repo listings (GET /api/models?…) and collections (authz/collections.h decides). */
#ifndef HUBGATE_GATEWAY_FORWARD_LISTING_H
#define HUBGATE_GATEWAY_FORWARD_LISTING_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>
#include "gateway/server/request-t.h"

/* The listing body[0..len) with only the repos the caller may read, as a new JSON array
 * (json_decref it); *kept and *dropped count the entries. Entries without a usable id are
 * dropped (fail closed). NULL when the body is not a JSON array or memory ran out. */
json_t *gw_listing_keep(gw_request_t *req, const char *body, size_t len, size_t *kept,
                        size_t *dropped);

/* gw_listing_keep as JSON text (free it); NULL as there. */
char *gw_listing_filter(gw_request_t *req, const char *body, size_t len, size_t *kept,
                        size_t *dropped);

/* A collections answer (2xx) body[0..len) filtered into a response. NULL with *status and
 * *message set to answer instead (404 when the caller may see none of it, 502 when it cannot
 * be filtered, 500 out of memory). Sets req->answer_bytes. */
struct MHD_Response *gw_listing_collections(gw_request_t *req, const char *body, size_t len,
                                            unsigned *status, const char **message);

#endif
