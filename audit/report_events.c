/* One event as a line of events.jsonl (docs/evidence-format.md: keys sorted, no whitespace) and
 * as a row of events.csv (RFC 4180, CRLF; a cell a spreadsheet would run as a formula is
 * prefixed with an apostrophe). */
#include "audit/report_events.h"
#include "audit/report_files.h"
#include "common/json_escape.h"
#include "common/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rpt_json_escape(rpt_sink_t *out, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (i > run)
            rpt_sink_write(out, s + run, i - run);
        char esc[7];
        rpt_sink_write(out, esc, cmn_json_escape(c, esc));
        run = i + 1;
    }
    if (n > run)
        rpt_sink_write(out, s + run, n - run);
}

static void hex(rpt_sink_t *out, const unsigned char h[AUD_HASH_BYTES])
{
    char x[2 * AUD_HASH_BYTES + 1];
    cmn_hex(h, AUD_HASH_BYTES, x);
    rpt_sink_write(out, x, 2 * AUD_HASH_BYTES);
}

void rpt_jsonl_whole(rpt_sink_t *out, const char *stream, int64_t seq, int chain,
                     const unsigned char prev[AUD_HASH_BYTES],
                     const unsigned char hash[AUD_HASH_BYTES], const char *canonical, size_t len,
                     int in_period)
{
    rpt_sink_puts(out, "{\"canonical\":\"");
    rpt_json_escape(out, canonical, len);
    rpt_sink_printf(out, "\",\"chain\":%d,\"hash\":\"", chain);
    hex(out, hash);
    rpt_sink_printf(out, "\",\"in_period\":%s,\"prev_hash\":\"", in_period ? "true" : "false");
    hex(out, prev);
    rpt_sink_printf(out, "\",\"seq\":%lld,\"stream\":\"%s\"}\n", (long long)seq, stream);
}

void rpt_jsonl_hidden(rpt_sink_t *out, const char *stream, int64_t seq,
                      const unsigned char prev[AUD_HASH_BYTES],
                      const unsigned char hash[AUD_HASH_BYTES], const char *org,
                      const unsigned char commitment[AUD_HASH_BYTES])
{
    rpt_sink_puts(out, "{\"chain\":2,\"commitment\":\"");
    hex(out, commitment);
    rpt_sink_puts(out, "\",\"hash\":\"");
    hex(out, hash);
    rpt_sink_puts(out, "\",\"hidden\":true,\"org\":\"");
    if (org)
        rpt_json_escape(out, org, strlen(org));
    rpt_sink_puts(out, "\",\"prev_hash\":\"");
    hex(out, prev);
    rpt_sink_printf(out, "\",\"seq\":%lld,\"stream\":\"%s\"}\n", (long long)seq, stream);
}

/* ---- CSV ---- */

static const char csv_columns[] =
    "stream,seq,ts,kind,id,request_id,actor,actor_iss,actor_sub,actor_email,token_id,"
    "actor_groups,mfa,client_ip,user_agent,method,path,repo_type,repo,revision,file,action,"
    "effect,org,role,region,rule,reason,policy_sha256,status,upstream_status,bytes_in,"
    "bytes_out,duration_ms,details,truncated,hash\r\n";

void rpt_csv_header(rpt_sink_t *csv)
{
    rpt_sink_puts(csv, csv_columns);
}

static void cell(rpt_sink_t *csv, const char *s, int last)
{
    if (s && *s) {
        size_t n = strlen(s);
        /* A cell starting like a formula would be evaluated by a spreadsheet: an event's
         * strings (user agents, repo names) come from callers. */
        int formula = strchr("=+-@\t\r", s[0]) != NULL;
        int quote = formula || strpbrk(s, ",\"\r\n") != NULL;
        if (quote)
            rpt_sink_write(csv, "\"", 1);
        if (formula)
            rpt_sink_write(csv, "'", 1);
        size_t run = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] != '"')
                continue;
            rpt_sink_write(csv, s + run, i + 1 - run);
            rpt_sink_write(csv, "\"", 1);
            run = i + 1;
        }
        rpt_sink_write(csv, s + run, n - run);
        if (quote)
            rpt_sink_write(csv, "\"", 1);
    }
    rpt_sink_write(csv, last ? "\r\n" : ",", last ? 2 : 1);
}

static void cell_num(rpt_sink_t *csv, int64_t v)
{
    if (v == AUD_ABSENT) {
        rpt_sink_write(csv, ",", 1);
        return;
    }
    rpt_sink_printf(csv, "%lld,", (long long)v);
}

/* A small JSON text of the groups or details, for one cell (a JSON array or object). */
static void json_cell(rpt_sink_t *csv, json_t *v)
{
    size_t n = json_is_array(v) ? json_array_size(v) : json_object_size(v);
    char *text = n ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    cell(csv, text, 0);
    free(text);
}

static json_t *groups_json(const aud_event_t *ev)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < ev->actor.n_groups; i++)
        json_array_append_new(a, json_string(ev->actor.groups[i]));
    return a;
}

static json_t *details_json(const aud_event_t *ev)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < ev->n_details; i++) {
        const aud_detail_t *d = &ev->details[i];
        json_t *v = NULL;
        switch (d->type) {
        case AUD_DETAIL_STR:
            v = json_string(d->str);
            break;
        case AUD_DETAIL_INT:
            v = json_integer(d->num);
            break;
        case AUD_DETAIL_BOOL:
            v = json_boolean(d->num);
            break;
        case AUD_DETAIL_LIST:
            v = json_array();
            for (size_t k = 0; v && k < d->n_items; k++)
                json_array_append_new(v, json_string(d->items[k]));
            break;
        }
        json_object_set_new(o, d->key, v);
    }
    return o;
}

void rpt_csv_row(rpt_sink_t *csv, const char *stream, int64_t seq, const aud_event_t *ev,
                 const unsigned char hash[AUD_HASH_BYTES])
{
    char ts[28], h[2 * AUD_HASH_BYTES + 1];
    aud_time_format(ev->ts_us, ts);
    cmn_hex(hash, AUD_HASH_BYTES, h);
    cell(csv, stream, 0);
    rpt_sink_printf(csv, "%lld,", (long long)seq);
    cell(csv, ts, 0);
    cell(csv, aud_kind_name(ev->kind), 0);
    cell(csv, ev->id, 0);
    cell(csv, ev->request_id, 0);
    cell(csv, ev->actor.email ? ev->actor.email : ev->actor.sub, 0);
    cell(csv, ev->actor.iss, 0);
    cell(csv, ev->actor.sub, 0);
    cell(csv, ev->actor.email, 0);
    cell(csv, ev->actor.token_id, 0);
    json_cell(csv, groups_json(ev));
    cell(csv, ev->actor.mfa == AUD_ABSENT ? NULL : ev->actor.mfa ? "true" : "false", 0);
    cell(csv, ev->client.ip, 0);
    cell(csv, ev->client.user_agent, 0);
    cell(csv, ev->request.method, 0);
    cell(csv, ev->request.path, 0);
    cell(csv, ev->request.repo_type, 0);
    cell(csv, ev->request.repo, 0);
    cell(csv, ev->request.revision, 0);
    cell(csv, ev->request.file, 0);
    cell(csv, ev->request.action, 0);
    cell(csv, ev->decision.effect, 0);
    cell(csv, ev->decision.org, 0);
    cell(csv, ev->decision.role, 0);
    cell(csv, ev->decision.region, 0);
    cell(csv, ev->decision.rule, 0);
    cell(csv, ev->decision.reason, 0);
    cell(csv, ev->decision.policy_sha256, 0);
    cell_num(csv, ev->response.status);
    cell_num(csv, ev->response.upstream_status);
    cell_num(csv, ev->response.bytes_in);
    cell_num(csv, ev->response.bytes_out);
    cell_num(csv, ev->response.duration_ms);
    json_cell(csv, details_json(ev));
    cell(csv, ev->truncated ? "true" : NULL, 0);
    cell(csv, h, 1);
}
