#include "gateway/authn/deprovisioned.h"

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DIRECTORY_MAX 256

/* A sorted list of the refused keys: "s:<externalId>" and "e:<lower-case userName>". */
typedef struct {
    char **keys;
    size_t n;
} set_t;

struct gw_deprovisioned {
    gw_store_t *store;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    set_t set;
    char version[32]; /* the directory_version seen at the last load */
    int loaded;       /* a load succeeded: until then nobody can be told apart */
    int stopping;
    pthread_t thread;
};

static void set_free(set_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    s->keys = NULL;
    s->n = 0;
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads the set when the directory's version moved (or force). 0, or CMN_ERR_DB. */
static int load(gw_deprovisioned_t *d, int force)
{
    PGconn *c = gw_store_acquire(d->store);
    PGresult *v = gw_store_query(d->store, c, "reading the directory's version",
                                 "SELECT last_value::text FROM directory_version", 0, NULL, NULL,
                                 NULL);
    int rc = v && PQntuples(v) == 1 ? 0 : CMN_ERR_DB;
    char version[32] = "";
    if (rc == 0)
        snprintf(version, sizeof(version), "%s", PQgetvalue(v, 0, 0));
    PQclear(v);
    pthread_mutex_lock(&d->mu);
    int same = rc == 0 && !force && strcmp(version, d->version) == 0;
    pthread_mutex_unlock(&d->mu);
    if (rc || same) {
        gw_store_release(d->store, c);
        return rc;
    }
    /* A deactivated or deleted person, unless the same sub or userName is active again in
     * another row (deleted and created anew). */
    PGresult *res = gw_store_query(
        d->store, c, "reading the deprovisioned",
        "SELECT 's:' || external_id FROM directory_user u WHERE external_id IS NOT NULL AND (NOT "
        "active OR deleted_at IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM directory_user a WHERE "
        "a.deleted_at IS NULL AND a.active AND a.external_id = u.external_id) "
        "UNION SELECT 'e:' || lower(user_name) FROM directory_user u WHERE (NOT active OR "
        "deleted_at IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM directory_user a WHERE "
        "a.deleted_at IS NULL AND a.active AND lower(a.user_name) = lower(u.user_name))",
        0, NULL, NULL, NULL);
    gw_store_release(d->store, c);
    if (!res)
        return CMN_ERR_DB;
    set_t fresh = {calloc((size_t)PQntuples(res) + 1, sizeof(char *)), 0};
    for (int i = 0; fresh.keys && i < PQntuples(res); i++) {
        if (!(fresh.keys[fresh.n] = strdup(PQgetvalue(res, i, 0))))
            break;
        fresh.n++;
    }
    int complete = fresh.keys && fresh.n == (size_t)PQntuples(res);
    PQclear(res);
    if (!complete) {
        set_free(&fresh);
        return CMN_ERR_NOMEM; /* the old set stays: never a smaller one by accident */
    }
    qsort(fresh.keys, fresh.n, sizeof(char *), compare);
    pthread_mutex_lock(&d->mu);
    set_t old = d->set;
    d->set = fresh;
    d->loaded = 1;
    snprintf(d->version, sizeof(d->version), "%s", version);
    pthread_mutex_unlock(&d->mu);
    set_free(&old);
    return 0;
}

static void *run(void *arg)
{
    gw_deprovisioned_t *d = arg;
    int failing = 0;
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        struct timespec until = cmn_realtime_after_ms(GW_DEPROVISIONED_POLL_MS);
        pthread_cond_timedwait(&d->wake, &d->mu, &until);
        if (d->stopping)
            break;
        pthread_mutex_unlock(&d->mu);
        int rc = load(d, 0);
        if (rc && !failing)
            cmn_log_warn("directory", "cannot read the deprovisioned people (%s): keeping the "
                                      "last set",
                         cmn_err_str(rc));
        failing = rc != 0;
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

gw_deprovisioned_t *gw_deprovisioned_start(gw_store_t *store)
{
    gw_deprovisioned_t *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->store = store;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (load(d, 1) != 0)
        cmn_log_warn("directory", "cannot read the deprovisioned people yet: retrying");
    if (pthread_create(&d->thread, NULL, run, d) != 0) {
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->mu);
        set_free(&d->set);
        free(d);
        return NULL;
    }
    return d;
}

void gw_deprovisioned_stop(gw_deprovisioned_t *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = 1;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->mu);
    set_free(&d->set);
    free(d);
}

int gw_deprovisioned_reload(gw_deprovisioned_t *d)
{
    return d ? load(d, 1) : 0;
}

static int has(const set_t *s, const char *key)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, s->keys[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

int gw_deprovisioned_refuses(gw_deprovisioned_t *d, const gw_identity_t *id)
{
    if (!d)
        return 0;
    if (!id->sub)
        return 0;
    /* directory values are at most DIRECTORY_MAX bytes (schema 007): a longer claim ties to none */
    char key[DIRECTORY_MAX + 3];
    int refused = 0;
    pthread_mutex_lock(&d->mu);
    if (!d->loaded) {
        pthread_mutex_unlock(&d->mu);
        return -1; /* never read (the database away since the start): fail closed */
    }
    if (d->set.n) {
        if (strlen(id->sub) <= DIRECTORY_MAX) {
            snprintf(key, sizeof(key), "s:%s", id->sub);
            refused = has(&d->set, key);
        }
        if (!refused && id->email && id->email_verified && strlen(id->email) <= DIRECTORY_MAX) {
            size_t n = strlen(id->email);
            key[0] = 'e';
            key[1] = ':';
            for (size_t i = 0; i < n; i++)
                key[2 + i] = (char)tolower((unsigned char)id->email[i]);
            key[2 + n] = '\0';
            refused = has(&d->set, key);
        }
    }
    pthread_mutex_unlock(&d->mu);
    return refused;
}
