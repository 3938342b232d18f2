/* Files written whole or not at all: contract in file.h. */
#include "common/file.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cmn_file_atomic_abort(cmn_file_atomic_t *a)
{
    if (a->f)
        fclose(a->f);
    if (a->tmp && a->tmp[0])
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof(*a));
}

int cmn_file_atomic_open(cmn_file_atomic_t *a, const char *path, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    size_t pl = strlen(path);
    a->path = strdup(path);
    a->tmp = malloc(pl + 16);
    if (!a->path || !a->tmp) {
        cmn_file_atomic_abort(a);
        cmn_errf(err, errlen, "out of memory");
        return CMN_ERR_NOMEM;
    }
    snprintf(a->tmp, pl + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(a->tmp); /* mode 0600 */
    if (fd < 0) {
        cmn_errf(err, errlen, "%s: cannot create a file there: %s", path, strerror(errno));
        a->tmp[0] = '\0';
        cmn_file_atomic_abort(a);
        return CMN_ERR_IO;
    }
    if (!(a->f = fdopen(fd, "w"))) {
        close(fd);
        cmn_errf(err, errlen, "%s: %s", a->tmp, strerror(errno));
        cmn_file_atomic_abort(a);
        return CMN_ERR_IO;
    }
    return 0;
}

int cmn_file_atomic_commit(cmn_file_atomic_t *a, mode_t mode, int overwrite, const char *refusal,
                           char *err, size_t errlen)
{
    int rc = 0;
    if (!overwrite && access(a->path, F_OK) == 0) {
        cmn_errf(err, errlen, "%s already exists (%s)", a->path, refusal);
        rc = CMN_ERR_CONFLICT;
        goto out;
    }
    int fd = fileno(a->f);
    if (fflush(a->f) != 0 || ferror(a->f) || fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        cmn_errf(err, errlen, "%s: %s", a->tmp, strerror(errno));
        rc = CMN_ERR_IO;
        goto out;
    }
    FILE *f = a->f;
    a->f = NULL;
    if (fclose(f) != 0) {
        cmn_errf(err, errlen, "%s: %s", a->tmp, strerror(errno));
        rc = CMN_ERR_IO;
        goto out;
    }
    if (overwrite ? rename(a->tmp, a->path) != 0 : link(a->tmp, a->path) != 0) {
        rc = errno == EEXIST ? CMN_ERR_CONFLICT : CMN_ERR_IO;
        if (errno == EEXIST)
            cmn_errf(err, errlen, "%s already exists (%s)", a->path, refusal);
        else
            cmn_errf(err, errlen, "%s: %s", a->path, strerror(errno));
        goto out;
    }
    if (!overwrite)
        unlink(a->tmp); /* linked: the temporary name goes */
    a->tmp[0] = '\0';
    char *dir = strdup(a->path);
    int dfd = dir ? open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        fsync(dfd); /* the new name itself is durable */
        close(dfd);
    }
    free(dir);
out:
    cmn_file_atomic_abort(a);
    return rc;
}

int cmn_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          int overwrite, const char *refusal, char *err, size_t errlen)
{
    cmn_file_atomic_t a;
    int rc = cmn_file_atomic_open(&a, path, err, errlen);
    if (rc)
        return rc;
    setvbuf(a.f, NULL, _IONBF, 0); /* no copy of a key left in a stdio buffer */
    if (len && fwrite(data, 1, len, a.f) != len) {
        cmn_errf(err, errlen, "%s: write: %s", a.tmp, strerror(errno));
        cmn_file_atomic_abort(&a);
        return CMN_ERR_IO;
    }
    return cmn_file_atomic_commit(&a, mode, overwrite, refusal, err, errlen);
}
