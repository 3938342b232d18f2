/* hubgate's configuration file (docs/configuration.md): parsed, validated, immutable.
 *
 * Every problem is reported as "file:line:col: path: what was found (what was expected)";
 * unknown keys are errors. Relative paths resolve against the config file's folder. Secrets
 * (region tokens) are read here and never printed. */
#ifndef HUBGATE_GATEWAY_CONFIG_H
#define HUBGATE_GATEWAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "gateway/config/destination.h"
#include "policy/cidr.h"
#include "gateway/limits.h"

typedef enum { GW_EGRESS_PROXY, GW_EGRESS_REDIRECT } gw_egress_t;
/* Xet storage (docs/xet-storage.md): OFF removes every hint so clients use HTTP and LFS; PROXY carries
 * Xet through hubgate under its own tokens. */
typedef enum { GW_XET_OFF, GW_XET_PROXY } gw_xet_mode_t;
/* OFF records nothing: for benchmarks that measure what auditing costs, never for
 * production (the gateway says so loudly at start). */
typedef enum { GW_AUDIT_STRICT, GW_AUDIT_SPOOL, GW_AUDIT_OFF } gw_audit_mode_t;

typedef struct {
    const char *name;
    const char *upstream;  /* base URL without trailing slash */
    const char *token;     /* the region's service credential; secret */
    gw_origin_t upstream_origin;
    /* Where the upstream's redirects and hrefs may point besides its own origin ("storage":
     * ["https://cdn-lfs-us-1.hf.co"]); a URL elsewhere makes the answer a 502. */
    gw_origin_t *storage;
    size_t n_storage;
    /* Non-public networks a listed storage name may resolve to ("storage_networks"); without
     * them only public addresses, or the literal address an origin names, are connected to. */
    pol_cidr_t *storage_networks;
    size_t n_storage_networks;
} gw_region_t;

typedef struct {
    const char *issuer;
    const char *audience;
    const char *groups_claim;
    const char *algorithms[8];
    size_t n_algorithms;
    /* The IdP never sends email_verified but only issues verified emails: its emails may name
     * callers in a policy without the claim. Off by default (an email without
     * email_verified: true is recorded but grants nothing). */
    int email_verified_assumed;
} gw_issuer_t;

/* At most this many egress_previous_key_files and identity.assertion_published_keys: a
 * rotation needs one of each (the next or the previous key); a few spare for a rotation
 * begun before the last one ended. */
#define GW_CONFIG_MAX_EXTRA_KEYS 4
/* Top-level settings the file may hold (parse_root's list). */
#define GW_CONFIG_MAX_SETTINGS 32

/* One top-level setting as the file wrote it, for telling what a reload would change: the
 * SHA-256 of its JSON (keys sorted), without what SIGHUP reloads (the key settings). */
typedef struct {
    const char *name;
    unsigned char sha256[32];
} gw_config_setting_t;

typedef struct {
    cmn_arena_t arena; /* owns every string below */
    const char *path;  /* the config file as given */
    const char *dir;   /* its folder, absolute */

    const char *listen_host;
    uint16_t listen_port;
    int event_loops; /* threads serving requests, each with its own listener (SO_REUSEPORT),
                        connections and upstream transfers; 0: one per core */
    /* metrics_listen: Prometheus metrics on a listener of their own, never the public one.
     * NULL / 0 when unset: no metrics listener, and no metrics anywhere. */
    const char *metrics_host;
    uint16_t metrics_port;
    const char *tls_cert; /* NULL without TLS */
    const char *tls_key;
    const char *public_url; /* without trailing slash */
    pol_cidr_t *trusted_proxies;
    size_t n_trusted_proxies;
    const char *database;
    const char *report_database; /* libpq URL the evidence reports read (a read-only replica);
                                    NULL: database */
    const char *policy; /* absolute path */
    const char *shadow; /* absolute path or NULL */

    gw_region_t *regions;
    size_t n_regions;
    size_t default_region;
    gw_egress_t egress;
    const char *egress_key_file; /* absolute path or NULL (a random key per process) */
    /* egress_previous_key_files: keys that sealed links and sign-in cookies still in use, opened
     * (never sealed with) until those expire; only beside egress_key_file. */
    const char **egress_previous_key_files;
    size_t n_egress_previous_key_files;
    gw_xet_mode_t xet; /* default PROXY */
    int log_json;      /* log_format "json": one JSON object per log line (common/log.h) */

    struct {
        int client_idle_seconds;   /* a client silent this long is dropped */
        int upstream_connect_ms;   /* connecting to an upstream → 502 after this */
        int upstream_idle_seconds; /* an upstream silent this long → 504 */
    } timeouts;

    gw_issuer_t *issuers;
    size_t n_issuers;
    int token_max_days;
    int jwks_refresh_seconds;   /* refetch every issuer's keys this often */
    int jwks_max_stale_seconds; /* keep using the last good keys this long while the IdP is down */
    int leeway_seconds;         /* clock skew allowed on exp, nbf, iat */
    const char *assertion_key;  /* PEM (P-256) signing X-Hubgate-Identity; NULL: per process */
    /* identity.assertion_published_keys: P-256 PEMs (public or private) published at
     * /-/jwks.json beside the signing key and never signing: the next key, the previous one.
     * Only beside assertion_key. */
    const char **assertion_published_keys;
    size_t n_assertion_published_keys;
    /* identity.login: people sign in at /-/login with this issuer (one of `issuers`, whose keys
     * verify its ID tokens), hubgate a confidential client of it (docs/sign-in.md). issuer
     * NULL: no browser sign-in. */
    struct {
        const char *issuer;
        size_t issuer_index;     /* into issuers */
        const char *client_id;
        const char *client_secret; /* secret, read from client_secret_file */
        int session_hours;       /* a session ends this long after sign-in, whatever happens */
        int idle_minutes;        /* and after this long without a page view */
    } login;

    /* scim.token_file: the bearer secret Okta or Entra presents at /scim/v2 (secret); NULL: no
     * SCIM, and tokens keep the groups they were minted with. */
    const char *scim_token;

    struct {
        const char *signing_key; /* absolute path */
        const char *stream;
        gw_audit_mode_t mode;
        const char *spool_dir; /* absolute path */
        int checkpoint_every;
        int checkpoint_seconds;
        int write_timeout_ms;
    } audit;

    gw_config_setting_t settings[GW_CONFIG_MAX_SETTINGS]; /* as the file wrote them */
    size_t n_settings;
} gw_config_t;

/* Loads and validates `path`. Returns the config (caller frees with gw_config_free), or NULL
 * with one line per problem appended to `errors`. Blocks (file I/O). */
gw_config_t *gw_config_load(const char *path, cmn_buf_t *errors);

/* Parses a configuration held in memory. `name` is used in messages; relative paths resolve
 * against `dir`. Same results as gw_config_load (which reads the file, then calls this). */
gw_config_t *gw_config_parse(const char *text, size_t len, const char *name, const char *dir,
                             cmn_buf_t *errors);

/* The top-level settings whose text differs between a and b (present in one only, or
 * written otherwise), leaving out the key settings SIGHUP reloads (audit.signing_key,
 * identity.assertion_key and assertion_published_keys, egress_key_file and
 * egress_previous_key_files): ", "-separated into out[cap] (cut to fit). Returns how many. */
size_t gw_config_settings_differ(const gw_config_t *a, const gw_config_t *b, char *out, size_t cap);

/* Accepts NULL. Wipes the secrets before freeing. */
void gw_config_free(gw_config_t *cfg);

/* Finds a region by name; NULL if absent. */
const gw_region_t *gw_config_region(const gw_config_t *cfg, const char *name);

#endif
