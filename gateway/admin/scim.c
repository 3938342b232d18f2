#include "gateway/admin/scim.h"

#include "common/err.h"
#include "common/log.h"
#include "common/sha256.h"

#include "gateway/route/decode.h"

#include "gateway/auditlog/auditlog.h"
#include "gateway/auditlog/request.h"

#include "gateway/authn/deprovisioned.h"
#include "gateway/authn/tokens.h"

#include "gateway/admin/directory.h"
#include "gateway/admin/scim_parse.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TERMS 8

/* ---- answers --------------------------------------------------------------------------------- */

static enum MHD_Result send_json(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                 json_t *o, const char *location)
{
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body && status != 204)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    }
    if (body)
        MHD_add_response_header(r, "Content-Type", "application/scim+json");
    if (location)
        MHD_add_response_header(r, "Location", location);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    req->status = status;
    req->phase = GW_PHASE_ANSWERED;
    if (req->audit) { /* reads and refusals; each change has its directory.changed besides */
        if (!req->decided)
            gw_request_decide(req, status < 400 ? POL_ALLOW : POL_DENY, "scim",
                              status < 400 ? "the directory provisions" : req->local_message);
        aud_event_t ev;
        gw_request_event(req, &ev, AUD_KIND_REQUEST, status);
        gw_auditlog_note(req->audit, &ev);
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result scim_error(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                  const char *type, const char *detail)
{
    req->local_message = detail;
    if (status >= 400 && !req->decided) {
        req->stage = status == 401 ? "authentication" : "request";
        gw_request_decide(req, POL_DENY, "scim", detail);
    }
    return send_json(req, conn, status, gw_scim_error_json(status, type, detail), NULL);
}

/* The error a store or parser result comes to. */
static enum MHD_Result refuse(gw_request_t *req, struct MHD_Connection *conn, int rc,
                              const char *why)
{
    switch (rc) {
    case CMN_ERR_NOTFOUND: return scim_error(req, conn, 404, NULL, "no such resource");
    case CMN_ERR_CONFLICT:
        return scim_error(req, conn, 409, "uniqueness", "that name is taken by another resource");
    case CMN_ERR_PARSE: return scim_error(req, conn, 400, "invalidValue", why ? why : "bad value");
    case CMN_ERR_UNSUPPORTED:
        return scim_error(req, conn, 400, "invalidFilter", why ? why : "unsupported filter");
    case CMN_ERR_TOOBIG: return scim_error(req, conn, 413, NULL, why ? why : "too large");
    case CMN_ERR_NOMEM: return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    default:
        return scim_error(req, conn, 503, NULL,
                          "hubgate cannot record this change now (database or audit log); try "
                          "again");
    }
}

/* ---- the change's audit event ---------------------------------------------------------------- */

typedef struct {
    gw_request_t *req;
    const char *resource, *operation, *name;
    int active; /* users: -1 for groups */
    gw_dir_effect_t *effect;
} change_t;

static int record_change(void *arg, const json_t *info)
{
    change_t *ch = arg;
    gw_request_t *req = ch->req;
    if (!req->srv->audit)
        return 0;
    gw_request_decide(req, POL_ALLOW, "scim", "the directory provisions");
    aud_event_t ev;
    gw_request_event(req, &ev, AUD_KIND_DIRECTORY_CHANGED, 200);
    const gw_dir_effect_t *e = ch->effect;
    aud_event_detail_str(&ev, "resource", ch->resource);
    aud_event_detail_str(&ev, "operation", ch->operation);
    aud_event_detail_str(&ev, "id", json_string_value(json_object_get(info, "id")));
    if (ch->name)
        aud_event_detail_str(&ev, ch->active >= 0 ? "user_name" : "display_name", ch->name);
    if (ch->active >= 0) {
        aud_event_detail_bool(&ev, "active", ch->active);
        aud_event_detail_bool(&ev, "deprovisioned", e->deprovisioned);
        aud_event_detail_int(&ev, "revoked_token_count", e->revoked_tokens);
        aud_event_detail_int(&ev, "ended_session_count", e->ended_sessions);
        aud_event_detail_int(&ev, "denied_device_count", e->denied_devices);
        aud_event_detail_int(&ev, "revoked_refresh_count", e->revoked_refresh);
    } else {
        aud_event_detail_int(&ev, "added_member_count", e->members_added);
        aud_event_detail_int(&ev, "removed_member_count", e->members_removed);
    }
    int rc = aud_writer_append(req->srv->audit, &ev);
    if (rc)
        cmn_log_warn("scim", "%s: the audit log cannot record a directory change (%s): not done",
                     req->request_id, cmn_err_str(rc));
    return rc;
}

/* After a change of who may act, or with which groups: effective at once here (the others
 * poll). A user's change reloads the deprovisioned (a reactivation too). */
static void took_effect(gw_request_t *req, const gw_dir_effect_t *e, int user_changed,
                        int groups_changed)
{
    if (user_changed)
        (void)gw_deprovisioned_reload(req->srv->deprovisioned);
    if (e->deprovisioned || groups_changed)
        gw_tokens_forget(req->srv->tokens);
    if (e->deprovisioned)
        cmn_log_info("scim", "%s: deprovisioned: %ld tokens and %ld refresh tokens revoked, %ld "
                             "sessions ended, %ld device sign-ins denied",
                     req->request_id, e->revoked_tokens, e->revoked_refresh, e->ended_sessions,
                     e->denied_devices);
}

/* ---- requests -------------------------------------------------------------------------------- */

static const char *base_url(gw_request_t *req)
{
    return cmn_arena_concat(&req->arena, req->srv->cfg->public_url, "/scim/v2");
}

static const char *location(gw_request_t *req, const char *kind, const char *id)
{
    return cmn_arena_printf(&req->arena, "%s/%s/%s", base_url(req), kind, id);
}

static int authorized(const gw_request_t *req)
{
    const gw_header_t *h = gw_headers_find(req->headers, req->nheaders, "authorization");
    if (!h || h->value_len < 8 || strncasecmp(h->value, "Bearer ", 7) != 0)
        return 0;
    unsigned char want[CMN_SHA256_BYTES], got[CMN_SHA256_BYTES];
    const char *secret = req->srv->cfg->scim_token;
    cmn_sha256(secret, strlen(secret), want);
    cmn_sha256(h->value + 7, h->value_len - 7, got);
    return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}

typedef struct {
    const char *filter, *excluded;
    size_t start, count;
    int bad;
} query_t;

static query_t read_query(gw_request_t *req, const gw_route_target_t *t)
{
    query_t q = {NULL, NULL, 1, GW_SCIM_PAGE_DEFAULT, 0};
    const char *v = NULL;
    size_t n = 0;
    gw_route_query_get(t, "filter", &req->arena, &q.filter, &n);
    q.bad |= n > 1;
    gw_route_query_get(t, "excludedAttributes", &req->arena, &q.excluded, &n);
    if (gw_route_query_get(t, "startIndex", &req->arena, &v, &n) == 0 && v) {
        char *end = NULL;
        long long x = strtoll(v, &end, 10);
        q.start = x < 1 ? 1 : (size_t)x; /* RFC 7644 §3.4.2.4: less than 1 is 1 */
        q.bad |= !*v || *end;
    }
    if (gw_route_query_get(t, "count", &req->arena, &v, &n) == 0 && v) {
        char *end = NULL;
        long long x = strtoll(v, &end, 10);
        q.count = x < 0 ? 0 : x > GW_SCIM_PAGE_MAX ? GW_SCIM_PAGE_MAX : (size_t)x;
        q.bad |= !*v || *end;
    }
    return q;
}

static enum MHD_Result list(gw_request_t *req, struct MHD_Connection *conn, int groups,
                            const gw_route_target_t *t)
{
    query_t q = read_query(req, t);
    if (q.bad)
        return scim_error(req, conn, 400, "invalidValue", "startIndex and count are integers");
    gw_scim_term_t terms[MAX_TERMS];
    size_t n = 0;
    const char *why = NULL;
    if (q.filter) {
        int rc = gw_scim_filter_parse(q.filter, &req->arena, terms, MAX_TERMS, &n, &why);
        if (rc)
            return refuse(req, conn, rc, why);
    }
    int with_members = !(q.excluded && strcasestr(q.excluded, "members"));
    json_t *resources = NULL;
    size_t total = 0;
    int rc = gw_directory_list(req->srv->directory, groups, terms, n, q.start, q.count,
                               with_members, base_url(req), &req->arena, &resources, &total);
    if (rc == CMN_ERR_UNSUPPORTED)
        return refuse(req, conn, rc, "hubgate filters this resource on other attributes");
    if (rc)
        return refuse(req, conn, rc, NULL);
    return send_json(req, conn, 200, gw_scim_list_json(resources, total, q.start), NULL);
}

typedef struct {
    const char *body;
    size_t len;
    int patch;
    change_t *ch;    /* the event names the user as the edit leaves it */
    const char *why; /* the parser's refusal */
} user_edit_t;

static int edit_user(void *arg, cmn_arena_t *arena, gw_scim_user_t *u, const char **why)
{
    user_edit_t *e = arg;
    int rc = e->patch ? gw_scim_user_patch(e->body, e->len, arena, u, NULL, why)
                      : gw_scim_user_parse(e->body, e->len, arena, u, why);
    e->why = *why;
    if (rc == 0) {
        e->ch->name = u->user_name;
        e->ch->active = u->active;
    }
    return rc;
}

static enum MHD_Result users(gw_request_t *req, struct MHD_Connection *conn, const char *id,
                             const gw_route_target_t *t, const char *body, size_t len)
{
    const char *m = req->method, *why = NULL;
    gw_dir_user_t u;
    gw_dir_effect_t effect;
    memset(&u, 0, sizeof(u));
    change_t ch = {req, "user", NULL, NULL, 1, &effect};
    int rc;
    if (!id && strcmp(m, "GET") == 0)
        return list(req, conn, 0, t);
    if (!id && strcmp(m, "POST") == 0) {
        gw_scim_user_t in;
        if ((rc = gw_scim_user_parse(body ? body : "", len, &req->arena, &in, &why)) != 0)
            return refuse(req, conn, rc, why);
        ch.operation = "create";
        ch.name = in.user_name;
        ch.active = in.active;
        rc = gw_directory_user_create(req->srv->directory, &in, record_change, &ch, &req->arena,
                                      &u, &effect);
        if (rc)
            return refuse(req, conn, rc, NULL);
        took_effect(req, &effect, 1, 0);
        return send_json(req, conn, 201, gw_scim_user_json(&u.user, &u.meta, base_url(req)),
                         location(req, "Users", u.meta.id));
    }
    if (!id)
        return scim_error(req, conn, 405, NULL, "method not allowed");
    if (strcmp(m, "GET") == 0) {
        if ((rc = gw_directory_user_get(req->srv->directory, id, &req->arena, &u)) != 0)
            return refuse(req, conn, rc, NULL);
        return send_json(req, conn, 200, gw_scim_user_json(&u.user, &u.meta, base_url(req)), NULL);
    }
    if (strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) {
        user_edit_t e = {body ? body : "", len, strcmp(m, "PATCH") == 0, &ch, NULL};
        ch.operation = e.patch ? "patch" : "replace";
        rc = gw_directory_user_edit(req->srv->directory, id, edit_user, &e, record_change, &ch,
                                    &req->arena, &u, &effect);
        if (rc)
            return refuse(req, conn, rc, e.why);
        took_effect(req, &effect, 1, 0);
        return send_json(req, conn, 200, gw_scim_user_json(&u.user, &u.meta, base_url(req)), NULL);
    }
    if (strcmp(m, "DELETE") == 0) {
        ch.operation = "delete";
        ch.active = 0;
        rc = gw_directory_user_delete(req->srv->directory, id, record_change, &ch, &req->arena,
                                      &u, &effect);
        if (rc)
            return refuse(req, conn, rc, NULL);
        took_effect(req, &effect, 1, 1);
        return send_json(req, conn, 204, NULL, NULL);
    }
    return scim_error(req, conn, 405, NULL, "method not allowed");
}

static enum MHD_Result groups(gw_request_t *req, struct MHD_Connection *conn, const char *id,
                              const gw_route_target_t *t, const char *body, size_t len)
{
    const char *m = req->method, *why = NULL;
    gw_dir_group_t g;
    gw_dir_effect_t effect;
    memset(&g, 0, sizeof(g));
    change_t ch = {req, "group", NULL, NULL, -1, &effect};
    int rc;
    query_t q = read_query(req, t);
    int with_members = !(q.excluded && strcasestr(q.excluded, "members"));
    if (!id && strcmp(m, "GET") == 0)
        return list(req, conn, 1, t);
    if (!id && strcmp(m, "POST") == 0) {
        gw_scim_group_t in;
        if ((rc = gw_scim_group_parse(body ? body : "", len, &req->arena, &in, &why)) != 0)
            return refuse(req, conn, rc, why);
        ch.operation = "create";
        ch.name = in.display_name;
        rc = gw_directory_group_create(req->srv->directory, &in, record_change, &ch, &req->arena,
                                       &g, &effect);
        if (rc)
            return refuse(req, conn, rc, NULL);
        took_effect(req, &effect, 0, 1);
        return send_json(req, conn, 201,
                         gw_scim_group_json(&g.group, &g.meta, base_url(req), 1),
                         location(req, "Groups", g.meta.id));
    }
    if (!id)
        return scim_error(req, conn, 405, NULL, "method not allowed");
    if (strcmp(m, "GET") == 0) {
        if ((rc = gw_directory_group_get(req->srv->directory, id, &req->arena, &g)) != 0)
            return refuse(req, conn, rc, NULL);
        return send_json(req, conn, 200,
                         gw_scim_group_json(&g.group, &g.meta, base_url(req), with_members), NULL);
    }
    if (strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) {
        int patch = strcmp(m, "PATCH") == 0;
        gw_scim_group_t put;
        gw_scim_group_patch_t ops;
        rc = patch ? gw_scim_group_patch_parse(body ? body : "", len, &req->arena, &ops, &why)
                   : gw_scim_group_parse(body ? body : "", len, &req->arena, &put, &why);
        if (rc)
            return refuse(req, conn, rc, why);
        ch.operation = patch ? "patch" : "replace";
        ch.name = patch ? ops.display_name : put.display_name;
        rc = gw_directory_group_change(req->srv->directory, id, patch ? NULL : &put,
                                       patch ? &ops : NULL, record_change, &ch, &req->arena, &g,
                                       &effect);
        if (rc)
            return refuse(req, conn, rc, NULL);
        took_effect(req, &effect, 0, 1);
        if (patch) /* Entra expects 204; Okta accepts either */
            return send_json(req, conn, 204, NULL, NULL);
        return send_json(req, conn, 200, gw_scim_group_json(&g.group, &g.meta, base_url(req), 1),
                         NULL);
    }
    if (strcmp(m, "DELETE") == 0) {
        ch.operation = "delete";
        rc = gw_directory_group_delete(req->srv->directory, id, record_change, &ch, &req->arena,
                                       &g, &effect);
        if (rc)
            return refuse(req, conn, rc, NULL);
        took_effect(req, &effect, 0, 1);
        return send_json(req, conn, 204, NULL, NULL);
    }
    return scim_error(req, conn, 405, NULL, "method not allowed");
}

enum MHD_Result gw_scim_answer(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                               size_t body_len)
{
    if (!req->srv->directory)
        return scim_error(req, conn, 404, NULL, "SCIM is not enabled on this gateway (scim)");
    if (!authorized(req))
        return scim_error(req, conn, 401, NULL, "a valid SCIM bearer token is required");
    gw_route_target_t t;
    gw_route_reject_t why;
    if (gw_route_target_parse(req->target, req->target_len, &req->arena, &t, &why) != 0)
        return scim_error(req, conn, 400, NULL, "malformed path");
    /* /scim/v2/<Resource>[/<id>] */
    const char *res = t.nsegs >= 3 ? t.segs[2].dec : NULL;
    const char *id = t.nsegs == 4 ? t.segs[3].dec : NULL;
    int get = strcmp(req->method, "GET") == 0;
    if (t.nsegs < 3 || t.nsegs > 4 || strcmp(t.segs[1].dec, "v2") != 0)
        return scim_error(req, conn, 404, NULL, "no such endpoint (the base is /scim/v2)");
    if (strcmp(res, "Users") == 0)
        return users(req, conn, id, &t, body, body_len);
    if (strcmp(res, "Groups") == 0)
        return groups(req, conn, id, &t, body, body_len);
    if (get && !id && strcmp(res, "ServiceProviderConfig") == 0)
        return send_json(req, conn, 200,
                         gw_scim_service_provider_config_json(base_url(req), GW_SCIM_PAGE_MAX),
                         NULL);
    if (get && !id && strcmp(res, "ResourceTypes") == 0)
        return send_json(req, conn, 200, gw_scim_resource_types_json(base_url(req)), NULL);
    if (get && !id && strcmp(res, "Schemas") == 0)
        return send_json(req, conn, 200, gw_scim_schemas_json(base_url(req)), NULL);
    return scim_error(req, conn, 404, NULL, "no such endpoint");
}
