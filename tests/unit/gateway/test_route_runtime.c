/* Route classifier cases built in C rather than read from route_cases.txt: sizes computed at
 * run time against the caps, the two-step (target, then body) API, an exhausted arena, NULL
 * arguments, the name tables, and how each route that names no repo is served. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/testutil.h"
#include "common/arena.h"
#include "common/err.h"
#include "gateway/route/decode.h"
#include "gateway/route/route.h"
#include "gateway/limits.h"

#define OID   "4355a46b19d348dc2f57c046f8ef63d4538ebb936000f3c9ee954a27460dd865"
#define JSON  "application/json"
#define LFSCT "application/vnd.git-lfs+json"
#define NDJ   "application/x-ndjson"

static void test_target_length_cap(void **state)
{
    cmn_arena_t *arena = *state;
    gw_route_t r;
    char *t = malloc(GW_MAX_TARGET_BYTES + 2);
    assert_non_null(t);
    const char *prefix = "/acme/bert/resolve/main/";
    size_t plen = strlen(prefix);
    memcpy(t, prefix, plen);
    /* exactly at the cap: a long file name, accepted */
    memset(t + plen, 'a', GW_MAX_TARGET_BYTES - plen);
    assert_int_equal(gw_route_classify_target("GET", t, GW_MAX_TARGET_BYTES, arena, &r), 0);
    assert_int_equal(r.family, GW_FAMILY_RESOLVE);
    assert_int_equal(strlen(r.path_in_repo), GW_MAX_TARGET_BYTES - plen);
    /* one byte more: 414 */
    t[GW_MAX_TARGET_BYTES] = 'a';
    assert_int_equal(gw_route_classify_target("GET", t, GW_MAX_TARGET_BYTES + 1, arena, &r),
                     CMN_ERR_TOOBIG);
    assert_int_equal(r.reject, GW_REJECT_TARGET_TOO_LONG);
    assert_int_equal(gw_route_reject_status(r.reject), 414);
    free(t);
}

static void test_segment_cap(void **state)
{
    cmn_arena_t *arena = *state;
    gw_route_t r;
    char t[4096] = "/acme/bert/resolve/main";
    size_t nsegs = 4;
    while (nsegs < GW_ROUTE_MAX_SEGMENTS) {
        strcat(t, "/d");
        nsegs++;
    }
    assert_int_equal(gw_route_classify_target("GET", t, strlen(t), arena, &r), 0);
    assert_int_equal(r.family, GW_FAMILY_RESOLVE);
    strcat(t, "/d");
    assert_int_equal(gw_route_classify_target("GET", t, strlen(t), arena, &r), CMN_ERR_PARSE);
    assert_int_equal(r.reject, GW_REJECT_PATH_TOO_DEEP);
}

/* The target need not be NUL-terminated: only target_len bytes are read. */
static void test_target_not_terminated(void **state)
{
    cmn_arena_t *arena = *state;
    gw_route_t r;
    const char buf[] = "/acme/bert/resolve/main/config.jsonGARBAGE";
    assert_int_equal(gw_route_classify_target(
                         "GET", buf, strlen("/acme/bert/resolve/main/config.json"), arena, &r),
                     0);
    assert_string_equal(r.path_in_repo, "config.json");
}

static void test_two_steps_and_body_cap(void **state)
{
    cmn_arena_t *arena = *state;
    gw_route_t r;
    const char *t = "/acme/bert.git/info/lfs/objects/batch";
    assert_int_equal(gw_route_classify_target("POST", t, strlen(t), arena, &r), 0);
    assert_true(r.needs_body);
    assert_int_equal(r.family, GW_FAMILY_LFS_BATCH);
    assert_int_equal(r.nrepos, 0); /* nothing to authorize until the body is read */
    assert_int_equal(gw_route_body_cap(&r), GW_MAX_ROUTE_BODY_BYTES);
    const char *body = "{\"operation\":\"upload\"}";
    assert_int_equal(gw_route_classify_body(&r, LFSCT, body, strlen(body), arena), 0);
    assert_false(r.needs_body);
    assert_int_equal(r.action, GW_ACTION_WRITE);
    assert_int_equal(gw_route_body_cap(&r), 0);
    /* a second call is a no-op */
    assert_int_equal(gw_route_classify_body(&r, LFSCT, "junk", 4, arena), 0);

    /* over the cap: 413, whatever the content */
    size_t big = GW_MAX_ROUTE_BODY_BYTES + 1;
    char *b = malloc(big);
    assert_non_null(b);
    memset(b, ' ', big);
    memcpy(b, "{\"operation\":\"download\"}", 24);
    assert_int_equal(gw_route_classify_target("POST", t, strlen(t), arena, &r), 0);
    assert_int_equal(gw_route_classify_body(&r, LFSCT, b, big, arena), CMN_ERR_TOOBIG);
    assert_int_equal(r.reject, GW_REJECT_BODY_TOO_LARGE);
    assert_int_equal(gw_route_reject_status(r.reject), 413);
    assert_int_equal(r.nrepos, 0);
    assert_int_equal(r.action, GW_ACTION_NONE);
    /* at the cap, with JSON whitespace padding: fine */
    assert_int_equal(gw_route_classify_target("POST", t, strlen(t), arena, &r), 0);
    assert_int_equal(gw_route_classify_body(&r, LFSCT, b, big - 1, arena), 0);
    assert_int_equal(r.action, GW_ACTION_READ);
    free(b);

    /* bucket batches (one ndjson line per file) get the larger cap */
    const char *bt = "/api/buckets/acme/store/batch";
    assert_int_equal(gw_route_classify_target("POST", bt, strlen(bt), arena, &r), 0);
    assert_int_equal(gw_route_body_cap(&r), GW_MAX_ROUTE_NDJSON_BYTES);
    size_t line_len =
        strlen("{\"type\":\"addFile\",\"path\":\"f00000.bin\",\"xetHash\":\"" OID "\"}\n");
    size_t lines = GW_MAX_ROUTE_NDJSON_BYTES / line_len;
    char *nd = malloc(lines * line_len + 1);
    assert_non_null(nd);
    for (size_t i = 0; i < lines; i++) {
        char line[256];
        snprintf(line, sizeof(line),
                 "{\"type\":\"addFile\",\"path\":\"f%05zu.bin\",\"xetHash\":\"" OID "\"}\n",
                 i % 100000);
        memcpy(nd + i * line_len, line, line_len);
    }
    assert_int_equal(gw_route_classify_body(&r, NDJ, nd, lines * line_len, arena), 0);
    assert_int_equal(r.nrepos, 1);
    assert_int_equal(r.action, GW_ACTION_WRITE);
    free(nd);

    /* a body-borne route without its body is refused */
    const char *ct = "/api/repos/create";
    assert_int_equal(gw_route_classify("POST", ct, strlen(ct), NULL, 0, JSON, arena, &r),
                     CMN_ERR_PARSE);
    assert_int_equal(r.reject, GW_REJECT_BODY_MISSING_TARGET);
}

static void test_too_many_repos(void **state)
{
    cmn_arena_t *arena = *state;
    gw_route_t r;
    char body[8192] = "";
    for (int i = 0; i <= GW_ROUTE_MAX_REPOS; i++) {
        char line[256];
        snprintf(line, sizeof(line),
                 "{\"type\":\"copyFile\",\"path\":\"x\",\"sourceRepoType\":\"model\","
                 "\"sourceRepoId\":\"acme/m%d\"}\n",
                 i);
        strcat(body, line);
    }
    const char *t = "/api/buckets/acme/store/batch";
    assert_int_equal(gw_route_classify("POST", t, strlen(t), body, strlen(body), NDJ, arena, &r),
                     CMN_ERR_PARSE);
    assert_int_equal(r.reject, GW_REJECT_TOO_MANY_REPOS);
    assert_int_equal(r.nrepos, 0);
}

/* An exhausted arena is CMN_ERR_NOMEM, never a crash or a half-filled route. */
static void test_arena_exhausted(void **state)
{
    (void)state;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 256, 300);
    gw_route_t r;
    char t[2048] = "/acme/bert/resolve/main/";
    memset(t + strlen(t), 'a', 1500);
    int rc = gw_route_classify_target("GET", t, strlen(t), &arena, &r);
    assert_int_equal(rc, CMN_ERR_NOMEM);
    assert_int_equal(r.family, GW_FAMILY_UNKNOWN);
    assert_int_equal(r.nrepos, 0);
    cmn_arena_free(&arena);
}

static void test_null_arguments(void **state)
{
    cmn_arena_t *arena = *state;
    gw_route_t r;
    assert_int_equal(gw_route_classify_target(NULL, "/", 1, arena, &r), CMN_ERR_INVAL);
    assert_int_equal(gw_route_classify_target("GET", NULL, 0, arena, &r), CMN_ERR_INVAL);
    assert_int_equal(gw_route_classify_target("GET", "/", 1, NULL, &r), CMN_ERR_INVAL);
    assert_int_equal(gw_route_classify_target("GET", "/", 1, arena, NULL), CMN_ERR_INVAL);
    assert_int_equal(gw_route_classify_body(NULL, NULL, "", 0, arena), CMN_ERR_INVAL);
    assert_int_equal(gw_route_body_cap(NULL), 0);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(gw_route_family_name(GW_FAMILY_RESOLVE_CACHE), "resolve_cache");
    assert_string_equal(gw_route_family_name(GW_FAMILY_XET_WRITE_TOKEN), "xet_write_token");
    assert_string_equal(gw_route_family_name(GW_FAMILY_UNKNOWN), "unknown");
    assert_string_equal(gw_route_family_name((gw_family_t)9999), "?");
    for (int f = 0; f < GW_FAMILY_COUNT_; f++)
        assert_string_not_equal(gw_route_family_name((gw_family_t)f), "?");
    assert_string_equal(gw_route_action_name(GW_ACTION_READ), "read");
    assert_string_equal(gw_route_action_name(GW_ACTION_ADMIN), "admin");
    assert_string_equal(gw_route_action_name((gw_action_t)42), "?");
    assert_string_equal(gw_route_repo_type_name(GW_REPO_KERNEL), "kernel");
    assert_string_equal(gw_route_reject_name(GW_REJECT_DOT_SEGMENT), "DOT_SEGMENT");
    assert_int_equal(gw_route_reject_status(GW_REJECT_BODY_TOO_LARGE), 413);
    assert_int_equal(gw_route_reject_status(GW_REJECT_AMBIGUOUS), 400);
    assert_string_equal(gw_route_reject_message(GW_REJECT_NUL), "NUL byte (%00) in request-target");
    assert_int_equal(gw_route_repo_type_parse("dataset"), GW_REPO_DATASET);
    assert_int_equal(gw_route_repo_type_parse("datasets"), GW_REPO_NONE);
    assert_int_equal(gw_route_repo_type_parse(NULL), GW_REPO_NONE);
    assert_true(gw_route_repo_segment_valid("a"));
    assert_true(gw_route_repo_segment_valid("A_b.c-9"));
    assert_false(gw_route_repo_segment_valid(""));
    assert_false(gw_route_repo_segment_valid("a--b"));
    assert_false(gw_route_repo_segment_valid("a/b"));
}

/* How each route that names no repo is served (docs/routes.md). */
static void test_treatments(void **state)
{
    (void)state;
    static const struct {
        const char *method, *target;
        gw_treatment_t want;
    } t[] = {
        {"GET", "/-/tokens", GW_TREAT_LOCAL},
        {"GET", "/api/whoami-v2", GW_TREAT_LOCAL},
        {"HEAD", "/api/telemetry/hf_hub/download", GW_TREAT_LOCAL},
        {"POST", "/api/telemetry/examples/x", GW_TREAT_LOCAL},
        {"GET", "/api/models?author=acme", GW_TREAT_FILTER},
        {"GET", "/api/spaces/semantic-search?q=x", GW_TREAT_FILTER},
        {"GET", "/api/buckets/acme", GW_TREAT_FILTER},
        {"GET", "/api/collections?owner=acme", GW_TREAT_FILTER},
        {"GET", "/api/collections/acme/favs-1", GW_TREAT_FILTER},
        {"PATCH", "/api/collections/acme/favs-1", GW_TREAT_FILTER},
        {"GET", "/api/models-tags-by-type", GW_TREAT_PUBLIC},
        {"GET", "/api/spaces/hardware", GW_TREAT_PUBLIC},
        {"GET", "/api/jobs/hardware", GW_TREAT_PUBLIC},
        {"GET", "/.well-known/openapi.json", GW_TREAT_PUBLIC},
        {"GET", "/api/daily_papers", GW_TREAT_PUBLIC},
        {"POST", "/api/validate-yaml", GW_TREAT_PUBLIC},
        {"GET", "/api/organizations/acme/overview", GW_TREAT_PUBLIC},
        {"GET", "/api/organizations/acme/members", GW_TREAT_PUBLIC},
        {"GET", "/api/users/alice/likes", GW_TREAT_PUBLIC},
        {"POST", "/oauth/token", GW_TREAT_LOCAL}, /* the device grant, hubgate's own */
        {"POST", "/oauth/authorize", GW_TREAT_DENY},
        {"GET", "/oauth/anything/at/all", GW_TREAT_DENY},
        {"GET", "/.well-known/openid-configuration", GW_TREAT_DENY},
        {"PUT", "/scim/v2/Users/1", GW_TREAT_LOCAL}, /* hubgate's own provisioning */
        {"POST", "/api/credentials/revoke", GW_TREAT_DENY},
        {"GET", "/api/settings/repositories", GW_TREAT_DENY},
        {"GET", "/api/settings/webhooks", GW_TREAT_DENY},
        {"GET", "/api/organizations/acme/resource-groups", GW_TREAT_DENY},
        {"GET", "/api/organizations/acme/settings/repositories", GW_TREAT_DENY},
        {"PUT", "/api/organizations/acme/members/bob/role", GW_TREAT_DENY},
        {"GET", "/api/jobs/acme", GW_TREAT_DENY},
        {"POST", "/api/scheduled-jobs/acme/68ab/suspend", GW_TREAT_DENY},
        {"GET", "/acme/bert/resolve/main/config.json", GW_TREAT_POLICY},
        {"GET", "/api/models/acme/bert", GW_TREAT_POLICY},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        cmn_arena_t arena;
        cmn_arena_init(&arena, 4096, 1 << 20);
        gw_route_t r;
        int rc =
            gw_route_classify_target(t[i].method, t[i].target, strlen(t[i].target), &arena, &r);
        const char *why = NULL;
        gw_treatment_t got = gw_route_treatment(&r, &why);
        if (rc != 0 || got != t[i].want || !why || !*why)
            fail_msg("%s %s: rc %d, family %s, treatment %s, want %s", t[i].method, t[i].target, rc,
                     gw_route_family_name(r.family), gw_route_treatment_name(got),
                     gw_route_treatment_name(t[i].want));
        cmn_arena_free(&arena);
    }
    assert_string_equal(gw_route_treatment_name(GW_TREAT_PUBLIC), "public");
    assert_string_equal(gw_route_treatment_name((gw_treatment_t)9), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        testutil_arena_test(test_target_length_cap),
        testutil_arena_test(test_segment_cap),
        testutil_arena_test(test_target_not_terminated),
        testutil_arena_test(test_two_steps_and_body_cap),
        testutil_arena_test(test_too_many_repos),
        cmocka_unit_test(test_arena_exhausted),
        testutil_arena_test(test_null_arguments),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_treatments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
