/* `hubgate audit retire`: contract in audit_retire.h. */
#include "gateway/cli/audit_retire.h"
#include "gateway/cli/cli.h"

#include "audit/retire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_retire[] =
    "Usage: hubgate audit retire --database URL --stream NAME --key FILE [--reason TEXT]\n"
    "                            [--pubkey FILE]... [--checkpoint FILE]\n"
    "\n"
    "Ends an audit stream whose instance is gone for good (a host decommissioned, a\n"
    "StatefulSet scaled down for good). Such a stream never signs another checkpoint, so an\n"
    "evidence report over any later period could not prove it complete, and audit archive\n"
    "would refuse every later month. Each step prints what it did:\n"
    "  1. lends hubgate_owner as db migrate does, and refuses a stream already retired or one\n"
    "     a live gateway still writes to (it holds the stream's lock);\n"
    "  2. verifies the stream as audit verify --stream does: one that does not verify is\n"
    "     refused, so that the retirement never vouches for a tampered tail;\n"
    "  3. in one transaction: appends a stream.retired event (who, and --reason) chained onto\n"
    "     the stream's head, signs a checkpoint over it with --key, and records the\n"
    "     retirement in audit_stream_retired;\n"
    "  4. prints that checkpoint's line, and appends it to --checkpoint FILE when given.\n"
    "Reports close the stream at that checkpoint for every later period, and report verify\n"
    "accepts it because the event it signs is the stream's retirement. A gateway started\n"
    "with a retired stream's name stops with an error: give it another audit.stream.\n"
    "\n"
    "  --database URL     libpq URL of the role that runs db migrate (or a superuser)\n"
    "  --stream NAME      the stream to retire\n"
    "  --key FILE         the audit signing key (private, PEM) that signs the last\n"
    "                     checkpoint: the instances' audit.signing_key\n"
    "  --reason TEXT      why, kept in the event (at most 200 printable bytes)\n"
    "  --pubkey FILE      a key step 2 verifies with (repeatable); without, those the\n"
    "                     database registered\n"
    "  --checkpoint FILE  the stream's checkpoint file kept off the database: checked in\n"
    "                     step 2, the last checkpoint appended to it in step 4\n"
    "\n"
    "Exit status: 0 retired; 1 refused or failed (the reason on stderr); 2 bad usage.\n";

int gw_cli_audit_retire(int argc, char **argv)
{
    static const char cmd[] = "audit retire";
    aud_retire_options_t o;
    memset(&o, 0, sizeof(o));
    const char **keys = calloc((size_t)argc + 1, sizeof(char *));
    int rc = 2;
    if (!keys) {
        fprintf(stderr, "hubgate audit retire: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        int m;
        const char *val = NULL;
        if (gw_cli_is_help(argv[i])) {
            fputs(usage_retire, stdout);
            rc = 0;
            goto out;
        }
        if ((m = gw_cli_take_option(argc, argv, &i, "--database", cmd, &o.database_url)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--stream", cmd, &o.stream)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--key", cmd, &o.key_file)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--reason", cmd, &o.reason)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--checkpoint", cmd, &o.checkpoint_file)) ==
                0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--pubkey", cmd, &val)) == 1)
            keys[o.n_pubkeys++] = val;
        if (m < 0)
            goto out; /* said why */
        if (m == 0) {
            fprintf(stderr,
                    "hubgate audit retire: unknown argument \"%s\" (see hubgate audit retire "
                    "--help)\n",
                    argv[i]);
            goto out;
        }
    }
    const char *missing = !o.database_url ? "--database URL"
                          : !o.stream     ? "--stream NAME"
                          : !o.key_file   ? "--key FILE"
                                          : NULL;
    if (missing) {
        fprintf(stderr, "hubgate audit retire: %s is required (see hubgate audit retire --help)\n",
                missing);
        goto out;
    }
    o.pubkey_files = keys;
    char err[1024];
    fflush(stdout);
    rc = 0;
    if (aud_retire_run(&o, stdout, err, sizeof(err)) != 0) {
        fflush(stdout);
        fprintf(stderr, "hubgate audit retire: %s\n", err);
        rc = 1;
    }
out:
    free(keys);
    return rc;
}
