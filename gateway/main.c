/* hubgate: one binary, one command per job (docs/architecture.md). Each command prints
 * --help; bad input exits non-zero with one line saying what and where. */

#include "gateway/cli/cli.h"
#include "gateway/cli/audit.h"
#include "gateway/cli/db.h"
#include "gateway/cli/policy.h"
#include "gateway/cli/report.h"

#include "gateway/server/server.h"
#include "gateway/version.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_main[] =
    "hubgate " HUBGATE_VERSION " - compliance gateway for Hugging Face Hub-compatible servers\n"
    "\n"
    "Usage:\n"
    "  hubgate serve --config FILE [--check]   run the gateway (--check: validate and exit)\n"
    "  hubgate db migrate --database URL       create or upgrade the database schema\n"
    "  hubgate db role create --database URL --kind gateway|auditor --name NAME\n"
    "                                          create a least-privileged login role\n"
    "  hubgate keygen --out FILE               create the Ed25519 key that signs the audit log\n"
    "  hubgate audit verify --database URL [--pubkey FILE] [--checkpoint FILE] [--json]\n"
    "                                          check every chain and signature of the log\n"
    "  hubgate audit archive --database URL --month YYYY-MM|before-008 --out DIR [--detach]\n"
    "                                          export, verify and detach a month of the log\n"
    "  hubgate report verify DIR --pubkey FILE... [--checkpoint FILE...]\n"
    "                                          check a report directory offline\n"
    "  hubgate policy check|test FILE          validate a policy / run its embedded tests\n"
    "  hubgate policy explain FILE --subject JSON --request \"METHOD PATH\"\n"
    "                                          show the decision and the rule that made it\n"
    "  hubgate policy diff OLD NEW [--json]    who gains or loses which access\n"
    "  hubgate report soc2 --database URL --from T --to T [--org ORG] --out DIR [--key FILE]\n"
    "                                          write a SOC 2 evidence report for a period\n"
    "  hubgate --version                       print the version\n"
    "  hubgate --help                          print this help\n"
    "\n"
    "Run 'hubgate COMMAND --help' for the options of a command.\n"
    "Environment: HUBGATE_LOG_LEVEL=error|warn|info|debug (default info).\n";

static const char usage_serve[] =
    "Usage: hubgate serve --config FILE [--check]\n"
    "\n"
    "Runs the gateway with the JSON configuration FILE (see deploy/hubgate.example.json).\n"
    "Relative paths in FILE resolve against FILE's folder.\n"
    "\n"
    "  --config FILE   configuration file (required)\n"
    "  --check         validate FILE and the files it names, print the problems, and exit:\n"
    "                  0 when valid, 1 otherwise (like nginx -t)\n"
    "\n"
    "Signals: SIGTERM or SIGINT stop it.\n";

static int cmd_serve(int argc, char **argv)
{
    const char *config = NULL;
    int check = 0;
    const gw_cli_option_t opts[] = {{"--config", &config, NULL}, {"--check", NULL, &check}};
    int rc = gw_cli_parse(argc, argv, 0, "serve", usage_serve, opts, 2);
    if (rc >= 0)
        return rc;
    if (!config) {
        fprintf(stderr, "hubgate serve: --config FILE is required (see hubgate serve --help)\n");
        return 2;
    }
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1024 * 1024);
    gw_config_t *cfg = gw_config_load(config, &errors);
    if (!cfg) {
        fputs(errors.data ? errors.data : "invalid configuration\n", stderr);
        cmn_buf_free(&errors);
        return 1;
    }
    cmn_buf_free(&errors);
    if (check) {
        rc = gw_serve_check(cfg);
        if (rc == 0)
            printf("%s: configuration is valid\n", config);
    } else {
        rc = gw_serve_run(cfg);
    }
    gw_config_free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (gw_cli_is_help(cmd)) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("hubgate %s (%s)\n", HUBGATE_VERSION, HUBGATE_GIT_REV);
        return 0;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "hubgate: libcurl failed to initialise\n");
        return 1;
    }
    int rc;
    if (strcmp(cmd, "serve") == 0)
        rc = cmd_serve(argc - 2, argv + 2);
    else if (strcmp(cmd, "db") == 0)
        rc = gw_cli_db(argc - 2, argv + 2);
    else if (strcmp(cmd, "policy") == 0)
        rc = gw_cli_policy(argc - 2, argv + 2);
    else if (strcmp(cmd, "keygen") == 0)
        rc = gw_cli_keygen(argc - 2, argv + 2);
    else if (strcmp(cmd, "audit") == 0)
        rc = gw_cli_audit(argc - 2, argv + 2);
    else if (strcmp(cmd, "report") == 0)
        rc = gw_cli_report(argc - 2, argv + 2);
    else {
        fprintf(stderr, "hubgate: unknown command \"%s\" (see hubgate --help)\n", cmd);
        rc = 2;
    }
    curl_global_cleanup();
    return rc;
}
