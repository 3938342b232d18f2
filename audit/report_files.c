/* The report directory: files hashed as they are written, the manifest and its signature, and
 * the temporary sibling directory renamed into place once everything is on disk. */
#include "audit/report_files.h"
#include "common/err.h"
#include "common/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const report_files[] = {
    "report.json",   "report.html",  "events.jsonl", "events.csv",
    "manifest.json", "manifest.sig", "manifest.tmp", NULL};

int rpt_sink_open(rpt_sink_t *s, int dirfd, const char *name, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->buf = malloc(RPT_SINK_BUFFER);
    s->md = EVP_MD_CTX_new();
    if (!s->buf || !s->md) {
        cmn_errf(err, errlen, "out of memory");
        return CMN_ERR_NOMEM;
    }
    if (EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
        cmn_errf(err, errlen, "SHA-256 is unavailable");
        return CMN_ERR_CRYPTO;
    }
    s->fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        cmn_errf(err, errlen, "%s: %s", name, strerror(errno));
        return CMN_ERR_IO;
    }
    return 0;
}

static void flush(rpt_sink_t *s)
{
    if (s->len && s->md)
        EVP_DigestUpdate(s->md, s->buf, s->len);
    size_t off = 0;
    while (off < s->len && !s->err && s->fd >= 0) {
        ssize_t n = write(s->fd, s->buf + off, s->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            s->err = errno;
            break;
        }
        off += (size_t)n;
    }
    s->len = 0;
}

void rpt_sink_write(rpt_sink_t *s, const void *p, size_t n)
{
    if (!s->buf)
        return;
    s->bytes += (int64_t)n;
    const char *c = p;
    while (n) {
        size_t room = RPT_SINK_BUFFER - s->len;
        size_t k = n < room ? n : room;
        memcpy(s->buf + s->len, c, k);
        s->len += k;
        c += k;
        n -= k;
        if (s->len == RPT_SINK_BUFFER)
            flush(s);
    }
}

void rpt_sink_puts(rpt_sink_t *s, const char *str)
{
    rpt_sink_write(s, str, strlen(str));
}

void rpt_sink_printf(rpt_sink_t *s, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        rpt_sink_write(s, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        s->err = ENOMEM;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rpt_sink_write(s, big, (size_t)n);
    free(big);
}

int rpt_sink_close(rpt_sink_t *s, char hex[2 * AUD_HASH_BYTES + 1], char *err, size_t errlen)
{
    int rc = 0;
    if (s->fd >= 0) {
        flush(s);
        if (!s->err && fsync(s->fd) != 0)
            s->err = errno;
        if (close(s->fd) != 0 && !s->err)
            s->err = errno;
        s->fd = -1;
        unsigned char md[AUD_HASH_BYTES];
        unsigned int mdlen = 0;
        if (s->err) {
            cmn_errf(err, errlen, "%s: %s", s->name, strerror(s->err));
            rc = CMN_ERR_IO;
        } else if (EVP_DigestFinal_ex(s->md, md, &mdlen) != 1 || mdlen != AUD_HASH_BYTES) {
            cmn_errf(err, errlen, "%s: SHA-256 failed", s->name);
            rc = CMN_ERR_CRYPTO;
        } else if (hex) {
            cmn_hex(md, AUD_HASH_BYTES, hex);
        }
    }
    EVP_MD_CTX_free(s->md);
    s->md = NULL;
    free(s->buf);
    s->buf = NULL;
    return rc;
}

void rpt_sink_abort(rpt_sink_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    EVP_MD_CTX_free(s->md);
    s->md = NULL;
    free(s->buf);
    s->buf = NULL;
}

int rpt_dir_create(const char *out_dir, char *tmp, size_t tmplen, int *dirfd, char *err,
                   size_t errlen)
{
    *dirfd = -1;
    struct stat st;
    if (lstat(out_dir, &st) == 0) {
        cmn_errf(err, errlen, "%s: already exists (the report is written to a new directory)",
                out_dir);
        return CMN_ERR_CONFLICT;
    }
    if (errno != ENOENT) {
        cmn_errf(err, errlen, "%s: %s", out_dir, strerror(errno));
        return CMN_ERR_IO;
    }
    size_t n = strlen(out_dir);
    while (n > 1 && out_dir[n - 1] == '/')
        n--;
    if (snprintf(tmp, tmplen, "%.*s.tmp-XXXXXX", (int)n, out_dir) >= (int)tmplen) {
        cmn_errf(err, errlen, "%s: path too long", out_dir);
        return CMN_ERR_INVAL;
    }
    if (!mkdtemp(tmp)) {
        char parent[4096];
        snprintf(parent, sizeof(parent), "%s", out_dir);
        cmn_errf(err, errlen, "%s: cannot create a directory there: %s", dirname(parent),
                strerror(errno));
        return CMN_ERR_IO;
    }
    *dirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0) {
        cmn_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        rmdir(tmp);
        return CMN_ERR_IO;
    }
    return 0;
}

int rpt_dir_publish(int dirfd, const char *tmp, const char *out_dir, char *err, size_t errlen)
{
    if (fsync(dirfd) != 0) {
        cmn_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        return CMN_ERR_IO;
    }
    /* Never over an existing path, even an empty directory made meanwhile. */
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out_dir, RENAME_NOREPLACE) != 0) {
        cmn_errf(err, errlen, "%s: cannot rename %s to it: %s", out_dir, tmp, strerror(errno));
        return errno == EEXIST ? CMN_ERR_CONFLICT : CMN_ERR_IO;
    }
    char parent[4096];
    snprintf(parent, sizeof(parent), "%s", out_dir);
    int pfd = open(dirname(parent), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd >= 0) {
        fsync(pfd); /* the rename itself is durable */
        close(pfd);
    }
    return 0;
}

void rpt_dir_discard(int dirfd, const char *tmp)
{
    if (dirfd >= 0) {
        for (size_t i = 0; report_files[i]; i++)
            unlinkat(dirfd, report_files[i], 0);
        close(dirfd);
    }
    if (tmp && *tmp)
        rmdir(tmp);
}

static int write_whole(int dirfd, const char *name, const void *p, size_t n, char *err,
                       size_t errlen)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        cmn_errf(err, errlen, "%s: %s", name, strerror(errno));
        return CMN_ERR_IO;
    }
    const char *c = p;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, c + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            cmn_errf(err, errlen, "%s: %s", name, strerror(errno));
            close(fd);
            return CMN_ERR_IO;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        cmn_errf(err, errlen, "%s: %s", name, strerror(errno));
        return CMN_ERR_IO;
    }
    return 0;
}

int rpt_manifest_write(int dirfd, const char *const *names, const char *const *hexes, size_t n,
                       int64_t generated_us, const aud_key_t *key, char *err, size_t errlen)
{
    /* Names are fixed ASCII and sorted by the caller's table below; keys sorted, no spaces. */
    size_t order[8];
    if (n > 8)
        return CMN_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[order[j - 1]], names[order[j]]) > 0; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    char buf[2048];
    size_t len = 0;
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "{\"files\":{");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\"%s\":\"%s\"", i ? "," : "",
                                names[order[i]], hexes[order[i]]);
    char ts[28];
    aud_time_format(generated_us, ts);
    len +=
        (size_t)snprintf(buf + len, sizeof(buf) - len, "},\"format\":1,\"generated\":\"%s\"", ts);
    if (key)
        len +=
            (size_t)snprintf(buf + len, sizeof(buf) - len, ",\"key_id\":\"%s\"", aud_key_id(key));
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "}");
    if (len >= sizeof(buf))
        return CMN_ERR_TOOBIG;
    int rc = write_whole(dirfd, "manifest.json", buf, len, err, errlen);
    if (rc || !key)
        return rc;
    unsigned char sig[AUD_SIG_BYTES];
    if (aud_key_sign(key, buf, len, sig) != 0) {
        cmn_errf(err, errlen, "manifest.sig: signing failed");
        return CMN_ERR_CRYPTO;
    }
    unsigned char b64[4 * ((AUD_SIG_BYTES + 2) / 3) + 2];
    int bn = EVP_EncodeBlock(b64, sig, AUD_SIG_BYTES);
    b64[bn] = '\n';
    return write_whole(dirfd, "manifest.sig", b64, (size_t)bn + 1, err, errlen);
}
