#include "gateway/forward/xet_shard.h"

#include "common/err.h"

#include <string.h>

#define ENTRY 48
#define FLAG_VERIFICATION 0x80000000u
#define FLAG_SHA256       0x40000000u

static const unsigned char tag[32] = {'H', 'F', 'R', 'e', 'p', 'o', 'M', 'e', 't', 'a', 'D',
                                      'a', 't', 'a', 0,   85,  105, 103, 69,  106, 123, 129,
                                      87,  131, 165, 189, 217, 92,  205, 209, 74,  169};

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Each 8-byte word as a little-endian u64 in 16 hex digits: how Xet prints a hash. */
static void hash_string(const unsigned char *h, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int w = 0; w < 4; w++) {
        for (int i = 0; i < 8; i++) {
            unsigned char b = h[w * 8 + 7 - i];
            out[w * 16 + 2 * i] = hex[b >> 4];
            out[w * 16 + 2 * i + 1] = hex[b & 15];
        }
    }
    out[64] = '\0';
}

static int is_bookend(const unsigned char *e)
{
    for (int i = 0; i < 32; i++) {
        if (e[i] != 0xff)
            return 0;
    }
    return 1;
}

int gw_xet_shard_files(const unsigned char *shard, size_t len, gw_xet_shard_file_t *out,
                       size_t cap, size_t *total)
{
    *total = 0;
    if (len < 48 || memcmp(shard, tag, sizeof(tag)) != 0 || le(shard + 32, 8) != 2)
        return CMN_ERR_PARSE;
    size_t p = 48, n = 0;
    for (;;) {
        if (len - p < ENTRY)
            return CMN_ERR_PARSE;
        const unsigned char *e = shard + p;
        if (is_bookend(e))
            break;
        uint32_t flags = (uint32_t)le(e + 32, 4);
        uint64_t terms = le(e + 36, 4);
        uint64_t entries = terms + (flags & FLAG_VERIFICATION ? terms : 0) +
                           (flags & FLAG_SHA256 ? 1 : 0);
        if (entries > (len - p - ENTRY) / ENTRY)
            return CMN_ERR_PARSE;
        uint64_t size = 0;
        for (uint64_t t = 0; t < terms; t++)
            size += le(e + ENTRY * (1 + t) + 36, 4); /* unpacked_len */
        if (n < cap) {
            hash_string(e, out[n].hash);
            out[n].size = size;
            out[n].sha256[0] = '\0';
            if (flags & FLAG_SHA256)
                hash_string(e + ENTRY * (1 + entries - 1), out[n].sha256);
        }
        n++;
        p += ENTRY * (1 + (size_t)entries);
    }
    *total = n;
    return 0;
}
