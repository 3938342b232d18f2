/* Helpers shared by the encoder (event.c) and the parser (event_parse.c), which must agree
 * byte for byte. Internal to audit/. */
#ifndef HUBGATE_AUDIT_EVENT_INTERNAL_H
#define HUBGATE_AUDIT_EVENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "audit/event.h"

/* The largest integer every JSON implementation keeps exact (2^53 - 1): detail numbers stay
 * within ±this. */
#define AUD_MAX_SAFE_INT 9007199254740991LL

/* A string member of one of the event's objects: its key, and where the object keeps it. */
typedef struct {
    const char *key;
    size_t key_len;
    size_t offset; /* of the `const char *` in the object */
} aud_str_member_t;

/* The members of the objects made of strings only, in canonical (byte) order: the encoder
 * writes them from these tables and the parser finds them in the same ones. */
#define AUD_CLIENT_MEMBERS   2
#define AUD_DECISION_MEMBERS 7
#define AUD_REQUEST_MEMBERS  7

/* The value of member m of obj (an object of the event). */
static inline const char **aud_str_member(const void *obj, const aud_str_member_t *m)
{
    return (const char **)((uintptr_t)obj + m->offset);
}

/* A number of the response object: its key, where it is kept, and whether it is an int64_t
 * (else an int). */
typedef struct {
    const char *key;
    size_t key_len;
    size_t offset;
    int wide;
} aud_num_member_t;

#define AUD_RESPONSE_MEMBERS 5

/* The value of number m of obj (AUD_ABSENT when absent). */
static inline int64_t aud_num_member_get(const void *obj, const aud_num_member_t *m)
{
    const void *at = (const void *)((uintptr_t)obj + m->offset);
    return m->wide ? *(const int64_t *)at : *(const int *)at;
}

/* Sets number m of obj to v (which fits it). */
static inline void aud_num_member_set(void *obj, const aud_num_member_t *m, int64_t v)
{
    void *at = (void *)((uintptr_t)obj + m->offset);
    if (m->wide)
        *(int64_t *)at = v;
    else
        *(int *)at = (int)v;
}

/* The members of each object, in canonical order: one table for the encoder and the parser,
 * defined here (static) so that each can fold the lookups into its code. */
/* clang-format off */
#define MEMBER(type, field) {#field, sizeof(#field) - 1, offsetof(struct type, field)}
#define NUM(field, wide)    {#field, sizeof(#field) - 1, offsetof(struct aud_response, field), wide}
static const aud_str_member_t aud_client_members[AUD_CLIENT_MEMBERS] = {
    MEMBER(aud_client, ip), MEMBER(aud_client, user_agent),
};
static const aud_str_member_t aud_decision_members[AUD_DECISION_MEMBERS] = {
    MEMBER(aud_decision, effect), MEMBER(aud_decision, org), MEMBER(aud_decision, policy_sha256),
    MEMBER(aud_decision, reason), MEMBER(aud_decision, region), MEMBER(aud_decision, role),
    MEMBER(aud_decision, rule),
};
static const aud_str_member_t aud_request_members[AUD_REQUEST_MEMBERS] = {
    MEMBER(aud_request, action), MEMBER(aud_request, file), MEMBER(aud_request, method),
    MEMBER(aud_request, path), MEMBER(aud_request, repo), MEMBER(aud_request, repo_type),
    MEMBER(aud_request, revision),
};
static const aud_num_member_t aud_response_members[AUD_RESPONSE_MEMBERS] = {
    NUM(bytes_in, 1), NUM(bytes_out, 1), NUM(duration_ms, 1), NUM(status, 0),
    NUM(upstream_status, 0),
};
#undef NUM
#undef MEMBER
/* clang-format on */

/* The length of the run of bytes at s[0..n) that a JSON string holds as they are in canonical
 * form: 0x20..0x7f but '"' and '\\'. The encoder and the parser both scan every string with
 * it, eight bytes at a time where the CPU reads them little-endian: a byte is flagged when it
 * is '"', '\\', below 0x20 or above 0x7f, and the lowest flag is the first such byte (the
 * borrow tricks below may flag bytes after a true one, never before it). */
static inline size_t aud_plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
        uint64_t flags = ((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v) | v;
        flags &= highs;
        if (flags)
            return i + ((size_t)__builtin_ctzll(flags) >> 3);
    }
#endif
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

/* Zeroes ev, its numbers absent (AUD_ABSENT): where the builder and the parser both start. */
void aud_event_clear(aud_event_t *ev);

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlongs, no surrogates, at
 * most U+10FFFF), or 0 when s does not start one. n >= 1. */
size_t aud_utf8_seq(const unsigned char *s, size_t n);

/* 1 when key[0..len) is an acceptable detail key: [a-z0-9_]{1,32} and no word naming a
 * credential (see event.h). */
int aud_detail_key_ok(const char *key, size_t len);

/* 1 when the NUL-terminated value is shaped like a credential (JWT, hf_ token, HTTP
 * credential, PEM private key). */
int aud_looks_secret(const char *value);

/* 1 when `kind` exists in format version v (1 or 2; "report.exported" is new in 2), else 0
 * (also for a version outside AUD_EVENT_VERSION_MIN..AUD_EVENT_VERSION). */
int aud_kind_in_version(aud_kind_t kind, int v);

/* 1 when id[0..len) is a UUID in lowercase 8-4-4-4-12 hex form. */
int aud_id_ok(const char *id, size_t len);

#endif
