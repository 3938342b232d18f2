/* layer: config */
/* URLs from configuration files and IdP discovery documents: judged on libcurl's own parse,
 * never accepted with credentials or as plain http off a loopback literal. */
#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    char host[GW_MAX_URL_HOST_BYTES];
    gw_url_result_t rc = gw_url_check(url, 0, host, sizeof(host));
    if (rc == GW_URL_OK) {
        /* an accepted URL carries no credentials, and is https or goes to a loopback literal */
        CURLU *u = curl_url();
        char *user = NULL, *scheme = NULL;
        if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            (strcmp(scheme, "https") != 0 && !gw_url_host_is_loopback(host)))
            abort();
        curl_free(user);
        curl_free(scheme);
        curl_url_cleanup(u);
    }
    free(url);
    return 0;
}
