/* A reference JSON string encoder for tests of hand-written decoders: independent of the
 * encoders under test, plain on purpose (every '"' and '\\' escaped, every control as
 * \u00xx). Header-only: each test includes it once. */
#ifndef HUBGATE_TESTS_SUPPORT_JSON_REF_H
#define HUBGATE_TESTS_SUPPORT_JSON_REF_H

#include <stddef.h>
#include <stdio.h>

/* Writes raw[0..n) as a JSON string, quotes included, into out (6n + 3 bytes at most).
 * Returns its length (no NUL written after it). */
static size_t json_ref_string(const char *raw, size_t n, char *out)
{
    size_t k = 0;
    out[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c < 0x20) {
            k += (size_t)snprintf(out + k, 7, "\\u%04x", c);
        } else {
            out[k++] = (char)c;
        }
    }
    out[k++] = '"';
    return k;
}

#endif
