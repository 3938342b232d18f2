/* JSON's short string escapes (RFC 8259 §7), the table every encoder and decoder of JSON text
 * by hand shares: `"` `\` and the controls \b \t \n \f \r have a one-letter escape; other
 * controls are written \u00xx. The two lookups are inline: decoders run them for every escape
 * of every line they read. */
#ifndef HUBGATE_COMMON_JSON_ESCAPE_H
#define HUBGATE_COMMON_JSON_ESCAPE_H

#include <stddef.h>

/* The letter that escapes c (`\` then the letter), or 0 when c has no short escape. */
static inline char cmn_json_escape_letter(unsigned char c)
{
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\b':
        return 'b';
    case '\t':
        return 't';
    case '\n':
        return 'n';
    case '\f':
        return 'f';
    case '\r':
        return 'r';
    default:
        return 0;
    }
}

/* The character that `\` letter stands for, or -1 when letter is no short escape ('u', '/'
 * and anything else). */
static inline int cmn_json_unescape(char letter)
{
    switch (letter) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case 'b':
        return '\b';
    case 't':
        return '\t';
    case 'n':
        return '\n';
    case 'f':
        return '\f';
    case 'r':
        return '\r';
    default:
        return -1;
    }
}

/* Writes the escape of c (`"`, `\` or a control below 0x20) into out: its short escape, else
 * \u00xx in lowercase hex; NUL-terminated. Returns its length (2 or 6). */
size_t cmn_json_escape(unsigned char c, char out[7]);

#endif
