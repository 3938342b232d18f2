#include "gateway/authn/store.h"

#include "audit/db.h"
#include "common/err.h"
#include "common/log.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define POOL 4

struct gw_store {
    char *url;
    char *name;
    pthread_mutex_t mu;
    PGconn *idle[POOL];
    size_t nidle;
};

gw_store_t *gw_store_create(const char *database_url, const char *name)
{
    gw_store_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->url = strdup(database_url)) || !(s->name = strdup(name))) {
        if (s)
            free(s->url);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void gw_store_destroy(gw_store_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nidle; i++)
        PQfinish(s->idle[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->url);
    free(s->name);
    free(s);
}

PGconn *gw_store_acquire(gw_store_t *s)
{
    pthread_mutex_lock(&s->mu);
    PGconn *c = s->nidle ? s->idle[--s->nidle] : NULL;
    pthread_mutex_unlock(&s->mu);
    /* A pooled connection the server ended meanwhile (a restart, a failover) shows as OK until
     * used. An idle connection has nothing to say: anything readable on its socket — the
     * server's goodbye, or its end — means it is gone. */
    if (c && PQstatus(c) == CONNECTION_OK) {
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        if (pfd.fd >= 0 && poll(&pfd, 1, 0) == 0)
            return c;
    }
    PQfinish(c);
    char err[512];
    c = aud_db_connect(s->url, s->name, err, sizeof(err));
    if (!c)
        cmn_log_warn("store", "%s: cannot connect to the database: %s", s->name, err);
    return c;
}

void gw_store_release(gw_store_t *s, PGconn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->nidle < POOL && PQstatus(c) == CONNECTION_OK &&
        PQtransactionStatus(c) == PQTRANS_IDLE) {
        s->idle[s->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    PQfinish(c);
}

PGresult *gw_store_query(gw_store_t *s, PGconn *c, const char *what, const char *sql, int n,
                         const char *const *params, const int *lengths, const int *formats)
{
    if (!c)
        return NULL;
    PGresult *res = PQexecParams(c, sql, n, NULL, params, lengths, formats, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        return res;
    cmn_log_warn("store", "%s: %s failed: %s", s->name, what,
                 res ? PQresultErrorMessage(res) : PQerrorMessage(c));
    PQclear(res);
    return NULL;
}

int gw_store_run(gw_store_t *s, PGconn *c, const char *what, const char *sql, int n,
                 const char *const *params, PGresult **out)
{
    PGresult *res = c ? PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0) : NULL;
    ExecStatusType st = PQresultStatus(res);
    *out = NULL;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *out = res;
        return 0;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int conflict = state && strcmp(state, "23505") == 0; /* unique_violation */
    if (!conflict)
        cmn_log_warn("store", "%s: %s failed: %s", s->name, what,
                     res ? PQresultErrorMessage(res) : c ? PQerrorMessage(c) : "no connection");
    PQclear(res);
    return conflict ? CMN_ERR_CONFLICT : CMN_ERR_DB;
}

int gw_store_exec(gw_store_t *s, PGconn *c, const char *what, const char *sql, int n,
                  const char *const *params)
{
    PGresult *res = NULL;
    int rc = gw_store_run(s, c, what, sql, n, params, &res);
    PQclear(res);
    return rc ? -1 : 0;
}

int gw_store_begin(gw_store_t *s, PGconn *c)
{
    return gw_store_exec(s, c, "BEGIN", "BEGIN", 0, NULL) == 0;
}

int gw_store_finish(gw_store_t *s, PGconn *c, int rc, const char *what)
{
    PGresult *res = PQexec(c, rc == 0 ? "COMMIT" : "ROLLBACK");
    if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) {
        cmn_log_error("store", "%s: %s: the commit failed after the audit event was recorded: %s",
                      s->name, what, PQresultErrorMessage(res));
        rc = CMN_ERR_DB;
    }
    PQclear(res);
    return rc;
}
