/* layer: common */
/* The JSON position scanner trusts jansson's grammar but must stay in bounds on any input. */
#include <stddef.h>
#include <stdint.h>

#include "common/jsonpos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cmn_jsonpos_t *idx = cmn_jsonpos_build((const char *)data, size);
    int line, col;
    (void)cmn_jsonpos_find(idx, "/a/0", 0, &line, &col);
    (void)cmn_jsonpos_find(idx, "", 1, &line, &col);
    cmn_jsonpos_free(idx);
    return 0;
}
