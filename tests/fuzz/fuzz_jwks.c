/* layer: gateway */
/* JWKS documents from an IdP are untrusted input: parse them into keys or refuse them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "gateway/authn/jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cmn_buf_t skipped;
    cmn_buf_init(&skipped, 1 << 16);
    gw_keyset_t *set = gw_jwks_parse((const char *)data, size, &skipped);
    if (set) {
        for (size_t i = 0; i < set->n; i++)
            if (!set->keys[i].kid || !set->keys[i].key)
                abort();
        gw_keyset_release(set);
    }
    cmn_buf_free(&skipped);
    return 0;
}
