/* SOC2-style evidence reports (docs/evidence-format.md): `hubgate report soc2` and the admin
 * API's /-/reports/soc2 both call aud_report_soc2, which reads the audit log through a
 * read-only (auditor) database role and writes a report directory; `hubgate report verify`
 * checks one offline (audit/report_verify.h). */
#ifndef HUBGATE_AUDIT_REPORT_H
#define HUBGATE_AUDIT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* report.json's "format" (docs/evidence-format.md, "report.json's format"): 2 from the release
 * that added criteria."CC6.2-CC6.3".access_lifecycle; reports written before it say 1 and lack
 * that member. manifest.json keeps its own format, 1. */
#define AUD_REPORT_FORMAT 2

typedef struct {
    const char *database_url;  /* an auditor role suffices: the report only reads */
    int64_t from_us, to_us;    /* the period [from, to), microseconds since the epoch, UTC */
    const char *org;           /* NULL: every org; else an org-scoped report */
    const char *key_file;      /* Ed25519 private key (PEM) signing manifest.json; NULL: none */
    const char *const *checkpoint_files; /* checkpoint files the auditor kept; may be empty */
    size_t n_checkpoint_files;
    /* Runs each policy version's embedded tests again: the gateway's route classifier
     * (gw_cli_policy_classify) and its context. NULL: the report says they were not run. */
    pol_route_fn policy_route;
    void *policy_route_ctx;
    const pol_options_t *policy_options; /* regions to parse policies with; NULL: unchecked */
} aud_report_options_t;

/* Writes the report directory `out_dir` (which must not exist) through a temporary sibling
 * renamed once complete: report.json, report.html, events.jsonl, events.csv, manifest.json and,
 * with a key, manifest.sig. Memory stays bounded whatever the number of events (rows are
 * streamed from the database). Returns 0, or a CMN_ERR_* code with one line saying what and
 * where in err. Blocks (database, files). */
int aud_report_soc2(const aud_report_options_t *opts, const char *out_dir, char *err,
                    size_t errlen);

/* Parses a period bound: a date "2024-05-01" (midnight UTC) or an RFC 3339 time
 * "2024-05-01T12:00:00Z", "…T12:00:00.5+02:00" (seconds required, fraction up to 6 digits,
 * "Z" or an offset; "t"/"z" and a space for "T" accepted). Returns 0 with *us set (microseconds
 * since the epoch, UTC), or CMN_ERR_PARSE. */
int aud_report_parse_time(const char *s, int64_t *us);

#endif
