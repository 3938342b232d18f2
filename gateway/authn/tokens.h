/* hubgate's own tokens: hf_gw_<192 random bits, base64url>. The `hf_` prefix is deliberate:
 * @huggingface/hub refuses tokens without it, so with these real clients need nothing but
 * HF_ENDPOINT and HF_TOKEN.
 *
 * Stored in PostgreSQL (access_token) only as SHA-256; shown once, at minting. A token acts
 * for the SSO identity that minted it (a snapshot of its claims), is read- or write-scoped,
 * expires, and is revoked at once on the instance that revokes it (the lookup cache is
 * purged) and within GW_TOKEN_CACHE_MS on every other instance. */
#ifndef HUBGATE_GATEWAY_TOKENS_H
#define HUBGATE_GATEWAY_TOKENS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/authn/auth-t.h"
#include "gateway/authn/identity.h"
#include "gateway/limits.h"

typedef struct gw_tokens gw_tokens_t;

#define GW_TOKEN_PREFIX    "hf_gw_"
#define GW_TOKEN_CACHE_MS  1000

/* What a token's name may be made of, besides ASCII letters and digits: it is shown in lists
 * and written into audit events, so no control, formatting or look-alike characters. */
#define GW_TOKEN_NAME_PUNCT " -_.,:;@#()+/"

/* Why `name` cannot name a token (a static sentence for a 400 answer), or NULL when it can:
 * 1 to GW_MAX_TOKEN_NAME bytes of ASCII letters, digits and GW_TOKEN_NAME_PUNCT, no space at
 * either end, and not shaped like a credential (the audit encoder's test: "hf_…", "Bearer …",
 * a JWT), which the token.minted event could not carry. Never blocks. */
const char *gw_tokens_name_problem(const char *name);

/* The last step of a privileged change, run inside the change's database transaction after the
 * change is made and before it is committed: it makes the change's audit event durable (or
 * does nothing when the gateway audits nothing). Returns 0 to commit; anything else rolls the
 * change back and is returned by the caller. `info` describes the change (borrowed). */
typedef int (*gw_tokens_confirm_fn)(void *arg, const json_t *info);

/* Opens the store over the database URL (connections are made on first use). */
gw_tokens_t *gw_tokens_create(const char *database_url);

/* With SCIM (set once at start): a token acts with its owner's groups in the directory now,
 * not those it was minted with; an owner the directory does not know has none. */
void gw_tokens_use_directory(gw_tokens_t *t);

/* Forgets every cached lookup: after a change that revoked tokens in bulk (deprovisioning), at
 * once on this instance. */
void gw_tokens_forget(gw_tokens_t *t);

/* Its connections, for a change that inserts a token in a transaction of its own
 * (gw_tokens_insert). */
struct gw_store *gw_tokens_store(gw_tokens_t *t);
void gw_tokens_destroy(gw_tokens_t *t);

/* Mints a token for an SSO identity. name passed gw_tokens_name_problem; scope is "read" or
 * "write"; days ≥ 1. The row is inserted in a transaction that commits only when confirm(arg,
 * info) returns 0: no token exists whose minting was not recorded. On success returns 0 and
 * sets *token (the secret, shown once) and *info (id, name, scope, created, expires; new
 * reference). Else CMN_ERR_DB when the database fails, or confirm's non-zero result (nothing
 * minted). Blocks (database, and confirm). */
int gw_tokens_mint(gw_tokens_t *t, const gw_identity_t *owner, const char *name,
                   const char *scope, int days, cmn_arena_t *arena, gw_tokens_confirm_fn confirm,
                   void *arg, const char **token, json_t **info);

/* The insert itself, on connection c inside the caller's transaction (a device grant issues a
 * token with its refresh token and its audit event, all or nothing): a token for owner named
 * `name` with `scope`, expiring `seconds` from the database's now, tied to device grant
 * grant_id (NULL: none). Returns 0 with *token and *info ({id, name, scope, created, expires,
 * expires_in}); CMN_ERR_INVAL (a name gw_tokens_name_problem refuses), CMN_ERR_DB. Blocks. */
int gw_tokens_insert(gw_tokens_t *t, PGconn *c, const gw_identity_t *owner, const char *name,
                     const char *scope, long long seconds, const char *grant_id,
                     cmn_arena_t *arena, const char **token, json_t **info);

/* Every live token, newest first, at most max: [{id, name, scope, created, expires, last_used,
 * owner (the snapshot)}] (new reference), or NULL on a database error. Blocks. */
json_t *gw_tokens_list_live(gw_tokens_t *t, size_t max);

/* The owner's tokens, newest first, as a JSON array (new reference), or NULL on a database
 * error. Blocks. */
json_t *gw_tokens_list(gw_tokens_t *t, const gw_identity_t *owner);

/* Revokes the owner's token `id` (owner NULL: whoever owns it — an org admin's revocation,
 * decided by the caller), with the refresh tokens of the device sign-in it came from, in a
 * transaction that commits only when confirm(arg, info) returns 0 (info: {id, name, scope,
 * owner}). Returns 0, CMN_ERR_NOTFOUND (no such live token of this owner: confirm is not
 * called), CMN_ERR_DB, or confirm's non-zero result (the token stays valid). Blocks (database,
 * and confirm). */
int gw_tokens_revoke(gw_tokens_t *t, const gw_identity_t *owner, const char *id,
                     gw_tokens_confirm_fn confirm, void *arg);

/* Resolves a presented hf_gw_ token. Returns 0 with *id filled (arena strings) — the owner's
 * identity as it was when the token was minted, every group of it or the token refused —
 * CMN_ERR_DENIED (unknown, expired, revoked, or an owner snapshot hubgate cannot use; *code and
 * *reason say which) or CMN_ERR_DB (*code GW_AUTH_REASON_STORE_UNAVAILABLE). Blocks on a cache
 * miss. */
int gw_tokens_lookup(gw_tokens_t *t, const char *token, size_t len, cmn_arena_t *arena,
                     gw_identity_t *id, gw_auth_reason_t *code, const char **reason);

#endif
