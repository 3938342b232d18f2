/* The output side of `hubgate report soc2`: files hashed as they are written, the temporary
 * directory renamed into place, the manifest and its signature. Internal to audit/
 * (report_t.h). */
#ifndef HUBGATE_AUDIT_REPORT_FILES_H
#define HUBGATE_AUDIT_REPORT_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "audit/report_t.h"

/* Creates name in the directory dirfd (mode 0644, must not exist). Returns 0, or CMN_ERR_IO /
 * CMN_ERR_NOMEM / CMN_ERR_CRYPTO with the reason in err. */
int rpt_sink_open(rpt_sink_t *s, int dirfd, const char *name, char *err, size_t errlen);

void rpt_sink_write(rpt_sink_t *s, const void *p, size_t n);
void rpt_sink_puts(rpt_sink_t *s, const char *str);
void rpt_sink_printf(rpt_sink_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Flushes, fsyncs and closes the file; hex receives its SHA-256. Returns 0, or CMN_ERR_IO
 * with "NAME: reason" in err. Safe to call on a sink never opened or already closed. */
int rpt_sink_close(rpt_sink_t *s, char hex[2 * AUD_HASH_BYTES + 1], char *err, size_t errlen);

/* Closes without caring (the run failed). */
void rpt_sink_abort(rpt_sink_t *s);

/* Makes the temporary sibling of out_dir ("<out_dir>.tmp-XXXXXX"); *dirfd opened on it.
 * Refuses an out_dir that exists. Returns 0 or CMN_ERR_CONFLICT / CMN_ERR_IO with err set. */
int rpt_dir_create(const char *out_dir, char *tmp, size_t tmplen, int *dirfd, char *err,
                   size_t errlen);

/* fsyncs the directory and renames tmp to out_dir, never over an existing path. */
int rpt_dir_publish(int dirfd, const char *tmp, const char *out_dir, char *err, size_t errlen);

/* Removes the files of the report in tmp and tmp itself (a failed run). */
void rpt_dir_discard(int dirfd, const char *tmp);

/* Writes manifest.json ({"files":{name:sha256},"format":1,"generated":…,"key_id":…}, keys
 * sorted, no whitespace, no newline) and, with a key, manifest.sig (base64 of the Ed25519
 * signature over manifest.json's bytes, then "\n"). names/hexes: n files. */
int rpt_manifest_write(int dirfd, const char *const *names, const char *const *hexes, size_t n,
                       int64_t generated_us, const aud_key_t *key, char *err, size_t errlen);

#endif
