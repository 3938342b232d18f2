#include "gateway/authn/devices.h"

#include "common/b64.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sha256.h"
#include "gateway/authn/store.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USER_CODE_TRIES 4
#define STR_(x)         #x
#define STR(x)          STR_(x)

struct gw_devices {
    gw_tokens_t *tokens;
    gw_store_t *store;
    int max_days;
};

gw_devices_t *gw_devices_create(gw_tokens_t *tokens, int max_days)
{
    gw_devices_t *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->tokens = tokens;
    d->store = gw_tokens_store(tokens);
    d->max_days = max_days;
    return d;
}

void gw_devices_destroy(gw_devices_t *d)
{
    free(d);
}

int gw_devices_user_code(const char *typed, char out[9])
{
    size_t n = 0;
    for (const char *p = typed; p && *p; p++) {
        if (*p == '-' || *p == ' ')
            continue;
        char c = (char)toupper((unsigned char)*p);
        if (n == 8 || !strchr(GW_USER_CODE_ALPHABET, c) || c == '\0')
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return n == 8 ? 0 : -1;
}

/* 8 letters of the alphabet, each uniform (rejection sampling: 20 does not divide 256). */
static int new_user_code(char out[9])
{
    size_t n = 0;
    while (n < 8) {
        unsigned char b[16];
        if (RAND_bytes(b, sizeof(b)) != 1)
            return -1;
        for (size_t i = 0; i < sizeof(b) && n < 8; i++) {
            if (b[i] < 240)
                out[n++] = GW_USER_CODE_ALPHABET[b[i] % 20];
        }
    }
    out[8] = '\0';
    return 0;
}

static const char *cut(cmn_arena_t *a, const char *s, size_t max)
{
    size_t n = strlen(s ? s : "");
    char *out = cmn_arena_strndup(a, s ? s : "", n < max ? n : max);
    for (char *p = out; p && *p; p++) /* shown to the person who confirms: printable only */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = ' ';
    return out;
}

int gw_devices_start(gw_devices_t *d, const char *client_id, const char *client_ip,
                     const char *user_agent, cmn_arena_t *arena, const char **device_code,
                     const char **user_code, const char **id)
{
    char *code = cmn_b64url_random(arena, "", 32), *gid = cmn_b64url_random(arena, "dev_", 9);
    const char *ua = cut(arena, user_agent, 512);
    if (!code || !gid || !ua)
        return CMN_ERR_NOMEM;
    unsigned char hash[32];
    cmn_sha256(code, strlen(code), hash);
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", GW_DEVICE_TTL_SECONDS);
    PGconn *c = gw_store_acquire(d->store);
    int rc = CMN_ERR_DB;
    /* A user code is unique among pending grants: another draw when one is taken. */
    for (int tries = 0; c && rc == CMN_ERR_DB && tries < USER_CODE_TRIES; tries++) {
        char uc[9];
        if (new_user_code(uc) != 0)
            return CMN_ERR_CRYPTO;
        const char *params[7] = {gid, (const char *)hash, uc, client_id, client_ip, ua, ttl};
        int lengths[7] = {0, 32, 0, 0, 0, 0, 0}, formats[7] = {0, 1, 0, 0, 0, 0, 0};
        PGresult *res = PQexecParams(
            c,
            "INSERT INTO device_grant (id, device_hash, user_code, client_id, client_ip, "
            "user_agent, expires_at) VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs "
            "=> $7::int)) ON CONFLICT DO NOTHING RETURNING id",
            7, NULL, params, lengths, formats, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            rc = 0;
            *user_code = cmn_arena_strndup(arena, uc, 8);
        } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            cmn_log_warn("devices", "starting a device grant failed: %s", PQresultErrorMessage(res));
            tries = USER_CODE_TRIES;
        }
        PQclear(res);
    }
    gw_store_release(d->store, c);
    if (rc == 0) {
        *device_code = code;
        *id = gid;
    }
    return rc;
}

static void info_from(PGresult *res, cmn_arena_t *a, gw_device_info_t *out)
{
    const char **f[5] = {&out->id, &out->client_id, &out->client_ip, &out->user_agent,
                         &out->created};
    for (int i = 0; i < 5; i++)
        *f[i] = cmn_arena_strndup(a, PQgetvalue(res, 0, i), strlen(PQgetvalue(res, 0, i)));
    out->expires_in = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
}

#define INFO_COLUMNS                                                                               \
    "id, client_id, client_ip, user_agent, " GW_STORE_ISO("created_at") ", "                               \
    "extract(epoch FROM expires_at - now())::bigint"

int gw_devices_find(gw_devices_t *d, const char *user_code, cmn_arena_t *arena,
                    gw_device_info_t *out)
{
    const char *params[1] = {user_code};
    PGconn *c = gw_store_acquire(d->store);
    PGresult *res = gw_store_query(d->store, c, "finding a device grant",
                                   "SELECT " INFO_COLUMNS " FROM device_grant WHERE user_code = "
                                   "$1 AND status = 'pending' AND expires_at > now()",
                                   1, params, NULL, NULL);
    gw_store_release(d->store, c);
    int rc = !res ? CMN_ERR_DB : PQntuples(res) == 1 ? 0 : CMN_ERR_NOTFOUND;
    if (rc == 0)
        info_from(res, arena, out);
    PQclear(res);
    return rc;
}

int gw_devices_decide(gw_devices_t *d, const char *user_code, const gw_identity_t *who,
                      int approve, const char *scope, gw_tokens_confirm_fn confirm, void *arg,
                      cmn_arena_t *arena, gw_device_info_t *out)
{
    json_t *snap = gw_identity_snapshot(who);
    char *snap_text = snap ? json_dumps(snap, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(snap);
    if (!snap_text)
        return CMN_ERR_NOMEM;
    const char *params[6] = {user_code, approve ? "approved" : "denied", who->iss, who->sub,
                             snap_text, approve ? scope : NULL};
    PGconn *c = gw_store_acquire(d->store);
    int open = gw_store_begin(d->store, c);
    PGresult *res = gw_store_query(
        d->store, open ? c : NULL, "deciding a device grant",
        "UPDATE device_grant SET status = $2, decided_at = now(), owner_iss = $3, owner_sub = $4, "
        "owner = $5::jsonb, scope = $6 WHERE user_code = $1 AND status = 'pending' AND "
        "expires_at > now() RETURNING " INFO_COLUMNS,
        6, params, NULL, NULL);
    int rc = !res ? CMN_ERR_DB : PQntuples(res) == 1 ? 0 : CMN_ERR_NOTFOUND;
    if (rc == 0) {
        info_from(res, arena, out);
        json_t *info = json_pack("{s:s, s:s, s:s, s:s}", "id", out->id, "client_ip",
                                 out->client_ip, "user_agent", out->user_agent, "client_id",
                                 out->client_id);
        rc = !info ? CMN_ERR_NOMEM : confirm ? confirm(arg, info) : 0;
        json_decref(info);
    }
    PQclear(res);
    if (open)
        rc = gw_store_finish(d->store, c, rc, "deciding a device grant");
    gw_store_release(d->store, c);
    free(snap_text);
    return rc;
}

/* Within the caller's transaction: an access token for `seconds` and a refresh token that ends
 * max_days after signed_in (the approval that started it all), both tied to grant_id, then
 * confirm. */
static gw_grant_result_t issue(gw_devices_t *d, PGconn *c, const char *grant_id,
                               const char *owner_text, const char *scope, long long seconds,
                               const char *signed_in, gw_tokens_confirm_fn confirm, void *arg,
                               cmn_arena_t *arena, gw_grant_tokens_t *out)
{
    json_t *owner = json_loads(owner_text, JSON_REJECT_DUPLICATES, NULL);
    const char *iss = json_string_value(json_object_get(owner, "iss"));
    memset(&out->owner, 0, sizeof(out->owner));
    int rc = owner && iss ? gw_identity_from_claims(owner, iss, "groups", 0, arena, &out->owner)
                          : CMN_ERR_PARSE;
    if (rc == 0)
        out->owner.mfa = json_is_true(json_object_get(owner, "mfa"));
    json_decref(owner);
    if (rc)
        return GW_GRANT_INVALID; /* an owner hubgate cannot read back grants nothing */
    out->owner.kind = GW_ID_SSO;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char name[64];
    strftime(name, sizeof(name), "hf auth login %Y-%m-%d %H:%M UTC", &tm);
    rc = gw_tokens_insert(d->tokens, c, &out->owner, name, scope, seconds, grant_id, arena,
                          &out->access_token, &out->info);
    char *refresh = rc ? NULL : cmn_b64url_random(arena, GW_REFRESH_PREFIX, 32);
    char *rid = refresh ? cmn_b64url_random(arena, "ref_", 9) : NULL;
    if (rc == 0 && !rid)
        rc = CMN_ERR_NOMEM;
    unsigned char hash[32];
    if (rc == 0) {
        cmn_sha256(refresh, strlen(refresh), hash);
        char days[16];
        snprintf(days, sizeof(days), "%d", d->max_days);
        const char *params[9] = {rid,        (const char *)hash, grant_id, out->owner.iss,
                                 out->owner.sub, owner_text,  scope,    signed_in, days};
        int lengths[9] = {0, 32, 0, 0, 0, 0, 0, 0, 0}, formats[9] = {0, 1, 0, 0, 0, 0, 0, 0, 0};
        PGresult *res = gw_store_query(
            d->store, c, "issuing a refresh token",
            "INSERT INTO refresh_token (id, hash, grant_id, owner_iss, owner_sub, owner, scope, "
            "signed_in_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, "
            "$8::timestamptz, $8::timestamptz + make_interval(days => $9::int)) RETURNING id",
            9, params, lengths, formats);
        rc = res && PQntuples(res) == 1 ? 0 : CMN_ERR_DB;
        PQclear(res);
    }
    if (rc == 0 && confirm)
        rc = confirm(arg, out->info);
    if (rc) {
        json_decref(out->info);
        out->info = NULL;
        return GW_GRANT_FAILED;
    }
    out->refresh_token = refresh;
    out->grant_id = cmn_arena_strndup(arena, grant_id, strlen(grant_id));
    return GW_GRANT_ISSUED;
}

/* Ends the transaction with the result: COMMIT for what must stay (a poll's time, an issue, a
 * revocation), ROLLBACK for a failure. */
static gw_grant_result_t end(gw_devices_t *d, PGconn *c, gw_grant_result_t r, const char *what)
{
    int rc = gw_store_finish(d->store, c, r == GW_GRANT_FAILED ? CMN_ERR_DB : 0, what);
    gw_store_release(d->store, c);
    return rc && r != GW_GRANT_FAILED ? GW_GRANT_FAILED : r;
}

gw_grant_result_t gw_devices_poll(gw_devices_t *d, const char *device_code, const char *client_id,
                                  gw_tokens_confirm_fn confirm, void *arg, cmn_arena_t *arena,
                                  gw_grant_tokens_t *out)
{
    memset(out, 0, sizeof(*out));
    unsigned char hash[32];
    cmn_sha256(device_code, strlen(device_code), hash);
    char days[16], interval[16];
    snprintf(days, sizeof(days), "%d", d->max_days);
    /* a poll a second early still counts as on time: clocks and networks jitter */
    snprintf(interval, sizeof(interval), "%d", GW_DEVICE_INTERVAL_SECONDS - 1);
    const char *params[3] = {(const char *)hash, days, interval};
    int lengths[3] = {32, 0, 0}, formats[3] = {1, 0, 0};
    PGconn *c = gw_store_acquire(d->store);
    if (!gw_store_begin(d->store, c)) {
        gw_store_release(d->store, c);
        return GW_GRANT_FAILED;
    }
    PGresult *res = gw_store_query(
        d->store, c, "polling a device grant",
        "SELECT id, client_id, status, expires_at <= now(), coalesce(last_poll_at > now() - "
        "make_interval(secs => $3::int), false), owner::text, scope, "
        "extract(epoch FROM least(make_interval(secs => " STR(GW_DEVICE_ACCESS_SECONDS) "), "
        "decided_at + make_interval(days => $2::int) - now()))::bigint, decided_at::text "
        "FROM device_grant WHERE device_hash = $1 FOR UPDATE",
        3, params, lengths, formats);
    gw_grant_result_t r = GW_GRANT_FAILED;
    if (res && PQntuples(res) == 0) {
        r = GW_GRANT_INVALID;
    } else if (res) {
        const char *id = PQgetvalue(res, 0, 0), *status = PQgetvalue(res, 0, 2);
        int expired = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        int early = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
        if (strcmp(PQgetvalue(res, 0, 1), client_id) != 0 || strcmp(status, "issued") == 0)
            r = GW_GRANT_INVALID;
        else if (expired)
            r = GW_GRANT_EXPIRED;
        else if (strcmp(status, "denied") == 0)
            r = GW_GRANT_DENIED;
        else if (strcmp(status, "pending") == 0)
            r = early ? GW_GRANT_SLOW_DOWN : GW_GRANT_PENDING;
        else { /* approved: issued now, once */
            const char *p[1] = {id};
            r = gw_store_exec(d->store, c, "issuing a device grant",
                              "UPDATE device_grant SET status = 'issued' WHERE id = $1", 1, p) == 0
                    ? issue(d, c, id, PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6),
                            strtoll(PQgetvalue(res, 0, 7), NULL, 10), PQgetvalue(res, 0, 8),
                            confirm, arg, arena, out)
                    : GW_GRANT_FAILED;
        }
        if (r == GW_GRANT_PENDING || r == GW_GRANT_SLOW_DOWN) {
            const char *p[1] = {id};
            if (gw_store_exec(d->store, c, "recording a poll",
                              "UPDATE device_grant SET last_poll_at = now() WHERE id = $1", 1,
                              p) != 0)
                r = GW_GRANT_FAILED;
        }
    }
    PQclear(res);
    return end(d, c, r, "polling a device grant");
}

gw_grant_result_t gw_devices_refresh(gw_devices_t *d, const char *refresh_token,
                                     gw_tokens_confirm_fn confirm, void *arg, cmn_arena_t *arena,
                                     gw_grant_tokens_t *out)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(refresh_token, GW_REFRESH_PREFIX, strlen(GW_REFRESH_PREFIX)) != 0)
        return GW_GRANT_INVALID;
    unsigned char hash[32];
    cmn_sha256(refresh_token, strlen(refresh_token), hash);
    char days[16];
    snprintf(days, sizeof(days), "%d", d->max_days);
    const char *params[2] = {(const char *)hash, days};
    int lengths[2] = {32, 0}, formats[2] = {1, 0};
    PGconn *c = gw_store_acquire(d->store);
    if (!gw_store_begin(d->store, c)) {
        gw_store_release(d->store, c);
        return GW_GRANT_FAILED;
    }
    PGresult *res = gw_store_query(
        d->store, c, "refreshing",
        "SELECT id, grant_id, owner::text, scope, used_at IS NOT NULL, coalesce(used_at > now() - "
        "interval '1 minute', false), revoked_at IS NOT NULL OR expires_at <= now(), "
        "extract(epoch FROM least(make_interval(secs => " STR(GW_DEVICE_ACCESS_SECONDS) "), "
        "signed_in_at + make_interval(days => $2::int) - now()))::bigint, signed_in_at::text "
        "FROM refresh_token WHERE hash = $1 FOR UPDATE",
        2, params, lengths, formats);
    gw_grant_result_t r = GW_GRANT_FAILED;
    if (res && PQntuples(res) == 0) {
        r = GW_GRANT_INVALID;
    } else if (res) {
        const char *id = PQgetvalue(res, 0, 0), *grant = PQgetvalue(res, 0, 1);
        int used = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
        int just_used = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
        int dead = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
        long long seconds = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
        if (used && !just_used && !dead) {
            /* Replayed long after its rotation: someone else holds a copy. Every token of
             * the sign-in ends, recorded first (the caller's confirm sees revoked_grant). */
            const char *p[1] = {grant};
            json_t *info = json_pack("{s:s, s:s}", "revoked_grant", grant, "refresh_id", id);
            int rc = gw_store_exec(d->store, c, "revoking a replayed sign-in",
                                   "UPDATE refresh_token SET revoked_at = now() WHERE grant_id = "
                                   "$1 AND revoked_at IS NULL",
                                   1, p) ||
                     gw_store_exec(d->store, c, "revoking a replayed sign-in",
                                   "UPDATE access_token SET revoked_at = now() WHERE grant_id = "
                                   "$1 AND revoked_at IS NULL",
                                   1, p);
            rc = rc ? CMN_ERR_DB : !info ? CMN_ERR_NOMEM : confirm ? confirm(arg, info) : 0;
            json_decref(info);
            if (rc == 0)
                cmn_log_warn("devices", "refresh token %s of %s replayed after its use: every "
                                        "token of that sign-in revoked",
                             id, grant);
            r = rc ? GW_GRANT_FAILED : GW_GRANT_INVALID;
        } else if (used || dead || seconds < 60) {
            r = GW_GRANT_INVALID; /* used a moment ago, revoked, expired, or past max_days */
        } else {
            const char *p[1] = {id};
            r = gw_store_exec(d->store, c, "refreshing",
                              "UPDATE refresh_token SET used_at = now() WHERE id = $1", 1, p) == 0
                    ? issue(d, c, grant, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), seconds,
                            PQgetvalue(res, 0, 8), confirm, arg, arena, out)
                    : GW_GRANT_FAILED;
        }
    }
    PQclear(res);
    return end(d, c, r, "refreshing");
}
