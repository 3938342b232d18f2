/* What data residency changes in a forwarded request (docs/policy.md, "Data residency"): a repo
 * created without a "region" would land where the Hub puts it by default, which hubgate cannot
 * see; it is created in the region hubgate will route it to instead. */
#ifndef HUBGATE_GATEWAY_AUTHZ_RESIDENCY_H
#define HUBGATE_GATEWAY_AUTHZ_RESIDENCY_H

#include "common/buf.h"

/* A create body (a JSON object, already judged) without "region": "region": region added, in
 * place. Returns 1 when added, 0 when the body already names a region, or a negative cmn_err_t
 * (CMN_ERR_PARSE: not a JSON object; CMN_ERR_NOMEM). */
int gw_residency_create_region(cmn_buf_t *body, const char *region);

#endif
