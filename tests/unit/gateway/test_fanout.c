/* A listing across regions (gateway/forward/fanout.h): hubgate's cursor holds each hub's and
 * takes nothing it did not make; each hub's next cursor is read from its Link header. */
#include <stdlib.h>
#include <string.h>

#include "support/testutil.h"

#include "common/arena.h"
#include "common/b64.h"
#include "gateway/forward/fanout.h"

static void cursor_round_trip(void **state)
{
    (void)state;
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    const char *names[] = {"eu", "us"};
    const char *cursors[] = {"eyJvZmZzZXQiOjJ9", "a%2Fb+c"};
    const char *text = gw_fanout_cursor_encode(&a, names, cursors, 2);
    assert_non_null(text);
    assert_memory_equal(text, "hg1.", 4);
    for (const char *p = text; *p; p++) /* a query value as it is: no escaping needed */
        assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
                               *p));
    const char *n2[4], *c2[4];
    assert_int_equal(gw_fanout_cursor_decode(&a, text, n2, c2, 4), 2);
    assert_string_equal(n2[0], "eu");
    assert_string_equal(c2[0], "eyJvZmZzZXQiOjJ9");
    assert_string_equal(n2[1], "us");
    assert_string_equal(c2[1], "a%2Fb+c");
    /* more regions than the caller holds */
    assert_int_equal(gw_fanout_cursor_decode(&a, text, n2, c2, 1), -1);
    cmn_arena_free(&a);
}

static void cursor_refuses_what_hubgate_did_not_make(void **state)
{
    (void)state;
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    const char *n[4], *c[4];
    /* a hub's own cursor, another prefix, bad base64url, not JSON, not an object */
    assert_int_equal(gw_fanout_cursor_decode(&a, "eyJvZmZzZXQiOjJ9", n, c, 4), -1);
    assert_int_equal(gw_fanout_cursor_decode(&a, "hg2.e30", n, c, 4), -1);
    assert_int_equal(gw_fanout_cursor_decode(&a, "hg1.!!", n, c, 4), -1);
    assert_int_equal(gw_fanout_cursor_decode(&a, "hg1.", n, c, 4), -1);
    const char *bad[] = {"not json", "[1]", "{\"eu\":1}", "{\"eu\":\"a&b\"}", "{\"eu\":\"a#b\"}",
                         "{\"eu\":\"a b\"}", "{\"eu\":\"\"}", "{\"eu\":\"x\",\"eu\":\"y\"}", NULL};
    for (size_t i = 0; bad[i]; i++) {
        char buf[128];
        size_t len = strlen(bad[i]);
        memcpy(buf, "hg1.", 4);
        cmn_b64url_encode((const unsigned char *)bad[i], len, buf + 4);
        assert_int_equal(gw_fanout_cursor_decode(&a, buf, n, c, 4), -1);
    }
    /* an empty object is a listing with no hub left: no cursor at all is issued for that */
    assert_int_equal(gw_fanout_cursor_decode(&a, "hg1.e30", n, c, 4), 0);
    cmn_arena_free(&a);
}

static void next_cursor_from_link(void **state)
{
    (void)state;
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    int bad = 1;
    const char hub[] = "Content-Type: application/json\r\n"
                       "Link: <https://eu.example/api/models?limit=2&cursor=eyJvIjoyfQ>; "
                       "rel=\"next\"\r\n";
    const char *c = gw_fanout_next_cursor(&a, hub, sizeof(hub) - 1, &bad);
    assert_non_null(c);
    assert_string_equal(c, "eyJvIjoyfQ");
    assert_false(bad);
    /* several links in one header, next not first; an encoded key; unquoted rel */
    const char many[] = "link: <https://h/x?cursor=A>; rel=\"prev\", "
                        "<https://h/x?a=1&%63ursor=B%3D>; rel=next\r\n";
    c = gw_fanout_next_cursor(&a, many, sizeof(many) - 1, &bad);
    assert_non_null(c);
    assert_string_equal(c, "B%3D");
    /* no next page: other rels, no Link, a next without cursor */
    const char none[] = "Link: <https://h/x?cursor=A>; rel=\"xet-auth\"\r\nX-Other: rel=\"next\"\r\n";
    assert_null(gw_fanout_next_cursor(&a, none, sizeof(none) - 1, &bad));
    assert_false(bad);
    const char nocur[] = "Link: <https://h/x?page=2>; rel=\"next\"\r\n";
    assert_null(gw_fanout_next_cursor(&a, nocur, sizeof(nocur) - 1, &bad));
    /* a cursor that would change the query hubgate forwards is refused, not passed on */
    const char evil[] = "Link: <https://h/x?cursor=a\"b>; rel=\"next\"\r\n";
    assert_null(gw_fanout_next_cursor(&a, evil, sizeof(evil) - 1, &bad));
    assert_true(bad);
    cmn_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cursor_round_trip),
        cmocka_unit_test(cursor_refuses_what_hubgate_did_not_make),
        cmocka_unit_test(next_cursor_from_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
