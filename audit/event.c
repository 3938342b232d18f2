/* The event builder and the canonical encoder (format in event.h). The parser, which must
 * accept exactly what this file produces, is in event_parse.c. */
#include "audit/event.h"
#include "audit/event_internal.h"
#include "common/err.h"
#include "common/json_escape.h"
#include "common/sha256.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

static const char *const kind_names[] = {
#define AUD_KIND_NAME(name, text) text,
    AUD_KIND_MAP(AUD_KIND_NAME)
#undef AUD_KIND_NAME
};

const char *aud_kind_name(aud_kind_t kind)
{
    if ((int)kind < 0 || kind >= AUD_KIND__COUNT)
        return NULL;
    return kind_names[kind];
}

int aud_kind_in_version(aud_kind_t kind, int v)
{
    if (v < AUD_EVENT_VERSION_MIN || v > AUD_EVENT_VERSION || !aud_kind_name(kind))
        return 0;
    return kind != AUD_KIND_REPORT_EXPORTED || v >= 2;
}

int aud_kind_parse(const char *s, size_t len)
{
    for (int i = 0; i < AUD_KIND__COUNT; i++)
        if (strlen(kind_names[i]) == len && memcmp(kind_names[i], s, len) == 0)
            return i;
    return -1;
}

/* ---- time ---- */

int64_t aud_time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms): exact for every
 * proleptic Gregorian date, no locale, no time zone database, no gmtime_r state. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* 0001-01-01 .. 9999-12-31, the years four digits can spell. */
#define TS_MIN_US (-62135596800LL * 1000000)
#define TS_MAX_US (253402300799LL * 1000000 + 999999)

void aud_time_format(int64_t ts_us, char out[28])
{
    if (ts_us < TS_MIN_US)
        ts_us = TS_MIN_US;
    if (ts_us > TS_MAX_US)
        ts_us = TS_MAX_US;
    int64_t secs = ts_us / 1000000, frac = ts_us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* By hand: fixed width, no locale, and the compiler can see every digit fits. */
    unsigned v[7] = {(unsigned)y,
                     m,
                     d,
                     (unsigned)(rem / 3600),
                     (unsigned)(rem / 60 % 60),
                     (unsigned)(rem % 60),
                     (unsigned)frac};
    static const int width[7] = {4, 2, 2, 2, 2, 2, 6};
    static const char sep[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    char *p = out;
    for (int f = 0; f < 7; f++) {
        for (int k = width[f] - 1; k >= 0; k--) {
            p[k] = (char)('0' + v[f] % 10);
            v[f] /= 10;
        }
        p += width[f];
        *p++ = sep[f];
    }
    *p = '\0';
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int aud_time_parse(const char *s, size_t len, int64_t *ts_us)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se, f;
    if (len != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != '.' || s[26] != 'Z')
        return CMN_ERR_PARSE;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se) ||
        digits(s + 20, 6, &f))
        return CMN_ERR_PARSE;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] || h > 23 || mi > 59 ||
        se > 59)
        return CMN_ERR_PARSE;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return CMN_ERR_PARSE;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ts_us = ((days * 86400) + h * 3600 + mi * 60 + se) * 1000000 + f;
    return 0;
}

/* ---- ids ---- */

/* UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Uniqueness, not
 * secrecy, is what an event id needs, so a per-thread xoshiro256** seeded from getrandom
 * serves (no syscall and no lock per event). */
static _Thread_local uint64_t rng_state[4];
static _Thread_local int rng_seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void)
{
    if (!rng_seeded) {
        if (getrandom(rng_state, sizeof(rng_state), 0) != (ssize_t)sizeof(rng_state)) {
            /* getrandom cannot fail for 32 bytes after boot; fall back to time and address. */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            rng_state[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
            rng_state[1] = (uint64_t)(uintptr_t)&ts;
            rng_state[2] = 0x9e3779b97f4a7c15ULL;
            rng_state[3] = (uint64_t)aud_time_now_us();
        }
        rng_seeded = 1;
    }
    uint64_t *s = rng_state;
    const uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void make_id(char out[37], int64_t ts_us)
{
    unsigned char b[16];
    uint64_t ms = (uint64_t)(ts_us / 1000);
    uint64_t r1 = rng_next(), r2 = rng_next();
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    for (int i = 6; i < 8; i++)
        b[i] = (unsigned char)(r1 >> (8 * i));
    for (int i = 8; i < 16; i++)
        b[i] = (unsigned char)(r2 >> (8 * (i - 8)));
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    /* 32 hex digits in groups of 8-4-4-4-12 */
    static const int group[5] = {8, 4, 4, 4, 12};
    char hex[33];
    cmn_hex(b, 16, hex);
    const char *h = hex;
    char *p = out;
    for (int g = 0; g < 5; g++) {
        if (g)
            *p++ = '-';
        memcpy(p, h, (size_t)group[g]);
        p += group[g];
        h += group[g];
    }
    *p = '\0';
}

int aud_id_ok(const char *id, size_t len)
{
    /* One table load per byte and no branch but the last: every event parsed checks one. */
    static const unsigned char lower_hex[256] = {
        ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
        ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1};
    if (len != 36)
        return 0;
    const unsigned char *u = (const unsigned char *)id;
    unsigned ok = u[8] == '-' && u[13] == '-' && u[18] == '-' && u[23] == '-';
    for (size_t i = 0; i < 36; i++)
        ok &= lower_hex[u[i]] | (i == 8 || i == 13 || i == 18 || i == 23);
    return (int)ok;
}

/* ---- builder ---- */

void aud_event_clear(aud_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->actor.mfa = AUD_ABSENT;
    ev->response.status = AUD_ABSENT;
    ev->response.upstream_status = AUD_ABSENT;
    ev->response.bytes_in = AUD_ABSENT;
    ev->response.bytes_out = AUD_ABSENT;
    ev->response.duration_ms = AUD_ABSENT;
}

void aud_event_init(aud_event_t *ev, aud_kind_t kind)
{
    aud_event_clear(ev);
    ev->v = AUD_EVENT_VERSION;
    aud_event_stamp(ev, kind);
}

void aud_event_stamp(aud_event_t *ev, aud_kind_t kind)
{
    ev->kind = kind;
    ev->ts_us = aud_time_now_us();
    make_id(ev->id, ev->ts_us);
    ev->n_details = 0;
    ev->truncated = 0;
}

/* Words that name a credential. A detail key made of '_'-separated words is refused when one
 * of its words is here, unless its last word says it is an identifier or a digest. */
static const char *const secret_words[] = {
    "token",  "tokens",     "secret",        "secrets", "password", "passwd",    "passphrase",
    "cookie", "cookies",    "authorization", "bearer",  "key",      "keys",      "private",
    "apikey", "credential", "credentials",   "session", "jwt",      "assertion", NULL,
};

int aud_detail_key_ok(const char *key, size_t len)
{
    if (len == 0 || len > AUD_MAX_DETAIL_KEY)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    /* The last word: an identifier or a digest names a secret without revealing it. */
    const char *last = key;
    for (size_t i = 0; i < len; i++)
        if (key[i] == '_')
            last = key + i + 1;
    size_t last_len = (size_t)(key + len - last);
    static const char *const safe_last[] = {"id", "ids", "sha256", "kid", "kids", "count", NULL};
    for (int i = 0; safe_last[i]; i++)
        if (last_len == strlen(safe_last[i]) && memcmp(last, safe_last[i], last_len) == 0)
            return 1;
    const char *w = key;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || key[i] == '_') {
            size_t wl = (size_t)(key + i - w);
            for (int j = 0; secret_words[j]; j++)
                if (wl == strlen(secret_words[j]) && memcmp(w, secret_words[j], wl) == 0)
                    return 0;
            w = key + i + 1;
        }
    }
    return 1;
}

/* A value shaped like a credential: a JWT, a Hub or hubgate token, an HTTP credential, a PEM
 * private key. Such a value has no business in an audit event. */
int aud_looks_secret(const char *v)
{
    size_t n = strlen(v);
    if (n >= 3 && memcmp(v, "eyJ", 3) == 0) {
        int dots = 0;
        for (size_t i = 0; i < n; i++)
            dots += v[i] == '.';
        if (dots >= 2)
            return 1;
    }
    /* "hf_" and at least 20 token characters: a Hub or hubgate token, whatever follows it.
     * Judged on the first 23 bytes only, so that cutting a long value to its cap can never
     * turn an accepted value into a token-shaped one. */
    if (n >= 23 && memcmp(v, "hf_", 3) == 0) {
        size_t i = 3;
        while (i < 23 && ((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
                          (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-'))
            i++;
        if (i == 23)
            return 1;
    }
    if (strncasecmp(v, "bearer ", 7) == 0 || strncasecmp(v, "basic ", 6) == 0)
        return 1;
    if (strstr(v, "PRIVATE KEY-----"))
        return 1;
    return 0;
}

int aud_event_value_looks_secret(const char *value)
{
    return value && aud_looks_secret(value);
}

/* Appends a detail of this type under key, when its value is valid (ok) and key acceptable:
 * the caller then sets the value. NULL (the event unchanged) otherwise. */
static aud_detail_t *add_detail(aud_event_t *ev, const char *key, aud_detail_type_t type, int ok)
{
    if (!ok || !key || ev->n_details >= AUD_MAX_DETAILS || !aud_detail_key_ok(key, strlen(key)))
        return NULL;
    aud_detail_t *d = &ev->details[ev->n_details++];
    memset(d, 0, sizeof(*d));
    d->key = key;
    d->type = type;
    return d;
}

int aud_event_detail_str(aud_event_t *ev, const char *key, const char *value)
{
    aud_detail_t *d = add_detail(ev, key, AUD_DETAIL_STR, value != NULL);
    if (!d)
        return CMN_ERR_INVAL;
    d->str = value;
    return 0;
}

int aud_event_detail_int(aud_event_t *ev, const char *key, int64_t value)
{
    int safe = value <= AUD_MAX_SAFE_INT && value >= -AUD_MAX_SAFE_INT;
    aud_detail_t *d = add_detail(ev, key, AUD_DETAIL_INT, safe);
    if (!d)
        return CMN_ERR_INVAL;
    d->num = value;
    return 0;
}

int aud_event_detail_bool(aud_event_t *ev, const char *key, int value)
{
    aud_detail_t *d = add_detail(ev, key, AUD_DETAIL_BOOL, 1);
    if (!d)
        return CMN_ERR_INVAL;
    d->num = value ? 1 : 0;
    return 0;
}

int aud_event_detail_list(aud_event_t *ev, const char *key, const char *const *items, size_t n)
{
    int ok = n == 0 || items;
    for (size_t i = 0; ok && i < n; i++)
        ok = items[i] != NULL;
    aud_detail_t *d = add_detail(ev, key, AUD_DETAIL_LIST, ok);
    if (!d)
        return CMN_ERR_INVAL;
    d->items = items;
    d->n_items = n;
    return 0;
}

const aud_detail_t *aud_event_detail(const aud_event_t *ev, const char *key)
{
    for (size_t i = 0; i < ev->n_details; i++)
        if (strcmp(ev->details[i].key, key) == 0)
            return &ev->details[i];
    return NULL;
}

const char *aud_event_detail_text(const aud_event_t *ev, const char *key)
{
    const aud_detail_t *d = aud_event_detail(ev, key);
    return d && d->type == AUD_DETAIL_STR ? d->str : NULL;
}

/* ---- encoder ---- */

/* Output goes through a small local chunk, flushed to the cmn_buf_t when full and at the
 * end: most events are encoded with one append instead of hundreds of tiny ones. */
#define ENC_CHUNK 2048

typedef struct {
    cmn_buf_t *out;
    int err;
    int truncated;
    int first; /* no member written yet in the current object */
    size_t n;
    char chunk[ENC_CHUNK];
} enc_t;

static void flush(enc_t *e)
{
    if (e->err == 0 && e->n)
        e->err = cmn_buf_append(e->out, e->chunk, e->n);
    e->n = 0;
}

static void put(enc_t *e, const char *p, size_t n)
{
    if (e->n + n > ENC_CHUNK) {
        flush(e);
        if (n > ENC_CHUNK) {
            if (e->err == 0)
                e->err = cmn_buf_append(e->out, p, n);
            return;
        }
    }
    memcpy(e->chunk + e->n, p, n);
    e->n += n;
}

static void putc1(enc_t *e, char c)
{
    if (e->n == ENC_CHUNK)
        flush(e);
    e->chunk[e->n++] = c;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when s does not start one. */
size_t aud_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && s[1] < 0xa0)
            return 0; /* overlong */
        if (c == 0xed && s[1] > 0x9f)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && s[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xf4 && s[1] > 0x8f)
            return 0; /* beyond U+10FFFF */
        return 4;
    }
    return 0;
}

/* Writes a JSON string holding at most `cap` bytes of (UTF-8) value. */
static void put_string(enc_t *e, const char *s, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, value_len = 0;
    putc1(e, '"');
    while (i < n) {
        /* A run of bytes written as they are: plain ASCII a word at a time, UTF-8 sequences. */
        size_t start = i;
        while (i < n) {
            size_t room = cap - value_len, k = aud_plain_run(p + i, n - i < room ? n - i : room);
            i += k;
            value_len += k;
            if (i >= n || value_len >= cap || p[i] < 0x80 ||
                (k = aud_utf8_seq(p + i, n - i)) == 0 || value_len + k > cap)
                break;
            value_len += k;
            i += k;
        }
        put(e, s + start, i - start);
        if (i >= n)
            break;
        unsigned char c = p[i];
        if (c >= 0x80 && aud_utf8_seq(p + i, n - i) == 0) {
            if (value_len + 3 > cap) {
                e->truncated = 1;
                break;
            }
            put(e, "\xef\xbf\xbd", 3); /* U+FFFD for each byte that is not UTF-8 */
            value_len += 3;
            i++;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            e->truncated = 1; /* the run stopped at the cap */
            break;
        }
        if (value_len + 1 > cap) {
            e->truncated = 1;
            break;
        }
        char esc[7];
        put(e, esc, cmn_json_escape(c, esc));
        value_len++;
        i++;
    }
    putc1(e, '"');
}

static void key(enc_t *e, const char *k)
{
    if (!e->first)
        putc1(e, ',');
    e->first = 0;
    putc1(e, '"');
    put(e, k, strlen(k));
    put(e, "\":", 2);
}

static void str_member(enc_t *e, const char *k, const char *v)
{
    if (!v)
        return;
    key(e, k);
    put_string(e, v, AUD_MAX_STRING_BYTES);
}

static void put_int(enc_t *e, int64_t v)
{
    /* Digits from the end, no printf: every event has a few numbers. */
    char b[24];
    size_t at = sizeof(b);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        b[--at] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        b[--at] = '-';
    put(e, b + at, sizeof(b) - at);
}

static void int_member(enc_t *e, const char *k, int64_t v)
{
    if (v == AUD_ABSENT)
        return;
    if (v < 0 || v > AUD_MAX_SAFE_INT) {
        e->err = e->err ? e->err : CMN_ERR_INVAL;
        return;
    }
    key(e, k);
    put_int(e, v);
}

/* Opens a nested object if any of its members is present; returns the saved `first` state. */
static void open_obj(enc_t *e, const char *k)
{
    key(e, k);
    putc1(e, '{');
    e->first = 1;
}

static void close_obj(enc_t *e)
{
    putc1(e, '}');
    e->first = 0;
}


/* The object `name` of strings obj (members m[0..n)), unless none is set. */
static void str_object(enc_t *e, const char *name, const void *obj, const aud_str_member_t *m,
                       size_t n)
{
    size_t first = 0;
    while (first < n && !*aud_str_member(obj, &m[first]))
        first++;
    if (first == n)
        return;
    open_obj(e, name);
    for (size_t i = first; i < n; i++)
        str_member(e, m[i].key, *aud_str_member(obj, &m[i]));
    close_obj(e);
}

/* The object `name` of numbers obj (members m[0..n)), unless all are absent. */
static void num_object(enc_t *e, const char *name, const void *obj, const aud_num_member_t *m,
                       size_t n)
{
    size_t first = 0;
    while (first < n && aud_num_member_get(obj, &m[first]) == AUD_ABSENT)
        first++;
    if (first == n)
        return;
    open_obj(e, name);
    for (size_t i = first; i < n; i++)
        int_member(e, m[i].key, aud_num_member_get(obj, &m[i]));
    close_obj(e);
}

static int cmp_detail(const void *a, const void *b)
{
    const aud_detail_t *x = *(const aud_detail_t *const *)a, *y = *(const aud_detail_t *const *)b;
    return strcmp(x->key, y->key);
}

int aud_event_encode(const aud_event_t *ev, cmn_buf_t *out)
{
    enc_t e;
    e.out = out;
    e.err = 0;
    e.truncated = ev->truncated != 0;
    e.first = 1;
    e.n = 0;
    const char *kind = aud_kind_name(ev->kind);
    if (!kind || !aud_kind_in_version(ev->kind, ev->v))
        return CMN_ERR_INVAL;
    if (ev->decision.effect && strcmp(ev->decision.effect, "allow") != 0 &&
        strcmp(ev->decision.effect, "deny") != 0)
        return CMN_ERR_INVAL;
    if (ev->actor.mfa != AUD_ABSENT && ev->actor.mfa != 0 && ev->actor.mfa != 1)
        return CMN_ERR_INVAL;
    if (ev->n_details > AUD_MAX_DETAILS || (ev->actor.n_groups > 0 && !ev->actor.groups))
        return CMN_ERR_INVAL;

    /* Details sorted by key, refusing duplicates and anything shaped like a credential. */
    const aud_detail_t *sorted[AUD_MAX_DETAILS] = {0};
    for (size_t i = 0; i < ev->n_details; i++) {
        const aud_detail_t *d = &ev->details[i];
        if (!d->key || !aud_detail_key_ok(d->key, strlen(d->key)))
            return CMN_ERR_INVAL;
        if (d->type == AUD_DETAIL_STR && (!d->str || aud_looks_secret(d->str)))
            return CMN_ERR_INVAL;
        if (d->type == AUD_DETAIL_LIST) {
            if (d->n_items > 0 && !d->items)
                return CMN_ERR_INVAL;
            for (size_t j = 0; j < d->n_items; j++)
                if (!d->items[j] || aud_looks_secret(d->items[j]))
                    return CMN_ERR_INVAL;
        }
        if (d->type == AUD_DETAIL_INT && (d->num > AUD_MAX_SAFE_INT || d->num < -AUD_MAX_SAFE_INT))
            return CMN_ERR_INVAL;
        if ((int)d->type < AUD_DETAIL_STR || d->type > AUD_DETAIL_LIST)
            return CMN_ERR_INVAL;
        sorted[i] = d;
    }
    qsort(sorted, ev->n_details, sizeof(sorted[0]), cmp_detail);
    for (size_t i = 1; i < ev->n_details; i++)
        if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0)
            return CMN_ERR_INVAL;

    putc1(&e, '{');
    if (ev->actor.email || ev->actor.n_groups || ev->actor.iss || ev->actor.mfa != AUD_ABSENT ||
        ev->actor.sub || ev->actor.token_id) {
        open_obj(&e, "actor");
        str_member(&e, "email", ev->actor.email);
        if (ev->actor.n_groups) {
            size_t n = ev->actor.n_groups;
            if (n > AUD_MAX_GROUPS) {
                n = AUD_MAX_GROUPS;
                e.truncated = 1;
            }
            key(&e, "groups");
            putc1(&e, '[');
            for (size_t i = 0; i < n; i++) {
                if (i)
                    putc1(&e, ',');
                put_string(&e, ev->actor.groups[i] ? ev->actor.groups[i] : "", AUD_MAX_ITEM_BYTES);
            }
            putc1(&e, ']');
        }
        str_member(&e, "iss", ev->actor.iss);
        if (ev->actor.mfa != AUD_ABSENT) {
            key(&e, "mfa");
            put(&e, ev->actor.mfa ? "true" : "false", ev->actor.mfa ? 4 : 5);
        }
        str_member(&e, "sub", ev->actor.sub);
        str_member(&e, "token_id", ev->actor.token_id);
        close_obj(&e);
    }
    str_object(&e, "client", &ev->client, aud_client_members, AUD_CLIENT_MEMBERS);
    str_object(&e, "decision", &ev->decision, aud_decision_members, AUD_DECISION_MEMBERS);
    if (ev->n_details) {
        size_t items_left = AUD_MAX_DETAIL_ITEMS;
        open_obj(&e, "details");
        for (size_t i = 0; i < ev->n_details; i++) {
            const aud_detail_t *d = sorted[i];
            key(&e, d->key);
            switch (d->type) {
            case AUD_DETAIL_STR:
                put_string(&e, d->str, AUD_MAX_STRING_BYTES);
                break;
            case AUD_DETAIL_INT:
                put_int(&e, d->num);
                break;
            case AUD_DETAIL_BOOL:
                put(&e, d->num ? "true" : "false", d->num ? 4 : 5);
                break;
            case AUD_DETAIL_LIST: {
                size_t n = d->n_items;
                if (n > items_left) {
                    n = items_left;
                    e.truncated = 1;
                }
                items_left -= n;
                putc1(&e, '[');
                for (size_t j = 0; j < n; j++) {
                    if (j)
                        putc1(&e, ',');
                    put_string(&e, d->items[j], AUD_MAX_ITEM_BYTES);
                }
                putc1(&e, ']');
                break;
            }
            }
        }
        close_obj(&e);
    }
    key(&e, "id");
    putc1(&e, '"');
    put(&e, ev->id, strnlen(ev->id, sizeof(ev->id) - 1));
    putc1(&e, '"');
    key(&e, "kind");
    putc1(&e, '"');
    put(&e, kind, strlen(kind));
    putc1(&e, '"');
    str_object(&e, "request", &ev->request, aud_request_members, AUD_REQUEST_MEMBERS);
    str_member(&e, "request_id", ev->request_id);
    num_object(&e, "response", &ev->response, aud_response_members, AUD_RESPONSE_MEMBERS);
    /* Every field that can be cut sorts before "truncated", so by now we know. */
    if (e.truncated)
        put(&e, ",\"truncated\":true", 17);
    char ts[28];
    if (ev->ts_us < TS_MIN_US || ev->ts_us > TS_MAX_US)
        return CMN_ERR_INVAL;
    aud_time_format(ev->ts_us, ts);
    put(&e, ",\"ts\":\"", 7);
    put(&e, ts, 27);
    put(&e, "\",\"v\":", 6);
    putc1(&e, (char)('0' + ev->v)); /* 1 or 2: checked above */
    putc1(&e, '}');
    flush(&e);
    if (e.err == 0 && !aud_id_ok(ev->id, strnlen(ev->id, sizeof(ev->id))))
        return CMN_ERR_INVAL;
    return e.err;
}

/* ---- columns ---- */

void aud_event_columns(const aud_event_t *ev, aud_columns_t *c)
{
    memset(c, 0, sizeof(*c));
    c->kind = aud_kind_name(ev->kind);
    c->request_id = ev->request_id;
    c->actor = ev->actor.email ? ev->actor.email : ev->actor.sub;
    c->org = ev->decision.org;
    c->repo = ev->request.repo;
    c->action = ev->request.action;
    c->decision = ev->decision.effect;
    c->rule = ev->decision.rule;
    c->status = ev->response.status;
    c->bytes_in = ev->response.bytes_in;
    c->bytes_out = ev->response.bytes_out;
    c->ts_us = ev->ts_us;
    if (ev->client.ip) {
        if (inet_pton(AF_INET, ev->client.ip, c->ip) == 1) {
            c->ip_family = 4;
            c->client_ip = ev->client.ip;
        } else if (inet_pton(AF_INET6, ev->client.ip, c->ip) == 1) {
            c->ip_family = 6;
            c->client_ip = ev->client.ip;
        }
    }
}
