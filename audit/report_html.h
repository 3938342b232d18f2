/* report.html from report.json's content. Internal to audit/ (report_t.h). */
#ifndef HUBGATE_AUDIT_REPORT_HTML_H
#define HUBGATE_AUDIT_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit/report_t.h"

/* Writes report.html from the finished report (the JSON object written as report.json). */
void rpt_html_write(rpt_sink_t *out, const json_t *report);

#endif
