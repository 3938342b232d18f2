#include "gateway/forward/xet.h"

#include "common/err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int gw_xet_is_header(const char *name, size_t len)
{
    return len > 6 && strncasecmp(name, "x-xet-", 6) == 0;
}

char *gw_xet_strip_listing(const char *body, size_t len, size_t *removed)
{
    *removed = 0;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(root)) {
        json_decref(root);
        return NULL;
    }
    size_t i;
    json_t *entry;
    json_array_foreach(root, i, entry)
    {
        if (!json_is_object(entry)) {
            json_decref(root);
            return NULL; /* not a listing: relayed unread it could carry anything */
        }
        if (json_object_del(entry, "xetHash") == 0)
            (*removed)++;
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

int gw_xet_strip_batch_request(cmn_buf_t *body)
{
    json_t *root = json_loadb(body->data ? body->data : "", body->len, JSON_REJECT_DUPLICATES,
                              NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return CMN_ERR_PARSE;
    }
    json_t *transfers = json_object_get(root, "transfers");
    int changed = 0;
    for (size_t i = 0; json_is_array(transfers) && i < json_array_size(transfers);) {
        const char *t = json_string_value(json_array_get(transfers, i));
        if (t && strcmp(t, "xet") == 0) {
            json_array_remove(transfers, i);
            changed = 1;
        } else {
            i++;
        }
    }
    int rc = changed;
    if (changed) {
        char *text = json_dumps(root, JSON_COMPACT);
        body->len = 0;
        rc = text && cmn_buf_append(body, text, strlen(text)) == 0 ? 1 : CMN_ERR_NOMEM;
        free(text);
    }
    json_decref(root);
    return rc;
}
