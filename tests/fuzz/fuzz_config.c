/* layer: gateway */
/* The configuration parser on arbitrary bytes: it must never crash, leak or accept a config
 * that violates its own invariants. A refusal says why, one problem a line, each line naming
 * the file, whatever control characters the input holds (common/jdiag.h escapes them). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    gw_config_t *cfg =
        gw_config_parse((const char *)data, size, "fuzz.json", "/nonexistent-dir", &errors);
    if (cfg) {
        /* A config without readable token files cannot be valid. */
        if (cfg->n_regions == 0 || !cfg->public_url || !cfg->database || !cfg->policy)
            abort();
        for (size_t i = 0; i < cfg->n_regions; i++)
            if (!cfg->regions[i].token || !cfg->regions[i].upstream)
                abort();
        gw_config_free(cfg);
    } else if (errors.len == 0) {
        abort(); /* a refusal always says why */
    } else {
        for (const char *line = errors.data; *line;) {
            const char *nl = strchr(line, '\n');
            if (strncmp(line, "fuzz.json", 9) != 0 || !nl)
                abort();
            for (const char *c = line; c < nl; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    abort();
            line = nl + 1;
        }
    }
    cmn_buf_free(&errors);
    return 0;
}
