#include "gateway/forward/links.h"

#include "common/log.h"

#include "gateway/forward/egress.h"

#include "gateway/forward/xfer.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const gw_region_t *gw_links_region(const gw_request_t *req)
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

gw_egress_claim_t gw_links_claim(gw_request_t *req, const char *action)
{
    if (req->is_egress) {
        gw_egress_claim_t claim = req->egress;
        claim.action = action;
        return claim;
    }
    const gw_identity_t *id = &req->identity;
    const pol_decision_t *d = &req->decision;
    int known = id->kind != GW_ID_ANONYMOUS && id->iss && id->sub;
    return (gw_egress_claim_t){
        .url = "",
        .method = "",
        .headers = "",
        .repo_type = req->route.name ? gw_route_repo_type_name(req->route.repo_type) : "",
        .repo = repo_label(req),
        .action = action,
        .iss = known ? id->iss : "",
        .sub = known ? id->sub : "",
        .email = known && id->email ? id->email : "",
        .token_id = known && id->token_id ? id->token_id : "",
        .org = req->decided && d->org ? d->org : "",
        .role = req->decided ? pol_role_name(d->role) : "",
        .region = gw_links_region(req)->name,
        .rule = req->decided && d->rule ? d->rule : "",
        .policy_sha256 = req->decided && req->policy ? pol_policy_sha256(req->policy) : "",
        .object = "",
    };
}

/* Seals url into a hubgate link for the caller, under the decision that allowed this request;
 * a link an egress answer points on to keeps the caller, repo and decision of the link that
 * led there. */
const char *gw_links_seal(gw_request_t *req, const char *url, size_t len, const char *method,
                        const char *headers)
{
    const char *u = cmn_arena_strndup(&req->arena, url, len);
    gw_egress_claim_t claim = req->is_egress
                                  ? req->egress
                                  : gw_links_claim(req, strcmp(method, "GET") == 0 ? "read"
                                                                                   : "write");
    claim.url = u;
    claim.method = method;
    claim.headers = headers ? headers : "";
    claim.expires = (int64_t)time(NULL) + GW_EGRESS_TTL_SECONDS;
    const char *token =
        u && claim.repo ? gw_egress_seal(atomic_load(&req->srv->egress_keys), &claim, &req->arena)
                        : NULL;
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
int gw_links_allowed(gw_request_t *req, const char *url, size_t len)
{
    const gw_region_t *region = gw_links_region(req);
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
const char *gw_links_hand_out(gw_request_t *req, const char *url, size_t len,
                              const char *method, const char *headers)
{
    if (!gw_links_allowed(req, url, len))
        return NULL;
    if (req->srv->cfg->egress == GW_EGRESS_REDIRECT)
        return cmn_arena_strndup(&req->arena, url, len);
    return gw_links_seal(req, url, len, method, headers);
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
    return gw_links_hand_out(req, url, len, method, headers);
}

gw_rewrite_t gw_links_rewriter(gw_request_t *req)
{
    const gw_config_t *cfg = req->srv->cfg;
    gw_rewrite_t rw = {.upstream = gw_links_region(req)->upstream,
                       .public_url = cfg->public_url,
                       .xet_enabled = req->srv->cfg->xet == GW_XET_PROXY,
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
