/* report.html: the report for people, one self-contained file (no script, no external asset:
 * its Content-Security-Policy forbids loading anything), summary first, then a table per
 * criterion and inline SVG charts; printable on A4. Everything shown comes from report.json's
 * content, and every string is escaped: events carry caller-supplied text. */
#include "audit/report_html.h"
#include "audit/limits.h"
#include "audit/report_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP_N    10   /* bars in a "top" chart */
#define CHART_W  680  /* SVG user units; scales to the page */

static void esc(rpt_sink_t *o, const char *s)
{
    if (!s)
        return;
    size_t run = 0, i = 0;
    for (; s[i]; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&#39;";
            break;
        default:
            continue;
        }
        rpt_sink_write(o, s + run, i - run);
        rpt_sink_puts(o, e);
        run = i + 1;
    }
    rpt_sink_write(o, s + run, i - run);
}

static const json_t *at(const json_t *o, const char *path)
{
    /* "a/b/c" (criterion names contain dots) */
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    const json_t *cur = o;
    char *save = NULL;
    for (char *k = strtok_r(buf, "/", &save); k && cur; k = strtok_r(NULL, "/", &save))
        cur = json_object_get(cur, k);
    return cur;
}

static long long num(const json_t *o, const char *path)
{
    const json_t *v = at(o, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* A cell's text: strings escaped, numbers as they are, null as an em dash. */
static void value(rpt_sink_t *o, const json_t *v)
{
    if (!v || json_is_null(v)) {
        rpt_sink_puts(o, "—");
    } else if (json_is_string(v)) {
        esc(o, json_string_value(v));
    } else if (json_is_integer(v)) {
        rpt_sink_printf(o, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        rpt_sink_printf(o, "%.1f", json_real_value(v));
    } else if (json_is_true(v)) {
        rpt_sink_puts(o, "yes");
    } else if (json_is_false(v)) {
        rpt_sink_puts(o, "no");
    } else {
        char *t = json_dumps(v, JSON_COMPACT);
        esc(o, t);
        free(t);
    }
}

typedef struct {
    const char *key, *title;
} column_t;

static void table(rpt_sink_t *o, const json_t *rows, const column_t *cols, size_t ncols,
                  const char *empty)
{
    size_t n = json_array_size(rows);
    if (!n) {
        rpt_sink_printf(o, "<p class=\"none\">%s</p>\n", empty);
        return;
    }
    rpt_sink_puts(o, "<table><thead><tr>");
    for (size_t c = 0; c < ncols; c++)
        rpt_sink_printf(o, "<th>%s</th>", cols[c].title);
    rpt_sink_puts(o, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < n && i < RPT_MAX_HTML_ROWS; i++) {
        const json_t *r = json_array_get(rows, i);
        rpt_sink_puts(o, "<tr>");
        for (size_t c = 0; c < ncols; c++) {
            const json_t *v = json_object_get(r, cols[c].key);
            rpt_sink_puts(o, json_is_integer(v) ? "<td class=\"n\">" : "<td>");
            value(o, v);
            rpt_sink_puts(o, "</td>");
        }
        rpt_sink_puts(o, "</tr>\n");
    }
    rpt_sink_puts(o, "</tbody></table>\n");
    if (n > RPT_MAX_HTML_ROWS)
        rpt_sink_printf(o, "<p class=\"note\">%zu more rows in report.json.</p>\n", n - RPT_MAX_HTML_ROWS);
}

/* A two-column table of labelled numbers. */
static void facts(rpt_sink_t *o, const json_t *obj, const column_t *rows, size_t n)
{
    rpt_sink_puts(o, "<table class=\"facts\"><tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const json_t *v = at(obj, rows[i].key);
        rpt_sink_printf(o, "<tr><th>%s</th><td%s>", rows[i].title,
                        json_is_integer(v) ? " class=\"n\"" : "");
        value(o, v);
        rpt_sink_puts(o, "</td></tr>\n");
    }
    rpt_sink_puts(o, "</tbody></table>\n");
}

static void listed_note(rpt_sink_t *o, const json_t *list)
{
    if (json_is_true(json_object_get(list, "truncated")))
        rpt_sink_printf(o,
                        "<p class=\"note\">The first %zu of %lld are listed; events.csv holds "
                        "them all.</p>\n",
                        json_array_size(json_object_get(list, "items")),
                        (long long)json_integer_value(json_object_get(list, "count")));
}

/* ---- charts ---- */

static void bars(rpt_sink_t *o, const char *title, const json_t *rows, const char *label_key,
                 const char *value_key, const char *unit)
{
    size_t n = json_array_size(rows);
    if (n > TOP_N)
        n = TOP_N;
    rpt_sink_printf(o, "<figure><figcaption>%s</figcaption>\n", title);
    if (!n) {
        rpt_sink_puts(o, "<p class=\"none\">Nothing to show.</p></figure>\n");
        return;
    }
    long long max = 1;
    for (size_t i = 0; i < n; i++) {
        long long v =
            (long long)json_integer_value(json_object_get(json_array_get(rows, i), value_key));
        if (v > max)
            max = v;
    }
    int h = 22 * (int)n + 10, lw = 250, bw = CHART_W - lw - 110;
    rpt_sink_printf(o,
                    "<svg viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" "
                    "xmlns=\"http://www.w3.org/2000/svg\"><title>",
                    CHART_W, h);
    esc(o, title);
    rpt_sink_puts(o, "</title>\n");
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(rows, i);
        const char *label = json_string_value(json_object_get(r, label_key));
        long long v = (long long)json_integer_value(json_object_get(r, value_key));
        int y = 5 + 22 * (int)i;
        int w = (int)((double)v / (double)max * bw);
        char shown[64];
        snprintf(shown, sizeof(shown), "%s", label ? label : "(none)");
        if (strlen(shown) > 36)
            memcpy(shown + 33, "...", 4);
        rpt_sink_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"l\">", lw - 6,
                        y + 14);
        esc(o, shown);
        rpt_sink_printf(o,
                        "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" "
                        "class=\"bar\"/><text x=\"%d\" y=\"%d\" class=\"v\">%lld%s</text>\n",
                        lw, y + 2, w > 0 ? w : 1, lw + (w > 0 ? w : 1) + 4, y + 14, v, unit);
    }
    rpt_sink_puts(o, "</svg></figure>\n");
}

static void per_day(rpt_sink_t *o, const json_t *days)
{
    size_t n = json_array_size(days);
    rpt_sink_puts(o, "<figure><figcaption>Requests and denials per day (flagged days marked "
                     "&#9650;)</figcaption>\n");
    if (!n) {
        rpt_sink_puts(o, "<p class=\"none\">No days.</p></figure>\n");
        return;
    }
    long long max = 1;
    for (size_t i = 0; i < n; i++) {
        long long r =
            (long long)json_integer_value(json_object_get(json_array_get(days, i), "requests"));
        if (r > max)
            max = r;
    }
    int left = 60, top = 10, ph = 180, pw = CHART_W - left - 10;
    double bw = (double)pw / (double)n;
    rpt_sink_printf(o,
                    "<svg viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" "
                    "xmlns=\"http://www.w3.org/2000/svg\"><title>Requests and denials per "
                    "day</title>\n",
                    CHART_W, ph + 50);
    rpt_sink_printf(o,
                    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>"
                    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n"
                    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"l\">%lld</text>"
                    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"l\">0</text>\n",
                    left, top, left, top + ph, left, top + ph, left + pw, top + ph, left - 4,
                    top + 10, max, left - 4, top + ph);
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_array_get(days, i);
        long long req = (long long)json_integer_value(json_object_get(d, "requests"));
        long long den = (long long)json_integer_value(json_object_get(d, "denials"));
        double x = left + bw * (double)i;
        double hr = (double)req / (double)max * ph, hd = (double)den / (double)max * ph;
        rpt_sink_printf(o,
                        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                        "class=\"req\"/>",
                        x + bw * 0.1, top + ph - hr, bw * 0.8, hr);
        if (den)
            rpt_sink_printf(o,
                            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                            "class=\"den\"/>",
                            x + bw * 0.1, top + ph - hd, bw * 0.8, hd > 1 ? hd : 1);
        if (json_is_true(json_object_get(d, "denials_flagged")) ||
            json_is_true(json_object_get(d, "auth_failures_flagged")))
            rpt_sink_printf(o,
                            "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\" "
                            "class=\"flag\">&#9650;</text>",
                            x + bw / 2, top + ph + 14);
        rpt_sink_puts(o, "\n");
    }
    const char *first = json_string_value(json_object_get(json_array_get(days, 0), "day"));
    const char *last = json_string_value(json_object_get(json_array_get(days, n - 1), "day"));
    rpt_sink_printf(o, "<text x=\"%d\" y=\"%d\" class=\"l\">", left, top + ph + 30);
    esc(o, first);
    rpt_sink_printf(o, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"l\">", left + pw,
                    top + ph + 30);
    esc(o, last);
    rpt_sink_printf(o,
                    "</text><rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" class=\"req\"/>"
                    "<text x=\"%d\" y=\"%d\" class=\"l\">requests</text><rect x=\"%d\" y=\"%d\" "
                    "width=\"10\" height=\"10\" class=\"den\"/><text x=\"%d\" y=\"%d\" "
                    "class=\"l\">denials</text>\n</svg></figure>\n",
                    left + pw / 2 - 90, top + ph + 21, left + pw / 2 - 76, top + ph + 30,
                    left + pw / 2 + 10, top + ph + 21, left + pw / 2 + 24, top + ph + 30);
}

/* ---- the page ---- */

static const char style[] =
    "@page{size:A4;margin:14mm}"
    "body{font:10pt/1.4 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
    "color:#111;max-width:190mm;margin:0 auto;padding:8px}"
    "h1{font-size:18pt;margin:0 0 4px}h2{font-size:13pt;border-bottom:1px solid #999;"
    "margin:18px 0 6px;break-after:avoid}h3{font-size:11pt;margin:12px 0 4px;break-after:avoid}"
    "table{border-collapse:collapse;width:100%;margin:4px 0 8px;font-size:9pt}"
    "th,td{border:1px solid #ccc;padding:2px 4px;text-align:left;vertical-align:top;"
    "overflow-wrap:anywhere}thead{display:table-header-group}tr{break-inside:avoid}"
    "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "table.facts{width:auto}table.facts th{font-weight:normal}"
    ".ok{color:#063;font-weight:bold}.bad{color:#a00;font-weight:bold}"
    ".note,.none{color:#555;font-size:9pt}figure{margin:8px 0;break-inside:avoid}"
    "figcaption{font-weight:bold;font-size:10pt}svg{max-width:100%;height:auto}"
    "svg .bar,svg .req{fill:#4a78b5}svg .den{fill:#c0392b}svg .axis{stroke:#333}"
    "svg .l,svg .v{font-size:11px;fill:#222}svg .flag{font-size:11px;fill:#c0392b}"
    "section{break-inside:auto}";

static void header(rpt_sink_t *o, const json_t *r)
{
    const char *from = json_string_value(at(r, "period/from"));
    const char *to = json_string_value(at(r, "period/to"));
    const char *org = json_string_value(at(r, "scope/org"));
    rpt_sink_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                     "'none'; style-src 'unsafe-inline'\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width\">\n<title>SOC 2 "
                     "evidence: ");
    esc(o, from);
    rpt_sink_puts(o, " to ");
    esc(o, to);
    if (org) {
        rpt_sink_puts(o, " (org ");
        esc(o, org);
        rpt_sink_puts(o, ")");
    }
    rpt_sink_printf(o, "</title>\n<style>%s</style></head><body>\n", style);
    rpt_sink_puts(o, "<h1>SOC 2 evidence report</h1>\n<p>Period <b>");
    esc(o, from);
    rpt_sink_puts(o, "</b> (inclusive) to <b>");
    esc(o, to);
    rpt_sink_puts(o, "</b> (exclusive), UTC. Scope: <b>");
    if (org)
        esc(o, org);
    else
        rpt_sink_puts(o, "every org");
    rpt_sink_puts(o, "</b>. Generated ");
    esc(o, json_string_value(at(r, "generated")));
    rpt_sink_puts(o, " by ");
    esc(o, json_string_value(at(r, "generator")));
    rpt_sink_puts(o, ".</p>\n");
}

static void summary(rpt_sink_t *o, const json_t *r)
{
    const json_t *integ = at(r, "integrity");
    int complete = json_is_true(json_object_get(integ, "complete"));
    rpt_sink_puts(o, "<section id=\"summary\"><h2>Summary</h2>\n<p>Integrity: ");
    if (complete)
        rpt_sink_puts(o, "<span class=\"ok\">every stream's chain was recomputed between signed "
                         "checkpoints before and after the period, without a problem</span>");
    else
        rpt_sink_puts(o, "<span class=\"bad\">the period cannot be shown complete for every "
                         "stream: see Integrity</span>");
    rpt_sink_puts(o, ".</p>\n");
    static const column_t rows[] = {
        {"totals/requests", "Requests"},
        {"totals/allowed", "Allowed"},
        {"totals/denied", "Denied"},
        {"totals/bytes_in", "Bytes in (uploaded)"},
        {"totals/bytes_out", "Bytes out (downloaded)"},
        {"totals/events", "Events in scope"},
        {"criteria/CC6.1/authentication/failures", "Authentication failures"},
        {"criteria/CC6.2-CC6.3/tokens/minted", "Tokens minted"},
        {"criteria/CC6.2-CC6.3/tokens/revoked", "Tokens revoked"},
        {"criteria/CC6.2-CC6.3/privileged_actions/count", "Privileged actions"},
        {"criteria/CC7.2-CC7.3/pipeline/spool_episodes", "Audit spool episodes"},
        {"criteria/CC7.2-CC7.3/pipeline/gaps", "Gaps in the audit chain"},
    };
    facts(o, r, rows, sizeof(rows) / sizeof(*rows));
    size_t flagged = json_array_size(at(r, "criteria/CC7.2-CC7.3/flagged_days"));
    rpt_sink_printf(o,
                    "<p>%zu day%s flagged above %lld × the period's median day (see CC7.2). "
                    "%zu policy version%s in force, %lld rejected change%s (see CC8.1).</p>\n",
                    flagged, flagged == 1 ? "" : "s", num(r, "criteria/CC7.2-CC7.3/spike_factor"),
                    json_array_size(at(r, "criteria/CC8.1/versions")),
                    json_array_size(at(r, "criteria/CC8.1/versions")) == 1 ? "" : "s",
                    num(r, "criteria/CC8.1/rejected/count"),
                    num(r, "criteria/CC8.1/rejected/count") == 1 ? "" : "s");
    per_day(o, at(r, "criteria/CC7.2-CC7.3/days"));
    bars(o, "Top downloaders by bytes out", at(r, "criteria/CC6.6-CC6.7/bytes_out/by_actor"),
         "actor", "bytes_out", " B");
    bars(o, "Denials by reason (the deciding rule or stage)",
         at(r, "criteria/CC6.6-CC6.7/denials/by_rule"), "rule", "count", "");
    rpt_sink_puts(o, "</section>\n");
}

static void cc6_1(rpt_sink_t *o, const json_t *c)
{
    rpt_sink_puts(o, "<section id=\"cc6-1\"><h2>CC6.1 — Authentication</h2>\n");
    static const column_t rows[] = {
        {"authentication/successes", "Authenticated requests"},
        {"authentication/successes_by_method/sso", "… with an identity-provider token"},
        {"authentication/successes_by_method/token", "… with a hubgate token"},
        {"authentication/successes_by_method/egress_link", "… through a sealed download link"},
        {"authentication/principals", "Distinct principals"},
        {"authentication/anonymous", "Anonymous requests"},
        {"authentication/failures", "Authentication failures"},
    };
    facts(o, c, rows, sizeof(rows) / sizeof(*rows));
    rpt_sink_puts(o, "<h3>Authentication failures by reason</h3>\n");
    static const column_t cols[] = {{"reason", "Reason"}, {"count", "Count"}};
    table(o, at(c, "authentication/failures_by_reason"), cols, 2, "No authentication failure.");
    rpt_sink_puts(o, "</section>\n");
}

static void cc6_2(rpt_sink_t *o, const json_t *c)
{
    rpt_sink_puts(o, "<section id=\"cc6-2\"><h2>CC6.2 / CC6.3 — Who could hold which role, and "
                     "who acted</h2>\n");
    const json_t *pols = json_object_get(c, "policies");
    for (size_t i = 0; i < json_array_size(pols); i++) {
        const json_t *p = json_array_get(pols, i);
        rpt_sink_puts(o, "<h3>Grants of policy <code>");
        esc(o, json_string_value(json_object_get(p, "sha256")));
        rpt_sink_puts(o, "</code></h3>\n");
        if (!json_is_true(json_object_get(p, "recorded"))) {
            rpt_sink_puts(o, "<p class=\"bad\">");
            esc(o, json_string_value(json_object_get(p, "problem")));
            rpt_sink_puts(o, "</p>\n");
            continue;
        }
        static const column_t cols[] = {{"org", "Org"},
                                        {"role", "Role"},
                                        {"group", "Group"},
                                        {"email", "Email"},
                                        {"resource_group", "Resource group"},
                                        {"path", "Where in the policy"}};
        table(o, json_object_get(p, "grants"), cols, 6, "No membership entry.");
    }
    rpt_sink_puts(o, "<h3>Roles actually used (allowed requests)</h3>\n");
    static const column_t obs[] = {
        {"actor", "Actor"}, {"org", "Org"}, {"role", "Role"}, {"requests", "Requests"}};
    table(o, json_object_get(c, "observed_roles"), obs, 4, "No allowed request.");
    const json_t *t = json_object_get(c, "tokens");
    rpt_sink_printf(o, "<h3>hubgate tokens</h3>\n<p>%lld minted, %lld used, %lld revoked.</p>\n",
                    num(t, "minted"), num(t, "used"), num(t, "revoked"));
    static const column_t minted[] = {{"ts", "When"},           {"actor", "By"},
                                      {"token_id", "Token id"}, {"name", "Name"},
                                      {"scope", "Scope"},       {"expires", "Expires"}};
    rpt_sink_puts(o, "<h3>Tokens minted</h3>\n");
    table(o, at(t, "minted_list/items"), minted, 6, "None.");
    listed_note(o, json_object_get(t, "minted_list"));
    static const column_t revoked[] = {{"ts", "When"}, {"actor", "By"}, {"token_id", "Token id"}};
    rpt_sink_puts(o, "<h3>Tokens revoked</h3>\n");
    table(o, at(t, "revoked_list/items"), revoked, 3, "None.");
    listed_note(o, json_object_get(t, "revoked_list"));
    static const column_t used[] = {{"token_id", "Token id"},
                                    {"actor", "Owner"},
                                    {"requests", "Requests"},
                                    {"first", "First use"},
                                    {"last", "Last use"}};
    rpt_sink_puts(o, "<h3>Tokens used</h3>\n");
    table(o, json_object_get(t, "used_list"), used, 5, "None.");
    const json_t *pa = json_object_get(c, "privileged_actions");
    rpt_sink_printf(o, "<h3>Privileged actions (%lld)</h3>\n", num(pa, "count"));
    static const column_t kinds[] = {{"kind", "Kind"}, {"count", "Count"}};
    table(o, json_object_get(pa, "by_kind"), kinds, 2, "None.");
    static const column_t ev[] = {{"ts", "When"}, {"kind", "Kind"}, {"actor", "Who"},
                                  {"org", "Org"}, {"repo", "Repo"}, {"stream", "Stream"},
                                  {"seq", "Seq"}};
    table(o, at(pa, "events/items"), ev, 7, "None.");
    listed_note(o, json_object_get(pa, "events"));
    rpt_sink_puts(o, "</section>\n");
}

/* CC6.2 / CC6.3, how access begins and ends: criteria."CC6.2-CC6.3".access_lifecycle. */
static void cc6_2_access(rpt_sink_t *o, const json_t *c, int scoped)
{
    const json_t *a = json_object_get(c, "access_lifecycle");
    rpt_sink_puts(o, "<section id=\"cc6-2-access\"><h2>CC6.2 / CC6.3 — Access begins and "
                     "ends</h2>\n<p>Browser sign-ins and their end, devices signed in with "
                     "<code>hf auth login</code> (approved or denied by the person), how tokens "
                     "were minted, and the directory's (SCIM) changes, deprovisionings first.");
    if (scoped)
        rpt_sink_puts(o, " These events name no org: an org's report counts none of them.");
    rpt_sink_puts(o, "</p>\n");
    static const column_t rows[] = {
        {"sign_ins", "Browser sign-ins"},
        {"people_signed_in", "Distinct people who signed in"},
        {"sign_outs", "Sessions ended"},
        {"sessions_ended_by/logout", "… by signing out"},
        {"sessions_ended_by/revoked", "… revoked"},
        {"sessions_ended_by/deprovisioned", "… by a deprovisioning"},
        {"device_grants/approved", "Device sign-ins approved"},
        {"device_grants/denied", "Device sign-ins denied"},
        {"tokens_by_grant/api_or_page", "Tokens minted through the API or the token page"},
        {"tokens_by_grant/device_code", "Tokens minted for an approved device"},
        {"tokens_by_grant/refresh_token", "Tokens minted by refreshing a device's sign-in"},
        {"replayed_refresh_revocations/count",
         "Device sign-ins revoked whole: a used refresh token replayed"},
        {"directory/changes", "Directory changes"},
        {"directory/deprovisionings/count", "Deprovisionings (access ended by the directory)"},
    };
    facts(o, a, rows, sizeof(rows) / sizeof(*rows));

    const json_t *dep = at(a, "directory/deprovisionings");
    rpt_sink_puts(o, "<h3>Deprovisionings</h3>\n");
    static const column_t dcols[] = {{"ts", "When"},
                                     {"user_name", "User name"},
                                     {"id", "Directory id"},
                                     {"revoked_tokens", "Tokens revoked"},
                                     {"ended_sessions", "Sessions ended"},
                                     {"denied_devices", "Device requests denied"},
                                     {"revoked_refresh", "Device sign-ins revoked"}};
    table(o, json_object_get(dep, "items"), dcols, 7, "No deprovisioning.");
    listed_note(o, dep);
    rpt_sink_puts(o, "<h3>Directory changes by operation</h3>\n");
    static const column_t ops[] = {
        {"resource", "Resource"}, {"operation", "Operation"}, {"count", "Count"}};
    table(o, at(a, "directory/by_operation"), ops, 3, "No directory change.");

    const json_t *dg = json_object_get(a, "device_grants");
    rpt_sink_puts(o, "<h3>Device sign-ins approved, by scope</h3>\n");
    static const column_t scopes[] = {{"scope", "Scope"}, {"count", "Count"}};
    table(o, json_object_get(dg, "by_scope"), scopes, 2, "None approved.");
    rpt_sink_puts(o, "<h3>Device sign-in decisions</h3>\n");
    static const column_t dev[] = {{"ts", "When"},
                                   {"actor", "Who"},
                                   {"decision", "Decision"},
                                   {"scope", "Scope"},
                                   {"device_ip", "Device address"},
                                   {"device_user_agent", "Device program"},
                                   {"grant_id", "Grant id"}};
    table(o, at(dg, "events/items"), dev, 7, "No device sign-in.");
    listed_note(o, json_object_get(dg, "events"));
    const json_t *rep = json_object_get(a, "replayed_refresh_revocations");
    rpt_sink_puts(o, "<h3>Device sign-ins revoked after a refresh token replay</h3>\n");
    static const column_t rcols[] = {
        {"ts", "When"}, {"grant_id", "Grant id"}, {"stream", "Stream"}, {"seq", "Seq"}};
    table(o, json_object_get(rep, "items"), rcols, 4, "None.");
    listed_note(o, rep);
    rpt_sink_puts(o, "</section>\n");
}

static void cc6_6(rpt_sink_t *o, const json_t *c)
{
    rpt_sink_puts(o, "<section id=\"cc6-6\"><h2>CC6.6 / CC6.7 — Denials, regions and data "
                     "leaving the hub</h2>\n");
    rpt_sink_printf(o,
                    "<p>%lld requests denied; %lld refused for data residency; %lld downloads "
                    "through sealed links.</p>\n",
                    num(c, "denials/count"), num(c, "residency_denials"),
                    num(c, "egress_requests"));
    /* each: a heading, then the table at its path (columns, text when empty) */
    static const struct {
        const char *title, *path;
        column_t cols[3];
        size_t ncols;
        const char *empty;
    } tables[] = {
        {"Denials by stage", "denials/by_stage", {{"stage", "Refused at"}, {"count", "Count"}}, 2,
         "No denial."},
        {"Denials by rule", "denials/by_rule", {{"rule", "Rule"}, {"count", "Count"}}, 2,
         "No denial."},
        {"Denials by reason", "denials/by_reason", {{"reason", "Reason"}, {"count", "Count"}}, 2,
         "No denial."},
        {"Region decisions", "region_decisions",
         {{"region", "Region"}, {"allowed", "Allowed"}, {"denied", "Denied"}}, 3,
         "No decision named a region."},
        {"Bytes out by user", "bytes_out/by_actor",
         {{"actor", "Actor"}, {"bytes_out", "Bytes out"}, {"bytes_in", "Bytes in"}}, 3,
         "Nothing transferred."},
        {"Bytes out by org", "bytes_out/by_org",
         {{"org", "Org"}, {"bytes_out", "Bytes out"}, {"bytes_in", "Bytes in"}}, 3,
         "Nothing transferred."},
        {"Bytes out by region", "bytes_out/by_region",
         {{"region", "Region"}, {"bytes_out", "Bytes out"}, {"bytes_in", "Bytes in"}}, 3,
         "Nothing transferred."},
    };
    for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++) {
        rpt_sink_printf(o, "<h3>%s</h3>\n", tables[i].title);
        table(o, at(c, tables[i].path), tables[i].cols, tables[i].ncols, tables[i].empty);
    }
    rpt_sink_puts(o, "</section>\n");
}

static void cc7_2(rpt_sink_t *o, const json_t *c)
{
    rpt_sink_puts(o, "<section id=\"cc7-2\"><h2>CC7.2 / CC7.3 — Monitoring: failures, denials "
                     "and the audit pipeline</h2>\n");
    const json_t *m = json_object_get(c, "median");
    rpt_sink_printf(o,
                    "<p>Median day: %.1f denials, %.1f authentication failures. A day is flagged "
                    "when it exceeds %lld × the median.</p>\n",
                    json_real_value(json_object_get(m, "denials")),
                    json_real_value(json_object_get(m, "auth_failures")), num(c, "spike_factor"));
    static const column_t fl[] = {{"day", "Day"}, {"series", "Series"}, {"count", "Count"}};
    rpt_sink_puts(o, "<h3>Flagged days</h3>\n");
    table(o, json_object_get(c, "flagged_days"), fl, 3, "No day flagged.");
    static const column_t d[] = {{"day", "Day"},
                                 {"requests", "Requests"},
                                 {"denials", "Denials"},
                                 {"auth_failures", "Auth failures"},
                                 {"denials_flagged", "Denials flagged"},
                                 {"auth_failures_flagged", "Failures flagged"}};
    rpt_sink_puts(o, "<h3>Per day</h3>\n");
    table(o, json_object_get(c, "days"), d, 6, "No day.");
    const json_t *p = json_object_get(c, "pipeline");
    static const column_t rows[] = {
        {"spool_episodes", "Spool episodes (database unreachable, events kept on disk)"},
        {"spooled_events", "Events spooled"},
        {"write_timeouts", "Requests refused with 503: the audit log could not record them"},
        {"gaps", "Gaps or breaks in the audit chain"},
        {"gateway_starts", "Gateway starts"},
        {"gateway_stops", "Gateway stops"},
        {"keys_changed", "Identity-provider key changes"},
    };
    rpt_sink_puts(o, "<h3>Audit pipeline health</h3>\n");
    facts(o, p, rows, sizeof(rows) / sizeof(*rows));
    static const column_t ep[] = {{"since", "Since"},
                                  {"until", "Until"},
                                  {"events", "Events"},
                                  {"reason", "Reason"},
                                  {"stream", "Stream"}};
    table(o, at(p, "episodes/items"), ep, 5, "No spool episode.");
    rpt_sink_puts(o, "</section>\n");
}

static void cc8_1(rpt_sink_t *o, const json_t *c)
{
    rpt_sink_puts(o, "<section id=\"cc8-1\"><h2>CC8.1 — Policy changes</h2>\n");
    const json_t *vs = json_object_get(c, "versions");
    rpt_sink_puts(o, "<h3>Policy versions in force</h3>\n");
    if (!json_array_size(vs))
        rpt_sink_puts(o, "<p class=\"none\">No policy load is recorded for the period.</p>\n");
    else
        rpt_sink_puts(o, "<table><thead><tr><th>SHA-256</th><th>In force at start</th><th>First "
                         "loaded</th><th>Loads in period</th><th>Changes against the version "
                         "before</th><th>Embedded tests</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < json_array_size(vs); i++) {
        const json_t *v = json_array_get(vs, i);
        rpt_sink_puts(o, "<tr><td><code>");
        esc(o, json_string_value(json_object_get(v, "sha256")));
        rpt_sink_puts(o, "</code></td><td>");
        value(o, json_object_get(v, "in_force_at_start"));
        rpt_sink_puts(o, "</td><td>");
        value(o, json_object_get(v, "first_loaded"));
        rpt_sink_puts(o, "</td><td class=\"n\">");
        value(o, json_object_get(v, "loads_in_period"));
        rpt_sink_puts(o, "</td><td>");
        const json_t *diff = json_object_get(v, "diff");
        if (json_is_object(diff)) {
            value(o, json_object_get(diff, "changes"));
            rpt_sink_puts(o, " against <code>");
            const char *a = json_string_value(json_object_get(diff, "against"));
            char shortsha[13];
            snprintf(shortsha, sizeof(shortsha), "%s", a ? a : "");
            esc(o, shortsha);
            rpt_sink_puts(o, "</code>");
        } else {
            rpt_sink_puts(o, "—");
        }
        rpt_sink_puts(o, "</td><td>");
        const json_t *t = json_object_get(v, "tests");
        if (json_is_true(json_object_get(t, "run")))
            rpt_sink_printf(o, "%lld passed, %lld failed", num(t, "passed"), num(t, "failed"));
        else if (t && !json_is_null(t))
            rpt_sink_printf(o, "%lld (not run again)", num(t, "embedded"));
        else
            rpt_sink_puts(o, "text not recorded");
        rpt_sink_puts(o, "</td></tr>\n");
    }
    if (json_array_size(vs))
        rpt_sink_puts(o, "</tbody></table>\n");
    static const column_t loads[] = {{"ts", "When"},
                                     {"sha256", "SHA-256"},
                                     {"previous_sha256", "Replaced"},
                                     {"trigger", "Trigger"},
                                     {"git_commit", "Git commit"},
                                     {"git_author", "Git author"},
                                     {"git_state", "Git state"},
                                     {"stream", "Stream"}};
    rpt_sink_puts(o, "<h3>Loads in the period</h3>\n");
    table(o, at(c, "loads/items"), loads, 8, "No policy load in the period.");
    listed_note(o, json_object_get(c, "loads"));
    static const column_t rej[] = {
        {"ts", "When"},         {"sha256", "SHA-256"},        {"error", "Why refused"},
        {"trigger", "Trigger"}, {"git_author", "Git author"}, {"stream", "Stream"}};
    rpt_sink_puts(o, "<h3>Rejected changes</h3>\n");
    table(o, at(c, "rejected/items"), rej, 6, "No rejected policy change.");
    listed_note(o, json_object_get(c, "rejected"));
    rpt_sink_puts(o, "</section>\n");
}

static void integrity(rpt_sink_t *o, const json_t *r)
{
    rpt_sink_puts(o, "<section id=\"integrity\"><h2>Integrity</h2>\n<p>For each audit stream: the "
                     "signed checkpoint before the period and the one after it, and the chain "
                     "recomputed between them over events.jsonl. Check it offline with "
                     "<code>hubgate report verify</code> and the public keys you hold.</p>\n");
    const json_t *ss = at(r, "integrity/streams");
    rpt_sink_puts(o, "<table><thead><tr><th>Stream</th><th>Opened by</th><th>Closed "
                     "by</th><th>Events in period</th><th>Seq range read</th><th>Verified</th>"
                     "</tr></thead><tbody>\n");
    for (size_t i = 0; i < json_array_size(ss); i++) {
        const json_t *s = json_array_get(ss, i);
        rpt_sink_puts(o, "<tr><td>");
        esc(o, json_string_value(json_object_get(s, "stream")));
        rpt_sink_puts(o, "</td><td>");
        const json_t *st = json_object_get(s, "start");
        if (json_is_true(json_object_get(st, "genesis"))) {
            rpt_sink_puts(o, "the stream's beginning");
        } else if (json_is_true(json_object_get(st, "archived"))) {
            rpt_sink_printf(o, "the archive of seq 1–%lld, %s (export manifest sha256 ",
                            num(st, "seq"), json_string_value(json_object_get(st, "archived_at")));
            esc(o, json_string_value(json_object_get(st, "manifest_sha256")));
            rpt_sink_puts(o, ")");
        } else
            rpt_sink_printf(o, "checkpoint seq %lld, %s", num(st, "seq"),
                            json_string_value(json_object_get(st, "ts")));
        rpt_sink_puts(o, "</td><td>");
        const json_t *en = json_object_get(s, "end");
        const json_t *ret = json_object_get(s, "retired");
        if (json_is_object(en))
            rpt_sink_printf(o, "checkpoint seq %lld, %s", num(en, "seq"),
                            json_string_value(json_object_get(en, "ts")));
        if (json_is_object(en) && json_is_object(ret) && num(en, "seq") == num(ret, "seq")) {
            rpt_sink_printf(o, " (the stream's retirement, seq %lld, by ", num(ret, "seq"));
            esc(o, json_string_value(json_object_get(ret, "by")));
            rpt_sink_puts(o, ": it has no later event)");
        } else if (!json_is_object(en))
            rpt_sink_puts(o, "<span class=\"bad\">none yet: not provably complete</span>");
        rpt_sink_printf(o, "</td><td class=\"n\">%lld</td><td>%lld–%lld</td><td>",
                        num(s, "events_in_period"), num(s, "range/from_seq"),
                        num(s, "range/to_seq"));
        if (json_is_true(at(s, "verification/ok")))
            rpt_sink_puts(o, "<span class=\"ok\">ok</span>");
        else
            rpt_sink_printf(o, "<span class=\"bad\">%lld problem(s)</span>",
                            num(s, "verification/problems_total"));
        rpt_sink_puts(o, "</td></tr>\n");
    }
    rpt_sink_puts(o, "</tbody></table>\n");
    for (size_t i = 0; i < json_array_size(ss); i++) {
        const json_t *s = json_array_get(ss, i);
        const json_t *probs = at(s, "verification/problems");
        if (!json_array_size(probs))
            continue;
        rpt_sink_puts(o, "<h3>Problems in stream ");
        esc(o, json_string_value(json_object_get(s, "stream")));
        rpt_sink_puts(o, "</h3>\n");
        static const column_t cols[] = {
            {"seq", "Seq"}, {"problem", "Problem"}, {"message", "What"}};
        table(o, probs, cols, 3, "");
    }
    rpt_sink_puts(o, "</section>\n");
}

void rpt_html_write(rpt_sink_t *o, const json_t *r)
{
    header(o, r);
    summary(o, r);
    cc6_1(o, at(r, "criteria/CC6.1"));
    cc6_2(o, at(r, "criteria/CC6.2-CC6.3"));
    cc6_2_access(o, at(r, "criteria/CC6.2-CC6.3"), json_is_string(at(r, "scope/org")));
    cc6_6(o, at(r, "criteria/CC6.6-CC6.7"));
    cc7_2(o, at(r, "criteria/CC7.2-CC7.3"));
    cc8_1(o, at(r, "criteria/CC8.1"));
    integrity(o, r);
    rpt_sink_puts(o, "<section id=\"by-actor\"><h2>Activity by actor</h2>\n");
    static const column_t cols[] = {{"actor", "Actor"},       {"iss", "Issuer"},
                                    {"requests", "Requests"}, {"allowed", "Allowed"},
                                    {"denied", "Denied"},     {"bytes_out", "Bytes out"}};
    table(o, json_object_get(r, "by_actor"), cols, 6, "No activity.");
    rpt_sink_puts(o, "</section>\n<footer><p class=\"note\">Files: report.json (this report, "
                     "machine-readable), events.jsonl (every event needed to verify the period), "
                     "events.csv (the events in scope), manifest.json and manifest.sig.</p>"
                     "</footer>\n</body></html>\n");
}
