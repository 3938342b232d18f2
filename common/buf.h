/* Bounded byte buffer: grows on append up to a hard cap fixed at init.
 *
 * Every buffer fed by the network or by a file has a cap; going over it is CMN_ERR_TOOBIG,
 * never a silent truncation. The data is always NUL-terminated for convenience (the NUL is not
 * counted in len). */
#ifndef HUBGATE_COMMON_BUF_H
#define HUBGATE_COMMON_BUF_H

#include <stddef.h>

typedef struct {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* len never exceeds max */
} cmn_buf_t;

void cmn_buf_init(cmn_buf_t *b, size_t max);

/* Appends n bytes. Returns 0, CMN_ERR_TOOBIG (nothing appended) or CMN_ERR_NOMEM. */
int cmn_buf_append(cmn_buf_t *b, const void *p, size_t n);

/* Appends a C string. Same returns as cmn_buf_append. */
int cmn_buf_puts(cmn_buf_t *b, const char *s);

/* Appends printf output. Same returns as cmn_buf_append. */
int cmn_buf_printf(cmn_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empties the buffer, keeping its memory. */
void cmn_buf_clear(cmn_buf_t *b);

/* Releases the memory. Accepts NULL. */
void cmn_buf_free(cmn_buf_t *b);

/* Reads a whole file into b (initialised by the caller with its cap). Returns 0,
 * CMN_ERR_NOTFOUND, CMN_ERR_TOOBIG, CMN_ERR_IO (errno kept) or CMN_ERR_NOMEM. Blocks. */
int cmn_buf_read_file(cmn_buf_t *b, const char *path);

#endif
