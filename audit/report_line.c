#include "audit/report_line.h"
#include "common/json_escape.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static int lit(const char **p, const char *end, const char *w, size_t n)
{
    if ((size_t)(end - *p) < n || memcmp(*p, w, n) != 0)
        return -1;
    *p += n;
    return 0;
}

#define LIT(p, end, w) lit(p, end, w, sizeof(w) - 1)
#define HEX_LEN        (2 * AUD_HASH_BYTES)

static int hex_field(const char **p, const char *end, unsigned char out[AUD_HASH_BYTES])
{
    if ((size_t)(end - *p) < HEX_LEN + 2 || (*p)[0] != '"' || (*p)[HEX_LEN + 1] != '"' ||
        aud_unhex(*p + 1, HEX_LEN, out, AUD_HASH_BYTES) != 0)
        return -1;
    *p += HEX_LEN + 2;
    return 0;
}

static int int_field(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    int64_t x = 0;
    size_t nd = 0;
    while (s + nd < end && s[nd] >= '0' && s[nd] <= '9' && nd < 16)
        x = x * 10 + (s[nd++] - '0');
    if (nd == 0 || (s[0] == '0' && nd > 1) || (s + nd < end && s[nd] >= '0' && s[nd] <= '9'))
        return -1;
    *out = x;
    *p += nd;
    return 0;
}

static int utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        x = x << 4 | (uint32_t)d;
    }
    *out = x;
    return 0;
}

/* Decodes the plain bytes and the common escapes (\" \\ \/) of a JSON string from s into
 * dst + *n, 64 input bytes at a time: the canonical text inside a line escapes a quote every few
 * bytes, and finding every special byte of a block at once (a bit mask) costs much less than
 * stopping at each. Stops before the closing quote, a control character, another escape, or
 * within 80 bytes of end (the byte loop of the caller takes over). The 16-byte stores may write
 * past what was decoded, never past where the input stands: dst has room for everything up to end
 * (decoding never grows). Returns where it stopped. */
static const char *decode_blocks(const char *s, const char *end, char *dst, size_t *n)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1f);
    while (end - s >= 80) {
        uint64_t m = 0;
        for (int i = 0; i < 4; i++) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + 16 * i));
            __m128i sp =
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                             _mm_cmpeq_epi8(_mm_min_epu8(x, ctl), x)); /* x <= 0x1f */
            m |= (uint64_t)(unsigned)_mm_movemask_epi8(sp) << (16 * i);
        }
        size_t pos = 0;
        while (m) {
            size_t k = (size_t)__builtin_ctzll(m);
            /* the run before it: 16 bytes at a time, the excess overwritten later */
            for (size_t c = pos; c < k; c += 16)
                _mm_storeu_si128((__m128i *)(void *)(dst + *n + (c - pos)),
                                 _mm_loadu_si128((const __m128i *)(const void *)(s + c)));
            *n += k - pos;
            char e = s[k + 1];
            if (s[k] != '\\' || k == 63 || (e != '"' && e != '\\' && e != '/'))
                return s + k; /* the end, a control, another escape, or one across blocks */
            dst[(*n)++] = e;
            pos = k + 2;
            m &= k + 2 < 64 ? ~0ULL << (k + 2) : 0; /* past the escape and what it escapes */
        }
        for (size_t c = pos; c < 64; c += 16)
            _mm_storeu_si128((__m128i *)(void *)(dst + *n + (c - pos)),
                             _mm_loadu_si128((const __m128i *)(const void *)(s + c)));
        *n += 64 - pos;
        s += 64;
    }
#endif
    return s;
}

/* The same, one byte at a time, for what decode_blocks leaves. */
static const char *copy_plain(const char *s, const char *end, char *dst, size_t *n)
{
    while (s < end && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
        dst[(*n)++] = *s++;
    return s;
}

/* Decodes the JSON string at *p into dst (capacity: the string's encoded length). Any JSON
 * escape is accepted: what the bytes must be is checked afterwards (the event re-encodes the
 * same, the org hashes into the chain). */
static int string_field(const char **p, const char *end, char *dst, size_t *outlen)
{
    const char *s = *p;
    if (s >= end || *s != '"')
        return -1;
    s++;
    size_t n = 0;
    for (;;) {
        s = decode_blocks(s, end, dst, &n);
        s = copy_plain(s, end, dst, &n);
        if (s >= end || (unsigned char)*s < 0x20)
            return -1;
        if (*s == '"')
            break;
        if (end - s < 2)
            return -1;
        char e = s[1];
        s += 2;
        int short_esc = e == '/' ? '/' : cmn_json_unescape(e);
        if (short_esc >= 0) {
            dst[n++] = (char)short_esc;
            continue;
        }
        if (e != 'u')
            return -1;
        uint32_t cp, lo;
        if (end - s < 4 || hex4(s, &cp) != 0)
            return -1;
        s += 4;
        if (cp >= 0xd800 && cp < 0xdc00) {
            if (end - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) != 0 ||
                lo < 0xdc00 || lo >= 0xe000)
                return -1;
            s += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp < 0xe000) {
            return -1;
        }
        n += (size_t)utf8_put(dst + n, cp);
    }
    *p = s + 1;
    *outlen = n;
    return 0;
}

static int stream_field(const char **p, const char *end, char out[AUD_STREAM_MAX + 1])
{
    const char *s = *p;
    if (s >= end || *s != '"')
        return -1;
    const char *q = memchr(s + 1, '"', (size_t)(end - s - 1));
    if (!q || q - s - 1 > AUD_STREAM_MAX || q - s - 1 < 1)
        return -1;
    memcpy(out, s + 1, (size_t)(q - s - 1));
    out[q - s - 1] = '\0';
    if (!aud_stream_name_ok(out))
        return -1;
    *p = q + 1;
    return 0;
}

int aud_report_line_parse(const char *s, size_t n, char *decode, aud_report_line_t *l,
                          const char **why)
{
    const char *p = s, *end = s + n;
    memset(l, 0, sizeof(*l));
    l->text = decode;
    if (LIT(&p, end, "{\"canonical\":") == 0) {
        *why = "\"canonical\" (a JSON string)";
        if (string_field(&p, end, l->text, &l->text_len) != 0)
            return -1;
        *why = "\"chain\": 1 or 2";
        if (LIT(&p, end, ",\"chain\":") != 0 || p >= end || (*p != '1' && *p != '2'))
            return -1;
        l->chain = *p++ - '0';
        *why = "\"hash\" (64 hex digits)";
        if (LIT(&p, end, ",\"hash\":") != 0 || hex_field(&p, end, l->hash) != 0)
            return -1;
        *why = "\"in_period\": true or false";
        if (LIT(&p, end, ",\"in_period\":") != 0)
            return -1;
        if (LIT(&p, end, "true") == 0)
            l->in_period = 1;
        else if (LIT(&p, end, "false") != 0)
            return -1;
    } else if (LIT(&p, end, "{\"chain\":2,\"commitment\":") == 0) {
        l->hidden = 1;
        l->chain = 2;
        *why = "\"commitment\" (64 hex digits)";
        if (hex_field(&p, end, l->commitment) != 0)
            return -1;
        *why = "\"hash\" (64 hex digits)";
        if (LIT(&p, end, ",\"hash\":") != 0 || hex_field(&p, end, l->hash) != 0)
            return -1;
        *why = "\"hidden\":true then \"org\" (a JSON string)";
        if (LIT(&p, end, ",\"hidden\":true,\"org\":") != 0 ||
            string_field(&p, end, l->text, &l->text_len) != 0 || l->text_len > AUD_CHAIN_MAX_ORG)
            return -1;
    } else {
        *why = "{\"canonical\":… (an event shown whole) or {\"chain\":2,\"commitment\":… (an "
               "event shown hidden)";
        return -1;
    }
    *why = "\"prev_hash\" (64 hex digits)";
    if (LIT(&p, end, ",\"prev_hash\":") != 0 || hex_field(&p, end, l->prev) != 0)
        return -1;
    *why = "\"seq\" (a positive integer)";
    if (LIT(&p, end, ",\"seq\":") != 0 || int_field(&p, end, &l->seq) != 0 || l->seq < 1)
        return -1;
    *why = "\"stream\" (a stream name) and the end of the object";
    if (LIT(&p, end, ",\"stream\":") != 0 || stream_field(&p, end, l->stream) != 0 ||
        LIT(&p, end, "}") != 0 || p != end)
        return -1;
    return 0;
}
