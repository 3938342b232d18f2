/* The counts of an evidence report (docs/evidence-format.md, docs/report.schema.json): every
 * number of report.json that comes from events is computed here, from the events in scope, one
 * at a time, in bounded memory. `hubgate report soc2` feeds it the events it reads from the
 * database; `hubgate report verify` can feed it the whole events of events.jsonl and compare:
 * the same events give the same JSON.
 *
 * Scope: an event counts when its "ts" lies in [from, to) and, in an org-scoped report, when its
 * decision.org is the report's org, or when it names no org and is of a kind that concerns every
 * org (policy.loaded, policy.rejected, gateway.started, gateway.stopped, keys.changed,
 * audit.spooled, keys.rotated). Events outside the scope are not counted, even when shown whole. */
#ifndef HUBGATE_AUDIT_REPORT_STATS_H
#define HUBGATE_AUDIT_REPORT_STATS_H

#include <jansson.h>
#include <stdint.h>

#include "audit/event.h"
#include "audit/limits.h"

#define AUD_REPORT_SPIKE_FACTOR  3         /* a day is flagged above 3 × the period's median day */

/* 1 when kind (e.g. "policy.loaded") concerns every org: shown whole in an org-scoped report
 * when the event names no org. */
int aud_report_kind_concerns_every_org(const char *kind);

/* 1 when ev's ts lies in [from_us, to_us). */
int aud_report_in_period(const aud_event_t *ev, int64_t from_us, int64_t to_us);

/* 1 when ev is in the report's scope (see above); org NULL: every org. */
int aud_report_in_scope(const aud_event_t *ev, int64_t from_us, int64_t to_us, const char *org);

typedef struct aud_report_stats aud_report_stats_t;

/* A fresh accumulator for the period [from_us, to_us) (at most AUD_REPORT_MAX_DAYS days) and
 * org (NULL: every org; borrowed for the accumulator's life). NULL when out of memory or when
 * the period is empty or too long. */
aud_report_stats_t *aud_report_stats_create(int64_t from_us, int64_t to_us, const char *org);

/* Counts one event in scope (the caller checked aud_report_in_scope), seq `seq` of `stream`.
 * Events must come in stream-name order, then seq order, for the listed populations to be in
 * that order. Returns 0 or CMN_ERR_NOMEM. Does not block. */
int aud_report_stats_add(aud_report_stats_t *s, const char *stream, int64_t seq,
                         const aud_event_t *ev);

/* Sets the members of `report` (a JSON object) that come from events: "totals", "by_actor",
 * and, under "criteria", each criterion's members marked "from events" in the schema. Other
 * members of report are left alone. Returns 0 or CMN_ERR_NOMEM. */
int aud_report_stats_json(const aud_report_stats_t *s, json_t *report);

/* A policy version loaded in scope: its SHA-256, its first load's time and the version that
 * load replaced (details.previous_sha256; "" when none), and how many loads named it. */
typedef struct {
    char sha256[65];
    char previous_sha256[65];
    int64_t first_ts_us;
    int64_t loads;
} aud_report_loaded_t;

/* The version a policy.loaded event names (details sha256 and previous_sha256, each kept only
 * when 64 hex digits long; its ts; loads 1) into out. Returns 0, or -1 when it names none. */
int aud_report_loaded_read(const aud_event_t *ev, aud_report_loaded_t *out);

/* The distinct versions of the policy.loaded events counted, in order of first load (at most
 * AUD_REPORT_MAX_KEYS); *n receives the count. Owned by s. */
const aud_report_loaded_t *aud_report_stats_loaded(const aud_report_stats_t *s, size_t *n);

void aud_report_stats_destroy(aud_report_stats_t *s);

/* report["criteria"][name], created (empty) when missing; borrowed from report. NULL only when
 * out of memory. */
json_t *aud_report_criterion(json_t *report, const char *name);

#endif
