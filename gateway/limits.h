/* Every cap gateway/ holds the network to, by stage (docs/architecture.md): what a request,
 * an answer, a config or a key file may make hubgate hold. One place to read them, to review
 * them, and to change them. Values only: no types, no functions. */
#ifndef HUBGATE_GATEWAY_LIMITS_H
#define HUBGATE_GATEWAY_LIMITS_H

/* ---- config/config.h -------------------------------------------------------------- */
#define GW_MAX_CONFIG_BYTES  (1024 * 1024)
#define GW_MAX_SECRET_BYTES  4096

/* The most regions a config may define (each one's hub is asked for a listing across regions,
 * forward/fanout.h). */
#define GW_MAX_REGIONS 16

/* ---- config/destination.h --------------------------------------------------------- */
#define GW_MAX_ORIGIN_HOST_BYTES 255 /* a DNS name's limit; longer hosts are refused */
#define GW_MAX_STORAGE_ORIGINS   64  /* per region */
#define GW_MAX_STORAGE_NETWORKS  64  /* per region */

/* ---- config/url.h ----------------------------------------------------------------- */
#define GW_MAX_URL_HOST_BYTES 256 /* longer hosts are reported truncated */

/* ---- route/route-t.h -------------------------------------------------------------- */
/* Caps on what a request can make the classifier hold (the request-target's own cap,
 * GW_MAX_TARGET_BYTES, is with the server's below). */
#define GW_MAX_ROUTE_BODY_BYTES   (64 * 1024)   /* JSON body read for its target repo → 413 */
#define GW_MAX_ROUTE_NDJSON_BYTES (1024 * 1024) /* bucket batch (one line per file) → 413 */
#define GW_ROUTE_MAX_SEGMENTS     256           /* path segments → 400 */
#define GW_ROUTE_MAX_REPOS        16            /* distinct (repo, action) pairs → 400 */

/* ---- metrics/listen.h ------------------------------------------------------------- */
/* Connections the metrics listener serves at once; a scraper needs one. */
#define GW_METRICS_MAX_CONNECTIONS 16
/* The most the exposition text may take. */
#define GW_METRICS_MAX_BYTES (4 * 1024 * 1024)

/* ---- metrics/metrics.h ------------------------------------------------------------ */
/* Refusals and drops counted by reason. `reason` must be a static string from a small fixed
 * set (it becomes a Prometheus label value: free text would grow the series without bound);
 * past GW_METRICS_MAX_REASONS distinct reasons per counter, new ones count as "other". */
#define GW_METRICS_MAX_REASONS 64

/* ---- http/headers.h --------------------------------------------------------------- */
/* A response header hubgate rewrote (a Link with sealed links in it) → 502 past this. */
#define GW_MAX_REWRITTEN_HEADER_BYTES (64 * 1024)

/* ---- http/xff.h ------------------------------------------------------------------- */
/* Trusted hops walked before the address is called unknown: no real chain of proxies is this
 * long, and the walk stays bounded whatever a client sends. */
#define GW_XFF_MAX_HOPS 32

/* ---- authn/assertion.h ------------------------------------------------------------ */
/* A PEM key file is far smaller; anything larger is not one. */
#define GW_ASSERTION_MAX_KEY_FILE (64 * 1024)
/* Signed assertions kept for reuse (authn/assertion_cache.h): at most this many claim sets at
 * once, in sets of GW_ASSERTION_CACHE_WAYS, each in a fixed slot holding its claims and its
 * JWT. 4,096 × 2 KiB = 8 MiB at most, allocated as entries are first written; a typical claim
 * set and its JWT take ~1 KiB (a slot fits claims up to ~790 bytes: larger ones are signed per
 * request). A full set gives up its oldest entry, which then costs one signature. Sixteen ways
 * rather than eight: with callers hashed over the sets, some sets fill before the cache does;
 * 3,072 callers in turn missed 2.5× less often with 16 (bench_assertion --callers 3072). */
#define GW_ASSERTION_CACHE_ENTRIES    4096
#define GW_ASSERTION_CACHE_WAYS       16
#define GW_ASSERTION_CACHE_SLOT_BYTES 2048

/* ---- authn/identity.h ------------------------------------------------------------- */
/* The most groups an identity may carry. A token with more is refused (401), never truncated:
 * a deny rule on a group past the cap would otherwise be lost. Equal to the policy's own cap. */
#define GW_MAX_GROUPS 256

/* ---- authn/jwks.h ----------------------------------------------------------------- */
#define GW_MAX_JWKS_BYTES          (1024 * 1024)
#define GW_MAX_KID_BYTES           256

/* ---- authn/jwt.h ------------------------------------------------------------------ */
#define GW_MAX_JWT_BYTES (16 * 1024) /* Authorization values longer than this → 401 */

/* ---- authn/tokens.h --------------------------------------------------------------- */
#define GW_MAX_TOKEN_NAME  128

/* ---- authz/collections.h ---------------------------------------------------------- */
#define GW_COLLECTIONS_MAX_DEPTH 32 /* deeper JSON is refused, not walked */

/* ---- authz/policy_git.h ----------------------------------------------------------- */
#define GW_POLICY_GIT_MAX_OUTPUT 4096               /* what rev-parse and log may print */
#define GW_POLICY_GIT_MAX_AUTHOR 512                /* "Name <email>", cut beyond */
#define GW_POLICY_GIT_MAX_BLOB   (16 * 1024 * 1024) /* a policy file's largest size */

/* ---- forward/egress.h ------------------------------------------------------------- */
#define GW_EGRESS_MAX_URL     4096 /* the storage URL */
#define GW_EGRESS_MAX_HEADERS 2048 /* the storage headers sealed with it */
#define GW_EGRESS_MAX_FIELD   512  /* each other field (repo, issuer, subject, rule, ...) */
/* All fields together: a sealed link must fit in a request-target hubgate accepts
 * (GW_MAX_TARGET_BYTES), so a long URL leaves less room for headers, and the other way round. */
#define GW_EGRESS_MAX_PLAIN 5888
#define GW_EGRESS_MAX_TOKEN 7900 /* base64url of nonce, GW_EGRESS_MAX_PLAIN bytes and tag */

/* ---- forward/upstream.h ----------------------------------------------------------- */
#define GW_MAX_UPSTREAM_HEADER_BYTES (64 * 1024) /* response header block → 502 */
#define GW_MAX_ADDRESS_CTX_BYTES     4096        /* what an address check may keep per transfer */

/* ---- forward/response.c ----------------------------------------------------------- */
#define GW_MAX_REWRITE_BODY_BYTES (4 * 1024 * 1024) /* LFS batch answers hubgate rewrites */
#define GW_MAX_LISTING_BODY_BYTES (8 * 1024 * 1024) /* repo listings hubgate filters */
/* An upstream's Xet token answer: each string may be up to 64,000 characters. */
#define GW_MAX_XET_TOKEN_ANSWER_BYTES (256 * 1024)
/* A Xet shard upload, read whole to audit the files it defines (→ 413), and how many of them
 * its audit events list (the rest are counted). */
#define GW_MAX_XET_SHARD_BYTES (16 * 1024 * 1024)
#define GW_XET_AUDITED_FILES   48

/* A Xet file-info probe's answer (JSON, or the one byte of a ranged probe, or an error), a
 * xorb upload's answer. */
#define GW_MAX_XET_SMALL_ANSWER_BYTES (64 * 1024)

/* ---- http/report_query.h --------------------------------------------------------- */
#define GW_REPORT_MAX_PERIOD_DAYS 400 /* a year's audit window and its margins; longer → 400 */
#define GW_REPORT_MAX_PARAM_BYTES 128 /* one query parameter's value, decoded; longer → 400 */
#define GW_REPORT_REPLICA_WAIT_MS 10000 /* report_database shows the export event, or 503 */

/* ---- admin/token_api.c ------------------------------------------------------------ */
/* The most body an admin route reads (POST /-/tokens). */
#define GW_MAX_ADMIN_BODY_BYTES 8192

/* ---- server/server.h -------------------------------------------------------------- */
/* Caps on what the network can make us hold, named in one place. */
#define GW_MAX_TARGET_BYTES     8192        /* request-target, query included → 414 */
#define GW_MAX_HEADER_BYTES     (32 * 1024) /* whole header block → 431 (MHD's pool) */
#define GW_MAX_CONNECTIONS      32768       /* concurrent client connections */
#define GW_MAX_EVENT_LOOPS      64          /* event_loops in the config */
#define GW_LOOP_CACHED_REQUESTS 256         /* finished requests a loop keeps for reuse */

#endif
