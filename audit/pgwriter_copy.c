/* Binary COPY encoding of audit_event rows: contract in pgwriter_copy.h. */
#include "audit/pgwriter_copy.h"
#include "audit/db.h"
#include "common/err.h"

#include <string.h>

#define NCOLS       18
#define TAIL_HEADER 16 /* ts as a field (4 + 8 bytes), then canonical's length (4 bytes) */
#define CANON_AT    (PGW_COPY_ROW_PREFIX + TAIL_HEADER) /* where a row's canonical bytes start */

static void put32(cmn_buf_t *b, int32_t v)
{
    unsigned char p[4];
    aud_be32(p, (uint32_t)v);
    cmn_buf_append(b, p, 4);
}

static void put64(cmn_buf_t *b, int64_t v)
{
    unsigned char p[8];
    aud_be64(p, (uint64_t)v);
    cmn_buf_append(b, p, 8);
}

static void put_text(cmn_buf_t *b, const char *s)
{
    if (!s) {
        put32(b, -1);
        return;
    }
    size_t n = strlen(s);
    put32(b, (int32_t)n);
    cmn_buf_append(b, s, n);
}

/* An int4 (bytes 4) or int8 column; AUD_ABSENT is NULL. */
static void put_number(cmn_buf_t *b, int64_t v, int bytes)
{
    if (v == AUD_ABSENT) {
        put32(b, -1);
        return;
    }
    put32(b, bytes);
    if (bytes == 4)
        put32(b, (int32_t)v);
    else
        put64(b, v);
}

/* The columns after canonical, from a parsed event (audit/event.h aud_event_columns). */
static void put_columns(cmn_buf_t *b, const aud_columns_t *c)
{
    put_text(b, c->kind);
    put_text(b, c->request_id);
    put_text(b, c->actor);
    put_text(b, c->org);
    put_text(b, c->repo);
    put_text(b, c->action);
    put_text(b, c->decision);
    put_text(b, c->rule);
    put_number(b, c->status, 4);
    put_number(b, c->bytes_in, 8);
    put_number(b, c->bytes_out, 8);
    if (!c->ip_family) {
        put32(b, -1);
    } else {
        /* inet's binary form: family (PGSQL_AF_INET 2, PGSQL_AF_INET6 3), bits, is_cidr,
         * address length, address. */
        int nb = c->ip_family == 4 ? 4 : 16;
        unsigned char h[4] = {(unsigned char)(c->ip_family == 4 ? 2 : 3), (unsigned char)(nb * 8),
                              0, (unsigned char)nb};
        put32(b, 4 + nb);
        cmn_buf_append(b, h, 4);
        cmn_buf_append(b, c->ip, (size_t)nb);
    }
}

/* row holds the prefix and TAIL_HEADER reserved bytes, then the canonical bytes to its end:
 * parses them back, fills the headers in and appends the columns. */
static int row_finish(cmn_buf_t *row, char *why, size_t whylen)
{
    size_t len = row->len - CANON_AT;
    char store[4096];
    aud_parsed_t p = {.store = store, .store_cap = sizeof(store), .store_borrowed = 1};
    int rc = aud_event_parse(&p, row->data + CANON_AT, len, why, whylen);
    if (rc == 0) {
        aud_columns_t c;
        aud_event_columns(&p.ev, &c);
        unsigned char *h = (unsigned char *)row->data + PGW_COPY_ROW_PREFIX;
        aud_be32(h, 8);
        aud_be64(h + 4, (uint64_t)(c.ts_us - AUD_PG_EPOCH_US));
        aud_be32(h + 12, (uint32_t)len);
        put_columns(row, &c);
    }
    aud_parsed_free(&p);
    return rc;
}

int pgw_copy_row_from_event(cmn_buf_t *row, const aud_event_t *ev)
{
    static const char zero[CANON_AT];
    cmn_buf_clear(row);
    int rc = cmn_buf_append(row, zero, CANON_AT);
    if (rc == 0)
        rc = aud_event_encode(ev, row);
    if (rc == 0 && row->len - CANON_AT > AUD_MAX_EVENT_BYTES)
        rc = CMN_ERR_TOOBIG;
    /* the encoder's output always parses: a failure here would be a bug, refused as invalid */
    if (rc == 0 && row_finish(row, NULL, 0) != 0)
        rc = CMN_ERR_INVAL;
    return rc;
}

int pgw_copy_row_from_canonical(cmn_buf_t *row, const char *canonical, size_t len, char *why,
                                size_t whylen)
{
    static const char zero[CANON_AT];
    cmn_buf_clear(row);
    if (cmn_buf_append(row, zero, CANON_AT) != 0 || cmn_buf_append(row, canonical, len) != 0) {
        cmn_errf(why, whylen, "longer than a row can be");
        return CMN_ERR_NOMEM;
    }
    return row_finish(row, why, whylen);
}

const char *pgw_copy_row_canonical(const cmn_buf_t *row, size_t *len)
{
    *len = aud_rd32((const unsigned char *)row->data + PGW_COPY_ROW_PREFIX + 12);
    return row->data + CANON_AT;
}

void pgw_copy_row_link(cmn_buf_t *row, int64_t stream_id, int64_t seq, const unsigned char *prev,
                       const unsigned char *hash)
{
    /* field count, then stream_id, seq, prev_hash, hash as (length, value) pairs */
    unsigned char *h = (unsigned char *)row->data;
    aud_be16(h, NCOLS);
    aud_be32(h + 2, 8);
    aud_be64(h + 6, (uint64_t)stream_id);
    aud_be32(h + 14, 8);
    aud_be64(h + 18, (uint64_t)seq);
    aud_be32(h + 26, AUD_HASH_BYTES);
    memcpy(h + 30, prev, AUD_HASH_BYTES);
    aud_be32(h + 62, AUD_HASH_BYTES);
    memcpy(h + 66, hash, AUD_HASH_BYTES);
}

void pgw_copy_header(unsigned char out[PGW_COPY_HEADER])
{
    static const char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};
    memcpy(out, sig, 11);
    memset(out + 11, 0, 8); /* flags, header extension length */
}

void pgw_copy_trailer(unsigned char out[PGW_COPY_TRAILER])
{
    aud_be16(out, 0xffff); /* a field count of -1 */
}
