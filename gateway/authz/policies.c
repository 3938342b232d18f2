#include "gateway/authz/policies.h"
#include "common/thread.h"

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "gateway/authz/route_policy.h"
#include "common/sha256.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define WATCH_INTERVAL_MS 1000

typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id_t;

struct gw_policies {
    const gw_config_t *cfg;
    pthread_mutex_t mu; /* guards the pointers; held only to swap or to take a reference */
    pol_policy_t *live, *shadow;
    const char **region_names;
    pol_options_t opts;

    pthread_mutex_t reload_mu; /* one reload at a time (SIGHUP and the watcher) */
    file_id_t live_id, shadow_id;

    pthread_t watcher;
    pthread_mutex_t wmu;
    pthread_cond_t wcond;
    int stopping;

    gw_policy_event_cb on_event;
    void *ctx;
};

static int identify(const char *path, file_id_t *out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    *out = (file_id_t){st.st_dev, st.st_ino, st.st_size, st.st_mtim};
    return 0;
}

static int same_file(const file_id_t *a, const file_id_t *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Loads and validates a file: parse, compile, embedded tests. NULL with errors appended. */
static pol_policy_t *load(const pol_options_t *opts, const char *path, cmn_buf_t *errors)
{
    pol_policy_t *p = pol_policy_load(path, opts, errors);
    if (!p)
        return NULL;
    pol_test_result_t result = {0, 0};
    int rc = pol_policy_run_tests(p, gw_route_policy_classify, NULL, 0, errors, &result);
    if (rc != 0) {
        if (rc == 1)
            cmn_buf_printf(errors, "%s: %zu of %zu embedded tests failed\n", path, result.failed,
                           result.passed + result.failed);
        pol_policy_unref(p);
        return NULL;
    }
    return p;
}

static void options(const gw_config_t *cfg, const char **names, pol_options_t *opts)
{
    for (size_t i = 0; i < cfg->n_regions; i++)
        names[i] = cfg->regions[i].name;
    opts->regions = names;
    opts->nregions = cfg->n_regions;
    opts->default_region = cfg->regions[cfg->default_region].name;
}

int gw_policies_check_file(const gw_config_t *cfg, const char *path, cmn_buf_t *errors)
{
    const char *names[64];
    if (cfg->n_regions > 64)
        return CMN_ERR_TOOBIG;
    pol_options_t opts;
    options(cfg, names, &opts);
    pol_policy_t *p = load(&opts, path, errors);
    pol_policy_unref(p);
    return p ? 0 : CMN_ERR_PARSE;
}

static void log_errors(const char *what, const cmn_buf_t *errors)
{
    const char *p = errors->data ? errors->data : "";
    while (*p) {
        size_t n = strcspn(p, "\n");
        cmn_log_error("policy", "%s: %.*s", what, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* The SHA-256 of a refused file's bytes, so that its event names what was refused. "" when
 * it cannot be read. */
static void file_sha256(const char *path, char out[CMN_SHA256_HEX])
{
    cmn_buf_t b;
    cmn_buf_init(&b, POL_MAX_POLICY_BYTES);
    out[0] = '\0';
    if (cmn_buf_read_file(&b, path) == 0)
        cmn_sha256_hex(b.data ? b.data : "", b.len, out);
    cmn_buf_free(&b);
}

/* Reloads one of the two files if it changed (or when forced). Returns 1 on a swap. */
static int reload_one(gw_policies_t *ps, int shadow, int force, const char *trigger)
{
    const char *path = shadow ? ps->cfg->shadow : ps->cfg->policy;
    file_id_t *known = shadow ? &ps->shadow_id : &ps->live_id;
    file_id_t now;
    if (!path || identify(path, &now) != 0)
        return 0;
    if (!force && same_file(&now, known))
        return 0;
    *known = now;
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1024 * 1024);
    pol_policy_t *p = load(&ps->opts, path, &errors);
    pol_policy_t **slot = shadow ? &ps->shadow : &ps->live;
    char old_sha[65] = "";
    pthread_mutex_lock(&ps->mu);
    if (*slot)
        snprintf(old_sha, sizeof(old_sha), "%s", pol_policy_sha256(*slot));
    pthread_mutex_unlock(&ps->mu); /* only reloads change the slot, and they hold reload_mu */
    int swapped = 0;
    pol_policy_t *old = NULL;
    if (p && strcmp(old_sha, pol_policy_sha256(p)) != 0) {
        /* Recorded first, swapped after: a policy nobody can find in the log never decides. */
        const char *new_sha = pol_policy_sha256(p);
        gw_policy_event_t ev = {1, shadow, path, trigger, old_sha, new_sha, ""};
        if (ps->on_event && ps->on_event(ps->ctx, &ev) != 0) {
            cmn_log_error("policy",
                          "%s%s (sha256 %s) not loaded: the audit log cannot record the change; "
                          "the previous policy stays, and the file is tried again at the next "
                          "check",
                          shadow ? "shadow " : "", path, new_sha);
            memset(known, 0, sizeof(*known)); /* no file matches: the watcher retries */
        } else {
            pthread_mutex_lock(&ps->mu);
            old = *slot;
            *slot = p;
            p = NULL;
            pthread_mutex_unlock(&ps->mu);
            swapped = 1;
            cmn_log_info("policy", "%s%s loaded: sha256 %s (was %s)", shadow ? "shadow " : "",
                         path, new_sha, old_sha[0] ? old_sha : "none");
        }
    } else if (!p && errors.len) {
        log_errors(shadow ? "shadow policy refused, the previous one stays" :
                            "policy refused, the previous one stays", &errors);
        char refused_sha[CMN_SHA256_HEX];
        file_sha256(path, refused_sha);
        gw_policy_event_t ev = {0, shadow, path, trigger, old_sha, refused_sha, errors.data};
        if (ps->on_event)
            ps->on_event(ps->ctx, &ev);
    }
    pol_policy_unref(p);
    pol_policy_unref(old); /* in-flight requests keep theirs until they finish */
    cmn_buf_free(&errors);
    return swapped;
}

int gw_policies_reload(gw_policies_t *ps, const char *trigger)
{
    pthread_mutex_lock(&ps->reload_mu);
    int swapped = reload_one(ps, 0, 1, trigger);
    if (ps->cfg->shadow)
        swapped |= reload_one(ps, 1, 1, trigger);
    pthread_mutex_unlock(&ps->reload_mu);
    return swapped;
}

static void *watch(void *arg)
{
    gw_policies_t *ps = arg;
    pthread_mutex_lock(&ps->wmu);
    while (!ps->stopping) {
        struct timespec until = cmn_realtime_after_ms(WATCH_INTERVAL_MS);
        pthread_cond_timedwait(&ps->wcond, &ps->wmu, &until);
        if (ps->stopping)
            break;
        pthread_mutex_unlock(&ps->wmu);
        pthread_mutex_lock(&ps->reload_mu);
        reload_one(ps, 0, 0, "file_change");
        if (ps->cfg->shadow)
            reload_one(ps, 1, 0, "file_change");
        pthread_mutex_unlock(&ps->reload_mu);
        pthread_mutex_lock(&ps->wmu);
    }
    pthread_mutex_unlock(&ps->wmu);
    return NULL;
}

gw_policies_t *gw_policies_start(const gw_config_t *cfg, cmn_buf_t *errors,
                                 gw_policy_event_cb on_event, void *ctx)
{
    gw_policies_t *ps = calloc(1, sizeof(*ps));
    if (!ps || !(ps->region_names = calloc(cfg->n_regions + 1, sizeof(char *)))) {
        free(ps);
        return NULL;
    }
    ps->cfg = cfg;
    ps->on_event = on_event;
    ps->ctx = ctx;
    options(cfg, ps->region_names, &ps->opts);
    pthread_mutex_init(&ps->mu, NULL);
    pthread_mutex_init(&ps->reload_mu, NULL);
    pthread_mutex_init(&ps->wmu, NULL);
    pthread_cond_init(&ps->wcond, NULL);
    identify(cfg->policy, &ps->live_id);
    ps->live = load(&ps->opts, cfg->policy, errors);
    if (!ps->live)
        goto fail;
    if (cfg->shadow) {
        identify(cfg->shadow, &ps->shadow_id);
        cmn_buf_t serr;
        cmn_buf_init(&serr, 1024 * 1024);
        ps->shadow = load(&ps->opts, cfg->shadow, &serr);
        if (!ps->shadow)
            log_errors("shadow policy refused", &serr); /* the live policy still serves */
        cmn_buf_free(&serr);
    }
    /* No request is decided before the load is in the audit log. */
    gw_policy_event_t live = {1, 0, cfg->policy, "start", "", pol_policy_sha256(ps->live), ""};
    gw_policy_event_t shadow = {
        1, 1, cfg->shadow, "start", "", ps->shadow ? pol_policy_sha256(ps->shadow) : "", ""};
    if (on_event && (on_event(ctx, &live) != 0 || (ps->shadow && on_event(ctx, &shadow) != 0))) {
        cmn_buf_printf(errors, "%s: the audit log cannot record the policy's load: not "
                               "starting\n",
                       cfg->policy);
        goto fail;
    }
    if (pthread_create(&ps->watcher, NULL, watch, ps) != 0)
        goto fail;
    return ps;
fail:
    pol_policy_unref(ps->live);
    pol_policy_unref(ps->shadow);
    free(ps->region_names);
    free(ps);
    return NULL;
}

void gw_policies_stop(gw_policies_t *ps)
{
    if (!ps)
        return;
    cmn_thread_stop(&ps->wmu, &ps->wcond, &ps->stopping, ps->watcher);
    pol_policy_unref(ps->live);
    pol_policy_unref(ps->shadow);
    pthread_mutex_destroy(&ps->mu);
    pthread_mutex_destroy(&ps->reload_mu);
    pthread_mutex_destroy(&ps->wmu);
    pthread_cond_destroy(&ps->wcond);
    free(ps->region_names);
    free(ps);
}

pol_policy_t *gw_policies_live(gw_policies_t *ps, pol_policy_t **shadow)
{
    pthread_mutex_lock(&ps->mu);
    pol_policy_t *p = pol_policy_ref(ps->live);
    if (shadow)
        *shadow = ps->shadow ? pol_policy_ref(ps->shadow) : NULL;
    pthread_mutex_unlock(&ps->mu);
    return p;
}
