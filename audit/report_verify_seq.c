/* events.jsonl in line order: contract in report_verify_seq.h. */
#include "audit/report_verify_seq.h"
#include "audit/report_verify_counts.h"
#include "audit/report_verify_problem.h"

#include <string.h>

static const rvf_fcp_t *fcp_at(rvf_ctx_t *v, rvf_stream_t *s, int64_t seq, size_t *from)
{
    while (*from < s->fcp_end && v->fcps[*from].seq < seq)
        (*from)++;
    return *from < s->fcp_end && v->fcps[*from].seq == seq ? &v->fcps[*from] : NULL;
}

void rvf_seq_file_checkpoints(rvf_ctx_t *v, rvf_stream_t *s, int64_t seq, int64_t line,
                              const unsigned char hash[AUD_HASH_BYTES])
{
    const rvf_fcp_t *c;
    while ((c = fcp_at(v, s, seq, &s->fcp_next)) != NULL) {
        s->out->file_checkpoints++;
        if (memcmp(c->hash, hash, AUD_HASH_BYTES) != 0) {
            char a[17], b[17];
            s->out->problems++;
            rvf_problem(v, "checkpoint_hash", RVF_EVENTS, line, s->out->name, seq,
                        "the checkpoint of %s line %lld signed hash %s… at seq %lld, but the chain "
                        "recomputed from events.jsonl has %s… there: events up to this seq differ "
                        "from those that were signed",
                        c->file, (long long)c->line, aud_chain_hash_short(c->hash, a),
                        (long long)seq, aud_chain_hash_short(hash, b));
        }
        s->fcp_next++;
    }
}

static rvf_stream_t *find_state(rvf_ctx_t *v, const char *name)
{
    size_t lo = 0, hi = v->r->n_streams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, v->ss[mid].out->name);
        if (c == 0)
            return &v->ss[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Step 3 for an event shown whole, in line order. */
static void seq_whole(rvf_ctx_t *v, rvf_stream_t *s, const rvf_batch_t *b, const rvf_line_t *r,
                      int64_t lineno)
{
    const aud_report_verify_result_t *rr = v->r;
    if (r->noncanonical) {
        rvf_stream_problem(v, s, "noncanonical", lineno, r->seq,
                           "event seq %lld is not a canonical hubgate event (%s)",
                           (long long)r->seq, r->why);
        return;
    }
    if (r->chain != r->version)
        rvf_stream_problem(
            v, s, "chain_version", lineno, r->seq,
            "event seq %lld says \"chain\":%d, but its canonical text is of chain %d",
            (long long)r->seq, r->chain, r->version);
    if (r->in_period != r->in_period_flag) {
        char ts[28];
        aud_time_format(r->ts_us, ts);
        rvf_stream_problem(v, s, "in_period", lineno, r->seq,
                           "event seq %lld has ts %s, %s the period, but says \"in_period\":%s",
                           (long long)r->seq, ts, r->in_period ? "inside" : "outside",
                           r->in_period_flag ? "true" : "false");
    }
    if (r->disclosed)
        rvf_stream_problem(
            v, s, "disclosed", lineno, r->seq,
            "event seq %lld (org \"%s\", kind %s) is shown whole in a report scoped to "
            "org \"%.60s\": it should be hidden",
            (long long)r->seq, r->why, r->kind, rr->org);
    if (r->in_period) {
        s->out->in_period++;
        if (!rr->scoped && s->pending_hidden_line) {
            rvf_stream_problem(v, s, "hidden_in_period", s->pending_hidden_line,
                               s->pending_hidden_seq,
                               "event seq %lld is hidden, but lies between events of the period "
                               "(seq %lld is in it): a report of every org shows those whole",
                               (long long)s->pending_hidden_seq, (long long)r->seq);
            s->pending_hidden_line = 0;
        }
        s->saw_in_period = 1;
    }
    if (r->in_scope)
        rvf_counts_add(v, s->out->name, r->seq, &b->parsed[r - b->res]->ev);
}

static void seq_hidden(rvf_ctx_t *v, rvf_stream_t *s, const rvf_line_t *r, int64_t lineno)
{
    const aud_report_verify_result_t *rr = v->r;
    if (r->own_org)
        rvf_stream_problem(v, s, "hidden_own_org", lineno, r->seq,
                           "event seq %lld of org \"%.60s\" is hidden in a report of that org: it "
                           "must be shown whole",
                           (long long)r->seq, rr->org);
    if (!rr->scoped && s->saw_in_period && !s->pending_hidden_line) {
        s->pending_hidden_line = lineno;
        s->pending_hidden_seq = r->seq;
    }
}

/* Reports a skipped seq that turned out not to be a swap. */
static void flush_gap(rvf_ctx_t *v, rvf_stream_t *s)
{
    if (!s->gap_line)
        return;
    rvf_stream_problem(v, s, "deleted", s->gap_line, s->gap_expected,
                       s->gap_seq - s->gap_expected == 1
                           ? "event seq %lld is missing: the line has seq %lld"
                           : "events from seq %lld are missing: the line has seq %lld",
                       (long long)s->gap_expected, (long long)s->gap_seq);
    s->gap_line = 0;
}

/* Step 2 for one line, in line order. */
static void seq_line(rvf_ctx_t *v, const rvf_batch_t *b, const rvf_line_t *r, int64_t lineno)
{
    v->r->events++;
    if (r->bad_line) {
        rvf_problem(v, "line", RVF_EVENTS, lineno, NULL, -1,
                    "line %lld is not an events.jsonl line: expected %s", (long long)lineno,
                    r->bad_line);
        return;
    }
    rvf_stream_t *s = find_state(v, r->stream);
    if (!s) {
        rvf_problem(
            v, "stream_unknown", RVF_EVENTS, lineno, r->stream, r->seq,
            "event seq %lld is of stream %s, which report.json's integrity section does not "
            "name: nothing proves it",
            (long long)r->seq, r->stream);
        return;
    }
    s->out->events++;
    if (r->hidden)
        s->out->hidden++;
    else
        s->out->whole++;
    if (s->gap_line) {
        /* the seq skipped on the line before, found here: two lines in each other's place */
        if (r->seq == s->gap_expected && s->gap_seq == r->seq + 1 && s->gap_line == lineno - 1) {
            rvf_stream_problem(v, s, "swapped", lineno, r->seq,
                               "events seq %lld and %lld are in each other's place (lines %lld and "
                               "%lld): reordered",
                               (long long)r->seq, (long long)s->gap_seq, (long long)s->gap_line,
                               (long long)lineno);
            s->gap_line = 0;
            return;
        }
        flush_gap(v, s);
    }
    if (s->has_end && r->seq > s->end.seq) {
        rvf_stream_problem(v, s, "beyond_end", lineno, r->seq,
                           "event seq %lld comes after the end checkpoint (seq %lld): it was added",
                           (long long)r->seq, (long long)s->end.seq);
        return;
    }
    if (r->seq < s->next_seq) {
        rvf_stream_problem(v, s, "out_of_order", lineno, r->seq,
                           "event seq %lld comes after seq %lld: an event was added, repeated or "
                           "moved",
                           (long long)r->seq, (long long)(s->next_seq - 1));
        return;
    }
    if (r->seq > s->next_seq) {
        /* told once the next line shows whether it is a removal or a swap */
        s->gap_line = lineno;
        s->gap_expected = s->next_seq;
        s->gap_seq = r->seq;
    } else if (memcmp(r->prev, s->head, AUD_HASH_BYTES) != 0) {
        char x[17], y[17];
        rvf_stream_problem(v, s, "chain_break", lineno, r->seq,
                           "event seq %lld has prev_hash %s…, but the chain has %s… before it: an "
                           "event before it was removed, added or replaced",
                           (long long)r->seq, aud_chain_hash_short(r->prev, x),
                           aud_chain_hash_short(s->head, y));
    }
    /* the hash was recomputed after the line's own prev_hash: equal to the chain's head unless
     * a problem was just told, so that each tampering is named once, where it is */
    int holds = r->computed_ok && memcmp(r->computed, r->hash, AUD_HASH_BYTES) == 0;
    if (!holds)
        rvf_stream_problem(v, s, "modified", lineno, r->seq,
                           "event seq %lld does not hash to its hash: %s", (long long)r->seq,
                           r->hidden ? "its org or commitment was altered"
                                     : "its content was altered");
    rvf_seq_file_checkpoints(v, s, r->seq, lineno, r->computed);
    memcpy(s->head, holds ? r->computed : r->hash, AUD_HASH_BYTES);
    s->next_seq = r->seq + 1;
    s->last_retired = holds && !r->hidden && r->kind && strcmp(r->kind, "stream.retired") == 0;
    if (r->hidden)
        seq_hidden(v, s, r, lineno);
    else
        seq_whole(v, s, b, r, lineno);
}

int rvf_seq_batch(rvf_ctx_t *v, const rvf_batch_t *b)
{
    for (size_t i = 0; i < b->n_res; i++)
        seq_line(v, b, &b->res[i], ++v->lines);
    if (b->short_of_memory) {
        rvf_problem(v, "line", RVF_EVENTS, v->lines + 1, NULL, -1,
                    "out of memory checking events.jsonl from line %lld on",
                    (long long)(v->lines + 1));
        return -1;
    }
    return 0;
}

void rvf_seq_finish(rvf_ctx_t *v)
{
    for (size_t i = 0; i < v->r->n_streams; i++) {
        rvf_stream_t *s = &v->ss[i];
        flush_gap(v, s);
        if (!s->has_end)
            continue;
        int64_t last = s->next_seq - 1;
        if (last < s->end.seq) {
            rvf_stream_problem(
                v, s, "truncated", 0, last + 1,
                "events.jsonl stops at seq %lld of stream %s, but the end checkpoint "
                "is at seq %lld: events %lld..%lld are missing",
                (long long)last, s->out->name, (long long)s->end.seq, (long long)(last + 1),
                (long long)s->end.seq);
        } else if (memcmp(s->head, s->end.hash, AUD_HASH_BYTES) != 0) {
            char a[17], b[17];
            rvf_stream_problem(
                v, s, "end_hash", 0, s->end.seq,
                "the chain recomputed from events.jsonl has %s… at seq %lld, but the "
                "end checkpoint signed %s…: the events differ from those written",
                aud_chain_hash_short(s->head, a), (long long)s->end.seq,
                aud_chain_hash_short(s->end.hash, b));
        }
        if (!s->end_early)
            continue;
        /* An end signed before the period's end proves the rest of the period only when what
         * it signs is the stream's retirement, after which no event can follow. */
        if (last == s->end.seq && s->last_retired) {
            s->out->retired = 1;
        } else {
            char ts[28];
            aud_time_format(s->end.ts_us, ts);
            rvf_stream_problem(v, s, "checkpoint_period", 0, s->end.seq,
                               "the end checkpoint (seq %lld) was signed at %s, before the "
                               "period's end, and what it signs is not the stream's retirement: "
                               "events after it in the period would not be proven",
                               (long long)s->end.seq, ts);
        }
    }
}
