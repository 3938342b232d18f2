/* Streams' keys and an export of their checkpoints: contract in inventory.h. */
#include "audit/inventory.h"
#include "audit/db.h"
#include "audit/event.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/file.h"
#include "common/sha256.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The key a stream was created with, and those registered later (a registered key that is the
 * creation key again counts once, as the creation key). Checkpoint counts per key come from one
 * pass over audit_checkpoint. Times as Unix microseconds. */
static const char keys_sql[] =
    "WITH k AS (SELECT s.id, s.name, s.key_id, s.public_key, s.started_at AS added_at, "
    "true AS first FROM audit_stream s "
    "UNION ALL SELECT s.id, s.name, r.key_id, r.public_key, r.added_at, false "
    "FROM audit_stream_key r JOIN audit_stream s ON s.id = r.stream_id "
    "WHERE r.key_id <> s.key_id), "
    "c AS (SELECT stream_id, key_id, count(*) AS n, min(ts) AS f, max(ts) AS l "
    "FROM audit_checkpoint GROUP BY 1, 2) "
    "SELECT k.name, k.key_id, (extract(epoch FROM k.added_at) * 1000000)::bigint, k.first, "
    "coalesce(c.n, 0), coalesce((extract(epoch FROM c.f) * 1000000)::bigint, 0), "
    "coalesce((extract(epoch FROM c.l) * 1000000)::bigint, 0), k.public_key "
    "FROM k LEFT JOIN c ON c.stream_id = k.id AND c.key_id = k.key_id "
    "WHERE $1 = '' OR k.name = $1 ORDER BY k.name, k.first DESC, k.added_at, k.key_id";

int aud_stream_keys_read(const char *url, const char *stream, aud_stream_key_t **out, size_t *n,
                         char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    PGconn *db = aud_db_snapshot(url, "hubgate audit keys", err, errlen);
    if (!db)
        return CMN_ERR_DB;
    const char *pv[1] = {stream ? stream : ""};
    PGresult *res = aud_db_rows(db, keys_sql, 1, pv, 0, "reading the streams' keys", err, errlen);
    int rc = res ? 0 : CMN_ERR_DB;
    size_t rows = res ? (size_t)PQntuples(res) : 0;
    aud_stream_key_t *keys = rows ? calloc(rows, sizeof(*keys)) : NULL;
    if (rc == 0 && rows && !keys) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
    }
    for (size_t i = 0; rc == 0 && i < rows; i++) {
        aud_stream_key_t *k = &keys[i];
        int r = (int)i;
        snprintf(k->stream, sizeof(k->stream), "%s", PQgetvalue(res, r, 0));
        snprintf(k->key_id, sizeof(k->key_id), "%s", PQgetvalue(res, r, 1));
        k->added_us = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        k->first = strcmp(PQgetvalue(res, r, 3), "t") == 0;
        k->checkpoints = strtoll(PQgetvalue(res, r, 4), NULL, 10);
        k->first_cp_us = strtoll(PQgetvalue(res, r, 5), NULL, 10);
        k->last_cp_us = strtoll(PQgetvalue(res, r, 6), NULL, 10);
        if (!(k->public_pem = strdup(PQgetvalue(res, r, 7)))) {
            cmn_errf(err, errlen, "out of memory");
            rc = CMN_ERR_NOMEM;
            *n = i + 1;
            break;
        }
        aud_key_t *key =
            aud_key_from_registered(k->key_id, k->public_pem, k->problem, sizeof(k->problem));
        aud_key_free(key);
        *n = i + 1;
    }
    PQclear(res);
    PQfinish(db);
    if (rc != 0) {
        aud_stream_keys_free(keys, *n);
        *n = 0;
        return rc;
    }
    *out = keys;
    return 0;
}

void aud_stream_keys_free(aud_stream_key_t *keys, size_t n)
{
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i].public_pem);
    free(keys);
}

/* The keys one stream may sign with, from the database: its creation key and its registered
 * ones (a registered text that is not the key its id names is left out: what it signed then
 * counts as unverified). */
static void stream_ring(PGresult *keys, const char *stream, aud_keyring_t *ring)
{
    aud_keyring_free(ring);
    for (int i = 0; i < PQntuples(keys); i++) {
        if (strcmp(PQgetvalue(keys, i, 0), stream) != 0)
            continue;
        char why[256];
        aud_key_t *k = aud_key_from_registered(PQgetvalue(keys, i, 1), PQgetvalue(keys, i, 2), why,
                                               sizeof(why));
        if (k)
            aud_keyring_add(ring, k);
    }
}

typedef struct {
    const aud_cp_export_options_t *o;
    aud_cp_export_result_t *r;
    PGresult *keys;
    aud_keyring_t ring;
    char stream[AUD_STREAM_MAX + 1];
    cmn_file_atomic_t file;
    cmn_sha256_t sha;
    char *err;
    size_t errlen;
} export_t;

/* One row of the COPY: seq, hash, ts, key_id, signature, stream name (binary). */
static int export_row(void *ctx, const aud_db_fields_t *row)
{
    export_t *x = ctx;
    aud_checkpoint_t cp;
    memset(&cp, 0, sizeof(cp));
    if (row->len[0] != 8 || row->len[2] != 8 || row->len[3] < 0 || row->len[5] < 1 ||
        row->len[5] > AUD_STREAM_MAX) {
        cmn_errf(x->err, x->errlen, "reading the checkpoints: a malformed row");
        return CMN_ERR_DB;
    }
    snprintf(cp.stream, sizeof(cp.stream), "%.*s", row->len[5], row->f[5]);
    cp.seq = (int64_t)aud_rd64((const unsigned char *)row->f[0]);
    if (row->len[1] == AUD_HASH_BYTES)
        memcpy(cp.hash, row->f[1], AUD_HASH_BYTES);
    cp.ts_us = (int64_t)aud_rd64((const unsigned char *)row->f[2]) + AUD_PG_EPOCH_US;
    snprintf(cp.key_id, sizeof(cp.key_id), "%.*s", row->len[3], row->f[3]);
    if (row->len[4] == AUD_SIG_BYTES)
        memcpy(cp.sig, row->f[4], AUD_SIG_BYTES);

    if (strcmp(cp.stream, x->stream) != 0) {
        snprintf(x->stream, sizeof(x->stream), "%s", cp.stream);
        stream_ring(x->keys, cp.stream, &x->ring);
        x->r->streams++;
    }
    const aud_keyring_t *by = x->o->pinned && x->o->pinned->n ? x->o->pinned : &x->ring;
    if (aud_keyring_check(by, &cp) != 1 && x->r->unverified++ == 0) {
        char ts[28];
        aud_time_format(cp.ts_us, ts);
        snprintf(x->r->first_unverified, sizeof(x->r->first_unverified),
                 "stream %s seq %lld (%s, key %s): %s", cp.stream, (long long)cp.seq, ts, cp.key_id,
                 aud_keyring_find(by, cp.key_id) ? "the signature does not verify"
                 : by == &x->ring                ? "no key of that id is registered"
                                                 : "not signed by a pinned key");
    }
    char line[AUD_CHECKPOINT_MAX_LINE];
    int len = aud_checkpoint_format(&cp, line, sizeof(line));
    if (len < 0 || fwrite(line, 1, (size_t)len, x->file.f) != (size_t)len) {
        cmn_errf(x->err, x->errlen, "%s: write: %s", x->file.tmp, strerror(errno));
        return CMN_ERR_IO;
    }
    cmn_sha256_update(&x->sha, line, (size_t)len);
    x->r->checkpoints++;
    return 0;
}

int aud_checkpoints_export(const aud_cp_export_options_t *o, aud_cp_export_result_t *r, char *err,
                           size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (o->stream && !aud_stream_name_ok(o->stream)) {
        cmn_errf(err, errlen, "\"%.80s\" is not a stream name ([A-Za-z0-9._-], 1 to %d)", o->stream,
                 AUD_STREAM_MAX);
        return CMN_ERR_INVAL;
    }
    export_t x = {.o = o, .r = r, .err = err, .errlen = errlen};
    PGconn *db = aud_db_snapshot(o->database_url, "hubgate audit checkpoints", err, errlen);
    if (!db)
        return CMN_ERR_DB;
    char *lit = PQescapeLiteral(db, o->stream ? o->stream : "", o->stream ? strlen(o->stream) : 0);
    const char *sv[1] = {o->stream ? o->stream : ""};
    x.keys = aud_db_rows(
        db,
        "SELECT s.name, s.key_id, s.public_key FROM audit_stream s WHERE $1 = '' OR s.name = $1 "
        "UNION ALL SELECT s.name, r.key_id, r.public_key FROM audit_stream_key r "
        "JOIN audit_stream s ON s.id = r.stream_id WHERE $1 = '' OR s.name = $1",
        1, sv, 0, "reading the streams' keys", err, errlen);
    int rc = x.keys ? 0 : CMN_ERR_DB; /* err says why */
    if (rc == 0 && !lit) {
        cmn_errf(err, errlen, "out of memory");
        rc = CMN_ERR_NOMEM;
    }
    if (rc == 0)
        rc = cmn_file_atomic_open(&x.file, o->out_path, err, errlen);
    if (rc == 0) {
        char sql[1024];
        snprintf(sql, sizeof(sql),
                 "COPY (SELECT c.seq, c.hash, c.ts, c.key_id, c.signature, s.name "
                 "FROM audit_checkpoint c JOIN audit_stream s ON s.id = c.stream_id "
                 "WHERE (%s = '' OR s.name = %s) AND c.ts >= to_timestamp(%lld / 1000000.0) "
                 "ORDER BY s.name, c.seq, c.ts) TO STDOUT (FORMAT binary)",
                 lit, lit, (long long)o->since_us);
        cmn_sha256_init(&x.sha);
        rc = aud_db_copy_out(db, sql, 6, export_row, &x, "reading the checkpoints", err, errlen);
        unsigned char digest[CMN_SHA256_BYTES];
        cmn_sha256_final(&x.sha, digest);
        cmn_hex(digest, sizeof(digest), r->sha256);
    }
    if (rc == 0 && r->unverified == 0)
        rc = cmn_file_atomic_commit(&x.file, 0644, o->overwrite, "pass --force to replace it", err,
                                    errlen);
    else
        cmn_file_atomic_abort(&x.file);
    if (rc != 0 || r->unverified)
        r->sha256[0] = '\0';
    PQfreemem(lit);
    PQfinish(db);
    aud_keyring_free(&x.ring);
    PQclear(x.keys);
    return rc;
}
