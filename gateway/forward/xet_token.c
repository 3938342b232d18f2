#include "gateway/forward/xet_token.h"

#include "common/log.h"
#include "gateway/forward/egress.h"
#include "gateway/forward/links.h"
#include "gateway/forward/response.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *gw_xet_token_mint(gw_request_t *req, const char *action, const char *cas_url,
                              size_t cas_len, const char *ut, int64_t ut_exp, int64_t *exp,
                              const char **message)
{
    *message = "hubgate could not make a Xet token";
    while (cas_len && cas_url[cas_len - 1] == '/')
        cas_len--;
    if (!gw_links_allowed(req, cas_url, cas_len)) {
        *message = "the upstream hub named a Xet CAS that hubgate does not allow";
        return NULL;
    }
    int64_t now = (int64_t)time(NULL);
    gw_egress_claim_t claim = gw_links_claim(req, action);
    claim.method = "XET";
    claim.url = cmn_arena_strndup(&req->arena, cas_url, cas_len);
    claim.headers = cmn_arena_concat(&req->arena, "Authorization: Bearer ", ut);
    claim.headers = claim.headers ? cmn_arena_concat(&req->arena, claim.headers, "\n") : NULL;
    claim.expires = ut_exp < now + GW_XET_TOKEN_TTL_SECONDS ? ut_exp : now + GW_XET_TOKEN_TTL_SECONDS;
    if (!claim.url || !claim.headers || strpbrk(ut, "\r\n"))
        return NULL;
    const char *sealed =
        gw_egress_seal_xet_token(atomic_load(&req->srv->egress_keys), &claim, &req->arena);
    if (!sealed) {
        cmn_log_warn("xet", "%s: cannot seal a Xet token (%zu-byte upstream token)",
                     req->request_id, strlen(ut));
        return NULL;
    }
    *exp = claim.expires;
    return cmn_arena_concat(&req->arena, GW_XET_TOKEN_PREFIX, sealed);
}

/* An expiry as the upstream wrote it: a JSON number, or a string of digits (the batch
 * header's X-Xet-Token-Expiration). -1 when it is neither. */
static int64_t expiry(const json_t *v)
{
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    const char *s = json_string_value(v);
    if (!s || !*s)
        return -1;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    return errno || *end || n < 0 ? -1 : (int64_t)n;
}

static const char *cas_url_public(gw_request_t *req)
{
    return cmn_arena_concat(&req->arena, req->srv->cfg->public_url, GW_XET_CAS_PATH);
}

struct MHD_Response *gw_xet_token_answer(gw_request_t *req, const char *body, size_t len,
                                         unsigned *status, const char **message)
{
    *status = 502;
    *message = "the upstream hub sent a Xet token answer hubgate cannot read";
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    const char *ut = json_string_value(json_object_get(root, "accessToken"));
    const char *cas = json_string_value(json_object_get(root, "casUrl"));
    int64_t ut_exp = expiry(json_object_get(root, "exp"));
    int64_t exp = 0;
    const char *action = req->route.action == GW_ACTION_READ ? "read" : "write";
    const char *ht = ut && cas && ut_exp > (int64_t)time(NULL)
                         ? gw_xet_token_mint(req, action, cas, strlen(cas), ut, ut_exp, &exp,
                                             message)
                         : NULL;
    const char *public_cas = cas_url_public(req);
    json_t *out = ht && public_cas ? json_pack("{s:s, s:I, s:s}", "accessToken", ht, "exp",
                                               (json_int_t)exp, "casUrl", public_cas)
                                   : NULL;
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    char expires[24];
    snprintf(expires, sizeof(expires), "%" PRId64, exp);
    /* The upstream's Content-Type (its answer was this JSON's shape) comes with its headers. */
    struct MHD_Response *r = text ? gw_response_own_text(req, text) : NULL;
    if (r && (MHD_add_response_header(r, "X-Xet-Cas-Url", public_cas) != MHD_YES ||
              MHD_add_response_header(r, "X-Xet-Access-Token", ht) != MHD_YES ||
              MHD_add_response_header(r, "X-Xet-Token-Expiration", expires) != MHD_YES)) {
        MHD_destroy_response(r);
        r = NULL;
    }
    if (text && !r) {
        *status = 500;
        *message = "out of memory";
    }
    json_decref(out);
    json_decref(root);
    return r;
}

int gw_xet_token_batch_action(gw_request_t *req, const char *action_scope, json_t *action,
                              const char **message)
{
    *message = "the upstream hub sent a Xet transfer hubgate cannot read";
    json_t *header = json_object_get(action, "header");
    if (!json_is_object(header))
        return -1;
    const char *ut = NULL, *cas = NULL;
    int64_t ut_exp = -1;
    const char *k;
    json_t *v;
    json_object_foreach(header, k, v)
    {
        if (strcasecmp(k, "x-xet-access-token") == 0)
            ut = json_string_value(v);
        else if (strcasecmp(k, "x-xet-cas-url") == 0)
            cas = json_string_value(v);
        else if (strcasecmp(k, "x-xet-token-expiration") == 0)
            ut_exp = expiry(v);
    }
    if (!ut || !cas || ut_exp <= (int64_t)time(NULL))
        return -1;
    int64_t exp = 0;
    const char *ht = gw_xet_token_mint(req, action_scope, cas, strlen(cas), ut, ut_exp, &exp,
                                       message);
    const char *public_cas = cas_url_public(req);
    if (!ht || !public_cas)
        return -1;
    /* Only what the client needs: hubgate's token, its CAS and the token's end; the session
     * id stays. Anything else the upstream put there (its credentials) goes. */
    json_t *out = json_object();
    json_t *session = NULL;
    json_object_foreach(header, k, v)
    {
        if (strcasecmp(k, "x-xet-session-id") == 0)
            session = v;
    }
    char expires[24];
    snprintf(expires, sizeof(expires), "%" PRId64, exp);
    if (!out || json_object_set_new(out, "X-Xet-Cas-Url", json_string(public_cas)) ||
        json_object_set_new(out, "X-Xet-Access-Token", json_string(ht)) ||
        json_object_set_new(out, "X-Xet-Token-Expiration", json_string(expires)) ||
        (session && json_object_set(out, "X-Xet-Session-Id", session))) {
        json_decref(out);
        *message = "out of memory";
        return -1;
    }
    if (json_object_set_new(action, "header", out)) { /* takes out, even when it fails */
        *message = "out of memory";
        return -1;
    }
    return 0;
}
