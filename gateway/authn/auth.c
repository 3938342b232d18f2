#include "gateway/authn/auth.h"
#include "common/b64.h"

#include "common/err.h"
#include "common/sha256.h"

#include "gateway/authn/deprovisioned.h"
#include "gateway/authn/jwt.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CACHE_SLOTS  8192 /* verified JWTs, direct-mapped by hash */
#define KID_WAIT_MS  2000

typedef struct {
    unsigned char hash[32];
    json_t *claims; /* verified payload, immutable; NULL when the slot is empty */
    size_t issuer;
    char *kid;
    int64_t exp;
} slot_t;

struct gw_auth {
    const gw_config_t *cfg;
    gw_jwks_t *jwks;
    gw_tokens_t *tokens;
    gw_deprovisioned_t *deprovisioned; /* with SCIM: the people refused whatever they present */
    pthread_mutex_t mu;
    slot_t cache[CACHE_SLOTS];
};

gw_auth_t *gw_auth_create(const gw_config_t *cfg, gw_jwks_t *jwks, gw_tokens_t *tokens)
{
    gw_auth_t *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cfg = cfg;
    a->jwks = jwks;
    a->tokens = tokens;
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void gw_auth_set_deprovisioned(gw_auth_t *a, gw_deprovisioned_t *d)
{
    a->deprovisioned = d;
}

void gw_auth_destroy(gw_auth_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        json_decref(a->cache[i].claims);
        free(a->cache[i].kid);
    }
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* ---- credentials from headers ------------------------------------------------------------ */

/* The credential in the Authorization header (Bearer, or Basic with it as password). Returns 0
 * with *token (arena) or NULL when there is none; -1 for a malformed or duplicated header. */
static int extract_token(const gw_header_t *h, size_t n, cmn_arena_t *arena, const char **token,
                         size_t *len, gw_auth_reason_t *code, const char **reason)
{
    *code = GW_AUTH_REASON_MALFORMED;
    const gw_header_t *auth = NULL;
    *token = NULL;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name_len == 13 && strncasecmp(h[i].name, "authorization", 13) == 0) {
            if (auth) {
                *reason = "more than one Authorization header";
                return -1;
            }
            auth = &h[i];
        }
    }
    if (!auth)
        return 0;
    const char *v = auth->value;
    size_t vl = auth->value_len;
    if (vl > GW_MAX_JWT_BYTES + 16) {
        *reason = "credential too large";
        return -1;
    }
    if (vl > 7 && strncasecmp(v, "Bearer ", 7) == 0) {
        size_t k = 7;
        while (k < vl && v[k] == ' ')
            k++;
        *token = cmn_arena_strndup(arena, v + k, vl - k);
        *len = vl - k;
    } else if (vl > 6 && strncasecmp(v, "Basic ", 6) == 0) {
        char *plain = cmn_arena_alloc(arena, vl);
        size_t pl = 0;
        long decoded = plain ? cmn_b64_decode(v + 6, vl - 6, (unsigned char *)plain, vl - 1) : -1;
        if (decoded < 0) {
            *reason = "malformed Basic credentials";
            return -1;
        }
        pl = (size_t)decoded;
        plain[pl] = '\0';
        char *colon = memchr(plain, ':', pl);
        /* git sends the token as the password; some tools put it in the user name */
        *token = colon && colon[1] ? colon + 1 : colon ? plain : plain;
        if (colon && !colon[1])
            *colon = '\0';
        *len = strlen(*token);
    } else {
        *code = GW_AUTH_REASON_UNSUPPORTED;
        *reason = "unsupported Authorization scheme";
        return -1;
    }
    if (!*token || *len == 0 || memchr(*token, '\0', *len) || strpbrk(*token, " \t")) {
        *reason = "malformed credential";
        return -1;
    }
    return 0;
}

/* ---- JWTs ------------------------------------------------------------------------------ */

/* What an identity the claims could not describe is refused as. */
static int claims_refused(int rc, gw_auth_reason_t *code, const char **reason)
{
    switch (rc) {
    case CMN_ERR_TOOBIG:
        *code = GW_AUTH_REASON_TOO_MANY_GROUPS;
        *reason = "the token carries more groups than hubgate evaluates";
        return CMN_ERR_UNAUTHENTICATED;
    case CMN_ERR_PARSE:
        *code = GW_AUTH_REASON_MALFORMED;
        *reason = "the groups claim is not a string or an array of strings";
        return CMN_ERR_UNAUTHENTICATED;
    default:
        *code = GW_AUTH_REASON_INTERNAL;
        *reason = "out of memory";
        return CMN_ERR_UNAVAILABLE;
    }
}

static const gw_auth_reason_t claim_reasons[] = {
    [GW_JWT_CLAIMS_OK] = GW_AUTH_REASON_NONE,
    [GW_JWT_CLAIMS_UNSUPPORTED] = GW_AUTH_REASON_UNSUPPORTED,
    [GW_JWT_CLAIMS_ISSUER] = GW_AUTH_REASON_WRONG_ISSUER,
    [GW_JWT_CLAIMS_AUDIENCE] = GW_AUTH_REASON_WRONG_AUDIENCE,
    [GW_JWT_CLAIMS_EXPIRED] = GW_AUTH_REASON_EXPIRED,
    [GW_JWT_CLAIMS_NOT_YET_VALID] = GW_AUTH_REASON_NOT_YET_VALID,
    [GW_JWT_CLAIMS_MALFORMED] = GW_AUTH_REASON_MALFORMED,
};

/* Issuer #i's checks of a parsed token: an algorithm it allows and the signing key fits, a key
 * it publishes, the signature, the registered claims with `audience`. Returns 0, else
 * CMN_ERR_UNAUTHENTICATED or CMN_ERR_UNAVAILABLE (no usable keys) with *code and *reason set.
 * *set holds the key set used (release it). Blocks while an unknown kid is fetched. */
static int check_signed(gw_auth_t *a, size_t i, const gw_jwt_t *jwt, const char *audience,
                        int64_t now, gw_keyset_t **set_out, gw_auth_reason_t *code,
                        const char **reason)
{
    const gw_issuer_t *iss = &a->cfg->issuers[i];
    int res = CMN_ERR_UNAUTHENTICATED;
    gw_keyset_t *set = NULL;
    const gw_jwk_t *key = NULL;
    int alg = gw_jwt_alg_parse(jwt->alg);
    int allowed = 0;
    for (size_t k = 0; alg >= 0 && k < iss->n_algorithms; k++)
        allowed |= strcmp(iss->algorithms[k], jwt->alg) == 0;
    if (!allowed) {
        *code = GW_AUTH_REASON_ALGORITHM;
        *reason = "algorithm not accepted for this issuer";
        goto out;
    }
    if (jwt->kid && strlen(jwt->kid) > GW_MAX_KID_BYTES) {
        *code = GW_AUTH_REASON_MALFORMED;
        *reason = "kid too long";
        goto out;
    }
    switch (gw_jwks_find(a->jwks, i, jwt->kid, KID_WAIT_MS, &set, &key)) {
    case GW_JWKS_FOUND: break;
    case GW_JWKS_UNKNOWN_KID:
        *code = GW_AUTH_REASON_UNKNOWN_KEY;
        *reason = "unknown signing key (kid)";
        goto out;
    case GW_JWKS_NO_KEYS:
        *code = GW_AUTH_REASON_IDP_UNAVAILABLE;
        *reason = "the identity provider's keys are not available yet";
        res = CMN_ERR_UNAVAILABLE;
        goto out;
    case GW_JWKS_STALE:
        *code = GW_AUTH_REASON_IDP_UNAVAILABLE;
        *reason = "the identity provider's keys are too old to trust (the IdP is unreachable)";
        res = CMN_ERR_UNAVAILABLE;
        goto out;
    }
    /* The algorithm comes from the key: a JWK that names one must name this one, and the key's
     * type must fit it (no RS/ES swap, no HMAC with a public key). */
    if ((key->alg >= 0 && key->alg != alg) || !gw_jwt_alg_fits_key((gw_jwt_alg_t)alg, key->key)) {
        *code = GW_AUTH_REASON_ALGORITHM;
        *reason = "algorithm does not match the signing key";
        goto out;
    }
    if (gw_jwt_verify_signature(jwt, (gw_jwt_alg_t)alg, key->key) != 0) {
        *code = GW_AUTH_REASON_BAD_SIGNATURE;
        *reason = "bad signature";
        goto out;
    }
    gw_jwt_expect_t expect = {iss->issuer, audience, now, a->cfg->leeway_seconds};
    gw_jwt_claims_t failed = gw_jwt_check_claims(jwt, &expect, reason);
    if (failed != GW_JWT_CLAIMS_OK) {
        *code = (unsigned)failed < sizeof(claim_reasons) / sizeof(claim_reasons[0])
                    ? claim_reasons[failed]
                    : GW_AUTH_REASON_MALFORMED;
        goto out;
    }
    res = 0;
out:
    *set_out = set;
    return res;
}

static int verify_jwt(gw_auth_t *a, const char *token, size_t len, cmn_arena_t *arena,
                                   gw_identity_t *id, gw_auth_reason_t *code, const char **reason)
{
    unsigned char hash[CMN_SHA256_BYTES];
    cmn_sha256(token, len, hash);
    size_t s = ((size_t)hash[0] << 8 | hash[1]) % CACHE_SLOTS;
    int64_t now = (int64_t)time(NULL);

    /* A token verified before is accepted again until it expires, as long as the key that
     * verified it is still published (an IdP that dropped a key revoked its tokens). */
    pthread_mutex_lock(&a->mu);
    slot_t *slot = &a->cache[s];
    json_t *claims = NULL;
    size_t issuer = 0;
    char kid[GW_MAX_KID_BYTES + 1] = "";
    if (slot->claims && memcmp(slot->hash, hash, 32) == 0 && now <= slot->exp + a->cfg->leeway_seconds) {
        claims = json_incref(slot->claims);
        issuer = slot->issuer;
        snprintf(kid, sizeof(kid), "%s", slot->kid ? slot->kid : "");
    }
    pthread_mutex_unlock(&a->mu);
    if (claims && gw_jwks_has_kid(a->jwks, issuer, kid[0] ? kid : NULL)) {
        /* Only tokens whose claims made an identity are cached, so this cannot fail on them
         * but for memory. */
        const gw_issuer_t *cached = &a->cfg->issuers[issuer];
        int rc = gw_identity_from_claims(claims, cached->issuer, cached->groups_claim,
                                         cached->email_verified_assumed, arena, id);
        json_decref(claims);
        return rc == 0 ? 0 : claims_refused(rc, code, reason);
    }
    json_decref(claims);

    gw_jwt_t jwt;
    if (gw_jwt_parse(token, len, arena, &jwt, reason) != 0) {
        *code = GW_AUTH_REASON_MALFORMED;
        return CMN_ERR_UNAUTHENTICATED;
    }
    int res = CMN_ERR_UNAUTHENTICATED;
    gw_keyset_t *set = NULL;
    size_t i = 0;
    while (jwt.iss && i < a->cfg->n_issuers && strcmp(a->cfg->issuers[i].issuer, jwt.iss) != 0)
        i++;
    if (!jwt.iss || i == a->cfg->n_issuers) {
        *code = GW_AUTH_REASON_WRONG_ISSUER;
        *reason = "token from an issuer that is not configured";
        goto out;
    }
    const gw_issuer_t *iss = &a->cfg->issuers[i];
    if ((res = check_signed(a, i, &jwt, iss->audience, now, &set, code, reason)) != 0)
        goto out;
    res = CMN_ERR_UNAUTHENTICATED;
    int rc = gw_identity_from_claims(jwt.payload, iss->issuer, iss->groups_claim,
                                     iss->email_verified_assumed, arena, id);
    if (rc != 0) {
        res = claims_refused(rc, code, reason);
        goto out;
    }
    res = 0;
    pthread_mutex_lock(&a->mu);
    json_decref(slot->claims);
    free(slot->kid);
    memcpy(slot->hash, hash, 32);
    slot->claims = json_incref(jwt.payload);
    slot->issuer = i;
    slot->kid = jwt.kid ? strdup(jwt.kid) : NULL;
    slot->exp = id->expires;
    pthread_mutex_unlock(&a->mu);
out:
    gw_keyset_release(set);
    gw_jwt_free(&jwt);
    return res;
}

static const char *const reason_names[] = {
#define REASON_NAME(name, label) label,
    GW_AUTH_REASON_MAP(REASON_NAME)
#undef REASON_NAME
};

const char *gw_auth_reason_name(gw_auth_reason_t reason)
{
    return (unsigned)reason < sizeof(reason_names) / sizeof(reason_names[0]) ? reason_names[reason]
                                                                             : "?";
}

static int authenticate(gw_auth_t *a, const gw_header_t *headers, size_t n,
                                     cmn_arena_t *arena, gw_identity_t *id,
                                     gw_auth_reason_t *code, const char **reason)
{
    const char *token = NULL;
    size_t len = 0;
    if (extract_token(headers, n, arena, &token, &len, code, reason) != 0)
        return CMN_ERR_UNAUTHENTICATED;
    if (!token)
        return 0; /* anonymous: the policy decides what nobody may do */
    if (len > strlen(GW_TOKEN_PREFIX) && strncmp(token, GW_TOKEN_PREFIX, strlen(GW_TOKEN_PREFIX)) == 0) {
        if (!a->tokens) {
            *code = GW_AUTH_REASON_UNSUPPORTED;
            *reason = "hubgate tokens are not enabled";
            return CMN_ERR_UNAUTHENTICATED;
        }
        int rc = gw_tokens_lookup(a->tokens, token, len, arena, id, code, reason);
        return rc == 0 ? 0 : rc == CMN_ERR_DENIED ? CMN_ERR_UNAUTHENTICATED : CMN_ERR_UNAVAILABLE;
    }
    if (!memchr(token, '.', len)) {
        *code = GW_AUTH_REASON_MALFORMED;
        *reason = "not a JWT or a hubgate token";
        return CMN_ERR_UNAUTHENTICATED;
    }
    if (!a->jwks || a->cfg->n_issuers == 0) {
        *code = GW_AUTH_REASON_UNSUPPORTED;
        *reason = "no SSO issuer is configured";
        return CMN_ERR_UNAUTHENTICATED;
    }
    return verify_jwt(a, token, len, arena, id, code, reason);
}

int gw_auth_authenticate(gw_auth_t *a, const gw_header_t *headers, size_t n,
                                      cmn_arena_t *arena, gw_identity_t *id,
                                      gw_auth_reason_t *reason, const char **why)
{
    memset(id, 0, sizeof(*id));
    *reason = GW_AUTH_REASON_NONE;
    *why = NULL;
    int res = authenticate(a, headers, n, arena, id, reason, why);
    int gone = res == 0 && id->kind != GW_ID_ANONYMOUS
                   ? gw_deprovisioned_refuses(a->deprovisioned, id)
                   : 0;
    if (gone > 0) {
        /* valid credentials of someone the directory removed: a live SSO token, a cached one,
         * a hubgate token a cache has not yet seen revoked */
        *reason = GW_AUTH_REASON_DEPROVISIONED;
        *why = "the directory deactivated this person";
        res = CMN_ERR_UNAUTHENTICATED;
    } else if (gone < 0) {
        *reason = GW_AUTH_REASON_STORE_UNAVAILABLE;
        *why = "the directory cannot be read yet";
        res = CMN_ERR_UNAVAILABLE;
    }
    if (res != 0) {
        memset(id, 0, sizeof(*id)); /* nothing half-made survives a refusal */
        if (*reason == GW_AUTH_REASON_NONE)
            *reason = res == CMN_ERR_UNAUTHENTICATED ? GW_AUTH_REASON_MALFORMED : GW_AUTH_REASON_INTERNAL;
        if (!*why)
            *why = "credentials refused";
        return res;
    }
    return 0;
}

int gw_auth_verify_id_token(gw_auth_t *a, size_t issuer, const char *token, size_t len,
                            const char *client_id, const char *nonce, cmn_arena_t *arena,
                            gw_identity_t *id, const char **reason)
{
    gw_jwt_t jwt;
    gw_auth_reason_t code;
    if (issuer >= a->cfg->n_issuers || gw_jwt_parse(token, len, arena, &jwt, reason) != 0)
        return CMN_ERR_UNAUTHENTICATED;
    const gw_issuer_t *iss = &a->cfg->issuers[issuer];
    gw_keyset_t *set = NULL;
    int res = CMN_ERR_UNAUTHENTICATED;
    const char *got = json_string_value(json_object_get(jwt.payload, "nonce"));
    if (!jwt.iss || strcmp(jwt.iss, iss->issuer) != 0) {
        *reason = "the ID token is from another issuer";
        goto out;
    }
    res = check_signed(a, issuer, &jwt, client_id, (int64_t)time(NULL), &set, &code, reason);
    if (res != 0)
        goto out;
    if (!got || !nonce || strlen(got) != strlen(nonce) ||
        CRYPTO_memcmp(got, nonce, strlen(nonce)) != 0) {
        *reason = "the ID token's nonce is not this sign-in's";
        res = CMN_ERR_UNAUTHENTICATED;
        goto out;
    }
    res = gw_identity_from_claims(jwt.payload, iss->issuer, iss->groups_claim,
                                  iss->email_verified_assumed, arena, id);
    if (res != 0) {
        res = claims_refused(res, &code, reason);
        goto out;
    }
    const json_t *at = json_object_get(jwt.payload, "auth_time");
    id->auth_time = json_is_integer(at) ? (int64_t)json_integer_value(at) : (int64_t)time(NULL);
out:
    gw_keyset_release(set);
    gw_jwt_free(&jwt);
    return res;
}
