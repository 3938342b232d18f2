#include "gateway/config/config.h"

#include "common/jdiag.h"

#include "common/secret.h"
#include "common/sha256.h"
#include "gateway/config/url.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PTR_MAX CMN_JDIAG_PTR_MAX

typedef struct {
    cmn_jdiag_t diag;
    gw_config_t *cfg;
} loader_t;

/* Returns the string at obj[key] copied into the config arena, def when absent, NULL (with an
 * error) when present but not a non-empty string or when required and absent. */
static const char *get_string(loader_t *l, const char *ptr, json_t *obj, const char *key,
                              int required, const char *def)
{
    char p[PTR_MAX];
    json_t *v = cmn_jdiag_get(&l->diag, ptr, obj, key, JSON_STRING, required, "a non-empty string");
    if (!v)
        return json_object_get(obj, key) ? NULL : def;
    if (json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v)) {
        cmn_jdiag_error(&l->diag, cmn_jdiag_join(p, ptr, key), 0,
                        "found an empty string, expected a non-empty string");
        return NULL;
    }
    return cmn_arena_strndup(&l->cfg->arena, json_string_value(v), json_string_length(v));
}

static int get_int(loader_t *l, const char *ptr, json_t *obj, const char *key, long min, long max,
                   int def)
{
    char p[PTR_MAX];
    json_t *v = json_object_get(obj, key);
    if (!v)
        return def;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char found[32];
        if (json_is_integer(v))
            snprintf(found, sizeof(found), "%lld", (long long)json_integer_value(v));
        cmn_jdiag_error(&l->diag, cmn_jdiag_join(p, ptr, key), 0,
                        "found %s, expected an integer from %ld to %ld",
                        json_is_integer(v) ? found : cmn_jdiag_type(v), min, max);
        return def;
    }
    return (int)json_integer_value(v);
}

static json_t *get_object(loader_t *l, const char *ptr, json_t *obj, const char *key, int required)
{
    return cmn_jdiag_get(&l->diag, ptr, obj, key, JSON_OBJECT, required, "an object");
}

static json_t *get_array(loader_t *l, const char *ptr, json_t *obj, const char *key)
{
    return cmn_jdiag_get(&l->diag, ptr, obj, key, JSON_ARRAY, 0, "an array");
}

/* Resolves a path against the config file's folder. */
static const char *resolve_path(loader_t *l, const char *path)
{
    if (!path)
        return NULL;
    if (path[0] == '/')
        return path;
    return cmn_arena_printf(&l->cfg->arena, "%s/%s", l->cfg->dir, path);
}

/* Validates an absolute http(s) URL hubgate connects to or writes into answers (gateway/config/url.h:
 * libcurl's parser, plain http only to a loopback literal, never credentials); with base_only,
 * no query or fragment either. Returns the URL as written without a trailing slash, or NULL
 * after reporting. */
static const char *check_url(loader_t *l, const char *ptr, const char *url, int base_only)
{
    if (!url)
        return NULL;
    char host[GW_MAX_URL_HOST_BYTES];
    gw_url_result_t rc = gw_url_check(url, base_only ? GW_URL_BASE_ONLY : 0, host, sizeof(host));
    switch (rc) {
    case GW_URL_OK: break;
    case GW_URL_PLAIN_HTTP:
        cmn_jdiag_error(&l->diag, ptr, 0,
                        "plain http is accepted only on loopback addresses (found host \"%s\"; "
                        "use https, or a literal 127.0.0.0/8 or [::1] address)",
                        host);
        return NULL;
    case GW_URL_CREDENTIALS:
    case GW_URL_NOT_BASE:
        /* Not echoed: the user part may hold a password. */
        cmn_jdiag_error(&l->diag, ptr, 0,
                        "the URL must not carry credentials, a query or a fragment (%s)",
                        gw_url_result_message(rc));
        return NULL;
    case GW_URL_SCHEME:
        cmn_jdiag_error(&l->diag, ptr, 0, "\"%s\": scheme is not supported (expected https)",
                        url);
        return NULL;
    default:
        cmn_jdiag_error(&l->diag, ptr, 0, "\"%s\" is not an absolute URL", url);
        return NULL;
    }
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    return cmn_arena_strndup(&l->cfg->arena, url, n);
}

/* "HOST:PORT" (IPv6 in brackets) into *host (arena) and *port. Returns 0, else reports at ptr
 * and returns -1. */
static int parse_hostport(loader_t *l, const char *ptr, const char *value, const char **host_out,
                          uint16_t *port_out)
{
    gw_config_t *cfg = l->cfg;
    const char *colon = strrchr(value, ':');
    char *end = NULL;
    errno = 0;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == value || !end || *end || errno || port < 1 || port > 65535) {
        cmn_jdiag_error(&l->diag, ptr, 0,
                        "\"%s\" is not HOST:PORT (expected e.g. \"0.0.0.0:8443\")", value);
        return -1;
    }
    const char *host = value;
    size_t hlen = (size_t)(colon - value);
    if (host[0] == '[' && hlen >= 2 && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    char *h = cmn_arena_strndup(&cfg->arena, host, hlen);
    pol_ip_t ip;
    if (!h || pol_ip_parse(h, &ip) != 0) {
        cmn_jdiag_error(&l->diag, ptr, 0, "\"%s\" is not an IP address", h ? h : "");
        return -1;
    }
    *host_out = h;
    *port_out = (uint16_t)port;
    return 0;
}

static void parse_listen(loader_t *l, const char *listen)
{
    if (!listen)
        return; /* wrong type, already reported */
    (void)parse_hostport(l, "/listen", listen, &l->cfg->listen_host, &l->cfg->listen_port);
}

/* The metrics listener: optional (no key, no metrics anywhere), never the public listener. */
static void parse_metrics_listen(loader_t *l, const char *value)
{
    gw_config_t *cfg = l->cfg;
    if (!value || parse_hostport(l, "/metrics_listen", value, &cfg->metrics_host,
                                 &cfg->metrics_port) != 0)
        return;
    if (cfg->listen_host && cfg->metrics_port == cfg->listen_port) {
        pol_ip_t a, b;
        int same_host = pol_ip_parse(cfg->metrics_host, &a) == 0 &&
                        pol_ip_parse(cfg->listen_host, &b) == 0 &&
                        memcmp(a.addr, b.addr, sizeof(a.addr)) == 0;
        /* A wildcard address takes the port on every interface. */
        int any = strcmp(cfg->metrics_host, "0.0.0.0") == 0 ||
                  strcmp(cfg->metrics_host, "::") == 0 ||
                  strcmp(cfg->listen_host, "0.0.0.0") == 0 || strcmp(cfg->listen_host, "::") == 0;
        if (same_host || any)
            cmn_jdiag_error(&l->diag, "/metrics_listen", 0,
                            "\"%s\" is the public listener's port (expected a listener of its "
                            "own, e.g. \"127.0.0.1:9464\")",
                            value);
    }
}

/* Reads a secret file (any *_file key): private to its owner (cmn_secret_read refuses it
 * otherwise, as ssh does a private key), one line of printable ASCII, trailing newline
 * removed. */
static const char *read_secret(loader_t *l, const char *ptr, const char *path)
{
    cmn_buf_t b;
    cmn_buf_init(&b, GW_MAX_SECRET_BYTES);
    const char *out = NULL;
    char why[PTR_MAX + 256];
    if (cmn_secret_read(&b, path, why, sizeof(why)) != 0) {
        cmn_jdiag_error(&l->diag, ptr, 0, "%s", why);
        goto done;
    }
    while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = '\0';
    int printable = b.len > 0;
    for (size_t i = 0; i < b.len; i++)
        printable &= b.data[i] > 0x20 && b.data[i] < 0x7f;
    if (!printable) {
        /* Never echo the content: it is a credential. */
        cmn_jdiag_error(&l->diag, ptr, 0,
                        "\"%s\" must hold one token of printable ASCII without spaces", path);
        goto done;
    }
    out = cmn_arena_strndup(&l->cfg->arena, b.data, b.len);
done:
    if (b.data)
        OPENSSL_cleanse(b.data, b.cap);
    cmn_buf_free(&b);
    return out;
}

/* The array at ptr.key (its JSON path into path) when it holds at most max entries, with room
 * for them and a terminator in the config's arena (*items, item bytes each). NULL when it is
 * absent, over the cap (reported, naming what it holds) or memory ran out. */
static json_t *bounded_array(loader_t *l, const char *ptr, json_t *obj, const char *key,
                             size_t max, const char *what, size_t item, void **items,
                             char path[PTR_MAX])
{
    json_t *list = get_array(l, ptr, obj, key);
    if (!list)
        return NULL;
    cmn_jdiag_join(path, ptr, key);
    if (json_array_size(list) > max) {
        cmn_jdiag_error(&l->diag, path, 0, "%zu %s, expected at most %zu", json_array_size(list),
                        what, max);
        return NULL;
    }
    *items = cmn_arena_alloc(&l->cfg->arena, (json_array_size(list) + 1) * item);
    return *items ? list : NULL;
}

/* A list of file paths at ptr.key (resolved like every path), at most GW_CONFIG_MAX_EXTRA_KEYS;
 * *n stays 0 when it is absent or wrong (reported). */
static const char **parse_paths(loader_t *l, const char *ptr, json_t *obj, const char *key,
                                size_t *n)
{
    char p[PTR_MAX], q[PTR_MAX];
    const char **items = NULL;
    *n = 0;
    json_t *list = bounded_array(l, ptr, obj, key, GW_CONFIG_MAX_EXTRA_KEYS, "files",
                                 sizeof(*items), (void **)&items, p);
    if (!list)
        return NULL;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) != json_string_length(v)) {
            cmn_jdiag_error(&l->diag, cmn_jdiag_join_index(q, p, i), 0,
                            "found %s, expected a file path",
                            json_is_string(v) ? "an empty string" : cmn_jdiag_type(v));
            continue;
        }
        const char *path = resolve_path(l, cmn_arena_strndup(&l->cfg->arena, s, strlen(s)));
        if (path)
            items[(*n)++] = path;
    }
    return items;
}

/* regions.<name>.storage: the origins the region's answers may send clients to. Each is an
 * origin only (no path, query or credentials), https unless on loopback, like upstreams. */
static void parse_storage(loader_t *l, const char *ptr, json_t *r, gw_region_t *reg)
{
    char p[PTR_MAX], q[PTR_MAX];
    json_t *list = bounded_array(l, ptr, r, "storage", GW_MAX_STORAGE_ORIGINS, "origins",
                                 sizeof(*reg->storage), (void **)&reg->storage, p);
    if (!list)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        cmn_jdiag_join_index(q, p, i);
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) != json_string_length(v)) {
            cmn_jdiag_error(&l->diag, q, 0,
                            "found %s, expected an origin such as "
                            "\"https://cdn-lfs.example.com\"",
                            json_is_string(v) ? "an empty string" : cmn_jdiag_type(v));
            continue;
        }
        const char *url = check_url(l, q, s, 1);
        if (!url)
            continue;
        const char *auth = strstr(url, "://");
        if (!auth || strchr(auth + 3, '/')) {
            cmn_jdiag_error(&l->diag, q, 0,
                            "\"%s\" has a path; expected an origin (scheme://host[:port])", s);
            continue;
        }
        if (gw_origin_parse(url, strlen(url), &reg->storage[reg->n_storage]) != 0) {
            cmn_jdiag_error(&l->diag, q, 0,
                            "\"%s\" is not an origin (expected scheme://host[:port])", s);
            continue;
        }
        reg->n_storage++;
    }
}

/* regions.<name>.storage_networks: the narrow opt-in for storage whose name resolves to a
 * non-public address (a MinIO on the private network). A prefix as wide as a whole address
 * family is refused: it would switch the check off. */
static void parse_storage_networks(loader_t *l, const char *ptr, json_t *r, gw_region_t *reg)
{
    char p[PTR_MAX], q[PTR_MAX];
    json_t *list = bounded_array(l, ptr, r, "storage_networks", GW_MAX_STORAGE_NETWORKS,
                                 "networks", sizeof(*reg->storage_networks),
                                 (void **)&reg->storage_networks, p);
    if (!list)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        cmn_jdiag_join_index(q, p, i);
        const char *s = json_string_value(v);
        pol_cidr_t *c = &reg->storage_networks[reg->n_storage_networks];
        if (!s || pol_cidr_parse(s, c) != 0) {
            cmn_jdiag_error(&l->diag, q, 0,
                            "found %s, expected a network such as \"10.20.0.0/16\" (host bits "
                            "zero)",
                            s ? "an invalid network" : cmn_jdiag_type(v));
            continue;
        }
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        int v4 = c->bits >= 96 && memcmp(c->addr, mapped, sizeof(mapped)) == 0;
        if (c->bits < (v4 ? 96 + 8 : 16)) {
            cmn_jdiag_error(&l->diag, q, 0,
                            "\"%s\" is too wide (expected at most a /8 for IPv4, a /16 for IPv6)",
                            s);
            continue;
        }
        reg->n_storage_networks++;
    }
}

static void parse_regions(loader_t *l, json_t *root)
{
    gw_config_t *cfg = l->cfg;
    json_t *regions = get_object(l, "", root, "regions", 1);
    if (!regions)
        return;
    size_t n = json_object_size(regions);
    if (n == 0) {
        cmn_jdiag_error(&l->diag, "/regions", 0, "at least one region is required");
        return;
    }
    if (n > GW_MAX_REGIONS) {
        cmn_jdiag_error(&l->diag, "/regions", 0, "%zu regions; at most %d are supported", n,
                        GW_MAX_REGIONS);
        return;
    }
    cfg->regions = cmn_arena_alloc(&cfg->arena, n * sizeof(*cfg->regions));
    if (!cfg->regions)
        return;
    static const char *const keys[] = {"upstream", "token_file", "storage", "storage_networks",
                                       NULL};
    const char *name;
    json_t *r;
    json_object_foreach(regions, name, r)
    {
        char p[PTR_MAX], q[PTR_MAX];
        cmn_jdiag_join(p, "/regions", name);
        if (!json_is_object(r)) {
            cmn_jdiag_error(&l->diag, p, 0, "found %s, expected an object", cmn_jdiag_type(r));
            continue;
        }
        cmn_jdiag_keys(&l->diag, p, r, keys);
        gw_region_t *reg = &cfg->regions[cfg->n_regions++];
        memset(reg, 0, sizeof(*reg));
        reg->name = cmn_arena_strndup(&cfg->arena, name, strlen(name));
        reg->upstream = check_url(l, cmn_jdiag_join(q, p, "upstream"),
                                  get_string(l, p, r, "upstream", 1, NULL), 1);
        const char *tf = resolve_path(l, get_string(l, p, r, "token_file", 1, NULL));
        reg->token = tf ? read_secret(l, cmn_jdiag_join(q, p, "token_file"), tf) : NULL;
        if (reg->upstream &&
            gw_origin_parse(reg->upstream, strlen(reg->upstream), &reg->upstream_origin) != 0)
            cmn_jdiag_error(&l->diag, cmn_jdiag_join(q, p, "upstream"), 0,
                            "\"%s\" has no usable origin (expected scheme://host[:port])",
                            reg->upstream);
        parse_storage(l, p, r, reg);
        parse_storage_networks(l, p, r, reg);
    }
    const char *def = get_string(l, "", root, "default_region", n > 1, NULL);
    if (!def) {
        cfg->default_region = 0;
        return;
    }
    for (size_t i = 0; i < cfg->n_regions; i++) {
        if (strcmp(cfg->regions[i].name, def) == 0) {
            cfg->default_region = i;
            return;
        }
    }
    cmn_jdiag_error(&l->diag, "/default_region", 0, "unknown region \"%s\" (not in \"regions\")",
                    def);
}

/* identity.login: browser sign-in. Its issuer must be one of identity.issuers: those keys verify
 * the ID tokens, and the access tokens of the same people are accepted alike. */
static void parse_login(loader_t *l, json_t *id)
{
    gw_config_t *cfg = l->cfg;
    cfg->login.session_hours = 12;
    cfg->login.idle_minutes = 60;
    json_t *lg = get_object(l, "/identity", id, "login", 0);
    if (!lg)
        return;
    static const char *const keys[] = {"issuer",        "client_id",    "client_secret_file",
                                       "session_hours", "idle_minutes", NULL};
    cmn_jdiag_keys(&l->diag, "/identity/login", lg, keys);
    const char *issuer = get_string(l, "/identity/login", lg, "issuer", 1, NULL);
    cfg->login.client_id = get_string(l, "/identity/login", lg, "client_id", 1, NULL);
    const char *sf =
        resolve_path(l, get_string(l, "/identity/login", lg, "client_secret_file", 1, NULL));
    cfg->login.client_secret =
        sf ? read_secret(l, "/identity/login/client_secret_file", sf) : NULL;
    cfg->login.session_hours =
        get_int(l, "/identity/login", lg, "session_hours", 1, 24 * 30, 12);
    cfg->login.idle_minutes = get_int(l, "/identity/login", lg, "idle_minutes", 5, 24 * 60, 60);
    if (!issuer)
        return;
    for (size_t i = 0; i < cfg->n_issuers; i++) {
        if (cfg->issuers[i].issuer && strcmp(cfg->issuers[i].issuer, issuer) == 0) {
            cfg->login.issuer = cfg->issuers[i].issuer;
            cfg->login.issuer_index = i;
            return;
        }
    }
    cmn_jdiag_error(&l->diag, "/identity/login/issuer", 0,
                    "\"%s\" is not one of identity.issuers (its keys verify the ID tokens)",
                    issuer);
}

static void parse_identity(loader_t *l, json_t *root)
{
    gw_config_t *cfg = l->cfg;
    cfg->token_max_days = 30;
    cfg->jwks_refresh_seconds = 300;
    cfg->jwks_max_stale_seconds = 86400;
    cfg->leeway_seconds = 60;
    json_t *id = get_object(l, "", root, "identity", 0);
    if (!id)
        return;
    static const char *const keys[] = {"issuers",         "tokens",         "jwks_refresh_seconds",
                                       "jwks_max_stale_seconds", "leeway_seconds", "assertion_key",
                                       "assertion_published_keys", "login", NULL};
    cmn_jdiag_keys(&l->diag, "/identity", id, keys);
    cfg->jwks_refresh_seconds = get_int(l, "/identity", id, "jwks_refresh_seconds", 10, 86400, 300);
    cfg->jwks_max_stale_seconds =
        get_int(l, "/identity", id, "jwks_max_stale_seconds", 1, 30 * 86400, 86400);
    cfg->leeway_seconds = get_int(l, "/identity", id, "leeway_seconds", 0, 600, 60);
    cfg->assertion_key = resolve_path(l, get_string(l, "/identity", id, "assertion_key", 0, NULL));
    cfg->assertion_published_keys = parse_paths(l, "/identity", id, "assertion_published_keys",
                                                &cfg->n_assertion_published_keys);
    /* Published keys rotate a key relying parties know; a per-process key is known to none. */
    if (cfg->n_assertion_published_keys && !cfg->assertion_key)
        cmn_jdiag_error(&l->diag, "/identity/assertion_published_keys", 0,
                        "needs identity.assertion_key (published keys rotate a key kept in a "
                        "file; the per-process key is never published beforehand)");

    json_t *tokens = get_object(l, "/identity", id, "tokens", 0);
    if (tokens) {
        static const char *const tkeys[] = {"max_days", NULL};
        cmn_jdiag_keys(&l->diag, "/identity/tokens", tokens, tkeys);
        cfg->token_max_days = get_int(l, "/identity/tokens", tokens, "max_days", 1, 3650, 30);
    }

    json_t *issuers = get_array(l, "/identity", id, "issuers");
    if (!issuers)
        return;
    size_t n = json_array_size(issuers);
    cfg->issuers = cmn_arena_alloc(&cfg->arena, (n ? n : 1) * sizeof(*cfg->issuers));
    if (!cfg->issuers)
        return;
    static const char *const ikeys[] = {"issuer",     "audience",
                                        "groups_claim", "algorithms",
                                        "email_verified_assumed", NULL};
    static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                       "PS512", "ES256", "ES384", NULL};
    for (size_t i = 0; i < n; i++) {
        char p[PTR_MAX], q[PTR_MAX];
        cmn_jdiag_join_index(p, "/identity/issuers", i);
        json_t *it = json_array_get(issuers, i);
        if (!json_is_object(it)) {
            cmn_jdiag_error(&l->diag, p, 0, "found %s, expected an object", cmn_jdiag_type(it));
            continue;
        }
        cmn_jdiag_keys(&l->diag, p, it, ikeys);
        gw_issuer_t *iss = &cfg->issuers[cfg->n_issuers++];
        memset(iss, 0, sizeof(*iss));
        iss->issuer = check_url(l, cmn_jdiag_join(q, p, "issuer"),
                                get_string(l, p, it, "issuer", 1, NULL), 1);
        iss->audience = get_string(l, p, it, "audience", 1, NULL);
        iss->groups_claim = get_string(l, p, it, "groups_claim", 0, "groups");
        iss->email_verified_assumed = cmn_jdiag_bool(&l->diag, p, it, "email_verified_assumed", 0);
        json_t *a = get_array(l, p, it, "algorithms");
        if (!a) {
            iss->algorithms[0] = "RS256";
            iss->algorithms[1] = "ES256";
            iss->n_algorithms = 2;
            continue;
        }
        if (json_array_size(a) == 0 || json_array_size(a) > 8) {
            cmn_jdiag_error(&l->diag, cmn_jdiag_join(q, p, "algorithms"), 0,
                            "expected 1 to 8 algorithms");
            continue;
        }
        for (size_t k = 0; k < json_array_size(a); k++) {
            json_t *v = json_array_get(a, k);
            const char *s = json_string_value(v);
            int ok = 0;
            for (size_t m = 0; s && algs[m]; m++)
                ok |= strcmp(s, algs[m]) == 0;
            if (!ok) {
                char r[PTR_MAX];
                cmn_jdiag_join_index(r, cmn_jdiag_join(q, p, "algorithms"), k);
                cmn_jdiag_error(&l->diag, r, 0,
                                "%s%s%s is not an accepted algorithm (expected one of RS256, "
                                "RS384, RS512, PS256, PS384, PS512, ES256, ES384; HS* and none "
                                "are never accepted for SSO tokens)",
                                s ? "\"" : "", s ? s : cmn_jdiag_type(v), s ? "\"" : "");
                continue;
            }
            iss->algorithms[iss->n_algorithms++] = cmn_arena_strndup(&cfg->arena, s, strlen(s));
        }
    }
    parse_login(l, id);
}

/* scim: SCIM 2.0 provisioning at /scim/v2, behind a bearer secret (docs/sign-in.md). */
static void parse_scim(loader_t *l, json_t *root)
{
    json_t *sc = get_object(l, "", root, "scim", 0);
    if (!sc)
        return;
    static const char *const keys[] = {"token_file", NULL};
    cmn_jdiag_keys(&l->diag, "/scim", sc, keys);
    const char *tf = resolve_path(l, get_string(l, "/scim", sc, "token_file", 1, NULL));
    l->cfg->scim_token = tf ? read_secret(l, "/scim/token_file", tf) : NULL;
    if (l->cfg->scim_token && strlen(l->cfg->scim_token) < 32)
        cmn_jdiag_error(&l->diag, "/scim/token_file", 0,
                        "the SCIM secret is %zu characters; use at least 32 random ones",
                        strlen(l->cfg->scim_token));
}

static void parse_audit(loader_t *l, json_t *root)
{
    gw_config_t *cfg = l->cfg;
    cfg->audit.mode = GW_AUDIT_STRICT;
    cfg->audit.checkpoint_every = 1000;
    cfg->audit.checkpoint_seconds = 10;
    cfg->audit.write_timeout_ms = 2000;
    cfg->audit.stream = "gw-1";
    json_t *a = get_object(l, "", root, "audit", 0);
    if (!a)
        return;
    static const char *const keys[] = {"signing_key",      "stream",
                                       "mode",             "spool_dir",
                                       "checkpoint_every", "checkpoint_seconds",
                                       "write_timeout_ms", NULL};
    cmn_jdiag_keys(&l->diag, "/audit", a, keys);
    cfg->audit.signing_key = resolve_path(l, get_string(l, "/audit", a, "signing_key", 0, NULL));
    cfg->audit.stream = get_string(l, "/audit", a, "stream", 0, "gw-1");
    if (cfg->audit.stream && strncmp(cfg->audit.stream, "env:", 4) == 0) {
        /* One config for N instances (Kubernetes: the pod's name through the downward API):
         * each names its stream from its environment. */
        const char *var = cfg->audit.stream + 4, *v = *var ? getenv(var) : NULL;
        if (!v || !*v) {
            cmn_jdiag_error(&l->diag, "/audit/stream", 0,
                            "names the environment variable \"%s\", which is not set", var);
            cfg->audit.stream = NULL;
        } else {
            cfg->audit.stream = cmn_arena_strndup(&cfg->arena, v, strlen(v));
        }
    }
    if (cfg->audit.stream) {
        size_t n = strlen(cfg->audit.stream);
        int ok = n >= 1 && n <= 64;
        for (size_t i = 0; i < n; i++) {
            char c = cfg->audit.stream[i];
            ok &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        }
        if (!ok)
            cmn_jdiag_error(&l->diag, "/audit/stream", 0,
                            "\"%s\" is not a stream name (expected 1-64 of A-Z a-z 0-9 . _ -)",
                            cfg->audit.stream);
    }
    const char *mode = get_string(l, "/audit", a, "mode", 0, "strict");
    if (mode && strcmp(mode, "spool") == 0)
        cfg->audit.mode = GW_AUDIT_SPOOL;
    else if (mode && strcmp(mode, "off") == 0)
        cfg->audit.mode = GW_AUDIT_OFF;
    else if (mode && strcmp(mode, "strict") != 0)
        cmn_jdiag_error(&l->diag, "/audit/mode", 0,
                        "unknown mode \"%s\" (expected strict, spool, or off for benchmarks)",
                        mode);
    cfg->audit.spool_dir = resolve_path(l, get_string(l, "/audit", a, "spool_dir", 0, "spool"));
    cfg->audit.checkpoint_every = get_int(l, "/audit", a, "checkpoint_every", 1, 10000000, 1000);
    cfg->audit.checkpoint_seconds = get_int(l, "/audit", a, "checkpoint_seconds", 1, 86400, 10);
    cfg->audit.write_timeout_ms = get_int(l, "/audit", a, "write_timeout_ms", 10, 60000, 2000);
}

static void parse_root(loader_t *l, json_t *root)
{
    gw_config_t *cfg = l->cfg;
    static const char *const keys[] = {
        "listen",   "tls",      "public_url", "trusted_proxies", "database", "policy", "shadow",
        "regions",  "default_region", "egress", "egress_key_file", "egress_previous_key_files",
        "identity", "audit", "timeouts", "metrics_listen", "event_loops", "xet", "scim",
        "log_format", "report_database", NULL};
    cmn_jdiag_keys(&l->diag, "", root, keys);
    const char *lf = get_string(l, "", root, "log_format", 0, "text");
    if (lf && strcmp(lf, "json") == 0)
        cfg->log_json = 1;
    else if (lf && strcmp(lf, "text") != 0)
        cmn_jdiag_error(&l->diag, "/log_format", 0, "\"%s\": expected \"text\" or \"json\"", lf);
    /* 0: one per core, decided at start (gw_serve_run). */
    cfg->event_loops = get_int(l, "", root, "event_loops", 1, GW_MAX_EVENT_LOOPS, 0);

    parse_listen(l, get_string(l, "", root, "listen", 0, "127.0.0.1:8443"));
    parse_metrics_listen(l, get_string(l, "", root, "metrics_listen", 0, NULL));

    json_t *tls = get_object(l, "", root, "tls", 0);
    if (tls) {
        static const char *const tkeys[] = {"cert", "key", NULL};
        cmn_jdiag_keys(&l->diag, "/tls", tls, tkeys);
        cfg->tls_cert = resolve_path(l, get_string(l, "/tls", tls, "cert", 1, NULL));
        cfg->tls_key = resolve_path(l, get_string(l, "/tls", tls, "key", 1, NULL));
    }

    cfg->public_url = check_url(l, "/public_url", get_string(l, "", root, "public_url", 1, NULL),
                                1);

    json_t *tp = get_array(l, "", root, "trusted_proxies");
    size_t ntp = tp ? json_array_size(tp) : 0;
    if (ntp) {
        cfg->trusted_proxies = cmn_arena_alloc(&cfg->arena, ntp * sizeof(pol_cidr_t));
        for (size_t i = 0; cfg->trusted_proxies && i < ntp; i++) {
            const char *s = json_string_value(json_array_get(tp, i));
            if (s && pol_cidr_parse(s, &cfg->trusted_proxies[cfg->n_trusted_proxies]) == 0) {
                cfg->n_trusted_proxies++;
                continue;
            }
            char p[PTR_MAX];
            cmn_jdiag_error(&l->diag, cmn_jdiag_join_index(p, "/trusted_proxies", i), 0,
                            "%s%s%s is not a network (expected CIDR like \"10.0.0.0/8\" with "
                            "zero host bits)",
                            s ? "\"" : "", s ? s : "a non-string", s ? "\"" : "");
        }
    }

    cfg->database = get_string(l, "", root, "database", 1, NULL);
    cfg->report_database = get_string(l, "", root, "report_database", 0, NULL);
    cfg->policy = resolve_path(l, get_string(l, "", root, "policy", 1, NULL));
    cfg->shadow = resolve_path(l, get_string(l, "", root, "shadow", 0, NULL));

    parse_regions(l, root);

    const char *egress = get_string(l, "", root, "egress", 0, "proxy");
    if (egress && strcmp(egress, "redirect") == 0)
        cfg->egress = GW_EGRESS_REDIRECT;
    else if (egress && strcmp(egress, "proxy") != 0)
        cmn_jdiag_error(&l->diag, "/egress", 0, "unknown egress \"%s\" (expected proxy, redirect)",
                        egress);

    cfg->egress_key_file = resolve_path(l, get_string(l, "", root, "egress_key_file", 0, NULL));
    cfg->egress_previous_key_files =
        parse_paths(l, "", root, "egress_previous_key_files", &cfg->n_egress_previous_key_files);
    if (cfg->n_egress_previous_key_files && !cfg->egress_key_file)
        cmn_jdiag_error(&l->diag, "/egress_previous_key_files", 0,
                        "needs egress_key_file (a previous key is one a key file held before)");

    const char *xet = get_string(l, "", root, "xet", 0, "proxy");
    if (xet && strcmp(xet, "proxy") == 0)
        cfg->xet = GW_XET_PROXY;
    else if (xet && strcmp(xet, "off") != 0)
        cmn_jdiag_error(&l->diag, "/xet", 0, "unknown xet \"%s\" (expected off, proxy)", xet);
    cfg->timeouts.client_idle_seconds = 60;
    cfg->timeouts.upstream_connect_ms = 5000;
    cfg->timeouts.upstream_idle_seconds = 60;
    json_t *t = get_object(l, "", root, "timeouts", 0);
    if (t) {
        static const char *const tkeys[] = {"client_idle_seconds", "upstream_connect_ms",
                                            "upstream_idle_seconds", NULL};
        cmn_jdiag_keys(&l->diag, "/timeouts", t, tkeys);
        cfg->timeouts.client_idle_seconds =
            get_int(l, "/timeouts", t, "client_idle_seconds", 1, 3600, 60);
        cfg->timeouts.upstream_connect_ms =
            get_int(l, "/timeouts", t, "upstream_connect_ms", 100, 60000, 5000);
        cfg->timeouts.upstream_idle_seconds =
            get_int(l, "/timeouts", t, "upstream_idle_seconds", 1, 3600, 60);
    }
    parse_identity(l, root);
    parse_scim(l, root);
    parse_audit(l, root);
}

/* The digest of each top-level setting as written, without the key settings SIGHUP reloads:
 * what gw_config_settings_differ compares. */
static void digest_settings(gw_config_t *cfg, json_t *root)
{
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v)
    {
        if (cfg->n_settings == GW_CONFIG_MAX_SETTINGS)
            return;
        if (strcmp(name, "egress_key_file") == 0 || strcmp(name, "egress_previous_key_files") == 0)
            continue;
        json_t *copy = json_deep_copy(v);
        if (!copy)
            return;
        if (json_is_object(copy) && strcmp(name, "identity") == 0) {
            json_object_del(copy, "assertion_key");
            json_object_del(copy, "assertion_published_keys");
        } else if (json_is_object(copy) && strcmp(name, "audit") == 0) {
            json_object_del(copy, "signing_key");
        }
        char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        json_decref(copy);
        gw_config_setting_t *st = &cfg->settings[cfg->n_settings];
        st->name = cmn_arena_strndup(&cfg->arena, name, strlen(name));
        if (text && st->name) {
            cmn_sha256(text, strlen(text), st->sha256);
            cfg->n_settings++;
        }
        free(text);
    }
}

static const gw_config_setting_t *find_setting(const gw_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_settings; i++)
        if (strcmp(cfg->settings[i].name, name) == 0)
            return &cfg->settings[i];
    return NULL;
}

static void add_name(char *out, size_t cap, size_t *len, const char *name)
{
    int n = snprintf(out + *len, cap - *len, "%s%s", *len ? ", " : "", name);
    if (n > 0)
        *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

size_t gw_config_settings_differ(const gw_config_t *a, const gw_config_t *b, char *out, size_t cap)
{
    size_t count = 0, len = 0;
    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < a->n_settings; i++) {
        const gw_config_setting_t *o = find_setting(b, a->settings[i].name);
        if (o && memcmp(o->sha256, a->settings[i].sha256, sizeof(o->sha256)) == 0)
            continue;
        count++;
        if (cap)
            add_name(out, cap, &len, a->settings[i].name);
    }
    for (size_t i = 0; i < b->n_settings; i++) {
        if (find_setting(a, b->settings[i].name))
            continue;
        count++;
        if (cap)
            add_name(out, cap, &len, b->settings[i].name);
    }
    return count;
}

static gw_config_t *config_new(const char *name)
{
    gw_config_t *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return NULL;
    cmn_arena_init(&cfg->arena, 16384, 64 * 1024 * 1024);
    cfg->path = cmn_arena_strndup(&cfg->arena, name, strlen(name));
    return cfg;
}

gw_config_t *gw_config_parse(const char *text, size_t len, const char *name, const char *dir,
                             cmn_buf_t *errors)
{
    gw_config_t *cfg = config_new(name);
    if (!cfg || !cfg->path) {
        gw_config_free(cfg);
        cmn_buf_printf(errors, "%s: out of memory\n", name);
        return NULL;
    }
    cfg->dir = cmn_arena_strndup(&cfg->arena, dir, strlen(dir));
    loader_t l = {.diag = {.file = name, .pos = NULL, .out = errors, .errors = 0}, .cfg = cfg};
    cmn_jsonpos_t *pos = NULL;
    json_t *root = cmn_jdiag_load(&l.diag, text, len);
    if (!root)
        goto out;
    if (!json_is_object(root)) {
        cmn_jdiag_syntax(&l.diag, 1, 1, "the configuration must be a JSON object");
        goto out;
    }
    pos = cmn_jsonpos_build(text, len);
    l.diag.pos = pos;
    parse_root(&l, root);
    digest_settings(cfg, root);
out:
    json_decref(root);
    cmn_jsonpos_free(pos);
    if (l.diag.errors) {
        gw_config_free(cfg);
        return NULL;
    }
    return cfg;
}

gw_config_t *gw_config_load(const char *path, cmn_buf_t *errors)
{
    cmn_buf_t text;
    cmn_buf_init(&text, GW_MAX_CONFIG_BYTES);
    gw_config_t *cfg = NULL;
    if (cmn_jdiag_read(&text, path, "configuration", errors) != 0)
        goto out;
    char *abs = realpath(path, NULL);
    if (!abs) {
        cmn_buf_printf(errors, "%s: cannot resolve its folder: %s\n", path, strerror(errno));
        goto out;
    }
    char *slash = strrchr(abs, '/');
    if (slash == abs)
        slash[1] = '\0';
    else
        *slash = '\0';
    cfg = gw_config_parse(text.data, text.len, path, abs, errors);
    free(abs);
out:
    cmn_buf_free(&text);
    return cfg;
}

const gw_region_t *gw_config_region(const gw_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_regions; i++) {
        if (strcmp(cfg->regions[i].name, name) == 0)
            return &cfg->regions[i];
    }
    return NULL;
}

void gw_config_free(gw_config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_regions; i++) {
        if (cfg->regions[i].token)
            OPENSSL_cleanse((void *)cfg->regions[i].token, strlen(cfg->regions[i].token));
    }
    if (cfg->login.client_secret)
        OPENSSL_cleanse((void *)cfg->login.client_secret, strlen(cfg->login.client_secret));
    if (cfg->scim_token)
        OPENSSL_cleanse((void *)cfg->scim_token, strlen(cfg->scim_token));
    cmn_arena_free(&cfg->arena);
    free(cfg);
}
