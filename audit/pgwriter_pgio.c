/* libpq I/O with a deadline: contract in pgwriter_pgio.h. */
#include "audit/pgwriter_pgio.h"
#include "audit/db.h"
#include "common/clock.h"
#include "common/err.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>

/* Waits until the socket is ready or the deadline passes. Returns 0, or -1 (timeout/error). */
static int wait_socket(PGconn *conn, int for_write, int64_t deadline)
{
    int fd = PQsocket(conn);
    if (fd < 0)
        return -1;
    for (;;) {
        int64_t left = deadline - cmn_mono_ns();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = (short)(POLLIN | (for_write ? POLLOUT : 0))};
        int r = poll(&p, 1, (int)((left + 999999) / 1000000));
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static int flush_out(PGconn *conn, int64_t deadline)
{
    for (;;) {
        int r = PQflush(conn);
        if (r == 0)
            return 0;
        if (r < 0 || wait_socket(conn, 1, deadline) != 0)
            return -1;
        if (PQconsumeInput(conn) == 0)
            return -1;
    }
}

/* The next result, or NULL when there is none left; *failed when the connection broke or the
 * deadline passed first. */
static PGresult *next_result(PGconn *conn, int64_t deadline, int *failed)
{
    for (;;) {
        if (PQconsumeInput(conn) == 0) {
            *failed = 1;
            return NULL;
        }
        if (!PQisBusy(conn))
            return PQgetResult(conn);
        if (wait_socket(conn, 0, deadline) != 0) {
            *failed = 1;
            return NULL;
        }
    }
}

/* Collects the results of the current command: 0 when the command succeeded (the last result
 * had the wanted status), else -1 with the message in err. */
static int finish_command(PGconn *conn, ExecStatusType want, int64_t deadline, char *err,
                          size_t errlen)
{
    int ok = 0, failed = 0, any = 0;
    PGresult *r;
    while ((r = next_result(conn, deadline, &failed)) != NULL) {
        any = 1;
        ExecStatusType s = PQresultStatus(r);
        if (s == want)
            ok = 1;
        else if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
            aud_db_oneline(err, errlen, "", PQresultErrorMessage(r));
            PQclear(r);
            /* keep reading until NULL so the connection stays in sync */
            int f2 = 0;
            while ((r = next_result(conn, deadline, &f2)) != NULL)
                PQclear(r);
            return -1;
        }
        PQclear(r);
    }
    if (failed) {
        aud_db_oneline(err, errlen, "",
                       PQstatus(conn) == CONNECTION_BAD ? PQerrorMessage(conn)
                                                        : "no answer from the database in time");
        return -1;
    }
    if (!any || !ok) {
        cmn_errf(err, errlen, "unexpected answer from the database");
        return -1;
    }
    return 0;
}

int pgw_pgio_command(PGconn *conn, const char *sql, int64_t deadline, char *err, size_t errlen)
{
    if (PQsendQuery(conn, sql) != 1 || flush_out(conn, deadline) != 0) {
        aud_db_oneline(err, errlen, "", PQerrorMessage(conn));
        return -1;
    }
    return finish_command(conn, PGRES_COMMAND_OK, deadline, err, errlen);
}

int pgw_pgio_copy_start(PGconn *conn, const char *sql, int64_t deadline, char *err, size_t errlen)
{
    int failed = 0;
    if (PQsendQuery(conn, sql) != 1 || flush_out(conn, deadline) != 0) {
        aud_db_oneline(err, errlen, "", PQerrorMessage(conn));
        return -1;
    }
    PGresult *r;
    for (;;) {
        r = next_result(conn, deadline, &failed);
        if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r); /* BEGIN */
            continue;
        }
        break;
    }
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        aud_db_oneline(err, errlen, "",
                       r ? PQresultErrorMessage(r)
                       : failed && PQstatus(conn) != CONNECTION_BAD
                           ? "no answer from the database in time"
                           : PQerrorMessage(conn));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}

int pgw_pgio_copy_put(PGconn *conn, const void *data, size_t len, int64_t deadline, char *err,
                      size_t errlen)
{
    int q;
    while ((q = PQputCopyData(conn, data, (int)len)) == 0)
        if (wait_socket(conn, 1, deadline) != 0 || PQflush(conn) < 0)
            break;
    if (q != 1) {
        aud_db_oneline(err, errlen, "sending events: ", PQerrorMessage(conn));
        return -1;
    }
    return 0;
}

int pgw_pgio_copy_finish(PGconn *conn, const char *then, int64_t deadline, char *err, size_t errlen)
{
    int q;
    while ((q = PQputCopyEnd(conn, NULL)) == 0)
        if (wait_socket(conn, 1, deadline) != 0 || PQflush(conn) < 0)
            break;
    if (q != 1 || flush_out(conn, deadline) != 0) {
        aud_db_oneline(err, errlen, "sending events: ", PQerrorMessage(conn));
        return -1;
    }
    if (finish_command(conn, PGRES_COMMAND_OK, deadline, err, errlen) != 0)
        return -1;
    return then ? pgw_pgio_command(conn, then, deadline, err, errlen) : 0;
}

int pgw_pgio_copy_in(PGconn *conn, const char *copy_sql, const cmn_buf_t *rows, const char *then,
                     int64_t deadline, char *err, size_t errlen)
{
    char sql[1024];
    snprintf(sql, sizeof(sql), "%s%s", then ? "BEGIN; " : "", copy_sql);
    if (pgw_pgio_copy_start(conn, sql, deadline, err, errlen) != 0 ||
        pgw_pgio_copy_put(conn, rows->data, rows->len, deadline, err, errlen) != 0)
        return -1;
    return pgw_pgio_copy_finish(conn, then, deadline, err, errlen);
}
