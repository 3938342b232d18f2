/* The canonical event parser: accepts exactly the bytes aud_event_encode produces (event.h),
 * so that verify can tell a stored event from one that was edited by hand, and so that the
 * columns beside it can be recomputed from it. A hand-written single pass: it runs once per
 * event in `audit verify` (goal: well over 500,000 events/s) and in every writer submit. */
#include "audit/event.h"
#include "audit/event_internal.h"
#include "common/err.h"
#include "common/json_escape.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Byte classes, so that the hot loops test one table entry per byte: plain_tab marks what a
 * string holds as is (0x20..0x7f but '"' and '\\'), key_tab what a key is made of. Filled once;
 * threads racing to fill them write the same bytes. */
static unsigned char plain_tab[256], key_tab[256];
static int tabs_ready;

static void init_tabs(void)
{
    for (int c = 0x20; c < 0x80; c++)
        plain_tab[c] = c != '"' && c != '\\';
    for (int c = 'a'; c <= 'z'; c++)
        key_tab[c] = 1;
    for (int c = '0'; c <= '9'; c++)
        key_tab[c] = 1;
    key_tab['_'] = 1;
    __atomic_store_n(&tabs_ready, 1, __ATOMIC_RELEASE);
}

typedef struct {
    const char *s;
    size_t n, i;
    aud_parsed_t *p;
    size_t store_len;
    size_t n_items;     /* used entries of p->items */
    size_t member_next; /* in the object being read: the member table's entry to look from */
    char *why;
    size_t whylen;
} cur_t;

static int fail(cur_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(cur_t *c, const char *fmt, ...)
{
    if (c->why && c->whylen) {
        int k = snprintf(c->why, c->whylen, "at byte %zu: ", c->i);
        if (k >= 0 && (size_t)k < c->whylen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->why + k, c->whylen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return CMN_ERR_PARSE;
}

static int expect(cur_t *c, char ch)
{
    if (c->i >= c->n || c->s[c->i] != ch)
        return fail(c, "expected '%c'", ch);
    c->i++;
    return 0;
}

static int peek(cur_t *c, char ch)
{
    return c->i < c->n && c->s[c->i] == ch;
}

static int lit(cur_t *c, const char *w)
{
    size_t l = strlen(w);
    if (c->n - c->i < l || memcmp(c->s + c->i, w, l) != 0)
        return 0;
    c->i += l;
    return 1;
}

/* A key: ASCII [a-z0-9_] only (every key the encoder writes is), then ':'. */
static int parse_key(cur_t *c, const char **k, size_t *kl)
{
    if (expect(c, '"'))
        return CMN_ERR_PARSE;
    size_t st = c->i, i = st, n = c->n; /* locals: c->i is not reloaded at every byte */
    const unsigned char *u = (const unsigned char *)c->s;
    while (i < n && key_tab[u[i]])
        i++;
    c->i = i;
    *k = c->s + st;
    *kl = i - st;
    if (*kl == 0)
        return fail(c, "expected a key of [a-z0-9_]");
    if (expect(c, '"') || expect(c, ':'))
        return CMN_ERR_PARSE;
    return 0;
}

/* w is a string literal: its length is known at compile time, and most keys differ in it. */
#define key_is(k, kl, w) ((kl) == sizeof(w) - 1 && memcmp((k), (w), sizeof(w) - 1) == 0)

/* Keys strictly ascending by bytes: sorted and without duplicates. Keys are a few bytes of
 * [a-z0-9_]: a loop beats a call to memcmp, once per member of every event parsed. */
static int key_order(cur_t *c, const char *prev, size_t pl, const char *k, size_t kl)
{
    if (!prev)
        return 0;
    size_t m = pl < kl ? pl : kl, i = 0;
    while (i < m && prev[i] == k[i])
        i++;
    if (i < m ? (unsigned char)prev[i] < (unsigned char)k[i] : pl < kl)
        return 0;
    return fail(c, "key \"%.*s\" out of order or repeated", (int)kl, k);
}

/* A string in canonical form, decoded (NUL-terminated) into the store. */
static int parse_string(cur_t *c, size_t cap, const char **out, size_t *outlen)
{
    static const char hexd[] = "0123456789abcdef";
    if (expect(c, '"'))
        return CMN_ERR_PARSE;
    char *dst = c->p->store + c->store_len;
    size_t dl = 0;
    const unsigned char *s = (const unsigned char *)c->s;
    for (;;) {
        if (c->i >= c->n)
            return fail(c, "unterminated string");
        unsigned char ch = s[c->i];
        if (ch == '"') {
            c->i++;
            break;
        }
        if (ch < 0x20)
            return fail(c, "raw control character in a string");
        if (ch == '\\') {
            if (c->i + 1 >= c->n)
                return fail(c, "unterminated escape");
            char e = (char)s[c->i + 1], v;
            int short_esc = cmn_json_unescape(e);
            if (short_esc >= 0) {
                v = (char)short_esc;
            } else if (e == 'u') {
                /* Only \u00xx for controls that have no short escape, lowercase hex. */
                if (c->n - c->i < 6 || s[c->i + 2] != '0' || s[c->i + 3] != '0')
                    return fail(c, "non-canonical \\u escape");
                const char *h1 = memchr(hexd, s[c->i + 4], 16);
                const char *h2 = memchr(hexd, s[c->i + 5], 16);
                if (!h1 || !h2)
                    return fail(c, "non-canonical \\u escape");
                int cv = (int)((h1 - hexd) << 4 | (h2 - hexd));
                /* NUL cannot be in an event's (C) strings; the rest have short forms */
                if (cv == 0 || cv >= 0x20 || cmn_json_escape_letter((unsigned char)cv))
                    return fail(c, "non-canonical \\u escape");
                v = (char)cv;
                c->i += 4;
            } else {
                return fail(c, "non-canonical escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
            }
            c->i += 2;
            if (dl + 1 > cap)
                return fail(c, "string longer than %zu bytes", cap);
            dst[dl++] = v;
            continue;
        }
        if (ch < 0x80) {
            /* A run of plain ASCII, copied at once. */
            size_t st = c->i;
            c->i += aud_plain_run(s + st, c->n - st);
            size_t k = c->i - st;
            if (dl + k > cap)
                return fail(c, "string longer than %zu bytes", cap);
            memcpy(dst + dl, s + st, k);
            dl += k;
            continue;
        }
        size_t k = aud_utf8_seq(s + c->i, c->n - c->i);
        if (k == 0)
            return fail(c, "invalid UTF-8");
        if (dl + k > cap)
            return fail(c, "string longer than %zu bytes", cap);
        memcpy(dst + dl, s + c->i, k);
        dl += k;
        c->i += k;
    }
    dst[dl] = '\0';
    c->store_len += dl + 1;
    *out = dst;
    if (outlen)
        *outlen = dl;
    return 0;
}

static int parse_int(cur_t *c, int allow_negative, int64_t *out)
{
    int neg = 0;
    if (peek(c, '-')) {
        if (!allow_negative)
            return fail(c, "negative number");
        neg = 1;
        c->i++;
    }
    size_t st = c->i;
    int64_t v = 0;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        if (c->i - st >= 16)
            return fail(c, "number beyond 2^53 - 1");
        v = v * 10 + (c->s[c->i] - '0');
        c->i++;
    }
    size_t nd = c->i - st;
    if (nd == 0)
        return fail(c, "expected a number");
    if (c->s[st] == '0' && (nd > 1 || neg))
        return fail(c, "non-canonical number");
    if (v > AUD_MAX_SAFE_INT)
        return fail(c, "number beyond 2^53 - 1");
    *out = neg ? -v : v;
    return 0;
}

static int parse_bool(cur_t *c, int *out)
{
    if (lit(c, "true"))
        *out = 1;
    else if (lit(c, "false"))
        *out = 0;
    else
        return fail(c, "expected true or false");
    return 0;
}

/* [ "…", … ] into p->items (or the given array), at most max entries. */
static int parse_str_list(cur_t *c, const char **arr, size_t max, int allow_empty, size_t *n)
{
    if (expect(c, '['))
        return CMN_ERR_PARSE;
    *n = 0;
    if (peek(c, ']')) {
        c->i++;
        return allow_empty ? 0 : fail(c, "empty list");
    }
    for (;;) {
        if (*n >= max)
            return fail(c, "more than %zu items", max);
        if (parse_string(c, AUD_MAX_ITEM_BYTES, &arr[*n], NULL))
            return CMN_ERR_PARSE;
        (*n)++;
        if (peek(c, ',')) {
            c->i++;
            continue;
        }
        return expect(c, ']');
    }
}

/* A non-empty object whose keys ascend; `member` parses each value by its key. */
typedef int (*member_fn)(cur_t *c, aud_event_t *ev, const char *k, size_t kl);

static int parse_object(cur_t *c, aud_event_t *ev, member_fn member)
{
    if (expect(c, '{'))
        return CMN_ERR_PARSE;
    if (peek(c, '}'))
        return fail(c, "empty object");
    const char *prev = NULL;
    size_t pl = 0;
    c->member_next = 0;
    for (;;) {
        const char *k;
        size_t kl;
        if (parse_key(c, &k, &kl) || key_order(c, prev, pl, k, kl))
            return CMN_ERR_PARSE;
        if (member(c, ev, k, kl))
            return CMN_ERR_PARSE;
        prev = k;
        pl = kl;
        if (peek(c, ',')) {
            c->i++;
            continue;
        }
        return expect(c, '}');
    }
}

static int str_field(cur_t *c, const char **field)
{
    return parse_string(c, AUD_MAX_STRING_BYTES, field, NULL);
}

static int unknown(cur_t *c, const char *k, size_t kl)
{
    return fail(c, "unknown key \"%.*s\"", (int)kl, k);
}

static int actor_member(cur_t *c, aud_event_t *ev, const char *k, size_t kl)
{
    if (key_is(k, kl, "email"))
        return str_field(c, &ev->actor.email);
    if (key_is(k, kl, "groups")) {
        if (parse_str_list(c, c->p->groups, AUD_MAX_GROUPS, 0, &ev->actor.n_groups))
            return CMN_ERR_PARSE;
        ev->actor.groups = c->p->groups;
        return 0;
    }
    if (key_is(k, kl, "iss"))
        return str_field(c, &ev->actor.iss);
    if (key_is(k, kl, "mfa"))
        return parse_bool(c, &ev->actor.mfa);
    if (key_is(k, kl, "sub"))
        return str_field(c, &ev->actor.sub);
    if (key_is(k, kl, "token_id"))
        return str_field(c, &ev->actor.token_id);
    return unknown(c, k, kl);
}

/* 1 when the key k[0..kl) is name (name_len bytes). Keys are a few bytes: a loop beats a call
 * to memcmp, and this runs for every member of every event parsed. */
static int name_is(const char *k, size_t kl, const char *name, size_t name_len)
{
    if (name_len != kl)
        return 0;
    for (size_t i = 0; i < kl; i++)
        if (k[i] != name[i])
            return 0;
    return 1;
}

/* Member k of obj, an object of strings only (members m[0..n)). Keys come in ascending order
 * (parse_object checks it) as the table lists them: the search goes on from the last match. */
static int str_object_member(cur_t *c, void *obj, const aud_str_member_t *m, size_t n,
                             const char *k, size_t kl)
{
    for (size_t i = c->member_next; i < n; i++) {
        if (name_is(k, kl, m[i].key, m[i].key_len)) {
            c->member_next = i + 1;
            return str_field(c, aud_str_member(obj, &m[i]));
        }
    }
    return unknown(c, k, kl);
}

static int client_member(cur_t *c, aud_event_t *ev, const char *k, size_t kl)
{
    return str_object_member(c, &ev->client, aud_client_members, AUD_CLIENT_MEMBERS, k, kl);
}

static int decision_member(cur_t *c, aud_event_t *ev, const char *k, size_t kl)
{
    if (key_is(k, kl, "effect")) {
        size_t at = c->i, l;
        if (parse_string(c, AUD_MAX_STRING_BYTES, &ev->decision.effect, &l))
            return CMN_ERR_PARSE;
        if (strcmp(ev->decision.effect, "allow") != 0 && strcmp(ev->decision.effect, "deny") != 0) {
            c->i = at;
            return fail(c, "effect must be allow or deny");
        }
        return 0;
    }
    return str_object_member(c, &ev->decision, aud_decision_members, AUD_DECISION_MEMBERS, k, kl);
}

static int request_member(cur_t *c, aud_event_t *ev, const char *k, size_t kl)
{
    return str_object_member(c, &ev->request, aud_request_members, AUD_REQUEST_MEMBERS, k, kl);
}

static int response_member(cur_t *c, aud_event_t *ev, const char *k, size_t kl)
{
    for (size_t i = c->member_next; i < AUD_RESPONSE_MEMBERS; i++) {
        const aud_num_member_t *m = &aud_response_members[i];
        if (!name_is(k, kl, m->key, m->key_len))
            continue;
        c->member_next = i + 1;
        int64_t v = 0;
        if (parse_int(c, 0, &v))
            return CMN_ERR_PARSE;
        if (!m->wide && v > 2147483647)
            return fail(c, "number too large");
        aud_num_member_set(&ev->response, m, v);
        return 0;
    }
    return unknown(c, k, kl);
}

static int details_member(cur_t *c, aud_event_t *ev, const char *k, size_t kl)
{
    if (!aud_detail_key_ok(k, kl))
        return fail(c, "detail key \"%.*s\" is not allowed", (int)kl, k);
    if (ev->n_details >= AUD_MAX_DETAILS)
        return fail(c, "more than %d details", AUD_MAX_DETAILS);
    aud_detail_t *d = &ev->details[ev->n_details];
    memset(d, 0, sizeof(*d));
    /* The key is copied into the store so that it is NUL-terminated. */
    char *kc = c->p->store + c->store_len;
    memcpy(kc, k, kl);
    kc[kl] = '\0';
    c->store_len += kl + 1;
    d->key = kc;
    if (peek(c, '"')) {
        d->type = AUD_DETAIL_STR;
        if (str_field(c, &d->str))
            return CMN_ERR_PARSE;
    } else if (peek(c, '[')) {
        d->type = AUD_DETAIL_LIST;
        size_t room = AUD_MAX_DETAIL_ITEMS - c->n_items;
        if (parse_str_list(c, &c->p->items[c->n_items], room, 1, &d->n_items))
            return CMN_ERR_PARSE;
        d->items = &c->p->items[c->n_items];
        c->n_items += d->n_items;
    } else if (peek(c, 't') || peek(c, 'f')) {
        d->type = AUD_DETAIL_BOOL;
        int b = 0;
        if (parse_bool(c, &b))
            return CMN_ERR_PARSE;
        d->num = b;
    } else {
        d->type = AUD_DETAIL_INT;
        if (parse_int(c, 1, &d->num))
            return CMN_ERR_PARSE;
    }
    ev->n_details++;
    return 0;
}

typedef struct {
    cur_t c;
    int id, kind, ts, v;
} top_t;

static int top_member(cur_t *c, aud_event_t *ev, const char *k, size_t kl)
{
    top_t *t = (top_t *)c; /* c is the first member of top_t */
    if (key_is(k, kl, "actor"))
        return parse_object(c, ev, actor_member);
    if (key_is(k, kl, "client"))
        return parse_object(c, ev, client_member);
    if (key_is(k, kl, "decision"))
        return parse_object(c, ev, decision_member);
    if (key_is(k, kl, "details"))
        return parse_object(c, ev, details_member);
    if (key_is(k, kl, "request"))
        return parse_object(c, ev, request_member);
    if (key_is(k, kl, "response"))
        return parse_object(c, ev, response_member);
    if (key_is(k, kl, "request_id"))
        return str_field(c, &ev->request_id);
    if (key_is(k, kl, "id")) {
        if (expect(c, '"'))
            return CMN_ERR_PARSE;
        if (c->n - c->i < 37 || !aud_id_ok(c->s + c->i, 36) || c->s[c->i + 36] != '"')
            return fail(c, "id is not a lowercase UUID");
        memcpy(ev->id, c->s + c->i, 36);
        ev->id[36] = '\0';
        c->i += 37;
        t->id = 1;
        return 0;
    }
    if (key_is(k, kl, "kind")) {
        const char *v = NULL;
        size_t l = 0;
        size_t at = c->i;
        if (parse_string(c, 64, &v, &l))
            return CMN_ERR_PARSE;
        int kind = aud_kind_parse(v, l);
        if (kind < 0) {
            c->i = at;
            return fail(c, "unknown kind");
        }
        ev->kind = (aud_kind_t)kind;
        t->kind = 1;
        return 0;
    }
    if (key_is(k, kl, "truncated")) {
        if (!lit(c, "true"))
            return fail(c, "truncated must be true when present");
        ev->truncated = 1;
        return 0;
    }
    if (key_is(k, kl, "ts")) {
        if (expect(c, '"'))
            return CMN_ERR_PARSE;
        if (c->n - c->i < 28 || c->s[c->i + 27] != '"' ||
            aud_time_parse(c->s + c->i, 27, &ev->ts_us) != 0)
            return fail(c, "ts is not YYYY-MM-DDTHH:MM:SS.ffffffZ");
        c->i += 28;
        t->ts = 1;
        return 0;
    }
    if (key_is(k, kl, "v")) {
        int64_t v = 0;
        size_t at = c->i;
        if (parse_int(c, 0, &v))
            return CMN_ERR_PARSE;
        if (v < AUD_EVENT_VERSION_MIN || v > AUD_EVENT_VERSION) {
            c->i = at;
            return fail(c, "unsupported version");
        }
        ev->v = (int)v;
        t->v = 1;
        return 0;
    }
    return unknown(c, k, kl);
}

int aud_event_parse(aud_parsed_t *p, const char *text, size_t len, char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = '\0';
    if (!__atomic_load_n(&tabs_ready, __ATOMIC_ACQUIRE))
        init_tabs();
    /* Decoded strings are never longer than their encoding; each needs one NUL, and each
     * takes at least two bytes of input. */
    size_t need = len + len / 2 + 64;
    if (p->store_cap < need) {
        char *s = realloc(p->store_borrowed ? NULL : p->store, need);
        if (!s)
            return CMN_ERR_NOMEM;
        p->store = s;
        p->store_cap = need;
        p->store_borrowed = 0;
    }
    aud_event_t *ev = &p->ev;
    aud_event_clear(ev);
    top_t t = {.c = {.s = text, .n = len, .i = 0, .p = p, .why = why, .whylen = whylen}};
    cur_t *c = &t.c;
    if (parse_object(c, ev, top_member))
        return CMN_ERR_PARSE;
    if (c->i != c->n)
        return fail(c, "trailing bytes after the event");
    if (!t.id || !t.kind || !t.ts || !t.v)
        return fail(c, "missing %s", !t.id ? "id" : !t.kind ? "kind" : !t.ts ? "ts" : "v");
    if (!aud_kind_in_version(ev->kind, ev->v))
        return fail(c, "kind \"%s\" does not exist in version %d", aud_kind_name(ev->kind), ev->v);
    return 0;
}

void aud_parsed_free(aud_parsed_t *p)
{
    if (!p)
        return;
    if (!p->store_borrowed)
        free(p->store);
    p->store = NULL;
    p->store_cap = 0;
    p->store_borrowed = 0;
}
