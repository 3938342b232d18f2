/* The event the bench programs write by the million: a download through the gateway, as a
 * request event and then its completion. */
#ifndef HUBGATE_BENCH_SAMPLE_EVENT_H
#define HUBGATE_BENCH_SAMPLE_EVENT_H

#include "audit/event.h"

/* Strings the event points to, the caller's. */
typedef struct {
    char rid[64]; /* the request id: the caller writes it before bench_sample_event */
    char path[128], repo[64];
} bench_sample_text_t;

/* Fills ev (aud_event_init'ed, ts now) as event i: a request (even i) or its completion (odd
 * i, 200 with a body), alice of org's group reading org/bert-(i % 97), denied every tenth;
 * request id text->rid, paths in text. */
void bench_sample_event(aud_event_t *ev, long i, const char *org, bench_sample_text_t *text);

#endif
