/* One event as a line of events.jsonl (whole or as its commitment) and as a row of
 * events.csv. Internal to audit/ (report_t.h). */
#ifndef HUBGATE_AUDIT_REPORT_EVENTS_H
#define HUBGATE_AUDIT_REPORT_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "audit/report_t.h"

/* The header line of events.csv. */
void rpt_csv_header(rpt_sink_t *csv);

/* A whole event's line of events.jsonl. */
void rpt_jsonl_whole(rpt_sink_t *out, const char *stream, int64_t seq, int chain,
                     const unsigned char prev[AUD_HASH_BYTES],
                     const unsigned char hash[AUD_HASH_BYTES], const char *canonical, size_t len,
                     int in_period);

/* A line of events.jsonl showing a chain-2 event as its org and commitment. */
void rpt_jsonl_hidden(rpt_sink_t *out, const char *stream, int64_t seq,
                      const unsigned char prev[AUD_HASH_BYTES],
                      const unsigned char hash[AUD_HASH_BYTES], const char *org,
                      const unsigned char commitment[AUD_HASH_BYTES]);

/* ev's row of events.csv. */
void rpt_csv_row(rpt_sink_t *csv, const char *stream, int64_t seq, const aud_event_t *ev,
                 const unsigned char hash[AUD_HASH_BYTES]);

/* Appends s as the body of a JSON string (no quotes) to out. */
void rpt_json_escape(rpt_sink_t *out, const char *s, size_t n);

#endif
