#include "gateway/server/lifecycle.h"

#include "common/err.h"
#include "common/log.h"

#include "gateway/authz/policy_git.h"
#include "gateway/authz/policy_record.h"

#include "gateway/version.h"

#include "gateway/auditlog/auditlog.h"

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

/* A detail value that cannot carry a credential: names that come from outside hubgate (a git
 * author, a process name) are written as they are unless they are shaped like one, which the
 * encoder would refuse — and a refused policy.loaded event would refuse the policy. */
static const char *safe_value(const char *v)
{
    return aud_event_value_looks_secret(v) ? "(withheld: shaped like a credential)" : v;
}

/* A load is a privileged change: its event must be durable before the policy decides
 * anything (the caller swaps it in only on 0). A refusal changes nothing: noted, not waited.
 * Either says what triggered it, the file's SHA-256 and, from git, who changed it. */
int gw_lifecycle_policy_event(void *ctx, const gw_policy_event_t *pe)
{
    gw_server_t *srv = ctx;
    if (!srv->audit)
        return 0; /* audit.mode off: nothing is recorded, nothing to wait for */
    aud_event_t ev;
    char first[512]; /* the event borrows it until submitted */
    gw_policy_git_t git;
    aud_event_init(&ev, pe->loaded ? AUD_KIND_POLICY_LOADED : AUD_KIND_POLICY_REJECTED);
    aud_event_detail_str(&ev, "path", pe->path);
    aud_event_detail_str(&ev, "trigger", pe->trigger);
    if (pe->shadow)
        aud_event_detail_bool(&ev, "shadow", 1);
    if (pe->old_sha && *pe->old_sha)
        aud_event_detail_str(&ev, "previous_sha256", pe->old_sha);
    if (pe->new_sha && *pe->new_sha)
        aud_event_detail_str(&ev, "sha256", pe->new_sha);
    if (pe->errors && *pe->errors) {
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(pe->errors, "\n"), pe->errors);
        aud_event_detail_str(&ev, "error", first);
    }
    /* This thread reads the policy (start, SIGHUP, the watcher): never a request's. */
    gw_policy_git_lookup(pe->path, pe->new_sha, &git);
    aud_event_detail_str(&ev, "git_state", gw_policy_git_state_name(git.state));
    if (git.commit[0]) {
        aud_event_detail_str(&ev, "git_commit", git.commit);
        aud_event_detail_str(&ev, "git_author", safe_value(git.author));
    }
    if (git.state == GW_POLICY_GIT_NONE && git.why[0])
        cmn_log_warn("policy", "%s: no git provenance for the audit log: %s", pe->path, git.why);
    if (!pe->loaded) {
        gw_auditlog_note(srv->audit, &ev);
        return 0;
    }
    int rc = aud_writer_append(srv->audit, &ev);
    if (rc != 0)
        cmn_log_warn("policy", "the audit log cannot record the load of %s: %s", pe->path,
                     cmn_err_str(rc));
    char why[512];
    if (rc == 0 && gw_policy_record(srv->cfg->database, pe->path, pe->new_sha, why, sizeof(why)))
        cmn_log_warn("policy", "the text of policy %s is not recorded for reports: %s",
                     pe->new_sha ? pe->new_sha : "?", why);
    return rc;
}

void gw_lifecycle_keys_changed(void *ctx, const char *issuer, const char *summary, const char *trigger)
{
    gw_server_t *srv = ctx;
    aud_event_t ev;
    aud_event_init(&ev, AUD_KIND_KEYS_CHANGED);
    aud_event_detail_str(&ev, "issuer", issuer);
    aud_event_detail_str(&ev, "change", summary);
    aud_event_detail_str(&ev, "trigger", trigger);
    gw_auditlog_note(srv->audit, &ev);
}

/* The name of a user id ("hubgate"), else the number. */
static void user_name(uid_t uid, char *out, size_t cap)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found && found->pw_name)
        snprintf(out, cap, "%s", found->pw_name);
    else
        snprintf(out, cap, "%u", (unsigned)uid);
}

/* The command name of a process ("systemd", "kill"), or "" when it cannot be read (gone). */
static void process_name(pid_t pid, char *out, size_t cap)
{
    char path[64];
    out[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(out, (int)cap, f))
        out[strcspn(out, "\n")] = '\0';
    else
        out[0] = '\0';
    fclose(f);
}

void gw_lifecycle_event(gw_server_t *srv, aud_kind_t kind, const gw_stop_cause_t *stop)
{
    if (!srv->audit)
        return;
    aud_event_t ev;
    char os_user[256], parent[64], sender[256], sender_name[64];
    aud_event_init(&ev, kind);
    aud_event_detail_str(&ev, "version", HUBGATE_VERSION);
    aud_event_detail_str(&ev, "config", srv->cfg->path);
    aud_event_detail_str(&ev, "public_url", srv->cfg->public_url);
    user_name(geteuid(), os_user, sizeof(os_user));
    aud_event_detail_str(&ev, "os_user", safe_value(os_user));
    aud_event_detail_int(&ev, "pid", (int64_t)getpid());
    if (kind == AUD_KIND_GATEWAY_STARTED) {
        aud_event_detail_str(&ev, "trigger", "start");
        process_name(getppid(), parent, sizeof(parent));
        if (parent[0])
            aud_event_detail_str(&ev, "parent", safe_value(parent));
        gw_auditlog_note(srv->audit, &ev);
        return;
    }
    aud_event_detail_str(&ev, "trigger", stop->trigger);
    if (stop->from_process) {
        user_name(stop->sender_uid, sender, sizeof(sender));
        aud_event_detail_str(&ev, "signal_sender_user", safe_value(sender));
        aud_event_detail_int(&ev, "signal_sender_pid", (int64_t)stop->sender_pid);
        process_name(stop->sender_pid, sender_name, sizeof(sender_name));
        if (sender_name[0])
            aud_event_detail_str(&ev, "signal_sender", safe_value(sender_name));
    }
    aud_writer_append(srv->audit, &ev); /* the last word: wait for it */
}
