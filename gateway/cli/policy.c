/* hubgate policy check|test|explain|diff. */
#include "gateway/cli/policy.h"
#include "gateway/authz/route_policy.h"
#include "gateway/cli/cli.h"
#include "gateway/config/config.h"

#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_policy[] =
    "Usage:\n"
    "  hubgate policy check FILE [--regions LIST | --config FILE] [--default-region NAME]\n"
    "  hubgate policy test FILE [--verbose] [--regions LIST | --config FILE] [--default-region NAME]\n"
    "  hubgate policy explain FILE --subject JSON --request \"METHOD /path\" [--body JSON]\n"
    "                 [--content-type TYPE] [--ip ADDRESS] [--region NAME] [--regions LIST]\n"
    "                 [--default-region NAME]\n"
    "  hubgate policy diff OLD NEW [--json] [--regions LIST | --config FILE] [--default-region NAME]\n"
    "\n"
    "Tools for editing a policy file safely. Run 'hubgate policy COMMAND --help' for each.\n"
    "Exit status: 0 success, 1 invalid policy / failing test / access changes (diff),\n"
    "2 bad usage or unreadable file.\n";

static const char usage_check[] =
    "Usage: hubgate policy check FILE [--regions LIST | --config FILE] [--default-region NAME]\n"
    "\n"
    "Validates FILE and prints one line per problem, \"FILE:LINE:COL: json.path: what was\n"
    "found (what was expected)\". Unknown keys, roles, actions, regions, malformed repo\n"
    "patterns or networks, duplicate keys, members, rule ids and test names are all errors:\n"
    "nothing is skipped. On success prints the file's SHA-256 and what it holds.\n"
    "\n"
    "  --regions LIST        comma-separated region names of the configuration (e.g. us,eu);\n"
    "                        each org's \"regions\" must be among them (unchecked without it)\n"
    "  --config FILE         the regions and default region of hubgate's configuration FILE\n"
    "  --default-region NAME where repos outside orgs live (for residency checks)\n"
    "\n"
    "Exit status: 0 valid, 1 invalid, 2 bad usage or unreadable file.\n";

static const char usage_test[] =
    "Usage: hubgate policy test FILE [--verbose] [--regions LIST | --config FILE] [--default-region NAME]\n"
    "\n"
    "Validates FILE and runs its embedded \"tests\": each request \"METHOD /path\" goes\n"
    "through hubgate's route classifier, then the policy decides it for the test's subject.\n"
    "Each failure is printed with the test's name, position, the decision and the rule that\n"
    "determined it.\n"
    "\n"
    "  --verbose             also print one line per passing test\n"
    "  --regions LIST, --default-region NAME   as for 'policy check'\n"
    "\n"
    "Exit status: 0 every test passed, 1 a test failed or the policy is invalid, 2 bad usage.\n";

static const char usage_explain[] =
    "Usage: hubgate policy explain FILE --subject JSON --request \"METHOD /path\" [options]\n"
    "\n"
    "Decides one request and prints every rule considered on the way: deny rules, membership\n"
    "entries, resource groups, allow rules, external and personal namespaces, the org's\n"
    "conditions and data residency, then the determining rule and why.\n"
    "\n"
    "  --subject JSON        {\"sub\": \"alice\", \"email\": …, \"preferred_username\": …,\n"
    "                        \"groups\": […], \"mfa\": true, \"read_only_token\": false} or\n"
    "                        {\"anonymous\": true}\n"
    "  --request \"M /path\"   method and request-target as a client sends them;\n"
    "                        \"GET /-/reports/soc2?org=acme\" decides an evidence report\n"
    "                        export (the policy's auditors and the org's)\n"
    "  --body JSON           request body, for routes whose target is in it (repos/create,\n"
    "                        move, duplicate, LFS batch, collections)\n"
    "  --content-type TYPE   of the body (default application/json)\n"
    "  --ip ADDRESS          client address (network conditions fail without one)\n"
    "  --region NAME         region the request's data comes from (a create's region)\n"
    "  --regions LIST, --default-region NAME   as for 'policy check'\n"
    "\n"
    "Exit status: 0 (allow or deny is printed), 1 invalid policy, 2 bad usage or input.\n";

static const char usage_diff[] =
    "Usage: hubgate policy diff OLD NEW [--json] [--regions LIST | --config FILE] [--default-region NAME]\n"
    "\n"
    "Shows who gains or loses which action on which repo pattern when NEW replaces OLD,\n"
    "over the subjects and repos the two files name: each group and email (one synthetic\n"
    "subject per member entry) and any authenticated user; each org's repos, resource-group\n"
    "and rule patterns, external namespaces and the caller's own namespace; with and without\n"
    "MFA, from outside every named network and from inside each. Also who gains or loses\n"
    "exporting which org's evidence reports (or every org's), for each auditor entry.\n"
    "\n"
    "  --json                one JSON object instead of text\n"
    "\n"
    "Exit status: 0 no access changes, 1 access changes, 2 bad usage or invalid policy\n"
    "(like diff(1)).\n";

/* ------------------------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *regions_arg;
    const char *default_region;
    const char *config_path; /* --config: the regions and default region of that config */
    gw_config_t *cfg;
    char *regions_copy;
    const char *regions[64];
    pol_options_t opts;
} region_opts_t;

/* Parses --regions a,b,c. Returns 0 or 2 (reported). */
static int region_opts_init(region_opts_t *r, const char *cmd)
{
    memset(&r->opts, 0, sizeof(r->opts));
    if (r->config_path) {
        if (r->regions_arg) {
            fprintf(stderr, "hubgate policy %s: --config and --regions: give one of them\n", cmd);
            return 2;
        }
        cmn_buf_t errors;
        cmn_buf_init(&errors, 1 << 16);
        r->cfg = gw_config_load(r->config_path, &errors);
        if (!r->cfg) {
            fprintf(stderr, "hubgate policy %s: --config %s does not load:\n%s", cmd,
                    r->config_path, errors.data ? errors.data : "");
            cmn_buf_free(&errors);
            return 2;
        }
        cmn_buf_free(&errors);
        size_t n = r->cfg->n_regions < 64 ? r->cfg->n_regions : 64;
        for (size_t i = 0; i < n; i++)
            r->regions[i] = r->cfg->regions[i].name;
        r->opts.regions = r->regions;
        r->opts.nregions = n;
        r->opts.default_region = r->default_region ? r->default_region
                                                   : r->cfg->regions[r->cfg->default_region].name;
        return 0;
    }
    r->opts.default_region = r->default_region;
    if (!r->regions_arg)
        return 0;
    r->regions_copy = strdup(r->regions_arg);
    if (!r->regions_copy)
        return 2;
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(r->regions_copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == sizeof(r->regions) / sizeof(r->regions[0])) {
            fprintf(stderr, "hubgate policy %s: --regions: more than 64 regions\n", cmd);
            return 2;
        }
        r->regions[n++] = tok;
    }
    if (n == 0) {
        fprintf(stderr,
                "hubgate policy %s: --regions: expected a comma-separated list, e.g. "
                "us,eu\n",
                cmd);
        return 2;
    }
    r->opts.regions = r->regions;
    r->opts.nregions = n;
    if (r->default_region) {
        int known = 0;
        for (size_t i = 0; i < n; i++)
            known |= strcmp(r->regions[i], r->default_region) == 0;
        if (!known) {
            fprintf(stderr, "hubgate policy %s: --default-region \"%s\" is not among --regions\n",
                    cmd, r->default_region);
            return 2;
        }
    }
    return 0;
}

static int region_option(int argc, char **argv, int *i, region_opts_t *r)
{
    int m = gw_cli_take_option(argc, argv, i, "--regions", "policy", &r->regions_arg);
    if (m)
        return m;
    m = gw_cli_take_option(argc, argv, i, "--config", "policy", &r->config_path);
    if (m)
        return m;
    return gw_cli_take_option(argc, argv, i, "--default-region", "policy", &r->default_region);
}

/* Loads a policy; prints its errors to stderr. *unreadable tells a file that could not be
 * read (exit 2) from an invalid policy (exit 1). */
static pol_policy_t *load(const char *path, const region_opts_t *r, int *unreadable)
{
    FILE *f = fopen(path, "rb");
    *unreadable = f == NULL;
    if (f)
        fclose(f);
    cmn_buf_t errors;
    cmn_buf_init(&errors, 4 * 1024 * 1024);
    pol_policy_t *p = pol_policy_load(path, &r->opts, &errors);
    if (!p)
        fputs(errors.data ? errors.data : "invalid policy\n", stderr);
    cmn_buf_free(&errors);
    return p;
}

typedef struct {
    const char *name;
    const char *usage;
    int nfiles;
    const char *files[2];
    region_opts_t regions;
    int verbose, json;
    const char *subject, *request, *body, *content_type, *ip, *region;
} args_t;

/* Parses the arguments of one subcommand. Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, args_t *a)
{
    int explain = strcmp(a->name, "explain") == 0;
    for (int i = 1; i < argc; i++) {
        if (gw_cli_is_help(argv[i])) {
            fputs(a->usage, stdout);
            return 0;
        }
        int m = region_option(argc, argv, &i, &a->regions);
        if (m == 0 && explain) {
            if ((m = gw_cli_take_option(argc, argv, &i, "--subject", "policy", &a->subject)) == 0 &&
                (m = gw_cli_take_option(argc, argv, &i, "--request", "policy", &a->request)) == 0 &&
                (m = gw_cli_take_option(argc, argv, &i, "--body", "policy", &a->body)) == 0 &&
                (m = gw_cli_take_option(argc, argv, &i, "--content-type", "policy", &a->content_type)) == 0 &&
                (m = gw_cli_take_option(argc, argv, &i, "--ip", "policy", &a->ip)) == 0)
                m = gw_cli_take_option(argc, argv, &i, "--region", "policy", &a->region);
        }
        if (m < 0)
            return 2;
        if (m > 0)
            continue;
        if (strcmp(a->name, "test") == 0 && strcmp(argv[i], "--verbose") == 0) {
            a->verbose = 1;
            continue;
        }
        if (strcmp(a->name, "diff") == 0 && strcmp(argv[i], "--json") == 0) {
            a->json = 1;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr,
                    "hubgate policy %s: unknown option \"%s\" (see hubgate policy %s "
                    "--help)\n",
                    a->name, argv[i], a->name);
            return 2;
        }
        if (a->nfiles >= (strcmp(a->name, "diff") == 0 ? 2 : 1)) {
            fprintf(stderr,
                    "hubgate policy %s: unexpected argument \"%s\" (see hubgate policy "
                    "%s --help)\n",
                    a->name, argv[i], a->name);
            return 2;
        }
        a->files[a->nfiles++] = argv[i];
    }
    int want = strcmp(a->name, "diff") == 0 ? 2 : 1;
    if (a->nfiles != want) {
        fprintf(stderr, "hubgate policy %s: %s (see hubgate policy %s --help)\n", a->name,
                want == 2 ? "expected two files, OLD and NEW" : "expected a policy FILE", a->name);
        return 2;
    }
    if (region_opts_init(&a->regions, a->name) != 0)
        return 2;
    return -1;
}

static int cmd_check(args_t *a)
{
    int unreadable;
    pol_policy_t *p = load(a->files[0], &a->regions, &unreadable);
    if (!p)
        return unreadable ? 2 : 1;
    pol_stats_t st;
    pol_policy_stats(p, &st);
    printf("%s: valid policy (sha256 %s): %zu org%s, %zu member entr%s, %zu resource group%s, "
           "%zu rule%s, %zu test%s, %zu policy auditor%s\n",
           a->files[0], pol_policy_sha256(p), st.orgs, st.orgs == 1 ? "" : "s", st.members,
           st.members == 1 ? "y" : "ies", st.resource_groups, st.resource_groups == 1 ? "" : "s",
           st.rules, st.rules == 1 ? "" : "s", st.tests, st.tests == 1 ? "" : "s", st.auditors,
           st.auditors == 1 ? "" : "s");
    pol_policy_unref(p);
    return 0;
}

static int cmd_test(args_t *a)
{
    int unreadable;
    pol_policy_t *p = load(a->files[0], &a->regions, &unreadable);
    if (!p)
        return unreadable ? 2 : 1;
    cmn_buf_t report;
    cmn_buf_init(&report, 64 * 1024 * 1024);
    pol_test_result_t res;
    int rc = pol_policy_run_tests(p, gw_route_policy_classify, NULL, a->verbose, &report, &res);
    if (report.data)
        fputs(report.data, stdout);
    if (rc == CMN_ERR_NOMEM) {
        fprintf(stderr, "%s: out of memory while running the tests\n", a->files[0]);
        rc = 2;
    } else {
        printf("%s: %zu test%s, %zu passed, %zu failed\n", a->files[0], res.passed + res.failed,
               res.passed + res.failed == 1 ? "" : "s", res.passed, res.failed);
        rc = res.failed ? 1 : 0;
    }
    cmn_buf_free(&report);
    pol_policy_unref(p);
    return rc;
}

static int cmd_explain(args_t *a)
{
    if (!a->subject || !a->request) {
        fprintf(stderr, "hubgate policy explain: --subject JSON and --request \"METHOD /path\" "
                        "are required (see hubgate policy explain --help)\n");
        return 2;
    }
    const char *sp = strchr(a->request, ' ');
    if (!sp || sp == a->request || sp[1] != '/') {
        fprintf(stderr,
                "hubgate policy explain: --request \"%s\": expected \"METHOD /path\", "
                "e.g. \"GET /acme/bert/resolve/main/config.json\"\n",
                a->request);
        return 2;
    }
    if (a->content_type && !a->body) {
        fprintf(stderr, "hubgate policy explain: --content-type needs --body\n");
        return 2;
    }
    pol_ip_t ip;
    if (a->ip && pol_ip_parse(a->ip, &ip) != 0) {
        fprintf(stderr, "hubgate policy explain: --ip \"%s\" is not an IPv4 or IPv6 address\n",
                a->ip);
        return 2;
    }
    int status = 2;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 16384, 16 * 1024 * 1024);
    cmn_buf_t text;
    cmn_buf_init(&text, 16 * 1024 * 1024);
    pol_policy_t *p = NULL;
    pol_subject_t subject;
    char err[512];
    if (pol_subject_parse(a->subject, strlen(a->subject), &arena, &subject, err, sizeof(err)) !=
        0) {
        fprintf(stderr, "hubgate policy explain: --subject: %s\n", err);
        goto out;
    }
    char *method = cmn_arena_strndup(&arena, a->request, (size_t)(sp - a->request));
    if (!method)
        goto out;
    int unreadable;
    p = load(a->files[0], &a->regions, &unreadable);
    if (!p) {
        status = unreadable ? 2 : 1;
        goto out;
    }
    gw_route_t route;
    pol_request_t req;
    if (gw_route_policy_classify(&route, method, sp + 1, a->body, a->body ? strlen(a->body) : 0,
                               a->body ? (a->content_type ? a->content_type : "application/json")
                                       : NULL,
                               &arena, &req, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubgate policy explain: --request \"%s\": %s\n", a->request, err);
        goto out;
    }
    if (a->region)
        req.region = a->region;
    cmn_buf_printf(&text, "policy: %s (sha256 %s)\n", a->files[0], pol_policy_sha256(p));
    if (subject.anonymous) {
        cmn_buf_printf(&text, "subject: anonymous\n");
    } else {
        cmn_buf_printf(&text, "subject: sub %s", subject.sub);
        if (subject.preferred_username)
            cmn_buf_printf(&text, ", username %s", subject.preferred_username);
        if (subject.email)
            cmn_buf_printf(&text, ", email %s%s", subject.email,
                           subject.email_unverified ? " (unverified: grants nothing)" : "");
        cmn_buf_printf(&text, ", groups [");
        for (size_t i = 0; i < subject.ngroups; i++)
            cmn_buf_printf(&text, "%s%s", i ? ", " : "", subject.groups[i]);
        cmn_buf_printf(&text, "], %s%s\n", subject.mfa ? "MFA" : "no MFA",
                       subject.read_only_token ? ", read-only token" : "");
    }
    if (req.report)
        cmn_buf_printf(&text, "request: %s -> evidence report export of %s\n", a->request,
                       req.report_org ? req.report_org : "(no org named)");
    else
        cmn_buf_printf(&text, "request: %s -> route %s, action %s%s\n", a->request,
                       gw_route_family_name(route.family), gw_route_action_name(route.action),
                       req.unknown ? " (unknown route)" : "");
    const char *served_why = NULL;
    gw_treatment_t served = req.report ? GW_TREAT_POLICY : gw_route_treatment(&route, &served_why);
    if (served == GW_TREAT_DENY)
        cmn_buf_printf(&text, "gateway: refuses this route with 403 whatever the policy decides: "
                              "%s\n",
                       served_why);
    else if (served != GW_TREAT_POLICY)
        cmn_buf_printf(&text, "gateway: %s: %s\n",
                       served == GW_TREAT_PUBLIC   ? "forwarded without any credential"
                       : served == GW_TREAT_FILTER ? "the answer is filtered"
                                                   : "answered by hubgate",
                       served_why);
    cmn_buf_printf(&text, "client address: %s\n", a->ip ? a->ip : "unknown");
    if (req.region)
        cmn_buf_printf(&text, "data from region: %s\n", req.region);
    cmn_buf_printf(&text, "considered:\n");
    pol_decision_t d;
    if (pol_explain(p, &subject, &req, a->ip ? &ip : NULL, 0, &d, &text) != 0) {
        fprintf(stderr, "hubgate policy explain: the explanation is too long\n");
        goto out;
    }
    cmn_buf_printf(&text, "org: %s, role: %s, region: %s\n", d.org ? d.org : "-",
                   pol_role_name(d.role), d.region ? d.region : "-");
    fputs(text.data, stdout);
    status = 0;
out:
    pol_policy_unref(p);
    cmn_buf_free(&text);
    cmn_arena_free(&arena);
    return status;
}

static int cmd_diff(args_t *a)
{
    int unreadable;
    pol_policy_t *old_policy = load(a->files[0], &a->regions, &unreadable);
    pol_policy_t *new_policy = old_policy ? load(a->files[1], &a->regions, &unreadable) : NULL;
    int status = 2;
    cmn_buf_t out;
    cmn_buf_init(&out, 256 * 1024 * 1024);
    if (!old_policy || !new_policy)
        goto done;
    size_t changes = 0;
    int rc = pol_diff(old_policy, new_policy, a->json, &out, &changes);
    if (rc != 0) {
        fprintf(stderr, "hubgate policy diff: %s\n", cmn_err_str(rc));
        goto done;
    }
    fputs(out.data ? out.data : "", stdout);
    status = changes ? 1 : 0;
done:
    cmn_buf_free(&out);
    pol_policy_unref(old_policy);
    pol_policy_unref(new_policy);
    return status;
}

int gw_cli_policy(int argc, char **argv)
{
    if (argc == 0) {
        fputs(usage_policy, stderr);
        return 2;
    }
    if (gw_cli_is_help(argv[0])) {
        fputs(usage_policy, stdout);
        return 0;
    }
    static const struct {
        const char *name, *usage;
        int (*run)(args_t *);
    } cmds[] = {
        {"check", usage_check, cmd_check},
        {"test", usage_test, cmd_test},
        {"explain", usage_explain, cmd_explain},
        {"diff", usage_diff, cmd_diff},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[0], cmds[i].name) != 0)
            continue;
        args_t a;
        memset(&a, 0, sizeof(a));
        a.name = cmds[i].name;
        a.usage = cmds[i].usage;
        int rc = parse_args(argc, argv, &a);
        if (rc < 0)
            rc = cmds[i].run(&a);
        free(a.regions.regions_copy);
        gw_config_free(a.regions.cfg);
        fflush(stdout);
        return rc;
    }
    fprintf(stderr,
            "hubgate policy: unknown subcommand \"%s\" (expected check, test, explain, "
            "diff)\n",
            argv[0]);
    return 2;
}
