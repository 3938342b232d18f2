#include "audit/db.h"
#include "common/err.h"
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void aud_db_oneline(char *err, size_t errlen, const char *prefix, const char *msg)
{
    cmn_errf(err, errlen, "%s%s", prefix ? prefix : "", msg && *msg ? msg : "unknown error");
}

void aud_db_checkpoint(const PGresult *r, int row, const char *stream, aud_checkpoint_t *cp)
{
    memset(cp, 0, sizeof(*cp));
    snprintf(cp->stream, sizeof(cp->stream), "%s", stream);
    cp->seq = (int64_t)aud_rd64((const unsigned char *)PQgetvalue(r, row, 0));
    if (PQgetlength(r, row, 1) == AUD_HASH_BYTES)
        memcpy(cp->hash, PQgetvalue(r, row, 1), AUD_HASH_BYTES);
    cp->ts_us = (int64_t)aud_rd64((const unsigned char *)PQgetvalue(r, row, 2)) + AUD_PG_EPOCH_US;
    snprintf(cp->key_id, sizeof(cp->key_id), "%.*s", PQgetlength(r, row, 3), PQgetvalue(r, row, 3));
    if (PQgetlength(r, row, 4) == AUD_SIG_BYTES)
        memcpy(cp->sig, PQgetvalue(r, row, 4), AUD_SIG_BYTES);
}

#define MAX_PARAMS 64

/* Server notices and warnings (e.g. "terminating connection due to administrator command")
 * go to the log instead of libpq's default, raw stderr. A notice hubgate's own SQL raises to
 * report what it did ("hubgate: …", e.g. a partition made by the writer's hourly call) is
 * logged at info level without the prefix. */
static void on_notice(void *arg, const char *message)
{
    static const char ours[] = "NOTICE:  hubgate: ";
    char line[512];
    if (strncmp(message, ours, sizeof(ours) - 1) == 0) {
        aud_db_oneline(line, sizeof(line), "", message + sizeof(ours) - 1);
        cmn_log_info("audit", "%s", line);
        return;
    }
    aud_db_oneline(line, sizeof(line), "", message);
    cmn_log_debug("audit", "database: %s", line);
}

PGconn *aud_db_connect(const char *url, const char *application_name, char *err, size_t errlen)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        aud_db_oneline(err, errlen, "bad database URL: ", perr ? perr : "out of memory");
        PQfreemem(perr);
        return NULL;
    }
    const char *keys[MAX_PARAMS + 1], *vals[MAX_PARAMS + 1];
    int n = 0;
    /* Defaults first: a later keyword overrides an earlier one. */
    static const char *const defaults[][2] = {
        {"connect_timeout", "5"},     {"keepalives", "1"},       {"keepalives_idle", "5"},
        {"keepalives_interval", "2"}, {"keepalives_count", "3"}, {"tcp_user_timeout", "10000"},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        keys[n] = defaults[i][0];
        vals[n++] = defaults[i][1];
    }
    if (application_name) {
        keys[n] = "application_name";
        vals[n++] = application_name;
    }
    const char *user_options = NULL;
    for (PQconninfoOption *o = opts; o->keyword && n < MAX_PARAMS - 1; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "options") == 0) {
            user_options = o->val;
            continue;
        }
        keys[n] = o->keyword;
        vals[n++] = o->val;
    }
    char options[1024];
    snprintf(options, sizeof(options), "%s%s-c synchronous_commit=on",
             user_options ? user_options : "", user_options ? " " : "");
    keys[n] = "options";
    vals[n++] = options;
    keys[n] = NULL;
    vals[n] = NULL;
    PGconn *conn = PQconnectdbParams(keys, vals, 0);
    PQconninfoFree(opts);
    if (!conn) {
        aud_db_oneline(err, errlen, "cannot connect to the database: ", "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        aud_db_oneline(err, errlen, "cannot connect to the database: ", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, on_notice, NULL);
    return conn;
}

int aud_db_exec(PGconn *db, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        cmn_errf(err, errlen, "%s%s%s", what ? what : "", what ? ": " : "",
                 PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : CMN_ERR_DB;
}

PGresult *aud_db_rows(PGconn *db, const char *sql, int n, const char *const *params, int binary,
                      const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, binary);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    cmn_errf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

int aud_db_has_table(PGconn *db, const char *table, const char *what, char *err, size_t errlen)
{
    const char *p[1] = {table};
    PGresult *r =
        aud_db_rows(db, "SELECT to_regclass($1) IS NOT NULL", 1, p, 0, what, err, errlen);
    if (!r)
        return -1;
    int has = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return has;
}

PGconn *aud_db_snapshot(const char *url, const char *application_name, char *err, size_t errlen)
{
    PGconn *db = aud_db_connect(url, application_name, err, errlen);
    if (db && aud_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, err,
                          errlen) != 0) {
        PQfinish(db);
        db = NULL;
    }
    return db;
}

int aud_db_snapshot_export(PGconn *db, char *id, size_t idlen)
{
    PGresult *r = PQexec(db, "SELECT pg_export_snapshot()");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
             (size_t)PQgetlength(r, 0, 0) < idlen;
    if (ok)
        snprintf(id, idlen, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return ok ? 0 : CMN_ERR_DB;
}

/* "<what>: <libpq's message>" in err, one line. */
static void copy_failed(char *err, size_t errlen, const char *what, const char *msg)
{
    cmn_errf(err, errlen, "%s: %s", what, msg && *msg ? msg : "unknown error");
}

/* Splits one binary COPY tuple into row. Returns 1, 0 for the trailer, -1 when malformed. */
static int split_tuple(const char *buf, int len, int nfields, aud_db_fields_t *row)
{
    const unsigned char *p = (const unsigned char *)buf, *end = p + len;
    if (end - p < 2)
        return -1;
    int n = (int16_t)((p[0] << 8) | p[1]);
    p += 2;
    if (n == -1)
        return 0;
    if (n != nfields)
        return -1;
    for (int i = 0; i < nfields; i++) {
        if (end - p < 4)
            return -1;
        int32_t l = (int32_t)aud_rd32(p);
        p += 4;
        if (l < 0) {
            row->f[i] = NULL;
            row->len[i] = -1;
            continue;
        }
        if (end - p < l)
            return -1;
        row->f[i] = (const char *)p;
        row->len[i] = l;
        p += l;
    }
    return 1;
}

int aud_db_copy_out(PGconn *db, const char *sql, int nfields, aud_db_copy_fn fn, void *ctx,
                    const char *what, char *err, size_t errlen)
{
    if (nfields < 1 || nfields > AUD_DB_COPY_MAX_FIELDS)
        return CMN_ERR_INVAL;
    PGresult *res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        copy_failed(err, errlen, what, PQresultErrorMessage(res));
        PQclear(res);
        return CMN_ERR_DB;
    }
    PQclear(res);
    int rc = 0, header = 0, n;
    char *buf = NULL;
    while ((n = PQgetCopyData(db, &buf, 0)) > 0) {
        const char *p = buf;
        if (!header) {
            /* "PGCOPY\n\377\r\n\0", 4 bytes of flags, 4 of header extension */
            if (n < 19 || memcmp(p, "PGCOPY\n\377\r\n\0", 11) != 0) {
                if (!rc)
                    cmn_errf(err, errlen, "%s: not a binary COPY stream", what);
                rc = CMN_ERR_DB;
            }
            p += 19;
            n -= 19;
            header = 1;
        }
        aud_db_fields_t row;
        int k = rc || n <= 0 ? 0 : split_tuple(p, n, nfields, &row);
        if (k < 0) {
            cmn_errf(err, errlen, "%s: malformed row", what);
            rc = CMN_ERR_DB;
        } else if (k > 0) {
            rc = fn(ctx, &row);
        }
        PQfreemem(buf);
        buf = NULL;
    }
    if (n == -2 && !rc) {
        copy_failed(err, errlen, what, PQerrorMessage(db));
        rc = CMN_ERR_DB;
    }
    while ((res = PQgetResult(db)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && !rc) {
            copy_failed(err, errlen, what, PQresultErrorMessage(res));
            rc = CMN_ERR_DB;
        }
        PQclear(res);
    }
    return rc;
}
