#include "gateway/forward/xet_cas.h"

#include "common/err.h"
#include "common/log.h"
#include "gateway/forward/egress.h"
#include "gateway/forward/links.h"
#include "gateway/forward/response.h"
#include "gateway/forward/rewrite.h"
#include "gateway/forward/xet_shard.h"
#include "gateway/forward/xet_token.h"
#include "gateway/http/headers.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A Xet hash as paths carry it: 64 lowercase hex digits. */
static int is_hash(const char *s, size_t n)
{
    if (n != 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* Does path[0..n) start with prefix and continue with one hash and nothing else? */
static int prefix_hash(const char *path, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    return n > pl && strncmp(path, prefix, pl) == 0 && is_hash(path + pl, n - pl);
}

static int is_path(const char *path, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(path, want, n) == 0;
}

typedef struct {
    gw_xet_endpoint_t ep; /* NONE: answered 404 by hubgate */
    int write;            /* needs a write token */
} endpoint_t;

/* The CAS API as Xet clients call it (docs/xet-storage.md, "CAS calls"). */
static endpoint_t endpoint(const char *method, const char *path, size_t n)
{
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
        head = strcmp(method, "HEAD") == 0;
    if ((get && (prefix_hash(path, n, "/v2/reconstructions/") ||
                 prefix_hash(path, n, "/v1/reconstructions/") ||
                 is_path(path, n, "/v1/reconstructions"))) ||
        (post && is_path(path, n, "/v1/reconstructions")))
        return (endpoint_t){GW_XET_EP_RECONSTRUCTION, 0};
    if (post && prefix_hash(path, n, "/v1/xorbs/default/"))
        return (endpoint_t){GW_XET_EP_XORB, 1};
    if (post && is_path(path, n, "/v1/shards"))
        return (endpoint_t){GW_XET_EP_SHARD, 1};
    if (head && (prefix_hash(path, n, "/v1/xorbs/default/") || prefix_hash(path, n, "/v1/files/")))
        return (endpoint_t){GW_XET_EP_FORWARD, 0};
    /* Everything else, on purpose: /v1/chunks (global deduplication would say which content
     * other repos hold, and name their xorbs), /v2/shards (clients fall back to /v1/shards on a
     * 404), /v2/file-chunk-hashes (a file's chunk hashes, by id alone). */
    return (endpoint_t){GW_XET_EP_NONE, 0};
}

int gw_xet_cas_open(gw_request_t *req, const char **message)
{
    if (req->srv->cfg->xet != GW_XET_PROXY) {
        *message = "Xet storage is disabled by this gateway";
        return CMN_ERR_NOTFOUND;
    }
    const gw_header_t *auth = gw_headers_find(req->headers, req->nheaders, "authorization");
    static const char bearer[] = "Bearer " GW_XET_TOKEN_PREFIX;
    *message = "a Xet token from this gateway's token route is required";
    if (!auth || auth->value_len <= sizeof(bearer) - 1 ||
        strncasecmp(auth->value, bearer, 7) != 0 ||
        memcmp(auth->value + 7, GW_XET_TOKEN_PREFIX, sizeof(GW_XET_TOKEN_PREFIX) - 1) != 0)
        return CMN_ERR_UNAUTHENTICATED;
    const char *token = cmn_arena_strndup(&req->arena, auth->value + sizeof(bearer) - 1,
                                          auth->value_len - (sizeof(bearer) - 1));
    if (!token)
        return CMN_ERR_NOMEM;
    gw_egress_claim_t claim;
    int rc = gw_egress_open_xet_token(atomic_load(&req->srv->egress_keys), token, time(NULL),
                                      &req->arena, &claim);
    if (rc == CMN_ERR_EXPIRED) {
        *message = "this Xet token has expired; ask the token route for a new one";
        return CMN_ERR_UNAUTHENTICATED;
    }
    const gw_region_t *region = rc == 0 ? gw_config_region(req->srv->cfg, claim.region) : NULL;
    if (rc != 0 || !region || strcmp(claim.method, "XET") != 0) {
        *message = "hubgate did not issue this Xet token";
        return CMN_ERR_UNAUTHENTICATED;
    }
    /* From here the request is the grant's: its caller, repo and decision are audited. */
    const char *suffix = req->target + sizeof(GW_XET_CAS_PATH) - 1;
    size_t path_len = strcspn(suffix, "?");
    req->region = region;
    req->egress = claim;
    req->egress.url = cmn_arena_concat(&req->arena, claim.url, suffix);
    req->egress.method = req->method;
    req->is_egress = 1;
    if (!req->egress.url)
        return CMN_ERR_NOMEM;
    endpoint_t ep = endpoint(req->method, suffix, path_len);
    req->xet_endpoint = ep.ep;
    /* what the audit log names: the hash in the path, and a reconstruction's Range */
    const char *last = memrchr(suffix, '/', path_len);
    if (ep.ep != GW_XET_EP_NONE && last && path_len - (size_t)(last + 1 - suffix) == 64)
        req->xet_object = cmn_arena_strndup(&req->arena, last + 1, 64);
    const gw_header_t *range = gw_headers_find(req->headers, req->nheaders, "range");
    if (ep.ep == GW_XET_EP_RECONSTRUCTION && range && range->value_len <= 128)
        req->xet_range = cmn_arena_strndup(&req->arena, range->value, range->value_len);
    /* the transfer links of a reconstruction name its file: their bytes are counted by file */
    req->egress.object = ep.ep == GW_XET_EP_RECONSTRUCTION && req->xet_object ? req->xet_object : "";
    req->egress.action = ep.write ? "write" : "read";
    if (ep.ep == GW_XET_EP_NONE) {
        *message = "no such Xet endpoint through this gateway";
        return CMN_ERR_NOTFOUND;
    }
    if (ep.write && strcmp(claim.action, "write") != 0) {
        *message = "this Xet token is read-only";
        return CMN_ERR_DENIED;
    }
    return 0;
}

/* The answer made of text (NULL: the upstream's could not be read, *status and *message as
 * set), or NULL with 500 when out of memory. */
static struct MHD_Response *own_text(gw_request_t *req, char *text, unsigned *status,
                                     const char **message)
{
    struct MHD_Response *r = text ? gw_response_own_text(req, text) : NULL;
    if (text && !r) {
        *status = 500;
        *message = "out of memory";
    }
    return r;
}

/* Each entry's "url" of every array in obj (an object of xorb hash → [entries]). */
static int seal_urls(gw_request_t *req, json_t *obj)
{
    if (!obj)
        return 0;
    if (!json_is_object(obj))
        return -1;
    const char *xorb;
    json_t *entries;
    json_object_foreach(obj, xorb, entries)
    {
        if (!json_is_array(entries))
            return -1;
        size_t i;
        json_t *e;
        json_array_foreach(entries, i, e)
        {
            json_t *url = json_object_get(e, "url");
            if (!json_is_string(url))
                return -1;
            /* Transfer hosts get no credentials: the URL is signed. */
            const char *out = gw_links_hand_out(req, json_string_value(url),
                                                json_string_length(url), "GET", NULL);
            if (!out || json_object_set_new(e, "url", json_string(out)) != 0)
                return -1;
        }
    }
    return 0;
}

struct MHD_Response *gw_xet_cas_reconstruction(gw_request_t *req, const char *body, size_t len,
                                               unsigned *status, const char **message)
{
    *status = 502;
    *message = "the upstream CAS sent a reconstruction hubgate cannot read";
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *v2 = json_object_get(root, "xorbs"), *v1 = json_object_get(root, "fetch_info");
    char *text = NULL;
    if (json_is_object(root) && (v1 || v2) && seal_urls(req, v2) == 0 && seal_urls(req, v1) == 0)
        text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return own_text(req, text, status, message);
}

struct MHD_Response *gw_xet_cas_fileinfo(gw_request_t *req, const char *body, size_t len,
                                         unsigned *status, const char **message)
{
    *status = 502;
    *message = "the upstream hub sent Xet file information hubgate cannot read";
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    gw_rewrite_t rw = gw_links_rewriter(req);
    json_t *refresh = json_object_get(root, "refreshUrl");
    json_t *recon = json_object_get(root, "reconstructionUrl");
    const char *r1 = json_is_string(refresh)
                         ? gw_rewrite_url(&rw, json_string_value(refresh),
                                          json_string_length(refresh), "GET", &req->arena)
                         : NULL;
    const char *r2 = json_is_string(recon)
                         ? gw_rewrite_xet_reconstruction(&rw, json_string_value(recon),
                                                         json_string_length(recon), &req->arena)
                         : NULL;
    char *text = NULL;
    if (json_is_object(root) && (!refresh || r1) && (!recon || r2) &&
        (!r1 || json_object_set_new(root, "refreshUrl", json_string(r1)) == 0) &&
        (!r2 || json_object_set_new(root, "reconstructionUrl", json_string(r2)) == 0))
        text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return own_text(req, text, status, message);
}

struct MHD_Response *gw_xet_cas_xorb(gw_request_t *req, const char *body, size_t len,
                                     unsigned *status, const char **message)
{
    *status = 502;
    *message = "the upstream CAS sent an upload answer hubgate cannot read";
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    int ok = json_is_boolean(json_object_get(root, "was_inserted"));
    json_decref(root);
    if (!ok)
        return NULL;
    static const char inserted[] = "{\"was_inserted\":true}";
    struct MHD_Response *r = MHD_create_response_from_buffer(
        sizeof(inserted) - 1, (void *)inserted, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        *status = 500;
        *message = "out of memory";
        return NULL;
    }
    req->answer_bytes = sizeof(inserted) - 1;
    return r;
}

int gw_xet_cas_shard(gw_request_t *req, const char *body, size_t len, const char **message)
{
    gw_xet_shard_file_t files[GW_XET_AUDITED_FILES];
    size_t total = 0;
    if (gw_xet_shard_files((const unsigned char *)body, len, files, GW_XET_AUDITED_FILES,
                           &total) != 0) {
        *message = "the body is not a Xet shard hubgate can read";
        return CMN_ERR_PARSE;
    }
    size_t n = total < GW_XET_AUDITED_FILES ? total : GW_XET_AUDITED_FILES;
    req->xet_files = cmn_arena_alloc(&req->arena, (n ? n : 1) * sizeof(*req->xet_files));
    if (!req->xet_files)
        return CMN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        req->xet_files[i] = cmn_arena_printf(&req->arena, "%s %" PRIu64 "%s%s", files[i].hash,
                                             files[i].size, *files[i].sha256 ? " " : "",
                                             files[i].sha256);
        if (!req->xet_files[i])
            return CMN_ERR_NOMEM;
    }
    req->n_xet_files = n;
    req->xet_files_total = total;
    return 0;
}
