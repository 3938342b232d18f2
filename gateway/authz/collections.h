/* Collections seen through hubgate. The hub answers collection routes (GET /api/collections,
 * GET /api/collections/{namespace}/{slug}, and the answers of collection writes) for hubgate's
 * service account, which sees collections and items no caller may see: the answer is filtered
 * to what the caller may read before it leaves hubgate, as repo listings are. */
#ifndef HUBGATE_GATEWAY_COLLECTIONS_H
#define HUBGATE_GATEWAY_COLLECTIONS_H

#include <stddef.h>

#include "policy/cidr.h"
#include "policy/policy.h"
#include "gateway/limits.h"

typedef enum {
    GW_COLLECTIONS_OK = 0,
    GW_COLLECTIONS_HIDDEN,     /* one collection, owned by a namespace the caller may not read */
    GW_COLLECTIONS_UNPARSABLE, /* not a JSON array of collections nor one collection object */
    GW_COLLECTIONS_NOMEM,
} gw_collections_result_t;

typedef struct {
    size_t kept;               /* collections shown */
    size_t hidden_collections; /* collections removed: owner not readable, or no owner */
    size_t hidden_items;       /* items removed from the collections shown */
} gw_collections_stats_t;

/* Filters a collections answer: a JSON array of collections (a listing) or one collection
 * object, for `subject` under `policy` (ip: the client's address, or NULL when unknown).
 * - a collection whose owner namespace (owner.name, else the slug's first segment) the subject
 *   may not read is removed; one collection alone is then GW_COLLECTIONS_HIDDEN;
 * - in the collections kept, an item naming a model, dataset or space the subject may not read,
 *   or a collection whose owner it may not read, is removed; paper items (public) stay; items
 *   of any other or no type are removed (fail closed);
 * - what the hub computed for the service account is reset: isUpvotedByUser, isLikedByUser and
 *   isUserFollowing become false, and a gating's notification email is removed.
 * On GW_COLLECTIONS_OK *out is the filtered JSON (malloc'd, the caller frees). Borrows
 * everything else. Pure: no I/O, no locks beyond the policy's. */
gw_collections_result_t gw_collections_filter(const pol_policy_t *policy,
                                              const pol_subject_t *subject, const pol_ip_t *ip,
                                              const char *body, size_t len, char **out,
                                              gw_collections_stats_t *stats);

/* 1 when subject may read namespace ns (an org's or a user's page, its collections) under
 * policy: the decision a request naming only that namespace gets. */
int gw_collections_can_read_namespace(const pol_policy_t *policy, const pol_subject_t *subject,
                                      const char *ns, const pol_ip_t *ip);

#endif
