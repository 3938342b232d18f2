/* Ed25519 keys and signed checkpoints (audit/checkpoint.h): sign/verify, what breaks a
 * signature, the checkpoint file line, key files, and the openssl recipe the header promises
 * auditors. */
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

#include "audit/checkpoint.h"
#include "common/err.h"
#include "common/sha256.h"
#include "support/tmpdir.h"

static void sample(aud_checkpoint_t *cp)
{
    memset(cp, 0, sizeof(*cp));
    snprintf(cp->stream, sizeof(cp->stream), "gw-1");
    cp->seq = 1234;
    for (int i = 0; i < AUD_HASH_BYTES; i++)
        cp->hash[i] = (unsigned char)i;
    cp->ts_us = 1714566896123456LL;
}

static void message_is_documented_text(void **state)
{
    aud_checkpoint_t cp;
    sample(&cp);
    char msg[256];
    int n = aud_checkpoint_message(&cp, msg, sizeof(msg));
    assert_true(n > 0);
    assert_string_equal(msg,
                        "hubgate-audit-checkpoint-v1\n"
                        "stream=gw-1\n"
                        "seq=1234\n"
                        "hash=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
                        "ts=2024-05-01T12:34:56.123456Z\n");
}

static void signs_and_detects_every_change(void **state)
{
    aud_key_t *key = aud_key_generate(), *other = aud_key_generate();
    assert_non_null(key);
    assert_non_null(other);
    assert_int_equal(strlen(aud_key_id(key)), AUD_KEY_ID_LEN);
    aud_checkpoint_t cp;
    sample(&cp);
    assert_int_equal(aud_checkpoint_sign(&cp, key), 0);
    assert_string_equal(cp.key_id, aud_key_id(key));
    assert_int_equal(aud_checkpoint_verify(&cp, key), 0);

    aud_checkpoint_t t = cp;
    t.seq++;
    assert_int_equal(aud_checkpoint_verify(&t, key), CMN_ERR_CRYPTO);
    t = cp;
    t.hash[5] ^= 1;
    assert_int_equal(aud_checkpoint_verify(&t, key), CMN_ERR_CRYPTO);
    t = cp;
    t.ts_us++;
    assert_int_equal(aud_checkpoint_verify(&t, key), CMN_ERR_CRYPTO);
    t = cp;
    snprintf(t.stream, sizeof(t.stream), "gw-2");
    assert_int_equal(aud_checkpoint_verify(&t, key), CMN_ERR_CRYPTO);
    t = cp;
    t.sig[10] ^= 0x40;
    assert_int_equal(aud_checkpoint_verify(&t, key), CMN_ERR_CRYPTO);
    /* another key: refused by id before any signature math */
    assert_int_equal(aud_checkpoint_verify(&cp, other), CMN_ERR_CONFLICT);
    /* another key's signature presented under this key's id */
    t = cp;
    assert_int_equal(aud_checkpoint_sign(&t, other), 0);
    memcpy(t.key_id, cp.key_id, sizeof(t.key_id));
    assert_int_equal(aud_checkpoint_verify(&t, key), CMN_ERR_CRYPTO);
    aud_key_free(key);
    aud_key_free(other);
}

static void file_line_round_trips(void **state)
{
    aud_key_t *key = aud_key_generate();
    aud_checkpoint_t cp, back;
    sample(&cp);
    assert_int_equal(aud_checkpoint_sign(&cp, key), 0);
    char line[AUD_CHECKPOINT_MAX_LINE];
    int n = aud_checkpoint_format(&cp, line, sizeof(line));
    assert_true(n > 0 && line[n - 1] == '\n');
    assert_true(strncmp(line, "{\"hash\":\"000102", 15) == 0);
    char why[200];
    assert_int_equal(aud_checkpoint_parse(line, (size_t)n, &back, why, sizeof(why)), 0);
    assert_memory_equal(&cp, &back, sizeof(cp));
    assert_int_equal(aud_checkpoint_verify(&back, key), 0);
    /* pretty-printed by an auditor's tool: still the same checkpoint */
    char pretty[1024];
    char hash[65];
    cmn_hex(cp.hash, 32, hash);
    snprintf(pretty, sizeof(pretty),
             "{ \"v\": 1, \"stream\": \"gw-1\", \"seq\": 1234, \"hash\": \"%s\", "
             "\"ts\": \"2024-05-01T12:34:56.123456Z\", \"key_id\": \"%s\", \"sig\": \"%.86s\" }",
             hash, cp.key_id, strstr(line, "\"sig\":\"") + 7);
    assert_int_equal(aud_checkpoint_parse(pretty, strlen(pretty), &back, why, sizeof(why)), 0);
    assert_int_equal(aud_checkpoint_verify(&back, key), 0);
    aud_key_free(key);
}

static void parse_refuses_bad_lines(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"v\":1}",
        "{\"hash\":\"00\",\"key_id\":\"0011223344556677\",\"seq\":1,\"sig\":\"x\",\"stream\":"
        "\"gw-1\",\"ts\":\"2024-05-01T12:34:56.123456Z\",\"v\":1}",
        "{\"hash\":\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\","
        "\"key_id\":\"0011223344556677\",\"seq\":-1,\"sig\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"stream\":\"gw-1\",\"ts\":"
        "\"2024-05-01T12:34:56.123456Z\",\"v\":1}",
        "{\"hash\":\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\","
        "\"key_id\":\"0011223344556677\",\"seq\":1,\"sig\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"stream\":\"gw 1\",\"ts\":"
        "\"2024-05-01T12:34:56.123456Z\",\"v\":1}",
        "{\"hash\":\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\","
        "\"key_id\":\"0011223344556677\",\"seq\":1,\"sig\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"stream\":\"gw-1\",\"ts\":"
        "\"2024-05-01T12:34:56.123456Z\",\"v\":2}",
        "{\"hash\":\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\","
        "\"key_id\":\"0011223344556677\",\"seq\":1,\"sig\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"stream\":\"gw-1\",\"ts\":"
        "\"2024-05-01T12:34:56.123456Z\",\"v\":1,\"extra\":0}",
        "{\"seq\":1,\"seq\":2}",
    };
    aud_checkpoint_t cp;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char why[200] = "";
        if (aud_checkpoint_parse(bad[i], strlen(bad[i]), &cp, why, sizeof(why)) != CMN_ERR_PARSE)
            fail_msg("line %zu accepted", i);
        if (!why[0])
            fail_msg("line %zu refused without a reason", i);
    }
}

static void key_files(void **state)
{
    char priv[128], pub[128], err[256];
    snprintf(priv, sizeof(priv), "%s/audit.pem", tmpdir);
    snprintf(pub, sizeof(pub), "%s/audit.pub", tmpdir);
    aud_key_t *key = aud_key_generate();
    assert_int_equal(aud_key_write_private(key, priv, 0, err, sizeof(err)), 0);
    struct stat st;
    assert_int_equal(stat(priv, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* never replaced by accident */
    assert_int_equal(aud_key_write_private(key, priv, 0, err, sizeof(err)), CMN_ERR_CONFLICT);
    assert_non_null(strstr(err, "already exists"));
    assert_int_equal(aud_key_write_public(key, pub, 0, err, sizeof(err)), 0);

    aud_key_t *lp = aud_key_load(priv, err, sizeof(err)), *lq = aud_key_load(pub, err, sizeof(err));
    assert_non_null(lp);
    assert_non_null(lq);
    assert_true(aud_key_is_private(lp));
    assert_false(aud_key_is_private(lq));
    assert_string_equal(aud_key_id(lp), aud_key_id(key));
    assert_string_equal(aud_key_id(lq), aud_key_id(key));
    assert_true(aud_key_same_public(lp, lq));
    aud_checkpoint_t cp;
    sample(&cp);
    assert_int_equal(aud_checkpoint_sign(&cp, lp), 0);
    assert_int_equal(aud_checkpoint_verify(&cp, lq), 0);
    assert_int_equal(aud_checkpoint_sign(&cp, lq), CMN_ERR_INVAL); /* a public key cannot sign */

    /* no temporary files left beside the key */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 2", tmpdir);
    assert_int_equal(system(cmd), 0);

    assert_null(aud_key_load("/nonexistent/key.pem", err, sizeof(err)));
    assert_non_null(strstr(err, "no such file"));
    FILE *f = fopen(pub, "w");
    fputs("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", f);
    fclose(f);
    assert_null(aud_key_load(pub, err, sizeof(err)));
    aud_key_free(key);
    aud_key_free(lp);
    aud_key_free(lq);
}

/* The recipe in checkpoint.h: an auditor verifies a checkpoint with openssl alone. */
static void openssl_cli_verifies_a_checkpoint(void **state)
{
    if (system("openssl version >/dev/null 2>&1") != 0)
        skip();
    char pub[128], msg[128], sig[128], err[256], cmd[600];
    snprintf(pub, sizeof(pub), "%s/cli.pub", tmpdir);
    snprintf(msg, sizeof(msg), "%s/msg.txt", tmpdir);
    snprintf(sig, sizeof(sig), "%s/sig.bin", tmpdir);
    aud_key_t *key = aud_key_generate();
    assert_int_equal(aud_key_write_public(key, pub, 1, err, sizeof(err)), 0);
    aud_checkpoint_t cp;
    sample(&cp);
    assert_int_equal(aud_checkpoint_sign(&cp, key), 0);
    char text[256];
    int n = aud_checkpoint_message(&cp, text, sizeof(text));
    FILE *f = fopen(msg, "w");
    fwrite(text, 1, (size_t)n, f);
    fclose(f);
    f = fopen(sig, "w");
    fwrite(cp.sig, 1, AUD_SIG_BYTES, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "openssl pkeyutl -verify -pubin -inkey %s -rawin -in %s -sigfile %s >/dev/null 2>&1",
             pub, msg, sig);
    assert_int_equal(system(cmd), 0);
    f = fopen(msg, "a");
    fputs("x", f);
    fclose(f);
    assert_int_not_equal(system(cmd), 0);
    aud_key_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(message_is_documented_text),
        cmocka_unit_test(signs_and_detects_every_change),
        cmocka_unit_test(file_line_round_trips),
        cmocka_unit_test(parse_refuses_bad_lines),
        cmocka_unit_test(key_files),
        cmocka_unit_test(openssl_cli_verifies_a_checkpoint),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
