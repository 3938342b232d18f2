/* New connections for the writer: contract in pgwriter_connect.h. */
#include "audit/pgwriter_connect.h"
#include "audit/db.h"
#include "audit/pgwriter_partitions.h"
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static PGresult *exec_params(PGconn *conn, const char *sql, int n, const char *const *vals)
{
    return PQexecParams(conn, sql, n, NULL, vals, NULL, NULL, 0);
}

static int ok_result(PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* The head of stream `id` recorded by its last archive into res (head_seq, head_hash), if it
 * has one and the database has audit_archive. Returns 0, or -1 with res->err set. */
static int archived_head(PGconn *conn, const char *id, pgw_conn_result_t *res)
{
    int has = aud_db_has_table(conn, "audit_archive", "reading the chain head", res->err,
                               sizeof(res->err));
    if (has <= 0)
        return has;
    const char *v[1] = {id};
    PGresult *r = PQexecParams(conn,
                     "SELECT last_seq, last_hash FROM audit_archive WHERE stream_id = $1::bigint "
                     "ORDER BY last_seq DESC LIMIT 1",
                     1, NULL, v, NULL, NULL, 1);
    int rc = ok_result(r) ? 0 : -1;
    if (rc != 0)
        aud_db_oneline(res->err, sizeof(res->err),
                       "reading the stream's last archive: ", PQresultErrorMessage(r));
    else if (PQntuples(r) == 1 && PQgetlength(r, 0, 1) == AUD_HASH_BYTES) {
        res->head_seq = (int64_t)aud_rd64((const unsigned char *)PQgetvalue(r, 0, 0));
        memcpy(res->head_hash, PQgetvalue(r, 0, 1), AUD_HASH_BYTES);
    }
    PQclear(r);
    return rc;
}

/* A retired stream (`hubgate audit retire`, schema 009) takes no more events: res->cls is
 * PGW_CONN_FATAL with the reason. Returns 0 (not retired, or a database before 009), or -1 with
 * res->err set. */
static int refuse_retired(PGconn *conn, const char *stream, const char *id,
                          pgw_conn_result_t *res)
{
    int has = aud_db_has_table(conn, "audit_stream_retired", "reading audit_stream_retired",
                               res->err, sizeof(res->err));
    if (has <= 0)
        return has;
    const char *v[1] = {id};
    PGresult *r = exec_params(conn,
                              "SELECT seq, to_char(retired_at AT TIME ZONE 'UTC', "
                              "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), retired_by FROM "
                              "audit_stream_retired WHERE stream_id = $1::bigint",
                              1, v);
    int rc = 0;
    if (!ok_result(r)) {
        aud_db_oneline(res->err, sizeof(res->err), "reading audit_stream_retired: ",
                       PQresultErrorMessage(r));
        rc = -1;
    } else if (PQntuples(r) == 1) {
        cmn_errf(res->err, sizeof(res->err),
                 "stream %s was retired at seq %s on %s by %s (hubgate audit retire): it takes no "
                 "more events; give this instance another audit.stream",
                 stream, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
        res->cls = PGW_CONN_FATAL;
        rc = -1;
    }
    PQclear(r);
    return rc;
}

/* Who holds the stream's lock, as one line; and whether it is a dead predecessor of this
 * process (same host, pid gone or equal to ours: a restarted container) or our own previous
 * session, which may then be ended. */
static int lock_holder(aud_writer_t *w, PGconn *conn, int64_t stream_id, int prev_pid, char *who,
                       size_t wholen, int *holder_pid)
{
    char cls[16], obj[24];
    snprintf(cls, sizeof(cls), "%d", AUD_LOCK_CLASS);
    snprintf(obj, sizeof(obj), "%lld", (long long)stream_id);
    const char *vals[2] = {cls, obj};
    PGresult *r = exec_params(conn,
                              "SELECT l.pid, coalesce(a.application_name, ''), "
                              "coalesce(host(a.client_addr), 'local'), "
                              "coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', "
                              "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '?') "
                              "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                              "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                              "AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid",
                              2, vals);
    int stale = 0;
    *holder_pid = 0;
    if (ok_result(r) && PQntuples(r) > 0) {
        *holder_pid = atoi(PQgetvalue(r, 0, 0));
        const char *app = PQgetvalue(r, 0, 1);
        snprintf(who, wholen, "backend pid %d, application \"%s\", client %s, connected since %s",
                 *holder_pid, app, PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
        int pid = 0;
        char host[256] = "";
        if (prev_pid && *holder_pid == prev_pid) {
            stale = 1;
        } else if (sscanf(app, "hubgate %d@%255[^ ]", &pid, host) == 2 && pid > 0) {
            size_t hl = strlen(host);
            int same_host = hl > 0 && strncmp(host, w->host, hl) == 0;
            if (same_host && (pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH)))
                stale = 1;
        }
    } else {
        /* Released between our attempt and this look: just try again. */
        snprintf(who, wholen, "a session that ended meanwhile");
        stale = 1;
    }
    PQclear(r);
    return stale;
}

void pgw_connect(aud_writer_t *w, int prev_pid, pgw_conn_result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->cls = PGW_CONN_TRANSIENT;
    PGresult *r = NULL;
    PGconn *conn = aud_db_connect(w->url, w->app_name, res->err, sizeof(res->err));
    if (!conn)
        return;
    r = PQexec(conn, "SELECT current_setting('synchronous_commit'), pg_backend_pid()");
    if (!ok_result(r)) {
        aud_db_oneline(res->err, sizeof(res->err), "database: ", PQerrorMessage(conn));
        goto fail;
    }
    if (strcmp(PQgetvalue(r, 0, 0), "off") == 0) {
        cmn_errf(res->err, sizeof(res->err),
                 "the database session has synchronous_commit=off: commits would not be durable");
        res->cls = PGW_CONN_FATAL;
        goto fail;
    }
    res->backend_pid = atoi(PQgetvalue(r, 0, 1));
    PQclear(r);

    /* The stream: created on first use with this instance's key. */
    cmn_buf_t pem;
    cmn_buf_init(&pem, 4096);
    if (aud_key_public_pem(w->key, &pem) != 0) {
        cmn_buf_free(&pem);
        cmn_errf(res->err, sizeof(res->err), "cannot encode the public key");
        res->cls = PGW_CONN_FATAL;
        r = NULL;
        goto fail;
    }
    const char *kid = aud_key_id(w->key);
    const char *ins[3] = {w->stream, pem.data, kid};
    r = exec_params(conn,
                    "INSERT INTO audit_stream (name, public_key, key_id) VALUES ($1, $2, $3) "
                    "ON CONFLICT (name) DO NOTHING",
                    3, ins);
    if (!ok_result(r)) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        aud_db_oneline(res->err, sizeof(res->err),
                       "registering the stream: ", PQresultErrorMessage(r));
        /* 42P01 undefined table, 42501 insufficient privilege: not a passing condition */
        if (state && (strcmp(state, "42P01") == 0 || strcmp(state, "42501") == 0))
            res->cls = PGW_CONN_FATAL;
        cmn_buf_free(&pem);
        goto fail;
    }
    PQclear(r);
    r = exec_params(conn, "SELECT id, key_id FROM audit_stream WHERE name = $1", 1, ins);
    if (!ok_result(r) || PQntuples(r) != 1) {
        aud_db_oneline(res->err, sizeof(res->err), "reading the stream: ", PQresultErrorMessage(r));
        cmn_buf_free(&pem);
        goto fail;
    }
    res->stream_id = atoll(PQgetvalue(r, 0, 0));
    int other_key = strcmp(PQgetvalue(r, 0, 1), kid) != 0;
    PQclear(r);
    r = NULL;

    /* The lock: one live writer per stream. */
    char cls[16], obj[24];
    snprintf(cls, sizeof(cls), "%d", AUD_LOCK_CLASS);
    snprintf(obj, sizeof(obj), "%lld", (long long)res->stream_id);
    const char *lk[2] = {cls, obj};
    for (int attempt = 0;; attempt++) {
        r = exec_params(conn, "SELECT pg_try_advisory_lock($1::int, $2::bigint::int)", 2, lk);
        if (!ok_result(r)) {
            aud_db_oneline(res->err, sizeof(res->err),
                           "locking the stream: ", PQresultErrorMessage(r));
            cmn_buf_free(&pem);
            goto fail;
        }
        int got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        r = NULL;
        if (got)
            break;
        char who[512];
        int holder = 0;
        int stale = lock_holder(w, conn, res->stream_id, prev_pid, who, sizeof(who), &holder);
        if (!stale || attempt >= 30) {
            cmn_errf(res->err, sizeof(res->err),
                     "stream \"%s\" is held by a live instance (%s); give each instance its own "
                     "audit.stream, or if that instance is gone, end its session with SELECT "
                     "pg_terminate_backend(%d)",
                     w->stream, who, holder);
            res->cls = stale ? PGW_CONN_TRANSIENT : PGW_CONN_FATAL;
            cmn_buf_free(&pem);
            goto fail;
        }
        if (holder > 0 && attempt % 10 == 0) {
            char pid[16];
            snprintf(pid, sizeof(pid), "%d", holder);
            const char *pv[1] = {pid};
            cmn_log_info(PGW_LOG,
                         "stream %s: ending the session of a previous writer of this "
                         "instance (%s)",
                         w->stream, who);
            PQclear(exec_params(conn, "SELECT pg_terminate_backend($1::int)", 1, pv));
        }
        usleep(100 * 1000);
    }

    if (refuse_retired(conn, w->stream, obj, res) != 0) {
        cmn_buf_free(&pem);
        goto fail;
    }
    /* A key this stream has not seen is registered before anything is signed with it. */
    if (other_key) {
        const char *kv[3] = {obj, kid, pem.data};
        r = exec_params(conn,
                        "INSERT INTO audit_stream_key (stream_id, key_id, public_key) "
                        "VALUES ($1::bigint, $2, $3) ON CONFLICT DO NOTHING",
                        3, kv);
        if (!ok_result(r)) {
            aud_db_oneline(res->err, sizeof(res->err),
                           "registering the signing key: ", PQresultErrorMessage(r));
            cmn_buf_free(&pem);
            goto fail;
        }
        PQclear(r);
    }
    cmn_buf_free(&pem);

    const char *sv[1] = {obj};
    r = PQexecParams(conn,
                     "SELECT coalesce((SELECT seq FROM audit_event WHERE stream_id = $1::bigint "
                     "ORDER BY seq DESC LIMIT 1), 0), (SELECT hash FROM audit_event WHERE "
                     "stream_id = $1::bigint ORDER BY seq DESC LIMIT 1), coalesce((SELECT seq "
                     "FROM audit_checkpoint WHERE stream_id = $1::bigint ORDER BY seq DESC LIMIT "
                     "1), -1)",
                     1, NULL, sv, NULL, NULL, 1);
    if (!ok_result(r) || PQntuples(r) != 1) {
        aud_db_oneline(res->err, sizeof(res->err),
                       "reading the chain head: ", PQresultErrorMessage(r));
        goto fail;
    }
    res->head_seq = (int64_t)aud_rd64((const unsigned char *)PQgetvalue(r, 0, 0));
    if (res->head_seq == 0)
        memcpy(res->head_hash, w->genesis, AUD_HASH_BYTES);
    else if (PQgetlength(r, 0, 1) == AUD_HASH_BYTES)
        memcpy(res->head_hash, PQgetvalue(r, 0, 1), AUD_HASH_BYTES);
    res->cp_seq = (int64_t)aud_rd64((const unsigned char *)PQgetvalue(r, 0, 2));
    PQclear(r);
    r = NULL;
    /* No event left: a new stream, or one whose every event was archived (`hubgate audit
     * archive` detached their partitions, schema 008). The chain goes on from the last
     * archive's seq and hash, never from the genesis again. */
    if (res->head_seq == 0 && archived_head(conn, obj, res) != 0)
        goto fail;
    /* Before anything is written on this connection: the month's partition, and those ahead. */
    pgw_partitions_on_connect(conn, w->stream);
    if (PQsetnonblocking(conn, 1) != 0) {
        cmn_errf(res->err, sizeof(res->err), "cannot make the connection non-blocking");
        r = NULL;
        goto fail;
    }
    res->conn = conn;
    res->cls = PGW_CONN_OK;
    return;
fail:
    PQclear(r);
    PQfinish(conn);
}

void *pgw_connector_main(void *arg)
{
    aud_writer_t *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        if (!w->connect_requested) {
            pthread_cond_wait(&w->connector_cv, &w->mu);
            continue;
        }
        w->connect_requested = 0;
        int prev = w->last_backend_pid;
        pthread_mutex_unlock(&w->mu);
        pgw_conn_result_t res;
        pgw_connect(w, prev, &res);
        pthread_mutex_lock(&w->mu);
        w->result = res;
        w->result_ready = 1;
        pthread_cond_signal(&w->writer_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}
