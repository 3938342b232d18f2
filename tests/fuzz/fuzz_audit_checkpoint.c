/* layer: audit */
/* The checkpoint file line parser (audit/checkpoint.h) on arbitrary bytes: what parses formats
 * back to a line that parses to the same checkpoint; nothing crashes or leaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aud_checkpoint_t cp, again;
    char why[200] = "";
    if (aud_checkpoint_parse((const char *)data, size, &cp, why, sizeof(why)) != 0) {
        if (!why[0])
            abort();
        return 0;
    }
    char line[AUD_CHECKPOINT_MAX_LINE], msg[256];
    int n = aud_checkpoint_format(&cp, line, sizeof(line));
    if (n <= 0 || aud_checkpoint_message(&cp, msg, sizeof(msg)) <= 0)
        abort();
    if (aud_checkpoint_parse(line, (size_t)n, &again, why, sizeof(why)) != 0 ||
        memcmp(&cp, &again, sizeof(cp)) != 0)
        abort();
    return 0;
}
