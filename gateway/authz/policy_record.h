/* The text of every policy version the gateway loads, kept in the database (policy_version:
 * SHA-256 → content), so that an evidence report can show what each version in force granted
 * and how it differed from the one before (the audit events carry only its SHA-256). */
#ifndef HUBGATE_GATEWAY_POLICY_RECORD_H
#define HUBGATE_GATEWAY_POLICY_RECORD_H

#include <stddef.h>

/* Reads `path` (at most POL_MAX_POLICY_BYTES) and, when its bytes still hash to sha256 (the
 * version just loaded; a file edited since is recorded at its own load), stores them under that
 * SHA-256 unless already there. Returns 0; CMN_ERR_CONFLICT (the file changed since), or
 * CMN_ERR_IO / CMN_ERR_DB with a one-line reason in err. Opens its own short connection: call
 * it from the thread that loads policies, never a request's. Blocks (disk, network: at most the
 * connect timeout). */
int gw_policy_record(const char *database_url, const char *path, const char *sha256, char *err,
                     size_t errlen);

#endif
