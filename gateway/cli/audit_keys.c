/* `hubgate audit keys` and `hubgate audit checkpoints export`: contract in audit_keys.h. */
#include "gateway/cli/audit_keys.h"
#include "audit/event.h"
#include "audit/inventory.h"
#include "audit/report.h"
#include "common/err.h"
#include "common/file.h"
#include "gateway/cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_keys[] =
    "Usage: hubgate audit keys --database URL [--stream NAME] [--pubout DIR] [--json]\n"
    "\n"
    "Lists, for each audit stream, every public key it may sign checkpoints with: the key the\n"
    "stream was created with and each one registered since (a gateway started or reloaded with\n"
    "a new audit.signing_key registers it before signing with it). For each: its id, when it\n"
    "was registered, how many checkpoints it signed and when the first and last were. Old keys\n"
    "stay registered, so old checkpoints keep verifying after a rotation.\n"
    "\n"
    "  --database URL  libpq URL; a member of hubgate_auditor is enough (a read-only replica\n"
    "                  works)\n"
    "  --stream NAME   one stream only\n"
    "  --pubout DIR    also write each key as DIR/<key id>.pub (PEM), to pin with\n"
    "                  hubgate audit verify --pubkey once you have checked them\n"
    "  --json          one JSON object instead of text\n"
    "\n"
    "A key listed here proves consistency, not who signed: whoever can write the database can\n"
    "register a key. Compare the ids with the keys your gateways' operators hand you.\n"
    "Exit status: 0 listed; 1 a registered key is not the key its id names; 2 bad usage;\n"
    "3 the database could not be read.\n";

static const char usage_checkpoints[] =
    "Usage: hubgate audit checkpoints export --database URL --out FILE [--stream NAME]\n"
    "                                        [--since T] [--pubkey FILE]... [--force]\n"
    "\n"
    "Copies the signed checkpoints out of the database into FILE (JSON Lines, the format of the\n"
    "gateway's own <spool_dir>/<stream>.checkpoints), for an auditor to keep where the\n"
    "database's administrators cannot reach. Later, hubgate audit verify --checkpoint FILE (and\n"
    "hubgate report verify --checkpoint FILE) proves that no event those checkpoints cover was\n"
    "removed or altered since, even a tail.\n"
    "\n"
    "Every signature is checked first, with the --pubkey keys when given, else with the keys\n"
    "registered for each stream; if one does not verify, nothing is written. The file is\n"
    "written under a temporary name and renamed: it is whole or absent. Prints the number of\n"
    "checkpoints and streams and the file's SHA-256, to record beside it.\n"
    "\n"
    "  --database URL  libpq URL; a member of hubgate_auditor is enough (a read-only replica\n"
    "                  works)\n"
    "  --out FILE      where to write; an existing file is refused unless --force\n"
    "  --stream NAME   one stream only\n"
    "  --since T       only checkpoints at or after T: a date (2024-05-01) or an RFC 3339 time\n"
    "  --pubkey FILE   a public key (PEM) that may have signed; repeatable\n"
    "  --force         replace FILE\n"
    "\n"
    "Exit status: 0 written; 1 a signature did not verify (nothing written); 2 bad usage;\n"
    "3 the database could not be read or the file not written.\n";

static void print_time(const char *label, int64_t us)
{
    char ts[28];
    aud_time_format(us, ts);
    printf("%s%s", label, ts);
}

static json_t *time_json(int64_t us)
{
    if (!us)
        return json_null();
    char ts[28];
    aud_time_format(us, ts);
    return json_string(ts);
}

/* DIR/<key id>.pub; an existing file holding the same text is kept. */
static int write_pub(const char *dir, const aud_stream_key_t *k)
{
    char path[4200], err[512];
    if (snprintf(path, sizeof(path), "%s/%s.pub", dir, k->key_id) >= (int)sizeof(path)) {
        fprintf(stderr, "hubgate audit keys: --pubout %.80s…: too long a path\n", dir);
        return CMN_ERR_INVAL;
    }
    size_t len = strlen(k->public_pem);
    int rc = cmn_file_write_atomic(path, k->public_pem, len, 0644, 0, "a different key", err,
                                   sizeof(err));
    if (rc == CMN_ERR_CONFLICT) {
        FILE *f = fopen(path, "r");
        char *have = malloc(len + 2);
        size_t got = f && have ? fread(have, 1, len + 1, f) : 0;
        if (f)
            fclose(f);
        rc = got == len && memcmp(have, k->public_pem, len) == 0 ? 0 : rc;
        free(have);
    }
    if (rc != 0)
        fprintf(stderr, "hubgate audit keys: %s\n", err);
    return rc;
}

int gw_cli_audit_keys(int argc, char **argv)
{
    const char *url = NULL, *stream = NULL, *pubout = NULL;
    int json = 0;
    const gw_cli_option_t opts[] = {{"--database", &url, NULL},
                                    {"--stream", &stream, NULL},
                                    {"--pubout", &pubout, NULL},
                                    {"--json", NULL, &json}};
    int prc = gw_cli_parse(argc, argv, 1, "audit keys", usage_keys, opts, 4);
    if (prc >= 0)
        return prc;
    if (!url) {
        fprintf(stderr, "hubgate audit keys: --database URL is required\n");
        return 2;
    }
    aud_stream_key_t *keys;
    size_t n;
    char err[1024];
    if (aud_stream_keys_read(url, stream, &keys, &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubgate audit keys: %s\n", err);
        return 3;
    }
    int rc = 0;
    json_t *streams = json ? json_array() : NULL, *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        const aud_stream_key_t *k = &keys[i];
        int new_stream = i == 0 || strcmp(k->stream, keys[i - 1].stream) != 0;
        if (k->problem[0])
            rc = 1;
        if (pubout && !k->problem[0] && write_pub(pubout, k) != 0)
            rc = 3;
        if (json) {
            if (new_stream) {
                cur = json_array();
                json_array_append_new(streams,
                                      json_pack("{s:s, s:o}", "name", k->stream, "keys", cur));
            }
            json_array_append_new(
                cur,
                json_pack("{s:s, s:b, s:o, s:I, s:o, s:o, s:s, s:s?}", "key_id", k->key_id, "first",
                          k->first, "added", time_json(k->added_us), "checkpoints",
                          (json_int_t)k->checkpoints, "first_checkpoint", time_json(k->first_cp_us),
                          "last_checkpoint", time_json(k->last_cp_us), "public_key", k->public_pem,
                          "problem", k->problem[0] ? k->problem : NULL));
            continue;
        }
        if (new_stream)
            printf("stream %s\n", k->stream);
        printf("  key %s  ", k->key_id);
        print_time(k->first ? "created with the stream " : "registered ", k->added_us);
        printf("  %lld checkpoint%s", (long long)k->checkpoints, k->checkpoints == 1 ? "" : "s");
        if (k->checkpoints) {
            print_time(", ", k->first_cp_us);
            print_time(" .. ", k->last_cp_us);
        }
        printf("\n");
        if (k->problem[0])
            printf("    PROBLEM: %s\n", k->problem);
    }
    if (json) {
        json_t *doc = json_pack("{s:o}", "streams", streams);
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
        json_decref(doc);
    } else if (n == 0) {
        printf(stream ? "no stream named %s\n" : "no audit stream yet\n", stream);
    }
    if (pubout && rc == 0)
        fprintf(stderr, "wrote the public keys into %s as <key id>.pub\n", pubout);
    aud_stream_keys_free(keys, n);
    return rc;
}

static int cmd_export(int argc, char **argv)
{
    aud_cp_export_options_t o;
    memset(&o, 0, sizeof(o));
    const char *since = NULL;
    const char **pubkeys = calloc((size_t)argc + 1, sizeof(char *));
    size_t n_pub = 0;
    if (!pubkeys)
        return 3;
    int rc = -1;
    for (int i = 1; i < argc && rc < 0; i++) {
        static const char cmd[] = "audit checkpoints export";
        const char *pk = NULL;
        int m;
        if (gw_cli_is_help(argv[i])) {
            fputs(usage_checkpoints, stdout);
            rc = 0;
        } else if (strcmp(argv[i], "--force") == 0) {
            o.overwrite = 1;
        } else if ((m = gw_cli_take_option(argc, argv, &i, "--database", cmd, &o.database_url)) ==
                       0 &&
                   (m = gw_cli_take_option(argc, argv, &i, "--out", cmd, &o.out_path)) == 0 &&
                   (m = gw_cli_take_option(argc, argv, &i, "--stream", cmd, &o.stream)) == 0 &&
                   (m = gw_cli_take_option(argc, argv, &i, "--since", cmd, &since)) == 0 &&
                   (m = gw_cli_take_option(argc, argv, &i, "--pubkey", cmd, &pk)) == 0) {
            fprintf(stderr,
                    "hubgate audit checkpoints export: unknown argument \"%s\" (see --help)\n",
                    argv[i]);
            rc = 2;
        } else if (m < 0) {
            rc = 2; /* said why */
        } else if (pk) {
            pubkeys[n_pub++] = pk;
        }
    }
    if (rc < 0 && (!o.database_url || !o.out_path)) {
        fprintf(stderr, "hubgate audit checkpoints export: %s is required\n",
                !o.database_url ? "--database URL" : "--out FILE");
        rc = 2;
    }
    if (rc < 0 && o.stream && !aud_stream_name_ok(o.stream)) {
        fprintf(stderr,
                "hubgate audit checkpoints export: --stream \"%.80s\" is not a stream name\n",
                o.stream);
        rc = 2;
    }
    if (rc < 0 && since && aud_report_parse_time(since, &o.since_us) != 0) {
        fprintf(stderr,
                "hubgate audit checkpoints export: --since \"%s\": not a date (2024-05-01) or "
                "an RFC 3339 time (2024-05-01T12:00:00Z)\n",
                since);
        rc = 2;
    }
    char err[1024];
    aud_keyring_t pinned = {0};
    if (rc < 0 && n_pub && aud_keyring_load(&pinned, pubkeys, n_pub, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubgate audit checkpoints export: %s\n", err);
        rc = 3;
    }
    if (rc < 0) {
        o.pinned = &pinned;
        aud_cp_export_result_t r;
        if (aud_checkpoints_export(&o, &r, err, sizeof(err)) != 0) {
            fprintf(stderr, "hubgate audit checkpoints export: %s\n", err);
            rc = 3;
        } else if (r.unverified) {
            fprintf(stderr,
                    "hubgate audit checkpoints export: %lld of %lld checkpoints do not verify, "
                    "first %s; nothing written (run hubgate audit verify)\n",
                    (long long)r.unverified, (long long)r.checkpoints, r.first_unverified);
            rc = 1;
        } else {
            printf("wrote %s: %lld checkpoint%s of %zu stream%s, signatures checked with %s\n"
                   "sha256 %s\n",
                   o.out_path, (long long)r.checkpoints, r.checkpoints == 1 ? "" : "s", r.streams,
                   r.streams == 1 ? "" : "s", n_pub ? "the pinned keys" : "the registered keys",
                   r.sha256);
            rc = 0;
        }
    }
    aud_keyring_free(&pinned);
    free(pubkeys);
    return rc;
}

int gw_cli_audit_checkpoints(int argc, char **argv)
{
    static const gw_cli_command_t cmds[] = {
        {"export", cmd_export},
    };
    return gw_cli_dispatch("audit checkpoints", usage_checkpoints, cmds, 1, argc - 1, argv + 1);
}
