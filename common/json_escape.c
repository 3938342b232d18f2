/* JSON's short string escapes: contract in json_escape.h. */
#include "common/json_escape.h"

#include <string.h>

size_t cmn_json_escape(unsigned char c, char out[7])
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = cmn_json_escape_letter(c);
    if (out[1]) {
        out[2] = '\0';
        return 2;
    }
    memcpy(out + 1, "u00", 3);
    out[4] = hex[c >> 4];
    out[5] = hex[c & 15];
    out[6] = '\0';
    return 6;
}
