/* Types only: a sealed egress link's key and what it carries (gateway/forward/egress.h). The
 * request keeps the opened claim, and its audit events name who and what it was sealed for. */
#ifndef HUBGATE_GATEWAY_FORWARD_EGRESS_T_H
#define HUBGATE_GATEWAY_FORWARD_EGRESS_T_H

#include <stdint.h>

typedef struct {
    unsigned char key[32];
} gw_egress_key_t;

/* At most this many previous keys (config: GW_CONFIG_MAX_EXTRA_KEYS). */
#define GW_EGRESS_MAX_PREVIOUS_KEYS 4

/* What seals and opens: the current key seals; a token opens under it or, during a rotation,
 * under one of the previous keys (egress_previous_key_files) until it expires. Immutable once
 * in use: SIGHUP swaps in another set, it never edits one. */
typedef struct {
    gw_egress_key_t current;
    gw_egress_key_t previous[GW_EGRESS_MAX_PREVIOUS_KEYS];
    size_t n_previous;
} gw_egress_keys_t;

/* Every string is present ("" when absent) and holds no NUL. */
typedef struct {
    const char *url;       /* absolute http(s) URL to fetch */
    const char *method;    /* "GET" (HEAD implied), "PUT" or "POST" */
    const char *headers;   /* extra request headers for the storage, "Name: value\n"… ("" none);
                              secrets the client never sees, sent to this URL's origin only */
    const char *repo_type; /* "model", "dataset", …; "" when the route named no repo */
    const char *repo;      /* "acme/bert": what the transfer is audited under */
    const char *action;    /* "read", "write" */
    const char *iss;       /* the caller it was issued to; both "" when anonymous */
    const char *sub;
    const char *email;    /* for the audit event's actor; "" when unknown */
    const char *token_id; /* the hubgate token the caller used (its id, never the token) */
    const char *org;      /* the decision that allowed the request that produced the URL */
    const char *role;
    const char *region; /* also where the link may lead: that region's origins */
    const char *rule;
    const char *policy_sha256; /* of the policy that made that decision ("" when none did) */
    const char *object;        /* what in the repo the link serves: a Xet file id ("" none) */
    int64_t expires;           /* unix seconds */
} gw_egress_claim_t;

#endif
