/* `hubgate audit archive`: contract in archive.h. */
#include "audit/archive.h"
#include "audit/db.h"
#include "audit/event.h"
#include "audit/migrate.h"
#include "audit/report.h"
#include "audit/report_verify.h"
#include "common/err.h"
#include "common/sha256.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A partition holds the events of every stream of a month: a few per gateway instance and
 * event loop. Far more means something else is wrong. */
#define ARCHIVE_MAX_STREAMS 4096
/* manifest.json lists a handful of files */
#define ARCHIVE_MAX_MANIFEST (64u << 10)

typedef struct {
    char id[24];
    char name[AUD_STREAM_MAX + 1];
    long long first, last, count;
    char last_hash[2 * AUD_HASH_BYTES + 1];
} arc_stream_t;

typedef struct {
    const aud_archive_options_t *o;
    FILE *out;
    PGconn *db;
    char part[64];    /* audit_event_YYYY_MM or audit_event_before_008 */
    char part_id[80]; /* quoted identifier */
    char oid[16];
    int lo_min; /* FROM (MINVALUE) */
    int64_t lo_us, hi_us;
    char lo_text[40], hi_text[40];
    arc_stream_t *streams;
    size_t n_streams;
    long long events;
    int64_t min_ts_us;
    char manifest_sha[CMN_SHA256_HEX];
    char tmp_dir[64]; /* the database's keys, written for report verify */
} arc_t;

static int parse_month(const char *m, char *part, size_t cap)
{
    if (m && strcmp(m, "before-008") == 0) {
        snprintf(part, cap, "audit_event_before_008");
        return 0;
    }
    if (!m || strlen(m) != 7 || m[4] != '-')
        return -1;
    for (int i = 0; i < 7; i++)
        if (i != 4 && !isdigit((unsigned char)m[i]))
            return -1;
    int month = (m[5] - '0') * 10 + (m[6] - '0');
    if (month < 1 || month > 12)
        return -1;
    snprintf(part, cap, "audit_event_%.4s_%.2s", m, m + 5);
    return 0;
}

static PGresult *rows(arc_t *a, const char *sql, int n, const char *const *params, const char *what,
                      char *err, size_t errlen)
{
    return aud_db_rows(a->db, sql, n, params, 0, what, err, errlen);
}

/* Step 1a: the partition, its range, and whether it may be archived. */
static int find_partition(arc_t *a, char *err, size_t errlen)
{
    const char *p[1] = {a->part};
    PGresult *r =
        rows(a,
             "WITH p AS (SELECT c.oid, c.relname::text AS name, "
             "  CASE WHEN b[1] = 'MINVALUE' THEN '-infinity'::timestamptz "
             "       ELSE btrim(b[1], '''')::timestamptz END AS lo, "
             "  CASE WHEN b[2] = 'MAXVALUE' THEN 'infinity'::timestamptz "
             "       ELSE btrim(b[2], '''')::timestamptz END AS hi "
             "  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid, "
             "  regexp_match(pg_get_expr(c.relpartbound, c.oid), "
             "               '^FOR VALUES FROM \\((.*)\\) TO \\((.*)\\)$') b "
             "  WHERE i.inhparent = to_regclass('audit_event')) "
             "SELECT p.oid::text, p.lo = '-infinity', "
             "  CASE WHEN isfinite(p.lo) THEN (extract(epoch FROM p.lo) * 1000000)::bigint END, "
             "  CASE WHEN isfinite(p.hi) THEN (extract(epoch FROM p.hi) * 1000000)::bigint END, "
             "  p.hi <= now(), "
             "  coalesce((SELECT string_agg(o.name, ', ' ORDER BY o.lo) FROM p o WHERE o.hi <= "
             "p.lo), ''), "
             "  CASE WHEN isfinite(p.lo) THEN to_char(p.lo AT TIME ZONE 'UTC', "
             "    'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') ELSE 'MINVALUE' END, "
             "  to_char(p.hi AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
             "FROM p WHERE p.name = $1",
             1, p, "reading audit_event's partitions", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    int rc = 0;
    if (PQntuples(r) != 1) {
        PQclear(r);
        r = rows(a,
                 "SELECT to_char(max(archived_at) AT TIME ZONE 'UTC', "
                 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM audit_archive WHERE partition = $1 "
                 "AND to_regclass('audit_archive') IS NOT NULL",
                 1, p, "reading audit_archive", err, errlen);
        if (r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
            cmn_errf(err, errlen,
                     "%s was archived at %s: it is no longer a partition of audit_event", a->part,
                     PQgetvalue(r, 0, 0));
        else
            cmn_errf(err, errlen,
                     "audit_event has no partition %s (is the database migrated to schema 008?)",
                     a->part);
        PQclear(r);
        return CMN_ERR_NOTFOUND;
    }
    snprintf(a->oid, sizeof(a->oid), "%s", PQgetvalue(r, 0, 0));
    a->lo_min = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    a->lo_us = a->lo_min ? 0 : strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    snprintf(a->lo_text, sizeof(a->lo_text), "%s", PQgetvalue(r, 0, 6));
    snprintf(a->hi_text, sizeof(a->hi_text), "%s", PQgetvalue(r, 0, 7));
    if (PQgetisnull(r, 0, 3) || strcmp(PQgetvalue(r, 0, 4), "t") != 0) {
        cmn_errf(err, errlen,
                 "%s runs until %s: a partition is archived once its range is over (the current "
                 "and future months are refused)",
                 a->part, PQgetisnull(r, 0, 3) ? "MAXVALUE" : a->hi_text);
        rc = CMN_ERR_CONFLICT;
    } else if (PQgetvalue(r, 0, 5)[0]) {
        cmn_errf(err, errlen,
                 "older partitions are still attached (%s): partitions are archived oldest first, "
                 "so that each stream's remaining events start where its archived ones end",
                 PQgetvalue(r, 0, 5));
        rc = CMN_ERR_CONFLICT;
    } else {
        a->hi_us = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    }
    PQclear(r);
    return rc;
}

/* Step 1b: each stream's run of seqs in the partition, checked against its last archive and
 * the other partitions. */
static int read_streams(arc_t *a, char *err, size_t errlen)
{
    char sql[640];
    snprintf(
        sql, sizeof(sql),
        "SELECT e.stream_id::text, s.name, min(e.seq), max(e.seq), count(*), "
        "(extract(epoch FROM min(e.ts)) * 1000000)::bigint, "
        "(SELECT max(x.last_seq) FROM audit_archive x WHERE x.stream_id = e.stream_id) "
        "FROM %s e LEFT JOIN audit_stream s ON s.id = e.stream_id GROUP BY e.stream_id, s.name "
        "ORDER BY s.name",
        a->part_id);
    PGresult *r = rows(a, sql, 0, NULL, "reading the partition's streams", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    int rc = 0;
    size_t n = (size_t)PQntuples(r);
    if (n > ARCHIVE_MAX_STREAMS) {
        cmn_errf(err, errlen, "%s holds events of %zu streams, more than the %d this command takes",
                 a->part, n, ARCHIVE_MAX_STREAMS);
        PQclear(r);
        return CMN_ERR_CONFLICT;
    }
    a->streams = calloc(n + 1, sizeof(*a->streams));
    if (!a->streams) {
        PQclear(r);
        cmn_errf(err, errlen, "out of memory");
        return CMN_ERR_NOMEM;
    }
    a->min_ts_us = INT64_MAX;
    for (size_t i = 0; i < n && rc == 0; i++) {
        arc_stream_t *s = &a->streams[a->n_streams++];
        snprintf(s->id, sizeof(s->id), "%s", PQgetvalue(r, (int)i, 0));
        if (PQgetisnull(r, (int)i, 1)) {
            cmn_errf(err, errlen,
                     "%s holds events of stream id %s, which audit_stream does not register: run "
                     "hubgate audit verify",
                     a->part, s->id);
            rc = CMN_ERR_CONFLICT;
            break;
        }
        snprintf(s->name, sizeof(s->name), "%s", PQgetvalue(r, (int)i, 1));
        s->first = strtoll(PQgetvalue(r, (int)i, 2), NULL, 10);
        s->last = strtoll(PQgetvalue(r, (int)i, 3), NULL, 10);
        s->count = strtoll(PQgetvalue(r, (int)i, 4), NULL, 10);
        int64_t ts = strtoll(PQgetvalue(r, (int)i, 5), NULL, 10);
        long long anchor =
            PQgetisnull(r, (int)i, 6) ? 0 : strtoll(PQgetvalue(r, (int)i, 6), NULL, 10);
        if (ts < a->min_ts_us)
            a->min_ts_us = ts;
        a->events += s->count;
        if (s->count != s->last - s->first + 1) {
            cmn_errf(err, errlen,
                     "stream %s: %s holds %lld events between seq %lld and %lld, not one run of "
                     "seqs: run hubgate audit verify",
                     s->name, a->part, s->count, s->first, s->last);
            rc = CMN_ERR_CONFLICT;
        } else if (s->first != anchor + 1) {
            cmn_errf(err, errlen,
                     "stream %s: its events in %s start at seq %lld, but %s: run hubgate audit "
                     "verify",
                     s->name, a->part, s->first,
                     anchor ? "its last archive ended at another seq"
                            : "none of its events was archived before");
            rc = CMN_ERR_CONFLICT;
        }
    }
    PQclear(r);
    for (size_t i = 0; i < a->n_streams && rc == 0; i++) {
        arc_stream_t *s = &a->streams[i];
        char last[24];
        snprintf(last, sizeof(last), "%lld", s->last);
        const char *p[3] = {s->id, last, a->oid};
        r = rows(a,
                 "SELECT (SELECT count(*) FROM audit_event WHERE stream_id = $1::bigint AND "
                 "seq <= $2::bigint AND tableoid <> $3::oid), (SELECT encode(hash, 'hex') FROM "
                 "audit_event WHERE stream_id = $1::bigint AND seq = $2::bigint AND tableoid = "
                 "$3::oid)",
                 3, p, "reading the stream's events", err, errlen);
        if (!r)
            return CMN_ERR_DB;
        if (strcmp(PQgetvalue(r, 0, 0), "0") != 0) {
            cmn_errf(err, errlen,
                     "stream %s: %s of its events up to seq %lld lie in later partitions (its "
                     "clock went back across the end of %s): this partition cannot be archived "
                     "on its own",
                     s->name, PQgetvalue(r, 0, 0), s->last, a->part);
            rc = CMN_ERR_CONFLICT;
        } else if (PQgetlength(r, 0, 1) != 2 * AUD_HASH_BYTES) {
            cmn_errf(err, errlen, "stream %s: the hash of seq %lld is not 32 bytes", s->name,
                     s->last);
            rc = CMN_ERR_CONFLICT;
        } else {
            memcpy(s->last_hash, PQgetvalue(r, 0, 1), 2 * AUD_HASH_BYTES + 1);
        }
        PQclear(r);
    }
    return rc;
}

/* The database's keys as files, for report verify (which takes files only). */
static int write_db_keys(arc_t *a, const char ***files, size_t *n, char *err, size_t errlen)
{
    PGresult *r = rows(a,
                       "SELECT public_key FROM audit_stream UNION SELECT public_key FROM "
                       "audit_stream_key",
                       0, NULL, "reading the streams' keys", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    snprintf(a->tmp_dir, sizeof(a->tmp_dir), "/tmp/hubgate-archive-XXXXXX");
    size_t k = (size_t)PQntuples(r);
    *files = calloc(k + 2, sizeof(char *));
    if (!*files || !mkdtemp(a->tmp_dir)) {
        a->tmp_dir[0] = '\0';
        cmn_errf(err, errlen, "a temporary directory for the keys: %s", strerror(errno));
        PQclear(r);
        return CMN_ERR_IO;
    }
    int rc = 0;
    for (size_t i = 0; i < k && rc == 0; i++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/key%zu.pem", a->tmp_dir, i);
        FILE *f = fopen(path, "w");
        const char *pem = PQgetvalue(r, (int)i, 0);
        if (!f || fputs(pem, f) < 0 || fclose(f) != 0) {
            if (f)
                fclose(f);
            cmn_errf(err, errlen, "writing %s: %s", path, strerror(errno));
            rc = CMN_ERR_IO;
            break;
        }
        (*files)[(*n)++] = strdup(path);
        if (!(*files)[*n - 1])
            rc = CMN_ERR_NOMEM;
    }
    PQclear(r);
    return rc;
}

static void remove_db_keys(arc_t *a, const char **files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (files[i])
            unlink(files[i]);
        free((char *)files[i]);
    }
    free(files);
    if (a->tmp_dir[0])
        rmdir(a->tmp_dir);
}

static int manifest_sha(arc_t *a, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/manifest.json", a->o->out_dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        cmn_errf(err, errlen, "reading %s: %s", path, strerror(errno));
        return CMN_ERR_IO;
    }
    char *buf = malloc(ARCHIVE_MAX_MANIFEST);
    size_t len = buf ? fread(buf, 1, ARCHIVE_MAX_MANIFEST, f) : 0;
    int bad = !buf || ferror(f) || !feof(f);
    fclose(f);
    if (bad) {
        free(buf);
        cmn_errf(err, errlen, "reading %s: unreadable or larger than %u bytes", path,
                 ARCHIVE_MAX_MANIFEST);
        return CMN_ERR_IO;
    }
    cmn_sha256_hex(buf, len, a->manifest_sha);
    free(buf);
    return 0;
}

/* Steps 2 and 3: the export, and its verification. */
static int export_and_verify(arc_t *a, char *err, size_t errlen)
{
    const aud_archive_options_t *o = a->o;
    aud_report_options_t ro;
    memset(&ro, 0, sizeof(ro));
    ro.database_url = o->database_url;
    ro.key_file = o->key_file;
    ro.checkpoint_files = o->checkpoint_files;
    ro.n_checkpoint_files = o->n_checkpoint_files;
    ro.policy_route = o->policy_route;
    ro.policy_route_ctx = o->policy_route_ctx;
    ro.to_us = a->hi_us;
    /* FROM (MINVALUE): from the partition's first event, to the second */
    ro.from_us = !a->lo_min     ? a->lo_us
                 : a->n_streams ? a->min_ts_us - a->min_ts_us % 1000000
                                : a->hi_us - 86400LL * 1000000;
    char from[28], to[28];
    aud_time_format(ro.from_us, from);
    aud_time_format(ro.to_us, to);
    int rc = aud_report_soc2(&ro, o->out_dir, err, errlen);
    if (rc)
        return rc;
    fprintf(a->out, "exported %s to %s: report soc2 over [%s, %s)\n", a->part, o->out_dir, from,
            to);
    if ((rc = manifest_sha(a, err, errlen)))
        return rc;

    const char **keys = NULL;
    size_t nkeys = 0;
    int own = o->n_pubkeys == 0;
    if (own) {
        if ((rc = write_db_keys(a, &keys, &nkeys, err, errlen))) {
            remove_db_keys(a, keys, nkeys);
            return rc;
        }
        if (o->key_file)
            keys[nkeys++] = strdup(o->key_file);
    }
    aud_report_verify_options_t vo;
    memset(&vo, 0, sizeof(vo));
    vo.dir = o->out_dir;
    vo.pubkey_files = own ? keys : o->pubkey_files;
    vo.n_pubkeys = own ? nkeys : o->n_pubkeys;
    vo.checkpoint_files = o->checkpoint_files;
    vo.n_checkpoint_files = o->n_checkpoint_files;
    aud_report_verify_result_t res;
    rc = aud_report_verify_run(&vo, &res, err, errlen);
    if (own) {
        if (o->key_file && nkeys) {
            free((char *)keys[--nkeys]); /* not a temporary file */
            keys[nkeys] = NULL;
        }
        remove_db_keys(a, keys, nkeys);
    }
    if (rc) {
        aud_report_verify_result_free(&res);
        return rc;
    }
    if (!res.ok) {
        aud_report_verify_print_text(&res, a->out);
        cmn_errf(err, errlen, "the export in %s does not verify: nothing was detached", o->out_dir);
        aud_report_verify_result_free(&res);
        return CMN_ERR_CONFLICT;
    }
    /* Each stream's events in the partition lie inside its proven range. */
    for (size_t i = 0; i < a->n_streams && rc == 0; i++) {
        const arc_stream_t *s = &a->streams[i];
        const aud_report_verify_stream_t *v = NULL;
        for (size_t k = 0; k < res.n_streams; k++)
            if (strcmp(res.streams[k].name, s->name) == 0)
                v = &res.streams[k];
        if (!v || v->start_seq > s->first - 1 || v->end_seq < s->last) {
            cmn_errf(err, errlen,
                     "the export does not prove stream %s's seq %lld..%lld: nothing was detached",
                     s->name, s->first, s->last);
            rc = CMN_ERR_CONFLICT;
        }
    }
    if (rc == 0)
        fprintf(a->out,
                "verified %s: %lld events of %zu streams in %s, each stream's seqs proven from "
                "its start to a checkpoint signed after %s (keys: %s); manifest.json sha256 %s\n",
                o->out_dir, a->events, a->n_streams, a->part, to,
                own ? "those the database registered, and the export's own" : "the --pubkey files",
                a->manifest_sha);
    aud_report_verify_result_free(&res);
    return rc;
}

static int exec(arc_t *a, const char *sql, const char *what, char *err, size_t errlen)
{
    return aud_db_exec(a->db, sql, what, err, errlen);
}

/* A stream's audit_archive row on a database before schema 009 (no policy columns). */
static const char insert_008[] =
    "INSERT INTO audit_archive (partition, detached_as, range_from, range_to, stream_id, "
    "first_seq, last_seq, last_hash, events, manifest_sha256) VALUES ($1, $2, $3::timestamptz, "
    "$4::timestamptz, $5::bigint, $6::bigint, $7::bigint, decode($8, 'hex'), $9::bigint, $10) "
    "RETURNING 1";

/* Step 4, in one transaction (the caller lent the owner's rights). */
static int detach(arc_t *a, char *err, size_t errlen)
{
    /* names are [a-z0-9_] (parse_month), quoted all the same where they are identifiers */
    char sql[1024], archived[96];
    snprintf(archived, sizeof(archived), "%s_archived", a->part);
    char *arch_id = PQescapeIdentifier(a->db, archived, strlen(archived));
    char *trig_id = NULL;
    char trig[112];
    snprintf(trig, sizeof(trig), "%s_no_change", archived);
    trig_id = PQescapeIdentifier(a->db, trig, strlen(trig));
    if (!arch_id || !trig_id) {
        PQfreemem(arch_id);
        PQfreemem(trig_id);
        cmn_errf(err, errlen, "out of memory");
        return CMN_ERR_NOMEM;
    }
    /* Schema 009 records per stream the policy in force at the archive's end (below). */
    int policy = aud_db_has_table(a->db, "audit_stream_retired", "detaching", err, errlen);
    int rc = policy < 0 ? CMN_ERR_DB : exec(a, "BEGIN", "detaching", err, errlen);
    if (!rc)
        rc = exec(a, "SET LOCAL lock_timeout = '10s'", "detaching", err, errlen);
    if (!rc) {
        /* nothing more lands in it from here on; then it must be what was exported */
        snprintf(sql, sizeof(sql), "LOCK TABLE %s IN SHARE MODE", a->part_id);
        rc = exec(a, sql, "locking the partition", err, errlen);
    }
    if (!rc) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", a->part_id);
        PGresult *r = rows(a, sql, 0, NULL, "counting the partition", err, errlen);
        if (!r) {
            rc = CMN_ERR_DB;
        } else if (strtoll(PQgetvalue(r, 0, 0), NULL, 10) != a->events) {
            cmn_errf(err, errlen,
                     "%s holds %s events now, %lld when it was exported: nothing was detached; "
                     "run the archive again",
                     a->part, PQgetvalue(r, 0, 0), a->events);
            rc = CMN_ERR_CONFLICT;
        }
        PQclear(r);
    }
    if (!rc) {
        snprintf(sql, sizeof(sql), "ALTER TABLE audit_event DETACH PARTITION %s", a->part_id);
        rc = exec(a, sql, "detaching the partition", err, errlen);
    }
    if (!rc) {
        snprintf(sql, sizeof(sql), "ALTER TABLE %s RENAME TO %s", a->part_id, arch_id);
        rc = exec(a, sql, "renaming the detached table", err, errlen);
    }
    if (!rc) {
        /* its indexes follow its name, so that the month's names are free again */
        snprintf(sql, sizeof(sql),
                 "DO $$DECLARE i record; BEGIN FOR i IN SELECT c.relname FROM pg_index x JOIN "
                 "pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = '%s'::regclass AND "
                 "starts_with(c.relname, '%s_') LOOP EXECUTE format('ALTER INDEX %%I RENAME TO "
                 "%%I', i.relname, '%s' || substr(i.relname, %zu)); END LOOP; END$$",
                 archived, a->part, archived, strlen(a->part) + 1);
        rc = exec(a, sql, "renaming the detached table's indexes", err, errlen);
    }
    if (!rc) {
        /* DETACH drops the row trigger cloned from audit_event; the kept table stays
         * append-only until it is dropped (its TRUNCATE trigger is its own and stays) */
        snprintf(sql, sizeof(sql),
                 "CREATE TRIGGER %s BEFORE UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION "
                 "hubgate_append_only(); ALTER TABLE %s ENABLE ALWAYS TRIGGER %s",
                 trig_id, arch_id, arch_id, trig_id);
        rc = exec(a, sql, "keeping the detached table append-only", err, errlen);
    }
    /* The policy in force at the archive's end (schema 009): the stream's last policy.loaded in
     * the partition, else the one its previous archive recorded. A later report names it when
     * the stream's load event left with this partition. */
    char ins[1600];
    snprintf(ins, sizeof(ins),
             "WITH p AS ((SELECT canonical::jsonb -> 'details' ->> 'sha256' AS sha, ts AS at, "
             "1 AS o FROM %s WHERE stream_id = $5::bigint AND kind = 'policy.loaded' "
             "ORDER BY seq DESC "
             "LIMIT 1) UNION ALL (SELECT policy_sha256, policy_loaded_at, 2 FROM audit_archive "
             "WHERE stream_id = $5::bigint AND policy_sha256 IS NOT NULL ORDER BY last_seq DESC "
             "LIMIT 1) ORDER BY o LIMIT 1) "
             "INSERT INTO audit_archive (partition, detached_as, range_from, range_to, stream_id, "
             "first_seq, last_seq, last_hash, events, manifest_sha256, policy_sha256, "
             "policy_loaded_at) SELECT $1, $2, $3::timestamptz, $4::timestamptz, $5::bigint, "
             "$6::bigint, $7::bigint, decode($8, 'hex'), $9::bigint, $10, (SELECT sha FROM p WHERE "
             "sha ~ '^[0-9a-f]{64}$'), (SELECT at FROM p WHERE sha ~ '^[0-9a-f]{64}$') RETURNING 1",
             arch_id);
    for (size_t i = 0; i < a->n_streams && !rc; i++) {
        const arc_stream_t *s = &a->streams[i];
        char first[24], last[24], count[24];
        snprintf(first, sizeof(first), "%lld", s->first);
        snprintf(last, sizeof(last), "%lld", s->last);
        snprintf(count, sizeof(count), "%lld", s->count);
        const char *p[10] = {a->part,        archived,     a->lo_min ? NULL : a->lo_text,
                             a->hi_text,     s->id,        first,
                             last,           s->last_hash, count,
                             a->manifest_sha};
        PGresult *r = rows(a, policy ? ins : insert_008, 10, p, "recording the archival", err,
                           errlen);
        rc = r ? 0 : CMN_ERR_DB;
        PQclear(r);
    }
    if (!rc && a->n_streams == 0) {
        const char *p[5] = {a->part, archived, a->lo_min ? NULL : a->lo_text, a->hi_text,
                            a->manifest_sha};
        PGresult *r = rows(a,
                           "INSERT INTO audit_archive (partition, detached_as, range_from, "
                           "range_to, events, manifest_sha256) VALUES ($1, $2, $3::timestamptz, "
                           "$4::timestamptz, 0, $5) RETURNING 1",
                           5, p, "recording the archival", err, errlen);
        rc = r ? 0 : CMN_ERR_DB;
        PQclear(r);
    }
    if (!rc)
        rc = exec(a, "COMMIT", "detaching", err, errlen);
    else
        PQclear(PQexec(a->db, "ROLLBACK"));
    if (!rc) {
        fprintf(a->out, "detached %s from audit_event and renamed it %s\n", a->part, archived);
        fprintf(a->out, "recorded the archival in audit_archive: %zu streams, manifest sha256 %s\n",
                a->n_streams, a->manifest_sha);
        fprintf(a->out,
                "%s is kept, append-only: once the export in %s is stored where you keep "
                "evidence, drop it with DROP TABLE %s (as the database's owner or a superuser)\n",
                archived, a->o->out_dir, archived);
    }
    PQfreemem(arch_id);
    PQfreemem(trig_id);
    return rc;
}

int aud_archive_run(const aud_archive_options_t *o, FILE *out, char *err, size_t errlen)
{
    arc_t a;
    memset(&a, 0, sizeof(a));
    a.o = o;
    a.out = out;
    if (parse_month(o->month, a.part, sizeof(a.part)) != 0) {
        cmn_errf(err, errlen, "\"%s\" is not a month (expected YYYY-MM or before-008)",
                 o->month ? o->month : "");
        return CMN_ERR_INVAL;
    }
    snprintf(a.part_id, sizeof(a.part_id), "\"%s\"", a.part); /* [a-z0-9_] only */
    int rc = 0, lent = 0;
    a.db = aud_db_connect(o->database_url, "hubgate audit archive", err, errlen);
    if (!a.db)
        return CMN_ERR_DB;
    if ((rc = exec(&a, "SET client_min_messages = warning", "setup", err, errlen)))
        goto out;
    /* Detaching needs the owner's rights, and the migrator reads the log (the export) through
     * them too: lent for the whole run, taken back at its end whatever happens. */
    if (o->detach) {
        if ((rc = aud_migrate_lend_owner(a.db, out, err, errlen)))
            goto out;
        lent = 1;
    }
    if ((rc = find_partition(&a, err, errlen)) || (rc = read_streams(&a, err, errlen)))
        goto out;
    fprintf(out, "%s holds [%s, %s): %lld events of %zu streams\n", a.part, a.lo_text, a.hi_text,
            a.events, a.n_streams);
    for (size_t i = 0; i < a.n_streams; i++)
        fprintf(out, "  stream %s: seq %lld..%lld\n", a.streams[i].name, a.streams[i].first,
                a.streams[i].last);
    if ((rc = export_and_verify(&a, err, errlen)))
        goto out;
    if (!o->detach) {
        fprintf(out, "not detached (without --detach): %s stays in audit_event\n", a.part);
        goto out;
    }
    rc = detach(&a, err, errlen);
out:
    if (lent) {
        char end_err[512];
        int end_rc = aud_migrate_take_back_owner(a.db, out, end_err, sizeof(end_err));
        if (end_rc && rc == 0) {
            rc = end_rc;
            cmn_errf(err, errlen, "%s", end_err);
        }
    }
    free(a.streams);
    PQfinish(a.db);
    return rc;
}
