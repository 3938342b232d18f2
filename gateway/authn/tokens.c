#include "gateway/authn/tokens.h"
#include "gateway/authn/store.h"
#include "audit/event.h"
#include "common/clock.h"
#include "common/sha256.h"
#include "common/b64.h"
#include "common/err.h"
#include "common/log.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_SLOTS 1024

typedef struct {
    unsigned char hash[32];
    int used;
    int64_t fetched_ms;
    json_t *row; /* {id, name, scope, owner, expires, revoked} or NULL for "unknown token" */
} slot_t;

struct gw_tokens {
    gw_store_t *store;
    int directory; /* SCIM: owners' groups come from the directory */
    pthread_mutex_t mu; /* the cache */
    slot_t cache[CACHE_SLOTS];
};

gw_tokens_t *gw_tokens_create(const char *database_url)
{
    gw_tokens_t *t = calloc(1, sizeof(*t));
    if (!t || !(t->store = gw_store_create(database_url, "hubgate tokens"))) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void gw_tokens_use_directory(gw_tokens_t *t)
{
    t->directory = 1;
}

void gw_tokens_forget(gw_tokens_t *t)
{
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        json_decref(t->cache[i].row);
        t->cache[i].row = NULL;
        t->cache[i].used = 0;
    }
    pthread_mutex_unlock(&t->mu);
}

struct gw_store *gw_tokens_store(gw_tokens_t *t)
{
    return t->store;
}

void gw_tokens_destroy(gw_tokens_t *t)
{
    if (!t)
        return;
    gw_store_destroy(t->store);
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        json_decref(t->cache[i].row);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

const char *gw_tokens_name_problem(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > GW_MAX_TOKEN_NAME)
        return "name must be a string of 1 to 128 characters";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(GW_TOKEN_NAME_PUNCT, c))))
            return "name may hold only ASCII letters, digits, spaces and - _ . , : ; @ # ( ) + /";
    }
    if (name[0] == ' ' || name[n - 1] == ' ')
        return "name must not start or end with a space";
    if (aud_event_value_looks_secret(name))
        return "name looks like a credential (a token, \"Bearer …\" or a JWT): name a token "
               "for where it is used, never with a secret";
    return NULL;
}

int gw_tokens_insert(gw_tokens_t *t, PGconn *c, const gw_identity_t *owner, const char *name,
                     const char *scope, long long seconds, const char *grant_id,
                     cmn_arena_t *arena, const char **token, json_t **info)
{
    *info = NULL;
    if (gw_tokens_name_problem(name))
        return CMN_ERR_INVAL;
    unsigned char secret[24], idraw[9], hash[32];
    if (RAND_bytes(secret, sizeof(secret)) != 1 || RAND_bytes(idraw, sizeof(idraw)) != 1)
        return CMN_ERR_CRYPTO;
    char enc[64], idenc[16];
    cmn_b64url_encode(secret, sizeof(secret), enc);
    cmn_b64url_encode(idraw, sizeof(idraw), idenc);
    char *tok = cmn_arena_printf(arena, GW_TOKEN_PREFIX "%s", enc);
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(enc, sizeof(enc));
    if (!tok)
        return CMN_ERR_NOMEM;
    cmn_sha256(tok, strlen(tok), hash);
    json_t *snap = gw_identity_snapshot(owner);
    char *snap_text = snap ? json_dumps(snap, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(snap);
    char id[32], secs[24];
    snprintf(id, sizeof(id), "tok_%s", idenc);
    snprintf(secs, sizeof(secs), "%lld", seconds);
    const char *params[9] = {id,        (const char *)hash, name, owner->iss, owner->sub,
                             snap_text, scope,              secs, grant_id};
    int lengths[9] = {0, 32, 0, 0, 0, 0, 0, 0, 0};
    int formats[9] = {0, 1, 0, 0, 0, 0, 0, 0, 0};
    PGresult *res = gw_store_query(t->store, snap_text ? c : NULL, "minting",
                                   "INSERT INTO access_token (id, hash, name, owner_iss, "
                                   "owner_sub, owner, scope, expires_at, grant_id) VALUES ($1, $2, "
                                   "$3, $4, $5, $6::jsonb, $7, now() + make_interval(secs => $8::bigint), $9) "
                                   "RETURNING to_char(created_at AT TIME ZONE 'UTC', "
                                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_char(expires_at AT TIME "
                                   "ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                                   "extract(epoch FROM expires_at - now())::bigint",
                                   9, params, lengths, formats);
    int rc = CMN_ERR_DB;
    if (res && PQntuples(res) == 1) {
        *info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", id, "name", name, "scope",
                          scope, "created", PQgetvalue(res, 0, 0), "expires",
                          PQgetvalue(res, 0, 1), "expires_in",
                          (json_int_t)strtoll(PQgetvalue(res, 0, 2), NULL, 10));
        rc = *info ? 0 : CMN_ERR_NOMEM;
    }
    PQclear(res);
    free(snap_text);
    if (rc == 0)
        *token = tok;
    return rc;
}

int gw_tokens_mint(gw_tokens_t *t, const gw_identity_t *owner, const char *name,
                   const char *scope, int days, cmn_arena_t *arena, gw_tokens_confirm_fn confirm,
                   void *arg, const char **token, json_t **info)
{
    *info = NULL;
    if (gw_tokens_name_problem(name))
        return CMN_ERR_INVAL;
    PGconn *c = gw_store_acquire(t->store);
    int open = gw_store_begin(t->store, c);
    int rc = open ? gw_tokens_insert(t, c, owner, name, scope, (long long)days * 86400, NULL,
                                     arena, token, info)
                  : CMN_ERR_DB;
    /* Committed only once the event is durable: no token without its token.minted. */
    if (rc == 0 && confirm)
        rc = confirm(arg, *info);
    if (open)
        rc = gw_store_finish(t->store, c, rc, "minting");
    gw_store_release(t->store, c);
    if (rc) {
        json_decref(*info);
        *info = NULL;
        *token = NULL;
    }
    return rc;
}

json_t *gw_tokens_list_live(gw_tokens_t *t, size_t max)
{
    char lim[24];
    snprintf(lim, sizeof(lim), "%zu", max);
    const char *params[1] = {lim};
    PGconn *c = gw_store_acquire(t->store);
    PGresult *res = gw_store_query(
        t->store, c, "listing live tokens",
        "SELECT id, name, scope, " GW_STORE_ISO("created_at") ", " GW_STORE_ISO("expires_at") ", "
        GW_STORE_ISO("last_used_at") ", owner::text FROM access_token WHERE revoked_at IS NULL AND "
        "expires_at > now() ORDER BY created_at DESC, id LIMIT $1::int",
        1, params, NULL, NULL);
    gw_store_release(t->store, c);
    json_t *out = res ? json_array() : NULL;
    for (int i = 0; out && i < PQntuples(res); i++) {
        json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", PQgetvalue(res, i, 0),
                                "name", PQgetvalue(res, i, 1), "scope", PQgetvalue(res, i, 2),
                                "created", PQgetvalue(res, i, 3), "expires",
                                PQgetvalue(res, i, 4), "owner",
                                json_loads(PQgetvalue(res, i, 6), 0, NULL));
        if (row && !PQgetisnull(res, i, 5))
            json_object_set_new(row, "last_used", json_string(PQgetvalue(res, i, 5)));
        json_array_append_new(out, row);
    }
    PQclear(res);
    return out;
}

json_t *gw_tokens_list(gw_tokens_t *t, const gw_identity_t *owner)
{
    const char *params[2] = {owner->iss, owner->sub};
    PGconn *c = gw_store_acquire(t->store);
    PGresult *res = gw_store_query(t->store, c, "listing",
                                     "SELECT id, name, scope, to_char(created_at AT TIME ZONE "
                                     "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_char(expires_at "
                                     "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                                     "to_char(revoked_at AT TIME ZONE 'UTC', "
                                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), expires_at < now(), "
                                     "to_char(last_used_at AT TIME ZONE 'UTC', "
                                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM "
                                     "access_token WHERE owner_iss = $1 AND owner_sub = $2 ORDER BY "
                                     "created_at DESC, id LIMIT 1000",
                                     2, params, NULL, NULL);
    json_t *out = NULL;
    if (res) {
        out = json_array();
        for (int i = 0; out && i < PQntuples(res); i++) {
            json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "id", PQgetvalue(res, i, 0),
                                    "name", PQgetvalue(res, i, 1), "scope", PQgetvalue(res, i, 2),
                                    "created", PQgetvalue(res, i, 3), "expires",
                                    PQgetvalue(res, i, 4), "expired",
                                    strcmp(PQgetvalue(res, i, 6), "t") == 0);
            if (row && !PQgetisnull(res, i, 5))
                json_object_set_new(row, "revoked", json_string(PQgetvalue(res, i, 5)));
            if (row && !PQgetisnull(res, i, 7))
                json_object_set_new(row, "last_used", json_string(PQgetvalue(res, i, 7)));
            json_array_append_new(out, row);
        }
    }
    PQclear(res);
    gw_store_release(t->store, c);
    return out;
}

int gw_tokens_revoke(gw_tokens_t *t, const gw_identity_t *owner, const char *id,
                     gw_tokens_confirm_fn confirm, void *arg)
{
    const char *params[3] = {id, owner ? owner->iss : NULL, owner ? owner->sub : NULL};
    PGconn *c = gw_store_acquire(t->store);
    int open = c && gw_store_begin(t->store, c);
    /* The revoked token's name and scope come back for its token.revoked event: the report of
     * tokens minted and revoked names each the same way; and its owner, for an admin's. */
    PGresult *res = gw_store_query(t->store, open ? c : NULL, "revoking",
                            "UPDATE access_token SET revoked_at = now() WHERE id = $1 AND "
                            "($2::text IS NULL OR (owner_iss = $2 AND owner_sub = $3)) AND "
                            "revoked_at IS NULL RETURNING name, scope, owner::text, grant_id",
                            3, params, NULL, NULL);
    int rc = CMN_ERR_DB;
    json_t *info = NULL;
    if (res) {
        rc = PQntuples(res) == 1 ? 0 : CMN_ERR_NOTFOUND;
        if (rc == 0)
            info = json_pack("{s:s, s:s, s:s, s:o}", "id", id, "name", PQgetvalue(res, 0, 0),
                             "scope", PQgetvalue(res, 0, 1), "owner",
                             json_loads(PQgetvalue(res, 0, 2), 0, NULL));
        /* A device's token: its sign-in ends with it, or the device would refresh back. */
        if (rc == 0 && !PQgetisnull(res, 0, 3)) {
            const char *grant[1] = {PQgetvalue(res, 0, 3)};
            if (gw_store_exec(t->store, c, "revoking a device sign-in",
                              "UPDATE refresh_token SET revoked_at = now() WHERE grant_id = $1 "
                              "AND revoked_at IS NULL",
                              1, grant) != 0)
                rc = CMN_ERR_DB;
        }
    }
    PQclear(res);
    if (rc == 0 && confirm)
        rc = info ? confirm(arg, info) : CMN_ERR_NOMEM;
    json_decref(info);
    if (open)
        rc = gw_store_finish(t->store, c, rc, "revoking");
    gw_store_release(t->store, c);
    if (rc == 0) {
        /* Effective at once here: no cached acceptance of this token survives. */
        pthread_mutex_lock(&t->mu);
        for (size_t i = 0; i < CACHE_SLOTS; i++) {
            const char *rid = json_string_value(json_object_get(t->cache[i].row, "id"));
            if (t->cache[i].used && rid && strcmp(rid, id) == 0) {
                json_decref(t->cache[i].row);
                t->cache[i].row = NULL;
                t->cache[i].used = 0;
            }
        }
        pthread_mutex_unlock(&t->mu);
    }
    return rc;
}

/* Fetches the row for a token hash: NULL row for "no such token". Returns 0 or CMN_ERR_DB. */
static int fetch_row(gw_tokens_t *t, const unsigned char hash[32], json_t **row)
{
    const char *params[1] = {(const char *)hash};
    int lengths[1] = {32}, formats[1] = {1};
    PGconn *c = gw_store_acquire(t->store);
    /* With SCIM, the owner's groups are the directory's now (docs/sign-in.md): the person's
     * directory user, tied by externalId = sub, else by userName = the verified email. */
    static const char plain[] =
        "SELECT id, name, scope, owner::text, extract(epoch FROM expires_at)::bigint, revoked_at "
        "IS NOT NULL, last_used_at IS NULL OR last_used_at < now() - interval '1 minute', NULL "
        "FROM access_token WHERE hash = $1";
    static const char directory[] =
        "SELECT t.id, t.name, t.scope, t.owner::text, extract(epoch FROM t.expires_at)::bigint, "
        "t.revoked_at IS NOT NULL, t.last_used_at IS NULL OR t.last_used_at < now() - interval "
        "'1 minute', (SELECT coalesce(json_agg(DISTINCT g.display_name), '[]')::text FROM "
        "directory_user u JOIN directory_member m ON m.user_id = u.id JOIN directory_group g ON "
        "g.id = m.group_id AND g.deleted_at IS NULL WHERE u.deleted_at IS NULL AND u.active AND "
        "(u.external_id = t.owner_sub OR (u.external_id IS NULL AND lower(u.user_name) = "
        "lower(t.owner->>'email') AND t.owner->>'email_verified' = 'true'))) "
        "FROM access_token t WHERE t.hash = $1";
    PGresult *res = gw_store_query(t->store, c, "lookup", t->directory ? directory : plain, 1,
                                   params, lengths, formats);
    int rc = CMN_ERR_DB;
    *row = NULL;
    if (res) {
        rc = 0;
        if (PQntuples(res) == 1) {
            json_t *owner = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
            *row = json_pack("{s:s, s:s, s:s, s:o, s:I, s:b}", "id", PQgetvalue(res, 0, 0),
                             "name", PQgetvalue(res, 0, 1), "scope", PQgetvalue(res, 0, 2),
                             "owner", owner ? owner : json_object(), "expires",
                             (json_int_t)strtoll(PQgetvalue(res, 0, 4), NULL, 10), "revoked",
                             strcmp(PQgetvalue(res, 0, 5), "t") == 0);
            if (!*row)
                rc = CMN_ERR_NOMEM;
            json_t *groups = PQgetisnull(res, 0, 7) ? NULL
                                                    : json_loads(PQgetvalue(res, 0, 7), 0, NULL);
            if (rc == 0 && t->directory && !json_is_array(groups))
                rc = CMN_ERR_DB; /* the directory's answer hubgate cannot read: not the old groups */
            if (rc == 0 && groups)
                json_object_set(json_object_get(*row, "owner"), "groups", groups);
            json_decref(groups);
            /* When it was last used, for its owner's page and access reviews: at most once a
             * minute per token, and never a reason to refuse it. */
            if (rc == 0 && strcmp(PQgetvalue(res, 0, 6), "t") == 0) {
                const char *id[1] = {PQgetvalue(res, 0, 0)};
                (void)gw_store_exec(t->store, c, "recording use",
                                    "UPDATE access_token SET last_used_at = now() WHERE id = $1",
                                    1, id);
            }
        }
    }
    PQclear(res);
    gw_store_release(t->store, c);
    return rc;
}

int gw_tokens_lookup(gw_tokens_t *t, const char *token, size_t len, cmn_arena_t *arena,
                     gw_identity_t *id, gw_auth_reason_t *code, const char **reason)
{
    unsigned char hash[32];
    cmn_sha256(token, len, hash);
    size_t s = ((size_t)hash[0] << 8 | hash[1]) % CACHE_SLOTS;
    json_t *row = NULL;
    int64_t now = cmn_mono_ms();
    pthread_mutex_lock(&t->mu);
    slot_t *slot = &t->cache[s];
    int hit = slot->used && memcmp(slot->hash, hash, 32) == 0 &&
              now - slot->fetched_ms < GW_TOKEN_CACHE_MS;
    if (hit)
        row = json_incref(slot->row);
    pthread_mutex_unlock(&t->mu);
    if (!hit) {
        int rc = fetch_row(t, hash, &row);
        if (rc) {
            *code = GW_AUTH_REASON_STORE_UNAVAILABLE;
            *reason = "the token store is unavailable";
            return rc;
        }
        pthread_mutex_lock(&t->mu);
        json_decref(slot->row);
        memcpy(slot->hash, hash, 32);
        slot->row = json_incref(row);
        slot->used = 1;
        slot->fetched_ms = now;
        pthread_mutex_unlock(&t->mu);
    }
    int rc = CMN_ERR_DENIED;
    if (!row) {
        *code = GW_AUTH_REASON_UNKNOWN_TOKEN;
        *reason = "unknown hubgate token";
    } else if (json_is_true(json_object_get(row, "revoked"))) {
        *code = GW_AUTH_REASON_REVOKED;
        *reason = "revoked hubgate token";
    } else if (json_integer_value(json_object_get(row, "expires")) <= (json_int_t)time(NULL)) {
        *code = GW_AUTH_REASON_TOKEN_EXPIRED;
        *reason = "expired hubgate token";
    } else {
        json_t *owner = json_object_get(row, "owner");
        /* The snapshot says whether the email was verified when the token was minted; one
         * taken before hubgate recorded that says nothing, and counts as unverified. */
        rc = gw_identity_from_claims(owner, json_string_value(json_object_get(owner, "iss")),
                                     "groups", 0, arena, id);
        if (rc == CMN_ERR_TOOBIG || rc == CMN_ERR_PARSE) {
            /* Never truncated: a snapshot hubgate cannot take whole refuses the token. */
            *code = rc == CMN_ERR_TOOBIG ? GW_AUTH_REASON_TOO_MANY_GROUPS
                                         : GW_AUTH_REASON_MALFORMED;
            *reason = "the token's owner carries groups hubgate cannot evaluate";
            rc = CMN_ERR_DENIED;
        } else if (rc) {
            *code = GW_AUTH_REASON_INTERNAL;
            *reason = "out of memory";
        }
        if (rc == 0) {
            id->kind = GW_ID_TOKEN;
            id->mfa = json_is_true(json_object_get(owner, "mfa"));
            id->expires = json_integer_value(json_object_get(row, "expires"));
            id->token_id = cmn_arena_strndup(&*arena, json_string_value(json_object_get(row, "id")),
                                             strlen(json_string_value(json_object_get(row, "id"))));
            const char *nm = json_string_value(json_object_get(row, "name"));
            id->token_name = nm ? cmn_arena_strndup(arena, nm, strlen(nm)) : NULL;
            id->read_only = strcmp(json_string_value(json_object_get(row, "scope")), "read") == 0;
            if (!id->token_id || !id->iss || !id->sub) {
                *code = GW_AUTH_REASON_MALFORMED;
                *reason = "malformed token owner";
                rc = CMN_ERR_DENIED;
            }
        }
    }
    json_decref(row);
    return rc;
}
