#include "gateway/server/check.h"
#include "gateway/server/tls.h"

#include "audit/checkpoint.h"

#include "common/err.h"
#include "common/log.h"
#include "common/secret.h"

#include "gateway/version.h"

#include "gateway/authn/assertion.h"

#include "gateway/forward/egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a PEM file; a private key (secret) must be private to its owner, like every secret
 * file (cmn_secret_read). */
int gw_check_read_pem(const char *path, int secret, cmn_buf_t *out)
{
    cmn_buf_init(out, 1024 * 1024);
    char why[512];
    int rc = secret ? cmn_secret_read(out, path, why, sizeof(why)) : cmn_buf_read_file(out, path);
    if (rc && !secret)
        snprintf(why, sizeof(why), "cannot read %s: %s", path,
                 rc == CMN_ERR_IO ? strerror(errno) : cmn_err_str(rc));
    if (rc)
        cmn_log_error("serve", "%s", why);
    return rc;
}

/* Every secret file the config names, loaded as `serve` would load it: the same refusals (a
 * mode letting group or others in, bad content), reported the same way. Region token files
 * were read with the config. Returns 0 when all are fit. Blocks. */
int gw_check_secret_files(const gw_config_t *cfg)
{
    int status = 0;
    char why[512];
    if (cfg->egress_key_file) {
        gw_egress_key_t k;
        if (gw_egress_key_load(&k, cfg->egress_key_file, why, sizeof(why)) != 0) {
            cmn_log_error("serve", "egress_key_file: %s", why);
            status = 1;
        }
        for (size_t i = 0; i < cfg->n_egress_previous_key_files; i++) {
            if (gw_egress_key_load(&k, cfg->egress_previous_key_files[i], why, sizeof(why))) {
                cmn_log_error("serve", "egress_previous_key_files: %s", why);
                status = 1;
            }
        }
        OPENSSL_cleanse(&k, sizeof(k));
    }
    if (cfg->audit.mode != GW_AUDIT_OFF && cfg->audit.signing_key) {
        aud_key_t *k = aud_key_load(cfg->audit.signing_key, why, sizeof(why));
        if (!k) {
            cmn_log_error("serve", "audit.signing_key: %s", why);
            status = 1;
        } else if (!aud_key_is_private(k)) {
            cmn_log_error("serve", "audit.signing_key: %s is a public key (expected the private "
                                   "key made by hubgate keygen)",
                          cfg->audit.signing_key);
            status = 1;
        }
        aud_key_free(k);
    }
    if (cfg->assertion_key) {
        gw_assertion_t *a =
            gw_assertion_create_keys(cfg->assertion_key, cfg->assertion_published_keys,
                                     cfg->n_assertion_published_keys, cfg->public_url);
        if (!a)
            status = 1; /* the reason is logged */
        gw_assertion_destroy(a);
    }
    if (cfg->tls_cert && gw_tls_check(cfg->tls_cert, cfg->tls_key) != 0)
        status = 1; /* the reason is logged */
    return status;
}
