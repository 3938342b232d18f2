#include "gateway/cli/audit.h"
#include "gateway/cli/cli.h"
#include "gateway/cli/audit_keys.h"

#include "audit/verify.h"

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
    "(hubgate audit keys --help, hubgate audit checkpoints export --help for theirs.)\n"
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
    "Exit status: 0 everything holds; 1 a problem was found; 2 bad usage; 3 could not verify\n"
    "(database unreachable, unreadable file).\n";

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

int gw_cli_audit(int argc, char **argv)
{
    static const gw_cli_command_t cmds[] = {
        {"verify", cmd_verify},
        {"keys", gw_cli_audit_keys},
        {"checkpoints", gw_cli_audit_checkpoints},
    };
    return gw_cli_dispatch("audit", usage_audit, cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
