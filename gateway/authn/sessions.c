#include "gateway/authn/sessions.h"

#include "common/b64.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sha256.h"
#include "gateway/authn/store.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct gw_sessions {
    gw_store_t *store;
};

gw_sessions_t *gw_sessions_create(const char *database_url)
{
    gw_sessions_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->store = gw_store_create(database_url, "hubgate sessions"))) {
        free(s);
        return NULL;
    }
    return s;
}

void gw_sessions_destroy(gw_sessions_t *s)
{
    if (!s)
        return;
    gw_store_destroy(s->store);
    free(s);
}

/* A cookie value's hash: the secret part after the prefix; -1 when it is not one of ours. */
static int cookie_hash(const char *cookie, size_t len, unsigned char hash[32])
{
    size_t plen = sizeof(GW_SESSION_PREFIX) - 1;
    if (len != plen + 43 || memcmp(cookie, GW_SESSION_PREFIX, plen) != 0)
        return -1;
    cmn_sha256(cookie, len, hash);
    return 0;
}

void gw_sessions_form_token(const char *cookie, size_t len,
                            char out[GW_SESSION_FORM_TOKEN_CHARS + 1])
{
    /* Another hash of the same secret, under its own label: knowing the form token tells
     * nothing of the cookie, and it needs no storage. */
    static const char label[] = "hubgate form token v1\n";
    unsigned char buf[sizeof(label) - 1 + 128], digest[32];
    size_t n = len < 128 ? len : 128;
    memcpy(buf, label, sizeof(label) - 1);
    memcpy(buf + sizeof(label) - 1, cookie, n);
    cmn_sha256(buf, sizeof(label) - 1 + n, digest);
    cmn_b64url_encode(digest, sizeof(digest), out);
    OPENSSL_cleanse(buf, sizeof(buf));
}

int gw_sessions_start(gw_sessions_t *s, const gw_identity_t *who, const char *client_ip,
                      const char *user_agent, int hours, cmn_arena_t *arena,
                      gw_tokens_confirm_fn confirm, void *arg, const char **cookie,
                      const char **id)
{
    unsigned char hash[32];
    char *value = cmn_b64url_random(arena, GW_SESSION_PREFIX, 32);
    char *sid = cmn_b64url_random(arena, "ses_", 9);
    if (!value || !sid)
        return CMN_ERR_CRYPTO;
    cmn_sha256(value, strlen(value), hash);
    json_t *snap = gw_identity_snapshot(who);
    char *snap_text = snap ? json_dumps(snap, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(snap);
    char ua[513], hrs[16];
    snprintf(ua, sizeof(ua), "%s", user_agent ? user_agent : "");
    for (char *p = ua; *p; p++) /* kept for the person to recognise, not to be parsed */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = ' ';
    snprintf(hrs, sizeof(hrs), "%d", hours);
    const char *params[8] = {sid, (const char *)hash, who->iss, who->sub, snap_text,
                             client_ip, ua, hrs};
    int lengths[8] = {0, 32, 0, 0, 0, 0, 0, 0};
    int formats[8] = {0, 1, 0, 0, 0, 0, 0, 0};
    int rc = CMN_ERR_DB;
    PGconn *c = snap_text ? gw_store_acquire(s->store) : NULL;
    int open = gw_store_begin(s->store, c);
    PGresult *res = gw_store_query(
        s->store, open ? c : NULL, "starting a session",
        "INSERT INTO login_session (id, hash, owner_iss, owner_sub, owner, client_ip, user_agent, "
        "expires_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, now() + make_interval(hours => "
        "$8::int)) RETURNING " GW_STORE_ISO("expires_at"),
        8, params, lengths, formats);
    if (res && PQntuples(res) == 1) {
        json_t *info = json_pack("{s:s, s:s}", "id", sid, "expires", PQgetvalue(res, 0, 0));
        rc = !info ? CMN_ERR_NOMEM : confirm ? confirm(arg, info) : 0;
        json_decref(info);
    }
    PQclear(res);
    if (open)
        rc = gw_store_finish(s->store, c, rc, "starting a session");
    gw_store_release(s->store, c);
    free(snap_text);
    if (rc == 0) {
        *cookie = value;
        *id = sid;
    }
    return rc;
}

int gw_sessions_lookup(gw_sessions_t *s, const char *cookie, size_t len, int idle_minutes,
                       cmn_arena_t *arena, gw_identity_t *who, const char **id, const char **why)
{
    unsigned char hash[32];
    *why = "no session: sign in again";
    if (cookie_hash(cookie, len, hash) != 0)
        return CMN_ERR_DENIED;
    char idle[16];
    snprintf(idle, sizeof(idle), "%d", idle_minutes);
    const char *params[2] = {(const char *)hash, idle};
    int lengths[2] = {32, 0}, formats[2] = {1, 0};
    PGconn *c = gw_store_acquire(s->store);
    /* One statement: the live session's row, its page view recorded when the last is over a
     * minute old (and within the idle limit, else it is over). */
    PGresult *res = gw_store_query(
        s->store, c, "looking up a session",
        "WITH live AS (SELECT id FROM login_session WHERE hash = $1 AND ended_at IS NULL AND "
        "expires_at > now() AND last_seen_at > now() - make_interval(mins => $2::int)), "
        "seen AS (UPDATE login_session SET last_seen_at = now() WHERE id IN (SELECT id FROM live) "
        "AND last_seen_at < now() - interval '1 minute') "
        "SELECT l.id, l.owner::text FROM login_session l JOIN live USING (id)",
        2, params, lengths, formats);
    gw_store_release(s->store, c);
    if (!res) {
        *why = "the session store is unavailable";
        return CMN_ERR_DB;
    }
    int rc = CMN_ERR_DENIED;
    if (PQntuples(res) == 1) {
        json_t *owner = json_loads(PQgetvalue(res, 0, 1), JSON_REJECT_DUPLICATES, NULL);
        const char *iss = json_string_value(json_object_get(owner, "iss"));
        rc = owner && iss ? gw_identity_from_claims(owner, iss, "groups", 0, arena, who)
                          : CMN_ERR_PARSE;
        if (rc == 0) {
            who->kind = GW_ID_SSO;
            who->mfa = json_is_true(json_object_get(owner, "mfa"));
            *id = cmn_arena_strndup(arena, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
            rc = *id ? 0 : CMN_ERR_NOMEM;
        } else if (rc != CMN_ERR_NOMEM) {
            *why = "the session's owner cannot be read: sign in again";
            rc = CMN_ERR_DENIED;
        }
        json_decref(owner);
    }
    PQclear(res);
    return rc;
}

int gw_sessions_end(gw_sessions_t *s, const char *id, const char *iss, const char *sub,
                    const char *reason, gw_tokens_confirm_fn confirm, void *arg)
{
    const char *params[4] = {id, reason, iss, sub};
    PGconn *c = gw_store_acquire(s->store);
    int open = gw_store_begin(s->store, c);
    PGresult *res = gw_store_query(
        s->store, open ? c : NULL, "ending a session",
        "UPDATE login_session SET ended_at = now(), ended_reason = $2 WHERE id = $1 AND ended_at "
        "IS NULL AND ($3::text IS NULL OR (owner_iss = $3 AND owner_sub = $4)) RETURNING "
        "owner_iss, owner_sub, owner::text",
        4, params, NULL, NULL);
    int rc = CMN_ERR_DB;
    if (res) {
        rc = PQntuples(res) == 1 ? 0 : CMN_ERR_NOTFOUND;
        json_t *info = rc ? NULL
                          : json_pack("{s:s, s:s, s:s, s:o}", "id", id, "owner_iss",
                                      PQgetvalue(res, 0, 0), "owner_sub", PQgetvalue(res, 0, 1),
                                      "owner", json_loads(PQgetvalue(res, 0, 2), 0, NULL));
        if (rc == 0)
            rc = !info ? CMN_ERR_NOMEM : confirm ? confirm(arg, info) : 0;
        json_decref(info);
    }
    PQclear(res);
    if (open)
        rc = gw_store_finish(s->store, c, rc, "ending a session");
    gw_store_release(s->store, c);
    return rc;
}

json_t *gw_sessions_list(gw_sessions_t *s, const char *iss, const char *sub)
{
    return gw_sessions_list_live(s, iss, sub, 100);
}

json_t *gw_sessions_list_live(gw_sessions_t *s, const char *iss, const char *sub, size_t max)
{
    char lim[24];
    snprintf(lim, sizeof(lim), "%zu", max);
    const char *params[3] = {iss, sub, lim};
    PGconn *c = gw_store_acquire(s->store);
    PGresult *res = gw_store_query(
        s->store, c, "listing sessions",
        "SELECT id, " GW_STORE_ISO("created_at") ", " GW_STORE_ISO("last_seen_at") ", " GW_STORE_ISO("expires_at") ", "
        "client_ip, user_agent, owner::text FROM login_session WHERE ($1::text IS NULL OR "
        "(owner_iss = $1 AND owner_sub = $2)) AND ended_at IS NULL AND expires_at > now() ORDER "
        "BY created_at DESC, id LIMIT $3::int",
        3, params, NULL, NULL);
    gw_store_release(s->store, c);
    json_t *out = res ? json_array() : NULL;
    for (int i = 0; out && i < PQntuples(res); i++)
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id",
                                             PQgetvalue(res, i, 0), "created",
                                             PQgetvalue(res, i, 1), "last_seen",
                                             PQgetvalue(res, i, 2), "expires",
                                             PQgetvalue(res, i, 3), "client_ip",
                                             PQgetvalue(res, i, 4), "user_agent",
                                             PQgetvalue(res, i, 5), "owner",
                                             json_loads(PQgetvalue(res, i, 6), 0, NULL)));
    PQclear(res);
    return out;
}
