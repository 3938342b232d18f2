/* The hash chain (audit/chain.h) against vectors computed independently:
 *   printf 'hubgate-audit-genesis-v1\ngw-1' | sha256sum
 *   python3: sha256(genesis + canonical), then sha256(h1 + canonical) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "audit/chain.h"
#include "common/err.h"

static const char canonical[] = "{\"id\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"kind\":"
                                "\"gateway.started\",\"ts\":\"2024-05-01T12:34:56.123456Z\","
                                "\"v\":1}";

static void genesis_is_stream_specific(void **state)
{
    unsigned char g[AUD_HASH_BYTES], g2[AUD_HASH_BYTES];
    char hex[2 * AUD_HASH_BYTES + 1];
    aud_chain_genesis("gw-1", g);
    aud_hex(g, AUD_HASH_BYTES, hex);
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
    aud_hex(out, AUD_HASH_BYTES, hex);
    assert_string_equal(hex, "994ea1b4de33f21e8a6049a9dfd00ea7d314d8f5a9b75eb238e8efe4fb475e76");
    /* out may alias prev */
    assert_int_equal(aud_chain_next(&h, out, canonical, strlen(canonical), out), 0);
    aud_hex(out, AUD_HASH_BYTES, hex);
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
    aud_hex(in, 4, hex);
    assert_string_equal(hex, "00ab7fff");
    assert_int_equal(aud_unhex("00AB7fff", 8, out, 4), 0);
    assert_memory_equal(in, out, 4);
    assert_int_equal(aud_unhex("00ab7ff", 7, out, 4), CMN_ERR_PARSE);
    assert_int_equal(aud_unhex("00ab7fgg", 8, out, 4), CMN_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(genesis_is_stream_specific),
        cmocka_unit_test(chains_like_sha256sum),
        cmocka_unit_test(any_change_changes_the_hash),
        cmocka_unit_test(hex_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
