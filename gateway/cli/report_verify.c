#include "gateway/cli/report_verify.h"
#include "audit/report_verify.h"
#include "gateway/cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: hubgate report verify DIR --pubkey FILE... [--checkpoint FILE...] [--json]\n"
    "\n"
    "Checks a report directory written by `hubgate report soc2`, offline (no database):\n"
    "  1. every file's SHA-256 against manifest.json, and manifest.sig against the keys given;\n"
    "  2. for each stream, the signed checkpoints at or before the period's start and at or\n"
    "     after its end, against the keys given (never keys taken from the report), and the\n"
    "     hash chain recomputed over events.jsonl from one to the other;\n"
    "  3. every event shown whole is canonical and says rightly whether it lies in the period;\n"
    "     in an org's report, no event of that org is hidden and no other org's is shown;\n"
    "  4. report.json's counts, recomputed from the events shown whole.\n"
    "Completeness rests on step 2: an event removed, added, altered or reordered fails it even\n"
    "when the manifest was recomputed and re-signed.\n"
    "\n"
    "  --pubkey FILE      a public key (PEM) you trust: the instances' audit keys (one per\n"
    "                     stream or instance) and the key that signed the manifest; repeatable,\n"
    "                     at least one\n"
    "  --checkpoint FILE  a checkpoint file you kept (JSON Lines, as the gateway appends to\n"
    "                     <spool_dir>/<stream>.checkpoints): each of its checkpoints within a\n"
    "                     stream's range must match the chain; repeatable\n"
    "  --json             print the result as one JSON object\n"
    "\n"
    "Exit status: 0 everything holds; 1 a problem was found (the first of each kind is named:\n"
    "file, line, stream, seq); 2 bad usage; 3 could not verify (unreadable DIR, key or file).\n";

int gw_cli_report_verify(int argc, char **argv)
{
    static const char cmd[] = "report verify";
    aud_report_verify_options_t o;
    memset(&o, 0, sizeof(o));
    const char **keys = calloc((size_t)argc + 1, sizeof(char *));
    const char **cps = calloc((size_t)argc + 1, sizeof(char *));
    int json = 0, rc = 2;
    if (!keys || !cps) {
        fprintf(stderr, "hubgate report verify: out of memory\n");
        rc = 3;
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        int m;
        const char *val = NULL;
        if (gw_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            rc = 0;
            goto out;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if ((m = gw_cli_take_option(argc, argv, &i, "--pubkey", cmd, &val)) == 1) {
            keys[o.n_pubkeys++] = val;
            continue;
        }
        if (m == 0 && (m = gw_cli_take_option(argc, argv, &i, "--checkpoint", cmd, &val)) == 1) {
            cps[o.n_checkpoint_files++] = val;
            continue;
        }
        if (m < 0)
            goto out; /* said why */
        if (argv[i][0] == '-' || o.dir) {
            fprintf(stderr,
                    "hubgate report verify: unknown argument \"%s\" (see hubgate report verify "
                    "--help)\n",
                    argv[i]);
            goto out;
        }
        o.dir = argv[i];
    }
    if (!o.dir || o.n_pubkeys == 0) {
        fprintf(stderr,
                "hubgate report verify: %s is required (see hubgate report verify --help)\n",
                !o.dir ? "DIR" : "--pubkey FILE");
        goto out;
    }
    o.pubkey_files = keys;
    o.checkpoint_files = cps;
    aud_report_verify_result_t result;
    char err[1024];
    if (aud_report_verify_run(&o, &result, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubgate report verify: %s\n", err);
        rc = 3;
    } else {
        if (json)
            aud_report_verify_print_json(&result, stdout);
        else
            aud_report_verify_print_text(&result, stdout);
        rc = result.ok ? 0 : 1;
    }
    aud_report_verify_result_free(&result);
out:
    free(keys);
    free(cps);
    return rc;
}
