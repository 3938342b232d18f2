/* Files written whole or not at all: keys, exported checkpoints. */
#ifndef HUBGATE_COMMON_FILE_H
#define HUBGATE_COMMON_FILE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* A file being written under a temporary name beside its final path. */
typedef struct {
    FILE *f;    /* write through this */
    char *path; /* the final path */
    char *tmp;  /* the temporary one ("<path>.tmp-XXXXXX") */
} cmn_file_atomic_t;

/* Creates the temporary file (mode 0600) for path. Returns 0, or CMN_ERR_IO / CMN_ERR_NOMEM with a
 * one-line reason in err (nothing is left behind). Blocks (disk). */
int cmn_file_atomic_open(cmn_file_atomic_t *a, const char *path, char *err, size_t errlen);

/* Flushes and fsyncs what was written, sets mode, then links (or, with overwrite, renames) the
 * file into place and fsyncs the folder: the path holds the whole file or what it held before.
 * Without overwrite an existing path is refused: "<path> already exists (<refusal>)". Frees a
 * either way. Returns 0, or CMN_ERR_CONFLICT, CMN_ERR_IO with a one-line reason in err. */
int cmn_file_atomic_commit(cmn_file_atomic_t *a, mode_t mode, int overwrite, const char *refusal,
                           char *err, size_t errlen);

/* Removes the temporary file and frees a. Accepts one never opened (zeroed). */
void cmn_file_atomic_abort(cmn_file_atomic_t *a);

/* data[0..len) written to path through the three above. */
int cmn_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          int overwrite, const char *refusal, char *err, size_t errlen);

#endif
