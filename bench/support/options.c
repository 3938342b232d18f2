/* Command-line options of the bench programs: contract in options.h. */
#include "options.h"

#include <stdlib.h>
#include <string.h>

int bench_option(const bench_option_t *opts, int argc, char **argv, int *i)
{
    for (const bench_option_t *o = opts; o->name; o++) {
        if (strcmp(argv[*i], o->name) != 0)
            continue;
        if (o->flag) {
            *o->flag = 1;
            return 1;
        }
        if (*i + 1 >= argc)
            return -1;
        const char *v = argv[++*i];
        if (o->str) {
            *o->str = v;
            return 1;
        }
        char *end;
        *o->num = strtol(v, &end, 10);
        return *v && !*end ? 1 : -1;
    }
    return 0;
}

int bench_options(const bench_option_t *opts, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        int at = i;
        if (bench_option(opts, argc, argv, &i) <= 0)
            return at;
    }
    return 0;
}
