/* `hubgate report soc2` (and the admin API's /-/reports/soc2): one read-only snapshot of the
 * audit log turned into a report directory (docs/evidence-format.md). The order of the work:
 * options checked and the key loaded before anything is created; the temporary directory; one
 * REPEATABLE READ READ ONLY transaction in which each stream is read once, in name order, its
 * events written to events.jsonl / events.csv and counted as they stream by; then the policy
 * versions; then report.json, report.html, the manifest and its signature; and last the rename
 * that makes the directory appear whole. */
#include "audit/report.h"
#include "audit/db.h"
#include "audit/limits.h"
#include "audit/report_events.h"
#include "audit/report_files.h"
#include "audit/report_html.h"
#include "audit/report_policy.h"
#include "audit/report_stream.h"
#include "common/err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* ---- time ---- */

/* The value of two decimal digits at s, or -1. */
static int two_digits(const char *s)
{
    return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1])
               ? (s[0] - '0') * 10 + (s[1] - '0')
               : -1;
}

int aud_report_parse_time(const char *s, int64_t *us)
{
    /* Rewritten into the one form aud_time_parse reads, which checks every field. */
    char norm[] = "0000-00-00T00:00:00.000000Z";
    int64_t off = 0;
    if (!s || strlen(s) < 10)
        return CMN_ERR_PARSE;
    memcpy(norm, s, 10);
    const char *p = s + 10;
    if (*p) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return CMN_ERR_PARSE;
        p++;
        if (strlen(p) < 8)
            return CMN_ERR_PARSE;
        memcpy(norm + 11, p, 8);
        p += 8;
        if (*p == '.') {
            size_t n = strspn(++p, "0123456789");
            if (n == 0 || n > 6)
                return CMN_ERR_PARSE;
            memcpy(norm + 20, p, n);
            p += n;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh = two_digits(p + 1), om = strlen(p) == 6 ? two_digits(p + 4) : -1;
            if (om < 0 || oh < 0 || p[3] != ':' || oh > 23 || om > 59)
                return CMN_ERR_PARSE;
            off = (int64_t)(oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
            p += 6;
        } else {
            return CMN_ERR_PARSE;
        }
        if (*p)
            return CMN_ERR_PARSE;
    }
    if (aud_time_parse(norm, sizeof(norm) - 1, us) != 0 || strncmp(norm, "1970", 4) < 0)
        return CMN_ERR_PARSE;
    *us -= off * 1000000;
    return 0;
}

/* ---- the run ---- */

static int check_options(const aud_report_options_t *o, const char *out_dir, char *err,
                         size_t errlen)
{
    if (!o || !out_dir || !*out_dir) {
        cmn_errf(err, errlen, "no output directory given");
        return CMN_ERR_INVAL;
    }
    if (!o->database_url || !*o->database_url) {
        cmn_errf(err, errlen, "no database given");
        return CMN_ERR_INVAL;
    }
    if (o->to_us <= o->from_us) {
        cmn_errf(err, errlen, "the period is empty: \"to\" must come after \"from\"");
        return CMN_ERR_INVAL;
    }
    if ((o->to_us - o->from_us) / (86400LL * 1000000) >= AUD_REPORT_MAX_DAYS) {
        cmn_errf(err, errlen, "the period is longer than %d days: make several reports",
                AUD_REPORT_MAX_DAYS - 1);
        return CMN_ERR_INVAL;
    }
    if (o->org && (!*o->org || strlen(o->org) > AUD_REPORT_MAX_ORG_BYTES)) {
        cmn_errf(err, errlen, "the org must be 1 to %d bytes", AUD_REPORT_MAX_ORG_BYTES);
        return CMN_ERR_INVAL;
    }
    return 0;
}

static json_t *header_json(const aud_report_options_t *o, int64_t generated)
{
    char from[28], to[28], gen[28];
    aud_time_format(o->from_us, from);
    aud_time_format(o->to_us, to);
    aud_time_format(generated, gen);
    return json_pack("{s:i, s:s, s:s, s:{s:s, s:s}, s:{s:o}}", "format", AUD_REPORT_FORMAT,
                     "generator", "hubgate report soc2", "generated", gen, "period", "from", from,
                     "to", to, "scope", "org", o->org ? json_string(o->org) : json_null());
}

int aud_report_soc2(const aud_report_options_t *o, const char *out_dir, char *err, size_t errlen)
{
    int rc = check_options(o, out_dir, err, errlen);
    if (rc)
        return rc;
    rpt_ctx_t c;
    memset(&c, 0, sizeof(c));
    c.o = o;
    c.complete = 1;
    c.jsonl.fd = c.csv.fd = -1;
    aud_key_t *key = NULL;
    char tmp[4200] = "";
    int dirfd = -1;
    PGresult *streams = NULL;
    json_t *report = NULL, *integrity = NULL;
    rpt_sink_t json_out, html_out;
    json_out.fd = html_out.fd = -1;
    json_out.buf = html_out.buf = NULL;
    json_out.md = html_out.md = NULL;
    int64_t generated = aud_time_now_us();

    if (o->key_file) {
        char why[400];
        if (!(key = aud_key_load(o->key_file, why, sizeof(why)))) {
            cmn_errf(err, errlen, "--key %s", why);
            return CMN_ERR_IO;
        }
        if (!aud_key_is_private(key)) {
            cmn_errf(err, errlen, "--key %s: a public key cannot sign (give the private key)",
                    o->key_file);
            aud_key_free(key);
            return CMN_ERR_INVAL;
        }
    }
    if (aud_hasher_init(&c.hasher) != 0 ||
        !(c.stats = aud_report_stats_create(o->from_us, o->to_us, o->org)) ||
        !(integrity = json_array())) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < o->n_checkpoint_files; i++)
        if ((rc = rpt_checkpoint_file_load(&c, o->checkpoint_files[i], err, errlen)))
            goto out;

    if ((rc = rpt_dir_create(out_dir, tmp, sizeof(tmp), &dirfd, err, errlen)))
        goto out;
    if ((rc = rpt_sink_open(&c.jsonl, dirfd, "events.jsonl", err, errlen)) ||
        (rc = rpt_sink_open(&c.csv, dirfd, "events.csv", err, errlen)))
        goto out;
    rpt_csv_header(&c.csv);

    /* One snapshot for the whole report, while gateways keep appending; and read-only, whoever
     * the role is. */
    c.db = aud_db_snapshot(o->database_url, "hubgate report", err, errlen);
    if (!c.db) {
        rc = CMN_ERR_DB;
        goto out;
    }
    streams = PQexec(c.db, "SELECT id, name, public_key, key_id FROM audit_stream ORDER BY name");
    c.stream_keys =
        PQexec(c.db, "SELECT stream_id, key_id, public_key FROM audit_stream_key ORDER BY 1, 2");
    if (PQresultStatus(streams) != PGRES_TUPLES_OK ||
        PQresultStatus(c.stream_keys) != PGRES_TUPLES_OK) {
        aud_db_oneline(err, errlen,
                       "reading the audit streams (is the database migrated, and "
                       "the role a member of hubgate_auditor?): ",
                       PQresultErrorMessage(
                           PQresultStatus(streams) != PGRES_TUPLES_OK ? streams : c.stream_keys));
        rc = CMN_ERR_DB;
        goto out;
    }
    if ((c.has_archive = aud_db_has_table(c.db, "audit_archive", "reading archives", err,
                                          errlen)) < 0 ||
        (c.has_retired = aud_db_has_table(c.db, "audit_stream_retired", "reading retirements",
                                          err, errlen)) < 0) {
        rc = CMN_ERR_DB;
        goto out;
    }
    /* Stream names sort in the database's collation; events.jsonl wants byte order. */
    int ns = PQntuples(streams);
    int *order = calloc((size_t)ns + 1, sizeof(int));
    if (!order) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < ns; i++) {
        int j = i;
        while (j > 0 &&
               strcmp(PQgetvalue(streams, order[j - 1], 1), PQgetvalue(streams, i, 1)) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (int k = 0; k < ns && !rc; k++) {
        int i = order[k];
        rc = rpt_stream_run(&c, PQgetvalue(streams, i, 0), PQgetvalue(streams, i, 1),
                            PQgetvalue(streams, i, 2), PQgetvalue(streams, i, 3), integrity, err,
                            errlen);
    }
    free(order);
    if (rc)
        goto out;

    if (!(report = header_json(o, generated)) || aud_report_stats_json(c.stats, report) != 0) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
    if ((rc = rpt_policy_sections(&c, report, err, errlen)))
        goto out;
    aud_db_exec(c.db, "COMMIT", NULL, NULL, 0);

    json_t *pipe = json_object_get(
        json_object_get(json_object_get(report, "criteria"), "CC7.2-CC7.3"), "pipeline");
    json_object_set_new(pipe, "gaps", json_integer(c.gaps));
    json_t *ij = json_pack("{s:b, s:s, s:I, s:O}", "complete", c.complete && ns > 0, "keys",
                           "registered in the database; check with the keys you hold: hubgate "
                           "report verify DIR --pubkey FILE",
                           "file_checkpoints_not_checked", (json_int_t)c.file_mid_skipped,
                           "streams", integrity);
    if (!ij) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
    json_object_set_new(report, "integrity", ij);

    /* The event files are complete: their hashes go to the manifest. */
    char h_jsonl[65], h_csv[65], h_json[65], h_html[65];
    if ((rc = rpt_sink_close(&c.jsonl, h_jsonl, err, errlen)) ||
        (rc = rpt_sink_close(&c.csv, h_csv, err, errlen)))
        goto out;
    char *text = json_dumps(report, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!text) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
        goto out;
    }
    if ((rc = rpt_sink_open(&json_out, dirfd, "report.json", err, errlen)) == 0) {
        rpt_sink_puts(&json_out, text);
        rpt_sink_puts(&json_out, "\n");
        rc = rpt_sink_close(&json_out, h_json, err, errlen);
    }
    free(text);
    if (rc)
        goto out;
    if ((rc = rpt_sink_open(&html_out, dirfd, "report.html", err, errlen)))
        goto out;
    rpt_html_write(&html_out, report);
    if ((rc = rpt_sink_close(&html_out, h_html, err, errlen)))
        goto out;
    const char *names[] = {"events.csv", "events.jsonl", "report.html", "report.json"};
    const char *hexes[] = {h_csv, h_jsonl, h_html, h_json};
    if ((rc = rpt_manifest_write(dirfd, names, hexes, 4, generated, key, err, errlen)))
        goto out;
    if ((rc = rpt_dir_publish(dirfd, tmp, out_dir, err, errlen)))
        goto out;
    close(dirfd);
    dirfd = -1;
    tmp[0] = '\0';

out:
    rpt_sink_abort(&c.jsonl);
    rpt_sink_abort(&c.csv);
    rpt_sink_abort(&json_out);
    rpt_sink_abort(&html_out);
    if (rc && (dirfd >= 0 || tmp[0]))
        rpt_dir_discard(dirfd, tmp);
    else if (dirfd >= 0)
        close(dirfd);
    PQclear(streams);
    PQclear(c.stream_keys);
    if (c.db)
        PQfinish(c.db);
    json_decref(report);
    json_decref(integrity);
    aud_report_stats_destroy(c.stats);
    aud_parsed_free(&c.parsed);
    aud_hasher_free(&c.hasher);
    rpt_checkpoint_files_free(&c);
    aud_key_free(key);
    return rc;
}
