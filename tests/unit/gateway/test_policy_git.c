/* Where a policy file came from (gateway/authz/policy_git.h): against real git work trees made in a
 * temporary folder — no repository, an untracked file, a committed one, an edit in place, a
 * later commit of another file, a symlink into the tree, and no git at all. */
#include <string.h>
#include <unistd.h>

#include "support/testutil.h"

#include "gateway/authz/policy_git.h"
#include "common/sha256.h"

static char root[256];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a setup command in root (the test's own commands, not the code under test). */
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", root);
    vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("setup failed: %s", cmd);
}

static void write_file(const char *name, const char *text)
{
    testutil_write_file(root, name, text, 0644, NULL, 0);
}

static void sha_of(const char *text, char out[CMN_SHA256_HEX])
{
    cmn_sha256_hex(text, strlen(text), out);
}

/* The commit id git gives for rev, read by the test itself. */
static void rev(const char *what, char out[65])
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cd '%s/repo' && git rev-parse %s", root, what);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, 65, p));
    out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

static int setup(void **state)
{
    (void)state;
    testutil_tmpdir(root, sizeof(root), "policy-git");
    /* The commits' authors and committers, and no user configuration of the machine's. */
    setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_COMMITTER_NAME", "ci", 1);
    setenv("GIT_COMMITTER_EMAIL", "ci@acme.example", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return testutil_rmtree(root);
}

static void states_follow_the_work_tree(void **state)
{
    (void)state;
    gw_policy_git_t g;
    char path[512], sha[CMN_SHA256_HEX], head[65];
    const char *v1 = "{\"version\":1,\"orgs\":{}}\n", *v2 = "{\"version\":1,\"orgs\":{\"x\":{}}}\n";

    /* A file outside any work tree. */
    sh("mkdir plain repo");
    write_file("plain/policy.json", v1);
    snprintf(path, sizeof(path), "%s/plain/policy.json", root);
    sha_of(v1, sha);
    gw_policy_git_lookup(path, sha, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "none");
    assert_string_equal(g.commit, "");

    /* In a work tree with no commit yet, then committed by nobody yet: untracked. */
    sh("cd repo && git init -q -b main . && mkdir policies");
    write_file("repo/policies/policy.json", v1);
    snprintf(path, sizeof(path), "%s/repo/policies/policy.json", root);
    gw_policy_git_lookup(path, sha, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "untracked");
    write_file("repo/README", "policies\n");
    sh("cd repo && git add README && GIT_AUTHOR_NAME='Bob Builder' "
       "GIT_AUTHOR_EMAIL=bob@acme.example "
       "git commit -q -m readme");
    gw_policy_git_lookup(path, sha, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "untracked");

    /* Committed: the commit, its author (not its committer), and the loaded bytes match. */
    sh("cd repo && git add policies/policy.json && GIT_AUTHOR_NAME='Carol Admin' "
       "GIT_AUTHOR_EMAIL=carol@acme.example "
       "git commit -q -m 'policy v1'");
    char policy_commit[65];
    rev("HEAD", policy_commit);
    gw_policy_git_lookup(path, sha, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "committed");
    assert_string_equal(g.commit, policy_commit);
    assert_string_equal(g.author, "Carol Admin <carol@acme.example>");

    /* A later commit of another file: the policy's last commit is still its own. */
    write_file("repo/README", "policies, reviewed\n");
    sh("cd repo && git commit -q -am readme2 --author='Dan <dan@acme.example>'");
    rev("HEAD", head);
    assert_string_not_equal(head, policy_commit);
    gw_policy_git_lookup(path, sha, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "committed");
    assert_string_equal(g.commit, policy_commit);
    assert_string_equal(g.author, "Carol Admin <carol@acme.example>");

    /* Reached through a symlink from elsewhere: the same answer. */
    sh("ln -s '%s/repo/policies/policy.json' plain/link.json", root);
    char link[512];
    snprintf(link, sizeof(link), "%s/plain/link.json", root);
    gw_policy_git_lookup(link, sha, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "committed");
    assert_string_equal(g.commit, policy_commit);

    /* Edited in place, not committed: modified, naming the commit it differs from. */
    write_file("repo/policies/policy.json", v2);
    char sha2[CMN_SHA256_HEX];
    sha_of(v2, sha2);
    gw_policy_git_lookup(path, sha2, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "modified");
    assert_string_equal(g.commit, policy_commit);
    assert_string_equal(g.author, "Carol Admin <carol@acme.example>");

    /* The bytes loaded are what counts: the committed file, loaded as other bytes (it changed
     * between the load and the lookup), is not "committed". */
    sh("cd repo && git checkout -q -- policies/policy.json");
    gw_policy_git_lookup(path, sha2, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "modified");
    gw_policy_git_lookup(path, sha, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "committed");

    /* Deleted by a commit and written again: not that commit's file. */
    sh("cd repo && git rm -q policies/policy.json && git commit -q -m drop "
       "--author='Eve <eve@acme.example>' && mkdir -p policies");
    write_file("repo/policies/policy.json", v1);
    gw_policy_git_lookup(path, sha, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "modified");
    assert_string_equal(g.author, "Eve <eve@acme.example>");
}

/* Looks up root/repo/README (as the bytes "x") with PATH holding only root/bin, the folder
 * that decides which git runs, if any. */
static void lookup_with_path(const char *bin, gw_policy_git_t *g)
{
    char *saved = strdup(getenv("PATH") ? getenv("PATH") : "");
    char dirs[512], path[512], sha[CMN_SHA256_HEX];
    snprintf(dirs, sizeof(dirs), "%s/%s", root, bin);
    snprintf(path, sizeof(path), "%s/repo/README", root);
    sha_of("x", sha);
    setenv("PATH", dirs, 1);
    gw_policy_git_lookup(path, sha, g);
    setenv("PATH", saved, 1);
    free(saved);
}

static void no_git_is_none_with_a_reason(void **state)
{
    (void)state;
    char path[512], sha[CMN_SHA256_HEX];
    sh("mkdir -p empty-bin");
    gw_policy_git_t g;
    lookup_with_path("empty-bin", &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "none");
    assert_non_null(strstr(g.why, "git is not installed"));

    /* A path that does not exist: none, saying so. */
    sha_of("x", sha);
    snprintf(path, sizeof(path), "%s/nowhere/policy.json", root);
    gw_policy_git_lookup(path, sha, &g);
    assert_string_equal(gw_policy_git_state_name(g.state), "none");
    assert_non_null(strstr(g.why, "cannot resolve"));
}

/* A git that hangs is killed at the deadline; one that prints without end is cut off. Both are
 * stand-ins on PATH, shell scripts the test writes. */
static void a_stuck_or_flooding_git_is_cut_off(void **state)
{
    (void)state;
    static const struct {
        const char *name, *script, *why;
    } cases[] = {
        {"hangs", "#!/bin/sh\nexec /bin/sleep 60\n", "did not answer within"},
        {"floods", "#!/bin/sh\nexec /usr/bin/yes true\n", "printed more than"},
        {"dies", "#!/bin/sh\nkill -9 $$\n", "killed by signal 9"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char bin[32];
        snprintf(bin, sizeof(bin), "fake-%zu", i);
        sh("mkdir -p %s && printf '%s' > %s/git && chmod 755 %s/git", bin, cases[i].script, bin,
           bin);
        gw_policy_git_t g;
        lookup_with_path(bin, &g);
        if (g.state != GW_POLICY_GIT_NONE || !strstr(g.why, cases[i].why))
            fail_msg("case \"%s\": state %s, why \"%s\"", cases[i].name,
                     gw_policy_git_state_name(g.state), g.why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(states_follow_the_work_tree),
        cmocka_unit_test(no_git_is_none_with_a_reason),
        cmocka_unit_test(a_stuck_or_flooding_git_is_cut_off),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
