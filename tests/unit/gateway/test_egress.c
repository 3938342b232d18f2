#include <string.h>
#include <unistd.h>

#include "support/testutil.h"

#include "common/err.h"
#include "gateway/forward/egress.h"

#define HEX64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* Every string field of a claim, by name. */
static const struct {
    const char *name;
    size_t offset;
} claim_strings[] = {
/* clang-format off */
#define FIELD(f) {#f, offsetof(gw_egress_claim_t, f)}
    /* clang-format on */
    FIELD(url),    FIELD(method), FIELD(headers), FIELD(repo_type), FIELD(repo),
    FIELD(action), FIELD(iss),    FIELD(sub),     FIELD(email),     FIELD(token_id),
    FIELD(org),    FIELD(role),   FIELD(region),  FIELD(rule),      FIELD(policy_sha256),
    FIELD(object),
#undef FIELD
};

static const char **claim_string(gw_egress_claim_t *c, size_t i)
{
    return (const char **)((char *)c + claim_strings[i].offset);
}

/* A claim with every string present and empty, expiring in 2096: tests set what they need. */
static gw_egress_claim_t empty_claim(void)
{
    gw_egress_claim_t c = {.expires = 4000000000};
    for (size_t i = 0; i < sizeof(claim_strings) / sizeof(claim_strings[0]); i++)
        *claim_string(&c, i) = "";
    return c;
}

/* A set of one fresh random key and no previous one. */
static gw_egress_keys_t random_key(void)
{
    gw_egress_keys_t k;
    assert_int_equal(gw_egress_keys_load(&k, NULL, NULL, 0, NULL, 0), 0);
    return k;
}

static void seal_then_open(void **state)
{
    gw_egress_keys_t k = random_key();
    cmn_arena_t *a = *state;
    gw_egress_claim_t c = {.url = "http://127.0.0.1:9/lfs/ab/abcd?sig=x&exp=1",
                           .method = "GET",
                           .headers = "x-amz-acl: private\n",
                           .repo_type = "model",
                           .repo = "acme/bert",
                           .action = "read",
                           .iss = "https://idp",
                           .sub = "alice",
                           .email = "alice@acme.example",
                           .token_id = "tok_1",
                           .org = "acme",
                           .role = "write",
                           .region = "us",
                           .rule = "orgs.acme.members[0]",
                           .policy_sha256 = HEX64,
                           .object = HEX64,
                           .expires = 2000};
    const char *t = gw_egress_seal(&k, &c, a);
    assert_non_null(t);
    assert_null(strstr(t, "127.0.0.1")); /* the URL is not readable in the token */
    for (const char *p = t; *p; p++)
        assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    gw_egress_claim_t o;
    assert_int_equal(gw_egress_open(&k, t, 1999, a, &o), 0);
    for (size_t i = 0; i < sizeof(claim_strings) / sizeof(claim_strings[0]); i++)
        if (strcmp(*claim_string(&o, i), *claim_string(&c, i)) != 0)
            fail_msg("%s: \"%s\", sealed \"%s\"", claim_strings[i].name, *claim_string(&o, i),
                     *claim_string(&c, i));
    assert_int_equal(o.expires, 2000);
    assert_int_equal(gw_egress_open(&k, t, 2001, a, &o), CMN_ERR_EXPIRED);
}

static void tampering_and_foreign_keys_fail(void **state)
{
    gw_egress_keys_t k = random_key(), other = random_key();
    cmn_arena_t *a = *state;
    gw_egress_claim_t c = empty_claim();
    c.url = "http://s/x";
    c.method = "PUT";
    c.repo = "a/b";
    c.action = "write";
    c.region = "us";
    const char *t = gw_egress_seal(&k, &c, a);
    gw_egress_claim_t o;
    assert_int_equal(gw_egress_open(&other, t, 0, a, &o), CMN_ERR_PARSE);
    char *bad = strdup(t);
    for (size_t i = 0; bad[i]; i++) {
        char saved = bad[i];
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_not_equal(gw_egress_open(&k, bad, 0, a, &o), 0);
        bad[i] = saved;
    }
    free(bad);
    assert_int_equal(gw_egress_open(&k, "", 0, a, &o), CMN_ERR_PARSE);
    assert_int_equal(gw_egress_open(&k, "not+base64", 0, a, &o), CMN_ERR_PARSE);
}

/* A Xet token and a link are sealed under different associated data: neither opens as the
 * other, under the same key. */
static void xet_tokens_are_not_links(void **state)
{
    gw_egress_keys_t k = random_key();
    cmn_arena_t *a = *state;
    gw_egress_claim_t c = empty_claim();
    c.url = "https://cas.example";
    c.method = "XET";
    c.headers = "Authorization: Bearer upstream\n";
    c.repo = "a/b";
    c.action = "read";
    c.region = "us";
    gw_egress_claim_t o;
    const char *token = gw_egress_seal_xet_token(&k, &c, a);
    assert_non_null(token);
    assert_int_equal(gw_egress_open_xet_token(&k, token, 0, a, &o), 0);
    assert_string_equal(o.headers, "Authorization: Bearer upstream\n");
    assert_int_equal(gw_egress_open(&k, token, 0, a, &o), CMN_ERR_PARSE);
    const char *link = gw_egress_seal(&k, &c, a);
    assert_non_null(link);
    assert_int_equal(gw_egress_open_xet_token(&k, link, 0, a, &o), CMN_ERR_PARSE);
}

/* The egress key file: exactly 64 hex digits and an optional newline, private to its owner. */
static void key_files_are_read_strictly(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *content;
        mode_t mode;
        int want;
    } cases[] = {
        {"64 hex digits", HEX64, 0600, 0},
        {"and a newline", HEX64 "\n", 0600, 0},
        {"upper case", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", 0400, 0},
        {"63 digits", "00010203040506070809", 0600, CMN_ERR_PARSE},
        {"a partial key padded with a non-digit",
         "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g", 0600, CMN_ERR_PARSE},
        {"a digit short", "00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600,
         CMN_ERR_PARSE},
        {"a space inside, which sscanf would skip",
         "0001020304 5060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600, CMN_ERR_PARSE},
        {"a leading space", " 00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
         0600, CMN_ERR_PARSE},
        {"a sign", "+00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600,
         CMN_ERR_PARSE},
        {"two newlines", HEX64 "\n\n", 0600, CMN_ERR_PARSE},
        {"a CR LF", HEX64 "\r\n", 0600, CMN_ERR_PARSE},
        {"too long", HEX64 "00", 0600, CMN_ERR_PARSE},
        {"empty", "", 0600, CMN_ERR_PARSE},
        {"readable by others", HEX64, 0644, CMN_ERR_DENIED},
        {"readable by the group", HEX64, 0640, CMN_ERR_DENIED},
        {"writable by the group", HEX64, 0620, CMN_ERR_DENIED},
        {"writable by others", HEX64, 0602, CMN_ERR_DENIED},
    };
    char dir[128], path[256];
    testutil_tmpdir(dir, sizeof(dir), "egress-key");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        testutil_write_file(dir, "egress.key", cases[i].content, cases[i].mode, path, sizeof(path));
        gw_egress_key_t k;
        memset(&k, 0xee, sizeof(k));
        char err[512] = "";
        int rc = gw_egress_key_load(&k, path, err, sizeof(err));
        if (rc != cases[i].want)
            fail_msg("case \"%s\": got %d (%s), want %d", cases[i].name, rc, err, cases[i].want);
        if (rc == 0) {
            for (int b = 0; b < 32; b++)
                if (k.key[b] != b)
                    fail_msg("case \"%s\": byte %d is %u", cases[i].name, b, k.key[b]);
        } else {
            if (!strstr(err, path))
                fail_msg("case \"%s\": the message names no file: %s", cases[i].name, err);
            if (cases[i].want == CMN_ERR_DENIED && !strstr(err, "chmod 600"))
                fail_msg("case \"%s\": the message names no fix: %s", cases[i].name, err);
            if (k.key[0] != 0xee)
                fail_msg("case \"%s\": a refused file changed the key", cases[i].name);
        }
        unlink(path);
    }
    char err[512];
    gw_egress_key_t k;
    assert_int_equal(gw_egress_key_load(&k, "/nonexistent/egress.key", err, sizeof(err)),
                     CMN_ERR_NOTFOUND);
    rmdir(dir);
}

/* A sealed link must fit in a request-target: every field is capped, and so is their sum. */
static void sealed_links_stay_bounded(void **state)
{
    gw_egress_keys_t k = random_key();
    cmn_arena_t *a = *state;
    static char url[GW_EGRESS_MAX_URL + 2], headers[GW_EGRESS_MAX_HEADERS + 2],
        field[GW_EGRESS_MAX_FIELD + 2];
    memcpy(url, "https://s/", 10);
    memset(url + 10, 'u', sizeof(url) - 11);
    memset(headers, 'h', sizeof(headers) - 1);
    memset(field, 'f', sizeof(field) - 1);
    gw_egress_claim_t base = empty_claim();
    base.url = "https://s/x";
    base.method = "GET";
    base.repo_type = "model";
    base.repo = "a/b";
    base.action = "read";
    base.iss = "i";
    base.sub = "s";
    base.region = "us";
    base.rule = "r";
    struct {
        const char *name;
        size_t url_len, headers_len, sub_len; /* 0: base's value */
        int sealed;
    } cases[] = {
        {"the largest URL alone", GW_EGRESS_MAX_URL, 0, 0, 1},
        {"a URL over its cap", GW_EGRESS_MAX_URL + 1, 0, 0, 0},
        {"the largest headers alone", 0, GW_EGRESS_MAX_HEADERS, 0, 1},
        {"headers over their cap", 0, GW_EGRESS_MAX_HEADERS + 1, 0, 0},
        {"a field at its cap", 0, 0, GW_EGRESS_MAX_FIELD, 1},
        {"a field over its cap", 0, 0, GW_EGRESS_MAX_FIELD + 1, 0},
        {"URL and headers together over the total", GW_EGRESS_MAX_URL, GW_EGRESS_MAX_HEADERS, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_egress_claim_t c = base;
        if (cases[i].url_len)
            c.url = cmn_arena_strndup(a, url, cases[i].url_len);
        if (cases[i].headers_len)
            c.headers = cmn_arena_strndup(a, headers, cases[i].headers_len);
        if (cases[i].sub_len)
            c.sub = cmn_arena_strndup(a, field, cases[i].sub_len);
        const char *t = gw_egress_seal(&k, &c, a);
        if (!!t != cases[i].sealed)
            fail_msg("case \"%s\": sealed %d, want %d", cases[i].name, !!t, cases[i].sealed);
        if (t && strlen(t) > GW_EGRESS_MAX_TOKEN)
            fail_msg("case \"%s\": %zu characters", cases[i].name, strlen(t));
        gw_egress_claim_t o;
        if (t && gw_egress_open(&k, t, 0, a, &o) != 0)
            fail_msg("case \"%s\": does not open", cases[i].name);
    }
    gw_egress_claim_t missing = base;
    missing.rule = NULL;
    assert_null(gw_egress_seal(&k, &missing, a));
    /* a token longer than any sealed link is refused before decoding */
    char *long_token = cmn_arena_alloc(a, GW_EGRESS_MAX_TOKEN + 2);
    memset(long_token, 'A', GW_EGRESS_MAX_TOKEN + 1);
    long_token[GW_EGRESS_MAX_TOKEN + 1] = '\0';
    gw_egress_claim_t o;
    assert_int_equal(gw_egress_open(&k, long_token, 0, a, &o), CMN_ERR_PARSE);
}

/* A rotation (SIGHUP, docs/runbook.md): tokens sealed under a previous key still open, of
 * every kind (link, Xet token, sign-in cookie), and keep their expiry; new ones are sealed
 * under the current key only; a key no longer listed opens nothing. */
static void previous_keys_still_open(void **state)
{
    cmn_arena_t *a = *state;
    gw_egress_keys_t old = random_key(), next = random_key();
    gw_egress_keys_t rotated = {
        .current = next.current, .previous = {old.current}, .n_previous = 1};
    gw_egress_keys_t dropped = {.current = next.current};
    gw_egress_claim_t c = empty_claim();
    c.url = "https://s/x";
    c.method = "GET";
    c.repo = "a/b";
    c.action = "read";
    c.region = "us";
    c.expires = 2000;
    gw_egress_claim_t o;
    const char *link = gw_egress_seal(&old, &c, a), *xet = gw_egress_seal_xet_token(&old, &c, a);
    const char *login = gw_egress_seal_login(&old, &c, a);
    assert_int_equal(gw_egress_open(&rotated, link, 1999, a, &o), 0);
    assert_string_equal(o.url, "https://s/x");
    assert_int_equal(gw_egress_open(&rotated, link, 2001, a, &o), CMN_ERR_EXPIRED);
    assert_int_equal(gw_egress_open_xet_token(&rotated, xet, 1999, a, &o), 0);
    assert_int_equal(gw_egress_open_login(&rotated, login, 1999, a, &o), 0);
    /* what is sealed now opens without the previous key, and not under it alone */
    const char *fresh = gw_egress_seal(&rotated, &c, a);
    assert_int_equal(gw_egress_open(&dropped, fresh, 1999, a, &o), 0);
    assert_int_equal(gw_egress_open(&old, fresh, 1999, a, &o), CMN_ERR_PARSE);
    /* the previous key dropped: its tokens are refused like any foreign one */
    assert_int_equal(gw_egress_open(&dropped, link, 1999, a, &o), CMN_ERR_PARSE);
    assert_int_equal(gw_egress_open_login(&dropped, login, 1999, a, &o), CMN_ERR_PARSE);
    /* the associated data still keeps kinds apart under a previous key */
    assert_int_equal(gw_egress_open(&rotated, xet, 1999, a, &o), CMN_ERR_PARSE);
}

/* Key sets from files, their ids (no key material) and their comparison. */
static void key_sets_load_and_compare(void **state)
{
    (void)state;
    char dir[128], cur[256], prev[256], bad[256], err[512] = "";
    testutil_tmpdir(dir, sizeof(dir), "egress-keys");
    testutil_write_file(dir, "current.key", HEX64 "\n", 0600, cur, sizeof(cur));
    testutil_write_file(dir, "previous.key",
                        "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600,
                        prev, sizeof(prev));
    testutil_write_file(dir, "bad.key", "nope", 0600, bad, sizeof(bad));
    const char *previous[] = {prev}, *broken[] = {prev, bad};
    gw_egress_keys_t a, b, c;
    assert_int_equal(gw_egress_keys_load(&a, cur, previous, 1, err, sizeof(err)), 0);
    assert_int_equal(a.n_previous, 1);
    assert_int_equal(a.previous[0].key[0], 0xff);
    assert_int_equal(gw_egress_keys_load(&b, cur, previous, 1, err, sizeof(err)), 0);
    assert_true(gw_egress_keys_equal(&a, &b));
    assert_int_equal(gw_egress_keys_load(&c, cur, NULL, 0, err, sizeof(err)), 0);
    assert_false(gw_egress_keys_equal(&a, &c));
    /* one unfit file: refused, naming it, and the set untouched */
    memset(&c, 0xee, sizeof(c));
    assert_int_equal(gw_egress_keys_load(&c, cur, broken, 2, err, sizeof(err)), CMN_ERR_PARSE);
    assert_non_null(strstr(err, bad));
    assert_int_equal(c.current.key[0], 0xee);
    /* ids: 16 hex digits, distinct, stable, and not the key's own bytes */
    char id1[17], id2[17], id3[17];
    gw_egress_key_id(&a.current, id1);
    gw_egress_key_id(&b.current, id2);
    gw_egress_key_id(&a.previous[0], id3);
    assert_int_equal(strlen(id1), 16);
    assert_string_equal(id1, id2);
    assert_string_not_equal(id1, id3);
    assert_null(strstr(HEX64, id1));
    unlink(cur);
    unlink(prev);
    unlink(bad);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        testutil_arena_test(seal_then_open),
        testutil_arena_test(tampering_and_foreign_keys_fail),
        testutil_arena_test(xet_tokens_are_not_links),
        cmocka_unit_test(key_files_are_read_strictly),
        testutil_arena_test(sealed_links_stay_bounded),
        testutil_arena_test(previous_keys_still_open),
        cmocka_unit_test(key_sets_load_and_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
