#include "common/buf.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cmn_buf_init(cmn_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static int reserve(cmn_buf_t *b, size_t n)
{
    if (n > b->max - b->len)
        return CMN_ERR_TOOBIG;
    size_t want = b->len + n + 1;
    if (want <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap = cap > (SIZE_MAX / 2) ? want : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (!p)
        return CMN_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int cmn_buf_append(cmn_buf_t *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int cmn_buf_puts(cmn_buf_t *b, const char *s)
{
    return cmn_buf_append(b, s, strlen(s));
}

int cmn_buf_printf(cmn_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CMN_ERR_INVAL;
    int rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void cmn_buf_clear(cmn_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void cmn_buf_free(cmn_buf_t *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int cmn_buf_read_file(cmn_buf_t *b, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? CMN_ERR_NOTFOUND : CMN_ERR_IO;
    int rc = 0;
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = CMN_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        rc = cmn_buf_append(b, chunk, (size_t)n);
        if (rc)
            break;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc == 0 && !b->data)
        rc = cmn_buf_append(b, "", 0); /* an empty file still yields a valid string */
    return rc;
}
