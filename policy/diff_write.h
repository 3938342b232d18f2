/* `policy diff`, last stage (policy/diff_write.c): the changes, rendered. */
#ifndef HUBGATE_POLICY_DIFF_WRITE_H
#define HUBGATE_POLICY_DIFF_WRITE_H

#include "common/buf.h"
#include "policy/diff_internal.h"

/* Appends the changes of d (merged ones skipped) to out: a line per change grouped by subject,
 * then the report exports, then a count. Returns 0, or CMN_ERR_TOOBIG / CMN_ERR_NOMEM from
 * out. */
int pol_diff_write_text(const diff_t *d, cmn_buf_t *out);

/* The same as one JSON document {"old", "new", "subjects", "repo_patterns", "changes",
 * "report_exports", "region_changes"}. Same returns. */
int pol_diff_write_json(const diff_t *d, cmn_buf_t *out);

#endif
