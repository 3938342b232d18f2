/* `hubgate audit archive`: retention of audit_event one monthly partition at a time
 * (schema/008_audit_partitions.sql; docs/database.md "Partitions and retention").
 *
 * For one partition — a past month, or audit_event_before_008 whole — it:
 *   1. checks that the partition can be archived: it is over (its range ends before now), no
 *      older partition is still attached (partitions go oldest first, so that each stream's
 *      remaining events start where its archived ones end), and each stream's events in it are
 *      one run of seqs that takes up exactly where the stream's last archive ended (or at 1),
 *      with none of the stream's events up to its last seq in another partition;
 *   2. exports it: the evidence report (`report soc2`) over the partition's exact range, whose
 *      events.jsonl holds every event of every stream from a signed checkpoint (or the
 *      genesis, or the previous archive's anchor) before the range to a signed checkpoint after
 *      it, tail included;
 *   3. verifies that export offline (`report verify`), against the keys given or else those the
 *      database registered, and checks that each stream's proven range covers all of its events
 *      in the partition;
 *   4. only then, when asked to detach: lends hubgate_owner the way `db migrate` does, and in
 *      one transaction that first locks the partition and finds it as exported, detaches it,
 *      renames it <partition>_archived (kept, append-only, for the DBA to drop once the export
 *      is stored), and records the archival in audit_archive (per stream: first and last seq,
 *      the last hash — the anchor `audit verify` and `report soc2` take up the chain from — the
 *      export's manifest SHA-256, and from schema 009 the policy in force at the partition's
 *      end, which later reports name when the load event was archived); then takes
 *      hubgate_owner back.
 * Every step prints one line of what it did on `out`. Nothing is detached when any step fails. */
#ifndef HUBGATE_AUDIT_ARCHIVE_H
#define HUBGATE_AUDIT_ARCHIVE_H

#include <stddef.h>
#include <stdio.h>

#include "policy/policy.h"

typedef struct {
    const char *database_url; /* the migrator's (or a superuser's) with detach; else any reader */
    const char *month;        /* "YYYY-MM", or "before-008" for audit_event_before_008 */
    const char *out_dir;      /* the export; must not exist */
    const char *key_file;     /* signs the export's manifest; NULL: unsigned */
    const char *const *pubkey_files; /* keys the export is verified with; none: the database's */
    size_t n_pubkeys;
    const char *const *checkpoint_files; /* checkpoint files kept off the database; may be empty */
    size_t n_checkpoint_files;
    int detach;
    pol_route_fn policy_route; /* as aud_report_options_t */
    void *policy_route_ctx;
} aud_archive_options_t;

/* Returns 0 when every step asked for was done, or a CMN_ERR_* code with one line in err:
 * CMN_ERR_INVAL (a bad month), CMN_ERR_NOTFOUND (no such partition), CMN_ERR_CONFLICT (the
 * partition may not be archived yet, or its export does not verify: nothing was detached),
 * CMN_ERR_DB, CMN_ERR_IO. Blocks (database, files). */
int aud_archive_run(const aud_archive_options_t *o, FILE *out, char *err, size_t errlen);

#endif
