/* `hubgate audit verify`: recomputes every stream's hash chain and checks every signed
 * checkpoint, in one consistent snapshot of the database (a live writer may keep appending).
 *
 * Each event's hash is recomputed under the chain version its canonical text names (chain 1
 * for "v":1, chain 2 for "v":2: audit/chain.h), so a stream mixing events written before and
 * after format v2 verifies as one chain.
 *
 * For each stream, in seq order, each event must: have the next seq (else "deleted"), chain to
 * the previous event's hash ("chain_break"; or "inserted" when the next event skips it, or
 * "swapped" when two neighbours are in each other's place), hash to its stored hash
 * ("modified"; "swapped" when its neighbour's content fits it), be in canonical form
 * ("noncanonical") and agree with every column extracted from it ("column_mismatch"). Each
 * checkpoint, from the database and from the auditor's checkpoint file, must carry a valid
 * Ed25519 signature by a key of its stream ("checkpoint_signature", "checkpoint_key") and name
 * the chain's hash at its seq ("checkpoint_hash"); a checkpoint beyond the last event proves a
 * removed tail ("truncated"); a checkpoint in the file but not in the database was removed
 * ("checkpoint_missing"); events that belong to no registered stream are "orphan_events".
 *
 * Archives (schema 008, audit/archive.h): a stream whose first events were archived starts at
 * the (seq, hash) its archives recorded instead of the genesis; its archives must follow one
 * another from seq 1 ("archive_gap" otherwise). Checkpoints below that seq are proven by the
 * archive's export, not here; one at that seq must sign the recorded hash. An event missing
 * after it is "deleted" as ever.
 *
 * Retirement (schema 009, audit/retire.h): a retired stream's audit_stream_retired row must
 * name its stream.retired event and that event's hash ("retirement"), and no event may follow
 * it ("after_retirement").
 *
 * Keys: with pinned public keys (--pubkey), a checkpoint counts only when a pinned key signed
 * it: keys stored in the database then prove nothing, since whoever can edit the log can add
 * a key. Without, the keys registered in the database for the stream are used, and the report
 * says so. */
#ifndef HUBGATE_AUDIT_VERIFY_H
#define HUBGATE_AUDIT_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit/checkpoint.h"

typedef struct {
    const char *database_url;
    const char *const *pubkey_files; /* PEM public (or private) keys; may be empty */
    size_t n_pubkeys;
    const char *checkpoint_file; /* NULL: none */
    const char *stream;          /* NULL: every stream */
    size_t max_problems;         /* kept in the report; 0: 100 */
    int readers; /* threads reading events, each on its own connection; 0: one per CPU */
} aud_verify_options_t;

typedef struct {
    char stream[AUD_STREAM_MAX + 16];
    int64_t seq;      /* the event (or first missing seq) it is about; -1: not one event */
    char kind[32];    /* the kind of that event, "" when there is none (missing events) */
    const char *code; /* static: "modified", "deleted", ... (see above) */
    char message[400];
} aud_problem_t;

typedef struct {
    char name[AUD_STREAM_MAX + 1];
    int64_t events;
    int64_t first_seq, last_seq; /* 0 when empty */
    int64_t checkpoints;         /* in the database */
    int64_t file_checkpoints;    /* in the checkpoint file */
    int64_t last_signed_seq;     /* highest seq covered by a valid checkpoint; -1: none */
    int64_t unsigned_tail;       /* events after it */
    char keys[160];              /* key ids used, comma-separated */
    /* seq 1..archived_seq were archived (`hubgate audit archive`, audit_archive): the chain is
     * taken up at the hash the archive recorded; 0: none archived */
    int64_t archived_seq;
    char archived_at[28];           /* RFC 3339, the last archive's */
    char archived_manifest[64 + 1]; /* its export's manifest.json SHA-256 */
    /* retired at this seq (`hubgate audit retire`, audit_stream_retired); 0: not retired */
    int64_t retired_seq;
    char retired_at[28];
    size_t problems;             /* found in this stream (all, not only those kept) */
} aud_stream_report_t;

typedef struct {
    aud_stream_report_t *streams;
    size_t n_streams;
    aud_problem_t *problems; /* ordered by stream, then seq; at most max_problems */
    size_t n_problems;
    size_t total_problems; /* including those not kept */
    int64_t events;
    int64_t checkpoints;
    double seconds;
    int pinned; /* keys were pinned with --pubkey */
    int ok;     /* 1 when everything holds */
} aud_verify_report_t;

/* Runs the verification. Returns 0 when it ran (report->ok says the verdict), or CMN_ERR_DB /
 * CMN_ERR_IO / CMN_ERR_PARSE / CMN_ERR_NOMEM with a one-line reason in err when it could not
 * (database unreachable, unreadable key or checkpoint file). The report is filled in either
 * case; free it with aud_verify_report_free. Blocks (network, disk). */
int aud_verify_run(const aud_verify_options_t *opts, aud_verify_report_t *report, char *err,
                   size_t errlen);

void aud_verify_report_free(aud_verify_report_t *report);

/* Human-readable report: one line per stream, one per problem kept, then the verdict. */
void aud_verify_print_text(const aud_verify_report_t *report, FILE *out);

/* The same as one JSON object:
 * {"ok":bool,"events":N,"checkpoints":N,"seconds":S,"pinned_keys":bool,
 *  "first_problem":{stream,seq,kind,problem,message}|null,
 *  "streams":[{stream,events,first_seq,last_seq,checkpoints,file_checkpoints,last_signed_seq,
 *              unsigned_tail,keys:[…],problems:N,
 *              archived:{to_seq,at,manifest_sha256}|null}],
 *  "problems":[{stream,seq,kind,problem,message}], "problems_total":N} */
void aud_verify_print_json(const aud_verify_report_t *report, FILE *out);

#endif
