/* `hubgate audit retire`: contract in retire.h. */
#include "audit/retire.h"
#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/db.h"
#include "audit/event.h"
#include "audit/key.h"
#include "audit/migrate.h"
#include "audit/verify.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const aud_retire_options_t *o;
    FILE *out;
    PGconn *db;
    aud_key_t *key;
    char id[24];                  /* audit_stream.id */
    char created_key[AUD_KEY_ID_LEN + 1];
    int64_t head_seq;             /* the stream's last event (or its last archive's anchor) */
    unsigned char head[AUD_HASH_BYTES];
    char by[128];                 /* the database role that retires it */
} ret_t;

static PGresult *rows(ret_t *t, const char *sql, int n, const char *const *p, const char *what,
                      char *err, size_t errlen)
{
    return aud_db_rows(t->db, sql, n, p, 0, what, err, errlen);
}

static int reason_ok(const char *s)
{
    if (!s)
        return 1;
    size_t n = strlen(s);
    if (n == 0 || n > AUD_RETIRE_MAX_REASON)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return !aud_event_value_looks_secret(s);
}

/* Step 1: the stream, not retired yet, and its lock (held until the connection ends). */
static int find_and_lock(ret_t *t, char *err, size_t errlen)
{
    const char *p[1] = {t->o->stream};
    PGresult *r = rows(t, "SELECT id::text, key_id, session_user FROM audit_stream WHERE name = $1",
                       1, p, "reading the stream", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    if (PQntuples(r) != 1) {
        PQclear(r);
        cmn_errf(err, errlen, "the database has no audit stream \"%s\"", t->o->stream);
        return CMN_ERR_NOTFOUND;
    }
    snprintf(t->id, sizeof(t->id), "%s", PQgetvalue(r, 0, 0));
    snprintf(t->created_key, sizeof(t->created_key), "%s", PQgetvalue(r, 0, 1));
    snprintf(t->by, sizeof(t->by), "%s", PQgetvalue(r, 0, 2));
    PQclear(r);

    const char *q[1] = {t->id};
    r = rows(t,
             "SELECT seq, to_char(retired_at AT TIME ZONE 'UTC', "
             "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), retired_by FROM audit_stream_retired "
             "WHERE stream_id = $1::bigint",
             1, q, "reading audit_stream_retired (is the database migrated to schema 009?)", err,
             errlen);
    if (!r)
        return CMN_ERR_DB;
    if (PQntuples(r) == 1) {
        cmn_errf(err, errlen, "stream %s was retired at seq %s on %s by %s", t->o->stream,
                 PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
        PQclear(r);
        return CMN_ERR_CONFLICT;
    }
    PQclear(r);

    char cls[16];
    snprintf(cls, sizeof(cls), "%d", AUD_LOCK_CLASS);
    const char *lk[2] = {cls, t->id};
    r = rows(t, "SELECT pg_try_advisory_lock($1::int, $2::bigint::int)", 2, lk,
             "locking the stream", err, errlen);
    if (!r)
        return CMN_ERR_DB;
    int got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (got)
        return 0;
    r = rows(t,
             "SELECT coalesce(a.application_name, '') || ' from ' || "
             "coalesce(host(a.client_addr), 'local') || ', pid ' || l.pid FROM pg_locks l "
             "LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND "
             "l.granted AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND "
             "l.objsubid = 2 LIMIT 1",
             2, lk, "locking the stream", err, errlen);
    cmn_errf(err, errlen,
             "stream %s is being written by a live gateway (%s): only a stream whose instance "
             "is gone for good is retired",
             t->o->stream, r && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "its session");
    PQclear(r);
    return CMN_ERR_CONFLICT;
}

/* Step 2. */
static int verify_stream(ret_t *t, char *err, size_t errlen)
{
    aud_verify_options_t vo = {
        .database_url = t->o->database_url,
        .pubkey_files = t->o->pubkey_files,
        .n_pubkeys = t->o->n_pubkeys,
        /* a file not there yet is made by step 4 */
        .checkpoint_file = t->o->checkpoint_file && access(t->o->checkpoint_file, F_OK) == 0
                               ? t->o->checkpoint_file
                               : NULL,
        .stream = t->o->stream,
        .readers = 1,
    };
    aud_verify_report_t rep;
    memset(&rep, 0, sizeof(rep));
    int rc = aud_verify_run(&vo, &rep, err, errlen);
    if (rc == 0 && !rep.ok) {
        const aud_problem_t *p = rep.n_problems ? &rep.problems[0] : NULL;
        cmn_errf(err, errlen,
                 "stream %s does not verify (%zu problems%s%s): nothing was retired; run "
                 "hubgate audit verify --stream %s",
                 t->o->stream, rep.total_problems, p ? ", the first: " : "", p ? p->message : "",
                 t->o->stream);
        rc = CMN_ERR_CONFLICT;
    } else if (rc == 0) {
        const aud_stream_report_t *s = rep.n_streams ? &rep.streams[0] : NULL;
        fprintf(t->out, "verified stream %s: %lld events, %lld checkpoints%s: ok\n", t->o->stream,
                s ? (long long)s->events : 0LL, s ? (long long)s->checkpoints : 0LL,
                rep.pinned ? " (keys: the --pubkey files)"
                           : " (keys: those the database registered)");
    }
    aud_verify_report_free(&rep);
    return rc;
}

/* The head the retirement chains onto: the last event, else the last archive's anchor, else
 * the genesis. */
static int read_head(ret_t *t, char *err, size_t errlen)
{
    const char *p[1] = {t->id};
    PGresult *r = rows(t,
                       "SELECT seq, encode(hash, 'hex') FROM audit_event WHERE stream_id = "
                       "$1::bigint ORDER BY seq DESC LIMIT 1",
                       1, p, "reading the chain head", err, errlen);
    if (r && PQntuples(r) == 0) {
        PQclear(r);
        r = rows(t,
                 "SELECT last_seq, encode(last_hash, 'hex') FROM audit_archive WHERE stream_id = "
                 "$1::bigint ORDER BY last_seq DESC LIMIT 1",
                 1, p, "reading the stream's last archive", err, errlen);
    }
    if (!r)
        return CMN_ERR_DB;
    t->head_seq = 0;
    aud_chain_genesis(t->o->stream, t->head);
    if (PQntuples(r) == 1 && aud_unhex(PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1),
                                       t->head, AUD_HASH_BYTES) == 0)
        t->head_seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        aud_chain_genesis(t->o->stream, t->head); /* (aud_unhex may have written into it) */
    PQclear(r);
    return 0;
}

/* An INSERT with params (each ends RETURNING 1, for aud_db_rows): 0 or CMN_ERR_DB. */
static int insert(ret_t *t, const char *sql, int n, const char *const *p, const char *what,
                  char *err, size_t errlen)
{
    PGresult *r = rows(t, sql, n, p, what, err, errlen);
    int ok = r != NULL;
    PQclear(r);
    return ok ? 0 : CMN_ERR_DB;
}

/* Step 3, in one transaction. */
static int retire(ret_t *t, aud_checkpoint_t *cp, char *err, size_t errlen)
{
    aud_event_t ev;
    aud_event_init(&ev, AUD_KIND_STREAM_RETIRED);
    aud_event_detail_str(&ev, "by", t->by);
    if (t->o->reason)
        aud_event_detail_str(&ev, "reason", t->o->reason);
    cmn_buf_t canon;
    cmn_buf_init(&canon, 8192);
    aud_hasher_t h;
    memset(&h, 0, sizeof(h));
    unsigned char hash[AUD_HASH_BYTES];
    int rc = aud_event_encode(&ev, &canon);
    if (!rc)
        rc = aud_hasher_init(&h);
    if (!rc)
        rc = aud_chain_next(&h, t->head, canon.data, canon.len, hash);
    aud_hasher_free(&h);
    if (rc) {
        cmn_buf_free(&canon);
        cmn_errf(err, errlen, "cannot make the retirement event: %s", cmn_err_str(rc));
        return rc;
    }
    memset(cp, 0, sizeof(*cp));
    snprintf(cp->stream, sizeof(cp->stream), "%s", t->o->stream);
    cp->seq = t->head_seq + 1;
    memcpy(cp->hash, hash, AUD_HASH_BYTES);
    cp->ts_us = aud_time_now_us();
    if (cp->ts_us < ev.ts_us)
        cp->ts_us = ev.ts_us;
    if ((rc = aud_checkpoint_sign(cp, t->key))) {
        cmn_buf_free(&canon);
        cmn_errf(err, errlen, "cannot sign the retirement checkpoint: %s", cmn_err_str(rc));
        return rc;
    }

    aud_columns_t c;
    aud_event_columns(&ev, &c);
    char seq[24], ets[28], cts[28], prev[2 * AUD_HASH_BYTES + 1], hx[2 * AUD_HASH_BYTES + 1],
        sig[2 * AUD_SIG_BYTES + 1];
    snprintf(seq, sizeof(seq), "%lld", (long long)cp->seq);
    aud_time_format(ev.ts_us, ets);
    aud_time_format(cp->ts_us, cts);
    cmn_hex(t->head, AUD_HASH_BYTES, prev);
    cmn_hex(hash, AUD_HASH_BYTES, hx);
    cmn_hex(cp->sig, AUD_SIG_BYTES, sig);

    rc = aud_db_exec(t->db, "BEGIN", "retiring", err, errlen);
    if (!rc && strcmp(cp->key_id, t->created_key) != 0) {
        cmn_buf_t pem;
        cmn_buf_init(&pem, 4096);
        if (aud_key_public_pem(t->key, &pem) != 0) {
            cmn_errf(err, errlen, "cannot encode the public key");
            rc = CMN_ERR_CRYPTO;
        } else {
            const char *kp[3] = {t->id, cp->key_id, pem.data};
            rc = insert(t,
                        "INSERT INTO audit_stream_key (stream_id, key_id, public_key) "
                        "VALUES ($1::bigint, $2, $3) ON CONFLICT DO NOTHING RETURNING 1",
                        3, kp, "registering the signing key", err, errlen);
        }
        cmn_buf_free(&pem);
    }
    if (!rc) {
        /* the columns come from the event, as every writer path takes them (event.h) */
        const char *ep[7] = {t->id, seq, ets, prev, hx, canon.data, c.kind};
        rc = insert(t,
                    "INSERT INTO audit_event (stream_id, seq, ts, prev_hash, hash, canonical, "
                    "kind) VALUES ($1::bigint, $2::bigint, $3::timestamptz, decode($4, 'hex'), "
                    "decode($5, 'hex'), $6, $7) RETURNING 1",
                    7, ep, "appending the retirement event", err, errlen);
    }
    if (!rc) {
        const char *kp[6] = {t->id, seq, hx, cts, cp->key_id, sig};
        rc = insert(t,
                    "INSERT INTO audit_checkpoint (stream_id, seq, hash, ts, key_id, signature) "
                    "VALUES ($1::bigint, $2::bigint, decode($3, 'hex'), $4::timestamptz, $5, "
                    "decode($6, 'hex')) RETURNING 1",
                    6, kp, "recording the retirement checkpoint", err, errlen);
    }
    if (!rc) {
        const char *rp[3] = {t->id, seq, hx};
        rc = insert(t,
                    "INSERT INTO audit_stream_retired (stream_id, seq, hash) VALUES "
                    "($1::bigint, $2::bigint, decode($3, 'hex')) RETURNING 1",
                    3, rp, "recording the retirement", err, errlen);
    }
    cmn_buf_free(&canon);
    if (!rc)
        rc = aud_db_exec(t->db, "COMMIT", "retiring", err, errlen);
    if (rc) {
        char ignored[128];
        aud_db_exec(t->db, "ROLLBACK", NULL, ignored, sizeof(ignored));
        return rc;
    }
    fprintf(t->out,
            "retired stream %s: event stream.retired at seq %lld (after seq %lld), checkpoint "
            "signed by key %s\n",
            t->o->stream, (long long)cp->seq, (long long)t->head_seq, cp->key_id);
    return 0;
}

/* Step 4. */
static int keep_checkpoint(ret_t *t, const aud_checkpoint_t *cp, char *err, size_t errlen)
{
    char line[AUD_CHECKPOINT_MAX_LINE];
    if (aud_checkpoint_format(cp, line, sizeof(line)) > 0)
        fprintf(t->out, "checkpoint: %s", line);
    if (!t->o->checkpoint_file)
        return 0;
    int fd = open(t->o->checkpoint_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0 || aud_checkpoint_append(fd, cp, 1) != 0) {
        cmn_errf(err, errlen,
                 "the stream is retired, but its checkpoint could not be appended to %s (%s): "
                 "append the line above to it",
                 t->o->checkpoint_file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CMN_ERR_IO;
    }
    close(fd);
    fprintf(t->out, "appended the checkpoint to %s\n", t->o->checkpoint_file);
    return 0;
}

int aud_retire_run(const aud_retire_options_t *o, FILE *out, char *err, size_t errlen)
{
    if (!o->stream || !aud_stream_name_ok(o->stream)) {
        cmn_errf(err, errlen, "\"%s\" is not a stream name ([A-Za-z0-9._-]{1,64})",
                 o->stream ? o->stream : "");
        return CMN_ERR_INVAL;
    }
    if (!reason_ok(o->reason)) {
        cmn_errf(err, errlen,
                 "--reason must be 1 to %d printable bytes and look like no credential: it goes "
                 "into the audit log",
                 AUD_RETIRE_MAX_REASON);
        return CMN_ERR_INVAL;
    }
    ret_t t;
    memset(&t, 0, sizeof(t));
    t.o = o;
    t.out = out;
    char why[400];
    t.key = aud_key_load(o->key_file, why, sizeof(why));
    if (!t.key || !aud_key_is_private(t.key)) {
        cmn_errf(err, errlen, "--key %s: %s", o->key_file,
                 t.key ? "a public key cannot sign: give the audit signing key" : why);
        aud_key_free(t.key);
        return CMN_ERR_INVAL;
    }
    int rc = 0, lent = 0;
    aud_checkpoint_t cp;
    t.db = aud_db_connect(o->database_url, "hubgate audit retire", err, errlen);
    if (!t.db) {
        aud_key_free(t.key);
        return CMN_ERR_DB;
    }
    if ((rc = aud_db_exec(t.db, "SET client_min_messages = warning", "setup", err, errlen)))
        goto out;
    if ((rc = aud_migrate_lend_owner(t.db, out, err, errlen)))
        goto out;
    lent = 1;
    /* (the event goes into the month's partition: made if no gateway made it) */
    if ((rc = find_and_lock(&t, err, errlen)) || (rc = verify_stream(&t, err, errlen)) ||
        (rc = aud_migrate_partitions(t.db, 1, out, err, errlen)) ||
        (rc = read_head(&t, err, errlen)) || (rc = retire(&t, &cp, err, errlen)))
        goto out;
    rc = keep_checkpoint(&t, &cp, err, errlen);
out:
    if (lent) {
        char end_err[512];
        int end_rc = aud_migrate_take_back_owner(t.db, out, end_err, sizeof(end_err));
        if (end_rc && rc == 0) {
            rc = end_rc;
            cmn_errf(err, errlen, "%s", end_err);
        }
    }
    PQfinish(t.db);
    aud_key_free(t.key);
    return rc;
}
