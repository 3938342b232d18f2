#include "gateway/auditlog/auditlog.h"
#include "common/err.h"
#include "common/log.h"

#include "gateway/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

aud_writer_t *gw_auditlog_open(const gw_config_t *cfg, const char *stream, char *err,
                               size_t errlen)
{
    if (!cfg->audit.signing_key) {
        snprintf(err, errlen,
                 "audit.signing_key is required: every decision is recorded in a signed log "
                 "(create a key with: hubgate keygen --out FILE)");
        return NULL;
    }
    aud_writer_config_t wc = {
        .database_url = cfg->database,
        .stream = stream,
        .signing_key = cfg->audit.signing_key,
        .mode = cfg->audit.mode == GW_AUDIT_SPOOL ? AUD_MODE_SPOOL : AUD_MODE_STRICT,
        .spool_dir = cfg->audit.spool_dir,
        .checkpoint_every = cfg->audit.checkpoint_every,
        .checkpoint_seconds = cfg->audit.checkpoint_seconds,
        .write_timeout_ms = cfg->audit.write_timeout_ms,
    };
    return aud_writer_open(&wc, err, errlen);
}

void gw_auditlog_note(aud_writer_t *w, const aud_event_t *ev)
{
    if (!w)
        return;
    int rc = aud_writer_submit(w, ev, NULL, NULL);
    if (rc != 0)
        cmn_log_warn("audit", "cannot queue a %s event: %s", aud_kind_name(ev->kind),
                     cmn_err_str(rc));
}
