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
