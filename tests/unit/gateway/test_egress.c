#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "gateway/egress.h"

static void seal_then_open(void **state)
{
    gw_egress_key_t k;
    assert_int_equal(gw_egress_key_load(&k, NULL, NULL, 0), 0);
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    gw_egress_claim_t c = {.url = "http://127.0.0.1:9/lfs/ab/abcd?sig=x&exp=1",
                           .method = "GET",
                           .repo = "models/acme/bert",
                           .action = "read",
                           .caller = "https://idp|alice",
                           .headers = "",
                           .expires = 2000};
    const char *t = gw_egress_seal(&k, &c, &a);
    assert_non_null(t);
    assert_null(strstr(t, "127.0.0.1")); /* the URL is not readable in the token */
    for (const char *p = t; *p; p++)
        assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    gw_egress_claim_t o;
    assert_int_equal(gw_egress_open(&k, t, 1999, &a, &o), 0);
    assert_string_equal(o.url, c.url);
    assert_string_equal(o.method, "GET");
    assert_string_equal(o.repo, "models/acme/bert");
    assert_string_equal(o.caller, "https://idp|alice");
    assert_int_equal(o.expires, 2000);
    assert_int_equal(gw_egress_open(&k, t, 2001, &a, &o), CMN_ERR_TIMEOUT);
    cmn_arena_free(&a);
}

static void tampering_and_foreign_keys_fail(void **state)
{
    gw_egress_key_t k, other;
    assert_int_equal(gw_egress_key_load(&k, NULL, NULL, 0), 0);
    assert_int_equal(gw_egress_key_load(&other, NULL, NULL, 0), 0);
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 20);
    gw_egress_claim_t c = {"http://s/x", "PUT", "models/a/b", "write", "", "", 4000000000};
    const char *t = gw_egress_seal(&k, &c, &a);
    gw_egress_claim_t o;
    assert_int_equal(gw_egress_open(&other, t, 0, &a, &o), CMN_ERR_PARSE);
    char *bad = strdup(t);
    for (size_t i = 0; bad[i]; i++) {
        char saved = bad[i];
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_not_equal(gw_egress_open(&k, bad, 0, &a, &o), 0);
        bad[i] = saved;
    }
    free(bad);
    assert_int_equal(gw_egress_open(&k, "", 0, &a, &o), CMN_ERR_PARSE);
    assert_int_equal(gw_egress_open(&k, "not+base64", 0, &a, &o), CMN_ERR_PARSE);
    cmn_arena_free(&a);
}

#define HEX64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

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
        {"upper case", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", 0400,
         0},
        {"63 digits", "00010203040506070809", 0600, CMN_ERR_PARSE},
        {"a partial key padded with a non-digit",
         "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g", 0600,
         CMN_ERR_PARSE},
        {"a digit short", "00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
         0600, CMN_ERR_PARSE},
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
    char dir[] = "/tmp/hubgate-egress-key-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/egress.key", dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(cases[i].content, f);
        fclose(f);
        assert_int_equal(chmod(path, cases[i].mode), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seal_then_open),
        cmocka_unit_test(tampering_and_foreign_keys_fail),
        cmocka_unit_test(key_files_are_read_strictly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
