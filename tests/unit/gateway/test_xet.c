/* Xet turned off (gateway/forward/xet.h): listings lose their xetHash, the LFS batch offer
 * loses "xet", and every X-Xet-* header is recognised. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support/testutil.h"

#include "common/err.h"
#include "gateway/forward/xet.h"
#include "gateway/forward/xet_shard.h"

static void xet_headers(void **state)
{
    (void)state;
    assert_true(gw_xet_is_header("X-Xet-Hash", 10));
    assert_true(gw_xet_is_header("x-xet-access-token", 18));
    assert_false(gw_xet_is_header("X-Xet-", 6)); /* no name after the prefix */
    assert_false(gw_xet_is_header("X-Linked-Size", 13));
    assert_false(gw_xet_is_header("X-Xe", 4));
}

static void listing_loses_xet_hash(void **state)
{
    (void)state;
    const char tree[] =
        "[{\"type\":\"file\",\"path\":\"a.bin\",\"size\":3,\"xetHash\":\"00ff\","
        "\"lfs\":{\"oid\":\"ab\",\"size\":3}},"
        "{\"type\":\"file\",\"path\":\"\\\"xetHash\\\":\\\"x\\\"\",\"size\":1},"
        "{\"type\":\"directory\",\"path\":\"d\"}]";
    size_t removed = 9;
    char *out = gw_xet_strip_listing(tree, sizeof(tree) - 1, &removed);
    assert_non_null(out);
    assert_int_equal(removed, 1);
    assert_string_equal(out, "[{\"type\":\"file\",\"path\":\"a.bin\",\"size\":3,"
                             "\"lfs\":{\"oid\":\"ab\",\"size\":3}},"
                             "{\"type\":\"file\",\"path\":\"\\\"xetHash\\\":\\\"x\\\"\","
                             "\"size\":1},{\"type\":\"directory\",\"path\":\"d\"}]");
    free(out);
    /* not a listing: never relayed unread */
    assert_null(gw_xet_strip_listing("{\"xetHash\":\"1\"}", 15, &removed));
    assert_null(gw_xet_strip_listing("[1]", 3, &removed));
    assert_null(gw_xet_strip_listing("[{}", 3, &removed));
    out = gw_xet_strip_listing("[]", 2, &removed);
    assert_string_equal(out, "[]");
    assert_int_equal(removed, 0);
    free(out);
}

static int strip(const char *in, char *out, size_t cap)
{
    cmn_buf_t b;
    cmn_buf_init(&b, 1 << 16);
    assert_int_equal(cmn_buf_append(&b, in, strlen(in)), 0);
    int rc = gw_xet_strip_batch_request(&b);
    snprintf(out, cap, "%.*s", (int)b.len, b.data ? b.data : "");
    cmn_buf_free(&b);
    return rc;
}

static void batch_offer_loses_xet(void **state)
{
    (void)state;
    char out[512];
    /* what @huggingface/hub offers with useXet */
    assert_int_equal(strip("{\"operation\":\"upload\",\"transfers\":[\"basic\",\"multipart\","
                           "\"xet\"],\"objects\":[{\"oid\":\"ab\",\"size\":1}]}",
                           out, sizeof out),
                     1);
    assert_string_equal(out, "{\"operation\":\"upload\",\"transfers\":[\"basic\",\"multipart\"],"
                             "\"objects\":[{\"oid\":\"ab\",\"size\":1}]}");
    /* every occurrence, even alone */
    assert_int_equal(strip("{\"transfers\":[\"xet\",\"xet\"]}", out, sizeof out), 1);
    assert_string_equal(out, "{\"transfers\":[]}");
    /* nothing to remove: the bytes as they came */
    const char *git_lfs = "{\"operation\": \"download\", \"transfers\": [\"basic\"]}";
    assert_int_equal(strip(git_lfs, out, sizeof out), 0);
    assert_string_equal(out, git_lfs);
    assert_int_equal(strip("{\"operation\":\"download\"}", out, sizeof out), 0);
    assert_int_equal(strip("[\"xet\"]", out, sizeof out), CMN_ERR_PARSE);
}

/* A shard as xet-core writes one: header, one file (2 terms, verification, sha256), bookend,
 * then a CAS section the parser never reads. */
static size_t make_shard(unsigned char *b, int with_sha)
{
    static const unsigned char tag[32] = {'H', 'F', 'R', 'e', 'p', 'o', 'M', 'e', 't', 'a', 'D',
                                          'a', 't', 'a', 0,   85,  105, 103, 69,  106, 123, 129,
                                          87,  131, 165, 189, 217, 92,  205, 209, 74,  169};
    size_t n = 0;
    memcpy(b, tag, 32);
    memset(b + 32, 0, 16);
    b[32] = 2; /* version */
    n = 48;
    unsigned char *fh = b + n; /* file header: hash bytes 0..31 */
    for (int i = 0; i < 32; i++)
        fh[i] = (unsigned char)i;
    memset(fh + 32, 0, 16);
    uint32_t flags = 0x80000000u | (with_sha ? 0x40000000u : 0);
    memcpy(fh + 32, &flags, 4); /* little-endian host */
    fh[36] = 2;                 /* two terms */
    n += 48;
    for (int t = 0; t < 2; t++) { /* terms: unpacked_len at +36 */
        memset(b + n, 0xaa, 48);
        uint32_t len = t == 0 ? 1000 : 234;
        memcpy(b + n + 32, "\0\0\0\0", 4);
        memcpy(b + n + 36, &len, 4);
        n += 48;
    }
    memset(b + n, 0x11, 96); /* two verification entries */
    n += 96;
    if (with_sha) {
        memset(b + n, 0, 48);
        b[n + 7] = 0xab; /* the first word, printed little-endian: "ab" first */
        n += 48;
    }
    memset(b + n, 0xff, 32);
    memset(b + n + 32, 0, 16);
    n += 48;
    memset(b + n, 0x5a, 48); /* CAS section: not read */
    return n + 48;
}

static void shard_files(void **state)
{
    (void)state;
    unsigned char b[1024];
    gw_xet_shard_file_t f[2];
    size_t total = 0;
    size_t n = make_shard(b, 1);
    assert_int_equal(gw_xet_shard_files(b, n, f, 2, &total), 0);
    assert_int_equal(total, 1);
    assert_string_equal(f[0].hash, "0706050403020100" "0f0e0d0c0b0a0908" "1716151413121110"
                                   "1f1e1d1c1b1a1918");
    assert_int_equal(f[0].size, 1234);
    assert_string_equal(f[0].sha256, "ab00000000000000" "0000000000000000" "0000000000000000"
                                     "0000000000000000");
    n = make_shard(b, 0);
    assert_int_equal(gw_xet_shard_files(b, n, f, 2, &total), 0);
    assert_string_equal(f[0].sha256, "");
    /* no room: counted, not listed */
    assert_int_equal(gw_xet_shard_files(b, n, f, 0, &total), 0);
    assert_int_equal(total, 1);
    /* cut anywhere before the bookend's end: refused; a wrong tag or version: refused */
    for (size_t cut = 0; cut < n - 48; cut += 7)
        assert_int_equal(gw_xet_shard_files(b, cut, f, 2, &total), CMN_ERR_PARSE);
    b[32] = 3;
    assert_int_equal(gw_xet_shard_files(b, n, f, 2, &total), CMN_ERR_PARSE);
    b[32] = 2;
    b[0] = 'h';
    assert_int_equal(gw_xet_shard_files(b, n, f, 2, &total), CMN_ERR_PARSE);
    assert_int_equal(total, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xet_headers),
        cmocka_unit_test(listing_loses_xet_hash),
        cmocka_unit_test(batch_offer_loses_xet),
        cmocka_unit_test(shard_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
