/* layer: gateway */
/* The JWT splitter/decoder and the claim checks on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "gateway/authn/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 1 << 22);
    gw_jwt_t jwt;
    const char *why = NULL;
    if (gw_jwt_parse((const char *)data, size, &a, &jwt, &why) == 0) {
        if (!jwt.header || !jwt.payload || !jwt.alg || jwt.signature_len == 0)
            abort();
        gw_jwt_expect_t e = {"https://idp", "hubgate", 1500, 60};
        (void)gw_jwt_check_claims(&jwt, &e, &why);
        gw_jwt_free(&jwt);
    } else if (!why) {
        abort();
    }
    cmn_arena_free(&a);
    return 0;
}
