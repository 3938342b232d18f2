/* Synthetic but realistic audit log for bench/report.sh: --events N events of one stream spread
 * over --days D days ending now, as the gateway writes them (canonical encoding, the columns
 * extracted from it, the hash chain of the format's version, a checkpoint signed with --key
 * every --checkpoint-every events and one after the last event), printed as two COPY text
 * streams: the audit_event rows on stdout, the audit_checkpoint rows into --checkpoints FILE.
 * The traffic: a few hundred people in three orgs, mostly downloads (request and completion,
 * a tenth of them through sealed egress links), uploads, denials by the policy, anonymous
 * calls, authentication failures of several reasons, tokens minted and revoked, policy loads.
 *   bench_report --key FILE --stream NAME --stream-id ID --events N --days D
 *                --checkpoints FILE [--checkpoint-every N] [--policy-sha256 HEX]
 *                [--end EPOCH_SECONDS (default: a minute ago): the events lie in [end - D days,
 *                end), the last checkpoint is signed a second after end]
 * Deterministic for given arguments (a fixed pseudo-random sequence). Exit 0, 1 on error. */
#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "common/buf.h"
#include "common/sha256.h"
#include "support/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long pick(long n)
{
    return (long)(next() % (uint64_t)n);
}

/* COPY text escaping: backslash, and the control characters COPY treats specially. */
static void copy_text(FILE *out, const char *s)
{
    if (!s) {
        fputs("\\N", out);
        return;
    }
    static const char special[] = "\\\n\r\t", letter[] = "\\nrt";
    for (; *s; s++) {
        const char *k = strchr(special, *s);
        if (k) {
            putc('\\', out);
            putc(letter[k - special], out);
        } else {
            putc(*s, out);
        }
    }
}

static void copy_bytea(FILE *out, const unsigned char *b, size_t n)
{
    char hex[2 * AUD_HASH_BYTES + 1];
    cmn_hex(b, n, hex);
    fprintf(out, "\\\\x%s", hex);
}

static void copy_num(FILE *out, int64_t v)
{
    if (v == AUD_ABSENT)
        fputs("\\N", out);
    else
        fprintf(out, "%lld", (long long)v);
}

static const char *const ORGS[] = {"acme", "globex", "initech"};
static const char *const REGION[] = {"us", "eu", "us"};
static const char *const FILES[] = {"config.json", "model.safetensors", "tokenizer.json",
                                    "README.md", "pytorch_model.bin"};
static const char *const AGENTS[] = {"huggingface_hub/0.24.0; python/3.11.2; torch/2.3.1",
                                     "git/2.39.2", "git-lfs/3.3.0 (GitHub; linux amd64; go 1.19.8)",
                                     "huggingface.js/2.17.5"};
static const char *const AUTH[] = {"expired",        "bad_signature", "unknown_key",
                                   "wrong_audience", "revoked",       "malformed"};

int main(int argc, char **argv)
{
    const char *key_file = NULL, *stream = "bench", *cps_file = NULL, *policy = NULL;
    long stream_id = 1, events = 1000000, days = 30, every = 1000, end_s = 0;
    const bench_option_t options[] = {
        {"--key", .str = &key_file},
        {"--stream", .str = &stream},
        {"--stream-id", .num = &stream_id},
        {"--events", .num = &events},
        {"--days", .num = &days},
        {"--checkpoints", .str = &cps_file},
        {"--checkpoint-every", .num = &every},
        {"--end", .num = &end_s},
        {"--policy-sha256", .str = &policy},
        {NULL},
    };
    int bad = bench_options(options, argc, argv);
    if (bad) {
        fprintf(stderr, "bench_report: unknown argument %s\n", argv[bad]);
        return 1;
    }
    char err[300];
    aud_key_t *key = key_file ? aud_key_load(key_file, err, sizeof(err)) : NULL;
    FILE *cps = cps_file ? fopen(cps_file, "w") : NULL;
    aud_hasher_t h;
    if (!key || !cps || events < 1 || days < 1 || every < 1 || aud_hasher_init(&h) != 0) {
        fprintf(stderr, "bench_report: need --key (a private key), --checkpoints FILE and sane "
                        "numbers\n");
        return 1;
    }
    static char policy_sha[65] = "5c0e8f1b2a3d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d";
    if (policy)
        snprintf(policy_sha, sizeof(policy_sha), "%s", policy);
    setvbuf(stdout, NULL, _IOFBF, 1 << 20);
    int64_t end = end_s ? end_s * 1000000LL : aud_time_now_us() - 60 * 1000000LL;
    int64_t start = end - days * 86400LL * 1000000LL;
    int64_t step = (end - start) / events;
    unsigned char prev[AUD_HASH_BYTES], hash[AUD_HASH_BYTES];
    aud_chain_genesis(stream, prev);
    cmn_buf_t canon;
    cmn_buf_init(&canon, AUD_MAX_EVENT_BYTES);
    char rid[40], repo[80], path[200], email[80], sub[40], tok[40], groups_s[3][40], ip[40];
    const char *groups[3];
    long seq = 0, pending_completion = 0;
    int64_t bytes_out = 0, bytes_in = 0;
    aud_event_t ev, req;
    memset(&req, 0, sizeof(req));
    while (seq < events) {
        int64_t ts = start + (int64_t)seq * step;
        if (pending_completion) {
            /* the completion of the request before: the same decision, the bytes */
            ev = req;
            aud_event_stamp(&ev, AUD_KIND_COMPLETION);
            ev.response.status = 200;
            ev.response.bytes_in = bytes_in;
            ev.response.bytes_out = bytes_out;
            ev.response.duration_ms = 20 + pick(5000);
            ev.response.upstream_status = 200;
            pending_completion = 0;
        } else {
            long who = next() % 1000 < 700 ? pick(40) : pick(400); /* a few heavy users */
            long org = who % 3;
            snprintf(sub, sizeof(sub), "00u%08ld", who);
            snprintf(email, sizeof(email), "user%ld@%s.example", who, ORGS[org]);
            snprintf(groups_s[0], sizeof(groups_s[0]), "%s-staff", ORGS[org]);
            snprintf(groups_s[1], sizeof(groups_s[1]), "%s-ml", ORGS[org]);
            snprintf(groups_s[2], sizeof(groups_s[2]), "everyone");
            for (int g = 0; g < 3; g++)
                groups[g] = groups_s[g];
            snprintf(rid, sizeof(rid), "%016lx%016lx", (unsigned long)next(), (unsigned long)seq);
            snprintf(repo, sizeof(repo), "%s/model-%ld", ORGS[org], pick(60));
            const char *file = FILES[pick(5)];
            snprintf(ip, sizeof(ip), "10.%ld.%ld.%ld", org, pick(256), pick(256));
            long r = pick(1000);
            aud_kind_t kind = AUD_KIND_REQUEST;
            if (r < 2)
                kind = pick(2) ? AUD_KIND_TOKEN_MINTED : AUD_KIND_TOKEN_REVOKED;
            aud_event_init(&ev, kind);
            ev.request_id = rid;
            ev.client.ip = ip;
            ev.client.user_agent = AGENTS[pick(4)];
            int anonymous = r >= 2 && r < 12, authfail = r >= 12 && r < 32;
            if (!anonymous && !authfail) {
                ev.actor.iss = "https://login.corp.example";
                ev.actor.sub = sub;
                ev.actor.email = email;
                ev.actor.groups = groups;
                ev.actor.n_groups = 3;
                ev.actor.mfa = who % 2;
                if (who % 5 == 0) {
                    snprintf(tok, sizeof(tok), "tok_%010ld", who);
                    ev.actor.token_id = tok;
                }
            }
            if (kind != AUD_KIND_REQUEST) {
                ev.request.method = kind == AUD_KIND_TOKEN_MINTED ? "POST" : "DELETE";
                ev.request.path = "/-/tokens";
                ev.decision.effect = "allow";
                ev.decision.rule = "sso-identity";
                snprintf(tok, sizeof(tok), "tok_%010ld", seq);
                aud_event_detail_str(&ev, "token_id", tok);
                aud_event_detail_str(&ev, "name", "laptop");
                aud_event_detail_str(&ev, "scope", "read");
                ev.response.status = kind == AUD_KIND_TOKEN_MINTED ? 201 : 200;
            } else {
                int upload = pick(100) < 5, egress = !upload && pick(100) < 10;
                ev.request.method = upload ? "POST" : "GET";
                ev.request.repo_type = "model";
                ev.request.repo = repo;
                if (egress) {
                    ev.request.path = "/-/egress";
                } else {
                    snprintf(path, sizeof(path), "/%s/resolve/main/%s", repo, file);
                    ev.request.path = path;
                    ev.request.revision = "main";
                    ev.request.file = file;
                }
                ev.request.action = upload ? "write" : "read";
                ev.decision.policy_sha256 = policy_sha;
                if (authfail) {
                    ev.decision.effect = "deny";
                    ev.decision.rule = "authentication";
                    ev.decision.reason = "the token could not be verified";
                    aud_event_detail_str(&ev, "refused_by", "authentication");
                    aud_event_detail_str(&ev, "auth_failure", AUTH[pick(6)]);
                    ev.response.status = 401;
                } else if (anonymous || pick(100) < 6) {
                    ev.decision.effect = "deny";
                    ev.decision.org = ORGS[(org + (anonymous ? 0 : 1)) % 3];
                    ev.decision.rule = anonymous ? "anonymous" : "default-deny";
                    ev.decision.reason = anonymous ? "authentication required"
                                                   : "the subject holds no role on this repo";
                    ev.decision.region = REGION[org];
                    aud_event_detail_str(&ev, "refused_by", "authorization");
                    ev.response.status = anonymous ? 401 : 404;
                } else {
                    ev.decision.effect = "allow";
                    ev.decision.org = ORGS[org];
                    ev.decision.role = upload ? "write" : "read";
                    ev.decision.rule = "orgs.members[1]";
                    ev.decision.reason = "role read allows read on this repo";
                    ev.decision.region = REGION[org];
                    pending_completion = 1;
                    bytes_in = upload ? 1000 + pick(1 << 20) : 0;
                    bytes_out = upload ? 200 : egress ? pick(1 << 30) : pick(1 << 16);
                    req = ev;
                }
            }
        }
        if (seq % 100000 == 0 && !pending_completion) {
            aud_event_init(&ev, AUD_KIND_POLICY_LOADED);
            aud_event_detail_str(&ev, "sha256", policy_sha);
            aud_event_detail_str(&ev, "trigger", seq ? "sighup" : "start");
            aud_event_detail_str(&ev, "git_state", "none");
        }
        ev.ts_us = ts;
        cmn_buf_clear(&canon);
        if (aud_event_encode(&ev, &canon) != 0) {
            fprintf(stderr, "bench_report: an event does not encode\n");
            return 1;
        }
        aud_chain_next(&h, prev, canon.data, canon.len, hash);
        seq++;
        aud_columns_t c;
        aud_event_columns(&ev, &c);
        char tsbuf[28];
        aud_time_format(ts, tsbuf);
        fprintf(stdout, "%ld\t%ld\t%s\t", stream_id, seq, tsbuf);
        copy_bytea(stdout, prev, AUD_HASH_BYTES);
        fputc('\t', stdout);
        copy_bytea(stdout, hash, AUD_HASH_BYTES);
        fputc('\t', stdout);
        copy_text(stdout, canon.data);
        const char *cols[] = {c.kind, c.request_id, c.actor,    c.org,
                              c.repo, c.action,     c.decision, c.rule};
        for (int i = 0; i < 8; i++) {
            fputc('\t', stdout);
            copy_text(stdout, cols[i]);
        }
        fputc('\t', stdout);
        copy_num(stdout, c.status);
        fputc('\t', stdout);
        copy_num(stdout, c.bytes_in);
        fputc('\t', stdout);
        copy_num(stdout, c.bytes_out);
        fputc('\t', stdout);
        copy_text(stdout, c.client_ip);
        fputc('\n', stdout);
        memcpy(prev, hash, AUD_HASH_BYTES);
        if (seq % every == 0 || seq == events) {
            aud_checkpoint_t cp;
            memset(&cp, 0, sizeof(cp));
            snprintf(cp.stream, sizeof(cp.stream), "%s", stream);
            cp.seq = seq;
            memcpy(cp.hash, hash, AUD_HASH_BYTES);
            /* signed a moment after the event; the last one after the whole period */
            cp.ts_us = seq == events ? end + 1000000 : ts + step / 2;
            if (aud_checkpoint_sign(&cp, key) != 0) {
                fprintf(stderr, "bench_report: cannot sign\n");
                return 1;
            }
            char ctsbuf[28];
            aud_time_format(cp.ts_us, ctsbuf);
            fprintf(cps, "%ld\t%ld\t", stream_id, seq);
            copy_bytea(cps, cp.hash, AUD_HASH_BYTES);
            fprintf(cps, "\t%s\t%s\t", ctsbuf, cp.key_id);
            char sighex[2 * AUD_SIG_BYTES + 1];
            cmn_hex(cp.sig, AUD_SIG_BYTES, sighex);
            fprintf(cps, "\\\\x%s\n", sighex);
        }
    }
    fclose(cps);
    fflush(stdout);
    cmn_buf_free(&canon);
    aud_hasher_free(&h);
    aud_key_free(key);
    return 0;
}
