#include "gateway/admin/login.h"

#include "common/b64.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sha256.h"

#include "gateway/route/decode.h"

#include "gateway/auditlog/request.h"

#include "gateway/authn/auth.h"
#include "gateway/authn/deprovisioned.h"
#include "gateway/authn/jwks.h"
#include "gateway/authn/sessions.h"

#include "gateway/forward/egress.h"

#include "gateway/admin/page.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LOGIN_TTL_SECONDS  600     /* a sign-in must come back from the IdP within this */
#define REDEEM_TIMEOUT_MS  5000    /* the token endpoint's answer */
#define REDEEM_MAX_BYTES   (64 * 1024)
#define CALLBACK_PATH      "/-/login/callback"
#define DEFAULT_RETURN     "/-/tokens"

/* ---- cookies --------------------------------------------------------------------------------- */

static int secure(const gw_request_t *req)
{
    return strncmp(req->srv->cfg->public_url, "https://", 8) == 0;
}

/* With https, the __Host- prefix: the browser keeps such a cookie only when it is Secure, has
 * Path=/ and no Domain, so no sibling host can set or shadow it. Plain http (loopback tests)
 * cannot carry it. */
static const char *cookie_name(const gw_request_t *req, int login)
{
    return secure(req) ? (login ? "__Host-hubgate-login" : "__Host-hubgate-session")
                       : (login ? "hubgate-login" : "hubgate-session");
}

static const char *set_cookie(gw_request_t *req, int login, const char *value, int max_age)
{
    return cmn_arena_printf(&req->arena, "%s=%s; Path=/;%s HttpOnly; SameSite=Lax; Max-Age=%d",
                            cookie_name(req, login), value, secure(req) ? " Secure;" : "",
                            max_age);
}

/* The value of cookie `name` (arena), or NULL when absent or sent more than once (a second one
 * could be planted by a sibling host: ambiguous, so none). */
static const char *cookie_get(gw_request_t *req, const char *name)
{
    size_t nlen = strlen(name);
    const char *found = NULL;
    int count = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        const gw_header_t *h = &req->headers[i];
        if (h->name_len != 6 || strncasecmp(h->name, "cookie", 6) != 0)
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ';'))
                p++;
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *pe = semi ? semi : end;
            if ((size_t)(pe - p) > nlen && p[nlen] == '=' && memcmp(p, name, nlen) == 0) {
                count++;
                found = cmn_arena_strndup(&req->arena, p + nlen + 1, (size_t)(pe - p - nlen - 1));
            }
            p = pe;
        }
    }
    return count == 1 ? found : NULL;
}

/* ---- forms ----------------------------------------------------------------------------------- */

const char *gw_login_form_field(cmn_arena_t *arena, const char *body, size_t len, const char *key)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)body[i] <= 0x20 || (unsigned char)body[i] >= 0x7f)
            return NULL;
    }
    gw_route_target_t t = {.query = body, .query_len = len};
    const char *value = NULL;
    size_t count = 0;
    if (len == 0 || gw_route_query_get(&t, key, arena, &value, &count) != 0 || count != 1)
        return NULL;
    return value;
}

static int same(const char *a, const char *b)
{
    size_t n = a && b ? strlen(a) : 0;
    return n && n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

int gw_login_form_ok(const gw_request_t *req, const char *form_token)
{
    const gw_header_t *site = gw_headers_find(req->headers, req->nheaders, "sec-fetch-site");
    if (site && !(site->value_len == 11 && strncasecmp(site->value, "same-origin", 11) == 0) &&
        !(site->value_len == 4 && strncasecmp(site->value, "none", 4) == 0))
        return 0;
    const gw_header_t *origin = gw_headers_find(req->headers, req->nheaders, "origin");
    const char *pub = req->srv->cfg->public_url;
    /* the public URL's origin: scheme://host[:port], without a path */
    const char *slash = strchr(strstr(pub, "://") ? strstr(pub, "://") + 3 : pub, '/');
    size_t olen = slash ? (size_t)(slash - pub) : strlen(pub);
    if (origin && !(origin->value_len == olen && strncasecmp(origin->value, pub, olen) == 0))
        return 0;
    return req->session_id && same(form_token, req->form_token);
}

/* ---- sessions on hubgate's pages ------------------------------------------------------------- */

int gw_login_session_route(const gw_route_t *route)
{
    if (route->family != GW_FAMILY_ADMIN)
        return 0;
    return route->admin == GW_ADMIN_TOKENS || route->admin == GW_ADMIN_TOKEN ||
           route->admin == GW_ADMIN_LOGOUT || route->admin == GW_ADMIN_WHOAMI ||
           route->admin == GW_ADMIN_DEVICE || route->admin == GW_ADMIN_DEVICE_CONFIRM;
}

int gw_login_authenticate(gw_request_t *req)
{
    if (!req->srv->sessions)
        return 0;
    const char *cookie = cookie_get(req, cookie_name(req, 0));
    if (!cookie)
        return 0;
    gw_identity_t who;
    const char *id = NULL, *why = NULL;
    memset(&who, 0, sizeof(who));
    int rc = gw_sessions_lookup(req->srv->sessions, cookie, strlen(cookie),
                                req->srv->cfg->login.idle_minutes, &req->arena, &who, &id, &why);
    if (rc == CMN_ERR_DENIED)
        return 0; /* ended or expired: a person without a session, sent to sign in */
    if (rc)
        return rc;
    req->identity = who;
    req->session_id = id;
    gw_sessions_form_token(cookie, strlen(cookie), req->form_token);
    return 0;
}

/* ---- /-/login -------------------------------------------------------------------------------- */

/* Percent-encodes s for a query value or form field (RFC 3986 unreserved kept). */
static void put_encoded(cmn_buf_t *b, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~", *c))
            cmn_buf_append(b, c, 1);
        else
            cmn_buf_printf(b, "%%%02X", *c);
    }
}

/* Where to go after signing in: one of hubgate's own pages, as a path (never another site). */
static const char *return_to(gw_request_t *req)
{
    gw_route_target_t t;
    gw_route_reject_t why;
    const char *r = NULL;
    size_t count = 0;
    if (gw_route_target_parse(req->target, req->target_len, &req->arena, &t, &why) != 0 ||
        gw_route_query_get(&t, "return_to", &req->arena, &r, &count) != 0 || count != 1)
        return DEFAULT_RETURN;
    int own = (strncmp(r, "/-/", 3) == 0 || strncmp(r, "/oauth/device", 13) == 0) &&
              strlen(r) < 1024 && !strstr(r, "//") && !strchr(r, '\\');
    for (const char *c = r; own && *c; c++)
        own = (unsigned char)*c > 0x20 && (unsigned char)*c < 0x7f;
    return own ? r : DEFAULT_RETURN;
}

static enum MHD_Result login_start(gw_request_t *req, struct MHD_Connection *conn)
{
    const gw_config_t *cfg = req->srv->cfg;
    gw_oidc_endpoints_t ep;
    int rc = gw_jwks_endpoints(req->srv->jwks, cfg->login.issuer_index, &req->arena, &ep);
    if (rc)
        return gw_page_message(req, conn, 503, "Sign-in is not available",
                               "hubgate has not reached the identity provider yet; try again in "
                               "a moment.",
                               0);
    const char *state = cmn_b64url_random(&req->arena, "", 32), *nonce = cmn_b64url_random(&req->arena, "", 32);
    const char *verifier = cmn_b64url_random(&req->arena, "", 32);
    if (!state || !nonce || !verifier)
        return gw_request_fail(req, conn, CMN_ERR_CRYPTO, NULL);
    unsigned char digest[32];
    char challenge[48];
    cmn_sha256(verifier, strlen(verifier), digest);
    cmn_b64url_encode(digest, sizeof(digest), challenge);
    gw_egress_claim_t flight = {
        .url = return_to(req),
        .method = "LOGIN",
        .headers = cmn_arena_printf(&req->arena, "%s %s %s", state, nonce, verifier),
        .repo_type = "", .repo = "", .action = "", .iss = "", .sub = "", .email = "",
        .token_id = "", .org = "", .role = "", .region = "", .rule = "", .policy_sha256 = "",
        .object = "",
        .expires = (int64_t)time(NULL) + LOGIN_TTL_SECONDS,
    };
    const char *sealed = flight.headers ? gw_egress_seal_login(atomic_load(&req->srv->egress_keys),
                                                               &flight, &req->arena)
                                        : NULL;
    cmn_buf_t url;
    cmn_buf_init(&url, 8192);
    cmn_buf_puts(&url, ep.authorization);
    cmn_buf_puts(&url, strchr(ep.authorization, '?') ? "&" : "?");
    cmn_buf_puts(&url, "response_type=code&scope=openid%20email%20profile&client_id=");
    put_encoded(&url, cfg->login.client_id);
    cmn_buf_puts(&url, "&redirect_uri=");
    put_encoded(&url, cmn_arena_concat(&req->arena, cfg->public_url, CALLBACK_PATH));
    cmn_buf_printf(&url, "&state=%s&nonce=%s&code_challenge=%s&code_challenge_method=S256", state,
                   nonce, challenge);
    const char *location = url.data ? cmn_arena_strndup(&req->arena, url.data, url.len) : NULL;
    cmn_buf_free(&url);
    if (!sealed || !location)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    gw_page_t p;
    gw_page_begin(&p, "Signing in");
    gw_page_cookie(&p, set_cookie(req, 1, sealed, LOGIN_TTL_SECONDS));
    gw_request_decide(req, POL_ALLOW, "sign-in", "a person starts signing in at the IdP");
    return gw_page_redirect(req, conn, location, &p);
}

/* ---- /-/login/callback ----------------------------------------------------------------------- */

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
    cmn_buf_t *b = ctx;
    return cmn_buf_append(b, data, size * n) == 0 ? size * n : 0;
}

/* Appends "<name>=<value>" form-encoded, '&'-separated. */
static void form_put(cmn_buf_t *b, const char *name, const char *value)
{
    if (b->len)
        cmn_buf_puts(b, "&");
    cmn_buf_puts(b, name);
    cmn_buf_puts(b, "=");
    put_encoded(b, value);
}

/* Redeems the code at the token endpoint (RFC 6749 §4.1.3 with PKCE), hubgate authenticating
 * with HTTP Basic over its form-encoded client id and secret (§2.3.1). Returns the ID token
 * (arena), or NULL with *why. Blocks up to REDEEM_TIMEOUT_MS. */
static const char *redeem(gw_request_t *req, const gw_oidc_endpoints_t *ep, const char *code,
                          const char *verifier, const char **why)
{
    const gw_config_t *cfg = req->srv->cfg;
    cmn_buf_t cred, form, answer;
    cmn_buf_init(&cred, 8192);
    cmn_buf_init(&form, 16384);
    cmn_buf_init(&answer, REDEEM_MAX_BYTES);
    put_encoded(&cred, cfg->login.client_id);
    cmn_buf_puts(&cred, ":");
    put_encoded(&cred, cfg->login.client_secret);
    form_put(&form, "grant_type", "authorization_code");
    form_put(&form, "code", code);
    form_put(&form, "redirect_uri", cmn_arena_concat(&req->arena, cfg->public_url, CALLBACK_PATH));
    form_put(&form, "code_verifier", verifier);
    size_t b64cap = 4 * ((cred.len + 2) / 3) + 1;
    char *header = cred.data ? malloc(sizeof("Authorization: Basic ") + b64cap) : NULL;
    const char *id_token = NULL;
    *why = "hubgate could not reach the identity provider's token endpoint";
    CURL *c = header && form.data ? curl_easy_init() : NULL;
    struct curl_slist *hl = NULL;
    if (c) {
        int n = sprintf(header, "Authorization: Basic ");
        EVP_EncodeBlock((unsigned char *)header + n, (const unsigned char *)cred.data,
                        (int)cred.len);
        hl = curl_slist_append(hl, header);
        hl = curl_slist_append(hl, "Accept: application/json");
        curl_easy_setopt(c, CURLOPT_URL, ep->token);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)form.len);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)REDEEM_TIMEOUT_MS);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK &&
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
            json_t *o = json_loadb(answer.data ? answer.data : "", answer.len,
                                   JSON_REJECT_DUPLICATES, NULL);
            const char *t = json_string_value(json_object_get(o, "id_token"));
            if (status == 200 && t && strlen(t) <= GW_MAX_JWT_BYTES) {
                id_token = cmn_arena_strndup(&req->arena, t, strlen(t));
            } else {
                /* The IdP's error code only: its description may echo what it was sent. */
                const char *e = json_string_value(json_object_get(o, "error"));
                *why = e && strcmp(e, "invalid_grant") == 0
                           ? "the identity provider refused the sign-in code (expired, used, or "
                             "not this sign-in's)"
                           : "the identity provider's token endpoint refused hubgate";
                cmn_log_warn("login", "%s: token endpoint answered %ld (%s)", req->request_id,
                             status, e ? e : "no error code");
            }
            json_decref(o);
        }
        curl_easy_cleanup(c);
    }
    curl_slist_free_all(hl);
    if (header)
        OPENSSL_cleanse(header, strlen(header));
    free(header);
    if (cred.data)
        OPENSSL_cleanse(cred.data, cred.len);
    cmn_buf_free(&cred);
    cmn_buf_free(&form);
    cmn_buf_free(&answer);
    return id_token;
}

/* The session.started event, made durable before the session commits. */
static int record_session(void *arg, const json_t *info)
{
    gw_request_t *req = arg;
    if (!req->srv->audit)
        return 0;
    aud_event_t ev;
    gw_request_event(req, &ev, AUD_KIND_SESSION_STARTED, 303);
    aud_event_detail_str(&ev, "session_id", json_string_value(json_object_get(info, "id")));
    aud_event_detail_str(&ev, "expires", json_string_value(json_object_get(info, "expires")));
    int rc = aud_writer_append(req->srv->audit, &ev);
    if (rc != 0)
        cmn_log_warn("login", "%s: the audit log cannot record the sign-in (%s): no session",
                     req->request_id, cmn_err_str(rc));
    return rc;
}

static enum MHD_Result refuse_callback(gw_request_t *req, struct MHD_Connection *conn,
                                       unsigned status, const char *why)
{
    req->stage = "authentication";
    gw_request_decide(req, POL_DENY, "sign-in", why);
    gw_page_t p;
    gw_page_begin(&p, "Sign-in failed");
    gw_page_html(&p, "<h1>Sign-in failed</h1><p>");
    gw_page_text(&p, why);
    gw_page_html(&p, "</p><p><a href=\"/-/login\">Sign in again</a></p>");
    gw_page_cookie(&p, set_cookie(req, 1, "", 0)); /* the flight is over either way */
    req->local_message = why;
    return gw_page_send(req, conn, status, &p);
}

static enum MHD_Result login_callback(gw_request_t *req, struct MHD_Connection *conn)
{
    const gw_config_t *cfg = req->srv->cfg;
    gw_route_target_t t;
    gw_route_reject_t reject;
    const char *code = NULL, *state = NULL, *iss = NULL, *error = NULL;
    size_t nc = 0, ns = 0, ni = 0, ne = 0;
    if (gw_route_target_parse(req->target, req->target_len, &req->arena, &t, &reject) != 0 ||
        gw_route_query_get(&t, "code", &req->arena, &code, &nc) != 0 ||
        gw_route_query_get(&t, "state", &req->arena, &state, &ns) != 0 ||
        gw_route_query_get(&t, "iss", &req->arena, &iss, &ni) != 0 ||
        gw_route_query_get(&t, "error", &req->arena, &error, &ne) != 0)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    const char *sealed = cookie_get(req, cookie_name(req, 1));
    gw_egress_claim_t flight;
    if (!sealed || gw_egress_open_login(atomic_load(&req->srv->egress_keys), sealed, time(NULL),
                                        &req->arena, &flight) != 0)
        return refuse_callback(req, conn, 400,
                               "this sign-in expired, or was started in another browser; start "
                               "again");
    char fstate[64], fnonce[64], fverifier[64];
    if (sscanf(flight.headers, "%63s %63s %63s", fstate, fnonce, fverifier) != 3)
        return refuse_callback(req, conn, 400, "this sign-in cannot be read; start again");
    /* Checked before anything is redeemed: the answer must be for this browser's sign-in, and
     * from the issuer hubgate sent it to (RFC 9207, mix-up attacks). */
    if (ns != 1 || !same(state, fstate))
        return refuse_callback(req, conn, 400, "the sign-in answer is not for this sign-in");
    gw_oidc_endpoints_t ep;
    if (gw_jwks_endpoints(req->srv->jwks, cfg->login.issuer_index, &req->arena, &ep) != 0)
        return refuse_callback(req, conn, 503, "the identity provider is not reachable");
    if (ni > 1 || (ni == 1 && strcmp(iss, cfg->login.issuer) != 0) || (ep.iss_parameter && !ni))
        return refuse_callback(req, conn, 400,
                               "the sign-in answer does not come from the configured issuer");
    if (ne)
        return refuse_callback(req, conn, 403,
                               strcmp(error, "access_denied") == 0
                                   ? "the identity provider did not let you sign in"
                                   : "the identity provider could not sign you in");
    if (nc != 1 || !*code || strlen(code) > 2048)
        return refuse_callback(req, conn, 400, "the sign-in answer carries no code");
    const char *why = NULL;
    const char *id_token = redeem(req, &ep, code, fverifier, &why);
    if (!id_token)
        return refuse_callback(req, conn, 502, why);
    gw_identity_t who;
    memset(&who, 0, sizeof(who));
    int rc = gw_auth_verify_id_token(req->srv->auth, cfg->login.issuer_index, id_token,
                                     strlen(id_token), cfg->login.client_id, fnonce, &req->arena,
                                     &who, &why);
    OPENSSL_cleanse(fverifier, sizeof(fverifier));
    if (rc)
        return refuse_callback(req, conn, rc == CMN_ERR_UNAVAILABLE ? 503 : 401, why);
    who.kind = GW_ID_SSO;
    int gone = gw_deprovisioned_refuses(req->srv->deprovisioned, &who);
    if (gone)
        return refuse_callback(req, conn, gone > 0 ? 403 : 503,
                               gone > 0 ? "the directory deactivated this account"
                                        : "the directory cannot be read yet");
    req->identity = who;
    gw_request_decide(req, POL_ALLOW, "sign-in", "the identity provider signed the person in");
    const gw_header_t *ua = gw_headers_find(req->headers, req->nheaders, "user-agent");
    const char *agent = ua ? cmn_arena_strndup(&req->arena, ua->value, ua->value_len) : "";
    const char *cookie = NULL, *sid = NULL;
    rc = gw_sessions_start(req->srv->sessions, &who, req->client_ip, agent ? agent : "",
                           cfg->login.session_hours, &req->arena, record_session, req, &cookie,
                           &sid);
    if (rc) {
        req->decided = 0;
        req->stage = rc == CMN_ERR_DB ? "token_store" : "audit";
        return gw_page_message(req, conn, 503, "Sign-in failed",
                               "hubgate cannot record a sign-in now; try again in a moment.", 0);
    }
    req->session_id = sid;
    cmn_log_info("login", "%s: %s signed in (session %s)", req->request_id,
                 gw_identity_principal(&who, &req->arena), sid);
    gw_page_t p;
    gw_page_begin(&p, "Signed in");
    gw_page_cookie(&p, set_cookie(req, 0, cookie, cfg->login.session_hours * 3600));
    gw_page_cookie(&p, set_cookie(req, 1, "", 0));
    return gw_page_redirect(req, conn, flight.url, &p);
}

/* ---- /-/logout ------------------------------------------------------------------------------- */

static int record_end(void *arg, const json_t *info)
{
    gw_request_t *req = arg;
    if (!req->srv->audit)
        return 0;
    aud_event_t ev;
    gw_request_event(req, &ev, AUD_KIND_SESSION_ENDED, 200);
    aud_event_detail_str(&ev, "session_id", json_string_value(json_object_get(info, "id")));
    aud_event_detail_str(&ev, "reason", "logout");
    return aud_writer_append(req->srv->audit, &ev);
}

static enum MHD_Result logout(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                              size_t len)
{
    if (!req->session_id)
        return gw_page_message(req, conn, 200, "Signed out", "You are not signed in.", 0);
    if (strcmp(req->method, "POST") != 0) {
        /* Nothing changes on a GET (a link or a prefetch must not sign anyone out). */
        gw_page_t p;
        gw_page_begin(&p, "Sign out");
        gw_page_html(&p, "<h1>Sign out</h1><p>You are signed in as ");
        gw_page_text(&p, req->identity.email ? req->identity.email : req->identity.sub);
        gw_page_html(&p, ".</p><form method=\"post\" action=\"/-/logout\">");
        gw_page_form_token(&p, req);
        gw_page_html(&p, "<button type=\"submit\">Sign out</button></form>");
        return gw_page_send(req, conn, 200, &p);
    }
    const char *ft = body ? gw_login_form_field(&req->arena, body, len, "form_token") : NULL;
    if (!gw_login_form_ok(req, ft))
        return gw_page_message(req, conn, 403, "Not signed out",
                               "This request did not come from hubgate's own page.", 0);
    gw_request_decide(req, POL_ALLOW, "session-owner", "a person ends their own session");
    int rc = gw_sessions_end(req->srv->sessions, req->session_id, req->identity.iss,
                             req->identity.sub, "logout", record_end, req);
    if (rc && rc != CMN_ERR_NOTFOUND) {
        req->decided = 0;
        return gw_page_message(req, conn, 503, "Not signed out",
                               "hubgate cannot record this now; try again.", 0);
    }
    gw_page_t p;
    gw_page_begin(&p, "Signed out");
    gw_page_html(&p, "<h1>Signed out</h1><p>Your hubgate session has ended. Tokens you minted "
                     "keep working until they expire or you revoke them.</p>"
                     "<p><a href=\"/-/login\">Sign in again</a></p>");
    gw_page_cookie(&p, set_cookie(req, 0, "", 0));
    return gw_page_send(req, conn, 200, &p);
}

enum MHD_Result gw_login_answer(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                                size_t body_len)
{
    const gw_config_t *cfg = req->srv->cfg;
    int get = strcmp(req->method, "GET") == 0;
    if (!cfg->login.issuer || !req->srv->sessions)
        return gw_page_message(req, conn, 404, "Sign-in is not configured",
                               "This gateway has no browser sign-in (identity.login).", 0);
    switch (req->route.admin) {
    case GW_ADMIN_LOGIN:
        return get ? login_start(req, conn) : gw_request_error(req, conn, 405, NULL, "Method Not Allowed");
    case GW_ADMIN_LOGIN_CALLBACK:
        return get ? login_callback(req, conn)
                   : gw_request_error(req, conn, 405, NULL, "Method Not Allowed");
    case GW_ADMIN_LOGOUT:
        return logout(req, conn, body, body_len);
    default:
        return gw_request_error(req, conn, 404, NULL, "Not Found");
    }
}
