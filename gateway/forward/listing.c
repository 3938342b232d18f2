#include "gateway/forward/listing.h"

#include "common/log.h"
#include "gateway/authz/collections.h"
#include "gateway/forward/response.h"

#include "gateway/authz/authz.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

json_t *gw_listing_keep(gw_request_t *req, const char *body, size_t len, size_t *kept,
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
            if (json_array_append(out, item) != 0) {
                json_decref(out);
                out = NULL;
                break;
            }
            (*kept)++;
        } else {
            (*dropped)++;
        }
    }
    json_decref(root);
    return out;
}

char *gw_listing_filter(gw_request_t *req, const char *body, size_t len, size_t *kept,
                        size_t *dropped)
{
    json_t *out = gw_listing_keep(req, body, len, kept, dropped);
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    return text;
}

/* A collections answer (2xx) cut down to what the caller may read (gateway/authz/collections.h).
 * Returns the response, or NULL with *status and *message set to answer instead. */
struct MHD_Response *gw_listing_collections(gw_request_t *req, const char *body, size_t len,
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
    if (st.hidden_collections || st.hidden_items)
        cmn_log_debug("collections", "%s: %zu shown, %zu collections and %zu items hidden by the "
                                     "policy",
                      req->request_id, st.kept, st.hidden_collections, st.hidden_items);
    struct MHD_Response *r = gw_response_own_text(req, text);
    if (!r) {
        *status = 500;
        *message = "out of memory";
    }
    return r;
}
