/* `hubgate report verify` speed, for bench/report_verify.sh: writes a report directory of
 * --events N events (the gateway's request/completion pairs, chained, a signed end checkpoint,
 * a checkpoint file, a signed manifest) into a temporary folder, then times
 * aud_report_verify_run over it and prints one JSON line:
 *   {"events":N,"bytes":B,"seconds":S,"events_per_second":R,"ok":true,"max_rss_kib":K,...}
 *
 *   bench_report_verify [--events N] [--org ORG] [--checkpoint-every K] [--threads T] [--keep]
 *     --org ORG             an org-scoped report: every third event is of another org, hidden
 *     --checkpoint-every K  also write the writer's checkpoint file (one every K events) and
 *                           pass it as --checkpoint (0: none; default 1000)
 *     --threads T           threads checking lines (0: one per CPU, as hubgate does)
 *     --keep                leave the folder (its path is printed on stderr)
 * Exit status: 0 when the report verified, 1 when it did not, 2 for bad arguments or I/O. */
#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/report_stats.h"
#include "audit/report_verify.h"
#include "common/buf.h"
#include "common/sha256.h"
#include "support/options.h"
#include "support/sample_event.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define STREAM "bench-1"

/* The canonical text as a JSON string: it holds no raw control character. */
static void put_json_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            fwrite(s + run, 1, i - run, f);
            fputc('\\', f);
            run = i;
        }
    }
    fwrite(s + run, 1, n - run, f);
    fputc('"', f);
}

static int sha256_file(const char *path, char hex[2 * AUD_HASH_BYTES + 1])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    static char buf[1 << 20];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    unsigned char md[32];
    unsigned int ml = 0;
    EVP_DigestFinal_ex(ctx, md, &ml);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    cmn_hex(md, 32, hex);
    return 0;
}

static int write_report(const char *dir, const char *keyfile, long events, const char *org,
                        long cp_every, const char *cpfile, aud_key_t *key)
{
    char path[2048];
    const int64_t from = 1777593600000000LL; /* 2026-05-01T00:00:00Z */
    const int64_t step = 1000;               /* 1 ms between events */
    const long margin = events / 100;        /* 1% before the period and after it */
    const int64_t to = from + (int64_t)(events - 2 * margin) * step;
    snprintf(path, sizeof(path), "%s/events.jsonl", dir);
    FILE *f = fopen(path, "w");
    FILE *cpf = cp_every > 0 ? fopen(cpfile, "w") : NULL;
    if (!f || (cp_every > 0 && !cpf))
        return -1;
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    aud_hasher_t h;
    aud_hasher_init(&h);
    unsigned char prev[AUD_HASH_BYTES], hash[AUD_HASH_BYTES], c[AUD_HASH_BYTES];
    aud_chain_genesis(STREAM, prev);
    cmn_buf_t enc;
    cmn_buf_init(&enc, AUD_MAX_EVENT_BYTES);
    /* report.json's counts, as report soc2 makes them (report verify recounts them) */
    aud_report_stats_t *stats = aud_report_stats_create(from, to, org);
    if (!stats)
        return -1;
    aud_event_t ev;
    bench_sample_text_t text;
    char hp[65], hh[65], hc[65];
    int64_t end_ts = 0;
    for (long i = 0; i < events; i++) {
        int64_t ts = from + (int64_t)(i - margin) * step;
        const char *eorg = org && i % 3 == 2 ? "globex" : org ? org : "acme";
        snprintf(text.rid, sizeof(text.rid), "r-%08ld", i / 2);
        bench_sample_event(&ev, i, eorg, &text);
        ev.ts_us = ts;
        cmn_buf_clear(&enc);
        if (aud_event_encode(&ev, &enc) != 0)
            return -1;
        aud_chain_next(&h, prev, enc.data, enc.len, hash);
        cmn_hex(prev, 32, hp);
        cmn_hex(hash, 32, hh);
        if (org && strcmp(eorg, org) != 0) {
            aud_chain_commitment(&h, enc.data, enc.len, c);
            cmn_hex(c, 32, hc);
            fprintf(
                f,
                "{\"chain\":2,\"commitment\":\"%s\",\"hash\":\"%s\",\"hidden\":true,\"org\":\"%s\","
                "\"prev_hash\":\"%s\",\"seq\":%ld,\"stream\":\"" STREAM "\"}\n",
                hc, hh, eorg, hp, i + 1);
        } else {
            fputs("{\"canonical\":", f);
            put_json_string(f, enc.data, enc.len);
            fprintf(
                f,
                ",\"chain\":%d,\"hash\":\"%s\",\"in_period\":%s,\"prev_hash\":\"%s\",\"seq\":%ld,"
                "\"stream\":\"" STREAM "\"}\n",
                aud_chain_version(enc.data, enc.len), hh, ts >= from && ts < to ? "true" : "false",
                hp, i + 1);
        }
        if (aud_report_in_scope(&ev, from, to, org) &&
            aud_report_stats_add(stats, STREAM, i + 1, &ev) != 0)
            return -1;
        memcpy(prev, hash, AUD_HASH_BYTES);
        if (cpf && (i + 1) % cp_every == 0) {
            aud_checkpoint_t cp;
            memset(&cp, 0, sizeof(cp));
            snprintf(cp.stream, sizeof(cp.stream), STREAM);
            cp.seq = i + 1;
            memcpy(cp.hash, hash, AUD_HASH_BYTES);
            cp.ts_us = ts + 1;
            aud_checkpoint_sign(&cp, key);
            char line[AUD_CHECKPOINT_MAX_LINE];
            int n = aud_checkpoint_format(&cp, line, sizeof(line));
            fwrite(line, 1, (size_t)n, cpf);
        }
        end_ts = ts + 1;
    }
    if (fclose(f) != 0 || (cpf && fclose(cpf) != 0))
        return -1;
    cmn_buf_free(&enc);
    aud_hasher_free(&h);

    aud_checkpoint_t end;
    memset(&end, 0, sizeof(end));
    snprintf(end.stream, sizeof(end.stream), STREAM);
    end.seq = events;
    memcpy(end.hash, prev, AUD_HASH_BYTES);
    end.ts_us = end_ts > to ? end_ts : to;
    if (aud_checkpoint_sign(&end, key) != 0)
        return -1;
    unsigned char g[AUD_HASH_BYTES];
    char gh[65], fts[28], tts[28];
    aud_chain_genesis(STREAM, g);
    cmn_hex(g, 32, gh);
    aud_time_format(from, fts);
    aud_time_format(to, tts);
    char sig64[100], eh[65];
    EVP_EncodeBlock((unsigned char *)sig64, end.sig, AUD_SIG_BYTES);
    cmn_hex(end.hash, AUD_HASH_BYTES, eh);
    char ets[28];
    aud_time_format(end.ts_us, ets);
    json_t *rj = json_pack(
        "{s:{s:s, s:s}, s:{s:s*}, s:{s:[{s:s, s:{s:b, s:s, s:i}, s:{s:s, s:s, s:I, s:s, s:s}}]}}",
        "period", "from", fts, "to", tts, "scope", "org", org, "integrity", "streams", "stream",
        STREAM, "start", "genesis", 1, "hash", gh, "seq", 0, "end", "hash", eh, "key_id",
        end.key_id, "seq", (json_int_t)end.seq, "signature", sig64, "ts", ets);
    snprintf(path, sizeof(path), "%s/report.json", dir);
    if (!rj || aud_report_stats_json(stats, rj) != 0 ||
        json_dump_file(rj, path, JSON_COMPACT | JSON_SORT_KEYS) != 0)
        return -1;
    json_decref(rj);
    aud_report_stats_destroy(stats);
    const char *other[] = {"report.html", "events.csv"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, other[i]);
        f = fopen(path, "w");
        if (!f)
            return -1;
        fputs(i ? "stream,seq\n" : "<!doctype html><title>bench</title>\n", f);
        fclose(f);
    }
    /* manifest.json, signed with the private key as `openssl pkeyutl -sign -rawin` would */
    const char *names[] = {"events.csv", "events.jsonl", "report.html", "report.json"};
    cmn_buf_t m;
    cmn_buf_init(&m, 1 << 16);
    cmn_buf_puts(&m, "{\"files\":{");
    for (int i = 0; i < 4; i++) {
        char hex[65];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (sha256_file(path, hex) != 0)
            return -1;
        cmn_buf_printf(&m, "%s\"%s\":\"%s\"", i ? "," : "", names[i], hex);
    }
    cmn_buf_printf(&m, "},\"format\":1,\"generated\":\"%s\",\"key_id\":\"%s\"}", tts,
                   aud_key_id(key));
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fwrite(m.data, 1, m.len, f);
    fclose(f);
    FILE *kf = fopen(keyfile, "r");
    EVP_PKEY *pk = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
    if (kf)
        fclose(kf);
    unsigned char sig[64];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!pk || EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)m.data, m.len) != 1)
        return -1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    cmn_buf_free(&m);
    unsigned char b64[100];
    EVP_EncodeBlock(b64, sig, 64);
    snprintf(path, sizeof(path), "%s/manifest.sig", dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%s\n", b64);
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    long events = 1000000, cp_every = 1000, threads = 0;
    const char *org = NULL;
    int keep = 0;
    const bench_option_t options[] = {
        {"--events", .num = &events},
        {"--org", .str = &org},
        {"--checkpoint-every", .num = &cp_every},
        {"--threads", .num = &threads},
        {"--keep", .flag = &keep},
        {NULL},
    };
    if (bench_options(options, argc, argv) != 0) {
        fprintf(stderr, "usage: bench_report_verify [--events N] [--org ORG] "
                        "[--checkpoint-every K] [--threads T] [--keep]\n");
        return 2;
    }
    if (events < 100 || cp_every < 0 || threads < 0) {
        fprintf(stderr, "bench_report_verify: --events must be at least 100\n");
        return 2;
    }
    /* $TMPDIR (bench/report_verify.sh uses a tmpfs: the figure is the verifier's, not the
     * disk's) */
    char base[900];
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof(base), "%s/hubgate-rv-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 2;
    }
    char dir[1024], keyfile[1024], pubfile[1024], cpfile[1024], err[512];
    snprintf(dir, sizeof(dir), "%s/report", base);
    snprintf(keyfile, sizeof(keyfile), "%s/key.pem", base);
    snprintf(pubfile, sizeof(pubfile), "%s/key.pub", base);
    snprintf(cpfile, sizeof(cpfile), "%s/" STREAM ".checkpoints", base);
    aud_key_t *key = aud_key_generate();
    if (!key || mkdir(dir, 0700) != 0 ||
        aud_key_write_private(key, keyfile, 0, err, sizeof(err)) != 0 ||
        aud_key_write_public(key, pubfile, 0, err, sizeof(err)) != 0 ||
        write_report(dir, keyfile, events, org, cp_every, cpfile, key) != 0) {
        fprintf(stderr, "bench_report_verify: cannot write the report in %s\n", base);
        return 2;
    }
    aud_key_free(key);
    struct stat st;
    char ev_path[2048];
    snprintf(ev_path, sizeof(ev_path), "%s/events.jsonl", dir);
    stat(ev_path, &st);

    const char *keys[] = {pubfile};
    const char *cps[] = {cpfile};
    aud_report_verify_options_t o = {.dir = dir,
                                     .pubkey_files = keys,
                                     .n_pubkeys = 1,
                                     .checkpoint_files = cps,
                                     .n_checkpoint_files = cp_every > 0,
                                     .threads = threads > 0 ? (unsigned)threads : 0};
    aud_report_verify_result_t r;
    struct rusage before;
    getrusage(RUSAGE_SELF, &before);
    int rc = aud_report_verify_run(&o, &r, err, sizeof(err));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (rc != 0) {
        fprintf(stderr, "bench_report_verify: %s\n", err);
        return 2;
    }
    if (!r.ok)
        aud_report_verify_print_text(&r, stderr);
    double cpu = (double)(ru.ru_utime.tv_sec - before.ru_utime.tv_sec) +
                 (double)(ru.ru_stime.tv_sec - before.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6 +
                 (double)(ru.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    printf("{\"events\":%lld,\"bytes\":%lld,\"org\":%s%s%s,\"checkpoint_every\":%ld,"
           "\"threads\":%ld,\"seconds\":%.3f,\"events_per_second\":%.0f,\"cpu_seconds\":%.3f,"
           "\"events_per_cpu_second\":%.0f,\"ok\":%s,\"max_rss_kib\":%ld,"
           "\"max_rss_kib_before_verify\":%ld}\n",
           (long long)r.events, (long long)st.st_size, org ? "\"" : "", org ? org : "null",
           org ? "\"" : "", cp_every, threads, r.seconds,
           r.seconds > 0 ? (double)r.events / r.seconds : 0, cpu,
           cpu > 0 ? (double)r.events / cpu : 0, r.ok ? "true" : "false", ru.ru_maxrss,
           before.ru_maxrss);
    int ok = r.ok;
    aud_report_verify_result_free(&r);
    if (keep) {
        fprintf(stderr, "kept %s\n", base);
    } else {
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", base);
    }
    return ok ? 0 : 1;
}
