/* SCIM 2.0 at /scim/v2 (docs/sign-in.md, "Deprovisioning"): Users, Groups,
 * ServiceProviderConfig, ResourceTypes and Schemas, behind the bearer secret of scim.token_file,
 * as Okta and Entra provision. Bodies are read by admin/scim_parse.h, kept by admin/directory.h;
 * each change is a directory.changed audit event made durable before it commits, and a
 * deactivation takes effect at once on this gateway (and within a second on the others). */
#ifndef HUBGATE_GATEWAY_ADMIN_SCIM_H
#define HUBGATE_GATEWAY_ADMIN_SCIM_H

#include <microhttpd.h>
#include <stddef.h>

#include "gateway/server/request-t.h"

/* The most body a SCIM request may carry (→ 413): a group of a few thousand members. */
#define GW_MAX_SCIM_BODY_BYTES (256 * 1024)
#define GW_SCIM_PAGE_DEFAULT   100
#define GW_SCIM_PAGE_MAX       1000

/* Answers a request under /scim/ (body: what it sent, or NULL). */
enum MHD_Result gw_scim_answer(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                               size_t body_len);

#endif
