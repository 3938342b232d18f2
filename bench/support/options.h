/* Command-line options of the bench programs, from a table: --name VALUE into a string or a
 * whole number, --name alone into a flag. */
#ifndef HUBGATE_BENCH_OPTIONS_H
#define HUBGATE_BENCH_OPTIONS_H

typedef struct {
    const char *name; /* "--events" */
    const char **str; /* the value as given, or */
    long *num;        /* the value as a whole number (base 10), or */
    int *flag;        /* no value: set to 1 */
} bench_option_t;

/* Matches argv[*i] against opts (ended by an entry whose name is NULL) and stores its value,
 * moving *i onto the value it took. Returns 1 when matched, 0 when argv[*i] is none of opts, -1
 * when its value is missing or not a whole number. */
int bench_option(const bench_option_t *opts, int argc, char **argv, int *i);

/* Reads every argument with bench_option. Returns 0, or the index of the first argument that
 * is none of opts or lacks its value. */
int bench_options(const bench_option_t *opts, int argc, char **argv);

#endif
