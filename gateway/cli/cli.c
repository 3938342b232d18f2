#include "gateway/cli/cli.h"

#include <stdio.h>
#include <string.h>

int gw_cli_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

int gw_cli_take_option(int argc, char **argv, int *i, const char *name, const char *command,
                       const char **value)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "hubgate %s: %s needs a value\n", command, name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int gw_cli_dispatch(const char *command, const char *usage, const gw_cli_command_t *cmds,
                    size_t n, int argc, char **argv)
{
    if (argc == 0 || gw_cli_is_help(argv[0])) {
        fputs(usage, argc == 0 ? stderr : stdout);
        return argc == 0 ? 2 : 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[0], cmds[i].name) == 0)
            return cmds[i].run(argc, argv);
    }
    fprintf(stderr, "hubgate %s: unknown subcommand \"%s\" (expected ", command, argv[0]);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", cmds[i].name);
    fputs(")\n", stderr);
    return 2;
}

int gw_cli_parse(int argc, char **argv, int from, const char *command, const char *usage,
                 const gw_cli_option_t *opts, size_t n)
{
    for (int i = from; i < argc; i++) {
        if (gw_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        }
        int m = 0;
        for (size_t k = 0; k < n && m == 0; k++) {
            if (opts[k].flag) {
                m = strcmp(argv[i], opts[k].name) == 0;
                if (m)
                    *opts[k].flag = 1;
            } else {
                m = gw_cli_take_option(argc, argv, &i, opts[k].name, command, opts[k].value);
            }
        }
        if (m < 0)
            return 2;
        if (m == 0) {
            fprintf(stderr, "hubgate %s: unknown argument \"%s\" (see hubgate %s --help)\n",
                    command, argv[i], command);
            return 2;
        }
    }
    return -1;
}
