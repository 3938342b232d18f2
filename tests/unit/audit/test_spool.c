/* The local spool (audit/spool.h): chained records that survive a reopen, a torn last record
 * cut off, corruption refused. */
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

#include <openssl/sha.h>

#include "audit/chain.h"
#include "audit/spool.h"
#include "common/err.h"
#include "support/tmpdir.h"

static void remove_spool(const char *stream)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s.spool", tmpdir, stream);
    unlink(p);
}

/* Appends n events after (seq, prev); returns the new head in prev. */
static void append_n(aud_spool_t *sp, int64_t seq, unsigned char prev[AUD_HASH_BYTES], int n)
{
    aud_hasher_t h;
    assert_int_equal(aud_hasher_init(&h), 0);
    for (int i = 0; i < n; i++) {
        char ev[64];
        int len = snprintf(ev, sizeof(ev), "{\"n\":%d}", (int)seq + i + 1);
        unsigned char hash[AUD_HASH_BYTES];
        aud_chain_next(&h, prev, ev, (size_t)len, hash);
        assert_int_equal(aud_spool_append(sp, seq + i + 1, prev, hash, ev, (size_t)len), 0);
        memcpy(prev, hash, AUD_HASH_BYTES);
    }
    aud_hasher_free(&h);
}

/* A fresh spool of stream holding its first three events, closed; its path into path. */
static void spool_of_three(const char *stream, char *path, size_t cap)
{
    remove_spool(stream);
    aud_spool_t *sp;
    char err[256];
    assert_int_equal(aud_spool_open(tmpdir, stream, &sp, err, sizeof(err)), 0);
    unsigned char head[AUD_HASH_BYTES];
    aud_chain_genesis(stream, head);
    append_n(sp, 0, head, 3);
    assert_int_equal(aud_spool_sync(sp), 0);
    aud_spool_close(sp);
    snprintf(path, cap, "%s/%s.spool", tmpdir, stream);
}

static void records_survive_reopen(void **state)
{
    remove_spool("s1");
    aud_spool_t *sp;
    char err[256];
    assert_int_equal(aud_spool_open(tmpdir, "s1", &sp, err, sizeof(err)), 0);
    assert_int_equal(aud_spool_count(sp), 0);
    unsigned char head[AUD_HASH_BYTES], base[AUD_HASH_BYTES];
    aud_chain_genesis("s1", base);
    memcpy(head, base, AUD_HASH_BYTES);
    append_n(sp, 41, head, 5);                /* continues a chain whose head was seq 41 */
    assert_int_equal(aud_spool_count(sp), 0); /* nothing durable before sync */
    assert_int_equal(aud_spool_sync(sp), 0);
    assert_int_equal(aud_spool_count(sp), 5);
    aud_spool_close(sp);

    assert_int_equal(aud_spool_open(tmpdir, "s1", &sp, err, sizeof(err)), 0);
    assert_int_equal(aud_spool_count(sp), 5);
    int64_t seq;
    unsigned char h[AUD_HASH_BYTES];
    aud_spool_head(sp, &seq, h);
    assert_int_equal(seq, 46);
    assert_memory_equal(h, head, AUD_HASH_BYTES);
    aud_spool_pos_t pos;
    aud_spool_start(sp, &pos);
    assert_int_equal(pos.seq, 41);
    assert_memory_equal(pos.hash, base, AUD_HASH_BYTES);
    aud_spool_record_t rec;
    int n = 0;
    while (aud_spool_next(sp, &pos, &rec, err, sizeof(err)) == 1) {
        n++;
        assert_int_equal(rec.seq, 41 + n);
        char want[32];
        snprintf(want, sizeof(want), "{\"n\":%d}", 41 + n);
        assert_int_equal(rec.len, strlen(want));
        assert_memory_equal(rec.canonical, want, rec.len);
    }
    assert_int_equal(n, 5);
    /* a record that does not continue the head is refused */
    unsigned char wrong[AUD_HASH_BYTES] = {0};
    assert_int_equal(aud_spool_append(sp, 47, wrong, wrong, "{}", 2), CMN_ERR_CONFLICT);
    assert_int_equal(aud_spool_clear(sp), 0);
    assert_int_equal(aud_spool_count(sp), 0);
    aud_spool_close(sp);
    assert_int_equal(aud_spool_open(tmpdir, "s1", &sp, err, sizeof(err)), 0);
    assert_int_equal(aud_spool_count(sp), 0);
    aud_spool_close(sp);
}

static void torn_last_record_is_cut(void **state)
{
    aud_spool_t *sp;
    char err[256], path[128];
    spool_of_three("s2", path, sizeof(path));
    FILE *f = fopen(path, "a");
    fputs("4 0123", f); /* a crash in the middle of a write */
    fclose(f);
    struct stat before;
    stat(path, &before);
    assert_int_equal(aud_spool_open(tmpdir, "s2", &sp, err, sizeof(err)), 0);
    assert_int_equal(aud_spool_count(sp), 3);
    struct stat after;
    stat(path, &after);
    assert_int_equal(after.st_size, before.st_size - 6);
    aud_spool_close(sp);
}

static void corruption_is_refused(void **state)
{
    aud_spool_t *sp;
    char err[256], path[128];
    spool_of_three("s3", path, sizeof(path));
    /* change one event's content: its record no longer chains */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "sed -i 's/{\"n\":2}/{\"n\":9}/' %s", path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(aud_spool_open(tmpdir, "s3", &sp, err, sizeof(err)), CMN_ERR_PARSE);
    assert_non_null(strstr(err, "does not chain"));
    /* another stream's spool */
    assert_int_equal(aud_spool_open(tmpdir, "s1", &sp, err, sizeof(err)), 0);
    aud_spool_close(sp);
    char other[128];
    snprintf(other, sizeof(other), "%s/s4.spool", tmpdir);
    FILE *f = fopen(other, "w");
    fputs("hubgate-spool v1 s9 0 "
          "0000000000000000000000000000000000000000000000000000000000000000\n",
          f);
    fclose(f);
    assert_int_equal(aud_spool_open(tmpdir, "s4", &sp, err, sizeof(err)), CMN_ERR_CONFLICT);
    f = fopen(other, "w");
    fputs("garbage\n", f);
    fclose(f);
    assert_int_equal(aud_spool_open(tmpdir, "s4", &sp, err, sizeof(err)), CMN_ERR_PARSE);
}

/* The chain as docs/evidence-format.md defines it, computed here with OpenSSL's one-shot SHA-256
 * rather than audit/chain.c: chain 1 for "v":1 text, chain 2 (org, commitment) for "v":2. */
static void chain_by_hand(const unsigned char prev[AUD_HASH_BYTES], const char *text,
                          const char *org, int version, unsigned char out[AUD_HASH_BYTES])
{
    unsigned char buf[512];
    size_t n = 0, tl = strlen(text), ol = strlen(org);
    memcpy(buf, prev, AUD_HASH_BYTES);
    n = AUD_HASH_BYTES;
    if (version == 1) {
        memcpy(buf + n, text, tl);
        n += tl;
    } else {
        buf[n++] = (unsigned char)(ol >> 8);
        buf[n++] = (unsigned char)ol;
        memcpy(buf + n, org, ol);
        n += ol;
        SHA256((const unsigned char *)text, tl, buf + n);
        n += AUD_HASH_BYTES;
    }
    SHA256(buf, n, out);
}

/* A spool holding both chain versions (a gateway upgraded while spooling, or a v2 writer
 * continuing a v1 stream) reopens and drains, and each record is checked under its own
 * version: an org edited in a v2 record, or a v2 record hashed as v1, does not chain. */
static void mixed_versions_chain(void **state)
{
    static const struct {
        const char *text, *org;
        int version;
    } recs[] = {
        {"{\"decision\":{\"org\":\"acme\"},\"kind\":\"request\",\"v\":1}", "", 1},
        {"{\"decision\":{\"effect\":\"allow\",\"org\":\"acme\"},\"kind\":\"request\",\"v\":2}",
         "acme", 2},
        {"{\"kind\":\"gateway.started\",\"v\":2}", "", 2},
        {"{\"decision\":{\"org\":\"glob\\\"ex\"},\"kind\":\"request\",\"v\":2}", "glob\"ex", 2},
    };
    const size_t n = sizeof(recs) / sizeof(recs[0]);
    remove_spool("s5");
    aud_spool_t *sp;
    char err[256], path[128];
    assert_int_equal(aud_spool_open(tmpdir, "s5", &sp, err, sizeof(err)), 0);
    unsigned char head[AUD_HASH_BYTES], base[AUD_HASH_BYTES], want[4][AUD_HASH_BYTES];
    aud_chain_genesis("s5", base);
    memcpy(head, base, AUD_HASH_BYTES);
    for (size_t i = 0; i < n; i++) {
        chain_by_hand(head, recs[i].text, recs[i].org, recs[i].version, want[i]);
        assert_int_equal(
            aud_spool_append(sp, (int64_t)i + 1, head, want[i], recs[i].text, strlen(recs[i].text)),
            0);
        memcpy(head, want[i], AUD_HASH_BYTES);
    }
    assert_int_equal(aud_spool_sync(sp), 0);
    aud_spool_close(sp);

    assert_int_equal(aud_spool_open(tmpdir, "s5", &sp, err, sizeof(err)), 0);
    assert_int_equal(aud_spool_count(sp), (int64_t)n);
    aud_spool_pos_t pos;
    aud_spool_record_t rec;
    aud_spool_start(sp, &pos);
    for (size_t i = 0; i < n; i++) {
        if (aud_spool_next(sp, &pos, &rec, err, sizeof(err)) != 1)
            fail_msg("record %zu: %s", i, err);
        assert_memory_equal(rec.hash, want[i], AUD_HASH_BYTES);
    }
    aud_spool_close(sp);

    /* the org of a v2 record, edited in the file */
    snprintf(path, sizeof(path), "%s/s5.spool", tmpdir);
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "sed -i "
             "'s/\"org\":\"acme\"},\"kind\":\"request\",\"v\":2/"
             "\"org\":\"acmf\"},\"kind\":\"request\",\"v\":2/' %s",
             path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(aud_spool_open(tmpdir, "s5", &sp, err, sizeof(err)), CMN_ERR_PARSE);
    assert_non_null(strstr(err, "record seq 2 does not chain"));

    /* a v2 record whose hash was made under chain 1 */
    remove_spool("s5");
    assert_int_equal(aud_spool_open(tmpdir, "s5", &sp, err, sizeof(err)), 0);
    unsigned char h1[AUD_HASH_BYTES];
    chain_by_hand(base, recs[1].text, "", 1, h1);
    assert_int_equal(aud_spool_append(sp, 1, base, h1, recs[1].text, strlen(recs[1].text)), 0);
    assert_int_equal(aud_spool_sync(sp), 0);
    aud_spool_close(sp);
    assert_int_equal(aud_spool_open(tmpdir, "s5", &sp, err, sizeof(err)), CMN_ERR_PARSE);
    assert_non_null(strstr(err, "record seq 1 does not chain"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_survive_reopen),
        cmocka_unit_test(torn_last_record_is_cut),
        cmocka_unit_test(corruption_is_refused),
        cmocka_unit_test(mixed_versions_chain),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
