/* A repo listing asked of several regions' hubs at once and answered as one (docs/policy.md,
 * "Listings across regions"):
 * `GET /api/models` (datasets, spaces) naming no owner goes to every region, one naming an org
 * whose repos live in several regions to each of those. Each hub's page is filtered as a
 * single listing is, the pages are joined (sorted by the listing's `sort` key when it has one),
 * and the next page is hubgate's own cursor holding each hub's. */
#ifndef HUBGATE_GATEWAY_FORWARD_FANOUT_H
#define HUBGATE_GATEWAY_FORWARD_FANOUT_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/server/request-t.h"

/* The prefix of hubgate's own listing cursor, "hg1." + base64url(JSON {region: cursor}). */
#define GW_FANOUT_CURSOR_PREFIX "hg1."

/* For an allowed repo listing without a namespace in its path: where it goes. Sets req->region
 * (the owner's first region, else the default region) and, when more than one hub holds what it
 * lists, req->fan_regions/n_fan. Returns 0 or CMN_ERR_NOMEM. */
int gw_fanout_plan(gw_request_t *req);

/* Starts one transfer per region the page asks (all of them on the first page, those still
 * going in hubgate's cursor after). Returns 0, or a cmn_err_t with *message set: CMN_ERR_PARSE
 * for a cursor hubgate did not issue (400), CMN_ERR_NOMEM. */
int gw_fanout_start(gw_request_t *req, struct MHD_Connection *conn, const char **message);

/* Continues on each handler call: waits for every hub's answer, then answers with the joined
 * listing (or the first hub's error, relayed; or 502/504 naming a hub that failed). */
enum MHD_Result gw_fanout_continue(gw_request_t *req, struct MHD_Connection *conn,
                                   const char *upload_data, size_t *upload_data_size);

/* The request is over: ends and releases every transfer, and gives the bytes moved and the
 * status of the first hub that answered (or -1). */
void gw_fanout_done(gw_request_t *req, uint64_t *sent, uint64_t *received, int *upstream_status);

/* The cursor codec, exposed for the unit tests. gw_fanout_cursor_encode: names[i] → cursors[i]
 * (raw query values) into a new "hg1." string in a (NULL: no memory). gw_fanout_cursor_decode:
 * the inverse into arrays of up to cap entries; returns the count, or -1 for text hubgate did
 * not make (bad prefix, encoding, JSON, a value with bytes a query value cannot carry). */
const char *gw_fanout_cursor_encode(cmn_arena_t *a, const char *const *names,
                                    const char *const *cursors, size_t n);
long gw_fanout_cursor_decode(cmn_arena_t *a, const char *text, const char **names,
                             const char **cursors, size_t cap);

/* The raw value of the `cursor` parameter of the `rel="next"` URL in a header block's Link
 * headers, copied into a; NULL when there is none. A value with bytes a query value cannot
 * carry as is counts as none and sets *bad. */
const char *gw_fanout_next_cursor(cmn_arena_t *a, const char *block, size_t len, int *bad);

#endif
