/* `hf auth login` through hubgate: the OAuth 2.0 device authorization grant (RFC 8628) as
 * huggingface_hub sends it (docs/sign-in.md), kept in PostgreSQL (device_grant, refresh_token).
 * A device asks (gw_devices_start), a signed-in person approves or denies its user code in the
 * browser (gw_devices_decide), the device polls (gw_devices_poll) and gets an hf_gw_ token and
 * a refresh token; refreshing (gw_devices_refresh) rotates the refresh token and mints a new
 * access token, never past identity.tokens.max_days from the approval. Device codes and refresh
 * tokens are stored as SHA-256 only. */
#ifndef HUBGATE_GATEWAY_AUTHN_DEVICES_H
#define HUBGATE_GATEWAY_AUTHN_DEVICES_H

#include <jansson.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/authn/identity.h"
#include "gateway/authn/tokens.h"

#define GW_DEVICE_TTL_SECONDS      900    /* a device code lives 15 minutes */
#define GW_DEVICE_INTERVAL_SECONDS 5      /* between polls */
#define GW_DEVICE_ACCESS_SECONDS   (7 * 86400) /* an access token it issues, at most */
#define GW_REFRESH_PREFIX          "hgr_" /* never an hf_ token: not sent anywhere as one */
#define GW_USER_CODE_ALPHABET      "BCDFGHJKLMNPQRSTVWXZ" /* RFC 8628 §6.1: no vowels */

typedef struct gw_devices gw_devices_t;

/* Over the token store (its connections: a device's tokens are inserted in the same
 * transaction as the grant's change). max_days: identity.tokens.max_days. */
gw_devices_t *gw_devices_create(gw_tokens_t *tokens, int max_days);
void gw_devices_destroy(gw_devices_t *d);

/* A device asks to sign in. Returns 0 with *device_code (the secret, for the device only),
 * *user_code (8 letters of GW_USER_CODE_ALPHABET) and *id, in arena; CMN_ERR_DB. Blocks. */
int gw_devices_start(gw_devices_t *d, const char *client_id, const char *client_ip,
                     const char *user_agent, cmn_arena_t *arena, const char **device_code,
                     const char **user_code, const char **id);

/* A user code as typed: letters of the alphabet in any case, '-' and spaces ignored. Writes the
 * 8 letters into out and returns 0, or -1 when it cannot be one. */
int gw_devices_user_code(const char *typed, char out[9]);

typedef struct {
    const char *id, *client_id, *client_ip, *user_agent, *created; /* created: ISO 8601 */
    int64_t expires_in;                                            /* seconds left */
} gw_device_info_t;

/* The pending grant with this user code (normalised), not expired. 0, CMN_ERR_NOTFOUND,
 * CMN_ERR_DB. Blocks. */
int gw_devices_find(gw_devices_t *d, const char *user_code, cmn_arena_t *arena,
                    gw_device_info_t *out);

/* `who` approves (scope "read"/"write") or denies the pending grant with this user code, in a
 * transaction that commits only when confirm(arg, info) returns 0 (info: {id, client_ip,
 * user_agent, client_id}). 0, CMN_ERR_NOTFOUND (not pending any more), CMN_ERR_DB, or confirm's
 * result. Blocks. */
int gw_devices_decide(gw_devices_t *d, const char *user_code, const gw_identity_t *who,
                      int approve, const char *scope, gw_tokens_confirm_fn confirm, void *arg,
                      cmn_arena_t *arena, gw_device_info_t *out);

/* What a poll or a refresh comes to: an RFC 8628 §3.5 / RFC 6749 §5.2 error, or tokens. */
typedef enum {
    GW_GRANT_ISSUED = 0,
    GW_GRANT_PENDING,   /* authorization_pending */
    GW_GRANT_SLOW_DOWN, /* slow_down: polled faster than the interval */
    GW_GRANT_DENIED,    /* access_denied */
    GW_GRANT_EXPIRED,   /* expired_token */
    GW_GRANT_INVALID,   /* invalid_grant: unknown, used, revoked, another client's, past max */
    GW_GRANT_FAILED,    /* the database or the audit log: 503, try again */
} gw_grant_result_t;

/* Issued tokens: owner (arena), the access token's info (new reference: id, name, scope,
 * expires, expires_in), the secrets. */
typedef struct {
    gw_identity_t owner;
    json_t *info;
    const char *access_token, *refresh_token, *grant_id;
} gw_grant_tokens_t;

/* The device polls with its device code and client id. Issues once, after approval: the
 * access token, the refresh token and the grant's new state in one transaction that commits
 * only when confirm(arg, info of the access token) returns 0 (its token.minted event; the
 * owner is in out->owner when confirm runs). Blocks. */
gw_grant_result_t gw_devices_poll(gw_devices_t *d, const char *device_code, const char *client_id,
                                  gw_tokens_confirm_fn confirm, void *arg, cmn_arena_t *arena,
                                  gw_grant_tokens_t *out);

/* Refresh: the refresh token is used once; a new one and a new access token come back, the
 * same way as gw_devices_poll. A refresh token presented again more than a minute after its
 * use (stolen and replayed, or a copy) revokes the grant's every token; within the minute it
 * is only refused (two processes raced). Blocks. */
gw_grant_result_t gw_devices_refresh(gw_devices_t *d, const char *refresh_token,
                                     gw_tokens_confirm_fn confirm, void *arg, cmn_arena_t *arena,
                                     gw_grant_tokens_t *out);

#endif
