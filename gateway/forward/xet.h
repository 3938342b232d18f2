/* Xet storage, turned off: what hubgate removes so that every client falls back to plain
 * HTTP and LFS transfers, which it authorizes and audits (docs/xet-storage.md). Xet's own tokens and
 * its CAS would carry bytes around the gateway; with their hints gone, clients never ask. */
#ifndef HUBGATE_GATEWAY_FORWARD_XET_H
#define HUBGATE_GATEWAY_FORWARD_XET_H

#include <stddef.h>

#include "common/buf.h"

/* Is name[0..len) a Xet header (X-Xet-Hash, X-Xet-Refresh-Route, X-Xet-Cas-Url,
 * X-Xet-Access-Token, X-Xet-Token-Expiration, ...)? */
int gw_xet_is_header(const char *name, size_t len);

/* Where clients reach Xet's CAS through hubgate (mode "proxy"): public_url + this is the
 * casUrl of hubgate's Xet tokens (forward/xet_token.h, forward/xet_cas.h). */
#define GW_XET_CAS_PATH "/-/xet/cas"

/* The media type of a Xet file-info answer, which @huggingface/hub asks for on resolve. */
#define GW_XET_FILEINFO_TYPE "application/vnd.xet-fileinfo+json"

/* A tree or paths-info answer body[0..len) without the "xetHash" of its entries, as a new
 * JSON text (free it); *removed counts them. NULL when the body is not a JSON array of
 * objects or memory ran out. */
char *gw_xet_strip_listing(const char *body, size_t len, size_t *removed);

/* An LFS batch request (a JSON object, already classified) without "xet" among its
 * "transfers": rewritten in place. Returns 1 when it was rewritten, 0 when it had no "xet",
 * or a negative cmn_err_t (CMN_ERR_PARSE: not a JSON object; CMN_ERR_NOMEM). */
int gw_xet_strip_batch_request(cmn_buf_t *body);

#endif
