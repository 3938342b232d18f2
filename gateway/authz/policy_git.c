#include "gateway/authz/policy_git.h"
#include "common/clock.h"
#include "common/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *gw_policy_git_state_name(gw_policy_git_state_t state)
{
    switch (state) {
    case GW_POLICY_GIT_NONE:
        return "none";
    case GW_POLICY_GIT_UNTRACKED:
        return "untracked";
    case GW_POLICY_GIT_COMMITTED:
        return "committed";
    case GW_POLICY_GIT_MODIFIED:
        return "modified";
    }
    return "?";
}

/* The git on PATH, found before forking: the child may only make async-signal-safe calls, and
 * execvp's search is not one. */
static int find_git(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && (size_t)snprintf(out, cap, "%.*s/git", (int)n, path) < cap &&
            access(out, X_OK) == 0)
            return 0;
        path += n + (path[n] == ':');
    }
    return -1;
}

/* What one git command produced: its stdout, either kept (at most cap bytes) or hashed (at most
 * cap bytes), and how it ended. */
typedef struct {
    char *out;          /* kept output, NUL-terminated; NULL to hash instead */
    cmn_sha256_t *hash; /* hashed output */
    size_t cap, len;
    int with_stderr; /* keep stderr too (in out): to tell why git refused */
    int exit_status; /* the child's exit status; -1 when killed or not run */
} run_t;

/* Runs git with argv (argv[0] is replaced by the git found) in dir. Returns 0 when git ran to its
 * end (whatever its exit status), -1 with why when it could not be run, printed more than the cap
 * or missed the deadline (it is killed then). */
static int run_git(const char *dir, char *const argv[], run_t *r, char *why, size_t whylen)
{
    char git[PATH_MAX];
    r->exit_status = -1;
    r->len = 0;
    if (find_git(git, sizeof(git)) != 0) {
        snprintf(why, whylen, "git is not installed (not on PATH)");
        return -1;
    }
    /* A fresh environment: nothing of the gateway's (GIT_DIR, GIT_CONFIG_*, …) steers git. HOME
     * stays, for the user's git configuration (safe.directory among it). */
    char path_env[4096], home_env[PATH_MAX + 8];
    snprintf(path_env, sizeof(path_env), "PATH=%s",
             getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin");
    snprintf(home_env, sizeof(home_env), "HOME=%s", getenv("HOME") ? getenv("HOME") : "/");
    char *const envp[] = {
        path_env,        home_env, "LC_ALL=C", "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0",
        "GIT_PAGER=cat", NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(why, whylen, "cannot run git: %s", strerror(errno));
        return -1;
    }
    sigset_t none;
    sigemptyset(&none);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "cannot run git: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* The child: async-signal-safe calls only, then exec. The gateway blocks its signals
         * and ignores SIGPIPE; git gets the defaults. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, NULL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0); /* its own group: a deadline kills whatever it started too */
        int devnull = open("/dev/null", O_RDWR);
        if (devnull < 0 || chdir(dir) != 0 || dup2(devnull, 0) < 0 || dup2(fds[1], 1) < 0 ||
            dup2(r->with_stderr ? fds[1] : devnull, 2) < 0)
            _exit(127);
        closefrom(3);
        execve(git, argv, envp);
        _exit(127);
    }
    close(fds[1]);
    int rc = 0;
    int64_t deadline = cmn_mono_ms() + GW_POLICY_GIT_TIMEOUT_MS;
    char buf[16384];
    for (;;) {
        int64_t left = deadline - cmn_mono_ms();
        if (left <= 0) {
            snprintf(why, whylen, "git did not answer within %d ms", GW_POLICY_GIT_TIMEOUT_MS);
            rc = -1;
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            snprintf(why, whylen, "cannot read git's output: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (pr == 0)
            continue; /* the deadline is checked above */
        ssize_t n = read(fds[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF (or an error: the exit status says the rest) */
        if (r->len + (size_t)n > r->cap) {
            snprintf(why, whylen, "git printed more than %zu bytes", r->cap);
            rc = -1;
            break;
        }
        if (r->out)
            memcpy(r->out + r->len, buf, (size_t)n);
        else
            cmn_sha256_update(r->hash, buf, (size_t)n);
        r->len += (size_t)n;
    }
    close(fds[0]);
    if (rc != 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL); /* in case the child had not made its group yet */
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (rc == 0 && WIFEXITED(status))
        r->exit_status = WEXITSTATUS(status);
    else if (rc == 0) {
        snprintf(why, whylen, "git was killed by signal %d",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        rc = -1;
    }
    if (r->out)
        r->out[r->len] = '\0';
    return rc;
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return n > 0;
}

void gw_policy_git_lookup(const char *path, const char *sha256_hex, gw_policy_git_t *out)
{
    memset(out, 0, sizeof(*out));
    out->state = GW_POLICY_GIT_NONE;
    char real[PATH_MAX], dir[PATH_MAX], spec[PATH_MAX + 80];
    char *text = malloc(GW_POLICY_GIT_MAX_OUTPUT + 1);
    if (!text) {
        snprintf(out->why, sizeof(out->why), "out of memory");
        return;
    }
    if (!realpath(path, real)) {
        snprintf(out->why, sizeof(out->why), "cannot resolve %s: %s", path, strerror(errno));
        goto out;
    }
    const char *slash = strrchr(real, '/');
    snprintf(dir, sizeof(dir), "%.*s", slash == real ? 1 : (int)(slash - real), real);
    const char *base = slash + 1;
    /* "./name": git reads the name relative to its working folder, never as an option. */
    char rel[PATH_MAX + 2];
    snprintf(rel, sizeof(rel), "./%s", base);

    run_t r = {.out = text, .cap = GW_POLICY_GIT_MAX_OUTPUT, .with_stderr = 1};
    char *const inside[] = {"git", "rev-parse", "--is-inside-work-tree", NULL};
    if (run_git(dir, inside, &r, out->why, sizeof(out->why)) != 0)
        goto out;
    if (r.exit_status != 0 || strcmp(text, "true\n") != 0) {
        /* No work tree here: "none", quietly. Or one git will not read for this user. */
        if (strstr(text, "dubious ownership"))
            snprintf(out->why, sizeof(out->why),
                     "git does not read %.120s: the work tree belongs to another user (git "
                     "config safe.directory)",
                     dir);
        goto out;
    }
    r.with_stderr = 0;

    /* The last commit that touched the file, and its author: "<id>\n<name> <<email>>\n". */
    char *const log[] = {"git", "-c",         "log.showSignature=false", "log",
                         "-1",  "--no-color", "--format=%H%n%an <%ae>",  "--",
                         rel,   NULL};
    if (run_git(dir, log, &r, out->why, sizeof(out->why)) != 0)
        goto out;
    size_t idlen = strcspn(text, "\n");
    if (r.exit_status != 0 || r.len == 0) {
        /* No commit holds it (or the repository has no commit yet). */
        out->state = GW_POLICY_GIT_UNTRACKED;
        goto out;
    }
    if ((idlen != 40 && idlen != 64) || !is_hex(text, idlen) || text[idlen] != '\n') {
        snprintf(out->why, sizeof(out->why), "git log printed something unexpected");
        goto out;
    }
    memcpy(out->commit, text, idlen);
    out->commit[idlen] = '\0';
    const char *author = text + idlen + 1;
    size_t alen = strcspn(author, "\n");
    if (alen >= sizeof(out->author))
        alen = sizeof(out->author) - 1;
    memcpy(out->author, author, alen);
    out->author[alen] = '\0';

    /* That commit's bytes of the file, hashed as they stream: the same bytes, or not. */
    snprintf(spec, sizeof(spec), "%s:%s", out->commit, rel);
    cmn_sha256_t h;
    cmn_sha256_init(&h);
    run_t blob = {.hash = &h, .cap = GW_POLICY_GIT_MAX_BLOB};
    char *const cat[] = {"git", "cat-file", "blob", spec, NULL};
    char why[sizeof(out->why)] = "";
    if (run_git(dir, cat, &blob, why, sizeof(why)) != 0 || blob.exit_status != 0) {
        /* the commit deleted the file (it came back uncommitted), or it is too large to be a
         * policy: either way the file is not that commit's */
        out->state = GW_POLICY_GIT_MODIFIED;
        uint8_t unused[CMN_SHA256_BYTES];
        cmn_sha256_final(&h, unused); /* releases the context */
        goto out;
    }
    uint8_t md[CMN_SHA256_BYTES];
    cmn_sha256_final(&h, md);
    char hex[CMN_SHA256_HEX];
    cmn_hex(md, sizeof(md), hex);
    out->state = sha256_hex && strcmp(hex, sha256_hex) == 0 ? GW_POLICY_GIT_COMMITTED
                                                            : GW_POLICY_GIT_MODIFIED;
out:
    free(text);
}
