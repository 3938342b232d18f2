/* The hash chain (audit/chain.h) against vectors computed independently:
 *   printf 'hubgate-audit-genesis-v1\ngw-1' | sha256sum
 *   python3: sha256(genesis + canonical), then sha256(h1 + canonical)
 * and chain 2 with the coreutils recipe of docs/evidence-format.md "Chain v2":
 *   PREV_HEX=$(printf 'hubgate-audit-genesis-v1\n%s' gw-1 | sha256sum | cut -d' ' -f1)
 *   c=$(printf '%s' "$CANONICAL" | sha256sum | cut -d' ' -f1)
 *   (printf '%s' "$PREV_HEX" | xxd -r -p; printf '\000\004acme'; printf '%s' "$c" | xxd -r -p) \
 *       | sha256sum
 * (org "acme"; '\000\000' for no org; '\000\005a"b\037c' for the escaped org below). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "audit/chain.h"
#include "common/err.h"
#include "common/sha256.h"

static const char canonical[] = "{\"id\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"kind\":"
                                "\"gateway.started\",\"ts\":\"2024-05-01T12:34:56.123456Z\","
                                "\"v\":1}";

/* Chain-2 vectors: the canonical text, the decoded org, the commitment and the link after
 * genesis("gw-1"), all from the shell commands above. */
static const struct {
    const char *name, *canonical, *org, *commitment, *hash;
    size_t orglen;
} v2_cases[] = {
    {"org acme",
     "{\"decision\":{\"effect\":\"allow\",\"org\":\"acme\"},\"id\":\"0190a1b2-c3d4-7e5f-8a9b-"
     "0c1d2e3f4a5b\",\"kind\":\"request\",\"ts\":\"2024-05-01T12:34:56.123456Z\",\"v\":2}",
     "acme", "64952f1b34817a6052b78b4a2e6120737a596b9c30aa2fe107afa79cd66db765",
     "551ad40fb535f62b00d40e4548835bcd84d9c932d6ced9846871113fc3b5c66d", 4},
    {"no decision",
     "{\"id\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"kind\":\"gateway.started\",\"ts\":"
     "\"2024-05-01T12:34:56.123456Z\",\"v\":2}",
     "", "2be0e145773edaaf395cd3f8962d63915d9332cc24b0bf69247b581ef4534135",
     "7612348b38860f00721a756cbfa52a23069b5e0656ee0dfa8887b1bcb86807b3", 0},
    {"escaped org",
     "{\"decision\":{\"effect\":\"deny\",\"org\":\"a\\\"b\\u001fc\",\"reason\":\"x\"},\"id\":"
     "\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"kind\":\"request\",\"ts\":\"2024-05-01T12:34:"
     "56.123456Z\",\"v\":2}",
     "a\"b\037c", "92e9152fd5bdc843a0063bacfeeeec7093a6d8837fb779cb2e43ce715be8d820",
     "f872cef302ac46c3d83ecaf0fee34c6bfcb134c59f8a61c2900541339a5f70e0", 5},
};

/* Fails the case `name` unless hash is the hex digest want. */
static void expect_hash(const char *name, const char *what, const unsigned char *hash,
                        const char *want)
{
    char hex[2 * AUD_HASH_BYTES + 1];
    cmn_hex(hash, AUD_HASH_BYTES, hex);
    if (strcmp(hex, want) != 0)
        fail_msg("%s: %s %s", name, what, hex);
}

static void chain_v2_like_coreutils(void **state)
{
    aud_hasher_t h;
    assert_int_equal(aud_hasher_init(&h), 0);
    for (size_t i = 0; i < sizeof(v2_cases) / sizeof(v2_cases[0]); i++) {
        const char *text = v2_cases[i].canonical;
        size_t len = strlen(text);
        unsigned char prev[AUD_HASH_BYTES], c[AUD_HASH_BYTES], out[AUD_HASH_BYTES];
        char org[AUD_CHAIN_MAX_ORG];
        size_t orglen = 99;
        aud_chain_genesis("gw-1", prev);
        if (aud_chain_version(text, len) != 2)
            fail_msg("%s: not read as chain 2", v2_cases[i].name);
        if (aud_chain_org(text, len, org, &orglen) != 0 || orglen != v2_cases[i].orglen ||
            memcmp(org, v2_cases[i].org, orglen) != 0)
            fail_msg("%s: org %.*s", v2_cases[i].name, (int)orglen, org);
        assert_int_equal(aud_chain_commitment(&h, text, len, c), 0);
        expect_hash(v2_cases[i].name, "commitment", c, v2_cases[i].commitment);
        assert_int_equal(aud_chain_next(&h, prev, text, len, out), 0);
        expect_hash(v2_cases[i].name, "hash", out, v2_cases[i].hash);
        /* the same link from the org and the commitment alone (a hidden event) */
        assert_int_equal(aud_chain_next_v2(&h, prev, org, orglen, c, out), 0);
        expect_hash(v2_cases[i].name, "hash from the commitment", out, v2_cases[i].hash);
        /* out may alias prev */
        assert_int_equal(aud_chain_next(&h, prev, text, len, prev), 0);
        expect_hash(v2_cases[i].name, "aliased hash", prev, v2_cases[i].hash);
    }
    aud_hasher_free(&h);
}

/* The version is the text's: the same bytes with "v":1 hash under chain 1, and chain 2 binds
 * the org: another org with the same commitment is another hash. */
static void version_and_org_are_bound(void **state)
{
    aud_hasher_t h;
    assert_int_equal(aud_hasher_init(&h), 0);
    unsigned char prev[AUD_HASH_BYTES], a[AUD_HASH_BYTES], b[AUD_HASH_BYTES], c[AUD_HASH_BYTES];
    aud_chain_genesis("gw-1", prev);
    const char *v2 = v2_cases[0].canonical;
    size_t len = strlen(v2);
    char v1[512];
    memcpy(v1, v2, len + 1);
    v1[len - 2] = '1';
    assert_int_equal(aud_chain_version(v1, len), 1);
    assert_int_equal(aud_chain_next(&h, prev, v1, len, a), 0);
    unsigned char want[AUD_HASH_BYTES];
    /* chain 1 is SHA-256(prev ‖ text): recompute it through the commitment helper */
    unsigned char buf[AUD_HASH_BYTES + 512];
    memcpy(buf, prev, AUD_HASH_BYTES);
    memcpy(buf + AUD_HASH_BYTES, v1, len);
    assert_int_equal(aud_chain_commitment(&h, (const char *)buf, AUD_HASH_BYTES + len, want), 0);
    assert_memory_equal(a, want, AUD_HASH_BYTES);
    assert_int_equal(aud_chain_next(&h, prev, v2, len, b), 0);
    assert_memory_not_equal(a, b, AUD_HASH_BYTES);

    assert_int_equal(aud_chain_commitment(&h, v2, len, c), 0);
    assert_int_equal(aud_chain_next_v2(&h, prev, "acmf", 4, c, a), 0);
    assert_memory_not_equal(a, b, AUD_HASH_BYTES);
    assert_int_equal(aud_chain_next_v2(&h, prev, "acme", 4, c, a), 0);
    assert_memory_equal(a, b, AUD_HASH_BYTES);
    /* org bytes cannot slide into the length or the commitment: "" + a commitment starting with
     * the org's bytes is another input */
    assert_int_equal(aud_chain_next_v2(&h, prev, "", 0, c, a), 0);
    assert_memory_not_equal(a, b, AUD_HASH_BYTES);
    assert_int_equal(aud_chain_next_v2(&h, prev, "x", AUD_CHAIN_MAX_ORG + 1, c, a), CMN_ERR_INVAL);
    aud_hasher_free(&h);
}

/* A "v":2 text whose decision cannot be read hashes to zeros (never a stored hash). */
static void unreadable_v2_org_fails(void **state)
{
    static const char *const bad[] = {
        "{\"decision\":{\"org\"},\"v\":2}",              /* a key without a value */
        "{\"decision\":{\"org\":\"a\\u0100\"},\"v\":2}", /* not a canonical escape */
        "{\"decision\":{\"effect\" \"allow\"},\"v\":2}", /* no colon */
        "{\"decision\":{\"effect\":1},\"v\":2}",         /* not a string member */
    };
    aud_hasher_t h;
    assert_int_equal(aud_hasher_init(&h), 0);
    unsigned char prev[AUD_HASH_BYTES], out[AUD_HASH_BYTES], zero[AUD_HASH_BYTES] = {0};
    aud_chain_genesis("gw-1", prev);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (aud_chain_next(&h, prev, bad[i], strlen(bad[i]), out) != CMN_ERR_PARSE)
            fail_msg("case %zu: %s was hashed", i, bad[i]);
        assert_memory_equal(out, zero, AUD_HASH_BYTES);
    }
    /* an org over the cap */
    static char big[AUD_CHAIN_MAX_ORG + 64];
    int k = snprintf(big, sizeof(big), "{\"decision\":{\"org\":\"");
    memset(big + k, 'o', AUD_CHAIN_MAX_ORG + 1);
    snprintf(big + k + AUD_CHAIN_MAX_ORG + 1, 16, "\"},\"v\":2}");
    assert_int_equal(aud_chain_next(&h, prev, big, strlen(big), out), CMN_ERR_PARSE);
    big[k + AUD_CHAIN_MAX_ORG] = '"'; /* exactly the cap: fine */
    memmove(big + k + AUD_CHAIN_MAX_ORG + 1, big + k + AUD_CHAIN_MAX_ORG + 2,
            strlen(big + k + AUD_CHAIN_MAX_ORG + 2) + 1);
    assert_int_equal(aud_chain_next(&h, prev, big, strlen(big), out), 0);
    aud_hasher_free(&h);
}

static void genesis_is_stream_specific(void **state)
{
    unsigned char g[AUD_HASH_BYTES], g2[AUD_HASH_BYTES];
    char hex[2 * AUD_HASH_BYTES + 1];
    aud_chain_genesis("gw-1", g);
    cmn_hex(g, AUD_HASH_BYTES, hex);
    assert_string_equal(hex, "4656e520977e914a6b169bc5c7222b943ba891b5f617547e5ef7ce61f9144678");
    aud_chain_genesis("gw-2", g2);
    assert_memory_not_equal(g, g2, AUD_HASH_BYTES);
}

static void chains_like_sha256sum(void **state)
{
    aud_hasher_t h;
    assert_int_equal(aud_hasher_init(&h), 0);
    unsigned char prev[AUD_HASH_BYTES], out[AUD_HASH_BYTES];
    char hex[2 * AUD_HASH_BYTES + 1];
    aud_chain_genesis("gw-1", prev);
    assert_int_equal(aud_chain_next(&h, prev, canonical, strlen(canonical), out), 0);
    cmn_hex(out, AUD_HASH_BYTES, hex);
    assert_string_equal(hex, "994ea1b4de33f21e8a6049a9dfd00ea7d314d8f5a9b75eb238e8efe4fb475e76");
    /* out may alias prev */
    assert_int_equal(aud_chain_next(&h, out, canonical, strlen(canonical), out), 0);
    cmn_hex(out, AUD_HASH_BYTES, hex);
    assert_string_equal(hex, "fe4e4ade975e1f47c9d1e96f93ad741beb65b084fd8263c3b32deeb7e7451cd2");
    aud_hasher_free(&h);
    aud_hasher_free(&h); /* twice is fine */
}

static void any_change_changes_the_hash(void **state)
{
    aud_hasher_t h;
    assert_int_equal(aud_hasher_init(&h), 0);
    unsigned char prev[AUD_HASH_BYTES], a[AUD_HASH_BYTES], b[AUD_HASH_BYTES];
    aud_chain_genesis("gw-1", prev);
    char text[sizeof(canonical)];
    memcpy(text, canonical, sizeof(canonical));
    aud_chain_next(&h, prev, text, strlen(text), a);
    for (size_t i = 0; i < strlen(text); i++) {
        text[i] ^= 1;
        aud_chain_next(&h, prev, text, strlen(text), b);
        text[i] ^= 1;
        if (memcmp(a, b, AUD_HASH_BYTES) == 0)
            fail_msg("flipping byte %zu left the hash unchanged", i);
    }
    prev[31] ^= 1;
    aud_chain_next(&h, prev, text, strlen(text), b);
    assert_memory_not_equal(a, b, AUD_HASH_BYTES);
    aud_hasher_free(&h);
}

static void hex_round_trips(void **state)
{
    unsigned char in[4] = {0x00, 0xab, 0x7f, 0xff}, out[4];
    char hex[9];
    cmn_hex(in, 4, hex);
    assert_string_equal(hex, "00ab7fff");
    assert_int_equal(aud_unhex("00AB7fff", 8, out, 4), 0);
    assert_memory_equal(in, out, 4);
    assert_int_equal(aud_unhex("00ab7ff", 7, out, 4), CMN_ERR_PARSE);
    assert_int_equal(aud_unhex("00ab7fgg", 8, out, 4), CMN_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(genesis_is_stream_specific),  cmocka_unit_test(chains_like_sha256sum),
        cmocka_unit_test(any_change_changes_the_hash), cmocka_unit_test(hex_round_trips),
        cmocka_unit_test(chain_v2_like_coreutils),     cmocka_unit_test(version_and_org_are_bound),
        cmocka_unit_test(unreadable_v2_org_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
