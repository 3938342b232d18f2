/* Every cap of the audit layer, in one place: what it bounds is said beside it. A value over a
 * cap is refused (or cut, where the comment says so), never let through silently. */
#ifndef HUBGATE_AUDIT_LIMITS_H
#define HUBGATE_AUDIT_LIMITS_H

/* ---- events (event.h) ---- */
#define AUD_MAX_STRING_BYTES 4096      /* any one string field, before escaping */
#define AUD_MAX_ITEM_BYTES   256       /* one group, one item of a detail list */
#define AUD_MAX_GROUPS       64        /* actor.groups entries kept */
#define AUD_MAX_DETAILS      16        /* details members */
#define AUD_MAX_DETAIL_ITEMS 64        /* items of all detail lists of one event */
#define AUD_MAX_EVENT_BYTES  (2 << 20) /* encoded event; the caps above keep every event below */
#define AUD_MAX_DETAIL_KEY   32        /* detail keys are [a-z0-9_]{1,32} */

/* ---- the chain, checkpoints and keys (chain.h, checkpoint.h, key.h, keyring.h) ---- */
#define AUD_CHAIN_MAX_ORG       4096 /* decision.org bytes in a chain-2 link (the event string cap) */
#define AUD_STREAM_MAX          64   /* a stream name's characters */
#define AUD_CHECKPOINT_MAX_LINE 512         /* a line of a checkpoint file */
#define AUD_MAX_KEY_FILE_BYTES  (64 * 1024) /* a PEM key file */
#define AUD_KEYRING_MAX         64          /* keys a keyring keeps; more are dropped */

/* ---- the writer (pgwriter.h, pgwriter_t.h) and its spool (spool.h) ---- */
#define PGW_MAX_BATCH_BYTES (8u << 20) /* the rows of one COPY */
/* A row: 114 bytes of fields and headers, the event (capped by the encoder), then at most 8
 * string columns of AUD_MAX_STRING_BYTES and a few numbers: never over this, so appends cannot
 * fail short. */
#define PGW_ROW_MAX_BYTES  (114 + AUD_MAX_EVENT_BYTES + 16 * AUD_MAX_STRING_BYTES + 256)
#define AUD_SPOOL_MAX_LINE (AUD_MAX_EVENT_BYTES + 128) /* a spool record */

/* ---- audit verify (verify.h, verify_read.h) ---- */
#define AUD_VERIFY_CHUNK_EVENTS 4096 /* events a reader reads with one COPY */
#define AUD_VERIFY_MAX_READERS  8    /* reader threads, each with its own connection */
#define AUD_VERIFY_WINDOW       12   /* chunks read or being read ahead of the walk in seq order */

/* ---- roles (role.h) ---- */
/* A login role name hubgate creates: [a-z_][a-z0-9_]{0,62}, not pg_*, not one of hubgate's
 * groups (hubgate_owner, hubgate_gateway, hubgate_auditor, hubgate_migrator). */
#define AUD_ROLE_MAX_NAME     63
#define AUD_ROLE_MAX_PROBLEMS 16 /* problems aud_role_check_gateway reports */

/* ---- reports (report.h, report_stats.h, report_t.h) ---- */
#define AUD_REPORT_MAX_DAYS      3700      /* a period of about ten years at most */
#define AUD_REPORT_MAX_KEYS      10000     /* distinct keys per table (actors, reasons, …) */
#define AUD_REPORT_MAX_KEY_BYTES (1 << 20) /* key text per table */
#define AUD_REPORT_MAX_LIST      1000      /* entries kept in a listed population (tokens, …) */
#define AUD_REPORT_MAX_ORG_BYTES 4096      /* the org a report is scoped to */
#define RPT_PART_MAX             512 /* key parts are cut to this many bytes (at a character boundary) */
#define RPT_MAX_PROBLEMS         100 /* integrity problems listed per stream (all are counted) */
#define RPT_MAX_FILE_MID         50000 /* checkpoint-file lines inside the period kept to cross-check */
#define RPT_MAX_HTML_ROWS        1000 /* rows of one table of report.html (the rest: events.csv, JSON) */
#define RPT_MAX_VERSIONS         256 /* policy versions described in one report */
#define RPT_MAX_DIFF_CHANGES     50  /* changes listed per diff (all are counted) */
#define RPT_MAX_TEST_LINES       20  /* failing-test lines kept per version */

/* ---- report verify (report_verify.h): the auditor's inputs and what is read of the report ---- */
#define AUD_REPORT_VERIFY_MAX_KEYS          64                /* --pubkey files */
#define AUD_REPORT_VERIFY_MAX_STREAMS       4096              /* integrity streams */
#define AUD_REPORT_VERIFY_MAX_FILE_CPS      (4 * 1024 * 1024) /* --checkpoint entries */
#define AUD_REPORT_VERIFY_MAX_LINE          (16 << 20)        /* a line of events.jsonl */
#define AUD_REPORT_VERIFY_MAX_REPORT_JSON   (64 << 20)        /* report.json, read whole */
#define AUD_REPORT_VERIFY_MAX_MANIFEST      (1 << 20)         /* manifest.json */
#define AUD_REPORT_VERIFY_MAX_FILES         64                /* files in the manifest */
#define AUD_REPORT_VERIFY_MAX_PROBLEM_KINDS 48                /* kinds of problem kept in full */
#define AUD_REPORT_VERIFY_MAX_WORKERS       16                /* threads checking lines */

#endif
