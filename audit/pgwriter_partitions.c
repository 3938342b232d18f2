/* audit_event's monthly partitions, from the writer: contract in pgwriter_partitions.h. */
#include "audit/pgwriter_partitions.h"
#include "audit/db.h"
#include "audit/pgwriter_pgio.h"
#include "audit/pgwriter_state.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

void pgw_partitions_on_connect(PGconn *conn, const char *stream)
{
    /* Asked first, so that a database before 008 logs no error for every connection. */
    PGresult *r =
        PQexec(conn, "SELECT to_regprocedure('hubgate_audit_partitions(integer)') IS NULL");
    int absent = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                 strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (absent)
        return;
    r = PQexec(conn, "SELECT hubgate_audit_partitions(" STR(PGW_PARTITION_MONTHS_AHEAD) ")");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        for (int i = 0; i < PQntuples(r); i++)
            cmn_log_info(PGW_LOG, "stream %s: created partition %s of audit_event", stream,
                         PQgetvalue(r, i, 0));
    } else {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* 42883: no such function, a schema before 008 (the gateway says so at start) */
        if (!state || strcmp(state, "42883") != 0) {
            char err[512];
            aud_db_oneline(err, sizeof(err), "", PQresultErrorMessage(r));
            cmn_log_warn(PGW_LOG, "stream %s: creating audit_event's monthly partitions: %s",
                         stream, err);
        }
    }
    PQclear(r);
}

int pgw_partitions_due(const aud_writer_t *w, int64_t now)
{
    return w->conn && !w->fatal && !w->batch_held && now >= w->parts_due_ns;
}

void pgw_partitions_tick(aud_writer_t *w, int64_t now)
{
    if (!pgw_partitions_due(w, now))
        return;
    w->parts_due_ns = now + PGW_PARTITION_EVERY_NS;
    /* A DO block answers COMMAND_OK, which is what the deadline-bounded runner reads; it also
     * lets a database before 008 answer without an error. What it made is raised as a notice
     * that the connection's notice handler logs (audit/db.c), as the call at connect logs it.
     * The stream's name is [A-Za-z0-9._-] (aud_stream_name_ok), safe inside the literal. */
    static const char fmt[] =
        "DO $$DECLARE p text; BEGIN "
        "IF to_regprocedure('hubgate_audit_partitions(integer)') IS NOT NULL THEN "
        "FOR p IN SELECT hubgate_audit_partitions(%d) LOOP "
        "RAISE NOTICE 'hubgate: stream %%: created partition %% of audit_event', '%s', p; "
        "END LOOP; END IF; END$$";
    char err[512] = "", sql[sizeof(fmt) + AUD_STREAM_MAX + 16];
    snprintf(sql, sizeof(sql), fmt, PGW_PARTITION_MONTHS_AHEAD, w->stream);
    if (pgw_pgio_command(w->conn, sql, pgw_state_db_deadline(w), err, sizeof(err)) == 0)
        return;
    /* pgwriter_pgio.h: after a failure the connection's state is unknown. The reconnection
     * tries again (pgw_partitions_on_connect). */
    cmn_log_warn(PGW_LOG, "stream %s: creating audit_event's monthly partitions: %s", w->stream,
                 err);
    pgw_state_disconnect(w, err);
}
