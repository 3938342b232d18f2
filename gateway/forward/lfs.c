#include "gateway/forward/lfs.h"

#include "gateway/forward/links.h"
#include "gateway/forward/xet_token.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
    switch (gw_rewrite_url_kind(rw, json_string_value(href), json_string_length(href), method,
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
    if (!gw_links_allowed(req, url, strlen(url)))
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
                const char *part = gw_rewrite_url(rw, s, strlen(s), "PUT", &req->arena);
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
    const char *sealed = gw_links_seal(req, url, strlen(url), method, secret.data);
    cmn_buf_free(&secret);
    return sealed ? json_object_set_new(action, "href", json_string(sealed)) : -1;
}

/* The LFS batch answer, with every href pointing at hubgate. NULL when it is not JSON of the
 * expected shape: gw_response_relay refuses that on a success, and relays an error answer as it came
 * (an error is no batch document: it carries no href we could miss). */
char *gw_lfs_rewrite_batch(gw_request_t *req, const char *body, size_t len, int *failed,
                           const char **why)
{
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *objects = json_object_get(root, "objects");
    char *out = NULL;
    if (!json_is_array(objects))
        goto done;
    const char *transfer = json_string_value(json_object_get(root, "transfer"));
    int xet = transfer && strcmp(transfer, "xet") == 0;
    if (xet && req->srv->cfg->xet != GW_XET_PROXY) {
        /* hubgate removed "xet" from what the client offered (forward/xet.h) */
        *failed = GW_LFS_CHOSE_XET;
        goto done;
    }
    const char *scope = req->route.lfs_operation == GW_LFS_OP_UPLOAD ? "write" : "read";
    gw_rewrite_t rw = gw_links_rewriter(req);
    size_t i;
    json_t *obj;
    json_array_foreach(objects, i, obj)
    {
        json_t *actions = json_object_get(obj, "actions");
        const char *kind;
        json_t *action;
        json_object_foreach(actions, kind, action)
        {
            if (xet && json_is_object(action) &&
                gw_xet_token_batch_action(req, scope, action, why) != 0) {
                *failed = GW_LFS_XET_FAILED;
                goto done;
            }
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
