/* The policy's embedded `tests`: each names a subject, a request "METHOD /path" (turned into
 * targets by the caller's route classifier) and the expected decision; `policy test` runs
 * them and the gateway may refuse a policy whose tests fail. */
#include "common/err.h"
#include "policy/internal.h"

#include <stdio.h>
#include <string.h>

int pol_policy_run_tests(const pol_policy_t *p, pol_route_fn route, void *ctx, int verbose,
                         cmn_buf_t *report, pol_test_result_t *result)
{
    pol_test_result_t res = {0, 0};
    cmn_arena_t arena;
    cmn_arena_init(&arena, 16384, 16 * 1024 * 1024);
    int rc = 0;
    for (size_t i = 0; i < p->ntests; i++) {
        const ptest_t *t = &p->tests[i];
        pol_request_t req;
        char err[512] = "";
        memset(&req, 0, sizeof(req));
        cmn_arena_reset(&arena);
        char where[256];
        snprintf(where, sizeof(where), "%s:%d:%d: tests[%zu] \"%s\"", p->name, t->line, t->col, i,
                 t->name);
        if (route(ctx, t->method, t->target, t->body, t->body_len, t->content_type, &arena, &req,
                  err, sizeof(err)) != 0) {
            res.failed++;
            cmn_buf_printf(report, "%s: request \"%s %s\" cannot be decided: %s\n", where,
                           t->method, t->target, err[0] ? err : "refused by the route classifier");
            continue;
        }
        if (t->region)
            req.region = t->region;
        pol_decision_t d;
        pol_decide(p, &t->subject, &req, t->has_ip ? &t->ip : NULL, 0, &d);
        int ok = d.effect == t->expect &&
                 (!t->expect_rule || strcmp(t->expect_rule, d.rule) == 0) &&
                 (!t->has_expect_answer || t->expect_answer == d.answer);
        if (!ok) {
            char want[512], got[512];
            snprintf(want, sizeof(want), "%s%s%s%s%s", pol_effect_name(t->expect),
                     t->expect_rule ? " by " : "", t->expect_rule ? t->expect_rule : "",
                     t->has_expect_answer ? ", answer " : "",
                     t->has_expect_answer ? pol_answer_name(t->expect_answer) : "");
            snprintf(got, sizeof(got), "%s by %s%s%s", pol_effect_name(d.effect), d.rule,
                     t->has_expect_answer ? ", answer " : "",
                     t->has_expect_answer ? pol_answer_name(d.answer) : "");
            res.failed++;
            rc = cmn_buf_printf(report, "%s: expected %s, got %s (%s)\n", where, want, got,
                                d.reason);
        } else {
            res.passed++;
            if (verbose)
                rc = cmn_buf_printf(report, "ok %s: %s by %s\n", t->name, pol_effect_name(d.effect),
                                    d.rule);
        }
        if (rc == CMN_ERR_NOMEM)
            break;
    }
    cmn_arena_free(&arena);
    if (result)
        *result = res;
    if (rc == CMN_ERR_NOMEM)
        return CMN_ERR_NOMEM;
    return res.failed ? 1 : 0;
}
