#include "gateway/authz/policy_record.h"
#include "audit/db.h"

#include "common/err.h"
#include "policy/policy.h"
#include "common/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int gw_policy_record(const char *database_url, const char *path, const char *sha256, char *err,
                     size_t errlen)
{
    cmn_buf_t text;
    cmn_buf_init(&text, POL_MAX_POLICY_BYTES);
    PGconn *db = NULL;
    PGresult *r = NULL;
    int rc = cmn_buf_read_file(&text, path);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, rc == CMN_ERR_TOOBIG ? "too large" : strerror(errno));
        rc = CMN_ERR_IO;
        goto out;
    }
    char hex[CMN_SHA256_HEX];
    cmn_sha256_hex(text.data ? text.data : "", text.len, hex);
    if (!sha256 || strcmp(hex, sha256) != 0) {
        snprintf(err, errlen, "%s changed since it was loaded", path);
        rc = CMN_ERR_CONFLICT;
        goto out;
    }
    if (!(db = aud_db_connect(database_url, "hubgate policy record", err, errlen))) {
        rc = CMN_ERR_DB;
        goto out;
    }
    /* The text as bytes (a file with a NUL byte is refused by the policy parser anyway). */
    const char *params[2] = {hex, text.data ? text.data : ""};
    r = PQexecParams(db,
                     "INSERT INTO policy_version (sha256, content) VALUES ($1, $2) "
                     "ON CONFLICT (sha256) DO NOTHING",
                     2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        aud_db_oneline(err, errlen, "policy_version: ", PQresultErrorMessage(r));
        rc = CMN_ERR_DB;
    }
out:
    PQclear(r);
    if (db)
        PQfinish(db);
    cmn_buf_free(&text);
    return rc;
}
