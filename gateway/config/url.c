#include "gateway/config/url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *message;
} results[] = {
#define GW_URL_RESULT_ROW(name, msg) {#name, msg},
    GW_URL_RESULT_MAP(GW_URL_RESULT_ROW)
#undef GW_URL_RESULT_ROW
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *gw_url_result_message(gw_url_result_t result)
{
    return (unsigned)result < COUNT(results) ? results[result].message : "is not acceptable";
}

const char *gw_url_result_name(gw_url_result_t result)
{
    return (unsigned)result < COUNT(results) ? results[result].name : "?";
}

int gw_url_host_is_loopback(const char *host)
{
    if (!host)
        return 0;
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        /* libcurl writes IPv6 hosts in brackets and normalizes them ([0:0:0:0:0:0:0:1] →
         * [::1]); parse anyway rather than trust the spelling. */
        char inner[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        if (n - 2 >= sizeof(inner))
            return 0;
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = '\0';
        return inet_pton(AF_INET6, inner, &a6) == 1 &&
               memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
    }
    /* inet_pton takes only the dotted-quad form: no trailing dot, no name, no shorthand. */
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) != 1)
        return 0;
    return ((const unsigned char *)&a4.s_addr)[0] == 127;
}

gw_url_result_t gw_url_check(const char *url, unsigned flags, char *host, size_t host_len)
{
    gw_url_result_t res = GW_URL_MALFORMED;
    char *scheme = NULL, *h = NULL, *zone = NULL, *user = NULL, *password = NULL, *query = NULL,
         *fragment = NULL;
    if (host && host_len)
        host[0] = '\0';
    CURLU *u = url ? curl_url() : NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || !h || !*h)
        goto out;
    if (host && host_len)
        snprintf(host, host_len, "%s", h);
    if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
        res = GW_URL_SCHEME;
        goto out;
    }
    /* Credentials are refused before the host is judged: "http://127.0.0.1@evil/" and
     * "http://[::1]:80@evil/" put a loopback-looking string in the user part. */
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        res = GW_URL_CREDENTIALS;
        goto out;
    }
    if (strcmp(scheme, "http") == 0 &&
        (!gw_url_host_is_loopback(h) || curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK)) {
        res = GW_URL_PLAIN_HTTP;
        goto out;
    }
    if ((flags & GW_URL_BASE_ONLY) &&
        (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
         curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)) {
        res = GW_URL_NOT_BASE;
        goto out;
    }
    res = GW_URL_OK;
out:
    curl_free(scheme);
    curl_free(h);
    curl_free(zone);
    curl_free(user);
    curl_free(password);
    curl_free(query);
    curl_free(fragment);
    curl_url_cleanup(u);
    return res;
}
