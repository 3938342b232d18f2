#include "gateway/authn/jwks.h"
#include "common/thread.h"
#include "common/clock.h"
#include "common/b64.h"
#include "common/err.h"

#include "common/log.h"
#include "gateway/authn/jwt.h"
#include "gateway/config/url.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const gw_issuer_t *cfg;
    char *jwks_uri;
    /* Its discovery document's sign-in endpoints: found by the fetch thread (found), published
     * under the lock for gw_jwks_endpoints (endpoints). */
    gw_oidc_endpoints_t found, endpoints;
    gw_keyset_t *current;
    int64_t last_success_ms;
    int64_t last_attempt_ms;
    int64_t last_kid_refresh_ms;
    int refresh_requested;
    int failures;
    uint64_t generation;
} issuer_t;

struct gw_jwks {
    const gw_config_t *cfg;
    issuer_t *issuers;
    size_t n;
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* the thread: something to do */
    pthread_cond_t fetched; /* waiters: a fetch ended */
    pthread_t thread;
    int stopping;
    gw_jwks_change_cb on_change;
    void *ctx;
};

/* ---- JWK → OpenSSL key ------------------------------------------------------------------ */

static unsigned char *b64_field(json_t *jwk, const char *name, size_t *len)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    if (!s || !*s || strlen(s) > 2048)
        return NULL;
    unsigned char *out = malloc(strlen(s) * 3 / 4 + 1);
    long n = out ? cmn_b64url_decode(s, strlen(s), out) : -1;
    if (n <= 0) {
        free(out);
        return NULL;
    }
    *len = (size_t)n;
    return out;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM *params)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    if (!key)
        return NULL;
    /* An EC point must lie on its curve (invalid-curve attacks); RSA gets the same check. */
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new(key, NULL);
    int ok = check && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

static EVP_PKEY *rsa_key(json_t *jwk, const char **why)
{
    size_t nlen = 0, elen = 0;
    unsigned char *n = b64_field(jwk, "n", &nlen), *e = b64_field(jwk, "e", &elen);
    EVP_PKEY *key = NULL;
    BIGNUM *bn = n ? BN_bin2bn(n, (int)nlen, NULL) : NULL;
    BIGNUM *be = e ? BN_bin2bn(e, (int)elen, NULL) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    *why = "malformed RSA key";
    if (bn && be && bld) {
        if (BN_num_bits(bn) < 2048) {
            *why = "RSA key shorter than 2048 bits";
        } else if (!BN_is_odd(be) || BN_num_bits(be) < 2 || BN_num_bits(be) > 256) {
            *why = "RSA exponent is not an odd number of sensible size";
        } else if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
                   OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1 &&
                   (params = OSSL_PARAM_BLD_to_param(bld))) {
            key = from_params("RSA", params);
        }
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return key;
}

static EVP_PKEY *ec_key(json_t *jwk, const char **why)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    size_t width = crv && strcmp(crv, "P-256") == 0 ? 32 : crv && strcmp(crv, "P-384") == 0 ? 48 : 0;
    if (!width) {
        *why = "EC curve is not P-256 or P-384";
        return NULL;
    }
    size_t xlen = 0, ylen = 0;
    unsigned char *x = b64_field(jwk, "x", &xlen), *y = b64_field(jwk, "y", &ylen);
    EVP_PKEY *key = NULL;
    *why = "malformed or off-curve EC key";
    if (x && y && xlen == width && ylen == width) {
        unsigned char point[1 + 2 * 48];
        point[0] = 0x04;
        memcpy(point + 1, x, width);
        memcpy(point + 1 + width, y, width);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)crv, 0),
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * width),
            OSSL_PARAM_construct_end(),
        };
        key = from_params("EC", params);
    }
    free(x);
    free(y);
    return key;
}

void gw_keyset_release(gw_keyset_t *set)
{
    if (!set || atomic_fetch_sub(&set->refs, 1) != 1)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->keys[i].kid);
        EVP_PKEY_free(set->keys[i].key);
    }
    free(set->keys);
    free(set);
}

gw_keyset_t *gw_jwks_parse(const char *text, size_t len, cmn_buf_t *skipped)
{
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(root, "keys");
    gw_keyset_t *set = NULL;
    if (!json_is_array(keys) || json_array_size(keys) > 256)
        goto out;
    set = calloc(1, sizeof(*set));
    if (!set || !(set->keys = calloc(json_array_size(keys) + 1, sizeof(gw_jwk_t))))
        goto fail;
    atomic_init(&set->refs, 1);
    size_t i;
    json_t *jwk;
    json_array_foreach(keys, i, jwk)
    {
        const char *kid = json_string_value(json_object_get(jwk, "kid"));
        const char *kty = json_string_value(json_object_get(jwk, "kty"));
        const char *use = json_string_value(json_object_get(jwk, "use"));
        json_t *algv = json_object_get(jwk, "alg");
        const char *why = NULL;
        EVP_PKEY *key = NULL;
        int alg = algv ? gw_jwt_alg_parse(json_string_value(algv)) : -1;
        if (!kid || !*kid || strlen(kid) > GW_MAX_KID_BYTES)
            why = "missing or oversized kid";
        else if (use && strcmp(use, "sig") != 0)
            why = "use is not sig";
        else if (algv && alg < 0)
            why = "alg is not an accepted signature algorithm";
        else if (kty && strcmp(kty, "RSA") == 0)
            key = rsa_key(jwk, &why);
        else if (kty && strcmp(kty, "EC") == 0)
            key = ec_key(jwk, &why);
        else
            why = "kty is not RSA or EC";
        for (size_t k = 0; key && k < set->n; k++) {
            if (strcmp(set->keys[k].kid, kid) == 0) {
                why = "duplicate kid";
                EVP_PKEY_free(key);
                key = NULL;
            }
        }
        if (key && alg >= 0 && !gw_jwt_alg_fits_key((gw_jwt_alg_t)alg, key)) {
            why = "alg does not fit the key";
            EVP_PKEY_free(key);
            key = NULL;
        }
        if (!key) {
            if (skipped)
                cmn_buf_printf(skipped, "%s%s: %s", skipped->len ? "; " : "",
                               kid && strlen(kid) <= GW_MAX_KID_BYTES ? kid : "(no kid)",
                               why ? why : "unusable");
            continue;
        }
        set->keys[set->n].kid = strdup(kid);
        set->keys[set->n].key = key;
        set->keys[set->n].alg = alg;
        if (!set->keys[set->n].kid) {
            EVP_PKEY_free(key);
            goto fail;
        }
        set->n++;
    }
    if (set->n == 0)
        goto fail;
    goto out;
fail:
    gw_keyset_release(set);
    set = NULL;
out:
    json_decref(root);
    return set;
}

/* ---- fetching ------------------------------------------------------------------------------ */

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return cmn_buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

/* GETs url into out (capped). Returns 0 or a message in err. Blocks. */
static int fetch(const char *url, cmn_buf_t *out, char *err, size_t errlen)
{
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)GW_JWKS_FETCH_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hubgate");
    CURLcode rc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        return -1;
    }
    if (status != 200) {
        snprintf(err, errlen, "HTTP status %ld", status);
        return -1;
    }
    return 0;
}

/* A discovery document's endpoint `name` when it is a URL hubgate may call (the rule of the
 * issuer itself), else NULL. */
static char *endpoint(json_t *doc, const char *name)
{
    const char *uri = json_string_value(json_object_get(doc, name));
    char host[GW_MAX_URL_HOST_BYTES];
    return uri && strlen(uri) < 2048 && gw_url_check(uri, 0, host, sizeof(host)) == GW_URL_OK
               ? strdup(uri)
               : NULL;
}

static void keep_endpoints(issuer_t *is, json_t *doc)
{
    is->found.authorization = endpoint(doc, "authorization_endpoint");
    is->found.token = endpoint(doc, "token_endpoint");
    is->found.end_session = endpoint(doc, "end_session_endpoint");
    const char *iss_param = "authorization_response_iss_parameter_supported";
    is->found.iss_parameter = json_is_true(json_object_get(doc, iss_param));
}

static void free_endpoints(gw_oidc_endpoints_t *e)
{
    free((char *)e->authorization);
    free((char *)e->token);
    free((char *)e->end_session);
    memset(e, 0, sizeof(*e));
}

/* Discovery (once) and JWKS. Returns a new key set, or NULL with err set. Blocks. */
static gw_keyset_t *fetch_keys(issuer_t *is, char *err, size_t errlen)
{
    cmn_buf_t body;
    cmn_buf_init(&body, GW_MAX_JWKS_BYTES);
    gw_keyset_t *set = NULL;
    if (!is->jwks_uri) {
        char url[2048];
        snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", is->cfg->issuer);
        if (fetch(url, &body, err, errlen) != 0)
            goto out;
        json_t *doc = json_loadb(body.data, body.len, JSON_REJECT_DUPLICATES, NULL);
        const char *iss = json_string_value(json_object_get(doc, "issuer"));
        const char *uri = json_string_value(json_object_get(doc, "jwks_uri"));
        char host[GW_MAX_URL_HOST_BYTES];
        gw_url_result_t bad = GW_URL_OK;
        if (!iss || strcmp(iss, is->cfg->issuer) != 0)
            snprintf(err, errlen, "discovery document names issuer \"%s\", not the configured one",
                     iss ? iss : "(none)");
        else if (!uri)
            snprintf(err, errlen, "discovery document has no jwks_uri");
        else if ((bad = gw_url_check(uri, 0, host, sizeof(host))) != GW_URL_OK)
            /* The same rule as for the issuer: https, or plain http to a loopback literal. */
            snprintf(err, errlen, "discovery document's jwks_uri (host \"%s\") %s", host,
                     gw_url_result_message(bad));
        else
            is->jwks_uri = strdup(uri);
        keep_endpoints(is, doc);
        json_decref(doc);
        cmn_buf_clear(&body);
        if (!is->jwks_uri)
            goto out;
    }
    if (fetch(is->jwks_uri, &body, err, errlen) != 0)
        goto out;
    cmn_buf_t skipped;
    cmn_buf_init(&skipped, 4096);
    set = gw_jwks_parse(body.data ? body.data : "", body.len, &skipped);
    if (skipped.len)
        cmn_log_warn("jwks", "%s: skipped keys: %s", is->cfg->issuer, skipped.data);
    if (!set)
        snprintf(err, errlen, "JWKS at %s holds no usable key", is->jwks_uri);
    cmn_buf_free(&skipped);
out:
    cmn_buf_free(&body);
    return set;
}

/* The kids added and removed between two sets; empty when equal. */
static void describe_change(const gw_keyset_t *old, const gw_keyset_t *new, cmn_buf_t *out)
{
    for (size_t i = 0; i < new->n; i++) {
        int found = 0;
        for (size_t k = 0; old && k < old->n; k++)
            found |= strcmp(old->keys[k].kid, new->keys[i].kid) == 0;
        if (!found)
            cmn_buf_printf(out, "%sadded %s", out->len ? ", " : "", new->keys[i].kid);
    }
    for (size_t k = 0; old && k < old->n; k++) {
        int found = 0;
        for (size_t i = 0; i < new->n; i++)
            found |= strcmp(old->keys[k].kid, new->keys[i].kid) == 0;
        if (!found)
            cmn_buf_printf(out, "%sremoved %s", out->len ? ", " : "", old->keys[k].kid);
    }
}

static void refresh(gw_jwks_t *j, issuer_t *is)
{
    char err[512] = "";
    /* Why this fetch, for the audit event of a change (read under the lock the scheduler held
     * when it chose this issuer; only this thread clears them). */
    pthread_mutex_lock(&j->mu);
    const char *trigger = !is->current            ? "start"
                          : is->refresh_requested ? "unknown_kid"
                          : is->failures          ? "retry"
                                                  : "schedule";
    pthread_mutex_unlock(&j->mu);
    gw_keyset_t *set = fetch_keys(is, err, sizeof(err)); /* unlocked: blocks on the network */
    pthread_mutex_lock(&j->mu);
    is->last_attempt_ms = cmn_mono_ms();
    is->refresh_requested = 0;
    if (is->found.authorization && !is->endpoints.authorization) {
        is->endpoints = is->found; /* published once, never changed after */
        memset(&is->found, 0, sizeof(is->found));
    }
    if (!set) {
        is->failures++;
        if (is->failures == 1 || is->failures % 10 == 0)
            cmn_log_warn("jwks", "%s: cannot fetch keys: %s (keeping %s)", is->cfg->issuer, err,
                         is->current ? "the last good set" : "no keys");
        pthread_cond_broadcast(&j->fetched);
        pthread_mutex_unlock(&j->mu);
        return;
    }
    is->failures = 0;
    is->last_success_ms = is->last_attempt_ms;
    cmn_buf_t change;
    cmn_buf_init(&change, 64 * 1024);
    describe_change(is->current, set, &change);
    gw_keyset_t *old = NULL;
    if (change.len) {
        set->generation = ++is->generation;
        old = is->current;
        is->current = set;
    } else {
        set->generation = is->generation;
        gw_keyset_release(set); /* same kids: keep the current set */
    }
    pthread_cond_broadcast(&j->fetched);
    pthread_mutex_unlock(&j->mu);
    if (change.len) {
        cmn_log_info("jwks", "%s: key set changed: %s", is->cfg->issuer, change.data);
        if (j->on_change)
            j->on_change(j->ctx, is->cfg->issuer, change.data, trigger);
    }
    gw_keyset_release(old);
    cmn_buf_free(&change);
}

static void *run(void *arg)
{
    gw_jwks_t *j = arg;
    pthread_mutex_lock(&j->mu);
    while (!j->stopping) {
        int64_t now = cmn_mono_ms(), next = now + 60 * 1000;
        issuer_t *due = NULL;
        for (size_t i = 0; i < j->n && !due; i++) {
            issuer_t *is = &j->issuers[i];
            /* After a failure retry soon (1 s, growing to 30 s); otherwise on schedule. */
            int64_t backoff = is->failures ? (is->failures < 30 ? is->failures : 30) * 1000 : 0;
            int64_t when = is->failures ? is->last_attempt_ms + backoff
                           : is->current
                               ? is->last_success_ms + (int64_t)j->cfg->jwks_refresh_seconds * 1000
                               : 0;
            if (is->refresh_requested || when <= now)
                due = is;
            else if (when < next)
                next = when;
        }
        if (due) {
            pthread_mutex_unlock(&j->mu);
            refresh(j, due);
            pthread_mutex_lock(&j->mu);
            continue;
        }
        struct timespec until = cmn_realtime_after_ms(next - now);
        pthread_cond_timedwait(&j->wake, &j->mu, &until);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

gw_jwks_t *gw_jwks_start(const gw_config_t *cfg, gw_jwks_change_cb on_change, void *ctx)
{
    gw_jwks_t *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->cfg = cfg;
    j->on_change = on_change;
    j->ctx = ctx;
    j->n = cfg->n_issuers;
    j->issuers = calloc(j->n ? j->n : 1, sizeof(issuer_t));
    if (!j->issuers) {
        free(j);
        return NULL;
    }
    for (size_t i = 0; i < j->n; i++)
        j->issuers[i].cfg = &cfg->issuers[i];
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->wake, NULL);
    pthread_cond_init(&j->fetched, NULL);
    if (pthread_create(&j->thread, NULL, run, j) != 0) {
        free(j->issuers);
        free(j);
        return NULL;
    }
    return j;
}

void gw_jwks_stop(gw_jwks_t *j)
{
    if (!j)
        return;
    cmn_thread_stop(&j->mu, &j->wake, &j->stopping, j->thread);
    for (size_t i = 0; i < j->n; i++) {
        gw_keyset_release(j->issuers[i].current);
        free(j->issuers[i].jwks_uri);
        free_endpoints(&j->issuers[i].found);
        free_endpoints(&j->issuers[i].endpoints);
    }
    pthread_cond_destroy(&j->wake);
    pthread_cond_destroy(&j->fetched);
    pthread_mutex_destroy(&j->mu);
    free(j->issuers);
    free(j);
}

static int stale(const gw_jwks_t *j, const issuer_t *is, int64_t now)
{
    return now - is->last_success_ms > (int64_t)j->cfg->jwks_max_stale_seconds * 1000;
}

int gw_jwks_ready(gw_jwks_t *j)
{
    pthread_mutex_lock(&j->mu);
    int ready = 1;
    int64_t now = cmn_mono_ms();
    for (size_t i = 0; i < j->n; i++)
        ready &= j->issuers[i].current != NULL && !stale(j, &j->issuers[i], now);
    pthread_mutex_unlock(&j->mu);
    return ready;
}

static const gw_jwk_t *lookup(const gw_keyset_t *set, const char *kid)
{
    for (size_t i = 0; set && i < set->n; i++) {
        if (kid && strcmp(set->keys[i].kid, kid) == 0)
            return &set->keys[i];
    }
    /* A token without kid is accepted only from an issuer that publishes one key. */
    return !kid && set && set->n == 1 ? &set->keys[0] : NULL;
}

/* Caller holds j->mu. */
static gw_jwks_result_t try_find(gw_jwks_t *j, issuer_t *is, const char *kid, gw_keyset_t **set,
                                 const gw_jwk_t **key)
{
    if (!is->current)
        return GW_JWKS_NO_KEYS;
    if (stale(j, is, cmn_mono_ms()))
        return GW_JWKS_STALE;
    if (!(*key = lookup(is->current, kid)))
        return GW_JWKS_UNKNOWN_KID;
    atomic_fetch_add(&is->current->refs, 1);
    *set = is->current;
    return GW_JWKS_FOUND;
}

gw_jwks_result_t gw_jwks_find(gw_jwks_t *j, size_t issuer, const char *kid, int wait_ms,
                              gw_keyset_t **set, const gw_jwk_t **key)
{
    issuer_t *is = &j->issuers[issuer];
    pthread_mutex_lock(&j->mu);
    gw_jwks_result_t res = try_find(j, is, kid, set, key);
    int64_t now = cmn_mono_ms();
    if (res != GW_JWKS_FOUND && wait_ms > 0 &&
        (is->refresh_requested ||
         now - is->last_kid_refresh_ms >= GW_JWKS_KID_REFRESH_SECONDS * 1000)) {
        /* Perhaps the IdP rotated its keys: one refresh (single-flight), shared by every
         * request waiting for it, at most once per GW_JWKS_KID_REFRESH_SECONDS. */
        if (!is->refresh_requested) {
            is->last_kid_refresh_ms = now;
            is->refresh_requested = 1;
            pthread_cond_broadcast(&j->wake);
        }
        struct timespec until = cmn_realtime_after_ms(wait_ms);
        while (is->refresh_requested &&
               pthread_cond_timedwait(&j->fetched, &j->mu, &until) != ETIMEDOUT) {
        }
        res = try_find(j, is, kid, set, key);
    }
    pthread_mutex_unlock(&j->mu);
    return res;
}

int gw_jwks_has_kid(gw_jwks_t *j, size_t issuer, const char *kid)
{
    pthread_mutex_lock(&j->mu);
    issuer_t *is = &j->issuers[issuer];
    int has = is->current && !stale(j, is, cmn_mono_ms()) && lookup(is->current, kid) != NULL;
    pthread_mutex_unlock(&j->mu);
    return has;
}

int gw_jwks_endpoints(gw_jwks_t *j, size_t issuer, cmn_arena_t *arena, gw_oidc_endpoints_t *out)
{
    memset(out, 0, sizeof(*out));
    if (issuer >= j->n)
        return CMN_ERR_NOTFOUND;
    pthread_mutex_lock(&j->mu);
    const gw_oidc_endpoints_t *e = &j->issuers[issuer].endpoints;
    int rc = e->authorization && e->token ? 0 : CMN_ERR_UNAVAILABLE;
    if (rc == 0) {
        out->authorization = cmn_arena_strndup(arena, e->authorization, strlen(e->authorization));
        out->token = cmn_arena_strndup(arena, e->token, strlen(e->token));
        out->end_session =
            e->end_session ? cmn_arena_strndup(arena, e->end_session, strlen(e->end_session))
                           : NULL;
        out->iss_parameter = e->iss_parameter;
        if (!out->authorization || !out->token || (e->end_session && !out->end_session))
            rc = CMN_ERR_NOMEM;
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}
