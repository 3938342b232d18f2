#include "gateway/forward/fanout.h"

#include "common/b64.h"
#include "common/err.h"
#include "common/log.h"

#include "gateway/metrics/metrics.h"

#include "gateway/route/decode.h"

#include "gateway/authz/authz.h"

#include "gateway/auditlog/request.h"

#include "gateway/forward/listing.h"
#include "gateway/forward/proxy.h"
#include "gateway/forward/response.h"
#include "gateway/forward/xfer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- where a listing goes ------------------------------------------------------------------ */

/* Adds region r to the plan unless a region already in it has the same hub (same upstream). */
static void plan_add(gw_request_t *req, const gw_region_t *r)
{
    for (size_t i = 0; i < req->n_fan; i++) {
        if (strcmp(req->fan_regions[i]->upstream, r->upstream) == 0)
            return;
    }
    req->fan_regions[req->n_fan++] = r;
}

int gw_fanout_plan(gw_request_t *req)
{
    const gw_config_t *cfg = req->srv->cfg;
    const char *const *names = NULL;
    size_t n = 0;
    int owner = gw_authz_listing_regions(req->policy, req->target, req->target_len, &req->arena,
                                         &names, &n);
    req->region = owner && n ? gw_config_region(cfg, names[0]) : NULL;
    if (!req->region)
        req->region = &cfg->regions[cfg->default_region];
    req->n_fan = 0;
    if (strcmp(req->method, "GET") != 0 || (owner && n < 2) || cfg->n_regions < 2)
        return 0; /* one hub holds it all (a HEAD asks only for the first's headers) */
    req->fan_regions = cmn_arena_alloc(&req->arena, cfg->n_regions * sizeof(*req->fan_regions));
    if (!req->fan_regions)
        return CMN_ERR_NOMEM;
    plan_add(req, req->region);
    if (owner) {
        for (size_t i = 1; i < n; i++) {
            const gw_region_t *r = gw_config_region(cfg, names[i]);
            if (r)
                plan_add(req, r);
        }
    } else {
        for (size_t i = 0; i < cfg->n_regions; i++)
            plan_add(req, &cfg->regions[i]);
    }
    if (req->n_fan < 2)
        req->n_fan = 0;
    return 0;
}

/* ---- cursors --------------------------------------------------------------------------------- */

/* A query value hubgate passes on as it came: unreserved characters, '%' escapes and the
 * sub-delimiters a value may hold ('&' and '#' end it; '+' stays, it is the hub's to read). */
static int query_value_ok(const char *s, size_t n)
{
    if (n == 0 || n > GW_MAX_TARGET_BYTES / 2)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("-._~%!$'()*+,;=:@/?", c) != NULL) || c == 0)
            return 0;
    }
    return 1;
}

const char *gw_fanout_cursor_encode(cmn_arena_t *a, const char *const *names,
                                    const char *const *cursors, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        if (json_object_set_new(o, names[i], json_string(cursors[i])) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    char *out = cmn_arena_alloc(a, sizeof(GW_FANOUT_CURSOR_PREFIX) + cmn_b64url_encoded_len(len));
    if (out) {
        memcpy(out, GW_FANOUT_CURSOR_PREFIX, sizeof(GW_FANOUT_CURSOR_PREFIX) - 1);
        cmn_b64url_encode((const unsigned char *)text, len,
                          out + sizeof(GW_FANOUT_CURSOR_PREFIX) - 1);
    }
    free(text);
    return out;
}

long gw_fanout_cursor_decode(cmn_arena_t *a, const char *text, const char **names,
                             const char **cursors, size_t cap)
{
    size_t plen = sizeof(GW_FANOUT_CURSOR_PREFIX) - 1, len = strlen(text);
    if (len <= plen || len > GW_MAX_TARGET_BYTES || strncmp(text, GW_FANOUT_CURSOR_PREFIX, plen) != 0)
        return -1;
    unsigned char *raw = cmn_arena_alloc(a, (len - plen) * 3 / 4 + 1);
    long n = raw ? cmn_b64url_decode(text + plen, len - plen, raw) : -1;
    json_t *o = n > 0 ? json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL) : NULL;
    long count = json_is_object(o) && json_object_size(o) <= cap ? 0 : -1;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        const char *s = json_string_value(v);
        if (count < 0 || !s || !query_value_ok(s, strlen(s))) {
            count = -1;
            break;
        }
        names[count] = cmn_arena_strndup(a, key, strlen(key));
        cursors[count] = cmn_arena_strndup(a, s, strlen(s));
        if (!names[count] || !cursors[count]) {
            count = -1;
            break;
        }
        count++;
    }
    json_decref(o);
    return count;
}

/* Is the raw query key k[0..n) "cursor" once decoded ('+' and %XX, as the hub reads it)? */
static int key_is_cursor(const char *k, size_t n)
{
    static const char want[] = "cursor";
    size_t j = 0;
    for (size_t i = 0; i < n; i++, j++) {
        int c = (unsigned char)k[i];
        if (c == '%' && i + 2 < n) {
            char hex[3] = {k[i + 1], k[i + 2], 0};
            c = (int)strtol(hex, NULL, 16);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (j >= sizeof(want) - 1 || c != want[j])
            return 0;
    }
    return j == sizeof(want) - 1;
}

/* target with every `cursor` parameter removed and, when cursor is not NULL, "cursor=<cursor>"
 * appended: prefix + path + '?' + the other parameters in their order. */
static char *with_cursor(cmn_arena_t *a, const char *prefix, const char *target, size_t len,
                         const char *cursor)
{
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len, prefix_len = strlen(prefix);
    size_t cap = prefix_len + len + (cursor ? strlen(cursor) + 9 : 0) + 2;
    char *out = cmn_arena_alloc(a, cap), *w = out;
    if (!out)
        return NULL;
    memcpy(w, prefix, prefix_len);
    w += prefix_len;
    memcpy(w, target, plen);
    w += plen;
    char sep = '?';
    for (const char *p = q ? q + 1 : NULL, *end = target + len; p && p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        size_t klen = (size_t)((eq ? eq : pe) - p);
        if (pe > p && !key_is_cursor(p, klen)) {
            *w++ = sep;
            sep = '&';
            memcpy(w, p, (size_t)(pe - p));
            w += pe - p;
        }
        p = amp ? amp + 1 : end;
    }
    if (cursor)
        w += sprintf(w, "%ccursor=%s", sep, cursor);
    *w = '\0';
    return out;
}

const char *gw_fanout_next_cursor(cmn_arena_t *a, const char *block, size_t len, int *bad)
{
    const char *p = block, *end = block + len;
    *bad = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        if (le - p > 5 && strncasecmp(p, "link:", 5) == 0) {
            /* one or more "<url>; param; param" separated by ',' */
            for (const char *v = p + 5; v < le;) {
                const char *lt = memchr(v, '<', (size_t)(le - v));
                const char *gt = lt ? memchr(lt, '>', (size_t)(le - lt)) : NULL;
                if (!gt)
                    break;
                const char *pe = memchr(gt, ',', (size_t)(le - gt));
                pe = pe ? pe : le;
                int next = 0;
                for (const char *r = gt; r + 3 < pe; r++) {
                    if (strncasecmp(r, "rel", 3) != 0)
                        continue;
                    const char *s = r + 3;
                    while (s < pe && (*s == ' ' || *s == '='))
                        s++;
                    if (s < pe && *s == '"')
                        s++;
                    if (pe - s >= 4 && strncasecmp(s, "next", 4) == 0 &&
                        (s + 4 == pe || strchr("\"; \r", s[4])))
                        next = 1;
                }
                const char *qm = next ? memchr(lt, '?', (size_t)(gt - lt)) : NULL;
                for (const char *k = qm ? qm + 1 : NULL; k && k < gt;) {
                    const char *amp = memchr(k, '&', (size_t)(gt - k));
                    const char *ke = amp ? amp : gt;
                    const char *eq = memchr(k, '=', (size_t)(ke - k));
                    if (eq && key_is_cursor(k, (size_t)(eq - k))) {
                        if (!query_value_ok(eq + 1, (size_t)(ke - eq - 1))) {
                            *bad = 1;
                            return NULL;
                        }
                        return cmn_arena_strndup(a, eq + 1, (size_t)(ke - eq - 1));
                    }
                    k = amp ? amp + 1 : gt;
                }
                v = pe + 1;
            }
        }
        p = eol ? eol + 1 : end;
    }
    return NULL;
}

/* ---- asking every hub ------------------------------------------------------------------------ */

int gw_fanout_start(gw_request_t *req, struct MHD_Connection *conn, const char **message)
{
    size_t n = req->n_fan;
    const char **cursor = cmn_arena_alloc(&req->arena, n * sizeof(*cursor));
    req->fan_xfers = cmn_arena_alloc(&req->arena, n * sizeof(*req->fan_xfers));
    *message = "hubgate could not forward the request";
    if (!cursor || !req->fan_xfers)
        return CMN_ERR_NOMEM;
    memset(req->fan_xfers, 0, n * sizeof(*req->fan_xfers));

    /* A later page: hubgate's cursor says which hubs still have more, and where. */
    gw_route_target_t t;
    gw_route_reject_t why;
    const char *given = NULL;
    size_t count = 0;
    if (gw_route_target_parse(req->target, req->target_len, &req->arena, &t, &why) != 0 ||
        gw_route_query_get(&t, "cursor", &req->arena, &given, &count) != 0)
        return CMN_ERR_NOMEM; /* classified before: only memory can fail here */
    *message = "this cursor was not issued by hubgate for a listing across regions";
    if (count > 1)
        return CMN_ERR_PARSE;
    for (size_t i = 0; i < n; i++)
        cursor[i] = given ? NULL : ""; /* "": the first page */
    if (given) {
        const char *names[GW_MAX_REGIONS], *values[GW_MAX_REGIONS];
        long m = gw_fanout_cursor_decode(&req->arena, given, names, values, GW_MAX_REGIONS);
        if (m <= 0)
            return CMN_ERR_PARSE;
        for (long k = 0; k < m; k++) {
            size_t i = 0;
            while (i < n && strcmp(req->fan_regions[i]->name, names[k]) != 0)
                i++;
            if (i == n) /* a region this listing does not ask (another listing's cursor) */
                return CMN_ERR_PARSE;
            cursor[i] = values[k];
        }
    }
    *message = "hubgate could not forward the request";
    for (size_t i = 0; i < n; i++) {
        if (!cursor[i])
            continue; /* that hub has no more */
        const char *target = with_cursor(&req->arena, "", req->target, req->target_len,
                                         *cursor[i] ? cursor[i] : NULL);
        int rc = target ? gw_proxy_submit(req, conn, req->fan_regions[i], target,
                                          &req->fan_xfers[i])
                        : CMN_ERR_NOMEM;
        if (rc)
            return rc;
    }
    req->fan_next = 0;
    return 0;
}

/* ---- answering as one ------------------------------------------------------------------------ */

typedef struct {
    const char *key; /* the entries' field the listing is sorted by */
    int dir;         /* 1 ascending, -1 descending */
} sort_t;

typedef struct {
    json_t *item;
    size_t order; /* position in the joined pages: ties keep it */
    const sort_t *by;
} entry_t;

static int compare(const void *pa, const void *pb)
{
    const entry_t *a = pa, *b = pb;
    const char *sort_key = a->by->key;
    int sort_dir = a->by->dir;
    json_t *x = json_object_get(a->item, sort_key), *y = json_object_get(b->item, sort_key);
    int c = 0;
    if (x && !y)
        c = -1; /* an entry without the key goes last either way */
    else if (!x && y)
        c = 1;
    else if (json_is_number(x) && json_is_number(y)) {
        double dx = json_number_value(x), dy = json_number_value(y);
        c = sort_dir * (dx < dy ? -1 : dx > dy ? 1 : 0);
    } else if (json_is_string(x) && json_is_string(y)) {
        c = sort_dir * strcmp(json_string_value(x), json_string_value(y));
    }
    return c ? c : (a->order < b->order ? -1 : 1);
}

/* The joined pages in the listing's order: by `sort` when it names a key the entries carry
 * (`direction=1` ascending, else descending, as the Hub sorts), else hub by hub. */
static int order(gw_request_t *req, json_t *joined)
{
    gw_route_target_t t;
    gw_route_reject_t why;
    const char *key = NULL, *dir = NULL;
    size_t count = 0;
    if (gw_route_target_parse(req->target, req->target_len, &req->arena, &t, &why) != 0 ||
        gw_route_query_get(&t, "sort", &req->arena, &key, &count) != 0 ||
        gw_route_query_get(&t, "direction", &req->arena, &dir, &count) != 0)
        return CMN_ERR_NOMEM;
    size_t n = json_array_size(joined);
    if (!key || !*key || n < 2)
        return 0;
    entry_t *e = malloc(n * sizeof(*e));
    if (!e)
        return CMN_ERR_NOMEM;
    sort_t by = {key, dir && strcmp(dir, "1") == 0 ? 1 : -1};
    for (size_t i = 0; i < n; i++)
        e[i] = (entry_t){json_incref(json_array_get(joined, i)), i, &by};
    qsort(e, n, sizeof(*e), compare);
    json_array_clear(joined);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rc && json_array_append(joined, e[i].item) != 0)
            rc = CMN_ERR_NOMEM;
        json_decref(e[i].item);
    }
    free(e);
    return rc;
}

/* Each hub's page, filtered, joined into one array (an id listed by two hubs once), and
 * each hub's next cursor. Returns 0, or a status to answer with *why set. */
static unsigned join(gw_request_t *req, json_t *joined, const char **names, const char **cursors,
                     size_t *nnext, const char **why)
{
    json_t *seen = json_object();
    if (!seen)
        return 500;
    unsigned fail = 0;
    *nnext = 0;
    for (size_t i = 0; i < req->n_fan && !fail; i++) {
        gw_xfer_t *x = req->fan_xfers[i];
        if (!x)
            continue;
        size_t blen, hlen, kept = 0, dropped = 0;
        const char *body = gw_xfer_buffered_body(x, &blen);
        const char *block = gw_xfer_headers(x, &hlen);
        int bad = 0;
        const char *next = gw_fanout_next_cursor(&req->arena, block, hlen, &bad);
        json_t *page = gw_xfer_status(x) == 200 ? gw_listing_keep(req, body, blen, &kept, &dropped)
                                                : NULL;
        if (!page || bad) {
            *why = "the upstream hub sent a listing hubgate cannot filter";
            fail = 502;
        }
        size_t k;
        json_t *item;
        json_array_foreach(page, k, item)
        {
            const char *id = json_string_value(json_object_get(item, "id"));
            if (fail || !id || json_object_get(seen, id))
                continue;
            if (json_object_set(seen, id, json_null()) != 0 || json_array_append(joined, item) != 0)
                fail = 500;
        }
        json_decref(page);
        if (dropped)
            cmn_log_debug("listing", "%s: %s: %zu shown, %zu hidden by the policy",
                          req->request_id, req->fan_regions[i]->name, kept, dropped);
        if (next && !fail) {
            names[*nnext] = req->fan_regions[i]->name;
            cursors[(*nnext)++] = next;
        }
    }
    json_decref(seen);
    if (fail == 500)
        *why = "out of memory";
    return fail;
}

static enum MHD_Result answer(gw_request_t *req, struct MHD_Connection *conn)
{
    const char *names[GW_MAX_REGIONS], *cursors[GW_MAX_REGIONS];
    size_t nnext = 0;
    const char *why = "out of memory";
    json_t *joined = json_array();
    unsigned fail = joined ? join(req, joined, names, cursors, &nnext, &why) : 500;
    if (!fail && order(req, joined) != 0)
        fail = 500;
    char *text = fail ? NULL : json_dumps(joined, JSON_COMPACT);
    json_decref(joined);
    if (!fail && !text)
        fail = 500;
    if (fail)
        return gw_request_error(req, conn, fail, NULL, why);
    struct MHD_Response *r = gw_response_own_text(req, text);
    const char *link = NULL;
    if (nnext) {
        const char *cursor = gw_fanout_cursor_encode(&req->arena, names, cursors, nnext);
        const char *url = cursor ? with_cursor(&req->arena, req->srv->cfg->public_url,
                                               req->target, req->target_len, cursor)
                                 : NULL;
        link = url ? cmn_arena_printf(&req->arena, "<%s>; rel=\"next\"", url) : NULL;
        if (!link && r) {
            MHD_destroy_response(r);
            r = NULL;
        }
    }
    if (!r)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    if (link)
        MHD_add_response_header(r, "Link", link);
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    req->status = 200;
    req->phase = GW_PHASE_ANSWERED;
    req->answer_own = 1;
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result gw_fanout_continue(gw_request_t *req, struct MHD_Connection *conn,
                                   const char *upload_data, size_t *upload_data_size)
{
    (void)upload_data;
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* One transfer at a time holds the connection suspended; the others run meanwhile. */
    for (; req->fan_next < req->n_fan; req->fan_next++) {
        gw_xfer_t *x = req->fan_xfers[req->fan_next];
        if (x && !gw_xfer_head_ready(x))
            return MHD_YES;
    }
    for (size_t i = 0; i < req->n_fan; i++) {
        gw_xfer_t *x = req->fan_xfers[i];
        if (!x)
            continue;
        gw_xfer_error_t err = gw_xfer_error(x);
        if (err != GW_XFER_OK) {
            gw_metrics_upstream_error(err);
            const char *msg = cmn_arena_printf(
                &req->arena, "the upstream hub of region %s %s", req->fan_regions[i]->name,
                err == GW_XFER_TIMEOUT ? "did not answer in time"
                : err == GW_XFER_CONNECT ? "is unreachable"
                                         : "sent a bad answer");
            return gw_request_error(req, conn, err == GW_XFER_TIMEOUT ? 504 : 502, NULL,
                                    msg ? msg : "an upstream hub failed");
        }
        int status = gw_xfer_status(x);
        if (status >= 400 && status < 500) {
            /* A hub refused the listing (a bad parameter, its own limits): its answer, as a
             * single listing's would be relayed. */
            gw_xfer_retain(x);
            req->xfer = x;
            req->region = req->fan_regions[i];
            return gw_response_relay(req, conn);
        }
        if (status != 200) {
            /* A redirect or a failure: no page of that hub, and a listing without it would
             * look complete. */
            const char *msg = cmn_arena_printf(&req->arena,
                                               "the upstream hub of region %s answered %d to a "
                                               "listing",
                                               req->fan_regions[i]->name, status);
            return gw_request_error(req, conn, 502, NULL, msg ? msg : "an upstream hub failed");
        }
    }
    return answer(req, conn);
}

void gw_fanout_done(gw_request_t *req, uint64_t *sent, uint64_t *received, int *upstream_status)
{
    *sent = *received = 0;
    *upstream_status = -1;
    for (size_t i = 0; req->fan_xfers && i < req->n_fan; i++) {
        gw_xfer_t *x = req->fan_xfers[i];
        if (!x)
            continue;
        uint64_t s, r;
        gw_xfer_client_done(x);
        gw_xfer_bytes(x, &s, &r);
        *sent += s;
        *received += r;
        if (*upstream_status < 0 && gw_xfer_error(x) == GW_XFER_OK)
            *upstream_status = gw_xfer_status(x);
        gw_xfer_release(x);
        req->fan_xfers[i] = NULL;
    }
    if (req->xfer) { /* the one relayed: its status is the answer's */
        *upstream_status = gw_xfer_status(req->xfer);
        gw_xfer_release(req->xfer);
        req->xfer = NULL;
    }
}
