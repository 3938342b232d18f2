/* layer: gateway */
/* Xet upload shards from clients, read for the audit log: any bytes either parse into files
 * whose strings are well formed, or are refused, and nothing is read past the end. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/forward/xet_shard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    return strspn(s, "0123456789abcdef") == 64;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy of exactly size bytes: ASan catches any read past it */
    unsigned char *shard = malloc(size ? size : 1);
    if (!shard)
        return 0;
    memcpy(shard, data, size);
    gw_xet_shard_file_t files[4];
    size_t total = 99;
    if (gw_xet_shard_files(shard, size, files, 4, &total) == 0) {
        for (size_t i = 0; i < total && i < 4; i++) {
            if (!hex64(files[i].hash) || (files[i].sha256[0] && !hex64(files[i].sha256)))
                abort();
        }
    } else if (total != 0) {
        abort();
    }
    free(shard);
    return 0;
}
