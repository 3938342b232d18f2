#include "gateway/server/dbprobe.h"
#include "audit/migrate.h"
#include "common/thread.h"
#include "audit/db.h"

#include "audit/role.h"
#include "common/clock.h"

#include "common/err.h"
#include "common/log.h"

#include "gateway/version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_dbprobe {
    gw_server_t *srv;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int stopping;
    int role_checked; /* the database role was found fit (prober thread after the start) */
    atomic_int unfit; /* it was not: the gateway stops with status 1 */
};

/* Whether the gateway's database role could change what the audit log holds. Returns 1 when
 * fit, 0 when unfit (every problem and the fix logged), -1 when the database could not be
 * asked (logged as an error when unreachable_is_error, else as a warning). */
int gw_dbprobe_check_role(const gw_config_t *cfg, int unreachable_is_error)
{
    char err[512], role[128] = "?", problems[4096];
    PGconn *db = aud_db_connect(cfg->database, "hubgate role check", err, sizeof(err));
    if (!db) {
        if (unreachable_is_error)
            cmn_log_error("serve", "cannot check the database role: %s", err);
        else
            cmn_log_warn("serve", "cannot check the database role yet (%s): it is checked as "
                                  "soon as the database answers",
                         err);
        return -1;
    }
    int rc = aud_role_check_gateway(db, role, sizeof(role), problems, sizeof(problems));
    if (rc == 0) {
        /* Behind this binary's schema (not yet migrated): Hub traffic is served and audited,
         * what needs the newer tables (tokens, sign-in) fails until `db migrate` runs. */
        PGresult *res = PQexec(db, "SELECT coalesce(max(name), '') FROM schema_migration");
        const char *latest = aud_migrations[aud_migrations_count - 1].name;
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
            strcmp(PQgetvalue(res, 0, 0), latest) < 0)
            cmn_log_warn("serve", "the database's schema ends at %s, this gateway's at %s: run "
                                  "hubgate db migrate (until then hubgate tokens and sign-in "
                                  "fail with 503)",
                         PQgetvalue(res, 0, 0), latest);
        PQclear(res);
    }
    PQfinish(db);
    if (rc == 0)
        return 1;
    if (rc == CMN_ERR_DB || rc == CMN_ERR_NOTFOUND) {
        /* Connected, yet the role could not be judged: fail closed. */
        cmn_log_error("serve", "%s", problems);
        return 0;
    }
    cmn_log_error("serve",
                  "the database role \"%s\" is not fit for a gateway, which must be able to "
                  "append to the audit log and unable to change what it holds; hubgate does not "
                  "run with it:",
                  role);
    for (const char *p = problems; *p;) {
        size_t n = strcspn(p, "\n");
        cmn_log_error("serve", "  - %s %.*s", role, (int)n, p);
        p += n + (p[n] == '\n');
    }
    cmn_log_error("serve", "fix: connect as a login role that is a member of hubgate_gateway and "
                           "nothing else; create one with: hubgate db role create --database "
                           "ADMIN_URL --kind gateway --name NAME (see hubgate db --help), and put "
                           "it in \"database\"");
    return 0;
}

/* Probes the database every few seconds for /-/ready, off the request threads. A gateway that
 * started while the database was away checks its role here, once it answers: unfit, it stops. */
static void *probe_database(void *arg)
{
    gw_dbprobe_t *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        pthread_mutex_unlock(&p->lock);
        int ok = PQping(p->srv->cfg->database) == PQPING_OK;
        if (ok != atomic_exchange(&p->srv->db_reachable, ok))
            cmn_log_info("serve", "database %s", ok ? "reachable" : "unreachable");
        if (ok && !p->role_checked) {
            int fit = gw_dbprobe_check_role(p->srv->cfg, 0);
            p->role_checked = fit != -1;
            if (fit == 0) {
                atomic_store(&p->unfit, 1);
                kill(getpid(), SIGTERM); /* the main thread's sigwait takes it */
            }
        }
        pthread_mutex_lock(&p->lock);
        struct timespec until = cmn_realtime_after_ms(ok ? 5000 : 1000);
        while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

gw_dbprobe_t *gw_dbprobe_start(gw_server_t *srv, int role_checked)
{
    gw_dbprobe_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->srv = srv;
    p->role_checked = role_checked;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, probe_database, p) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

int gw_dbprobe_unfit(gw_dbprobe_t *p)
{
    return p && atomic_load(&p->unfit);
}

void gw_dbprobe_stop(gw_dbprobe_t *p)
{
    if (!p)
        return;
    cmn_thread_stop(&p->lock, &p->wake, &p->stopping, p->thread);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
