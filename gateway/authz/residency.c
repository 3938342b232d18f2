#include "gateway/authz/residency.h"

#include "common/err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int gw_residency_create_region(cmn_buf_t *body, const char *region)
{
    json_t *root = json_loadb(body->data ? body->data : "", body->len, JSON_REJECT_DUPLICATES,
                              NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return CMN_ERR_PARSE;
    }
    int rc = 0;
    if (!json_object_get(root, "region")) {
        char *text = json_object_set_new(root, "region", json_string(region)) == 0
                         ? json_dumps(root, JSON_COMPACT)
                         : NULL;
        body->len = 0;
        rc = text && cmn_buf_append(body, text, strlen(text)) == 0 ? 1 : CMN_ERR_NOMEM;
        free(text);
    }
    json_decref(root);
    return rc;
}
