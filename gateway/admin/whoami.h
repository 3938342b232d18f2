/* GET /api/whoami-v2, answered by hubgate in the Hub's shape from the caller's identity —
 * never the service account's, which the upstream would describe. */
#ifndef HUBGATE_GATEWAY_ADMIN_WHOAMI_H
#define HUBGATE_GATEWAY_ADMIN_WHOAMI_H

#include <microhttpd.h>

#include "gateway/server/request-t.h"

/* Answers whoami-v2 (401 for nobody), with every field real clients read (@huggingface/hub
 * requires `auth`). Audited like any of hubgate's answers about the caller. */
enum MHD_Result gw_whoami_v2(gw_request_t *req, struct MHD_Connection *conn);

#endif
