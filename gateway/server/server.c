#include "gateway/server/server.h"
#include "audit/limits.h"
#include "gateway/server/loop.h"
#include "gateway/server/check.h"
#include "gateway/server/dbprobe.h"
#include "gateway/server/lifecycle.h"
#include "gateway/server/notify.h"
#include "gateway/server/reload.h"
#include "gateway/server/tls.h"

#include "common/log.h"

#include "gateway/metrics/listen.h"

#include "gateway/version.h"

#include "gateway/admin/report_http.h"
#include "gateway/auditlog/auditlog.h"

#include "gateway/authn/assertion.h"

#include "gateway/forward/egress.h"

#include "gateway/authn/auth.h"
#include "gateway/authn/devices.h"
#include "gateway/authn/sessions.h"
#include "gateway/http/ratelimit.h"
#include "gateway/admin/device.h"
#include "gateway/admin/directory.h"
#include "gateway/authn/deprovisioned.h"
#include "gateway/authn/tokens.h"

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

int gw_serve_check(const gw_config_t *cfg)
{
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1024 * 1024);
    int status = gw_policies_check_file(cfg, cfg->policy, &errors) == 0 ? 0 : 1;
    if (cfg->shadow && gw_policies_check_file(cfg, cfg->shadow, &errors) != 0)
        status = 1;
    if (errors.len)
        fputs(errors.data, stderr);
    cmn_buf_free(&errors);
    if (gw_check_secret_files(cfg) != 0)
        status = 1;
    return status;
}

int gw_serve_run(const gw_config_t *cfg)
{
    int status = 1;
    gw_server_t srv = {.cfg = cfg};
    cmn_arena_t start_arena; /* what srv keeps from start to stop */
    cmn_arena_init(&start_arena, 1024, 64 * 1024);
    gw_dbprobe_t *prober = NULL;
    gw_reload_t *reload = NULL;
    gw_metrics_listen_t *metrics = NULL;
    gw_loop_t *loops[GW_MAX_EVENT_LOOPS] = {0};
    aud_writer_t *writers[GW_MAX_EVENT_LOOPS] = {0};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned nloops = cfg->event_loops > 0 ? (unsigned)cfg->event_loops
                      : cores > GW_MAX_EVENT_LOOPS ? GW_MAX_EVENT_LOOPS
                      : cores > 0                  ? (unsigned)cores
                                                   : 1;

    gw_notify_init(); /* before any thread: it edits the environment */
    if (cfg->log_json)
        cmn_log_set_json(1);

    /* Signals are taken synchronously by this thread; every other thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Every client connection and every upstream one is a descriptor. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }
    unsigned max_conns = GW_MAX_CONNECTIONS;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 2 * (rlim_t)max_conns + 64)
        max_conns = nofile.rlim_cur > 256 ? (unsigned)(nofile.rlim_cur - 64) / 2 : 64;

    struct sockaddr_storage addr = {0};
    int v6 = strchr(cfg->listen_host, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(cfg->listen_port);
        inet_pton(AF_INET6, cfg->listen_host, &a6->sin6_addr);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(cfg->listen_port);
        inet_pton(AF_INET, cfg->listen_host, &a4->sin_addr);
    }

    if (cfg->tls_cert && gw_tls_load(cfg->tls_cert, cfg->tls_key) != 0)
        goto out; /* the reason is logged */
    /* SIGHUP swaps the keys (server/reload.h), which own them from here. */
    if (!(reload = gw_reload_create(&srv, writers, nloops))) {
        cmn_log_error("serve", "out of memory");
        goto out;
    }
    char kerr[512];
    gw_egress_keys_t *egress_keys =
        gw_egress_keys_new(cfg->egress_key_file, cfg->egress_previous_key_files,
                           cfg->n_egress_previous_key_files, kerr, sizeof(kerr));
    if (!egress_keys) {
        cmn_log_error("serve", "cannot load the egress key: %s", kerr);
        goto out;
    }
    atomic_store(&srv.egress_keys, egress_keys);
    if (!cfg->egress_key_file && cfg->egress == GW_EGRESS_PROXY)
        cmn_log_info("serve", "egress links are sealed with a per-process key: set "
                              "egress_key_file when several instances share a public URL");
    /* Before anything is written: a role that could rewrite the log must not write it. */
    int fit = gw_dbprobe_check_role(cfg, 0);
    if (fit == 0)
        goto out;
    char aerr[512];
    if (cfg->audit.mode == GW_AUDIT_OFF) {
        cmn_log_warn("serve", "audit.mode is off: requests are forwarded WITHOUT an audit "
                              "record. For benchmarks only; never in production.");
    } else {
        /* A stream per event loop; the first is audit.stream, also the process's. */
        for (unsigned i = 0; i < nloops; i++) {
            char stream[AUD_STREAM_MAX + 1];
            if (gw_loop_stream_name(cfg->audit.stream, i, stream, sizeof(stream)) != 0) {
                cmn_log_error("serve", "audit.stream \"%s\" is too long for %u event loops "
                                       "(their streams are named \"%s.N\", at most %d characters)",
                              cfg->audit.stream, nloops, cfg->audit.stream, AUD_STREAM_MAX);
                goto out;
            }
            if (!(writers[i] = gw_auditlog_open(cfg, stream, aerr, sizeof(aerr)))) {
                cmn_log_error("serve", "cannot open the audit log (stream %s): %s", stream, aerr);
                goto out;
            }
        }
        srv.audit = writers[0];
    }
    cmn_buf_t perr;
    cmn_buf_init(&perr, 1024 * 1024);
    srv.policies = gw_policies_start(cfg, &perr, gw_lifecycle_policy_event, &srv);
    if (!srv.policies) {
        fputs(perr.data ? perr.data : "cannot load the policy\n", stderr);
        cmn_log_error("serve", "the policy %s is invalid: not starting", cfg->policy);
        cmn_buf_free(&perr);
        goto out;
    }
    cmn_buf_free(&perr);
    if (gw_headers_public_origin(cfg->public_url, &start_arena, &srv.public_proto,
                                 &srv.public_host) != 0) {
        cmn_log_error("serve", "public_url %s names no http(s) host", cfg->public_url);
        goto out;
    }
    atomic_store(&srv.assertion,
                 gw_assertion_create_keys(cfg->assertion_key, cfg->assertion_published_keys,
                                          cfg->n_assertion_published_keys, cfg->public_url));
    srv.tokens = gw_tokens_create(cfg->database);
    srv.sessions = cfg->login.issuer ? gw_sessions_create(cfg->database) : NULL;
    srv.devices = cfg->login.issuer && srv.tokens ? gw_devices_create(srv.tokens, cfg->token_max_days)
                                                  : NULL;
    if (cfg->scim_token && srv.tokens) {
        /* the directory: its deprovisioned refused everywhere, its groups on hubgate tokens */
        srv.directory = gw_directory_create(gw_tokens_store(srv.tokens));
        srv.deprovisioned = gw_deprovisioned_start(gw_tokens_store(srv.tokens));
        gw_tokens_use_directory(srv.tokens);
    }
    srv.code_attempts = gw_ratelimit_create(GW_DEVICE_CODE_ATTEMPTS);
    srv.address_attempts = gw_ratelimit_create(GW_DEVICE_ADDRESS_ATTEMPTS);
    srv.jwks = cfg->n_issuers ? gw_jwks_start(cfg, gw_lifecycle_keys_changed, &srv) : NULL;
    srv.auth = gw_auth_create(cfg, srv.jwks, srv.tokens);
    if (srv.auth && srv.deprovisioned)
        gw_auth_set_deprovisioned(srv.auth, srv.deprovisioned);
    if (!srv.assertion || !srv.tokens || (cfg->n_issuers && !srv.jwks) || !srv.auth ||
        (cfg->login.issuer && (!srv.sessions || !srv.devices)) || !srv.code_attempts ||
        !srv.address_attempts || (cfg->scim_token && (!srv.directory || !srv.deprovisioned))) {
        cmn_log_error("serve", "cannot set up authentication");
        goto out;
    }
    srv.reports = gw_reports_create();
    if (!srv.reports) {
        cmn_log_error("serve", "out of memory");
        goto out;
    }

    if (cfg->metrics_port &&
        !(metrics = gw_metrics_listen_start(cfg->metrics_host, cfg->metrics_port)))
        goto out;

    gw_loop_listen_t lsn = {
        .addr = (struct sockaddr *)&addr,
        .ipv6 = v6,
        .reuse_port = nloops > 1,
        .max_connections = max_conns / nloops > 64 ? max_conns / nloops : 64,
        .idle_seconds = (unsigned)cfg->timeouts.client_idle_seconds,
        .tls = cfg->tls_cert != NULL,
    };
    for (unsigned i = 0; i < nloops; i++) {
        if (!(loops[i] = gw_loop_start(&srv, i, &lsn, writers[i]))) {
            cmn_log_error("serve", "cannot listen on %s:%u", cfg->listen_host, cfg->listen_port);
            goto out;
        }
    }
    /* Without its prober the gateway still serves; /-/ready then keeps its first answer. */
    if (!(prober = gw_dbprobe_start(&srv, fit == 1)))
        cmn_log_warn("serve", "cannot start the database prober");
    gw_lifecycle_event(&srv, AUD_KIND_GATEWAY_STARTED, NULL);
    cmn_log_info("serve", "listening on %s://%s:%u (public URL %s, %zu region%s, %u event loop%s)",
                 cfg->tls_cert ? "https" : "http", cfg->listen_host, cfg->listen_port,
                 cfg->public_url, cfg->n_regions, cfg->n_regions == 1 ? "" : "s", nloops,
                 nloops == 1 ? "" : "s");
    if (metrics)
        cmn_log_info("serve", "metrics on http://%s%s%s:%u/metrics",
                     strchr(cfg->metrics_host, ':') ? "[" : "", cfg->metrics_host,
                     strchr(cfg->metrics_host, ':') ? "]" : "", cfg->metrics_port);

    char ready[256];
    snprintf(ready, sizeof(ready), "READY=1\nSTATUS=serving %s (%u event loop%s)\nMAINPID=%ld",
             cfg->public_url, nloops, nloops == 1 ? "" : "s", (long)getpid());
    (void)gw_notify(ready);

    gw_stop_cause_t stop = {"sigterm", 0, 0, 0};
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&sigs, &si);
        if (sig < 0)
            continue;
        if (sig == SIGUSR1) {
            /* log rotation: the checkpoint files were renamed; the writers open them anew */
            cmn_log_info("serve", "SIGUSR1: reopening the audit checkpoint files");
            for (unsigned i = 0; i < nloops; i++)
                aud_writer_reopen_files(writers[i]);
            continue;
        }
        if (sig == SIGHUP) {
            /* systemd's ExecReload waits for READY=1 after RELOADING=1 (with its clock) */
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            char reloading[96];
            snprintf(reloading, sizeof(reloading), "RELOADING=1\nMONOTONIC_USEC=%lld",
                     (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000);
            (void)gw_notify(reloading);
            cmn_log_info("serve", "SIGHUP: reloading the policy and the keys");
            gw_policies_reload(srv.policies, "sighup");
            gw_reload_keys(reload);
            /* the keys and the certificate too (server/reload.h); the status text is the one
             * tooling matches */
            (void)gw_notify("READY=1\nSTATUS=serving (policy reloaded)");
            continue;
        }
        /* Who stopped it: a process (kill, systemd) says so in the signal; the prober stops
         * the gateway itself when its database role is unfit. */
        stop.trigger = sig == SIGINT ? "sigint" : "sigterm";
        if (si.si_code == SI_USER || si.si_code == SI_QUEUE) {
            if (si.si_pid == getpid() && gw_dbprobe_unfit(prober)) {
                stop.trigger = "database_role_unfit";
            } else {
                stop.from_process = 1;
                stop.sender_pid = si.si_pid;
                stop.sender_uid = si.si_uid;
            }
        }
        cmn_log_info("serve", "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        (void)gw_notify("STOPPING=1");
        break;
    }
    /* Stop accepting and abort every upstream transfer (which answers or closes their
     * connections: MHD must not stop with one suspended), let the reports being made finish
     * and be sent (the loops keep serving meanwhile), then stop the loops. */
    for (unsigned i = 0; i < nloops; i++)
        gw_loop_quiesce(loops[i]);
    gw_reports_drain(srv.reports);
    for (unsigned i = 0; i < nloops; i++) {
        gw_loop_stop(loops[i]);
        loops[i] = NULL;
    }
    gw_lifecycle_event(&srv, AUD_KIND_GATEWAY_STOPPED, &stop);
    cmn_log_info("serve", "stopped");
    status = gw_dbprobe_unfit(prober) ? 1 : 0;
out:
    gw_dbprobe_stop(prober);
    for (unsigned i = 0; i < nloops; i++)
        gw_loop_stop(loops[i]);
    gw_metrics_listen_stop(metrics);
    gw_reports_destroy(srv.reports);
    gw_auth_destroy(srv.auth);
    gw_jwks_stop(srv.jwks);
    gw_tokens_destroy(srv.tokens);
    gw_sessions_destroy(srv.sessions);
    gw_devices_destroy(srv.devices);
    gw_ratelimit_destroy(srv.code_attempts);
    gw_ratelimit_destroy(srv.address_attempts);
    gw_deprovisioned_stop(srv.deprovisioned);
    gw_directory_destroy(srv.directory);
    gw_reload_destroy(reload); /* the keys: every loop has stopped */
    gw_policies_stop(srv.policies);
    /* The process's stream last: it takes gateway.stopped. */
    for (unsigned i = nloops; i-- > 1;)
        aud_writer_close(writers[i]);
    aud_writer_close(writers[0]);
    cmn_arena_free(&start_arena);
    return status;
}
