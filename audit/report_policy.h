/* The policy versions in force in a report's period: grants, diffs, embedded tests. Internal to
 * audit/ (report_t.h). */
#ifndef HUBGATE_AUDIT_REPORT_POLICY_H
#define HUBGATE_AUDIT_REPORT_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit/report_t.h"

/* Fills criteria["CC6.2-CC6.3"].policies and criteria["CC8.1"].versions of report: every policy
 * version in force in the period — the one each stream had loaded at the period's start, and
 * each loaded in it — with its grants, its embedded tests run again, and its diff against the
 * version before it. Reads policy texts from policy_version. Returns 0, CMN_ERR_DB or
 * CMN_ERR_NOMEM with err set. Blocks. */
int rpt_policy_sections(rpt_ctx_t *c, json_t *report, char *err, size_t errlen);

#endif
