/* Policy decision cost and compile time at scale (issue 5: 1,000 orgs × 10 member entries ×
 * 5 resource groups; goal: median decision ≤ 2 µs). Run by bench/policy.sh.
 *
 * The policy is generated in memory: each org has 10 member entries (8 groups, 2 emails, all
 * four roles), 5 resource groups of 2 patterns and 2 members each, `require` on write and
 * admin; plus 50 external namespaces and 20 rules (deny and allow, some scoped to subjects).
 * Decisions use subjects with 5 groups from random orgs (and, separately, 64 groups) against
 * requests on random orgs: repo reads and writes, resource-group repos, org-level targets,
 * external namespaces and two-target copies, with and without a client address. Decisions are
 * timed in batches of 256 (a clock read costs about as much as a decision); the figures are
 * per decision. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "policy/policy.h"

#define ORGS    1000
#define BATCH   256
#define BATCHES 4000
#define NREQ    4096

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void generate(cmn_buf_t *b)
{
    static const char *const roles[] = {"read", "write", "admin", "auditor"};
    cmn_buf_puts(b, "{\n  \"version\": 1,\n  \"orgs\": {\n");
    for (int o = 0; o < ORGS; o++) {
        cmn_buf_printf(b, "    \"org%04d\": {\"regions\": [\"%s\"], \"members\": [", o,
                       o % 3 ? "us" : "eu");
        for (int m = 0; m < 10; m++) {
            if (m < 8)
                cmn_buf_printf(b, "%s{\"group\": \"org%04d-g%d\", \"role\": \"%s\"}", m ? ", " : "",
                               o, m, roles[m % 4]);
            else
                cmn_buf_printf(b, ", {\"email\": \"user%d@org%04d.example\", \"role\": \"%s\"}", m,
                               o, roles[m % 4]);
        }
        cmn_buf_puts(b, "],\n      \"resource_groups\": [");
        for (int r = 0; r < 5; r++)
            cmn_buf_printf(b,
                           "%s{\"name\": \"rg%d\", \"repos\": [\"models/org%04d/rg%d-*\", "
                           "\"datasets/org%04d/rg%d-*\"], \"members\": [{\"group\": "
                           "\"org%04d-c%d\", \"role\": \"write\"}, {\"group\": \"org%04d-g0\", "
                           "\"role\": \"admin\"}]}",
                           r ? ", " : "", r, o, r, o, r, o, r, o);
        cmn_buf_printf(b,
                       "],\n      \"require\": {\"write\": {\"mfa\": true}, \"admin\": "
                       "{\"mfa\": true, \"networks\": [\"10.0.0.0/8\"]}}}%s\n",
                       o + 1 < ORGS ? "," : "");
    }
    cmn_buf_puts(b, "  },\n  \"external\": {\"read\": true, \"namespaces\": [");
    for (int e = 0; e < 50; e++)
        cmn_buf_printf(b, "%s\"ext%02d\"", e ? ", " : "", e);
    cmn_buf_puts(b, "]},\n  \"personal_namespaces\": {\"read\": true, \"write\": true},\n"
                    "  \"rules\": [\n");
    for (int r = 0; r < 20; r++) {
        if (r % 4 == 3)
            cmn_buf_printf(b,
                           "    {\"id\": \"allow-%d\", \"effect\": \"allow\", \"actions\": "
                           "[\"read\"], \"repos\": [\"datasets/partner%d/*\"], \"subjects\": "
                           "[{\"group\": \"partners-%d\"}]}",
                           r, r, r);
        else
            cmn_buf_printf(b,
                           "    {\"id\": \"deny-%d\", \"effect\": \"deny\", \"actions\": "
                           "[\"%s\"], \"repos\": [\"*/org%04d/frozen-*\", \"models/ext%02d/bad-*\"]"
                           "%s, \"unless\": {\"networks\": [\"10.%d.0.0/16\"]}}",
                           r, r % 2 ? "delete" : "write", r * 37 % ORGS, r,
                           r % 3 ? "" : ", \"subjects\": [{\"group\": \"contractors\"}]", r);
        cmn_buf_puts(b, r + 1 < 20 ? ",\n" : "\n");
    }
    cmn_buf_puts(b, "  ]\n}\n");
}

typedef struct {
    pol_subject_t subject;
    const char *groups[64];
    char storage[64][32];
    pol_request_t request;
    char ns[2][16], name[2][24];
    pol_ip_t ip;
    int has_ip;
} work_t;

static void make_work(work_t *w, int ngroups)
{
    memset(w, 0, sizeof(*w));
    int home = (int)rnd(ORGS);
    for (int g = 0; g < ngroups; g++) {
        int org = g == 0 ? home : (int)rnd(ORGS);
        int kind = (int)rnd(10);
        if (kind < 8)
            snprintf(w->storage[g], sizeof(w->storage[g]), "org%04d-g%d", org, kind);
        else
            snprintf(w->storage[g], sizeof(w->storage[g]), "org%04d-c%d", org, (int)rnd(5));
        w->groups[g] = w->storage[g];
    }
    w->subject.sub = "bench-user";
    w->subject.preferred_username = "bench-user";
    w->subject.groups = w->groups;
    w->subject.ngroups = (size_t)ngroups;
    w->subject.mfa = rnd(2);
    w->has_ip = rnd(2);
    pol_ip_parse(rnd(2) ? "10.1.2.3" : "192.0.2.7", &w->ip);

    pol_request_t *r = &w->request;
    int org = rnd(4) ? home : (int)rnd(ORGS);
    int shape = (int)rnd(10);
    static const pol_action_t actions[] = {POL_ACTION_READ,  POL_ACTION_READ,   POL_ACTION_READ,
                                           POL_ACTION_WRITE, POL_ACTION_CREATE, POL_ACTION_DELETE,
                                           POL_ACTION_ADMIN};
    pol_action_t a = actions[rnd(7)];
    snprintf(w->ns[0], sizeof(w->ns[0]), shape == 7 ? "ext%02d" : "org%04d",
             shape == 7 ? (int)rnd(50) : org);
    if (shape < 4)
        snprintf(w->name[0], sizeof(w->name[0]), "model-%u", rnd(100000));
    else if (shape < 6)
        snprintf(w->name[0], sizeof(w->name[0]), "rg%u-x%u", rnd(5), rnd(1000));
    else
        snprintf(w->name[0], sizeof(w->name[0]), "frozen-%u", rnd(10));
    r->targets[0] = (pol_target_t){shape % 3 == 1 ? POL_REPO_DATASET : POL_REPO_MODEL, w->ns[0],
                                   w->name[0], shape == 7 ? POL_ACTION_READ : a, 0};
    r->ntargets = 1;
    r->action = r->targets[0].action;
    if (shape == 8) { /* org-level route */
        r->targets[0].type = POL_REPO_NONE;
        r->targets[0].name = NULL;
    } else if (shape == 9) { /* duplicate: read source, create copy (residency) */
        r->targets[0].action = POL_ACTION_READ;
        snprintf(w->ns[1], sizeof(w->ns[1]), "org%04d", (int)rnd(ORGS));
        snprintf(w->name[1], sizeof(w->name[1]), "copy-%u", rnd(1000));
        r->targets[1] = (pol_target_t){POL_REPO_MODEL, w->ns[1], w->name[1], POL_ACTION_CREATE, 0};
        r->ntargets = 2;
        r->action = POL_ACTION_CREATE;
    }
}

static void time_decisions(const pol_policy_t *p, work_t *work, const char *label)
{
    static double per[BATCHES];
    size_t allowed = 0, total = 0;
    pol_decision_t d;
    for (int warm = 0; warm < NREQ; warm++)
        pol_decide(p, &work[warm].subject, &work[warm].request,
                   work[warm].has_ip ? &work[warm].ip : NULL, 0, &d);
    size_t k = 0;
    for (int b = 0; b < BATCHES; b++) {
        double t0 = now_us();
        for (int i = 0; i < BATCH; i++, k = (k + 1) % NREQ) {
            pol_decide(p, &work[k].subject, &work[k].request, work[k].has_ip ? &work[k].ip : NULL,
                       0, &d);
            allowed += d.effect == POL_ALLOW;
            total++;
        }
        per[b] = (now_us() - t0) / BATCH;
    }
    qsort(per, BATCHES, sizeof(double), cmp_double);
    printf("decision (%s): median %.3f us, p99 %.3f us, min %.3f us per decision "
           "(%d batches of %d; %.0f%% allowed)\n",
           label, per[BATCHES / 2], per[BATCHES * 99 / 100], per[0], BATCHES, BATCH,
           100.0 * (double)allowed / (double)total);
}

int main(int argc, char **argv)
{
    int compiles = argc > 1 ? atoi(argv[1]) : 5;
    cmn_buf_t text, errors;
    cmn_buf_init(&text, 64 << 20);
    cmn_buf_init(&errors, 1 << 20);
    generate(&text);

    static double ms[64];
    if (compiles < 1 || compiles > 64)
        compiles = 5;
    pol_policy_t *p = NULL;
    for (int i = 0; i < compiles; i++) {
        double t0 = now_us();
        pol_policy_t *q = pol_policy_parse(text.data, text.len, "bench.json", NULL, &errors);
        ms[i] = (now_us() - t0) / 1000;
        if (!q) {
            fprintf(stderr, "bench_policy: generated policy refused:\n%s", errors.data);
            return 1;
        }
        pol_policy_unref(p);
        p = q;
    }
    qsort(ms, (size_t)compiles, sizeof(double), cmp_double);
    pol_stats_t st;
    pol_policy_stats(p, &st);
    printf("policy: %zu orgs, %zu member entries (10 per org, 2 per resource group), %zu resource "
           "groups, %zu rules, %zu external namespaces; %zu bytes of JSON\n",
           st.orgs, st.members, st.resource_groups, st.rules, st.external_namespaces, text.len);
    printf("compile (parse + validate + index): median %.1f ms, min %.1f ms over %d runs\n",
           ms[compiles / 2], ms[0], compiles);

    work_t *work = calloc(NREQ, sizeof(work_t));
    if (!work)
        return 1;
    for (int i = 0; i < NREQ; i++)
        make_work(&work[i], 5);
    time_decisions(p, work, "5 groups");
    for (int i = 0; i < NREQ; i++)
        make_work(&work[i], 64);
    time_decisions(p, work, "64 groups");

    /* the listing filter: one read check per repo of a 1,000-entry listing */
    for (int i = 0; i < NREQ; i++)
        make_work(&work[i], 5);
    static double per[BATCHES / 4];
    for (int b = 0; b < BATCHES / 4; b++) {
        const work_t *w = &work[b % NREQ];
        double t0 = now_us();
        int readable = 0;
        for (int i = 0; i < 1000; i++)
            readable += pol_can_read(p, &w->subject, POL_REPO_MODEL, work[(b + i) % NREQ].ns[0],
                                     work[(b + i) % NREQ].name[0], NULL, 0);
        per[b] = (now_us() - t0) / 1000;
        (void)readable;
    }
    qsort(per, BATCHES / 4, sizeof(double), cmp_double);
    printf("listing filter (pol_can_read): median %.3f us per repo\n", per[BATCHES / 8]);

    free(work);
    pol_policy_unref(p);
    cmn_buf_free(&text);
    cmn_buf_free(&errors);
    return 0;
}
