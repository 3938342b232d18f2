#include "gateway/authz/collections.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_NAMESPACE_BYTES 256

int gw_collections_can_read_namespace(const pol_policy_t *policy, const pol_subject_t *subject,
                                      const char *ns, const pol_ip_t *ip)
{
    if (!ns || !*ns)
        return 0;
    pol_request_t r;
    memset(&r, 0, sizeof(r));
    r.action = POL_ACTION_READ;
    r.targets[0] =
        (pol_target_t){.type = POL_REPO_NONE, .namespace = ns, .action = POL_ACTION_READ};
    r.ntargets = 1;
    pol_decision_t d;
    pol_decide(policy, subject, &r, ip, time(NULL), &d);
    return d.effect == POL_ALLOW;
}

/* The namespace that owns a collection (or a collection item): owner.name, else the part of
 * its slug ("ns/title-id") before the slash. NULL when neither says. */
static const char *owner_of(json_t *c, char *buf, size_t cap)
{
    const char *name = json_string_value(json_object_get(json_object_get(c, "owner"), "name"));
    if (name && *name && strlen(name) < cap) {
        snprintf(buf, cap, "%s", name);
        return buf;
    }
    const char *slug = json_string_value(json_object_get(c, "slug"));
    const char *slash = slug ? strchr(slug, '/') : NULL;
    if (!slash || slash == slug || (size_t)(slash - slug) >= cap)
        return NULL;
    memcpy(buf, slug, (size_t)(slash - slug));
    buf[slash - slug] = '\0';
    return buf;
}

typedef struct {
    const pol_policy_t *policy;
    const pol_subject_t *subject;
    const pol_ip_t *ip;
} who_t;

static int can_read_repo(const who_t *w, pol_repo_type_t type, const char *id)
{
    if (!id || !*id)
        return 0;
    char ns[MAX_NAMESPACE_BYTES] = "";
    const char *name = id;
    const char *slash = strchr(id, '/');
    if (slash) {
        if ((size_t)(slash - id) >= sizeof(ns) || strchr(slash + 1, '/'))
            return 0;
        memcpy(ns, id, (size_t)(slash - id));
        ns[slash - id] = '\0';
        name = slash + 1;
    }
    return *name && pol_can_read(w->policy, w->subject, type, ns, name, w->ip, time(NULL));
}

/* May the caller see this item of a collection? */
static int item_visible(const who_t *w, json_t *item)
{
    const char *type = json_string_value(json_object_get(item, "type"));
    const char *id = json_string_value(json_object_get(item, "id"));
    if (!type)
        return 0;
    if (strcmp(type, "paper") == 0)
        return 1; /* papers are public pages, not repos */
    if (strcmp(type, "model") == 0)
        return can_read_repo(w, POL_REPO_MODEL, id);
    if (strcmp(type, "dataset") == 0)
        return can_read_repo(w, POL_REPO_DATASET, id);
    if (strcmp(type, "space") == 0)
        return can_read_repo(w, POL_REPO_SPACE, id);
    if (strcmp(type, "collection") == 0) {
        char ns[MAX_NAMESPACE_BYTES];
        return gw_collections_can_read_namespace(w->policy, w->subject,
                                                 owner_of(item, ns, sizeof(ns)), w->ip);
    }
    return 0;
}

/* Resets what the hub computed about its caller (the service account) anywhere in v. Returns
 * -1 past GW_COLLECTIONS_MAX_DEPTH. */
static int forget_service_account(json_t *v, int depth)
{
    if (depth > GW_COLLECTIONS_MAX_DEPTH)
        return -1;
    static const char *const about_caller[] = {"isUpvotedByUser", "isLikedByUser",
                                               "isUserFollowing", NULL};
    if (json_is_object(v)) {
        for (size_t i = 0; about_caller[i]; i++) {
            if (json_is_boolean(json_object_get(v, about_caller[i])))
                json_object_set_new(v, about_caller[i], json_false());
        }
        /* gating.notifications.email: where the owner's admins get access requests */
        json_t *notifications = json_object_get(json_object_get(v, "gating"), "notifications");
        if (json_is_object(notifications))
            json_object_del(notifications, "email");
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child)
        {
            if (forget_service_account(child, depth + 1) != 0)
                return -1;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
        {
            if (forget_service_account(child, depth + 1) != 0)
                return -1;
        }
    }
    return 0;
}

/* Filters one collection in place. Returns 1 when it stays visible. */
static int filter_one(const who_t *w, json_t *c, gw_collections_stats_t *st)
{
    char ns[MAX_NAMESPACE_BYTES];
    if (!json_is_object(c) || !gw_collections_can_read_namespace(
                                  w->policy, w->subject, owner_of(c, ns, sizeof(ns)), w->ip)) {
        st->hidden_collections++;
        return 0;
    }
    json_t *items = json_object_get(c, "items");
    if (items && !json_is_array(items)) {
        json_object_set_new(c, "items", json_array()); /* unreadable items: none shown */
    } else if (items) {
        for (size_t i = json_array_size(items); i-- > 0;) {
            if (!item_visible(w, json_array_get(items, i))) {
                json_array_remove(items, i);
                st->hidden_items++;
            }
        }
    }
    st->kept++;
    return 1;
}

gw_collections_result_t gw_collections_filter(const pol_policy_t *policy,
                                              const pol_subject_t *subject, const pol_ip_t *ip,
                                              const char *body, size_t len, char **out,
                                              gw_collections_stats_t *stats)
{
    gw_collections_stats_t st = {0, 0, 0};
    gw_collections_result_t res = GW_COLLECTIONS_UNPARSABLE;
    who_t w = {policy, subject, ip};
    *out = NULL;
    json_t *root = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!root || forget_service_account(root, 0) != 0)
        goto done;
    if (json_is_array(root)) {
        for (size_t i = json_array_size(root); i-- > 0;) {
            if (!filter_one(&w, json_array_get(root, i), &st))
                json_array_remove(root, i);
        }
    } else if (json_is_object(root)) {
        if (!filter_one(&w, root, &st)) {
            res = GW_COLLECTIONS_HIDDEN;
            goto done;
        }
    } else {
        goto done;
    }
    *out = json_dumps(root, JSON_COMPACT);
    res = *out ? GW_COLLECTIONS_OK : GW_COLLECTIONS_NOMEM;
done:
    json_decref(root);
    if (stats)
        *stats = st;
    return res;
}
