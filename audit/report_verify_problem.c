/* The problems of a report verify run: contract in report_verify_problem.h. */
#include "audit/report_verify_problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rvf_problem(rvf_ctx_t *v, const char *code, const char *file, int64_t line, const char *stream,
                 int64_t seq, const char *fmt, ...)
{
    aud_report_verify_result_t *r = v->r;
    r->total_problems++;
    for (size_t i = 0; i < r->n_problems; i++) {
        if (strcmp(r->problems[i].code, code) == 0) {
            r->problems[i].count++;
            return;
        }
    }
    if (r->n_problems >= AUD_REPORT_VERIFY_MAX_PROBLEM_KINDS)
        return;
    aud_report_verify_problem_t *p = &r->problems[r->n_problems++];
    memset(p, 0, sizeof(*p));
    p->code = code;
    snprintf(p->file, sizeof(p->file), "%s", file ? file : "");
    p->line = line;
    snprintf(p->stream, sizeof(p->stream), "%s", stream ? stream : "");
    p->seq = seq;
    p->count = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
}

void rvf_stream_problem(rvf_ctx_t *v, rvf_stream_t *s, const char *code, int64_t line, int64_t seq,
                        const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s->out->problems++;
    rvf_problem(v, code, line > 0 ? RVF_EVENTS : RVF_REPORT, line, s->out->name, seq, "%s", msg);
}
