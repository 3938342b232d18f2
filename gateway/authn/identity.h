/* Who is calling, once authenticated (authn/auth.h): an SSO subject, a hubgate token on its
 * behalf, or nobody. Everything about the caller that policy and audit need is in
 * gw_identity_t; no credential is. */
#ifndef HUBGATE_GATEWAY_AUTHN_IDENTITY_H
#define HUBGATE_GATEWAY_AUTHN_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/limits.h"

typedef enum {
    GW_ID_ANONYMOUS = 0,
    GW_ID_SSO,   /* a verified JWT from a configured issuer */
    GW_ID_TOKEN, /* a hubgate token, on behalf of the SSO identity that minted it */
} gw_identity_kind_t;

typedef struct {
    gw_identity_kind_t kind;
    const char *iss; /* the SSO issuer (for tokens: the minter's) */
    const char *sub;
    const char *email;              /* NULL when the IdP gave none; recorded in audit events */
    int email_verified;             /* the email may name the caller in a policy: the IdP said
                                       email_verified: true, or its issuer is configured with
                                       email_verified_assumed */
    const char *preferred_username; /* NULL when the IdP gave none */
    const char *name;
    const char **groups;
    size_t ngroups;
    int mfa;            /* amr says a second factor was used */
    int64_t auth_time;  /* 0 when unknown */
    int64_t expires;    /* unix seconds */
    const char *token_id; /* hubgate token id, or NULL */
    const char *token_name;
    int read_only;        /* a read-scoped hubgate token */
} gw_identity_t;

/* Extracts an identity from verified JWT claims (also used for token owner snapshots).
 * groups_claim is a dot path ("groups", "realm_access.roles"): a string or an array of strings.
 * The email is verified when "email_verified" is JSON true, or when the claim is absent and
 * email_verified_assumed is set (an issuer that never sends it); an explicit false always
 * stands. Returns 0; CMN_ERR_TOOBIG when the groups claim holds more than GW_MAX_GROUPS entries
 * (refuse the token: never truncate); CMN_ERR_PARSE when it is of another type or holds a
 * non-string; CMN_ERR_NOMEM. */
struct json_t;
int gw_identity_from_claims(const struct json_t *claims, const char *iss,
                            const char *groups_claim, int email_verified_assumed,
                            cmn_arena_t *arena, gw_identity_t *id);

/* The identity as a JSON object (for /-/whoami and token owner snapshots). New reference. */
struct json_t *gw_identity_to_json(const gw_identity_t *id);

/* The identity as hubgate keeps it for what acts on the person's behalf later (a hubgate
 * token, a sign-in session): the claims gw_identity_from_claims reads back with groups_claim
 * "groups". New reference, or NULL when out of memory. */
struct json_t *gw_identity_snapshot(const gw_identity_t *id);

/* "iss|sub": how one SSO subject is named in logs, audit events and token ownership. */
const char *gw_identity_principal(const gw_identity_t *id, cmn_arena_t *arena);

#endif
