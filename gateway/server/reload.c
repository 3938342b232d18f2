/* SIGHUP's key reload: contract in reload.h. */
#include "gateway/server/reload.h"
#include "gateway/server/tls.h"

#include "common/err.h"
#include "common/log.h"

#include "gateway/authn/assertion.h"
#include "gateway/forward/egress.h"
#include "gateway/server/check.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "reload"

struct gw_reload {
    gw_server_t *srv;
    aud_writer_t *const *writers;
    size_t nwriters;
    /* Where the keys in use came from: a file, or drawn at start (NULL in the config), which
     * only a key file replaces. */
    int egress_from_file, assertion_from_file;
    gw_egress_keys_t *egress_retired[GW_RELOAD_MAX_RETIRED];
    size_t n_egress_retired;
    gw_assertion_t *assertion_retired[GW_RELOAD_MAX_RETIRED];
    size_t n_assertion_retired;
};

gw_reload_t *gw_reload_create(gw_server_t *srv, aud_writer_t *const *writers, size_t n)
{
    gw_reload_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->srv = srv;
    r->writers = writers;
    r->nwriters = n;
    r->egress_from_file = srv->cfg->egress_key_file != NULL;
    r->assertion_from_file = srv->cfg->assertion_key != NULL;
    return r;
}

void gw_reload_destroy(gw_reload_t *r)
{
    if (!r)
        return;
    gw_egress_keys_free((gw_egress_keys_t *)atomic_load(&r->srv->egress_keys));
    atomic_store(&r->srv->egress_keys, NULL);
    gw_assertion_destroy(atomic_load(&r->srv->assertion));
    atomic_store(&r->srv->assertion, NULL);
    for (size_t i = 0; i < r->n_egress_retired; i++)
        gw_egress_keys_free(r->egress_retired[i]);
    for (size_t i = 0; i < r->n_assertion_retired; i++)
        gw_assertion_destroy(r->assertion_retired[i]);
    free(r);
}

/* keys.rotated: which key, the key ids before and after. Made durable before the change is
 * applied, like a policy load (an egress or assertion key is swapped only on 0); the audit
 * key's after its writers took it. With audit.mode off there is nothing to record. */
static int rotated_event(gw_reload_t *r, const char *purpose, const char *const *from, size_t nfrom,
                         const char *const *to, size_t nto)
{
    if (!r->srv->audit)
        return 0;
    aud_event_t ev;
    aud_event_init(&ev, AUD_KIND_KEYS_ROTATED);
    /* "key" names a credential to the encoder: the detail is the key's purpose */
    aud_event_detail_str(&ev, "purpose", purpose);
    aud_event_detail_list(&ev, "from", from, nfrom);
    aud_event_detail_list(&ev, "to", to, nto);
    aud_event_detail_str(&ev, "trigger", "sighup");
    int rc = aud_writer_append(r->srv->audit, &ev);
    if (rc != 0)
        cmn_log_error(LOG, "the audit log cannot record the %s key rotation: %s", purpose,
                      cmn_err_str(rc));
    return rc;
}

/* The ids of a set of egress keys, the current key's first. */
static size_t egress_ids(const gw_egress_keys_t *k, char ids[][17], const char **ptrs)
{
    size_t n = 0;
    gw_egress_key_id(&k->current, ids[n]);
    ptrs[n] = ids[n];
    n++;
    for (size_t i = 0; i < k->n_previous; i++, n++) {
        gw_egress_key_id(&k->previous[i], ids[n]);
        ptrs[n] = ids[n];
    }
    return n;
}

/* Loads what cfg says of the egress keys into *out (NULL: nothing to change). Returns 0, or -1
 * after logging why. */
static int load_egress(gw_reload_t *r, const gw_config_t *cfg, gw_egress_keys_t **out)
{
    *out = NULL;
    if (!cfg->egress_key_file) {
        if (r->egress_from_file)
            cmn_log_warn(LOG, "egress_key_file is no longer set: the key in use stays until the "
                              "next start");
        return 0;
    }
    char err[512];
    *out = gw_egress_keys_new(cfg->egress_key_file, cfg->egress_previous_key_files,
                              cfg->n_egress_previous_key_files, err, sizeof(err));
    if (!*out)
        cmn_log_error(LOG, "egress keys: %s", err);
    return *out ? 0 : -1;
}

/* Loads what cfg says of the identity assertion into *out (NULL: nothing to change). */
static int load_assertion(gw_reload_t *r, const gw_config_t *cfg, gw_assertion_t **out)
{
    *out = NULL;
    if (!cfg->assertion_key) {
        if (r->assertion_from_file)
            cmn_log_warn(LOG, "identity.assertion_key is no longer set: the key in use stays "
                              "until the next start");
        return 0;
    }
    /* A new object: its reuse cache starts empty, so nothing signed by the old key is handed
     * out under the new one. */
    *out = gw_assertion_create_keys(cfg->assertion_key, cfg->assertion_published_keys,
                                    cfg->n_assertion_published_keys, r->srv->cfg->public_url);
    return *out ? 0 : -1; /* the reason is logged */
}

static int apply_egress(gw_reload_t *r, gw_egress_keys_t *k)
{
    const gw_egress_keys_t *cur = atomic_load(&r->srv->egress_keys);
    if (gw_egress_keys_equal(cur, k)) {
        gw_egress_keys_free(k);
        return 0;
    }
    char from_ids[1 + GW_EGRESS_MAX_PREVIOUS_KEYS][17], to_ids[1 + GW_EGRESS_MAX_PREVIOUS_KEYS][17];
    const char *from[1 + GW_EGRESS_MAX_PREVIOUS_KEYS], *to[1 + GW_EGRESS_MAX_PREVIOUS_KEYS];
    size_t nfrom = egress_ids(cur, from_ids, from), nto = egress_ids(k, to_ids, to);
    if (r->n_egress_retired == GW_RELOAD_MAX_RETIRED) {
        cmn_log_error(LOG,
                      "egress keys: %d sets retired since the start: restart hubgate to "
                      "rotate again (the keys in use stay)",
                      GW_RELOAD_MAX_RETIRED);
    } else if (rotated_event(r, "egress", from, nfrom, to, nto) == 0) {
        r->egress_retired[r->n_egress_retired++] = (gw_egress_keys_t *)cur;
        atomic_store(&r->srv->egress_keys, k);
        r->egress_from_file = 1;
        cmn_log_info(LOG, "egress keys: sealing with %s, opening also with %zu previous key%s",
                     to[0], k->n_previous, k->n_previous == 1 ? "" : "s");
        return 1;
    }
    gw_egress_keys_free(k);
    return 0;
}

static int apply_assertion(gw_reload_t *r, gw_assertion_t *a)
{
    gw_assertion_t *cur = atomic_load(&r->srv->assertion);
    if (gw_assertion_same_keys(cur, a)) {
        gw_assertion_destroy(a);
        return 0;
    }
    const char *from[1 + GW_ASSERTION_MAX_PUBLISHED], *to[1 + GW_ASSERTION_MAX_PUBLISHED];
    size_t nfrom = gw_assertion_key_ids(cur, from, 1 + GW_ASSERTION_MAX_PUBLISHED);
    size_t nto = gw_assertion_key_ids(a, to, 1 + GW_ASSERTION_MAX_PUBLISHED);
    if (r->n_assertion_retired == GW_RELOAD_MAX_RETIRED) {
        cmn_log_error(LOG,
                      "identity assertion: %d keys retired since the start: restart "
                      "hubgate to rotate again (the keys in use stay)",
                      GW_RELOAD_MAX_RETIRED);
    } else if (rotated_event(r, "identity_assertion", from, nfrom, to, nto) == 0) {
        r->assertion_retired[r->n_assertion_retired++] = cur;
        atomic_store(&r->srv->assertion, a);
        r->assertion_from_file = 1;
        cmn_log_info(LOG, "identity assertion: signing with kid %s, %zu more key%s published",
                     to[0], nto - 1, nto == 2 ? "" : "s");
        return 1;
    }
    gw_assertion_destroy(a);
    return 0;
}

/* Each writer rotates at its own head, all of them at once; one event names the keys of
 * those that did. */
static int apply_audit(gw_reload_t *r, const char *path)
{
    char from_ids[GW_MAX_EVENT_LOOPS][17], to_id[17] = "", err[512];
    char old_ids[GW_MAX_EVENT_LOOPS][17], new_id[17];
    int asked[GW_MAX_EVENT_LOOPS] = {0};
    const char *from[GW_MAX_EVENT_LOOPS];
    size_t n = r->nwriters < GW_MAX_EVENT_LOOPS ? r->nwriters : GW_MAX_EVENT_LOOPS;
    size_t nfrom = 0, rotated = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!r->writers[i])
            continue;
        int rc =
            aud_writer_rotate_key_start(r->writers[i], path, old_ids[i], new_id, err, sizeof(err));
        asked[i] = rc == 0;
        if (rc < 0) {
            cmn_log_error(LOG, "audit signing key (event loop %zu's stream): %s", i, err);
            failed++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!asked[i])
            continue;
        if (aud_writer_rotate_key_wait(r->writers[i], err, sizeof(err)) != 0) {
            cmn_log_error(LOG, "audit signing key (event loop %zu's stream): %s", i, err);
            failed++;
            continue;
        }
        rotated++;
        snprintf(to_id, sizeof(to_id), "%s", new_id);
        int seen = 0;
        for (size_t k = 0; k < nfrom; k++)
            seen |= strcmp(from[k], old_ids[i]) == 0;
        if (!seen) {
            snprintf(from_ids[nfrom], sizeof(from_ids[nfrom]), "%s", old_ids[i]);
            from[nfrom] = from_ids[nfrom];
            nfrom++;
        }
    }
    if (!rotated)
        return 0;
    const char *to[1] = {to_id};
    (void)rotated_event(r, "audit_signing", from, nfrom, to, 1);
    cmn_log_info(LOG, "audit signing key %s in use by %zu stream%s%s", to_id, rotated,
                 rotated == 1 ? "" : "s",
                 failed ? " (the others keep the old key: see above)" : "");
    return 1;
}

/* The listener's certificate and key as cfg names them (NULL: nothing to change: no TLS, or
 * the same pair). The listener's scheme is fixed at start. Returns 0, or -1 after logging. */
static int load_tls(const gw_config_t *running, const gw_config_t *cfg, gw_tls_pair_t **out)
{
    *out = NULL;
    if (!running->tls_cert || !cfg->tls_cert) {
        if (!running->tls_cert != !cfg->tls_cert)
            cmn_log_warn(LOG,
                         "tls is %s in the config: the listener's scheme changes at the "
                         "next start",
                         cfg->tls_cert ? "set" : "no longer set");
        return 0;
    }
    gw_tls_pair_t *p = gw_tls_read(cfg->tls_cert, cfg->tls_key);
    if (!p)
        return -1;
    if (gw_tls_same(p)) {
        gw_tls_discard(p);
        return 0;
    }
    *out = p;
    return 0;
}

/* A new certificate: recorded, then presented to the next handshakes. 1 when applied. */
static int apply_tls(gw_reload_t *r, gw_tls_pair_t *p)
{
    const char *from[1] = {gw_tls_in_force_id()}, *to[1] = {gw_tls_pair_id(p)};
    if (rotated_event(r, "tls_certificate", from, 1, to, 1) != 0) {
        cmn_log_error(LOG, "the TLS certificate stays %s: its change cannot be recorded", from[0]);
        gw_tls_discard(p);
        return 0;
    }
    gw_tls_install(p);
    return 1;
}

void gw_reload_keys(gw_reload_t *r)
{
    const gw_config_t *running = r->srv->cfg;
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1024 * 1024);
    gw_config_t *cfg = gw_config_load(running->path, &errors);
    if (!cfg) {
        const char *e = errors.data ? errors.data : "cannot read it";
        cmn_log_error(LOG, "the config %s is invalid, nothing reloaded: %.*s%s", running->path,
                      (int)strcspn(e, "\n"), e,
                      strchr(e, '\n') && strchr(e, '\n')[1] ? " (and more)" : "");
        cmn_buf_free(&errors);
        return;
    }
    cmn_buf_free(&errors);
    /* Every key file loaded before anything changes: all of them, or none. */
    gw_egress_keys_t *egress = NULL;
    gw_assertion_t *assertion = NULL;
    gw_tls_pair_t *tls = NULL;
    if (gw_check_secret_files(cfg) != 0 || load_egress(r, cfg, &egress) != 0 ||
        load_assertion(r, cfg, &assertion) != 0 || load_tls(running, cfg, &tls) != 0) {
        cmn_log_error(LOG, "a key file of %s is unfit (above), nothing reloaded", running->path);
        gw_egress_keys_free(egress);
        gw_assertion_destroy(assertion);
        gw_tls_discard(tls);
        gw_config_free(cfg);
        return;
    }
    char differ[512];
    if (gw_config_settings_differ(running, cfg, differ, sizeof(differ)) > 0)
        cmn_log_warn(LOG, "changed in %s, taking effect at the next start: %s", running->path,
                     differ);
    int egress_changed = egress && apply_egress(r, egress);
    int assertion_changed = assertion && apply_assertion(r, assertion);
    int audit_changed = cfg->audit.signing_key && r->nwriters && r->writers[0] &&
                        apply_audit(r, cfg->audit.signing_key);
    int tls_changed = tls && apply_tls(r, tls);
    cmn_log_info(LOG, "keys reloaded from %s: %s%s%s%s%s", running->path,
                 egress_changed || assertion_changed || audit_changed || tls_changed
                     ? "changed"
                     : "none changed",
                 egress_changed ? " egress" : "", assertion_changed ? " identity_assertion" : "",
                 audit_changed ? " audit_signing" : "", tls_changed ? " tls_certificate" : "");
    gw_config_free(cfg);
}
