#include "gateway/cli/report.h"
#include "audit/report.h"
#include "gateway/cli/cli.h"
#include "gateway/authz/route_policy.h"
#include "gateway/cli/report_verify.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_report[] =
    "Usage: hubgate report soc2 --database URL --from T --to T [--org ORG] --out DIR\n"
    "                           [--key FILE] [--checkpoint FILE]...\n"
    "\n"
    "Writes a SOC 2 evidence report for the period [from, to) into the new directory DIR:\n"
    "report.json (counts per criterion, the policy versions in force, the integrity of each\n"
    "audit stream), report.html (the same for people), events.jsonl (every event needed to\n"
    "verify the period, with its hash chain), events.csv (the events in scope, for\n"
    "spreadsheets), manifest.json (the SHA-256 of each file) and, with --key, manifest.sig.\n"
    "Reads the audit log in one read-only snapshot; gateways may keep writing.\n"
    "\n"
    "  --database URL     libpq URL; an auditor role is enough (hubgate db role create\n"
    "                     --kind auditor)\n"
    "  --from T, --to T   the period, UTC: a date (2024-05-01, midnight) or an RFC 3339 time\n"
    "                     (2024-05-01T12:00:00Z, 2024-05-01T14:00:00+02:00); from inclusive,\n"
    "                     to exclusive\n"
    "  --org ORG          an org-scoped report: the org's events whole, other orgs' events\n"
    "                     reduced to their org and a commitment (see docs/evidence-format.md)\n"
    "  --out DIR          where to write; must not exist (written to a temporary name, then\n"
    "                     renamed)\n"
    "  --key FILE         an Ed25519 private key (PEM, from hubgate keygen) that signs\n"
    "                     manifest.json into manifest.sig\n"
    "  --checkpoint FILE  a checkpoint file kept outside the database (repeatable): its lines\n"
    "                     can bound the period, and those inside it are compared with the chain\n"
    "\n"
    "Check a report offline with hubgate report verify DIR --pubkey FILE... (see hubgate\n"
    "report verify --help).\n"
    "Exit status: 0 written; 1 could not be written (the reason on stderr); 2 bad usage.\n";

static int parse_bound(const char *name, const char *value, int64_t *us)
{
    if (aud_report_parse_time(value, us) != 0) {
        fprintf(stderr,
                "hubgate report soc2: %s \"%s\": not a date (2024-05-01) or an RFC 3339 time "
                "(2024-05-01T12:00:00Z)\n",
                name, value);
        return -1;
    }
    return 0;
}

/* After the report is written: what it holds, and a warning when it cannot prove the period
 * complete. */
static void summarize(const char *out)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/report.json", out);
    json_t *r = json_load_file(path, 0, NULL);
    json_t *totals = json_object_get(r, "totals");
    json_t *integ = json_object_get(r, "integrity");
    printf("wrote %s: %lld events in scope, %lld requests (%lld allowed, %lld denied), %zu "
           "streams\n",
           out, (long long)json_integer_value(json_object_get(totals, "events")),
           (long long)json_integer_value(json_object_get(totals, "requests")),
           (long long)json_integer_value(json_object_get(totals, "allowed")),
           (long long)json_integer_value(json_object_get(totals, "denied")),
           json_array_size(json_object_get(integ, "streams")));
    if (!json_is_true(json_object_get(integ, "complete")))
        fprintf(stderr,
                "hubgate report soc2: warning: the period cannot be shown complete for every "
                "stream (a checkpoint after the period is missing, or the chain has problems): "
                "see integrity in %s\n",
                path);
    json_decref(r);
}

static int cmd_soc2(int argc, char **argv)
{
    aud_report_options_t o;
    memset(&o, 0, sizeof(o));
    const char *from = NULL, *to = NULL, *out = NULL;
    const char **cps = calloc((size_t)argc + 1, sizeof(char *));
    int rc = 2;
    if (!cps) {
        fprintf(stderr, "hubgate report soc2: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        static const char cmd[] = "report soc2";
        const char *cp = NULL;
        int m;
        if (gw_cli_is_help(argv[i])) {
            fputs(usage_report, stdout);
            rc = 0;
            goto out;
        }
        if ((m = gw_cli_take_option(argc, argv, &i, "--database", cmd, &o.database_url)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--from", cmd, &from)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--to", cmd, &to)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--org", cmd, &o.org)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--out", cmd, &out)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--key", cmd, &o.key_file)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--checkpoint", cmd, &cp)) == 1)
            cps[o.n_checkpoint_files++] = cp;
        if (m < 0)
            goto out; /* said why */
        if (m == 0) {
            fprintf(stderr,
                    "hubgate report soc2: unknown argument \"%s\" (see hubgate report --help)\n",
                    argv[i]);
            goto out;
        }
    }
    const char *missing = !o.database_url ? "--database URL"
                          : !from         ? "--from T"
                          : !to           ? "--to T"
                          : !out          ? "--out DIR"
                                          : NULL;
    if (missing) {
        fprintf(stderr, "hubgate report soc2: %s is required (see hubgate report --help)\n",
                missing);
        goto out;
    }
    if (parse_bound("--from", from, &o.from_us) || parse_bound("--to", to, &o.to_us))
        goto out;
    if (o.to_us <= o.from_us) {
        fprintf(stderr, "hubgate report soc2: --to %s is not after --from %s\n", to, from);
        goto out;
    }
    o.checkpoint_files = cps;
    o.policy_route = gw_route_policy_classify;
    char err[1024];
    if (aud_report_soc2(&o, out, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubgate report soc2: %s\n", err);
        rc = 1;
        goto out;
    }
    summarize(out);
    rc = 0;
out:
    free(cps);
    return rc;
}

int gw_cli_report(int argc, char **argv)
{
    static const gw_cli_command_t cmds[] = {
        {"soc2", cmd_soc2},
        {"verify", gw_cli_report_verify},
    };
    return gw_cli_dispatch("report", usage_report, cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
