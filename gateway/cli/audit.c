#include "gateway/cli/audit.h"
#include "gateway/cli/cli.h"
#include "gateway/cli/audit_keys.h"
#include "gateway/cli/audit_retire.h"

#include "audit/archive.h"
#include "audit/verify.h"
#include "gateway/authz/route_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_keygen[] =
    "Usage: hubgate keygen --out FILE [--pubout FILE] [--force]\n"
    "\n"
    "Creates the Ed25519 key an instance signs its audit checkpoints with. FILE gets the\n"
    "private key (PEM, mode 0600); point the config's audit.signing_key at it. The key id and\n"
    "the public key are printed: give the public key to your auditors, who check checkpoints\n"
    "with `hubgate audit verify --pubkey FILE`.\n"
    "\n"
    "  --out FILE     where to write the private key (required; never overwritten without\n"
    "                 --force)\n"
    "  --pubout FILE  also write the public key (PEM) there\n"
    "  --force        replace existing files\n";

static const char usage_audit[] =
    "Usage: hubgate audit verify --database URL [--pubkey FILE]... [--checkpoint FILE]\n"
    "                            [--stream NAME] [--json]\n"
    "       hubgate audit keys --database URL [--stream NAME] [--pubout DIR] [--json]\n"
    "       hubgate audit checkpoints export --database URL --out FILE [--stream NAME]\n"
    "                                        [--since T] [--pubkey FILE]... [--force]\n"
    "       hubgate audit archive --database URL --month YYYY-MM|before-008 --out DIR ...\n"
    "       hubgate audit retire --database URL --stream NAME --key FILE ...\n"
    "(hubgate audit keys --help, hubgate audit checkpoints export --help, hubgate audit\n"
    "archive --help, hubgate audit retire --help for theirs.)\n"
    "\n"
    "Recomputes every stream's hash chain and checks every signed checkpoint, in one snapshot\n"
    "of the database (gateways may keep writing). Detects modified, deleted, inserted and\n"
    "reordered events, edited columns, forged or altered checkpoints, and - against a\n"
    "checkpoint file kept outside the database - a removed tail. Reports the stream, seq and\n"
    "kind of each problem.\n"
    "\n"
    "  --database URL     libpq URL; a member of hubgate_auditor is enough\n"
    "  --pubkey FILE      a public key (PEM) that may sign checkpoints; repeatable. Without\n"
    "                     it, the keys registered in the database are used, which proves\n"
    "                     consistency but not who signed\n"
    "  --checkpoint FILE  a checkpoint file (JSON Lines, as the gateway appends to\n"
    "                     <spool_dir>/<stream>.checkpoints) to check the database against\n"
    "  --stream NAME      verify one stream only\n"
    "  --json             print the report as one JSON object\n"
    "\n"
    "A stream whose first events were archived (hubgate audit archive) is taken up at the\n"
    "anchor the archive recorded, and its line says \"seq 1..N archived <when> (export manifest\n"
    "sha256 ...)\"; events missing that no archive explains are still reported deleted.\n"
    "\n"
    "Exit status: 0 everything holds; 1 a problem was found; 2 bad usage; 3 could not verify\n"
    "(database unreachable, unreadable file).\n";

static const char usage_archive[] =
    "Usage: hubgate audit archive --database URL --month YYYY-MM|before-008 --out DIR\n"
    "                             [--key FILE] [--pubkey FILE]... [--checkpoint FILE]...\n"
    "                             [--detach]\n"
    "\n"
    "Retention of the audit log, one monthly partition of audit_event at a time (UTC months;\n"
    "before-008 is the partition holding every event written before schema 008, archived as\n"
    "a whole). Each step prints what it did:\n"
    "  1. checks the partition may go: its range is over (the current and future months are\n"
    "     refused), no older partition is still attached, and each stream's events in it are\n"
    "     one run of seqs taking up where its last archive ended;\n"
    "  2. exports it into DIR: the evidence report (hubgate report soc2) over the partition's\n"
    "     exact range, whose events.jsonl holds every stream's events from a signed\n"
    "     checkpoint (or the genesis, or the last archive) before the range to one signed\n"
    "     after it;\n"
    "  3. verifies DIR as hubgate report verify does, and that each stream's events in the\n"
    "     partition are inside its proven range; a month whose export does not verify is\n"
    "     refused;\n"
    "  4. with --detach only: lends hubgate_owner as db migrate does, detaches the partition,\n"
    "     renames it <partition>_archived and records the archival in audit_archive (per\n"
    "     stream: first and last seq, last hash, the export's manifest SHA-256, when, who),\n"
    "     then takes hubgate_owner back. The renamed table is kept, append-only: drop it\n"
    "     (DROP TABLE) once DIR is stored where you keep evidence.\n"
    "Afterwards audit verify and report soc2 take each stream up at its archived anchor.\n"
    "Every stream of the database needs a checkpoint signed after the partition's end, as for\n"
    "any report over that range (a running gateway signs one every audit.checkpoint_seconds).\n"
    "\n"
    "  --database URL     libpq URL; with --detach, the role that runs db migrate (or a\n"
    "                     superuser); without, an auditor role is enough\n"
    "  --month M          YYYY-MM (the partition audit_event_YYYY_MM) or before-008\n"
    "  --out DIR          where to write the export; must not exist\n"
    "  --key FILE         an Ed25519 private key (PEM) that signs the export's manifest.json\n"
    "  --pubkey FILE      a key the export is verified with (repeatable): the instances' audit\n"
    "                     keys and the --key's public key. Without, those the database\n"
    "                     registered (and --key), which proves consistency, not who signed\n"
    "  --checkpoint FILE  a checkpoint file kept off the database (repeatable)\n"
    "  --detach           detach the partition once its export verified\n"
    "\n"
    "Exit status: 0 done; 1 refused or failed, nothing detached (the reason on stderr);\n"
    "2 bad usage.\n";

int gw_cli_keygen(int argc, char **argv)
{
    const char *out = NULL, *pubout = NULL;
    int force = 0;
    for (int i = 0; i < argc; i++) {
        int m;
        if (gw_cli_is_help(argv[i])) {
            fputs(usage_keygen, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--force") == 0) {
            force = 1;
            continue;
        }
        if ((m = gw_cli_take_option(argc, argv, &i, "--out", "keygen", &out)) == 0)
            m = gw_cli_take_option(argc, argv, &i, "--pubout", "keygen", &pubout);
        if (m < 0)
            return 2; /* said why */
        if (m == 0) {
            fprintf(stderr, "hubgate keygen: unknown argument \"%s\" (see hubgate keygen --help)\n",
                    argv[i]);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "hubgate keygen: --out FILE is required (see hubgate keygen --help)\n");
        return 2;
    }
    aud_key_t *key = aud_key_generate();
    if (!key) {
        fprintf(stderr, "hubgate keygen: cannot generate a key (OpenSSL failed)\n");
        return 1;
    }
    char err[512];
    int rc = 0;
    cmn_buf_t pem;
    cmn_buf_init(&pem, 4096);
    if (aud_key_write_private(key, out, force, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubgate keygen: %s\n", err);
        rc = 1;
    } else if (pubout && aud_key_write_public(key, pubout, force, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubgate keygen: %s (the private key is in %s)\n", err, out);
        rc = 1;
    } else if (aud_key_public_pem(key, &pem) != 0) {
        fprintf(stderr, "hubgate keygen: cannot encode the public key\n");
        rc = 1;
    } else {
        printf("wrote %s (Ed25519 private key, mode 0600)\n", out);
        if (pubout)
            printf("wrote %s (public key)\n", pubout);
        printf("key id: %s\n%s", aud_key_id(key), pem.data);
    }
    cmn_buf_free(&pem);
    aud_key_free(key);
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    aud_verify_options_t o;
    memset(&o, 0, sizeof(o));
    const char **pubkeys = calloc((size_t)argc + 1, sizeof(char *));
    int json = 0, rc;
    if (!pubkeys) {
        fprintf(stderr, "hubgate audit verify: out of memory\n");
        return 3;
    }
    for (int i = 1; i < argc; i++) {
        int m;
        const char *pk = NULL;
        if (gw_cli_is_help(argv[i])) {
            fputs(usage_audit, stdout);
            free(pubkeys);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        static const char cmd[] = "audit verify";
        if ((m = gw_cli_take_option(argc, argv, &i, "--database", cmd, &o.database_url)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--checkpoint", cmd, &o.checkpoint_file)) ==
                0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--stream", cmd, &o.stream)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--pubkey", cmd, &pk)) == 1)
            pubkeys[o.n_pubkeys++] = pk;
        if (m < 0) {
            free(pubkeys); /* said why */
            return 2;
        }
        if (m == 0) {
            fprintf(stderr,
                    "hubgate audit verify: unknown argument \"%s\" (see hubgate audit --help)\n",
                    argv[i]);
            free(pubkeys);
            return 2;
        }
    }
    if (!o.database_url) {
        fprintf(stderr, "hubgate audit verify: --database URL is required\n");
        free(pubkeys);
        return 2;
    }
    o.pubkey_files = pubkeys;
    aud_verify_report_t report;
    char err[1024];
    if (aud_verify_run(&o, &report, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubgate audit verify: %s\n", err);
        rc = 3;
    } else {
        if (json)
            aud_verify_print_json(&report, stdout);
        else
            aud_verify_print_text(&report, stdout);
        rc = report.ok ? 0 : 1;
    }
    aud_verify_report_free(&report);
    free(pubkeys);
    return rc;
}

static int cmd_archive(int argc, char **argv)
{
    static const char cmd[] = "audit archive";
    aud_archive_options_t o;
    memset(&o, 0, sizeof(o));
    const char **keys = calloc((size_t)argc + 1, sizeof(char *));
    const char **cps = calloc((size_t)argc + 1, sizeof(char *));
    int rc = 2;
    if (!keys || !cps) {
        fprintf(stderr, "hubgate audit archive: out of memory\n");
        rc = 1;
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        int m;
        const char *val = NULL;
        if (gw_cli_is_help(argv[i])) {
            fputs(usage_archive, stdout);
            rc = 0;
            goto out;
        }
        if (strcmp(argv[i], "--detach") == 0) {
            o.detach = 1;
            continue;
        }
        if ((m = gw_cli_take_option(argc, argv, &i, "--database", cmd, &o.database_url)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--month", cmd, &o.month)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--out", cmd, &o.out_dir)) == 0 &&
            (m = gw_cli_take_option(argc, argv, &i, "--key", cmd, &o.key_file)) == 0) {
            if ((m = gw_cli_take_option(argc, argv, &i, "--pubkey", cmd, &val)) == 1)
                keys[o.n_pubkeys++] = val;
            else if (m == 0 &&
                     (m = gw_cli_take_option(argc, argv, &i, "--checkpoint", cmd, &val)) == 1)
                cps[o.n_checkpoint_files++] = val;
        }
        if (m < 0)
            goto out; /* said why */
        if (m == 0) {
            fprintf(stderr,
                    "hubgate audit archive: unknown argument \"%s\" (see hubgate audit archive "
                    "--help)\n",
                    argv[i]);
            goto out;
        }
    }
    const char *missing = !o.database_url ? "--database URL"
                          : !o.month      ? "--month YYYY-MM|before-008"
                          : !o.out_dir    ? "--out DIR"
                                          : NULL;
    if (missing) {
        fprintf(stderr,
                "hubgate audit archive: %s is required (see hubgate audit archive --help)\n",
                missing);
        goto out;
    }
    o.pubkey_files = keys;
    o.checkpoint_files = cps;
    o.policy_route = gw_route_policy_classify;
    char err[1024];
    fflush(stdout);
    if (aud_archive_run(&o, stdout, err, sizeof(err)) != 0) {
        fflush(stdout);
        fprintf(stderr, "hubgate audit archive: %s\n", err);
        rc = 1;
    } else {
        rc = 0;
    }
out:
    free(keys);
    free(cps);
    return rc;
}

int gw_cli_audit(int argc, char **argv)
{
    static const gw_cli_command_t cmds[] = {
        {"verify", cmd_verify},
        {"keys", gw_cli_audit_keys},
        {"checkpoints", gw_cli_audit_checkpoints},
        {"archive", cmd_archive},
        {"retire", gw_cli_audit_retire},
    };
    return gw_cli_dispatch("audit", usage_audit, cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
