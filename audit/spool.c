#include "audit/spool.h"
#include "audit/event.h"
#include "audit/limits.h"
#include "common/buf.h"
#include "common/sha256.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_PREFIX "hubgate-spool v1 "
#define READ_CHUNK    (256 * 1024)

typedef struct {
    int have_header;
    int64_t count;
    int64_t head_seq;
    unsigned char head_hash[AUD_HASH_BYTES];
} state_t;

struct aud_spool {
    char *path;
    char stream[80];
    int fd;
    off_t size; /* durable length */
    int64_t base_seq;
    unsigned char base_hash[AUD_HASH_BYTES];
    off_t start; /* offset of the first record */
    state_t durable, pending;
    cmn_buf_t wbuf;
    char *rbuf;
    size_t rcap;
    aud_hasher_t hasher;
};

/* Reads the line at `off` (up to and without its '\n') into sp->rbuf. Returns its length and
 * sets *complete (0: the file ends without '\n'), or -1 on an I/O error or an over-long line. */
static ssize_t read_line(aud_spool_t *sp, off_t off, off_t limit, int *complete)
{
    size_t have = 0;
    *complete = 0;
    for (;;) {
        if (have == sp->rcap) {
            if (sp->rcap >= AUD_SPOOL_MAX_LINE) {
                errno = EFBIG;
                return -1;
            }
            size_t ncap = sp->rcap ? sp->rcap * 2 : READ_CHUNK;
            if (ncap > AUD_SPOOL_MAX_LINE)
                ncap = AUD_SPOOL_MAX_LINE;
            char *nb = realloc(sp->rbuf, ncap);
            if (!nb)
                return -1;
            sp->rbuf = nb;
            sp->rcap = ncap;
        }
        size_t want = sp->rcap - have;
        if ((off_t)(off + (off_t)have + (off_t)want) > limit)
            want = (size_t)(limit - off - (off_t)have);
        if (want == 0)
            return (ssize_t)have; /* end of the file without a newline */
        ssize_t r = pread(sp->fd, sp->rbuf + have, want, off + (off_t)have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return (ssize_t)have;
        char *nl = memchr(sp->rbuf + have, '\n', (size_t)r);
        if (nl) {
            *complete = 1;
            return nl - sp->rbuf;
        }
        have += (size_t)r;
    }
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 18 || (s[0] == '0' && n > 1))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_header(aud_spool_t *sp, const char *line, size_t n)
{
    size_t pl = strlen(HEADER_PREFIX);
    if (n < pl || memcmp(line, HEADER_PREFIX, pl) != 0)
        return -1;
    const char *p = line + pl, *end = line + n;
    const char *sp1 = memchr(p, ' ', (size_t)(end - p));
    if (!sp1)
        return -1;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
    if (!sp2)
        return -1;
    size_t sl = (size_t)(sp1 - p);
    if (sl != strlen(sp->stream) || memcmp(p, sp->stream, sl) != 0)
        return -2;
    if (parse_i64(sp1 + 1, (size_t)(sp2 - sp1 - 1), &sp->base_seq) != 0 ||
        aud_unhex(sp2 + 1, (size_t)(end - sp2 - 1), sp->base_hash, AUD_HASH_BYTES) != 0)
        return -1;
    return 0;
}

/* Parses "<seq> <hash> <canonical>" and checks it continues pos. */
static int parse_record(aud_spool_t *sp, const char *line, size_t n, const aud_spool_pos_t *pos,
                        aud_spool_record_t *rec, char *err, size_t errlen)
{
    const char *end = line + n;
    const char *s1 = memchr(line, ' ', n);
    if (!s1 || end - s1 < 2 + 2 * AUD_HASH_BYTES || s1[1 + 2 * AUD_HASH_BYTES] != ' ' ||
        parse_i64(line, (size_t)(s1 - line), &rec->seq) != 0 ||
        aud_unhex(s1 + 1, 2 * AUD_HASH_BYTES, rec->hash, AUD_HASH_BYTES) != 0) {
        cmn_errf(err, errlen, "%s: malformed record at offset %lld", sp->path,
                (long long)pos->offset);
        return CMN_ERR_PARSE;
    }
    rec->canonical = s1 + 2 + 2 * AUD_HASH_BYTES;
    rec->len = (size_t)(end - rec->canonical);
    if (rec->seq != pos->seq + 1) {
        cmn_errf(err, errlen, "%s: record at offset %lld has seq %lld, expected %lld", sp->path,
                (long long)pos->offset, (long long)rec->seq, (long long)(pos->seq + 1));
        return CMN_ERR_PARSE;
    }
    unsigned char h[AUD_HASH_BYTES];
    if (aud_chain_next(&sp->hasher, pos->hash, rec->canonical, rec->len, h) != 0)
        return CMN_ERR_NOMEM;
    if (memcmp(h, rec->hash, AUD_HASH_BYTES) != 0) {
        cmn_errf(err, errlen, "%s: record seq %lld does not chain (modified or corrupt)", sp->path,
                (long long)rec->seq);
        return CMN_ERR_PARSE;
    }
    memcpy(rec->prev, pos->hash, AUD_HASH_BYTES);
    return 0;
}

int aud_spool_next(aud_spool_t *sp, aud_spool_pos_t *pos, aud_spool_record_t *rec, char *err,
                   size_t errlen)
{
    if (pos->offset >= sp->size)
        return 0;
    int complete;
    ssize_t n = read_line(sp, pos->offset, sp->size, &complete);
    if (n < 0) {
        cmn_errf(err, errlen, "%s: read at offset %lld: %s", sp->path, (long long)pos->offset,
                strerror(errno));
        return CMN_ERR_IO;
    }
    if (!complete) {
        cmn_errf(err, errlen, "%s: incomplete record at offset %lld", sp->path,
                (long long)pos->offset);
        return CMN_ERR_PARSE;
    }
    int rc = parse_record(sp, sp->rbuf, (size_t)n, pos, rec, err, errlen);
    if (rc != 0)
        return rc;
    pos->offset += n + 1;
    pos->seq = rec->seq;
    memcpy(pos->hash, rec->hash, AUD_HASH_BYTES);
    return 1;
}

static void reset_state(aud_spool_t *sp)
{
    memset(&sp->durable, 0, sizeof(sp->durable));
    sp->pending = sp->durable;
    sp->start = 0;
    sp->size = 0;
}

static int load(aud_spool_t *sp, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(sp->fd, &st) != 0) {
        cmn_errf(err, errlen, "%s: %s", sp->path, strerror(errno));
        return CMN_ERR_IO;
    }
    reset_state(sp);
    if (st.st_size == 0)
        return 0;
    int complete;
    ssize_t n = read_line(sp, 0, st.st_size, &complete);
    if (n < 0) {
        cmn_errf(err, errlen, "%s: %s", sp->path, strerror(errno));
        return CMN_ERR_IO;
    }
    if (!complete) {
        /* The header itself was torn: nothing after it was ever acknowledged. */
        if (ftruncate(sp->fd, 0) != 0 || fdatasync(sp->fd) != 0) {
            cmn_errf(err, errlen, "%s: %s", sp->path, strerror(errno));
            return CMN_ERR_IO;
        }
        return 0;
    }
    int h = parse_header(sp, sp->rbuf, (size_t)n);
    if (h == -2) {
        cmn_errf(err, errlen, "%s: belongs to another stream", sp->path);
        return CMN_ERR_CONFLICT;
    }
    if (h != 0) {
        cmn_errf(err, errlen, "%s: not a hubgate spool file (bad header)", sp->path);
        return CMN_ERR_PARSE;
    }
    sp->start = n + 1;
    sp->size = st.st_size;
    aud_spool_pos_t pos;
    aud_spool_start(sp, &pos);
    state_t s = {.have_header = 1, .count = 0, .head_seq = sp->base_seq};
    memcpy(s.head_hash, sp->base_hash, AUD_HASH_BYTES);
    for (;;) {
        aud_spool_record_t rec;
        int rc = aud_spool_next(sp, &pos, &rec, err, errlen);
        if (rc == CMN_ERR_PARSE) {
            /* A last line without its '\n' is a torn write, never acknowledged: cut it off.
             * Any other bad line is corruption. */
            if (read_line(sp, pos.offset, sp->size, &complete) < 0 || complete)
                return rc;
            if (ftruncate(sp->fd, pos.offset) != 0 || fdatasync(sp->fd) != 0) {
                cmn_errf(err, errlen, "%s: %s", sp->path, strerror(errno));
                return CMN_ERR_IO;
            }
            sp->size = pos.offset;
            break;
        }
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        s.count++;
        s.head_seq = rec.seq;
        memcpy(s.head_hash, rec.hash, AUD_HASH_BYTES);
    }
    sp->durable = s;
    sp->pending = s;
    return 0;
}

int aud_spool_open(const char *dir, const char *stream, aud_spool_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (strlen(stream) >= sizeof(((aud_spool_t *)0)->stream)) {
        cmn_errf(err, errlen, "stream name too long");
        return CMN_ERR_INVAL;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cmn_errf(err, errlen, "%s: cannot create the spool folder: %s", dir, strerror(errno));
        return CMN_ERR_IO;
    }
    aud_spool_t *sp = calloc(1, sizeof(*sp));
    if (!sp) {
        cmn_errf(err, errlen, "out of memory");
        return CMN_ERR_NOMEM;
    }
    sp->fd = -1;
    snprintf(sp->stream, sizeof(sp->stream), "%s", stream);
    cmn_buf_init(&sp->wbuf, (size_t)1 << 30);
    size_t pl = strlen(dir) + strlen(stream) + 16;
    sp->path = malloc(pl);
    int rc = CMN_ERR_NOMEM;
    if (!sp->path || aud_hasher_init(&sp->hasher) != 0) {
        cmn_errf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(sp->path, pl, "%s/%s.spool", dir, stream);
    int existed = access(sp->path, F_OK) == 0;
    sp->fd = open(sp->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (sp->fd < 0) {
        cmn_errf(err, errlen, "%s: %s", sp->path, strerror(errno));
        rc = CMN_ERR_IO;
        goto fail;
    }
    if (!existed) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    if ((rc = load(sp, err, errlen)) != 0)
        goto fail;
    *out = sp;
    return 0;
fail:
    aud_spool_close(sp);
    return rc;
}

void aud_spool_close(aud_spool_t *sp)
{
    if (!sp)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    cmn_buf_free(&sp->wbuf);
    aud_hasher_free(&sp->hasher);
    free(sp->rbuf);
    free(sp->path);
    free(sp);
}

int64_t aud_spool_count(const aud_spool_t *sp)
{
    return sp->durable.count;
}

void aud_spool_head(const aud_spool_t *sp, int64_t *seq, unsigned char hash[AUD_HASH_BYTES])
{
    *seq = sp->pending.head_seq;
    memcpy(hash, sp->pending.head_hash, AUD_HASH_BYTES);
}

void aud_spool_start(const aud_spool_t *sp, aud_spool_pos_t *pos)
{
    pos->offset = sp->start;
    pos->seq = sp->base_seq;
    memcpy(pos->hash, sp->base_hash, AUD_HASH_BYTES);
}

const char *aud_spool_path(const aud_spool_t *sp)
{
    return sp->path;
}

int aud_spool_append(aud_spool_t *sp, int64_t seq, const unsigned char prev[AUD_HASH_BYTES],
                     const unsigned char hash[AUD_HASH_BYTES], const char *canonical, size_t len)
{
    char hex[2 * AUD_HASH_BYTES + 1];
    state_t *s = &sp->pending;
    if (!s->have_header) {
        cmn_hex(prev, AUD_HASH_BYTES, hex);
        if (cmn_buf_printf(&sp->wbuf, HEADER_PREFIX "%s %lld %s\n", sp->stream,
                           (long long)(seq - 1), hex) != 0)
            return CMN_ERR_NOMEM;
        s->have_header = 1;
        s->head_seq = seq - 1;
        memcpy(s->head_hash, prev, AUD_HASH_BYTES);
    }
    if (seq != s->head_seq + 1 || memcmp(prev, s->head_hash, AUD_HASH_BYTES) != 0)
        return CMN_ERR_CONFLICT;
    cmn_hex(hash, AUD_HASH_BYTES, hex);
    if (cmn_buf_printf(&sp->wbuf, "%lld %s ", (long long)seq, hex) != 0 ||
        cmn_buf_append(&sp->wbuf, canonical, len) != 0 || cmn_buf_append(&sp->wbuf, "\n", 1) != 0)
        return CMN_ERR_NOMEM;
    s->count++;
    s->head_seq = seq;
    memcpy(s->head_hash, hash, AUD_HASH_BYTES);
    return 0;
}

int aud_spool_sync(aud_spool_t *sp)
{
    if (sp->wbuf.len == 0)
        return 0;
    int was_empty = sp->size == 0;
    size_t off = 0;
    while (off < sp->wbuf.len) {
        ssize_t w = write(sp->fd, sp->wbuf.data + off, sp->wbuf.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (fdatasync(sp->fd) != 0)
        goto fail;
    if (was_empty) {
        /* The header is the first line of what was just written. */
        const char *nl = memchr(sp->wbuf.data, '\n', sp->wbuf.len);
        sp->start = nl ? (off_t)(nl - sp->wbuf.data + 1) : 0;
        sp->base_seq = sp->pending.head_seq - (sp->pending.count - sp->durable.count);
        /* base hash: parse it back from the header we wrote */
        const char *h = nl ? nl - 2 * AUD_HASH_BYTES : NULL;
        if (h)
            aud_unhex(h, 2 * AUD_HASH_BYTES, sp->base_hash, AUD_HASH_BYTES);
    }
    sp->size += (off_t)sp->wbuf.len;
    sp->durable = sp->pending;
    cmn_buf_clear(&sp->wbuf);
    return 0;
fail : {
    int e = errno;
    /* Cut back whatever part of the buffer reached the file, so no half record stays. */
    if (ftruncate(sp->fd, sp->size) == 0)
        (void)fdatasync(sp->fd);
    sp->pending = sp->durable;
    cmn_buf_clear(&sp->wbuf);
    errno = e;
    return CMN_ERR_IO;
}
}

int aud_spool_clear(aud_spool_t *sp)
{
    if (ftruncate(sp->fd, 0) != 0 || fdatasync(sp->fd) != 0)
        return CMN_ERR_IO;
    cmn_buf_clear(&sp->wbuf);
    reset_state(sp);
    return 0;
}
