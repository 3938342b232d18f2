/* Offboarding and access reviews without SCIM (docs/sign-in.md): on the token page, an org's
 * admins (role admin in the policy) see the live hubgate tokens and browser sessions of the
 * people who belong to their org, and end them. Who belongs is the policy's answer for each
 * owner as recorded when the token or session began, asked again when the admin acts; each
 * revocation is audited under the admin, naming the owner. */
#ifndef HUBGATE_GATEWAY_ADMIN_MEMBERS_PAGE_H
#define HUBGATE_GATEWAY_ADMIN_MEMBERS_PAGE_H

#include <microhttpd.h>
#include <stddef.h>

#include "gateway/admin/page.h"
#include "gateway/server/request-t.h"

/* The most tokens and sessions the section reads. */
#define GW_MEMBERS_PAGE_MAX 2000

/* Appends the section when the caller administers an org; nothing otherwise. Returns 0, or
 * CMN_ERR_DB when the stores cannot be read (the page says so). Blocks. */
int gw_members_section(gw_page_t *p, gw_request_t *req);

/* The section's forms: action "member_revoke" (id: a token) or "member_end" (id: a session).
 * Returns 1 and answers when `action` is one of them, else 0. Blocks. */
int gw_members_action(gw_request_t *req, struct MHD_Connection *conn, const char *action,
                      const char *id, enum MHD_Result *ret);

#endif
