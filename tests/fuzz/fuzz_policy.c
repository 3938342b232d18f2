/* layer: policy */
/* Fuzzes the policy parser and, on what it accepts, the evaluator, explain, the embedded test
 * runner and diff.
 *
 * Invariants checked on every input (abort() on violation):
 *  - no crash, leak or sanitizer report;
 *  - a refusal always says why, one problem a line, every line naming the file ("fuzz.json:")
 *    with the file's control characters escaped;
 *  - an accepted policy has a 64-digit SHA-256 of exactly the input bytes;
 *  - explain reaches the same decision as decide, for a fixed set of subjects and requests;
 *    a decision always carries a rule and a reason, and an allow answers ALLOW;
 *  - the listing filter agrees with deciding a single read;
 *  - report exports are explained as decided, and only ever allowed to an auditor;
 *  - a policy diffed against itself shows no change. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "policy/policy.h"
#include "common/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const regions[] = {"us", "eu"};

static const char *const groups_a[] = {"acme-admins", "acme-ml", "contractors"};
static const char *const groups_b[] = {"acme-staff", "g"};
static const char *const groups_c[] = {"audit"};

/* A stand-in classifier for embedded tests: "/ns/name/..." is a model; GET reads, POST
 * writes, PUT administers, DELETE deletes; "/" alone names no repo. */
static int route(void *ctx, const char *method, const char *target, const char *body,
                 size_t body_len, const char *content_type, cmn_arena_t *arena, pol_request_t *out,
                 char *err, size_t errlen)
{
    (void)ctx, (void)body, (void)body_len, (void)content_type;
    memset(out, 0, sizeof(*out));
    pol_action_t a = strcmp(method, "GET") == 0      ? POL_ACTION_READ
                     : strcmp(method, "POST") == 0   ? POL_ACTION_WRITE
                     : strcmp(method, "PUT") == 0    ? POL_ACTION_ADMIN
                     : strcmp(method, "DELETE") == 0 ? POL_ACTION_DELETE
                                                     : POL_ACTION_NONE;
    if (a == POL_ACTION_NONE) {
        out->unknown = 1;
        return 0;
    }
    const char *ns = target + 1, *slash = strchr(ns, '/');
    if (!*ns) {
        out->action = POL_ACTION_READ;
        return 0;
    }
    if (!slash) {
        snprintf(err, errlen, "no repo");
        return -1;
    }
    const char *end = strchr(slash + 1, '/');
    size_t nlen = end ? (size_t)(end - slash - 1) : strlen(slash + 1);
    out->targets[0] = (pol_target_t){
        .type = POL_REPO_MODEL,
        .namespace = cmn_arena_strndup(arena, ns, (size_t)(slash - ns)),
        .name = cmn_arena_strndup(arena, slash + 1, nlen),
        .action = a,
    };
    out->ntargets = 1;
    out->action = a;
    return out->targets[0].namespace && out->targets[0].name ? 0 : -1;
}

static void check_decisions(const pol_policy_t *p)
{
    pol_subject_t subjects[] = {
        {.sub = "alice", .groups = groups_a, .ngroups = 3, .mfa = 1},
        {.sub = "bob", .email = "audit@acme.example", .groups = groups_b, .ngroups = 2},
        {.sub = "carol", .preferred_username = "carol", .read_only_token = 1},
        {.sub = "dan", .email = "chief@corp.example", .groups = groups_c, .ngroups = 1},
        {.anonymous = 1},
    };
    static const struct {
        pol_repo_type_t type;
        const char *ns, *name;
        pol_action_t action;
    } targets[] = {
        {POL_REPO_MODEL, "acme", "bert", POL_ACTION_READ},
        {POL_REPO_DATASET, "acme", "ft-1", POL_ACTION_WRITE},
        {POL_REPO_SPACE, "google", "app", POL_ACTION_READ},
        {POL_REPO_MODEL, "carol", "m", POL_ACTION_CREATE},
        {POL_REPO_MODEL, "", "gpt2", POL_ACTION_READ},
        {POL_REPO_NONE, "acme", NULL, POL_ACTION_ADMIN},
        {POL_REPO_BUCKET, "a", "b", POL_ACTION_DELETE},
    };
    pol_ip_t ip;
    (void)pol_ip_parse("10.1.2.3", &ip);
    for (size_t s = 0; s < sizeof(subjects) / sizeof(subjects[0]); s++) {
        for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
            pol_request_t r;
            memset(&r, 0, sizeof(r));
            r.targets[0] = (pol_target_t){targets[t].type, targets[t].ns, targets[t].name,
                                          targets[t].action, 0};
            /* a second target makes it a copy: residency applies */
            r.targets[1] = (pol_target_t){POL_REPO_MODEL, "eu-org", "copy", POL_ACTION_CREATE, 0};
            r.ntargets = t % 2 ? 2 : 1;
            r.action = targets[t].action;
            r.unknown = t == 6 && s == 0;
            pol_decision_t a, b;
            pol_decide(p, &subjects[s], &r, t % 3 ? &ip : NULL, 0, &a);
            cmn_buf_t trace;
            cmn_buf_init(&trace, 1 << 20);
            if (pol_explain(p, &subjects[s], &r, t % 3 ? &ip : NULL, 0, &b, &trace) == 0 &&
                (a.effect != b.effect || a.answer != b.answer || strcmp(a.rule, b.rule) != 0 ||
                 strcmp(a.reason, b.reason) != 0 || a.target != b.target))
                abort();
            cmn_buf_free(&trace);
            if (!a.rule || !a.rule[0] || !a.reason[0])
                abort();
            if ((a.effect == POL_ALLOW) != (a.answer == POL_ANSWER_ALLOW))
                abort();
            if (targets[t].type != POL_REPO_NONE && targets[t].action == POL_ACTION_READ &&
                r.ntargets == 1 && !r.unknown) {
                int readable = pol_can_read(p, &subjects[s], targets[t].type, targets[t].ns,
                                            targets[t].name, t % 3 ? &ip : NULL, 0);
                if (readable != (a.effect == POL_ALLOW))
                    abort();
            }
        }
        pol_membership_t m[8];
        (void)pol_subject_orgs(p, &subjects[s], m, 8);
        /* report exports: explained as decided; an allow is an auditor's, with a rule */
        static const char *const orgs[] = {"acme", NULL, "nowhere"};
        for (size_t o = 0; o < sizeof(orgs) / sizeof(orgs[0]); o++) {
            pol_decision_t d, e;
            pol_decide_report(p, &subjects[s], orgs[o], o ? NULL : &ip, 0, &d);
            pol_request_t r;
            memset(&r, 0, sizeof(r));
            r.report = 1;
            r.report_org = orgs[o];
            cmn_buf_t trace;
            cmn_buf_init(&trace, 1 << 20);
            if (pol_explain(p, &subjects[s], &r, o ? NULL : &ip, 0, &e, &trace) == 0 &&
                (d.effect != e.effect || d.answer != e.answer || strcmp(d.rule, e.rule) != 0 ||
                 strcmp(d.reason, e.reason) != 0))
                abort();
            cmn_buf_free(&trace);
            if (!d.rule || !d.rule[0] || !d.reason[0] ||
                (d.effect == POL_ALLOW) != (d.answer == POL_ANSWER_ALLOW) ||
                (d.effect == POL_ALLOW && d.role != POL_ROLE_AUDITOR))
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pol_options_t opts = {regions, 2, "us"};
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    pol_policy_t *p = pol_policy_parse((const char *)data, size, "fuzz.json", &opts, &errors);
    if (!p) {
        if (errors.len == 0)
            abort(); /* a refusal always says why */
        for (const char *line = errors.data; *line;) {
            if (strncmp(line, "fuzz.json", 9) != 0)
                abort();
            const char *nl = strchr(line, '\n');
            if (!nl)
                break;
            for (const char *c = line; c < nl; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    abort(); /* one problem, one line, whatever the file holds */
            line = nl + 1;
        }
        cmn_buf_free(&errors);
        return 0;
    }
    if (errors.len != 0)
        abort();
    char hex[CMN_SHA256_HEX];
    cmn_sha256_hex(data, size, hex);
    if (strcmp(hex, pol_policy_sha256(p)) != 0)
        abort();
    check_decisions(p);

    cmn_buf_t report;
    cmn_buf_init(&report, 1 << 20);
    pol_test_result_t res;
    (void)pol_policy_run_tests(p, route, NULL, 1, &report, &res);
    cmn_buf_free(&report);

    if (size < 8192) { /* diff costs subjects × patterns: keep the fuzzer fast */
        cmn_buf_t out;
        cmn_buf_init(&out, 16 << 20);
        size_t changes = 1;
        if (pol_diff(p, p, size % 2, &out, &changes) == 0 && changes != 0)
            abort();
        cmn_buf_free(&out);
    }
    pol_policy_unref(pol_policy_ref(p));
    pol_policy_unref(p);
    cmn_buf_free(&errors);
    return 0;
}
