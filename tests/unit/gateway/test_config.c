#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/testutil.h"

#include "gateway/config/config.h"

static char dir[128];

/* Loads text as config.json; returns the config or NULL with the errors in *errors_out. */
static gw_config_t *load(const char *text, cmn_buf_t *errors)
{
    char path[512];
    testutil_write_file(dir, "config.json", text, 0600, path, sizeof(path));
    cmn_buf_init(errors, 65536);
    return gw_config_load(path, errors);
}

static int setup(void **state)
{
    testutil_tmpdir(dir, sizeof(dir), "test-config");
    testutil_write_file(dir, "us.token", "hf_service_us\n", 0600, NULL, 0);
    testutil_write_file(dir, "eu.token", "hf_service_eu", 0600, NULL, 0);
    testutil_write_file(dir, "bad.token", "two words\n", 0600, NULL, 0);
    /* what a careless copy leaves: refused, as ssh refuses a key */
    testutil_write_file(dir, "open.token", "hf_service_open\n", 0644, NULL, 0);
    return 0;
}

static int teardown(void **state)
{
    return testutil_rmtree(dir);
}

static const char full[] =
    "{\n"
    "  \"listen\": \"127.0.0.1:8443\",\n"
    "  \"event_loops\": 3,\n"
    "  \"metrics_listen\": \"[::1]:9464\",\n"
    "  \"public_url\": \"https://hub.corp.example/\",\n"
    "  \"trusted_proxies\": [\"10.0.0.0/8\", \"::1/128\"],\n"
    "  \"database\": \"postgresql://hubgate@127.0.0.1/hubgate\",\n"
    "  \"policy\": \"policy.json\",\n"
    "  \"regions\": {\n"
    "    \"us\": {\"upstream\": \"https://huggingface.co\", \"token_file\": \"us.token\",\n"
    "           \"storage\": [\"https://CDN-LFS.hf.co\", \"https://s3.example:8443/\",\n"
    "                       \"http://127.0.0.1:9001\"],\n"
    "           \"storage_networks\": [\"10.20.0.0/16\", \"fd00:1::/64\"]},\n"
    "    \"eu\": {\"upstream\": \"http://127.0.0.1:9000/\", \"token_file\": \"eu.token\"}\n"
    "  },\n"
    "  \"default_region\": \"eu\",\n"
    "  \"egress\": \"redirect\",\n"
    "  \"identity\": {\"issuers\": [{\"issuer\": \"https://login.corp.example\",\n"
    "                 \"audience\": \"hubgate\", \"algorithms\": [\"ES256\"]},\n"
    "                {\"issuer\": \"https://ldap.corp.example\", \"audience\": \"hubgate\",\n"
    "                 \"email_verified_assumed\": true}],\n"
    "               \"tokens\": {\"max_days\": 7}},\n"
    "  \"audit\": {\"stream\": \"gw-2\", \"mode\": \"spool\", \"write_timeout_ms\": 500}\n"
    "}\n";

static void loads_a_full_config(void **state)
{
    cmn_buf_t errors;
    gw_config_t *cfg = load(full, &errors);
    if (!cfg)
        fail_msg("unexpected errors:\n%s", errors.data);
    assert_string_equal(cfg->listen_host, "127.0.0.1");
    assert_int_equal(cfg->listen_port, 8443);
    assert_int_equal(cfg->event_loops, 3);
    assert_string_equal(cfg->metrics_host, "::1");
    assert_int_equal(cfg->metrics_port, 9464);
    assert_string_equal(cfg->public_url, "https://hub.corp.example");
    assert_int_equal(cfg->n_trusted_proxies, 2);
    assert_int_equal(cfg->n_regions, 2);
    assert_string_equal(cfg->regions[cfg->default_region].name, "eu");
    assert_string_equal(gw_config_region(cfg, "us")->token, "hf_service_us");
    assert_string_equal(gw_config_region(cfg, "eu")->upstream, "http://127.0.0.1:9000");
    assert_null(gw_config_region(cfg, "ap"));
    const gw_region_t *us = gw_config_region(cfg, "us");
    assert_int_equal(us->n_storage, 3);
    char o[300];
    assert_string_equal(gw_origin_format(&us->storage[0], o, sizeof(o)),
                        "https://cdn-lfs.hf.co:443");
    assert_string_equal(gw_origin_format(&us->storage[1], o, sizeof(o)), "https://s3.example:8443");
    assert_string_equal(gw_origin_format(&us->storage[2], o, sizeof(o)), "http://127.0.0.1:9001");
    assert_string_equal(gw_origin_format(&us->upstream_origin, o, sizeof(o)),
                        "https://huggingface.co:443");
    assert_int_equal(us->n_storage_networks, 2);
    assert_int_equal(gw_config_region(cfg, "eu")->n_storage, 0); /* none: the upstream only */
    assert_int_equal(cfg->egress, GW_EGRESS_REDIRECT);
    assert_int_equal(cfg->n_issuers, 2);
    assert_string_equal(cfg->issuers[0].groups_claim, "groups");
    assert_int_equal(cfg->issuers[0].n_algorithms, 1);
    /* emails name callers only when verified, unless an issuer says all of its emails are */
    assert_int_equal(cfg->issuers[0].email_verified_assumed, 0);
    assert_int_equal(cfg->issuers[1].email_verified_assumed, 1);
    assert_int_equal(cfg->token_max_days, 7);
    assert_int_equal(cfg->audit.mode, GW_AUDIT_SPOOL);
    assert_int_equal(cfg->audit.write_timeout_ms, 500);
    assert_int_equal(cfg->audit.checkpoint_every, 1000);
    char want[600];
    snprintf(want, sizeof(want), "%s/policy.json", dir);
    assert_string_equal(cfg->policy, want);
    gw_config_free(cfg);
    cmn_buf_free(&errors);
}

static const struct {
    const char *name;
    const char *text;
    const char *want; /* a substring of the errors, after "config.json" */
} bad[] = {
    {"syntax error with position", "{\n  \"listen\": tru\n}\n", "config.json:2:"},
    {"duplicate key", "{\"policy\": \"a\",\n \"policy\": \"b\"}", "config.json:2:"},
    {"not an object", "[1]", "must be a JSON object"},
    {"unknown key at its own position",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"listn\": \"x\"}",
     "config.json:3:2: listn: unknown key \"listn\""},
    {"missing required keys", "{}", "missing required key \"public_url\""},
    {"plain http refused off loopback",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"http://hub.example\", \"token_file\": "
     "\"us.token\"}}}",
     "regions.us.upstream: plain http is accepted only on loopback"},
    {"the name localhost is not a loopback literal",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"http://localhost:9000\", \"token_file\": "
     "\"us.token\"}}}",
     "regions.us.upstream: plain http is accepted only on loopback addresses (found host "
     "\"localhost\""},
    {"issuer behind a loopback-looking user part",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"identity\": {\"issuers\": [{\"issuer\": \"http://localhost@evil.example\", "
     "\"audience\": \"a\"}]}}",
     "identity.issuers[0].issuer: the URL must not carry credentials"},
    {"issuer on a name starting like loopback",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"identity\": {\"issuers\": [{\"issuer\": \"http://127.0.0.1.evil.example\", "
     "\"audience\": \"a\"}]}}",
     "identity.issuers[0].issuer: plain http is accepted only on loopback addresses (found host "
     "\"127.0.0.1.evil.example\""},
    {"public_url over http to a mapped address",
     "{\"public_url\": \"http://[::ffff:127.0.0.1]:8443\", \"database\": \"d\", \"policy\": "
     "\"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}}}",
     "public_url: plain http is accepted only on loopback"},
    {"bad CIDR",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"trusted_proxies\": [\"10.0.0.1/8\"],\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}}}",
     "config.json:2:22: trusted_proxies[0]: \"10.0.0.1/8\" is not a network"},
    {"unknown default region",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\", \"default_region\": "
     "\"ap\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}}}",
     "default_region: unknown region \"ap\""},
    {"two regions need a default",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"},\n"
     "             \"eu\": {\"upstream\": \"https://e\", \"token_file\": \"eu.token\"}}}",
     "missing required key \"default_region\""},
    {"token file readable by others",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"open.token\"}}}",
     "open.token is readable or writable by group or others (mode 0644): "
     "a secret file must be private to its owner; chmod 600 "},
    {"missing token file",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"none.token\"}}}",
     "regions.us.token_file: cannot read"},
    {"token file content never echoed",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"bad.token\"}}}",
     "must hold one token of printable ASCII"},
    {"HS256 never accepted",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"identity\": {\"issuers\": [{\"issuer\": \"https://i\", \"audience\": \"a\", "
     "\"algorithms\": [\"HS256\"]}]}}",
     "identity.issuers[0].algorithms[0]: \"HS256\" is not an accepted algorithm"},
    {"email_verified_assumed must be a boolean",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"identity\": {\"issuers\": [{\"issuer\": \"https://i\", \"audience\": \"a\", "
     "\"email_verified_assumed\": \"yes\"}]}}",
     "config.json:3:94: identity.issuers[0].email_verified_assumed: found a string, expected true "
     "or false"},
    {"integer out of range",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"audit\": {\"write_timeout_ms\": 0}}",
     "audit.write_timeout_ms: found 0, expected an integer from 10 to 60000"},
    {"bad listen",
     "{\"listen\": \"8443\", \"public_url\": \"https://h\", \"database\": \"d\", \"policy\": "
     "\"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}}}",
     "listen: \"8443\" is not HOST:PORT"},
    {"metrics_listen without a host",
     "{\"metrics_listen\": \"9464\", \"public_url\": \"https://h\", \"database\": \"d\", "
     "\"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}}}",
     "config.json:1:20: metrics_listen: \"9464\" is not HOST:PORT"},
    {"metrics_listen on the public listener",
     "{\"listen\": \"0.0.0.0:8443\", \"metrics_listen\": \"127.0.0.1:8443\", \"public_url\": "
     "\"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}}}",
     "metrics_listen: \"127.0.0.1:8443\" is the public listener's port (expected a listener of "
     "its own"},
    {"public_url with a query",
     "{\"public_url\": \"https://h/?x=1\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}}}",
     "must not carry credentials, a query or a fragment"},
    {"storage origin with a path",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\",\n"
     "   \"storage\": [\"https://cdn.example\", \"https://s3.example/bucket\"]}}}",
     "config.json:3:39: regions.us.storage[1]: \"https://s3.example/bucket\" has a path; "
     "expected an origin (scheme://host[:port])"},
    {"storage origin over plain http off loopback",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\",\n"
     "   \"storage\": [\"http://minio.internal:9000\"]}}}",
     "regions.us.storage[0]: plain http is accepted only on loopback"},
    {"storage origin with credentials",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\",\n"
     "   \"storage\": [\"https://user@cdn.example\"]}}}",
     "regions.us.storage[0]: the URL must not carry credentials"},
    {"storage not a list of strings",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\",\n"
     "   \"storage\": [7]}}}",
     "regions.us.storage[0]: found an integer, expected an origin"},
    {"storage network too wide",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\",\n"
     "   \"storage_networks\": [\"0.0.0.0/0\"]}}}",
     "regions.us.storage_networks[0]: \"0.0.0.0/0\" is too wide"},
    {"storage network with host bits",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\",\n"
     "   \"storage_networks\": [\"10.0.0.1/8\"]}}}",
     "regions.us.storage_networks[0]: found an invalid network, expected a network"},
    {"unknown region key",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\",\n"
     "   \"storages\": []}}}",
     "regions.us.storages: unknown key \"storages\" (expected one of: upstream, token_file, "
     "storage, storage_networks; did you mean \"storage\"?)"},
    {"no event loops",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\", \"event_loops\": 0,\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}}}",
     "event_loops: found 0, expected an integer from 1 to 64"},
    {"unknown audit mode",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"audit\": {\"mode\": \"lenient\"}}",
     "audit.mode: unknown mode \"lenient\" (expected strict, spool, or off for benchmarks)"},
    {"published assertion keys without the signing key file",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"identity\": {\"assertion_published_keys\": [\"next.pub\"]}}",
     "identity.assertion_published_keys: needs identity.assertion_key"},
    {"previous egress keys without the key file",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"egress_previous_key_files\": [\"old.key\"]}",
     "egress_previous_key_files: needs egress_key_file"},
    {"too many previous egress keys",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"egress_key_file\": \"e.key\", \"egress_previous_key_files\": [\"1\", \"2\", \"3\", "
     "\"4\", \"5\"]}",
     "egress_previous_key_files: 5 files, expected at most 4"},
    {"a previous egress key that is no path",
     "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
     " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
     " \"egress_key_file\": \"e.key\", \"egress_previous_key_files\": [7]}",
     "egress_previous_key_files[0]: found an integer, expected a file path"},
};

static void reports_each_problem_with_its_place(void **state)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cmn_buf_t errors;
        gw_config_t *cfg = load(bad[i].text, &errors);
        if (cfg) {
            gw_config_free(cfg);
            fail_msg("case \"%s\": accepted", bad[i].name);
        }
        if (!errors.data || !strstr(errors.data, bad[i].want))
            fail_msg("case \"%s\": want \"%s\" in:\n%s", bad[i].name, bad[i].want,
                     errors.data ? errors.data : "(no errors)");
        /* the secret in us.token never appears in an error */
        assert_null(strstr(errors.data, "hf_service"));
        cmn_buf_free(&errors);
    }
}

/* The key files SIGHUP reloads, resolved like every path; and what a reload tells apart: the
 * settings that differ from the running config, the key settings left out. */
static void key_files_and_what_a_reload_differs_in(void **state)
{
    (void)state;
    static const char base[] =
        "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
        " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
        " \"egress_key_file\": \"e1.key\", \"egress_previous_key_files\": [\"e0.key\"],\n"
        " \"identity\": {\"assertion_key\": \"a1.pem\", \"assertion_published_keys\": "
        "[\"/keys/a2.pub\"]},\n"
        " \"audit\": {\"signing_key\": \"k1.pem\", \"stream\": \"gw-1\"}}";
    static const char keys_only[] =
        "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
        " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
        " \"egress_key_file\": \"e2.key\",\n"
        " \"identity\": {\"assertion_key\": \"a2.pem\"},\n"
        " \"audit\": {\"stream\": \"gw-1\", \"signing_key\": \"k2.pem\"}}";
    static const char others[] =
        "{\"public_url\": \"https://h2\", \"database\": \"d\", \"policy\": \"p\",\n"
        " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
        " \"egress_key_file\": \"e1.key\", \"egress_previous_key_files\": [\"e0.key\"],\n"
        " \"identity\": {\"assertion_key\": \"a1.pem\", \"assertion_published_keys\": "
        "[\"/keys/a2.pub\"]},\n"
        " \"audit\": {\"signing_key\": \"k1.pem\", \"stream\": \"gw-9\"}, \"event_loops\": 2}";
    cmn_buf_t e1, e2, e3;
    gw_config_t *a = load(base, &e1);
    assert_non_null(a);
    char want[512];
    snprintf(want, sizeof(want), "%s/e0.key", dir);
    assert_int_equal(a->n_egress_previous_key_files, 1);
    assert_string_equal(a->egress_previous_key_files[0], want);
    assert_int_equal(a->n_assertion_published_keys, 1);
    assert_string_equal(a->assertion_published_keys[0], "/keys/a2.pub");
    gw_config_t *b = load(keys_only, &e2);
    assert_non_null(b);
    char out[256];
    assert_int_equal(gw_config_settings_differ(a, b, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    gw_config_t *c = load(others, &e3);
    assert_non_null(c);
    assert_int_equal(gw_config_settings_differ(a, c, out, sizeof(out)), 3);
    assert_non_null(strstr(out, "public_url"));
    assert_non_null(strstr(out, "audit"));
    assert_non_null(strstr(out, "event_loops"));
    /* cut to fit, never overrun */
    char small[8];
    assert_int_equal(gw_config_settings_differ(a, c, small, sizeof(small)), 3);
    assert_true(strlen(small) < sizeof(small));
    gw_config_free(a);
    gw_config_free(b);
    gw_config_free(c);
    cmn_buf_free(&e1);
    cmn_buf_free(&e2);
    cmn_buf_free(&e3);
}

/* audit.stream "env:NAME": one config for many instances, each its stream from its environment
 * (a Kubernetes pod's name); a variable that is unset or holds no stream name is refused. */
static void stream_named_by_the_environment(void **state)
{
    (void)state;
    static const char text[] =
        "{\"public_url\": \"https://h\", \"database\": \"d\", \"policy\": \"p\",\n"
        " \"regions\": {\"us\": {\"upstream\": \"https://u\", \"token_file\": \"us.token\"}},\n"
        " \"audit\": {\"stream\": \"env:HUBGATE_TEST_POD\"}}";
    cmn_buf_t errors;
    setenv("HUBGATE_TEST_POD", "hubgate-7c9f-2kx8q", 1);
    gw_config_t *cfg = load(text, &errors);
    assert_non_null(cfg);
    assert_string_equal(cfg->audit.stream, "hubgate-7c9f-2kx8q");
    gw_config_free(cfg);
    cmn_buf_free(&errors);
    setenv("HUBGATE_TEST_POD", "not a/name", 1);
    assert_null(load(text, &errors));
    assert_non_null(strstr(errors.data, "is not a stream name"));
    cmn_buf_free(&errors);
    unsetenv("HUBGATE_TEST_POD");
    assert_null(load(text, &errors));
    assert_non_null(strstr(errors.data, "names the environment variable \"HUBGATE_TEST_POD\", which is not set"));
    cmn_buf_free(&errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_a_full_config),
        cmocka_unit_test(stream_named_by_the_environment),
        cmocka_unit_test(reports_each_problem_with_its_place),
        cmocka_unit_test(key_files_and_what_a_reload_differs_in),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
