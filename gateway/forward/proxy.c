/* Forwarding: an authorized request goes to its region's upstream, byte for byte as judged,
 * and the answer streams back, its URLs pointing at hubgate (docs/architecture.md, docs/egress.md). */
#include "common/err.h"
#include "common/log.h"
#include "gateway/authz/collections.h"
#include "gateway/http/answer.h"
#include "gateway/metrics/metrics.h"
#include "gateway/server/request-t.h"
#include "gateway/limits.h"
#include "common/arena.h"
#include "common/buf.h"
#include "gateway/auditlog/request.h"
#include "gateway/authn/assertion.h"
#include "gateway/authn/identity.h"
#include "gateway/authz/authz.h"
#include "gateway/config/config.h"
#include "gateway/config/destination.h"
#include "gateway/forward/egress.h"
#include "gateway/forward/proxy.h"
#include "gateway/forward/upstream.h"
#include "gateway/http/headers.h"
#include "gateway/route/route.h"
#include "policy/cidr.h"
#include "policy/policy.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define GW_RESPONSE_BLOCK_BYTES  (32 * 1024)

typedef struct {
    const char *base_url;   /* decides the connection */
    const char *target;     /* sent byte for byte */
    const char *credential; /* "Bearer …" or NULL */
    const char *extra;      /* more header lines "Name: value\n", or NULL */
    const gw_destination_t *allowed; /* egress: what the connection may reach; NULL: any */
    size_t buffer_cap;
} destination_t;

static const gw_region_t *region_for(const gw_request_t *req)
{
    /* The policy's decision names the region of the repo; authorize() resolved it. */
    const gw_config_t *cfg = req->srv->cfg;
    return req->region ? req->region : &cfg->regions[cfg->default_region];
}

/* "acme/bert": the repo a transfer is audited under (with its type, like any request). */
static const char *repo_label(gw_request_t *req)
{
    const gw_route_t *r = &req->route;
    if (!r->name)
        return "";
    return r->namespace && *r->namespace
               ? cmn_arena_printf(&req->arena, "%s/%s", r->namespace, r->name)
               : r->name;
}

/* Seals url into a hubgate link for the caller, under the decision that allowed this request;
 * a link an egress answer points on to keeps the caller, repo and decision of the link that
 * led there. */
static const char *seal(gw_request_t *req, const char *url, size_t len, const char *method,
                        const char *headers)
{
    const char *u = cmn_arena_strndup(&req->arena, url, len);
    gw_egress_claim_t claim = req->egress;
    if (!req->is_egress) {
        const gw_identity_t *id = &req->identity;
        const pol_decision_t *d = &req->decision;
        int known = id->kind != GW_ID_ANONYMOUS && id->iss && id->sub;
        claim = (gw_egress_claim_t){
            .repo_type = req->route.name ? gw_route_repo_type_name(req->route.repo_type) : "",
            .repo = repo_label(req),
            .action = strcmp(method, "GET") == 0 ? "read" : "write",
            .iss = known ? id->iss : "",
            .sub = known ? id->sub : "",
            .email = known && id->email ? id->email : "",
            .token_id = known && id->token_id ? id->token_id : "",
            .org = req->decided && d->org ? d->org : "",
            .role = req->decided ? pol_role_name(d->role) : "",
            .region = region_for(req)->name,
            .rule = req->decided && d->rule ? d->rule : "",
            .policy_sha256 = req->decided && req->policy ? pol_policy_sha256(req->policy) : "",
        };
    }
    claim.url = u;
    claim.method = method;
    claim.headers = headers ? headers : "";
    claim.expires = (int64_t)time(NULL) + GW_EGRESS_TTL_SECONDS;
    const char *token =
        u && claim.repo ? gw_egress_seal(&req->srv->egress_key, &claim, &req->arena) : NULL;
    if (!token) {
        cmn_log_warn("egress", "%s: cannot seal a link (%zu-byte URL, %zu bytes of headers)",
                     req->request_id, len, headers ? strlen(headers) : (size_t)0);
        return NULL;
    }
    return cmn_arena_printf(&req->arena, "%s/-/egress/%s", req->srv->cfg->public_url, token);
}

/* May a client be sent to url? Only to the region's upstream and its listed storage origins:
 * anything else is where an upstream (compromised, or tricked into redirecting) would send
 * hubgate or its clients into the internal network. A refusal is remembered for the answer. */
static int destination_allowed(gw_request_t *req, const char *url, size_t len)
{
    const gw_region_t *region = region_for(req);
    gw_origin_t o;
    int parsed = gw_origin_parse(url, len, &o) == 0;
    if (parsed && (gw_origin_equal(&o, &region->upstream_origin) ||
                   gw_origin_listed(&o, region->storage, region->n_storage)))
        return 1;
    char where[GW_MAX_ORIGIN_HOST_BYTES + 32] =
        "(not a plain http(s) origin: credentials or another scheme)";
    if (parsed)
        gw_origin_format(&o, where, sizeof(where));
    req->refused_destination = cmn_arena_strndup(&req->arena, where, strlen(where));
    if (!req->refused_destination)
        req->refused_destination = "(out of memory)";
    cmn_log_warn("egress",
                 "%s: the upstream answer points to %s, which region %s does not list in "
                 "\"storage\": refused",
                 req->request_id, req->refused_destination, region->name);
    return 0;
}

/* What a client gets instead of a URL outside the upstream's Hub routes: in "redirect" mode
 * the URL itself, else a sealed link; NULL when the destination is not allowed. */
static const char *hand_out(gw_request_t *req, const char *url, size_t len, const char *method,
                            const char *headers)
{
    if (!destination_allowed(req, url, len))
        return NULL;
    if (req->srv->cfg->egress == GW_EGRESS_REDIRECT)
        return cmn_arena_strndup(&req->arena, url, len);
    return seal(req, url, len, method, headers);
}

/* gw_rewrite_t's foreign callback. In an egress answer (a storage redirect), the headers the
 * link carried go on only to the same origin: another origin never gets them. */
static const char *seal_foreign(void *ctx, const char *url, size_t len, const char *method)
{
    gw_request_t *req = ctx;
    const char *headers = NULL;
    gw_origin_t from, to;
    if (req->is_egress && *req->egress.headers &&
        gw_origin_parse(req->egress.url, strlen(req->egress.url), &from) == 0 &&
        gw_origin_parse(url, len, &to) == 0 && gw_origin_equal(&from, &to))
        headers = req->egress.headers;
    return hand_out(req, url, len, method, headers);
}

static gw_rewrite_t rewriter(gw_request_t *req)
{
    const gw_config_t *cfg = req->srv->cfg;
    gw_rewrite_t rw = {.upstream = region_for(req)->upstream,
                       .public_url = cfg->public_url,
                       .xet_enabled = 0,
                       .foreign = seal_foreign,
                       .foreign_ctx = req};
    /* A storage answer's relative Location is relative to the storage URL, not to hubgate's
     * link, and a 307 or 308 is followed with the same method (HEAD links also allow GET). */
    if (req->is_egress)
        rw.base = req->egress.url;
    int status = req->xfer ? gw_xfer_status(req->xfer) : 0;
    if ((status == 307 || status == 308) && strcmp(req->method, "HEAD") != 0)
        rw.location_method = req->method;
    return rw;
}

/* The routes whose answer hubgate parses — rewrites (LFS batch hrefs) or filters (listings) —
 * and the most of it hubgate reads; 0 for answers that stream through. A parsed answer is
 * asked for whole and unencoded (gw_forward_t.parsed_answer), and answer() refuses one that
 * does not come that way: relaying it unread would hand out what hubgate exists to hide. */
static size_t parsed_answer_cap(gw_family_t family)
{
    switch (family) {
    case GW_FAMILY_LFS_BATCH:
        return GW_MAX_REWRITE_BODY_BYTES;
    case GW_FAMILY_LIST_REPOS:
    case GW_FAMILY_COLLECTION:
        return GW_MAX_LISTING_BODY_BYTES;
    default:
        return 0;
    }
}

/* gw_xfer_req_t's address check for egress (I/O thread): ctx is the transfer's copy of the
 * gw_destination_t. */
static int check_address(const void *ctx, const struct sockaddr *sa, size_t len)
{
    const gw_destination_t *d = ctx;
    const char *why = NULL;
    if (gw_destination_check(d, sa, len, &why) == 0)
        return 0;
    char ip[INET6_ADDRSTRLEN] = "?", where[GW_MAX_ORIGIN_HOST_BYTES + 32];
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
    cmn_log_warn("egress",
                 "refused to connect to %s (%s) for %s: list the address in \"storage\", or its "
                 "network in \"storage_networks\", if it is really storage",
                 ip, why, gw_origin_format(&d->origin, where, sizeof(where)));
    return -1;
}

static unsigned start(gw_request_t *req, struct MHD_Connection *conn, const destination_t *dst,
                      const char *body, size_t body_len)
{
    const gw_config_t *cfg = req->srv->cfg;
    /* The Host, scheme and identity the upstream learns are hubgate's, never the client's. */
    const char *proto = req->srv->public_proto, *host = req->srv->public_host;
    const char *org = NULL, *role = NULL, *region = NULL;
    if (req->decided && req->decision.effect == POL_ALLOW) {
        org = req->decision.org;
        role = req->decision.role != POL_ROLE_NONE ? pol_role_name(req->decision.role) : NULL;
        region = req->region ? req->region->name : NULL;
    }
    gw_forward_t fwd = {
        .credential = dst->credential,
        .request_id = req->request_id,
        /* Storage (a CDN, often a third party) learns nothing of the client's network: only
         * the hub gets the forwarding headers. */
        .forwarded_for = req->is_egress ? NULL : req->forwarded_for,
        .forwarded_proto = req->is_egress ? NULL : proto,
        .forwarded_host = req->is_egress ? NULL : host,
        /* Only the hub learns whom hubgate vouches for, and under which grant; storage gets a
         * bare signed URL. */
        .identity = dst->credential
                        ? gw_assertion_mint(req->srv->assertion, &req->identity, org, role, region,
                                            req->request_id, (int64_t)time(NULL), &req->arena)
                        : NULL,
        .parsed_answer = dst->buffer_cap > 0,
        .dropped = gw_metrics_header_dropped,
    };
    if (dst->credential && !fwd.identity)
        return 500;
    struct curl_slist *headers = NULL;
    if (gw_headers_upstream(req->headers, req->nheaders, &fwd, &headers) != 0)
        return 500;
    for (const char *p = dst->extra; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = cmn_arena_strndup(&req->arena, p, n);
        struct curl_slist *l = line ? curl_slist_append(headers, line) : NULL;
        if (!l) {
            curl_slist_free_all(headers);
            return 500;
        }
        headers = l;
        p += n + (nl ? 1 : 0);
    }

    req->xfer = gw_xfer_create(conn);
    if (!req->xfer) {
        curl_slist_free_all(headers);
        return 500;
    }
    gw_xfer_req_t xr = {
        .method = req->method,
        .base_url = dst->base_url,
        .target = dst->target,
        .headers = headers,
        .stream_body = !body && req->framing.has_body,
        .body_length = req->framing.chunked ? -1 : req->framing.content_length,
        .body = body,
        .body_len = body_len,
        .address_check = dst->allowed ? check_address : NULL,
        .address_ctx = dst->allowed,
        .address_ctx_len = dst->allowed ? sizeof(*dst->allowed) : 0,
        .connect_ms = cfg->timeouts.upstream_connect_ms,
        .idle_seconds = cfg->timeouts.upstream_idle_seconds,
        .buffer_cap = dst->buffer_cap,
    };
    if (!body && !req->framing.has_body && req->framing.content_length == 0) {
        /* An explicit "Content-Length: 0" (a POST without body) is forwarded as such. */
        xr.body = "";
        xr.body_len = 0;
    }
    int rc = gw_upstream_submit(req->srv->upstream, req->xfer, &xr);
    if (rc)
        return rc == CMN_ERR_CONFLICT ? 503 : 500;
    req->phase = xr.stream_body ? GW_PHASE_STREAM_BODY : GW_PHASE_WAIT_HEAD;
    return 0;
}

unsigned gw_proxy_start(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                        size_t body_len, const char **message)
{
    const gw_region_t *region = region_for(req);
    /* Public data is asked for as anybody would ask: a hub that does not know who asks cannot
     * answer with its service account's view (gateway/route/route.h, GW_TREAT_PUBLIC). */
    int anonymous = gw_route_treatment(&req->route, NULL) == GW_TREAT_PUBLIC;
    char *credential =
        anonymous ? NULL : cmn_arena_printf(&req->arena, "Bearer %s", region->token);
    destination_t dst = {
        .base_url = cmn_arena_printf(&req->arena, "%s/", region->upstream),
        .target = cmn_arena_strndup(&req->arena, req->target, req->target_len),
        .credential = credential,
        .buffer_cap = parsed_answer_cap(req->route.family),
    };
    *message = "hubgate could not forward the request";
    unsigned status = (credential || anonymous) && dst.base_url && dst.target
                          ? start(req, conn, &dst, body, body_len)
                          : 500;
    if (credential)
        memset(credential, 0, strlen(credential)); /* curl holds its own copy */
    return status;
}

/* Splits an absolute http(s) URL into the connection part ("http://h:p/") and the
 * request-target, which must be printable ASCII like any target hubgate forwards. */
static int split_url(cmn_arena_t *a, const char *url, const char **base, const char **target)
{
    const char *p = NULL;
    if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    if (!p || !*p)
        return -1;
    const char *slash = strpbrk(p, "/?#");
    size_t blen = slash ? (size_t)(slash - url) : strlen(url);
    const char *t = slash ? slash : "/";
    size_t tlen = strcspn(t, "#");
    for (size_t i = 0; i < tlen; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f)
            return -1;
    }
    *base = cmn_arena_printf(a, "%.*s/", (int)blen, url);
    *target = t[0] == '?' ? cmn_arena_printf(a, "/%.*s", (int)tlen, t)
                          : cmn_arena_strndup(a, t, tlen);
    return *base && *target ? 0 : -1;
}

unsigned gw_proxy_open_egress(gw_request_t *req, const char **message)
{
    gw_egress_claim_t *claim = &req->egress;
    int rc = req->route.object ? gw_egress_open(&req->srv->egress_key, req->route.object,
                                                time(NULL), &req->arena, claim)
                               : CMN_ERR_PARSE;
    if (rc == CMN_ERR_TIMEOUT) {
        *message = "this download or upload link has expired; ask the hub for a new one";
        return 403;
    }
    const gw_region_t *region = rc == 0 ? gw_config_region(req->srv->cfg, claim->region) : NULL;
    if (!region) {
        /* not ours, or sealed by a gateway (sharing the key) that serves another region */
        *message = "hubgate did not issue this link";
        return 404;
    }
    /* Bound to the caller it was issued to. A request without credentials may still use it (it
     * is a short-lived capability, like the presigned URL it wraps, and git-lfs and redirect
     * followers do not always resend credentials); one with someone else's may not. */
    const gw_identity_t *id = &req->identity;
    if (id->kind != GW_ID_ANONYMOUS &&
        (!*claim->sub || !id->iss || !id->sub || strcmp(id->iss, claim->iss) != 0 ||
         strcmp(id->sub, claim->sub) != 0)) {
        *message = "this link was issued to someone else";
        return 403;
    }
    int get = strcmp(claim->method, "GET") == 0;
    if (!(strcmp(req->method, claim->method) == 0 || (get && strcmp(req->method, "HEAD") == 0))) {
        *message = "this link does not allow that method";
        return 405;
    }
    req->region = region;
    req->is_egress = 1;
    return 0;
}

unsigned gw_proxy_start_egress(gw_request_t *req, struct MHD_Connection *conn,
                               const char **message)
{
    const gw_egress_claim_t *claim = &req->egress;
    const gw_region_t *region = region_for(req);
    gw_destination_t allowed = {.networks = region->storage_networks,
                                .n_networks = region->n_storage_networks};
    /* Never follows a redirect itself: a 3xx goes back to the client as a link of its own. */
    destination_t dst = {.extra = claim->headers, .allowed = &allowed};
    *message = "hubgate could not forward the request";
    if (split_url(&req->arena, claim->url, &dst.base_url, &dst.target) != 0 ||
        gw_origin_parse(dst.base_url, strlen(dst.base_url), &allowed.origin) != 0)
        return 502;
    /* The config may have changed since the link was sealed (another instance, a restart). */
    allowed.any_address = gw_origin_equal(&allowed.origin, &region->upstream_origin);
    if (!allowed.any_address &&
        !gw_origin_listed(&allowed.origin, region->storage, region->n_storage)) {
        *message = "this link leads to a destination hubgate does not allow";
        return 502;
    }
    return start(req, conn, &dst, NULL, 0);
}

/* ---- answering ---------------------------------------------------------------------------- */

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    return gw_xfer_read(cls, buf, max);
}

static void release_body(void *cls)
{
    gw_xfer_release(cls);
}

static int add_header(void *ctx, const char *name, const char *value)
{
    /* MHD refuses names it manages itself (Connection, Content-Length): dropping is right. */
    (void)MHD_add_response_header(ctx, name, value);
    return 0;
}

static int no_body_status(unsigned status)
{
    return status < 200 || status == 204 || status == 304;
}

/* A redirect whose Location hubgate rewrites. Its body is the upstream's page naming the
 * original target ("Found. Redirecting to <signed storage URL>"): relayed, it would hand out
 * the URL the sealed link exists to hide, and with it a way around hubgate. */
static int redirect_status(unsigned status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* The headers of a redirect answered without its body: the upstream's encoding no longer
 * describes it. */
static int add_redirect_header(void *ctx, const char *name, const char *value)
{
    if (strcasecmp(name, "content-encoding") == 0)
        return 0;
    return add_header(ctx, name, value);
}

static int is_http_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

/* An LFS action hubgate serves itself (verify, multipart completion): a credential the
 * upstream put in its headers can only be the one it saw, hubgate's service credential, so it
 * is removed. A verify action gets the client's own Authorization instead, because a client
 * such as git-lfs sends exactly its headers, and no credential of its own, for an
 * "authenticated" object. */
static int hub_action_credentials(gw_request_t *req, const char *kind, json_t *action)
{
    json_t *header = json_object_get(action, "header");
    if (json_is_object(header)) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(header, tmp, k, v)
        {
            if (strcasecmp(k, "authorization") == 0 || strcasecmp(k, "cookie") == 0 ||
                strcasecmp(k, "proxy-authorization") == 0)
                json_object_del(header, k);
        }
    }
    const gw_header_t *mine = strcmp(kind, "verify") == 0
                                  ? gw_headers_find(req->headers, req->nheaders, "authorization")
                                  : NULL;
    if (!mine) {
        if (json_is_object(header) && json_object_size(header) == 0)
            json_object_del(action, "header");
        return 0;
    }
    if (!json_is_object(header)) {
        header = json_object();
        if (!header || json_object_set_new(action, "header", header) != 0)
            return -1;
    }
    return json_object_set_new(header, "Authorization", json_stringn(mine->value, mine->value_len));
}

/* Rewrites one LFS action ({href, header}) in place: a Hub URL points at hubgate, a storage
 * URL is sealed (with the storage headers moved inside the seal, away from the client), a URL
 * elsewhere fails the answer (-1, with req->refused_destination set). */
static int rewrite_action(gw_request_t *req, const gw_rewrite_t *rw, const char *kind,
                          json_t *action)
{
    json_t *href = json_object_get(action, "href");
    if (!json_is_string(href))
        return 0;
    const char *method = strcmp(kind, "download") == 0 ? "GET"
                         : strcmp(kind, "upload") == 0 ? "PUT"
                                                       : "POST";
    const char *url = NULL;
    switch (gw_headers_url_kind(rw, json_string_value(href), json_string_length(href), method,
                                &req->arena, &url)) {
    case GW_URL_KEEP:
        return 0;
    case GW_URL_HUB:
        return json_object_set_new(action, "href", json_string(url)) == 0
                   ? hub_action_credentials(req, kind, action)
                   : -1;
    case GW_URL_ERROR:
        return -1;
    case GW_URL_FOREIGN:
        break;
    }
    if (!destination_allowed(req, url, strlen(url)))
        return -1;
    if (req->srv->cfg->egress == GW_EGRESS_REDIRECT)
        return 0; /* the client goes to storage itself, with the storage's headers */
    json_t *header = json_object_get(action, "header");
    cmn_buf_t secret;
    cmn_buf_init(&secret, GW_EGRESS_MAX_HEADERS + 1);
    if (json_is_object(header)) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(header, tmp, k, v)
        {
            const char *s = json_string_value(v);
            if (!s)
                continue;
            if (is_http_url(s)) {
                /* multipart: one presigned URL per part, judged like the href */
                const char *part = gw_headers_rewrite_url(rw, s, strlen(s), "PUT", &req->arena);
                if (!part || json_object_set_new(header, k, json_string(part)) != 0) {
                    cmn_buf_free(&secret);
                    return -1;
                }
            } else if (strcmp(k, "chunk_size") != 0 && !strchr(k, ':') && !strpbrk(s, "\r\n") &&
                       strncasecmp(k, "x-hubgate-", 10) != 0) {
                if (cmn_buf_printf(&secret, "%s: %s\n", k, s) != 0) {
                    cmn_buf_free(&secret);
                    return -1; /* more than a link can carry */
                }
                json_object_del(header, k);
            }
        }
    }
    if (json_is_object(header) && json_object_size(header) == 0)
        json_object_del(action, "header");
    const char *sealed = seal(req, url, strlen(url), method, secret.data);
    cmn_buf_free(&secret);
    return sealed ? json_object_set_new(action, "href", json_string(sealed)) : -1;
}

/* The LFS batch answer, with every href pointing at hubgate. NULL when it is not JSON of the
 * expected shape: answer() refuses that on a success, and relays an error answer as it came
 * (an error is no batch document: it carries no href we could miss). */
static char *rewrite_lfs_batch(gw_request_t *req, const char *body, size_t len, int *failed)
{
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *objects = json_object_get(root, "objects");
    char *out = NULL;
    if (!json_is_array(objects))
        goto done;
    gw_rewrite_t rw = rewriter(req);
    size_t i;
    json_t *obj;
    json_array_foreach(objects, i, obj)
    {
        json_t *actions = json_object_get(obj, "actions");
        const char *kind;
        json_t *action;
        json_object_foreach(actions, kind, action)
        {
            if (json_is_object(action) && rewrite_action(req, &rw, kind, action) != 0) {
                *failed = 1;
                goto done;
            }
        }
    }
    out = json_dumps(root, JSON_COMPACT);
    if (!out)
        *failed = 1;
done:
    json_decref(root);
    return out;
}

/* A listing (GET /api/models?…) with only the repos the caller may read: the service
 * credential sees more than any user may. Entries without a usable id are dropped (fail
 * closed). NULL when the answer is not a JSON array (answer() then refuses it). */
static char *filter_listing(gw_request_t *req, const char *body, size_t len, size_t *kept,
                            size_t *dropped)
{
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(root)) {
        json_decref(root);
        return NULL;
    }
    pol_subject_t s;
    gw_authz_subject(&req->identity, &s);
    pol_ip_t ip;
    int have_ip = pol_ip_parse(req->client_ip, &ip) == 0;
    _Static_assert((int)GW_REPO_MODEL == (int)POL_REPO_MODEL &&
                       (int)GW_REPO_DATASET == (int)POL_REPO_DATASET &&
                       (int)GW_REPO_SPACE == (int)POL_REPO_SPACE &&
                       (int)GW_REPO_KERNEL == (int)POL_REPO_KERNEL &&
                       (int)GW_REPO_BUCKET == (int)POL_REPO_BUCKET,
                   "route and policy repo types must line up");
    pol_repo_type_t type = (pol_repo_type_t)req->route.repo_type;
    json_t *out = json_array();
    size_t i;
    json_t *item;
    *kept = *dropped = 0;
    json_array_foreach(root, i, item)
    {
        const char *id = json_string_value(json_object_get(item, "id"));
        char ns[256] = "";
        const char *name = id;
        const char *slash = id ? strchr(id, '/') : NULL;
        if (slash && (size_t)(slash - id) < sizeof(ns)) {
            memcpy(ns, id, (size_t)(slash - id));
            ns[slash - id] = '\0';
            name = slash + 1;
        }
        if (id && *name && (!slash || (size_t)(slash - id) < sizeof(ns)) &&
            pol_can_read(req->policy, &s, type, ns, name, have_ip ? &ip : NULL, time(NULL))) {
            json_array_append(out, item);
            (*kept)++;
        } else {
            (*dropped)++;
        }
    }
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    json_decref(root);
    return text;
}

/* Does the upstream's header block declare a content coding other than identity? */
static int encoded(const char *block, size_t len)
{
    const char *p = block, *end = block + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        if (line_end - p > 17 && strncasecmp(p, "content-encoding:", 17) == 0) {
            const char *v = p + 17, *ve = line_end;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (ve > v && !((size_t)(ve - v) == 8 && strncasecmp(v, "identity", 8) == 0))
                return 1;
        }
        p = eol ? eol + 1 : end;
    }
    return 0;
}

/* Headers that describe the upstream's bytes, not the answer hubgate rewrote or filtered from
 * them (a count of the unfiltered listing would tell what was hidden). */
static int add_parsed_header(void *ctx, const char *name, const char *value)
{
    static const char *const skip[] = {
        "etag",          "content-range",    "content-md5",   "digest",
        "accept-ranges", "content-encoding", "x-total-count", NULL};
    for (size_t i = 0; skip[i]; i++) {
        if (strcasecmp(name, skip[i]) == 0)
            return 0;
    }
    return add_header(ctx, name, value);
}

/* A collections answer (2xx) cut down to what the caller may read (gateway/authz/collections.h).
 * Returns the response, or NULL with *status and *message set to answer instead. */
static struct MHD_Response *filtered_collections(gw_request_t *req, const char *body, size_t len,
                                                 unsigned *status, const char **message)
{
    req->answer_bytes = 0;
    if (len == 0) /* nothing to show (a deletion's answer) */
        return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    pol_subject_t s;
    gw_authz_subject(&req->identity, &s);
    pol_ip_t ip;
    int have_ip = pol_ip_parse(req->client_ip, &ip) == 0;
    char *text = NULL;
    gw_collections_stats_t st;
    switch (gw_collections_filter(req->policy, &s, have_ip ? &ip : NULL, body, len, &text, &st)) {
    case GW_COLLECTIONS_OK: break;
    case GW_COLLECTIONS_HIDDEN:
        *status = 404;
        *message = "Collection not found";
        return NULL;
    case GW_COLLECTIONS_NOMEM:
        *status = 500;
        *message = "out of memory";
        return NULL;
    default:
        *status = 502;
        *message = "the upstream hub sent a collections answer hubgate cannot filter";
        return NULL;
    }
    req->answer_bytes = strlen(text);
    if (st.hidden_collections || st.hidden_items)
        cmn_log_debug("collections", "%s: %zu shown, %zu collections and %zu items hidden by the "
                                     "policy",
                      req->request_id, st.kept, st.hidden_collections, st.hidden_items);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        *status = 500;
        *message = "out of memory";
    }
    return r;
}

/* An answer hubgate could not hand on: when it pointed outside the region's origins, a 502
 * that says so; otherwise the given status and message. */
static enum MHD_Result refuse_answer(gw_request_t *req, struct MHD_Connection *conn,
                                     unsigned status, const char *message)
{
    if (req->refused_destination)
        return gw_request_error(req, conn, 502, NULL,
                                "the upstream pointed to a destination hubgate does not allow");
    return gw_request_error(req, conn, status, NULL, message);
}

static enum MHD_Result answer(gw_request_t *req, struct MHD_Connection *conn)
{
    gw_xfer_t *x = req->xfer;
    gw_xfer_error_t err = gw_xfer_error(x);
    if (err != GW_XFER_OK) {
        gw_metrics_upstream_error(err);
        if (err == GW_XFER_TIMEOUT)
            return gw_request_error(req, conn, 504, NULL, "the upstream hub did not answer in time");
        return gw_request_error(req, conn, 502, NULL,
                                err == GW_XFER_CONNECT   ? "the upstream hub is unreachable"
                                : err == GW_XFER_REFUSED ? "hubgate does not connect to that "
                                                           "destination's address"
                                                         : "the upstream hub sent a bad answer");
    }
    gw_metrics_upstream_latency(gw_xfer_head_latency_us(x));
    unsigned status = (unsigned)gw_xfer_status(x);
    int64_t cl = gw_xfer_content_length(x);
    int head = strcmp(req->method, "HEAD") == 0;
    int ok = status >= 200 && status < 300;
    size_t hlen;
    const char *block = gw_xfer_headers(x, &hlen);
    struct MHD_Response *r = NULL;
    int rewrote = 0;  /* the body is hubgate's, not the upstream's bytes */
    int redirect = 0; /* a redirect answered without the upstream's body */

    /* A parsed answer comes whole and unencoded (we asked for identity), or not at all: a
     * compressed one cannot be read, and relayed as is it would carry the upstream's storage
     * URLs or the names of repos the caller may not see. */
    int parsed = parsed_answer_cap(req->route.family) > 0 && !head;
    if (parsed && !no_body_status(status) && encoded(block, hlen))
        return gw_request_error(req, conn, 502, NULL,
                                "the upstream hub sent a compressed answer hubgate cannot inspect");

    if (parsed && req->route.family == GW_FAMILY_LFS_BATCH) {
        size_t blen;
        const char *body = gw_xfer_buffered_body(x, &blen);
        int failed = 0;
        char *rewritten = rewrite_lfs_batch(req, body, blen, &failed);
        if (failed) {
            free(rewritten);
            return refuse_answer(req, conn, 500, "hubgate could not rewrite the answer");
        }
        if (!rewritten && ok)
            return gw_request_error(
                req, conn, 502, NULL,
                "the upstream hub sent an LFS batch answer hubgate cannot read");
        /* an error answer that is no batch document carries no href: relayed as it came */
        rewrote = rewritten != NULL;
        if (rewrote)
            req->answer_bytes = strlen(rewritten);
        r = rewritten ? MHD_create_response_from_buffer(strlen(rewritten), rewritten,
                                                        MHD_RESPMEM_MUST_FREE)
                      : MHD_create_response_from_buffer(blen, (void *)body, MHD_RESPMEM_MUST_COPY);
        if (!r)
            free(rewritten);
    } else if (parsed && req->route.family == GW_FAMILY_LIST_REPOS && ok) {
        /* Every success is filtered or refused: unfiltered it would list everything the service
         * account sees. A part of a listing (206: the upstream ignored that we asked for all of
         * it) is no listing. */
        size_t blen, kept, dropped;
        const char *body = gw_xfer_buffered_body(x, &blen);
        char *filtered = status != 206 ? filter_listing(req, body, blen, &kept, &dropped) : NULL;
        if (!filtered)
            return gw_request_error(req, conn, 502, NULL,
                                    "the upstream hub sent a listing hubgate cannot filter");
        if (dropped)
            cmn_log_debug("listing", "%s: %zu shown, %zu hidden by the policy", req->request_id,
                          kept, dropped);
        rewrote = 1;
        req->answer_bytes = strlen(filtered);
        r = MHD_create_response_from_buffer(strlen(filtered), filtered, MHD_RESPMEM_MUST_FREE);
        if (!r)
            free(filtered);
    } else if (parsed && req->route.family == GW_FAMILY_COLLECTION && ok) {
        /* Every 2xx: the answer is the service account's view of collections. */
        size_t blen;
        const char *body = gw_xfer_buffered_body(x, &blen);
        unsigned refuse = 0;
        const char *why = NULL;
        if (status == 206)
            return gw_request_error(req, conn, 502, NULL,
                                    "the upstream hub sent a collections answer hubgate cannot "
                                    "filter");
        r = filtered_collections(req, body, blen, &refuse, &why);
        if (!r)
            return gw_request_error(req, conn, refuse ? refuse : 500, NULL, why);
        rewrote = 1;
    } else if (parsed && ok) {
        /* a route listed in parsed_answer_cap with no reader here: never relayed unread */
        return gw_request_error(req, conn, 502, NULL,
                                "the upstream hub sent an answer hubgate cannot inspect");
    } else if (redirect_status(status) && !head) {
        redirect = 1;
        req->answer_bytes = 0;
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else if (gw_xfer_is_buffered(x) && !head) {
        size_t blen;
        const char *body = gw_xfer_buffered_body(x, &blen);
        r = MHD_create_response_from_buffer(blen, (void *)body, MHD_RESPMEM_MUST_COPY);
    } else {
        /* HEAD and bodiless statuses: the declared size and a reader MHD never calls; a size
         * of MHD_SIZE_UNKNOWN there would make MHD 0.9.75 send a chunked terminator. */
        uint64_t size = (head || no_body_status(status)) ? (uint64_t)(cl >= 0 ? cl : 0)
                        : cl >= 0                        ? (uint64_t)cl
                                                         : MHD_SIZE_UNKNOWN;
        gw_xfer_retain(x); /* the response's reference, dropped by release_body */
        r = MHD_create_response_from_callback(size, GW_RESPONSE_BLOCK_BYTES, read_body, x,
                                              release_body);
        if (!r)
            gw_xfer_release(x);
    }
    if (!r)
        return gw_request_error(req, conn, 500, NULL, "out of memory");

    gw_rewrite_t rw = rewriter(req);
    if (gw_headers_response(block, hlen, &rw, &req->arena,
                            rewrote    ? add_parsed_header
                            : redirect ? add_redirect_header
                                       : add_header,
                            r) != 0) {
        MHD_destroy_response(r);
        return refuse_answer(req, conn, 502, "the upstream hub sent a bad answer");
    }
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    req->status = status;
    req->phase = GW_PHASE_ANSWERED;
    /* The completion counts the body the client gets: hubgate's own when it rewrote or filtered
     * the upstream's (answer_bytes, set above), else the upstream's bytes as relayed. */
    req->answer_own = rewrote || redirect || head;
    if (head)
        req->answer_bytes = 0;
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result gw_proxy_continue(gw_request_t *req, struct MHD_Connection *conn,
                                  const char *upload_data, size_t *upload_data_size)
{
    if (req->phase == GW_PHASE_STREAM_BODY) {
        if (*upload_data_size) {
            size_t taken = gw_xfer_push_body(req->xfer, upload_data, *upload_data_size);
            *upload_data_size -= taken; /* the rest comes again after the resume */
            return MHD_YES;
        }
        gw_xfer_end_body(req->xfer);
        req->phase = GW_PHASE_WAIT_HEAD;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!gw_xfer_head_ready(req->xfer))
        return MHD_YES; /* suspended until the head arrives or the transfer fails */
    return answer(req, conn);
}
