/* `hf auth login` through hubgate (docs/sign-in.md): the device grant's HTTP side.
 *   POST /oauth/device          the CLI asks (form: client_id): device and user codes
 *   GET  /oauth/device          the person's page: enter or confirm the user code (signed in)
 *   POST /oauth/device/confirm  the page's form: approve (read or write) or deny
 *   POST /oauth/token           the CLI polls (device_code grant) or refreshes (refresh_token)
 * Answers and errors as RFC 8628 and huggingface_hub expect them; user-code guesses limited per
 * session and per address; approvals, denials and issued tokens audited. */
#ifndef HUBGATE_GATEWAY_ADMIN_DEVICE_H
#define HUBGATE_GATEWAY_ADMIN_DEVICE_H

#include <microhttpd.h>
#include <stddef.h>

#include "gateway/server/request-t.h"

/* How many user codes a session may try in a minute, and how many device sign-ins and user
 * codes an address (a whole office behind one NAT) may. */
#define GW_DEVICE_CODE_ATTEMPTS    10
#define GW_DEVICE_ADDRESS_ATTEMPTS 60

enum MHD_Result gw_device_answer(gw_request_t *req, struct MHD_Connection *conn,
                                 const char *body, size_t body_len);

#endif
