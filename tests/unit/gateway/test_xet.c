/* Xet turned off (gateway/forward/xet.h): listings lose their xetHash, the LFS batch offer
 * loses "xet", and every X-Xet-* header is recognised. */
#include <stdlib.h>
#include <string.h>

#include "support/testutil.h"

#include "common/err.h"
#include "gateway/forward/xet.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xet_headers),
        cmocka_unit_test(listing_loses_xet_hash),
        cmocka_unit_test(batch_offer_loses_xet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
