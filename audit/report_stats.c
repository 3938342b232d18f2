#include "audit/report_stats.h"
#include "audit/report_tally.h"
#include "common/array.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

#define DAY_US (86400LL * 1000000LL)

/* counters of the actor tables */
enum { A_REQ, A_ALLOW, A_DENY, A_BIN, A_BOUT, A_COMPL };
/* counters of a token's use */
enum { T_REQ, T_FIRST, T_LAST };

/* A listed population: the first AUD_REPORT_MAX_LIST entries, and how many there were. */
typedef struct {
    json_t *items;
    int64_t total;
} list_t;

struct aud_report_stats {
    int64_t from_us, to_us, day0_us;
    const char *org;
    size_t ndays;
    int64_t *day_requests, *day_denials, *day_auth_failures;

    int64_t events, requests, allowed, denied, completions, bytes_in, bytes_out;
    rpt_tally_t actors; /* (display, iss, sub) */

    /* CC6.1 */
    int64_t auth_ok, auth_sso, auth_token, auth_egress, anonymous, auth_failed;
    rpt_tally_t principals;   /* (iss, sub) */
    rpt_tally_t auth_reasons; /* (reason) */

    /* CC6.2 / CC6.3 */
    rpt_tally_t observed; /* (display, iss, sub, org, role): allowed requests */
    int64_t minted, revoked, token_requests;
    rpt_tally_t tokens_used; /* (token_id, display, iss, sub) */
    list_t minted_list, revoked_list, privileged_list;
    rpt_tally_t privileged_kinds;
    int64_t privileged;

    /* CC6.6 / CC6.7 */
    rpt_tally_t deny_stage, deny_rule, deny_reason;
    rpt_tally_t regions; /* (region): allowed, denied */
    int64_t residency_denials, egress_requests;
    rpt_tally_t out_org, out_region; /* completions' bytes */

    /* CC6.2 / CC6.3: access begins and ends (access_lifecycle) */
    int64_t sign_ins, sign_outs, ended_logout, ended_revoked, ended_deprovisioned;
    rpt_tally_t signed_in; /* (iss, sub) of session.started */
    int64_t devices_approved, devices_denied;
    rpt_tally_t device_scopes; /* (scope): device.approved */
    list_t device_list, replays, deprovisionings;
    int64_t minted_api, minted_device, minted_refresh;
    int64_t directory_changes;
    rpt_tally_t directory_ops; /* (resource, operation) */

    /* CC7.2 / CC7.3 */
    int64_t spool_episodes, spooled_events, write_timeouts, starts, stops, keys_changed;
    list_t episodes;

    /* CC8.1 */
    list_t loads, rejected;
    aud_report_loaded_t *versions;
    size_t nversions, versions_cap;
};

static const char *const every_org_kinds[] = {
    "policy.loaded", "policy.rejected", "gateway.started", "gateway.stopped",
    "keys.changed",  "audit.spooled",   "keys.rotated",   "stream.retired"};

int aud_report_kind_concerns_every_org(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof(every_org_kinds) / sizeof(*every_org_kinds); i++)
        if (strcmp(kind, every_org_kinds[i]) == 0)
            return 1;
    return 0;
}

int aud_report_in_period(const aud_event_t *ev, int64_t from_us, int64_t to_us)
{
    return ev->ts_us >= from_us && ev->ts_us < to_us;
}

int aud_report_in_scope(const aud_event_t *ev, int64_t from_us, int64_t to_us, const char *org)
{
    if (!aud_report_in_period(ev, from_us, to_us))
        return 0;
    if (!org)
        return 1;
    if (ev->decision.org)
        return strcmp(ev->decision.org, org) == 0;
    return aud_report_kind_concerns_every_org(aud_kind_name(ev->kind));
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void tally(rpt_tally_t *t, size_t nparts)
{
    rpt_tally_init(t, nparts, AUD_REPORT_MAX_KEYS, AUD_REPORT_MAX_KEY_BYTES);
}

aud_report_stats_t *aud_report_stats_create(int64_t from_us, int64_t to_us, const char *org)
{
    if (to_us <= from_us)
        return NULL;
    int64_t day0 = floor_div(from_us, DAY_US) * DAY_US;
    int64_t ndays = floor_div(to_us - 1, DAY_US) - day0 / DAY_US + 1;
    if (ndays < 1 || ndays > AUD_REPORT_MAX_DAYS)
        return NULL;
    aud_report_stats_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->from_us = from_us;
    s->to_us = to_us;
    s->day0_us = day0;
    s->org = org;
    s->ndays = (size_t)ndays;
    s->day_requests = calloc(s->ndays, sizeof(int64_t));
    s->day_denials = calloc(s->ndays, sizeof(int64_t));
    s->day_auth_failures = calloc(s->ndays, sizeof(int64_t));
    tally(&s->actors, 3);
    tally(&s->principals, 2);
    tally(&s->auth_reasons, 1);
    tally(&s->observed, 5);
    tally(&s->tokens_used, 4);
    tally(&s->privileged_kinds, 1);
    tally(&s->deny_stage, 1);
    tally(&s->deny_rule, 1);
    tally(&s->deny_reason, 1);
    tally(&s->regions, 1);
    tally(&s->out_org, 1);
    tally(&s->out_region, 1);
    tally(&s->signed_in, 2);
    tally(&s->device_scopes, 1);
    tally(&s->directory_ops, 2);
    list_t *lists[] = {&s->minted_list, &s->revoked_list, &s->privileged_list,
                       &s->episodes,    &s->loads,        &s->rejected,
                       &s->device_list, &s->replays,      &s->deprovisionings};
    int ok = s->day_requests && s->day_denials && s->day_auth_failures;
    for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++)
        ok &= (lists[i]->items = json_array()) != NULL;
    if (!ok) {
        aud_report_stats_destroy(s);
        return NULL;
    }
    return s;
}

void aud_report_stats_destroy(aud_report_stats_t *s)
{
    if (!s)
        return;
    free(s->day_requests);
    free(s->day_denials);
    free(s->day_auth_failures);
    rpt_tally_t *t[] = {&s->actors,           &s->principals,    &s->auth_reasons, &s->observed,
                        &s->tokens_used,      &s->deny_stage,    &s->deny_rule,    &s->deny_reason,
                        &s->privileged_kinds, &s->regions,       &s->out_org,      &s->out_region,
                        &s->signed_in,        &s->device_scopes, &s->directory_ops};
    for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++)
        rpt_tally_free(t[i]);
    json_decref(s->minted_list.items);
    json_decref(s->revoked_list.items);
    json_decref(s->privileged_list.items);
    json_decref(s->episodes.items);
    json_decref(s->loads.items);
    json_decref(s->rejected.items);
    json_decref(s->device_list.items);
    json_decref(s->replays.items);
    json_decref(s->deprovisionings.items);
    free(s->versions);
    free(s);
}

/* ---- reading an event ---- */

static int64_t detail_int(const aud_event_t *ev, const char *key, int64_t dflt)
{
    const aud_detail_t *d = aud_event_detail(ev, key);
    return d && d->type == AUD_DETAIL_INT ? d->num : dflt;
}

/* The name people know the actor by: the email, else the subject; NULL for nobody. */
static const char *display(const aud_event_t *ev)
{
    return ev->actor.email ? ev->actor.email : ev->actor.sub;
}

static int is_allow(const aud_event_t *ev)
{
    return ev->decision.effect && strcmp(ev->decision.effect, "allow") == 0;
}

static int is_egress(const aud_event_t *ev)
{
    return ev->request.path && strcmp(ev->request.path, "/-/egress") == 0;
}

/* The stage that refused a request: details.refused_by (event format 2); for events written
 * before it, the stage name the gateway recorded as the rule when no policy decision was made,
 * else "authorization". */
static const char *refused_by(const aud_event_t *ev)
{
    const char *r = aud_event_detail_text(ev, "refused_by");
    if (r)
        return r;
    static const char *const stages[] = {"framing", "route",   "authentication",
                                         "audit",   "forward", "gateway"};
    for (size_t i = 0; ev->decision.rule && i < sizeof(stages) / sizeof(*stages); i++)
        if (strcmp(ev->decision.rule, stages[i]) == 0)
            return stages[i];
    return "authorization";
}

static const char *auth_reason(const aud_event_t *ev)
{
    const char *r = aud_event_detail_text(ev, "auth_failure");
    if (r)
        return r;
    return ev->decision.reason ? ev->decision.reason : "unknown";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = s ? strlen(s) : 0, m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static json_t *ts_json(int64_t ts_us)
{
    char ts[28];
    aud_time_format(ts_us, ts);
    return json_string(ts);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* {"stream", "seq", "ts", "kind", "actor"}: where to find the event in events.jsonl. */
static json_t *event_ref(const char *stream, int64_t seq, const aud_event_t *ev)
{
    return json_pack("{s:s, s:I, s:o, s:s, s:o}", "stream", stream, "seq", (json_int_t)seq, "ts",
                     ts_json(ev->ts_us), "kind", aud_kind_name(ev->kind), "actor",
                     str_or_null(display(ev)));
}

static int list_add(list_t *l, json_t *item)
{
    l->total++;
    if (!item)
        return CMN_ERR_NOMEM;
    if (json_array_size(l->items) >= AUD_REPORT_MAX_LIST) {
        json_decref(item);
        return 0;
    }
    return json_array_append_new(l->items, item) == 0 ? 0 : CMN_ERR_NOMEM;
}

static void set_str(json_t *o, const char *key, const char *value)
{
    if (value)
        json_object_set_new(o, key, json_string(value));
}

#define GET(p)                                                                                     \
    do {                                                                                           \
        if (!(p))                                                                                  \
            return CMN_ERR_NOMEM;                                                                  \
    } while (0)

static int add_request(aud_report_stats_t *s, const char *stream, int64_t seq,
                       const aud_event_t *ev, size_t day)
{
    int allow = is_allow(ev);
    const char *who = display(ev);
    int64_t *a;
    GET(a = rpt_tally_get(&s->actors, (const char *[]){who, ev->actor.iss, ev->actor.sub}));
    a[A_REQ]++;
    a[allow ? A_ALLOW : A_DENY]++;
    s->requests++;
    s->day_requests[day]++;
    if (allow)
        s->allowed++;
    else
        s->denied++;

    /* CC6.1 */
    const char *stage = allow ? NULL : refused_by(ev);
    int auth_failed = stage && strcmp(stage, "authentication") == 0;
    if (auth_failed) {
        s->auth_failed++;
        s->day_auth_failures[day]++;
        int64_t *r;
        GET(r = rpt_tally_get1(&s->auth_reasons, auth_reason(ev)));
        r[0]++;
    } else if (ev->actor.sub) {
        s->auth_ok++;
        if (is_egress(ev))
            s->auth_egress++;
        else if (ev->actor.token_id)
            s->auth_token++;
        else
            s->auth_sso++;
        int64_t *p;
        GET(p = rpt_tally_get2(&s->principals, ev->actor.iss, ev->actor.sub));
        p[0]++;
    } else {
        s->anonymous++;
    }

    /* CC6.2 / CC6.3 */
    if (allow && ev->decision.role) {
        int64_t *o;
        GET(o = rpt_tally_get(&s->observed, (const char *[]){who, ev->actor.iss, ev->actor.sub,
                                                             ev->decision.org, ev->decision.role}));
        o[0]++;
    }
    if (ev->actor.token_id) {
        int64_t *t;
        GET(t = rpt_tally_get(&s->tokens_used, (const char *[]){ev->actor.token_id, who,
                                                                ev->actor.iss, ev->actor.sub}));
        if (!t[T_REQ])
            t[T_FIRST] = ev->ts_us;
        t[T_REQ]++;
        t[T_LAST] = ev->ts_us;
        s->token_requests++;
    }
    const char *action = ev->request.action;
    if (allow && action && (strcmp(action, "delete") == 0 || strcmp(action, "admin") == 0)) {
        const char *kind = strcmp(action, "delete") == 0 ? "request.delete" : "request.admin";
        int64_t *k;
        GET(k = rpt_tally_get1(&s->privileged_kinds, kind));
        k[0]++;
        s->privileged++;
        json_t *ref = event_ref(stream, seq, ev);
        if (ref) {
            json_object_set_new(ref, "kind", json_string(kind));
            set_str(ref, "repo", ev->request.repo);
            set_str(ref, "org", ev->decision.org);
        }
        int rc = list_add(&s->privileged_list, ref);
        if (rc)
            return rc;
    }

    /* CC6.6 / CC6.7 */
    if (!allow) {
        s->day_denials[day]++;
        int64_t *d;
        GET(d = rpt_tally_get1(&s->deny_stage, stage));
        d[0]++;
        GET(d = rpt_tally_get1(&s->deny_rule, ev->decision.rule ? ev->decision.rule : "(none)"));
        d[0]++;
        GET(d = rpt_tally_get1(&s->deny_reason,
                               ev->decision.reason ? ev->decision.reason : "(none)"));
        d[0]++;
        if (ends_with(ev->decision.rule, ".regions"))
            s->residency_denials++;
        if (ev->response.status == 503 && strcmp(stage, "audit") == 0)
            s->write_timeouts++;
    }
    if (ev->decision.region) {
        int64_t *r;
        GET(r = rpt_tally_get1(&s->regions, ev->decision.region));
        r[allow ? 0 : 1]++;
    }
    if (is_egress(ev))
        s->egress_requests++;
    return 0;
}

static int add_completion(aud_report_stats_t *s, const aud_event_t *ev)
{
    int64_t in = ev->response.bytes_in > 0 ? ev->response.bytes_in : 0;
    int64_t out = ev->response.bytes_out > 0 ? ev->response.bytes_out : 0;
    s->completions++;
    s->bytes_in += in;
    s->bytes_out += out;
    int64_t *a;
    GET(a = rpt_tally_get(&s->actors, (const char *[]){display(ev), ev->actor.iss, ev->actor.sub}));
    a[A_BIN] += in;
    a[A_BOUT] += out;
    a[A_COMPL]++;
    GET(a = rpt_tally_get1(&s->out_org, ev->decision.org));
    a[0] += out;
    a[1] += in;
    GET(a = rpt_tally_get1(&s->out_region, ev->decision.region));
    a[0] += out;
    a[1] += in;
    return 0;
}

/* The string details `keys` that ev has, set on o under the same names. */
static void copy_strs(json_t *o, const aud_event_t *ev, const char *const *keys, size_t n)
{
    for (size_t i = 0; o && i < n; i++)
        set_str(o, keys[i], aud_event_detail_text(ev, keys[i]));
}

/* What a deprovisioning revoked: report.json's member, and the directory.changed detail that
 * says it. The encoder refuses a detail key with a word naming a credential ("tokens",
 * "session") unless its last word is an identifier or "count" (aud_detail_key_ok in
 * audit/event.c), so the details end in "_count"; `older`: the plain name of a count that
 * the encoder also lets through, which a writer may use instead. */
static const struct {
    const char *member, *detail, *older;
} revoked_counts[] = {
    {"revoked_tokens", "revoked_token_count", NULL},
    {"ended_sessions", "ended_session_count", "ended_sessions"},
    {"denied_devices", "denied_device_count", "denied_devices"},
    {"revoked_refresh", "revoked_refresh_count", "revoked_refresh"},
};

/* The counts of revoked_counts that ev says, set on o: one the event does not say stays absent
 * rather than becoming a zero it never recorded. */
static void copy_revoked_counts(json_t *o, const aud_event_t *ev)
{
    for (size_t i = 0; o && i < sizeof(revoked_counts) / sizeof(*revoked_counts); i++) {
        const aud_detail_t *d = aud_event_detail(ev, revoked_counts[i].detail);
        if (!d && revoked_counts[i].older)
            d = aud_event_detail(ev, revoked_counts[i].older);
        if (d && d->type == AUD_DETAIL_INT)
            json_object_set_new(o, revoked_counts[i].member, json_integer(d->num));
    }
}

static int detail_is(const aud_event_t *ev, const char *key, const char *value)
{
    const char *v = aud_event_detail_text(ev, key);
    return v && strcmp(v, value) == 0;
}

/* {"stream", "seq", "ts"}: the start of an access_lifecycle list's item. */
static json_t *access_item(const char *stream, int64_t seq, const aud_event_t *ev)
{
    return json_pack("{s:s, s:I, s:o}", "stream", stream, "seq", (json_int_t)seq, "ts",
                     ts_json(ev->ts_us));
}

/* CC6.2 / CC6.3, how access begins and ends (criteria."CC6.2-CC6.3".access_lifecycle): browser
 * sessions, device grants (hf auth login), how tokens were minted, sign-ins revoked for a
 * replayed refresh token, and the directory's (SCIM) changes. Any other event: nothing. */
static int add_access(aud_report_stats_t *s, const char *stream, int64_t seq, const aud_event_t *ev)
{
    switch (ev->kind) {
    case AUD_KIND_SESSION_STARTED:
        s->sign_ins++;
        if (ev->actor.sub) {
            int64_t *p;
            GET(p = rpt_tally_get2(&s->signed_in, ev->actor.iss, ev->actor.sub));
            p[0]++;
        }
        return 0;
    case AUD_KIND_SESSION_ENDED:
        s->sign_outs++;
        if (detail_is(ev, "reason", "logout"))
            s->ended_logout++;
        else if (detail_is(ev, "reason", "revoked"))
            s->ended_revoked++;
        else if (detail_is(ev, "reason", "deprovisioned"))
            s->ended_deprovisioned++;
        return 0;
    case AUD_KIND_DEVICE_APPROVED:
    case AUD_KIND_DEVICE_DENIED: {
        int approved = ev->kind == AUD_KIND_DEVICE_APPROVED;
        if (approved) {
            s->devices_approved++;
            int64_t *k;
            GET(k = rpt_tally_get1(&s->device_scopes, aud_event_detail_text(ev, "scope")));
            k[0]++;
        } else {
            s->devices_denied++;
        }
        json_t *o = access_item(stream, seq, ev);
        if (o) {
            json_object_set_new(o, "actor", str_or_null(display(ev)));
            json_object_set_new(o, "decision", json_string(approved ? "approved" : "denied"));
            static const char *const keys[] = {"grant_id", "device_ip", "device_user_agent",
                                               "scope"};
            copy_strs(o, ev, keys, sizeof(keys) / sizeof(*keys));
        }
        return list_add(&s->device_list, o);
    }
    case AUD_KIND_TOKEN_MINTED: {
        const char *grant = aud_event_detail_text(ev, "grant");
        if (!grant)
            s->minted_api++;
        else if (strcmp(grant, "device_code") == 0)
            s->minted_device++;
        else if (strcmp(grant, "refresh_token") == 0)
            s->minted_refresh++;
        return 0;
    }
    case AUD_KIND_TOKEN_REVOKED: {
        if (!detail_is(ev, "reason", "refresh_token_replayed"))
            return 0;
        json_t *o = access_item(stream, seq, ev);
        if (o)
            set_str(o, "grant_id", aud_event_detail_text(ev, "grant_id"));
        return list_add(&s->replays, o);
    }
    case AUD_KIND_DIRECTORY_CHANGED: {
        s->directory_changes++;
        int64_t *k;
        GET(k = rpt_tally_get2(&s->directory_ops, aud_event_detail_text(ev, "resource"),
                               aud_event_detail_text(ev, "operation")));
        k[0]++;
        const aud_detail_t *d = aud_event_detail(ev, "deprovisioned");
        if (!d || d->type != AUD_DETAIL_BOOL || !d->num)
            return 0;
        json_t *o = access_item(stream, seq, ev);
        static const char *const strs[] = {"id", "user_name"};
        copy_strs(o, ev, strs, sizeof(strs) / sizeof(*strs));
        copy_revoked_counts(o, ev);
        return list_add(&s->deprovisionings, o);
    }
    default:
        return 0;
    }
}

static json_t *policy_event(const char *stream, int64_t seq, const aud_event_t *ev)
{
    json_t *o = json_pack("{s:s, s:I, s:o}", "stream", stream, "seq", (json_int_t)seq, "ts",
                          ts_json(ev->ts_us));
    if (!o)
        return NULL;
    static const char *const keys[] = {"sha256",     "previous_sha256", "trigger", "git_commit",
                                       "git_author", "git_state",       "path",    "error"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
        set_str(o, keys[i], aud_event_detail_text(ev, keys[i]));
    set_str(o, "actor", display(ev));
    return o;
}

static int note_version(aud_report_stats_t *s, const aud_event_t *ev)
{
    const char *sha = aud_event_detail_text(ev, "sha256");
    if (!sha || strlen(sha) != 64)
        return 0;
    for (size_t i = 0; i < s->nversions; i++) {
        if (strcmp(s->versions[i].sha256, sha) == 0) {
            s->versions[i].loads++;
            return 0;
        }
    }
    if (s->nversions >= AUD_REPORT_MAX_KEYS)
        return 0;
    if (cmn_array_room(&s->versions, &s->versions_cap, s->nversions, sizeof(*s->versions), 16))
        return CMN_ERR_NOMEM;
    aud_report_loaded_read(ev, &s->versions[s->nversions++]);
    return 0;
}

int aud_report_loaded_read(const aud_event_t *ev, aud_report_loaded_t *out)
{
    const char *sha = aud_event_detail_text(ev, "sha256");
    if (!sha || strlen(sha) != 64)
        return -1;
    memset(out, 0, sizeof(*out));
    memcpy(out->sha256, sha, sizeof(out->sha256));
    const char *prev = aud_event_detail_text(ev, "previous_sha256");
    if (prev && strlen(prev) == 64)
        memcpy(out->previous_sha256, prev, sizeof(out->previous_sha256));
    out->first_ts_us = ev->ts_us;
    out->loads = 1;
    return 0;
}

int aud_report_stats_add(aud_report_stats_t *s, const char *stream, int64_t seq,
                         const aud_event_t *ev)
{
    const char *kind = aud_kind_name(ev->kind);
    if (!kind || !aud_report_in_period(ev, s->from_us, s->to_us))
        return 0;
    size_t day = (size_t)(floor_div(ev->ts_us, DAY_US) - s->day0_us / DAY_US);
    if (day >= s->ndays)
        return 0;
    s->events++;
    int rc = 0;
    if (ev->kind == AUD_KIND_REQUEST)
        return add_request(s, stream, seq, ev, day);
    if (ev->kind == AUD_KIND_COMPLETION)
        return add_completion(s, ev);

    /* Everything else is hubgate's own action: privileged, or the pipeline's. */
    if (strcmp(kind, "audit.spooled") == 0) {
        s->spool_episodes++;
        s->spooled_events += detail_int(ev, "events", 0);
        json_t *o =
            json_pack("{s:s, s:I, s:o, s:I}", "stream", stream, "seq", (json_int_t)seq, "ts",
                      ts_json(ev->ts_us), "events", (json_int_t)detail_int(ev, "events", 0));
        if (o) {
            set_str(o, "since", aud_event_detail_text(ev, "since"));
            set_str(o, "until", aud_event_detail_text(ev, "until"));
            set_str(o, "reason", aud_event_detail_text(ev, "reason"));
        }
        return list_add(&s->episodes, o);
    }
    if (strcmp(kind, "gateway.started") == 0)
        s->starts++;
    else if (strcmp(kind, "gateway.stopped") == 0)
        s->stops++;
    else if (strcmp(kind, "keys.changed") == 0)
        s->keys_changed++;

    int64_t *k;
    GET(k = rpt_tally_get1(&s->privileged_kinds, kind));
    k[0]++;
    s->privileged++;
    json_t *ref = event_ref(stream, seq, ev);
    if (ref && ev->decision.org)
        set_str(ref, "org", ev->decision.org);
    if ((rc = list_add(&s->privileged_list, ref)))
        return rc;
    if ((rc = add_access(s, stream, seq, ev)))
        return rc;

    if (ev->kind == AUD_KIND_TOKEN_MINTED || ev->kind == AUD_KIND_TOKEN_REVOKED) {
        int minted = ev->kind == AUD_KIND_TOKEN_MINTED;
        json_t *o = json_pack("{s:s, s:I, s:o, s:o}", "stream", stream, "seq", (json_int_t)seq,
                              "ts", ts_json(ev->ts_us), "actor", str_or_null(display(ev)));
        if (o) {
            set_str(o, "token_id", aud_event_detail_text(ev, "token_id"));
            if (minted) {
                set_str(o, "name", aud_event_detail_text(ev, "name"));
                set_str(o, "scope", aud_event_detail_text(ev, "scope"));
                set_str(o, "expires", aud_event_detail_text(ev, "expires"));
            }
        }
        if (minted)
            s->minted++;
        else
            s->revoked++;
        return list_add(minted ? &s->minted_list : &s->revoked_list, o);
    }
    if (ev->kind == AUD_KIND_POLICY_LOADED) {
        if ((rc = list_add(&s->loads, policy_event(stream, seq, ev))))
            return rc;
        return note_version(s, ev);
    }
    if (ev->kind == AUD_KIND_POLICY_REJECTED)
        return list_add(&s->rejected, policy_event(stream, seq, ev));
    return 0;
}

const aud_report_loaded_t *aud_report_stats_loaded(const aud_report_stats_t *s, size_t *n)
{
    *n = s->nversions;
    return s->versions;
}

/* ---- JSON ---- */

static json_t *listed(const list_t *l)
{
    return json_pack("{s:I, s:O, s:b}", "count", (json_int_t)l->total, "items", l->items,
                     "truncated", l->total > (int64_t)json_array_size(l->items));
}

/* The rows of a table sorted by value column `by` (-1: by key), each made by row(entry, arg);
 * a row that is NULL is left out. */
static json_t *rows(const rpt_tally_t *t, int by, json_t *(*row)(const rpt_entry_t *, const char *),
                    const char *arg)
{
    json_t *arr = json_array();
    size_t n;
    const rpt_entry_t **e = rpt_tally_sorted(t, by, &n);
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = row(e[i], arg);
        if (o)
            json_array_append_new(arr, o);
    }
    free(e);
    return arr;
}

/* The key of a one-part table's entry, "(other)" for the entries past the cap. */
static json_t *key_json(const rpt_entry_t *e)
{
    return e->other ? json_string("(other)") : str_or_null(e->part[0]);
}

/* {name: key, count: v[0], other} */
static json_t *count_row(const rpt_entry_t *e, const char *name)
{
    return json_pack("{s:o, s:I, s:b}", name, key_json(e), "count", (json_int_t)e->v[0], "other",
                     e->other);
}

/* [{name: key, count: v[0]}] of a one-part table, largest first. */
static json_t *counts(const rpt_tally_t *t, const char *name)
{
    return rows(t, 0, count_row, name);
}

static json_t *actor_fields(const rpt_entry_t *e)
{
    if (e->other)
        return json_pack("{s:s, s:n, s:n}", "actor", "(other)", "iss", "sub");
    return json_pack("{s:o, s:o, s:o}", "actor", str_or_null(e->part[0]), "iss",
                     str_or_null(e->part[1]), "sub", str_or_null(e->part[2]));
}

/* An actor's row: its requests, decisions and bytes (which "requests"), or its bytes only
 * (which "bytes"). */
static json_t *actor_row(const rpt_entry_t *e, const char *which)
{
    json_t *o = actor_fields(e);
    if (!o)
        return NULL;
    if (strcmp(which, "bytes") == 0) {
        json_object_set_new(o, "bytes_out", json_integer(e->v[A_BOUT]));
        json_object_set_new(o, "bytes_in", json_integer(e->v[A_BIN]));
        return o;
    }
    json_object_set_new(o, "requests", json_integer(e->v[A_REQ]));
    json_object_set_new(o, "allowed", json_integer(e->v[A_ALLOW]));
    json_object_set_new(o, "denied", json_integer(e->v[A_DENY]));
    json_object_set_new(o, "bytes_in", json_integer(e->v[A_BIN]));
    json_object_set_new(o, "bytes_out", json_integer(e->v[A_BOUT]));
    return o;
}

static json_t *by_actor(const aud_report_stats_t *s)
{
    return rows(&s->actors, -1, actor_row, "requests");
}

/* Actors who downloaded: only entries with completions. */
static json_t *bytes_row(const rpt_entry_t *e, const char *arg)
{
    return e->v[A_COMPL] ? actor_row(e, arg) : NULL;
}

static json_t *bytes_by_actor(const aud_report_stats_t *s)
{
    return rows(&s->actors, A_BOUT, bytes_row, "bytes");
}

/* {name: key, bytes_out: v[0], bytes_in: v[1]} */
static json_t *bytes_key_row(const rpt_entry_t *e, const char *name)
{
    return json_pack("{s:o, s:I, s:I}", name, key_json(e), "bytes_out", (json_int_t)e->v[0],
                     "bytes_in", (json_int_t)e->v[1]);
}

static json_t *bytes_by(const rpt_tally_t *t, const char *name)
{
    return rows(t, 0, bytes_key_row, name);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double median(const int64_t *v, size_t n, int64_t *scratch)
{
    if (n == 0)
        return 0;
    memcpy(scratch, v, n * sizeof(*v));
    qsort(scratch, n, sizeof(*scratch), cmp_i64);
    return n % 2 ? (double)scratch[n / 2] : ((double)scratch[n / 2 - 1] + scratch[n / 2]) / 2.0;
}

static json_t *days(const aud_report_stats_t *s, json_t **medians, json_t **flagged)
{
    int64_t *scratch = malloc(s->ndays * sizeof(int64_t));
    if (!scratch)
        return NULL;
    double m_den = median(s->day_denials, s->ndays, scratch);
    double m_auth = median(s->day_auth_failures, s->ndays, scratch);
    free(scratch);
    *medians = json_pack("{s:f, s:f}", "denials", m_den, "auth_failures", m_auth);
    *flagged = json_array();
    json_t *arr = json_array();
    for (size_t i = 0; arr && *flagged && i < s->ndays; i++) {
        char day[28];
        aud_time_format(s->day0_us + (int64_t)i * DAY_US, day);
        day[10] = '\0';
        int fd = (double)s->day_denials[i] > AUD_REPORT_SPIKE_FACTOR * m_den;
        int fa = (double)s->day_auth_failures[i] > AUD_REPORT_SPIKE_FACTOR * m_auth;
        json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I, s:b, s:b}", "day", day,
                                             "requests", (json_int_t)s->day_requests[i], "denials",
                                             (json_int_t)s->day_denials[i], "auth_failures",
                                             (json_int_t)s->day_auth_failures[i], "denials_flagged",
                                             fd, "auth_failures_flagged", fa));
        if (fd)
            json_array_append_new(*flagged,
                                  json_pack("{s:s, s:s, s:I}", "day", day, "series", "denials",
                                            "count", (json_int_t)s->day_denials[i]));
        if (fa)
            json_array_append_new(*flagged, json_pack("{s:s, s:s, s:I}", "day", day, "series",
                                                      "auth_failures", "count",
                                                      (json_int_t)s->day_auth_failures[i]));
    }
    return arr;
}

static json_t *observed_row(const rpt_entry_t *e, const char *arg)
{
    (void)arg;
    json_t *o = actor_fields(e);
    if (!o)
        return NULL;
    json_object_set_new(o, "org", e->other ? json_null() : str_or_null(e->part[3]));
    json_object_set_new(o, "role", e->other ? json_null() : str_or_null(e->part[4]));
    json_object_set_new(o, "requests", json_integer(e->v[0]));
    return o;
}

static json_t *token_row(const rpt_entry_t *e, const char *arg)
{
    (void)arg;
    if (e->other)
        return json_pack("{s:s, s:n, s:I}", "token_id", "(other)", "actor", "requests",
                         (json_int_t)e->v[T_REQ]);
    return json_pack("{s:o, s:o, s:o, s:o, s:I, s:o, s:o}", "token_id", str_or_null(e->part[0]),
                     "actor", str_or_null(e->part[1]), "iss", str_or_null(e->part[2]), "sub",
                     str_or_null(e->part[3]), "requests", (json_int_t)e->v[T_REQ], "first",
                     ts_json(e->v[T_FIRST]), "last", ts_json(e->v[T_LAST]));
}

static json_t *region_row(const rpt_entry_t *e, const char *arg)
{
    (void)arg;
    return json_pack("{s:o, s:I, s:I}", "region", key_json(e), "allowed", (json_int_t)e->v[0],
                     "denied", (json_int_t)e->v[1]);
}

/* {"resource", "operation", "count", "other"}: a row of directory.by_operation. */
static json_t *operation_row(const rpt_entry_t *e, const char *arg)
{
    (void)arg;
    if (e->other)
        return json_pack("{s:s, s:n, s:I, s:b}", "resource", "(other)", "operation", "count",
                         (json_int_t)e->v[0], "other", 1);
    return json_pack("{s:o, s:o, s:I, s:b}", "resource", str_or_null(e->part[0]), "operation",
                     str_or_null(e->part[1]), "count", (json_int_t)e->v[0], "other", 0);
}

static json_t *access_lifecycle(const aud_report_stats_t *s)
{
    return json_pack(
        "{s:I, s:I, s:{s:I, s:I, s:I}, s:I, s:{s:I, s:I, s:o, s:o}, s:{s:I, s:I, s:I}, s:o, "
        "s:{s:I, s:o, s:o}}",
        "sign_ins", (json_int_t)s->sign_ins, "sign_outs", (json_int_t)s->sign_outs,
        "sessions_ended_by", "logout", (json_int_t)s->ended_logout, "revoked",
        (json_int_t)s->ended_revoked, "deprovisioned", (json_int_t)s->ended_deprovisioned,
        "people_signed_in", (json_int_t)rpt_tally_count(&s->signed_in), "device_grants", "approved",
        (json_int_t)s->devices_approved, "denied", (json_int_t)s->devices_denied, "by_scope",
        counts(&s->device_scopes, "scope"), "events", listed(&s->device_list), "tokens_by_grant",
        "api_or_page", (json_int_t)s->minted_api, "device_code", (json_int_t)s->minted_device,
        "refresh_token", (json_int_t)s->minted_refresh, "replayed_refresh_revocations",
        listed(&s->replays), "directory", "changes", (json_int_t)s->directory_changes,
        "by_operation", rows(&s->directory_ops, 0, operation_row, NULL), "deprovisionings",
        listed(&s->deprovisionings));
}

json_t *aud_report_criterion(json_t *report, const char *name)
{
    json_t *c = json_object_get(report, "criteria");
    if (!c) {
        c = json_object();
        json_object_set_new(report, "criteria", c);
    }
    json_t *o = json_object_get(c, name);
    if (!o) {
        o = json_object();
        json_object_set_new(c, name, o);
    }
    return o;
}

static int set(json_t *o, const char *key, json_t *value)
{
    return value && json_object_set_new(o, key, value) == 0 ? 0 : CMN_ERR_NOMEM;
}

int aud_report_stats_json(const aud_report_stats_t *s, json_t *report)
{
    int rc = 0;
    rc |=
        set(report, "totals",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "events", (json_int_t)s->events,
                      "requests", (json_int_t)s->requests, "allowed", (json_int_t)s->allowed,
                      "denied", (json_int_t)s->denied, "completions", (json_int_t)s->completions,
                      "bytes_in", (json_int_t)s->bytes_in, "bytes_out", (json_int_t)s->bytes_out));
    rc |= set(report, "by_actor", by_actor(s));

    json_t *c = aud_report_criterion(report, "CC6.1");
    rc |=
        set(c, "authentication",
            json_pack("{s:I, s:{s:I, s:I, s:I}, s:I, s:I, s:I, s:o}", "successes",
                      (json_int_t)s->auth_ok, "successes_by_method", "sso", (json_int_t)s->auth_sso,
                      "token", (json_int_t)s->auth_token, "egress_link", (json_int_t)s->auth_egress,
                      "principals", (json_int_t)rpt_tally_count(&s->principals), "anonymous",
                      (json_int_t)s->anonymous, "failures", (json_int_t)s->auth_failed,
                      "failures_by_reason", counts(&s->auth_reasons, "reason")));

    c = aud_report_criterion(report, "CC6.2-CC6.3");
    rc |= set(c, "observed_roles", rows(&s->observed, -1, observed_row, NULL));
    rc |= set(c, "tokens",
              json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "minted", (json_int_t)s->minted,
                        "used", (json_int_t)rpt_tally_count(&s->tokens_used), "revoked",
                        (json_int_t)s->revoked, "requests_with_token",
                        (json_int_t)s->token_requests, "minted_list", listed(&s->minted_list),
                        "revoked_list", listed(&s->revoked_list), "used_list",
                        rows(&s->tokens_used, -1, token_row, NULL)));
    rc |=
        set(c, "privileged_actions",
            json_pack("{s:I, s:o, s:o}", "count", (json_int_t)s->privileged, "by_kind",
                      counts(&s->privileged_kinds, "kind"), "events", listed(&s->privileged_list)));
    rc |= set(c, "access_lifecycle", access_lifecycle(s));

    c = aud_report_criterion(report, "CC6.6-CC6.7");
    rc |= set(c, "denials",
              json_pack("{s:I, s:o, s:o, s:o}", "count", (json_int_t)s->denied, "by_stage",
                        counts(&s->deny_stage, "stage"), "by_rule", counts(&s->deny_rule, "rule"),
                        "by_reason", counts(&s->deny_reason, "reason")));
    rc |= set(c, "region_decisions", rows(&s->regions, -1, region_row, NULL));
    rc |= set(c, "residency_denials", json_integer(s->residency_denials));
    rc |= set(c, "egress_requests", json_integer(s->egress_requests));
    rc |= set(c, "bytes_out",
              json_pack("{s:o, s:o, s:o}", "by_actor", bytes_by_actor(s), "by_org",
                        bytes_by(&s->out_org, "org"), "by_region",
                        bytes_by(&s->out_region, "region")));

    c = aud_report_criterion(report, "CC7.2-CC7.3");
    json_t *medians = NULL, *flagged = NULL;
    json_t *d = days(s, &medians, &flagged);
    rc |= set(c, "days", d);
    rc |= set(c, "median", medians);
    rc |= set(c, "spike_factor", json_integer(AUD_REPORT_SPIKE_FACTOR));
    rc |= set(c, "flagged_days", flagged);
    json_t *pipe = json_object_get(c, "pipeline");
    if (!pipe) {
        pipe = json_object();
        rc |= set(c, "pipeline", pipe);
    }
    if (pipe) {
        rc |= set(pipe, "spool_episodes", json_integer(s->spool_episodes));
        rc |= set(pipe, "spooled_events", json_integer(s->spooled_events));
        rc |= set(pipe, "episodes", listed(&s->episodes));
        rc |= set(pipe, "write_timeouts", json_integer(s->write_timeouts));
        rc |= set(pipe, "gateway_starts", json_integer(s->starts));
        rc |= set(pipe, "gateway_stops", json_integer(s->stops));
        rc |= set(pipe, "keys_changed", json_integer(s->keys_changed));
    }

    c = aud_report_criterion(report, "CC8.1");
    rc |= set(c, "loads", listed(&s->loads));
    rc |= set(c, "rejected", listed(&s->rejected));
    return rc ? CMN_ERR_NOMEM : 0;
}
