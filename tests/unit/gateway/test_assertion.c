/* The X-Hubgate-Identity assertion (gateway/authn/assertion.c) signed once per claim set:
 * reused for the same caller and grant, never across claim sets, renewed before it is half
 * spent, bounded, and always verifiable with the key /-/jwks.json publishes.
 *
 * ES256 signatures are randomised (a fresh nonce each time), so two signings of the same claims
 * give two different strings: "the same string twice" below can only come from reuse. */
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/testutil.h"

#include "common/b64.h"
#include "gateway/authn/assertion.h"

#define NOW 1700000000

static gw_assertion_t *as;
static EVP_PKEY *pub; /* from gw_assertion_jwks, as a third party would build it */

static int setup(void **state)
{
    (void)state;
    as = gw_assertion_create(NULL, "https://gw.example");
    json_t *jwks = as ? json_loads(gw_assertion_jwks(as), 0, NULL) : NULL;
    json_t *k = json_array_get(json_object_get(jwks, "keys"), 0);
    unsigned char pt[65] = {4};
    if (!k || cmn_b64url_decode(json_string_value(json_object_get(k, "x")), 43, pt + 1) != 32 ||
        cmn_b64url_decode(json_string_value(json_object_get(k, "y")), 43, pt + 33) != 32)
        return -1;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, 65),
                           OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    int ok = ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    json_decref(jwks);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(pub);
    gw_assertion_destroy(as);
    return 0;
}

/* The payload of jwt once its ES256 signature checks out with the published key; NULL when it
 * does not. New reference. */
static json_t *verified(const char *jwt)
{
    const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strlen(dot2 + 1) != 86)
        return NULL;
    unsigned char rs[65], payload[4096];
    if (cmn_b64url_decode(dot2 + 1, 86, rs) != 64)
        return NULL;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
    unsigned char *der = NULL;
    int derlen = i2d_ECDSA_SIG(sig, &der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = derlen > 0 && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1 &&
             EVP_DigestVerify(ctx, der, (size_t)derlen, (const unsigned char *)jwt,
                              (size_t)(dot2 - jwt)) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    size_t plen = (size_t)(dot2 - dot1 - 1);
    long n = ok && plen * 3 / 4 < sizeof(payload) ? cmn_b64url_decode(dot1 + 1, plen, payload) : -1;
    return n < 0 ? NULL : json_loadb((const char *)payload, (size_t)n, 0, NULL);
}

static json_t *must_verify(const char *jwt, const char *what)
{
    if (!jwt)
        fail_msg("%s: no assertion", what);
    json_t *p = verified(jwt);
    if (!p)
        fail_msg("%s: the assertion does not verify with the published key", what);
    return p;
}

static gw_assertion_cache_stats_t stats(void)
{
    gw_assertion_cache_stats_t s;
    gw_assertion_stats(as, &s);
    return s;
}

static const gw_identity_t alice = {.kind = GW_ID_SSO,
                                    .iss = "https://idp",
                                    .sub = "alice",
                                    .email = "alice@acme.example",
                                    .email_verified = 1,
                                    .mfa = 1};

static void one_caller_one_assertion(void **state)
{
    cmn_arena_t *arena = *state;
    gw_assertion_cache_stats_t before = stats();
    const char *first = gw_assertion_mint(as, &alice, "acme", "write", "eu", "rid-1", NOW, arena);
    const char *again =
        gw_assertion_mint(as, &alice, "acme", "write", "eu", "rid-2", NOW + 1, arena);
    assert_non_null(first);
    assert_non_null(again);
    assert_ptr_not_equal(first, again); /* each request its own copy */
    assert_string_equal(first, again);
    gw_assertion_cache_stats_t after = stats();
    assert_int_equal(after.misses - before.misses, 1);
    assert_int_equal(after.hits - before.hits, 1);

    json_t *p = must_verify(again, "alice");
    json_t *want = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:I}", "iss",
                             "https://gw.example", "sub", "alice", "sub_iss", "https://idp",
                             "email", "alice@acme.example", "org", "acme", "role", "write",
                             "region", "eu", "mfa", 1, "email_verified", 1, "iat", (json_int_t)NOW,
                             "exp", (json_int_t)NOW + GW_ASSERTION_TTL_SECONDS);
    if (!json_equal(p, want)) {
        char *got = json_dumps(p, JSON_SORT_KEYS);
        fail_msg("payload %s", got);
    }
    assert_null(json_object_get(p, "rid")); /* the request id travels in X-Request-Id */
    json_decref(want);
    json_decref(p);

    /* another key (another process, a rotated key) never hands out this one's assertion */
    gw_assertion_t *other = gw_assertion_create(NULL, "https://gw.example");
    const char *theirs = gw_assertion_mint(other, &alice, "acme", "write", "eu", NULL, NOW, arena);
    assert_non_null(theirs);
    assert_string_not_equal(theirs, first);
    assert_null(verified(theirs));
    gw_assertion_destroy(other);
}

/* Every claim splits the cache: a caller differing from alice in any one claim — or in a grant
 * — gets an assertion of its own, saying exactly its own claims. */
static void never_across_claim_sets(void **state)
{
    cmn_arena_t *arena = *state;
    typedef struct {
        const char *name;
        gw_identity_t id;
        const char *org, *role, *region;
        const char *claim; /* the claim that differs from alice's */
        json_t *value;     /* its value (stolen) */
    } variant_t;
    const gw_identity_t a = alice;
    variant_t v[] = {
        {"alice", a, "acme", "write", "eu", "sub", json_string("alice")},
        {"another subject", a, "acme", "write", "eu", "sub", json_string("bob")},
        {"another issuer", a, "acme", "write", "eu", "sub_iss", json_string("https://idp2")},
        {"another email", a, "acme", "write", "eu", "email", json_string("al@acme.example")},
        {"no email", a, "acme", "write", "eu", "email", NULL},
        {"email not verified", a, "acme", "write", "eu", "email_verified", json_false()},
        {"no second factor", a, "acme", "write", "eu", "mfa", json_false()},
        {"through a hubgate token", a, "acme", "write", "eu", "token_id", json_string("tok-1")},
        {"through another token", a, "acme", "write", "eu", "token_id", json_string("tok-2")},
        {"anonymous", a, "acme", "write", "eu", "sub", json_string("anonymous")},
        {"another org", a, "beta", "write", "eu", "org", json_string("beta")},
        {"no org", a, NULL, "write", "eu", "org", json_null()},
        {"another role", a, "acme", "read", "eu", "role", json_string("read")},
        {"no role", a, "acme", NULL, "eu", "role", json_null()},
        {"another region", a, "acme", "write", "us", "region", json_string("us")},
        {"no region", a, "acme", "write", NULL, "region", json_null()},
        {"org and role swapped", a, "write", "acme", "eu", "org", json_string("write")},
        /* a subject that smuggles an email claim: escaped, so not alice's "email" */
        {"quote in a subject", a, "acme", "write", "eu", "sub",
         json_string("alice\",\"email\":\"alice@acme.example")},
        {"empty subject", a, "acme", "write", "eu", "sub", json_string("")},
    };
    const size_t n = sizeof(v) / sizeof(v[0]);
    v[1].id.sub = "bob";
    v[2].id.iss = "https://idp2";
    v[3].id.email = "al@acme.example";
    v[4].id.email = NULL;
    v[5].id.email_verified = 0;
    v[6].id.mfa = 0;
    v[7].id.kind = GW_ID_TOKEN, v[7].id.token_id = "tok-1";
    v[8].id.kind = GW_ID_TOKEN, v[8].id.token_id = "tok-2";
    v[9].id.kind = GW_ID_ANONYMOUS;
    v[17].id.sub = "alice\",\"email\":\"alice@acme.example";
    v[18].id.sub = "";
    v[17].id.email = NULL;
    const char *jwt[sizeof(v) / sizeof(v[0])];
    for (size_t i = 0; i < n; i++) {
        jwt[i] = gw_assertion_mint(as, &v[i].id, v[i].org, v[i].role, v[i].region, NULL, NOW + 100,
                                   arena);
        json_t *p = must_verify(jwt[i], v[i].name);
        json_t *got = json_object_get(p, v[i].claim);
        if (v[i].value ? !json_equal(got, v[i].value) : got != NULL)
            fail_msg("%s: claim %s is %s", v[i].name, v[i].claim,
                     got ? json_dumps(got, JSON_ENCODE_ANY) : "absent");
        if (i == 17 && json_object_get(p, "email") != NULL)
            fail_msg("%s: an email claim appeared", v[i].name);
        json_decref(p);
        json_decref(v[i].value);
        for (size_t j = 0; j < i; j++)
            if (strcmp(jwt[i], jwt[j]) == 0)
                fail_msg("%s was given the assertion of %s", v[i].name, v[j].name);
    }
    /* and each, asked again, gets its own back */
    for (size_t i = 0; i < n; i++) {
        const char *again = gw_assertion_mint(as, &v[i].id, v[i].org, v[i].role, v[i].region, NULL,
                                              NOW + 101, arena);
        if (!again || strcmp(again, jwt[i]) != 0)
            fail_msg("%s: not reused", v[i].name);
    }
}

/* The key is the claim set, nothing else: what an identity holds that the assertion does not
 * say (groups, display names, times, a token's scope) does not split it, since the hub could
 * not tell those assertions apart anyway. */
static void what_is_no_claim_does_not_split(void **state)
{
    cmn_arena_t *arena = *state;
    const char *groups[] = {"acme-ml", "acme-admins"};
    gw_identity_t other = alice;
    other.groups = groups;
    other.ngroups = 2;
    other.name = "Alice A.";
    other.preferred_username = "aa";
    other.auth_time = NOW - 5;
    other.expires = NOW + 3600;
    const char *mine = gw_assertion_mint(as, &alice, "acme", "admin", "eu", NULL, NOW + 200, arena);
    const char *theirs =
        gw_assertion_mint(as, &other, "acme", "admin", "eu", NULL, NOW + 200, arena);
    assert_non_null(mine);
    assert_non_null(theirs);
    assert_string_equal(mine, theirs);
}

/* Reused while at most GW_ASSERTION_REUSE_SECONDS old, so a hub always gets at least half its
 * lifetime; never when the clock went back past its iat. */
static void renewed_before_half_its_life(void **state)
{
    cmn_arena_t *arena = *state;
    const int64_t t = NOW + 1000;
    gw_identity_t carol = alice;
    carol.sub = "carol";
    const char *first = gw_assertion_mint(as, &carol, "acme", "read", "eu", NULL, t, arena);
    const char *last = gw_assertion_mint(as, &carol, "acme", "read", "eu", NULL,
                                         t + GW_ASSERTION_REUSE_SECONDS, arena);
    assert_non_null(first);
    assert_string_equal(first, last);
    json_t *p = must_verify(last, "carol at half life");
    assert_true(json_integer_value(json_object_get(p, "exp")) - (t + GW_ASSERTION_REUSE_SECONDS) >=
                GW_ASSERTION_TTL_SECONDS - GW_ASSERTION_REUSE_SECONDS);
    json_decref(p);

    const char *renewed = gw_assertion_mint(as, &carol, "acme", "read", "eu", NULL,
                                            t + GW_ASSERTION_REUSE_SECONDS + 1, arena);
    assert_non_null(renewed);
    assert_string_not_equal(renewed, first);
    p = must_verify(renewed, "carol renewed");
    assert_int_equal(json_integer_value(json_object_get(p, "iat")),
                     t + GW_ASSERTION_REUSE_SECONDS + 1);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")),
                     t + GW_ASSERTION_REUSE_SECONDS + 1 + GW_ASSERTION_TTL_SECONDS);
    json_decref(p);

    /* the clock stepped back: an assertion issued "in the future" is not handed out */
    const char *back = gw_assertion_mint(as, &carol, "acme", "read", "eu", NULL, t - 10, arena);
    assert_non_null(back);
    p = must_verify(back, "carol after the clock went back");
    assert_int_equal(json_integer_value(json_object_get(p, "iat")), t - 10);
    json_decref(p);
    assert_null(gw_assertion_mint(as, &carol, "acme", "read", "eu", NULL, -1, arena));
    assert_null(gw_assertion_mint(as, &carol, "acme", "read", "eu", NULL, INT64_MAX, arena));
}

/* Many more callers than the cache holds: it stays within its bound, gives up entries, and
 * every assertion is still the caller's own. */
static void bounded_under_many_callers(void **state)
{
    cmn_arena_t *arena = *state;
    const int64_t t = NOW + 2000;
    const unsigned callers = 2 * GW_ASSERTION_CACHE_ENTRIES;
    gw_assertion_cache_stats_t before = stats();
    for (unsigned i = 0; i < callers; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "caller-%u", i);
        gw_identity_t id = alice;
        id.sub = sub;
        const char *jwt = gw_assertion_mint(as, &id, "acme", "read", "eu", NULL, t, arena);
        if (i % 97 == 0 || i == callers - 1) { /* a sample: each verification costs as much */
            json_t *p = must_verify(jwt, sub);
            if (strcmp(json_string_value(json_object_get(p, "sub")), sub) != 0)
                fail_msg("%s got %s's assertion", sub,
                         json_string_value(json_object_get(p, "sub")));
            json_decref(p);
        } else if (!jwt) {
            fail_msg("%s: no assertion", sub);
        }
        cmn_arena_reset(arena);
    }
    gw_assertion_cache_stats_t after = stats();
    assert_int_equal(after.capacity, GW_ASSERTION_CACHE_ENTRIES);
    assert_true(after.entries <= GW_ASSERTION_CACHE_ENTRIES);
    assert_true(after.evictions - before.evictions >= callers - GW_ASSERTION_CACHE_ENTRIES);
    assert_int_equal(after.misses - before.misses, callers);
}

/* Claims too long for a cache slot are signed per request, correctly. */
static void oversize_claims_signed_every_time(void **state)
{
    cmn_arena_t *arena = *state;
    char email[1200];
    memset(email, 'e', sizeof(email) - 14);
    strcpy(email + sizeof(email) - 14, "@acme.example");
    gw_identity_t id = alice;
    id.email = email;
    gw_assertion_cache_stats_t before = stats();
    const char *a1 = gw_assertion_mint(as, &id, "acme", "read", "eu", NULL, NOW, arena);
    const char *a2 = gw_assertion_mint(as, &id, "acme", "read", "eu", NULL, NOW, arena);
    json_t *p = must_verify(a2, "a long email");
    assert_string_equal(json_string_value(json_object_get(p, "email")), email);
    json_decref(p);
    assert_string_not_equal(a1, a2);
    assert_int_equal(stats().oversize - before.oversize, 2);
}

/* Strings are escaped as JSON and kept byte for byte; text that is not UTF-8 is refused (as
 * jansson refused it when it wrote the claims). */
static void strings_exact_and_utf8_checked(void **state)
{
    cmn_arena_t *arena = *state;
    static const char *const good[] = {
        "a\"b\\c/d",        "tab\there\nnewline\x01\x1f", "caf\xc3\xa9",
        "\xe2\x82\xac",     "\xf0\x9f\x98\x80",           "\xef\xbf\xbf",
        "\xf4\x8f\xbf\xbf",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        gw_identity_t id = alice;
        id.sub = good[i];
        json_t *p =
            must_verify(gw_assertion_mint(as, &id, NULL, NULL, NULL, NULL, NOW, arena), good[i]);
        if (strcmp(json_string_value(json_object_get(p, "sub")), good[i]) != 0)
            fail_msg("subject %zu came back as %s", i,
                     json_string_value(json_object_get(p, "sub")));
        json_decref(p);
    }
    static const struct {
        const char *name, *s;
    } bad[] = {
        {"stray continuation", "a\x80"},
        {"invalid byte", "\xff"},
        {"overlong slash", "\xc0\xaf"},
        {"overlong 3-byte", "\xe0\x80\xaf"},
        {"surrogate", "\xed\xa0\x80"},
        {"past U+10FFFF", "\xf4\x90\x80\x80"},
        {"truncated", "\xe2\x82"},
        {"truncated 4-byte", "\xf0\x9f\x98"},
        {"lead byte then ASCII", "\xc3"
                                 "a"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gw_identity_t id = alice;
        id.email = bad[i].s;
        if (gw_assertion_mint(as, &id, "acme", "read", "eu", NULL, NOW, arena))
            fail_msg("%s: an assertion was made", bad[i].name);
    }
    assert_null(gw_assertion_mint(as, &alice, "acme\xff", "read", "eu", NULL, NOW, arena));
}

/* Event-loop threads minting at once for a few callers: each gets its own caller's assertion,
 * all of them verifiable, mostly from the cache. */
#define THREADS 4
#define ROUNDS  3000
#define CALLERS 6

static void *loop(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    intptr_t wrong = 0;
    const char *seen[CALLERS] = {0};
    char *copies[CALLERS] = {0};
    for (int r = 0; r < ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        unsigned c = (seed >> 8) % CALLERS;
        char sub[16];
        snprintf(sub, sizeof(sub), "loop-%u", c);
        gw_identity_t id = alice;
        id.sub = sub;
        const char *jwt =
            gw_assertion_mint(as, &id, "acme", "read", "eu", NULL, NOW + 5000, &arena);
        if (!jwt) {
            wrong++;
        } else if (!seen[c]) {
            /* the first time: check it is this caller's and verifies; later ones must equal it
             * or, when two threads signed at once, verify in their turn */
            json_t *p = verified(jwt);
            if (!p || strcmp(json_string_value(json_object_get(p, "sub")), sub) != 0)
                wrong++;
            json_decref(p);
            seen[c] = copies[c] = strdup(jwt);
        } else if (strcmp(jwt, seen[c]) != 0) {
            json_t *p = verified(jwt);
            if (!p || strcmp(json_string_value(json_object_get(p, "sub")), sub) != 0)
                wrong++;
            json_decref(p);
        }
        cmn_arena_reset(&arena);
    }
    for (int c = 0; c < CALLERS; c++)
        free(copies[c]);
    cmn_arena_free(&arena);
    return (void *)wrong;
}

static void threads_get_their_own(void **state)
{
    (void)state;
    gw_assertion_cache_stats_t before = stats();
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, loop, (void *)(i + 1)), 0);
    intptr_t wrong = 0;
    for (int i = 0; i < THREADS; i++) {
        void *w;
        pthread_join(t[i], &w);
        wrong += (intptr_t)w;
    }
    assert_int_equal(wrong, 0);
    gw_assertion_cache_stats_t after = stats();
    /* at most one signature per caller per thread that raced to it */
    assert_true(after.misses - before.misses <= CALLERS * THREADS);
    assert_true(after.hits - before.hits >= THREADS * ROUNDS - CALLERS * THREADS);
}

/* A PEM of key (private: PKCS#8, else SubjectPublicKeyInfo), NUL-terminated, into out. */
static void pem_of(EVP_PKEY *key, int private_key, char *out, size_t cap)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_true(private_key ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                            : PEM_write_bio_PUBKEY(bio, key));
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    assert_true(n > 0 && (size_t)n < cap);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(bio);
}

/* identity.assertion_published_keys: published after the signing key, never signing; a
 * private key file published only when private to its owner; what a reload compares. */
static void published_keys_are_listed_never_used(void **state)
{
    cmn_arena_t *a = *state;
    char dir[128], signing[256], next_pub[256], prev_priv[256], open_priv[256], junk[256];
    char text[4096];
    testutil_tmpdir(dir, sizeof(dir), "assertion-keys");
    EVP_PKEY *k1 = EVP_EC_gen("P-256"), *k2 = EVP_EC_gen("P-256"), *k3 = EVP_EC_gen("P-256");
    pem_of(k1, 1, text, sizeof(text));
    testutil_write_file(dir, "signing.pem", text, 0600, signing, sizeof(signing));
    pem_of(k2, 0, text, sizeof(text));
    testutil_write_file(dir, "next.pub", text, 0644, next_pub, sizeof(next_pub));
    pem_of(k3, 1, text, sizeof(text));
    testutil_write_file(dir, "previous.pem", text, 0600, prev_priv, sizeof(prev_priv));
    testutil_write_file(dir, "open.pem", text, 0644, open_priv, sizeof(open_priv));
    testutil_write_file(dir, "junk.pub", "not a key\n", 0644, junk, sizeof(junk));

    const char *published[] = {next_pub, prev_priv, next_pub, signing};
    gw_assertion_t *only = gw_assertion_create_keys(signing, NULL, 0, "https://gw.example");
    gw_assertion_t *both = gw_assertion_create_keys(signing, published, 4, "https://gw.example");
    gw_assertion_t *again = gw_assertion_create_keys(signing, published, 2, "https://gw.example");
    assert_non_null(only);
    assert_non_null(both);
    assert_non_null(again);
    /* the signing key first, then each published key once (a repeat, or the signing key
     * itself, listed once) */
    const char *ids[8], *only_ids[8];
    assert_int_equal(gw_assertion_key_ids(both, ids, 8), 3);
    assert_int_equal(gw_assertion_key_ids(only, only_ids, 8), 1);
    assert_string_equal(ids[0], only_ids[0]);
    json_t *jwks = json_loads(gw_assertion_jwks(both), 0, NULL);
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *k = json_array_get(json_object_get(jwks, "keys"), i);
        assert_string_equal(json_string_value(json_object_get(k, "kid")), ids[i]);
        assert_null(json_object_get(k, "d")); /* never the private part */
    }
    json_decref(jwks);
    /* what is signed names the signing key only */
    const char *jwt = gw_assertion_mint(both, &alice, "acme", "read", "us", NULL, NOW, a);
    assert_non_null(jwt);
    char header[256];
    long hn = cmn_b64url_decode(jwt, (size_t)(strchr(jwt, '.') - jwt), (unsigned char *)header);
    assert_true(hn > 0);
    header[hn] = '\0';
    assert_non_null(strstr(header, ids[0]));
    /* same keys, same roles: equal; another published set or signing key: not */
    assert_true(gw_assertion_same_keys(both, again));
    assert_false(gw_assertion_same_keys(both, only));
    const char *swapped[] = {signing};
    gw_assertion_t *other = gw_assertion_create_keys(prev_priv, swapped, 1, "https://gw.example");
    assert_non_null(other);
    assert_false(gw_assertion_same_keys(other, only));
    /* refused: a private key others may read, a file that holds no key, too many */
    const char *open[] = {open_priv}, *bad[] = {junk};
    const char *many[] = {next_pub, next_pub, next_pub, next_pub, next_pub};
    assert_null(gw_assertion_create_keys(signing, open, 1, "https://gw.example"));
    assert_null(gw_assertion_create_keys(signing, bad, 1, "https://gw.example"));
    assert_null(gw_assertion_create_keys(signing, many, 5, "https://gw.example"));
    gw_assertion_destroy(only);
    gw_assertion_destroy(both);
    gw_assertion_destroy(again);
    gw_assertion_destroy(other);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
    testutil_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        testutil_arena_test(one_caller_one_assertion),
        testutil_arena_test(never_across_claim_sets),
        testutil_arena_test(what_is_no_claim_does_not_split),
        testutil_arena_test(renewed_before_half_its_life),
        testutil_arena_test(bounded_under_many_callers),
        testutil_arena_test(oversize_claims_signed_every_time),
        testutil_arena_test(strings_exact_and_utf8_checked),
        cmocka_unit_test(threads_get_their_own),
        testutil_arena_test(published_keys_are_listed_never_used),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
