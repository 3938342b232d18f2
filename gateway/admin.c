/* hubgate's own endpoints under /-/ (DESIGN.md "Admin API"). */
#include "common/buf.h"
#include "gateway/http.h"
#include "gateway/metrics.h"
#include "gateway/request.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static enum MHD_Result answer_json(gw_request_t *req, struct MHD_Connection *conn,
                                   unsigned status, json_t *o)
{
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body)
        return gw_request_error(req, conn, 500, NULL, "out of memory");
    req->status = status;
    req->phase = GW_PHASE_ANSWERED;
    enum MHD_Result r =
        gw_http_answer(conn, status, "application/json", body, strlen(body), req->request_id);
    free(body);
    return r;
}

static enum MHD_Result ready(gw_request_t *req, struct MHD_Connection *conn)
{
    int db = atomic_load(&req->srv->db_reachable);
    json_t *o = json_pack("{s:s, s:{s:b, s:b}}", "status", db ? "ready" : "not ready", "checks",
                          "config", 1, "database", db);
    return answer_json(req, conn, db ? 200 : 503, o);
}

static enum MHD_Result metrics(gw_request_t *req, struct MHD_Connection *conn)
{
    cmn_buf_t b;
    cmn_buf_init(&b, 4 * 1024 * 1024);
    if (gw_metrics_render(&b) != 0) {
        cmn_buf_free(&b);
        return gw_request_error(req, conn, 500, NULL, "metrics too large");
    }
    req->status = 200;
    req->phase = GW_PHASE_ANSWERED;
    enum MHD_Result r = gw_http_answer(conn, 200, "text/plain; version=0.0.4", b.data, b.len,
                                       req->request_id);
    cmn_buf_free(&b);
    return r;
}

enum MHD_Result gw_admin_answer(gw_request_t *req, struct MHD_Connection *conn)
{
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    switch (req->route.admin) {
    case GW_ADMIN_HEALTH:
        if (!get)
            break;
        return answer_json(req, conn, 200, json_pack("{s:s}", "status", "ok"));
    case GW_ADMIN_READY:
        if (!get)
            break;
        return ready(req, conn);
    case GW_ADMIN_METRICS:
        if (!get)
            break;
        return metrics(req, conn);
    default:
        return gw_request_error(req, conn, 404, NULL, "Not Found");
    }
    return gw_request_error(req, conn, 405, NULL, "Method Not Allowed");
}
