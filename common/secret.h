/* Files that hold secrets: keys, tokens, passwords.
 *
 * A secret file must be a regular file that neither its group nor others may read or write
 * (mode 0600 or 0400, as ssh demands of a private key): a secret the whole machine can read is
 * no longer a secret, and one others can write can be swapped. Every file hubgate reads a
 * secret from goes through cmn_secret_read, so the rule and its message are the same
 * everywhere. */
#ifndef HUBGATE_COMMON_SECRET_H
#define HUBGATE_COMMON_SECRET_H

#include <stddef.h>

#include "common/buf.h"

/* Checks the file open on fd (fd >= 0), or else the file at path (followed through symlinks,
 * as open would). Returns 0 when it is a regular file with no group or other permission bits;
 * CMN_ERR_DENIED with "PATH is readable or writable by group or others (mode 0644): chmod 600
 * PATH" (or "is not a regular file") in err; CMN_ERR_NOTFOUND or CMN_ERR_IO when it cannot be
 * examined. Never prints the file's content. Blocks (stat). */
int cmn_secret_check(int fd, const char *path, char *err, size_t errlen);

/* Opens path, checks the open file (as cmn_secret_check) and reads it whole into b
 * (initialised by the caller with its cap). Returns 0, or the check's error, or
 * CMN_ERR_TOOBIG / CMN_ERR_IO / CMN_ERR_NOMEM, each with a one-line reason naming path in err.
 * On failure b may hold part of the file: the caller wipes it as it would the secret. */
int cmn_secret_read(cmn_buf_t *b, const char *path, char *err, size_t errlen);

#endif
