/* The problems of a verify run: contract in verify_problem.h. */
#include "audit/verify_problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vfy_problem(vfy_ctx_t *v, const char *stream, int64_t seq, const char *kind, const char *code,
                 const char *fmt, ...)
{
    aud_verify_report_t *r = v->r;
    r->total_problems++;
    if (v->sr)
        v->sr->problems++;
    if (r->n_problems >= v->max_problems)
        return;
    aud_problem_t *p = &r->problems[r->n_problems++];
    snprintf(p->stream, sizeof(p->stream), "%s", stream);
    p->seq = seq;
    snprintf(p->kind, sizeof(p->kind), "%s", kind ? kind : "");
    p->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
}

static int problem_rank(const char *code)
{
    return strncmp(code, "checkpoint_", 11) == 0 || strcmp(code, "truncated") == 0;
}

void vfy_problems_sort(aud_verify_report_t *r)
{
    for (size_t i = 1; r->problems && i < r->n_problems; i++) {
        aud_problem_t p = r->problems[i];
        size_t j = i;
        while (j > 0 && strcmp(r->problems[j - 1].stream, p.stream) == 0 &&
               (r->problems[j - 1].seq > p.seq ||
                (r->problems[j - 1].seq == p.seq &&
                 problem_rank(r->problems[j - 1].code) > problem_rank(p.code)))) {
            r->problems[j] = r->problems[j - 1];
            j--;
        }
        r->problems[j] = p;
    }
}
