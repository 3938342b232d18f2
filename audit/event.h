/* Audit events (docs/audit.md, docs/evidence-format.md): the model, a builder the gateway fills in place, and
 * the canonical encoding that is hashed into the chain and stored byte for byte.
 *
 * NO SECRET EVER ENTERS AN EVENT. An event has no field for a token, a cookie, a password, an
 * Authorization header or a key, and none may be smuggled in through `details`: the encoder
 * refuses detail keys that name a credential (token, secret, password, cookie, authorization,
 * bearer, key, credential — `token_id` and `key_id` are identifiers and allowed) and detail
 * values shaped like one (a JWT "eyJ….….…", a hubgate token "hf_…", a "Bearer "/"Basic "
 * header value). Identify a token by its id, a key by its key id, a policy by its SHA-256.
 *
 * Canonical encoding (what is hashed, stored in audit_event.canonical and re-parsed by
 * `hubgate audit verify`); an RFC 8785 (JCS) subset, so any JCS implementation reproduces it:
 *   - one JSON object, no insignificant whitespace, object keys sorted by their bytes (all keys
 *     are ASCII, so this is JCS's UTF-16 order), no duplicate keys;
 *   - absent fields are omitted (no nulls), and so are empty objects;
 *   - integers only, in decimal without leading zeros or '+', within ±(2^53 − 1);
 *   - strings are UTF-8; '"' and '\' are escaped, as are control characters below 0x20
 *     (\b \t \n \f \r, others as \u00xx in lowercase hex); everything else is written as is.
 *     Input that is not valid UTF-8 has each invalid byte replaced by U+FFFD;
 *   - strings longer than AUD_MAX_STRING_BYTES (AUD_MAX_ITEM_BYTES for groups and list items)
 *     are cut at a character boundary, and lists beyond their caps are cut; the event then
 *     carries "truncated":true;
 *   - "ts" is RFC 3339 UTC with exactly six fractional digits: "2024-05-01T12:34:56.123456Z";
 *   - "id" is a UUIDv7 in lowercase text form; "v" is the format version: 2 for events built
 *     from this release on, 1 for events stored before it. Both are encoded by the same rules;
 *     version 2 only says more (docs/evidence-format.md, "Event format v2": one repo identity,
 *     the actor and decision on every event a caller caused, refusals by stage and reason, who
 *     or what made hubgate's own changes), and adds the kind "report.exported".
 * Top level: actor{email,groups[],iss,mfa,sub,token_id} client{ip,user_agent}
 * decision{effect,org,policy_sha256,reason,region,role,rule} details{…} id kind
 * request{action,file,method,path,repo,repo_type,revision} request_id
 * response{bytes_in,bytes_out,duration_ms,status,upstream_status} truncated ts v.
 *
 * Thread-safety: an aud_event_t belongs to one thread while it is filled; the functions here
 * keep no shared state (the id generator is per thread). Nothing here blocks. */
#ifndef HUBGATE_AUDIT_EVENT_H
#define HUBGATE_AUDIT_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/limits.h"
#include "common/buf.h"

#define AUD_EVENT_VERSION     2         /* what aud_event_init gives an event */
#define AUD_EVENT_VERSION_MIN 1         /* the oldest version the parser still accepts */

/* X(name, text) */
#define AUD_KIND_MAP(X)                                                                            \
    X(REQUEST, "request")                                                                          \
    X(COMPLETION, "completion")                                                                    \
    X(POLICY_LOADED, "policy.loaded")                                                              \
    X(POLICY_REJECTED, "policy.rejected")                                                          \
    X(TOKEN_MINTED, "token.minted")                                                                \
    X(TOKEN_REVOKED, "token.revoked")                                                              \
    X(KEYS_CHANGED, "keys.changed")                                                                \
    X(GATEWAY_STARTED, "gateway.started")                                                          \
    X(GATEWAY_STOPPED, "gateway.stopped")                                                          \
    X(AUDIT_SPOOLED, "audit.spooled")                                                              \
    X(REPORT_EXPORTED, "report.exported") /* v2 on */                                              \
    X(SESSION_STARTED, "session.started") /* sign-in, schema 007 on */                             \
    X(SESSION_ENDED, "session.ended")                                                              \
    X(DEVICE_APPROVED, "device.approved")                                                          \
    X(DEVICE_DENIED, "device.denied")                                                              \
    X(DIRECTORY_CHANGED, "directory.changed") /* SCIM */                                           \
    X(KEYS_ROTATED, "keys.rotated")           /* SIGHUP: one of hubgate's own keys */              \
    X(STREAM_RETIRED, "stream.retired")       /* hubgate audit retire: a stream's last event */

typedef enum {
#define AUD_KIND_ENUM(name, text) AUD_KIND_##name,
    AUD_KIND_MAP(AUD_KIND_ENUM)
#undef AUD_KIND_ENUM
        AUD_KIND__COUNT
} aud_kind_t;

/* "request", "policy.loaded", …; NULL for a value outside the enum. Static strings. */
const char *aud_kind_name(aud_kind_t kind);

/* The kind named `s` (exact match), or -1. */
int aud_kind_parse(const char *s, size_t len);

typedef enum {
    AUD_DETAIL_STR,
    AUD_DETAIL_INT,
    AUD_DETAIL_BOOL,
    AUD_DETAIL_LIST, /* a list of strings */
} aud_detail_type_t;

typedef struct {
    const char *key; /* borrowed; [a-z0-9_]{1,32} */
    aud_detail_type_t type;
    const char *str;          /* AUD_DETAIL_STR */
    int64_t num;              /* AUD_DETAIL_INT; AUD_DETAIL_BOOL: 0 or 1 */
    const char *const *items; /* AUD_DETAIL_LIST, borrowed */
    size_t n_items;
} aud_detail_t;

/* Tri-state flags and "absent" numbers: aud_event_init sets every number to its absent value
 * (AUD_ABSENT), so a builder sets only what it knows. */
#define AUD_ABSENT (-1)

/* One event. Every pointer is borrowed (typically from the request arena) and must stay valid
 * until aud_event_encode or aud_writer_submit returns: both copy what they need. A NULL string
 * is an absent field; "" is present and empty. */
typedef struct {
    aud_kind_t kind;
    int v;         /* format version: AUD_EVENT_VERSION from aud_event_init; a parsed event keeps
                      the version it was written with, so it re-encodes to the same bytes */
    char id[37];   /* UUIDv7 text; set by aud_event_init / aud_event_stamp */
    int64_t ts_us; /* microseconds since the Unix epoch, UTC; set by init / stamp */
    const char *request_id;
    int truncated; /* set by the parser when the stored event says so; the encoder ORs in its own */

    struct aud_actor {
        const char *iss, *sub, *email;
        const char *const *groups; /* borrowed array of n_groups strings */
        size_t n_groups;
        const char *token_id; /* the id of a hubgate token, never the token */
        int mfa;              /* 1, 0, or AUD_ABSENT */
    } actor;
    struct aud_client {
        const char *ip; /* the client past trusted proxies; an IPv4/IPv6 literal */
        const char *user_agent;
    } client;
    struct aud_request {
        /* path: as classified, without the query string; repo: "namespace/name";
         * repo_type: "model" | "dataset" | "space"; action: read|write|create|delete|admin|none */
        const char *method, *path, *repo_type, *repo, *revision, *file, *action;
    } request;
    struct aud_decision {
        const char *effect; /* "allow" | "deny" */
        const char *rule, *reason, *org, *role, *region;
        const char *policy_sha256; /* of the policy file that made the decision */
    } decision;
    struct aud_response {
        int status;                               /* HTTP status sent to the client; AUD_ABSENT */
        int upstream_status;                      /* AUD_ABSENT when nothing was forwarded */
        int64_t bytes_in, bytes_out, duration_ms; /* AUD_ABSENT */
    } response;

    aud_detail_t details[AUD_MAX_DETAILS]; /* kind-specific; see aud_event_detail_* */
    size_t n_details;
} aud_event_t;

/* Clears ev, sets its kind, the current format version (AUD_EVENT_VERSION), a fresh id and
 * the current time. Never fails. */
void aud_event_init(aud_event_t *ev, aud_kind_t kind);

/* Gives an already filled event a new kind, id and time and drops its details, keeping the
 * rest (its version included): a request event becomes its completion event without refilling
 * actor, request and decision (completion events repeat them so that each event stands alone in
 * reports). */
void aud_event_stamp(aud_event_t *ev, aud_kind_t kind);

/* Adds a kind-specific detail (e.g. policy.loaded: "old_sha256", "new_sha256"; token.minted:
 * "token_id", "scope", "expires"). Pointers are borrowed. Returns 0, or CMN_ERR_INVAL for a
 * malformed key, a key naming a credential, or a full details array (the event is unchanged). */
int aud_event_detail_str(aud_event_t *ev, const char *key, const char *value);
int aud_event_detail_int(aud_event_t *ev, const char *key, int64_t value);
int aud_event_detail_bool(aud_event_t *ev, const char *key, int value);
int aud_event_detail_list(aud_event_t *ev, const char *key, const char *const *items, size_t n);

/* The detail named key (borrowed from ev), or NULL when ev has none. */
const aud_detail_t *aud_event_detail(const aud_event_t *ev, const char *key);

/* The value of the string detail named key (borrowed), or NULL when there is none or it is not a
 * string. */
const char *aud_event_detail_text(const aud_event_t *ev, const char *key);

/* 1 when a detail value would be refused as shaped like a credential (a JWT, an hf_ token, a
 * "Bearer "/"Basic " value, a PEM private key): the encoder's own test, for input that will
 * become a detail value and must be refused before anything happens (a token's name). */
int aud_event_value_looks_secret(const char *value);

/* Appends the canonical encoding of ev to out (which the caller initialised with its cap).
 * Returns 0; CMN_ERR_INVAL for an event that breaks the model (unknown kind, a version other
 * than 1 or 2, a kind its version does not have (report.exported in v1), bad detail key,
 * duplicate detail keys, a credential-shaped detail value, a number beyond ±(2^53 − 1), an
 * invalid effect); CMN_ERR_TOOBIG or CMN_ERR_NOMEM from the buffer. On error out may hold a
 * partial encoding: clear it. */
int aud_event_encode(const aud_event_t *ev, cmn_buf_t *out);

/* Formats ts_us as "2024-05-01T12:34:56.123456Z" into out (at least 28 bytes). */
void aud_time_format(int64_t ts_us, char out[28]);

/* Parses exactly that format (any other spelling is refused). Returns 0 or CMN_ERR_PARSE. */
int aud_time_parse(const char *s, size_t len, int64_t *ts_us);

/* The current time in microseconds since the Unix epoch. */
int64_t aud_time_now_us(void);

/* ---- Parsing the canonical form back (verify, spool drain, fuzzing) ---- */

/* A parsed event: `ev`'s strings point into `store`, which is reused by the next parse and
 * released by aud_parsed_free. Zero-initialise before the first use; or lend it a buffer
 * (store, store_cap, store_borrowed = 1) to parse without allocating: an event that needs more
 * (len * 3 / 2 + 64 bytes) then gets a heap store instead. About 2 KiB: fine on a stack. */
typedef struct {
    aud_event_t ev;
    const char *groups[AUD_MAX_GROUPS];
    const char *items[AUD_MAX_DETAIL_ITEMS];
    char *store; /* see store_borrowed */
    size_t store_cap;
    int store_borrowed; /* store was lent by the caller: never freed or grown past store_cap */
} aud_parsed_t;

/* Parses text[0..len), which must be exactly what aud_event_encode produces for some event:
 * the canonical grammar above (whitespace, key order, escapes, number forms, UTF-8, caps) and
 * the schema (known keys with the right types, a known kind, "v":1 or "v":2, and a kind that
 * exists in that version). So a successful parse re-encodes to the same bytes: an event stored
 * as v1 stays v1 (p->ev.v) and keeps verifying. Returns 0, CMN_ERR_PARSE with a short reason and
 * the byte offset in `why` (may be NULL), or CMN_ERR_NOMEM. Does not block. */
int aud_event_parse(aud_parsed_t *p, const char *text, size_t len, char *why, size_t whylen);

void aud_parsed_free(aud_parsed_t *p);

/* ---- Query columns (audit_event's columns beside canonical) ---- */

/* The columns of audit_event that are extracted from an event, for queries and reports. Every
 * writer path takes them from a parsed canonical event, and verify recomputes them the same
 * way, so a column can never say something its hashed event does not:
 *   kind, request_id; actor = actor.email, else actor.sub; org = decision.org;
 *   repo = request.repo; action = request.action; decision = decision.effect;
 *   rule = decision.rule; status = response.status; bytes_in / bytes_out;
 *   client_ip = client.ip when it is an IPv4 or IPv6 literal (else NULL); ts.
 * Strings are borrowed from ev; NULL and AUD_ABSENT mean SQL NULL. */
typedef struct {
    const char *kind, *request_id, *actor, *org, *repo, *action, *decision, *rule;
    const char *client_ip;
    int status;
    int64_t bytes_in, bytes_out;
    int64_t ts_us;
    /* client_ip as bytes: family 4 or 6 (0 when NULL), 4 or 16 address bytes */
    int ip_family;
    unsigned char ip[16];
} aud_columns_t;

void aud_event_columns(const aud_event_t *ev, aud_columns_t *out);

#endif
