/* The LFS batch answer (POST …/info/lfs/objects/batch), rewritten so that every href leads
 * through hubgate: Hub URLs to public_url, storage URLs sealed with their storage headers
 * moved inside the seal, and nothing else. */
#ifndef HUBGATE_GATEWAY_FORWARD_LFS_H
#define HUBGATE_GATEWAY_FORWARD_LFS_H

#include <stddef.h>
#include "gateway/server/request-t.h"

/* The batch answer body[0..len) with every action's href rewritten, as a new JSON text (free
 * it). NULL with *failed 0 when the body is not a batch document (an error answer, relayed as
 * it came; a success is refused by the caller); NULL with *failed 1 when an href could not be
 * handed out (req->refused_destination says when it led outside the region) or memory ran
 * out; NULL with *failed GW_LFS_CHOSE_XET when the upstream chose the "xet" transfer, which
 * hubgate removed from the request's offer (Xet off). With Xet carried ("proxy"), a "xet"
 * transfer's actions get hubgate's Xet token instead of the upstream's
 * (gw_xet_token_batch_action); NULL with *failed GW_LFS_XET_FAILED and *why when that fails. */
#define GW_LFS_CHOSE_XET  2
#define GW_LFS_XET_FAILED 3
char *gw_lfs_rewrite_batch(gw_request_t *req, const char *body, size_t len, int *failed,
                           const char **why);

#endif
