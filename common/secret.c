#include "common/secret.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cmn_secret_check(int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) != 0) {
        int e = errno;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
        return e == ENOENT ? CMN_ERR_NOTFOUND : CMN_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        return CMN_ERR_DENIED;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen,
                 "%s is readable or writable by group or others (mode %04o): a secret file must "
                 "be private to its owner; chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        return CMN_ERR_DENIED;
    }
    return 0;
}

int cmn_secret_read(cmn_buf_t *b, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
        return e == ENOENT ? CMN_ERR_NOTFOUND : CMN_ERR_IO;
    }
    /* Checked on the descriptor read from: the file judged is the file read. */
    int rc = cmn_secret_check(fd, path, err, errlen);
    char chunk[4096];
    while (rc == 0) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            rc = CMN_ERR_IO;
        } else if (n == 0) {
            break;
        } else if ((rc = cmn_buf_append(b, chunk, (size_t)n)) != 0) {
            snprintf(err, errlen, "%s: %s", path,
                     rc == CMN_ERR_TOOBIG ? "too large for a secret file" : cmn_err_str(rc));
        }
    }
    explicit_bzero(chunk, sizeof(chunk)); /* a plain memset of a dying buffer may be elided */
    close(fd);
    if (rc == 0 && !b->data && (rc = cmn_buf_append(b, "", 0)) != 0)
        snprintf(err, errlen, "%s: %s", path, cmn_err_str(rc));
    return rc;
}
