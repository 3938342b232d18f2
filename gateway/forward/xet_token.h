/* hubgate's own Xet tokens (docs/xet-storage.md, "proxy" mode). A client never gets the upstream's Xet
 * token: hubgate seals it, with the caller, the repo, the scope and the decision that allowed
 * the grant, into a token of its own (gw_egress_seal_xet_token), which only hubgate can open
 * and which any instance sharing the egress key opens. The client presents it to hubgate's CAS
 * (GW_XET_CAS_PATH, forward/xet_cas.h), which forwards with the upstream token inside. */
#ifndef HUBGATE_GATEWAY_FORWARD_XET_TOKEN_H
#define HUBGATE_GATEWAY_FORWARD_XET_TOKEN_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/forward/xet.h"
#include "gateway/server/request-t.h"

#define GW_XET_TOKEN_PREFIX "hgx_"
/* A token lives at most this long, and never past the upstream token it carries: clients
 * refresh 30 to 60 s before it ends, so each refresh is a policy decision again. */
#define GW_XET_TOKEN_TTL_SECONDS 900

/* A token for this request's caller and decision, scoped to `action` ("read", "write"),
 * carrying the upstream token ut for its CAS at cas_url[0..cas_len); *exp gets its expiry
 * (unix seconds): the sooner of ut_exp and now + GW_XET_TOKEN_TTL_SECONDS. NULL (with *message)
 * when the CAS is not one of the region's origins (req->refused_destination set), or the token
 * cannot be sealed. */
const char *gw_xet_token_mint(gw_request_t *req, const char *action, const char *cas_url,
                              size_t cas_len, const char *ut, int64_t ut_exp, int64_t *exp,
                              const char **message);

/* The client's answer to a token route, made from the upstream's 2xx body[0..len)
 * ({"accessToken", "exp", "casUrl"}): hubgate's token and CAS, as JSON and as the X-Xet-*
 * headers clients before huggingface_hub 1.19 read. NULL with *status and *message to answer
 * instead (502 when the upstream's answer is unusable). Sets req->answer_bytes. */
struct MHD_Response *gw_xet_token_answer(gw_request_t *req, const char *body, size_t len,
                                         unsigned *status, const char **message);

/* An LFS batch action of a "xet" transfer ({href, header}), in place: the upstream's token
 * and CAS in its header become hubgate's (X-Xet-Session-Id kept). Returns 0, or -1 with
 * *message. */
int gw_xet_token_batch_action(gw_request_t *req, const char *action_scope, json_t *action,
                              const char **message);

#endif
