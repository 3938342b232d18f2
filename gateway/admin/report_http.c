/* GET /-/reports/soc2: evidence reports for auditors (see report_http.h). */
#include "gateway/admin/report_http.h"
#include "common/thread.h"

#include "audit/db.h"
#include "audit/report.h"
#include "common/err.h"
#include "common/log.h"
#include "gateway/authz/route_policy.h"
#include "gateway/metrics/metrics.h"

#include "gateway/auditlog/auditlog.h"
#include "gateway/auditlog/request.h"

#include "gateway/authz/authz.h"
#include "gateway/authz/policies.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- one export at a time ------------------------------------------------------------------- */

struct gw_reports {
    pthread_mutex_t mu;
    pthread_cond_t idle;
    int held;    /* the slot: a request holds it from its decision until it is complete */
    int running; /* threads making a report */
};

gw_reports_t *gw_reports_create(void)
{
    gw_reports_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->idle, NULL);
    return r;
}

void gw_reports_drain(gw_reports_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    while (r->running || r->held)
        pthread_cond_wait(&r->idle, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

void gw_reports_destroy(gw_reports_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu); /* an export thread may still be on its way out */
    while (r->running)
        pthread_cond_wait(&r->idle, &r->mu);
    pthread_mutex_unlock(&r->mu);
    pthread_cond_destroy(&r->idle);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static int slot_take(gw_reports_t *r)
{
    pthread_mutex_lock(&r->mu);
    int ok = !r->held;
    r->held = 1;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

static void slot_give(gw_reports_t *r)
{
    pthread_mutex_lock(&r->mu);
    r->held = 0;
    pthread_cond_broadcast(&r->idle);
    pthread_mutex_unlock(&r->mu);
}

/* ---- an export --------------------------------------------------------------------------------
 */

/* Shared by the request (MHD's threads), the audit writer's callback and the export thread; the
 * last of them to let go frees it. The connection is resumed only while the request holds it. */
struct gw_report_job {
    atomic_int refs;
    pthread_mutex_t mu;
    pthread_cond_t recorded_cv;
    struct MHD_Connection *conn;
    int wake_fd; /* the loop serving conn, told after the resume */
    gw_reports_t *owner;
    int recorded;  /* the report.exported event: 0 pending, 1 durable, -1 not recordable */
    int done;      /* the thread has finished: status, message, fd, size are set */
    int suspended; /* the request waits suspended and is owed a resume */
    int gone;      /* the request is complete: never resume */

    /* inputs, owned (region names borrowed from the config, which outlives every request) */
    const char *regions[64];
    pol_options_t policy_options; /* how the gateway parses its policies */
    int have_policy_options;
    int replica; /* database_url is report_database: wait for it to show the export event */
    char *database_url;
    char *org; /* NULL: every org */
    int64_t from_us, to_us;
    gw_report_format_t format;
    char request_id[33];

    /* outcome */
    unsigned status; /* 200, or the error to answer */
    const char *message;
    int fd;
    off_t size;
};

static void job_release(gw_report_job_t *j)
{
    if (atomic_fetch_sub(&j->refs, 1) != 1)
        return;
    if (j->fd >= 0)
        close(j->fd);
    pthread_cond_destroy(&j->recorded_cv);
    pthread_mutex_destroy(&j->mu);
    free(j->database_url);
    free(j->org);
    free(j);
}

/* The audit writer's thread: the report.exported event is durable (status 0), or will not be. */
static void on_recorded(void *arg, int status)
{
    gw_report_job_t *j = arg;
    pthread_mutex_lock(&j->mu);
    j->recorded = status == 0 ? 1 : -1;
    pthread_cond_signal(&j->recorded_cv);
    pthread_mutex_unlock(&j->mu);
    job_release(j);
}

static const char *file_name(gw_report_format_t f)
{
    return f == GW_REPORT_HTML ? "report.html" : f == GW_REPORT_CSV ? "events.csv" : "report.json";
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        cmn_log_warn("report", "cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* With report_database (a replica), the report must still hold its own report.exported event,
 * committed on the primary a moment ago: wait until the replica shows it, polling, for at most
 * GW_REPORT_REPLICA_WAIT_MS. Returns 0, or CMN_ERR_DB (unreachable) / CMN_ERR_TIMEOUT (behind),
 * logged. Blocks (network). */
static int wait_for_replica(const gw_report_job_t *j)
{
    char err[512];
    PGconn *db = aud_db_connect(j->database_url, "hubgate report", err, sizeof(err));
    if (!db) {
        cmn_log_error("report", "%s: report_database: %s", j->request_id, err);
        return CMN_ERR_DB;
    }
    const char *pv[1] = {j->request_id};
    int rc = CMN_ERR_TIMEOUT;
    for (int waited = 0; rc == CMN_ERR_TIMEOUT && waited <= GW_REPORT_REPLICA_WAIT_MS;
         waited += 100) {
        PGresult *r = aud_db_rows(db,
                                  "SELECT 1 FROM audit_event WHERE request_id = $1 AND kind = "
                                  "'report.exported'",
                                  1, pv, 0, "report_database", err, sizeof(err));
        if (!r) {
            cmn_log_error("report", "%s: %s", j->request_id, err);
            rc = CMN_ERR_DB;
        } else if (PQntuples(r) > 0) {
            rc = 0;
        } else {
            usleep(100 * 1000);
        }
        PQclear(r);
    }
    PQfinish(db);
    if (rc == CMN_ERR_TIMEOUT)
        cmn_log_error("report",
                      "%s: report_database has not shown this export's event after %d ms "
                      "(a replica that far behind would leave it out of the report)",
                      j->request_id, GW_REPORT_REPLICA_WAIT_MS);
    return rc;
}

/* Makes the report in a private directory and keeps the requested file open; the directory is
 * removed whatever happens (the open file stays readable until the answer is sent). */
static void make_report(gw_report_job_t *j)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], out[4200], path[4300], err[1024] = "";
    snprintf(dir, sizeof(dir), "%s/hubgate-report-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) { /* mode 0700: nobody else reads what the report holds */
        cmn_log_error("report", "%s: cannot create a temporary directory in %s: %s", j->request_id,
                      tmp && *tmp ? tmp : "/tmp", strerror(errno));
        j->status = 503;
        j->message = "the gateway cannot write the report now (temporary storage); try again";
        return;
    }
    snprintf(out, sizeof(out), "%s/report", dir);
    if (j->replica && wait_for_replica(j) != 0) {
        j->status = 503;
        j->message = "the report database (a replica) is not reachable or not caught up; try "
                     "again";
        goto out;
    }
    aud_report_options_t opts = {
        .database_url = j->database_url,
        .from_us = j->from_us,
        .to_us = j->to_us,
        .org = j->org,
        /* each policy version's embedded tests run again through the gateway's own classifier */
        .policy_route = gw_route_policy_classify,
        .policy_options = j->have_policy_options ? &j->policy_options : NULL,
    };
    int rc = aud_report_soc2(&opts, out, err, sizeof(err));
    if (rc != 0) {
        cmn_log_error("report", "%s: the report could not be made: %s (%s)", j->request_id, err,
                      cmn_err_str(rc));
        j->status = rc == CMN_ERR_DB ? 503 : 500;
        j->message = rc == CMN_ERR_DB ? "the audit database cannot be read now; try again"
                                      : "the report could not be made; the gateway's log says "
                                        "why (by this request id)";
        goto out;
    }
    snprintf(path, sizeof(path), "%s/%s", out, file_name(j->format));
    j->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (j->fd < 0 || fstat(j->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cmn_log_error("report", "%s: cannot open %s: %s", j->request_id, path, strerror(errno));
        if (j->fd >= 0)
            close(j->fd);
        j->fd = -1;
        j->status = 500;
        j->message = "the report could not be made; the gateway's log says why (by this "
                     "request id)";
        goto out;
    }
    j->size = st.st_size;
    j->status = 200;
out:
    (void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void *export_main(void *arg)
{
    gw_report_job_t *j = arg;
    gw_reports_t *owner = j->owner;
    pthread_mutex_lock(&j->mu);
    while (j->recorded == 0)
        pthread_cond_wait(&j->recorded_cv, &j->mu);
    int recorded = j->recorded;
    pthread_mutex_unlock(&j->mu);
    if (recorded > 0) {
        make_report(j);
    } else {
        j->status = 503;
        j->message = "the audit log cannot record this export now: nothing was exported; try "
                     "again";
    }
    pthread_mutex_lock(&j->mu);
    j->done = 1;
    if (j->suspended && !j->gone) {
        j->suspended = 0;
        MHD_resume_connection(j->conn);
        cmn_thread_wake(j->wake_fd);
    }
    pthread_mutex_unlock(&j->mu);
    job_release(j);
    pthread_mutex_lock(&owner->mu);
    owner->running--;
    pthread_cond_broadcast(&owner->idle);
    pthread_mutex_unlock(&owner->mu);
    return NULL;
}

/* ---- the route --------------------------------------------------------------------------------
 */

static const char *content_type(gw_report_format_t f)
{
    return f == GW_REPORT_HTML  ? "text/html; charset=utf-8"
           : f == GW_REPORT_CSV ? "text/csv; charset=utf-8"
                                : "application/json";
}

/* The export is done: the file, or why not. */
static enum MHD_Result answer_export(gw_request_t *req, struct MHD_Connection *conn)
{
    gw_report_job_t *j = req->report;
    if (j->status != 200)
        return gw_request_error(req, conn, j->status, NULL, j->message);
    /* MHD reads the file as the client takes it (sendfile without TLS): memory stays flat. */
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)j->size, j->fd);
    if (!r)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    j->fd = -1; /* the response closes it */
    char from[32], to[32], disposition[256];
    time_t f = (time_t)(j->from_us / 1000000), t = (time_t)(j->to_us / 1000000);
    struct tm tm;
    strftime(from, sizeof(from), "%Y%m%dT%H%M%SZ", gmtime_r(&f, &tm));
    strftime(to, sizeof(to), "%Y%m%dT%H%M%SZ", gmtime_r(&t, &tm));
    const char *ext = j->format == GW_REPORT_HTML  ? "html"
                      : j->format == GW_REPORT_CSV ? "csv"
                                                   : "json";
    /* org names are [A-Za-z0-9._-]: nothing to quote */
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"soc2-%s-%s-%s.%s\"",
             j->org ? j->org : "all-orgs", from, to, ext);
    MHD_add_response_header(r, "Content-Type", content_type(j->format));
    MHD_add_response_header(r, "Content-Disposition", disposition);
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* The report shows what callers sent (paths, user agents): should any of it ever slip
     * through the report's escaping, opened from this origin it still runs nothing, loads
     * nothing and reaches nothing of the gateway's. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                            "sandbox; base-uri 'none'; form-action 'none'");
    req->status = 200;
    req->phase = GW_PHASE_ANSWERED;
    if (req->audit) {
        aud_event_t ev;
        gw_request_event(req, &ev, AUD_KIND_REQUEST, 200);
        gw_auditlog_note(req->audit, &ev);
    }
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* Answers once the export is done; until then the connection waits suspended. */
static enum MHD_Result poll_export(gw_request_t *req, struct MHD_Connection *conn)
{
    gw_report_job_t *j = req->report;
    pthread_mutex_lock(&j->mu);
    int done = j->done;
    if (!done) {
        j->suspended = 1;
        MHD_suspend_connection(conn);
    }
    pthread_mutex_unlock(&j->mu);
    return done ? answer_export(req, conn) : MHD_YES;
}

/* Queues the report.exported event and starts the export's thread. Returns 0, or a cmn_err_t
 * with *message (nothing was started; the slot is given back). */
static int start_export(gw_request_t *req, struct MHD_Connection *conn, const gw_report_query_t *q,
                        const char **message)
{
    gw_server_t *srv = req->srv;
    gw_report_job_t *j = calloc(1, sizeof(*j));
    const char *org = req->decision.org; /* the org the policy matched, as it spells it */
    if (!j)
        goto nomem;
    atomic_init(&j->refs, 1);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->recorded_cv, NULL);
    j->conn = conn;
    j->wake_fd = req->wake_fd;
    j->owner = srv->reports;
    j->fd = -1;
    j->from_us = q->from_us;
    j->to_us = q->to_us;
    j->format = q->format;
    snprintf(j->request_id, sizeof(j->request_id), "%s", req->request_id);
    const gw_config_t *cfg = srv->cfg;
    if (cfg->n_regions <= sizeof(j->regions) / sizeof(j->regions[0])) {
        for (size_t i = 0; i < cfg->n_regions; i++)
            j->regions[i] = cfg->regions[i].name;
        j->policy_options.regions = j->regions;
        j->policy_options.nregions = cfg->n_regions;
        j->policy_options.default_region = cfg->regions[cfg->default_region].name;
        j->have_policy_options = 1;
    }
    j->database_url = strdup(cfg->report_database ? cfg->report_database : cfg->database);
    j->replica = cfg->report_database && srv->audit;
    j->org = org ? strdup(org) : NULL;
    if (!j->database_url || (org && !j->org))
        goto nomem;

    /* The privileged action's record, durable before anything is exported. */
    if (srv->audit) {
        aud_event_t ev;
        char from[28], to[28];
        gw_request_event(req, &ev, AUD_KIND_REPORT_EXPORTED, 0);
        ev.decision.effect = "allow";
        aud_time_format(q->from_us, from);
        aud_time_format(q->to_us, to);
        aud_event_detail_str(&ev, "from", from);
        aud_event_detail_str(&ev, "to", to);
        aud_event_detail_str(&ev, "scope", org ? "org" : "all");
        if (org)
            aud_event_detail_str(&ev, "org", org);
        aud_event_detail_str(&ev, "format",
                             q->format == GW_REPORT_HTML  ? "html"
                             : q->format == GW_REPORT_CSV ? "csv"
                                                          : "json");
        atomic_fetch_add(&j->refs, 1); /* the writer's callback */
        int rc = aud_writer_submit(srv->audit, &ev, on_recorded, j);
        if (rc != 0) {
            atomic_fetch_sub(&j->refs, 1);
            cmn_log_warn("report", "%s: the audit log cannot record report.exported: %s",
                         req->request_id, cmn_err_str(rc));
            job_release(j);
            *message = "the audit log cannot record this export now: nothing was exported; try "
                       "again";
            return CMN_ERR_UNAVAILABLE;
        }
    } else {
        j->recorded = 1; /* audit.mode off (benchmarks): nothing to wait for */
    }

    pthread_mutex_lock(&j->owner->mu);
    j->owner->running++;
    pthread_mutex_unlock(&j->owner->mu);
    atomic_fetch_add(&j->refs, 1); /* the thread's */
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int started = pthread_create(&thread, &attr, export_main, j) == 0;
    pthread_attr_destroy(&attr);
    if (!started) {
        pthread_mutex_lock(&j->owner->mu);
        j->owner->running--;
        pthread_cond_broadcast(&j->owner->idle);
        pthread_mutex_unlock(&j->owner->mu);
        atomic_fetch_sub(&j->refs, 1);
        cmn_log_error("report", "%s: cannot start the export's thread", req->request_id);
        job_release(j); /* the writer's callback keeps it alive until it has run */
        *message = "the gateway cannot make a report now; try again";
        return CMN_ERR_UNAVAILABLE;
    }
    cmn_log_info("report", "%s: %s exports the %s report of %s", req->request_id,
                 gw_identity_principal(&req->identity, &req->arena),
                 q->format == GW_REPORT_HTML  ? "html"
                 : q->format == GW_REPORT_CSV ? "csv"
                                              : "json",
                 org ? org : "every org");
    req->report = j;
    return 0;
nomem:
    if (j)
        job_release(j);
    *message = "out of memory";
    return CMN_ERR_NOMEM;
}

enum MHD_Result gw_report_http_answer(gw_request_t *req, struct MHD_Connection *conn)
{
    if (req->report)
        return poll_export(req, conn); /* resumed: the export is done */
    if (req->identity.kind == GW_ID_ANONYMOUS)
        return gw_request_error(req, conn, 401, NULL,
                                "Invalid credentials in Authorization header");
    if (strcmp(req->method, "GET") != 0)
        return gw_request_error(req, conn, 405, NULL, "Method Not Allowed");
    gw_report_query_t q;
    char problem[384];
    int rc = gw_report_query_parse(req->target, req->target_len, &req->arena, &q, problem,
                                   sizeof(problem));
    if (rc == CMN_ERR_NOMEM)
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    if (rc == 0 && (!q.has_from || !q.has_to)) {
        snprintf(problem, sizeof(problem),
                 "from and to are required, e.g. ?from=2024-01-01&to=2024-04-01 (to exclusive)");
        rc = CMN_ERR_PARSE;
    }
    if (rc != 0) {
        const char *msg = cmn_arena_strndup(&req->arena, problem, strlen(problem));
        return gw_request_error(req, conn, 400, NULL, msg ? msg : "bad query");
    }

    /* Who may export which report: the policy's word, like any decision. */
    req->policy = gw_policies_live(req->srv->policies, NULL);
    pol_subject_t subject;
    gw_authz_subject(&req->identity, &subject);
    pol_ip_t ip;
    int have_ip = pol_ip_parse(req->client_ip, &ip) == 0;
    pol_decide_report(req->policy, &subject, q.org, have_ip ? &ip : NULL, time(NULL),
                      &req->decision);
    req->decided = 1;
    if (req->decision.effect != POL_ALLOW) {
        gw_metrics_denial(gw_authz_denial_class(&req->decision));
        if (req->decision.answer == POL_ANSWER_FORBIDDEN)
            return gw_request_error(req, conn, 403, NULL, req->decision.reason);
        return gw_request_error(req, conn, 404, NULL, "Not Found");
    }
    if (!req->srv->reports || !slot_take(req->srv->reports))
        return gw_request_error(req, conn, 429, NULL,
                                "another report is being exported through this gateway; try "
                                "again when it is done");
    const char *msg = NULL;
    int err = start_export(req, conn, &q, &msg);
    if (err) {
        slot_give(req->srv->reports);
        return gw_request_fail(req, conn, err, msg);
    }
    return poll_export(req, conn);
}

void gw_report_http_done(gw_request_t *req)
{
    gw_report_job_t *j = req->report;
    if (!j)
        return;
    req->report = NULL;
    gw_reports_t *owner = j->owner;
    pthread_mutex_lock(&j->mu);
    j->gone = 1;
    j->suspended = 0;
    pthread_mutex_unlock(&j->mu);
    job_release(j);
    slot_give(owner);
}
